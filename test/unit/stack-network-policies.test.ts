/**
 * Every workload of a prod stack, on both clouds, reaches exactly what it calls and is reached only by
 * its callers: the union of all NetworkPolicies selecting its pods, read back from the plan, compared
 * peer by peer and port by port with what each workload needs.
 */
import type { StackPlan } from "../../scripts/lib/plan";
import { reachByWorkload, Reach } from "../helpers/network-reach";
import { PROD_AWS_VARIANT, sharedPlan } from "../helpers/shared-plan";

type Cloud = "aws" | "gcp";
const NAMESPACE = "northstack-prod";
/** node_exporter's own namespace: on AWS, not on GKE Autopilot (northstack:nodeMetrics auto). */
const NODE_METRICS = `${NAMESPACE}-node-metrics`;
const NODE_EXPORTER = `ns:${NODE_METRICS}/app.kubernetes.io/name=monitoring-node-exporter:9100`;

const plan = (cloud: Cloud, set: Record<string, string> = {}): Promise<StackPlan> =>
  sharedPlan("prod", { "northstack:cloud": cloud, ...set });

const reach = new Map<Cloud, Record<string, Reach>>();
const nodeMetricsReach = new Map<Cloud, Record<string, Reach>>();
beforeAll(async () => {
  for (const cloud of ["aws", "gcp"] as const) {
    const { resources } = await plan(cloud);
    reach.set(cloud, reachByWorkload(resources, NAMESPACE));
    nodeMetricsReach.set(cloud, reachByWorkload(resources, NODE_METRICS));
  }
});

/** Where each cloud's managed data services listen, and Redis's port there (Memorystore with TLS: 6378). */
const DATA = {
  // The three private subnets of the created VPC (10.40.0.0/16 in eighths), not the VPC.
  aws: { cidrs: ["10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"], redisPort: 6379 },
  // The range peered to Cloud SQL and Memorystore, not the VPC.
  gcp: { cidrs: ["10.40.64.0/20"], redisPort: 6378 },
};
const DNS = {
  aws: ["ns:kube-system/k8s-app=kube-dns:53", "ns:kube-system/k8s-app=kube-dns:53/UDP"],
  gcp: [
    "ns:kube-system/k8s-app=kube-dns:53",
    "ns:kube-system/k8s-app=kube-dns:53/UDP",
    "169.254.20.10/32:53",
    "169.254.20.10/32:53/UDP",
    "169.254.169.254/32:53",
    "169.254.169.254/32:53/UDP",
  ],
};

type Needs = "postgres" | "redis" | "objectStore" | "smtp" | "gateway" | "kubernetesApi";
interface Expected {
  /** Who calls the workload, as "pod:<workload>:<port>" (or "any:<port>"). */
  readonly ingress: string[];
  /** The workloads it calls in the namespace. */
  readonly calls: string[];
  /** What it needs outside the namespace, besides DNS. */
  readonly needs: Needs[];
}

/** The whole prod application: every workload, who calls it and what it calls. */
const EXPECTED: Record<string, Expected> = {
  // The load balancer keeps client addresses, so the TLS port admits any source; Studio uses the plain port.
  kong: {
    ingress: ["any:8443", "pod:supabase-studio:8000", "pod:supabase-studio:8443", "pod:monitoring-prometheus:8100"],
    calls: [
      "pod:api:8080",
      "pod:supabase-auth:9999",
      "pod:supabase-meta:8080",
      "pod:supabase-realtime:4000",
      "pod:supabase-rest:3000",
      "pod:supabase-storage:5000",
      "pod:supabase-studio:3000",
    ],
    needs: ["redis"],
  },
  api: { ingress: ["pod:kong:8080", "pod:monitoring-prometheus:8080"], calls: [], needs: ["postgres", "redis"] },
  "supabase-auth": { ingress: ["pod:kong:9999", "pod:monitoring-prometheus:9100"], calls: [], needs: ["postgres"] },
  "supabase-rest": {
    // 3001 is PostgREST's admin server, which serves only metrics: Prometheus alone reaches it.
    ingress: ["pod:kong:3000", "pod:monitoring-prometheus:3001", "pod:supabase-storage:3000"],
    calls: [],
    needs: ["postgres"],
  },
  "supabase-realtime": { ingress: ["pod:kong:4000", "pod:monitoring-prometheus:4000"], calls: [], needs: ["postgres"] },
  "supabase-storage": {
    ingress: ["pod:kong:5000", "pod:monitoring-prometheus:5000"],
    calls: ["pod:supabase-rest:3000"],
    needs: ["postgres", "objectStore"],
  },
  "supabase-meta": { ingress: ["pod:kong:8080", "pod:supabase-studio:8080"], calls: [], needs: ["postgres"] },
  "supabase-studio": {
    ingress: ["pod:kong:3000"],
    calls: ["pod:kong:8000", "pod:kong:8443", "pod:supabase-meta:8080"],
    needs: [],
  },
  "supabase-migrate": { ingress: [], calls: [], needs: ["postgres"] },
  backup: { ingress: [], calls: [], needs: ["postgres", "objectStore"] },
  "backup-drill": { ingress: [], calls: [], needs: ["postgres", "objectStore"] },
  "monitoring-prometheus": {
    ingress: ["pod:monitoring-grafana:9090", "pod:monitoring-prometheus:9090"],
    calls: [
      "pod:api:8080",
      "pod:kong:8100",
      "pod:monitoring-alertmanager:9093",
      "pod:monitoring-blackbox-exporter:9115",
      "pod:monitoring-grafana:3000",
      "pod:monitoring-kube-state-metrics:8080",
      "pod:monitoring-log-shipper:12345",
      "pod:monitoring-loki:3100",
      "pod:monitoring-postgres-exporter:9187",
      "pod:monitoring-prometheus:9090",
      "pod:monitoring-redis-exporter:9121",
      "pod:supabase-auth:9100",
      "pod:supabase-realtime:4000",
      "pod:supabase-rest:3001",
      "pod:supabase-storage:5000",
    ],
    // The kubelets' cAdvisor and volume stats, through the API server's node proxy.
    needs: ["kubernetesApi"],
  },
  "monitoring-alertmanager": {
    ingress: ["pod:monitoring-grafana:9093", "pod:monitoring-prometheus:9093"],
    calls: [],
    // Pulumi.prod.yaml's only receiver is email through smtp.northstack.example:587.
    needs: ["smtp"],
  },
  "monitoring-grafana": {
    ingress: ["pod:monitoring-prometheus:3000"],
    calls: ["pod:monitoring-alertmanager:9093", "pod:monitoring-loki:3100", "pod:monitoring-prometheus:9090"],
    needs: [],
  },
  "monitoring-loki": {
    ingress: ["pod:monitoring-grafana:3100", "pod:monitoring-log-shipper:3100", "pod:monitoring-prometheus:3100"],
    calls: [],
    needs: [],
  },
  // Tails every pod's logs through the API server and pushes them to Loki.
  "monitoring-log-shipper": {
    ingress: ["pod:monitoring-prometheus:12345"],
    calls: ["pod:monitoring-loki:3100"],
    needs: ["kubernetesApi"],
  },
  // Lists and watches the namespace's objects and the nodes through the API server.
  "monitoring-kube-state-metrics": {
    ingress: ["pod:monitoring-prometheus:8080"],
    calls: [],
    needs: ["kubernetesApi"],
  },
  "monitoring-postgres-exporter": { ingress: ["pod:monitoring-prometheus:9187"], calls: [], needs: ["postgres"] },
  "monitoring-redis-exporter": { ingress: ["pod:monitoring-prometheus:9121"], calls: [], needs: ["redis"] },
  "monitoring-blackbox-exporter": { ingress: ["pod:monitoring-prometheus:9115"], calls: [], needs: ["gateway"] },
};

const PUBLIC = "0.0.0.0/0 except private";
function externalEgress(cloud: Cloud, needs: readonly Needs[]): string[] {
  const { cidrs, redisPort } = DATA[cloud];
  return needs.flatMap((need) => {
    switch (need) {
      case "postgres":
        return cidrs.map((c) => `${c}:5432`);
      case "redis":
        return cidrs.map((c) => `${c}:${redisPort}`);
      case "objectStore":
        // On AWS the bucket users get their credentials from the node's EKS Pod Identity agent.
        return [`${PUBLIC}:443`, ...(cloud === "aws" ? ["169.254.170.23/32:80"] : [])];
      case "smtp":
        return [`${PUBLIC}:587`];
      case "gateway":
        // The blackbox probe reaches the gateway's public URL the way clients do.
        return [`${PUBLIC}:443`];
      case "kubernetesApi":
        // The API server's endpoints are private on EKS and unknown at plan time: any address, on 443 only.
        return ["0.0.0.0/0:443"];
    }
  });
}

/** Workloads of one cloud only: ElastiCache's DR copy job (Memorystore has no such copy). */
const ONLY_ON: Record<Cloud, Record<string, Expected>> = {
  aws: { "redis-dr-export": { ingress: [], calls: [], needs: ["postgres", "objectStore"] } },
  gcp: {},
};

describe.each(["aws", "gcp"] as const)("prod on %s", (cloud) => {
  const get = () => reach.get(cloud)!;
  const expected: Record<string, Expected> = { ...EXPECTED, ...ONLY_ON[cloud] };

  test("the table names every workload the stack runs", () => {
    expect(Object.keys(get()).sort()).toEqual(Object.keys(expected).sort());
  });

  test.each(Object.keys(expected))("%s: ingress only from its callers, on the ports they use", (workload) => {
    expect(get()[workload].ingress).toEqual([...expected[workload].ingress].sort());
  });

  test.each(Object.keys(expected))(
    "%s: egress only to the pods it calls, its data services' subnets and ports, and DNS",
    (workload) => {
      const { calls, needs } = expected[workload];
      // Prometheus also scrapes node_exporter in its own namespace, where it runs (AWS).
      const nodeExporter = workload === "monitoring-prometheus" && cloud === "aws" ? [NODE_EXPORTER] : [];
      expect(get()[workload].egress).toEqual(
        [...calls, ...nodeExporter, ...externalEgress(cloud, needs), ...DNS[cloud]].sort(),
      );
    },
  );

  test("node_exporter's namespace holds node_exporter alone, reached only by Prometheus on 9100, and reaching nothing", () => {
    const nodeMetrics = nodeMetricsReach.get(cloud)!;
    if (cloud === "gcp") {
      expect(nodeMetrics).toEqual({});
      return;
    }
    expect(nodeMetrics).toEqual({
      "monitoring-node-exporter": {
        ingress: [
          `ns:${NAMESPACE}/app.kubernetes.io/name In monitoring-prometheus:9100`,
          `ns:${NAMESPACE}/northstack.io/role=metrics-scraper:9100`,
        ],
        egress: [],
        policies: ["default-deny", "monitoring-node-exporter"],
        reasons: [],
      },
    });
  });

  test("the public destinations, and only they, name their reason on the workload's policy", () => {
    const objectStore = cloud === "aws" ? "S3" : "GCS";
    const reasons = Object.fromEntries(
      Object.entries(get())
        .filter(([, r]) => r.reasons.length > 0)
        .map(([w, r]) => [w, r.reasons]),
    );
    expect(reasons).toEqual({
      "supabase-storage": [
        `public addresses on TCP 443: Supabase Storage keeps user files in ${objectStore}, whose API endpoints are public addresses that change, with no fixed range to name`,
      ],
      backup: [
        `public addresses on TCP 443: the backup job writes its dumps to ${objectStore}, whose API endpoints are public addresses that change, with no fixed range to name`,
      ],
      "backup-drill": [
        `public addresses on TCP 443: the restore drill reads the newest dump from ${objectStore}, whose API endpoints are public addresses that change, with no fixed range to name`,
      ],
      ...(cloud === "aws"
        ? {
            "redis-dr-export": [
              "public addresses on TCP 443: the Redis DR copy calls the ElastiCache API and S3, whose API endpoints are public addresses that change, with no fixed range to name",
            ],
          }
        : {}),
      "monitoring-alertmanager": [
        "public addresses on TCP 587: Alertmanager delivers to the SMTP smarthost smtp.northstack.example:587: internet services addressed by name, with no fixed range to name",
      ],
      "monitoring-blackbox-exporter": [
        "public addresses on TCP 443: the blackbox exporter probes the gateway at its public address, as clients reach it",
      ],
      ...Object.fromEntries(
        ["monitoring-log-shipper", "monitoring-kube-state-metrics", "monitoring-prometheus"].map((w) => [
          w,
          [
            "any address on TCP 443: the Kubernetes API server behind kubernetes.default, whose endpoint addresses (private on EKS, the control plane's own on GKE) are not known at plan time",
          ],
        ]),
      ),
    });
  });

  test("no rule opens every pod of the namespace, and every egress rule names its ports", () => {
    for (const [workload, r] of Object.entries(get())) {
      expect({ workload, open: r.egress.filter((e) => e.startsWith("pod:*")) }).toEqual({ workload, open: [] });
      expect({ workload, open: r.ingress.filter((e) => e.startsWith("pod:*")) }).toEqual({ workload, open: [] });
      expect({ workload, anyPort: r.egress.filter((e) => e.endsWith(":*")) }).toEqual({ workload, anyPort: [] });
    }
  });
});

describe("prod on aws in an existing VPC", () => {
  let existing: Record<string, Reach>;
  beforeAll(async () => {
    const p = await sharedPlan("prod", PROD_AWS_VARIANT);
    existing = reachByWorkload(p.resources, NAMESPACE);
  });

  test("the data services are reached by the VPC's CIDR, and each client's policy says why", () => {
    const reason =
      "an existing VPC: the stack knows its CIDR (northstack:vpcCidr) but not which subnets hold the data services";
    expect(existing.api.egress.filter((e) => e.startsWith("10."))).toEqual(["10.0.0.0/16:5432", "10.0.0.0/16:6379"]);
    expect(existing.api.reasons).toEqual([`postgres at 10.0.0.0/16: ${reason}; redis at 10.0.0.0/16: ${reason}`]);
    expect(existing["supabase-auth"].reasons).toEqual([`postgres at 10.0.0.0/16: ${reason}`]);
    expect(existing["monitoring-grafana"].reasons).toEqual([]);
  });
});
