/**
 * staging and prod as `npm run plan` sees them (index.ts under mocks, Pulumi.yaml defaults,
 * Pulumi.<stack>.yaml, overrides), on both clouds: data stays in Canada, encrypted and private;
 * prod is HA, protected and copied only to the Canadian DR region; every Kubernetes object passes
 * the official schema and every pod the "restricted" profile; bad config registers nothing.
 */
import * as path from "path";
import type { PlannedResource } from "../../scripts/lib/mock-program";
import type { StackPlan } from "../../scripts/lib/plan";
import * as YAML from "yaml";
import { renderBackupScript } from "../../components/backup-script";
import { verifyHs256 } from "../../components/jwt";
import { parseConfig } from "../../components/config";
import { evaluatePlan } from "../../scripts/lib/plan-policies";
import { renderedFiles } from "../../scripts/plan";
import { validateCloudConfig } from "../../stacks/cloud";
import { kubernetesSchemaProblems } from "../helpers/k8s-schema";
import {
  baselineProblemsOfPod,
  enforcedLevels,
  leastPodSecurityLevel,
  northstackHardeningProblems,
  podSecurityProblems,
  podsOf,
} from "../helpers/pod-security";
import { PROD_AWS_VARIANT, sharedPlan } from "../helpers/shared-plan";

type Obj = Record<string, unknown>;
type Cloud = "aws" | "gcp";
type Stack = "staging" | "prod";

const ROOT = path.resolve(__dirname, "..", "..");
const SECRET_MARK = "[secret]";
const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n";

/** One plan, run from scratch once per jest run and shared with the other files that plan it. */
const plan = (stack: Stack, set: Record<string, string>): Promise<StackPlan> => sharedPlan(stack, set);

/** Runs index.ts with a config that must fail; returns the error and what was registered anyway. */
async function attempt(
  stack: Stack,
  set: Record<string, string>,
): Promise<{ error: unknown; registered: PlannedResource[] }> {
  let error: unknown;
  let registered: PlannedResource[] = [];
  await jest.isolateModulesAsync(async () => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { runUnderMocks } =
      require("../../scripts/lib/mock-program") as typeof import("../../scripts/lib/mock-program");
    const { readStackConfig } =
      require("../../scripts/lib/stack-config") as typeof import("../../scripts/lib/stack-config");
    const { config, secretKeys } = readStackConfig(ROOT, stack, set);
    const run = await runUnderMocks({
      stack,
      config,
      secretKeys,
      program: () => {
        try {
          return require(path.join(ROOT, "index"));
        } catch (e) {
          error = e;
          return {};
        }
      },
    });
    /* eslint-enable @typescript-eslint/no-require-imports */
    registered = run.resources.filter((r) => r.type !== "pulumi:pulumi:Stack");
  });
  return { error, registered };
}

const plans = new Map<string, StackPlan>();
const key = (stack: Stack, cloud: Cloud) => `${stack}/${cloud}`;
const combos: [Stack, Cloud][] = [
  ["staging", "aws"],
  ["prod", "aws"],
  ["staging", "gcp"],
  ["prod", "gcp"],
];

beforeAll(async () => {
  for (const [stack, cloud] of combos) plans.set(key(stack, cloud), await plan(stack, { "northstack:cloud": cloud }));
}, 120_000);

const ofType = (p: StackPlan, type: string) => p.resources.filter((r) => r.type === type);
const providerOf = (p: StackPlan, r: PlannedResource) =>
  r.provider ? p.resources.find((x) => x.urn === r.provider?.slice(0, r.provider.lastIndexOf("::"))) : undefined;
const regionOf = (p: StackPlan, r: PlannedResource) => providerOf(p, r)?.inputs.region as string | undefined;
const cloudResources = (p: StackPlan, cloud: Cloud) =>
  p.resources.filter((r) => r.custom && r.type.startsWith(`${cloud}:`));
/** Where a GCP resource says it is: its own region/location, else its provider's region. */
const gcpPlacement = (p: StackPlan, r: PlannedResource) =>
  String(r.inputs.location ?? r.inputs.region ?? regionOf(p, r)).toLowerCase();

describe.each(combos)("%s on %s", (stack, cloud) => {
  const get = () => plans.get(key(stack, cloud)) as StackPlan;

  test("every rendered config file and script is text without a NUL byte (which bash would drop)", () => {
    const files = renderedFiles(get().resources);
    expect(files.length).toBeGreaterThan(10);
    expect(files.filter((f) => f.content.includes("\0")).map((f) => f.path)).toEqual([]);
  });

  test("composes the same components as dev, on Kubernetes, with managed data services", () => {
    const types = new Set(get().resources.map((r) => r.type));
    for (const t of [
      "northstack:runtime:Kubernetes",
      "northstack:data:Supabase",
      "northstack:app:ApiService",
      "northstack:edge:Kong",
      "northstack:observability:Monitoring",
      `northstack:${cloud}:Postgres`,
      `northstack:${cloud}:Redis`,
      `northstack:${cloud}:BackupBucket`,
      `northstack:${cloud}:Cluster`,
    ]) {
      expect(types).toContain(t);
    }
    for (const t of ["northstack:data:Postgres", "northstack:data:Redis", "northstack:runtime:Docker"])
      expect(types).not.toContain(t);
  });

  test("every Kubernetes object validates against the official OpenAPI schema", () => {
    expect(ofType(get(), "kubernetes:apps/v1:Deployment").length).toBeGreaterThanOrEqual(5);
    expect(kubernetesSchemaProblems(get().resources)).toEqual([]);
  });

  test("every pod meets the Pod Security level its namespace enforces; the only hardening gaps are the documented writable roots and the API readers' tokens", () => {
    expect(podSecurityProblems(get().resources)).toEqual([]);
    // Every pod runs in the "restricted" stack namespace but node_exporter (not on GKE Autopilot).
    const levels = enforcedLevels(get().resources);
    expect(levels.get(`northstack-${stack}`)).toBe("restricted");
    const elsewhere = podsOf(get().resources).filter((pod) => pod.namespace !== `northstack-${stack}`);
    expect(elsewhere.map((pod) => pod.where)).toEqual(
      cloud === "aws" ? ["kubernetes:apps/v1:DaemonSet monitoring-node-exporter"] : [],
    );
    // Realtime (Elixir release config) and Studio (Next.js cache) write under their app directories;
    // the log shipper, kube-state-metrics and Prometheus read the API with their own tokens.
    const problems = northstackHardeningProblems(get().resources);
    expect(problems).toContain(
      "kubernetes:apps/v1:Deployment monitoring-log-shipper: spec.automountServiceAccountToken must be false",
    );
    for (const problem of problems)
      expect(problem).toMatch(
        /supabase-(realtime|studio)\]\.securityContext\.readOnlyRootFilesystem|^kubernetes:apps\/v1:(Deployment|StatefulSet) monitoring-(log-shipper|kube-state-metrics|prometheus): spec\.automountServiceAccountToken must be false$/,
      );
  });

  test("node_exporter's namespace enforces the least Pod Security level that admits it, 'privileged', because of its read-only host paths alone", () => {
    const exporter = podsOf(get().resources).find((pod) => pod.where.endsWith(" monitoring-node-exporter"));
    if (cloud === "gcp") {
      expect(exporter).toBeUndefined();
      return;
    }
    expect(exporter!.namespace).toBe(`northstack-${stack}-node-metrics`);
    expect(enforcedLevels(get().resources).get(exporter!.namespace)).toBe(leastPodSecurityLevel(exporter!));
    expect(leastPodSecurityLevel(exporter!)).toBe("privileged");
    expect(baselineProblemsOfPod(exporter!)).toEqual([
      "spec.volumes[host-0] uses hostPath",
      "spec.volumes[host-1] uses hostPath",
      "spec.volumes[host-2] uses hostPath",
    ]);
    // Nothing else: without the host paths "restricted" would admit it, and it meets northstack's hardening.
    const withoutHostPaths = { ...exporter!, spec: { ...exporter!.spec, volumes: [] } };
    expect(leastPodSecurityLevel(withoutHostPaths)).toBe("restricted");
    expect(northstackHardeningProblems(get().resources).filter((p) => p.includes("node-exporter"))).toEqual([]);
  });

  test("only the API readers mount an API token, each of its own ServiceAccount, granted exactly the kinds and verbs it reads", () => {
    const namespace = `northstack-${stack}`;
    const podSpecOf = (c: PlannedResource) => ((c.inputs.spec as Obj).template as Obj).spec as Obj;
    const controllers = [
      ...ofType(get(), "kubernetes:apps/v1:Deployment"),
      ...ofType(get(), "kubernetes:apps/v1:StatefulSet"),
      ...ofType(get(), "kubernetes:apps/v1:DaemonSet"),
      ...ofType(get(), "kubernetes:batch/v1:Job"),
    ];
    expect(controllers.length).toBeGreaterThan(10);
    const mounting = controllers.filter((c) => podSpecOf(c).automountServiceAccountToken !== false);
    const readers = ["monitoring-kube-state-metrics", "monitoring-log-shipper", "monitoring-prometheus"];
    expect(mounting.map((c) => c.name).sort()).toEqual(readers);
    for (const c of mounting) {
      expect(podSpecOf(c).automountServiceAccountToken).toBe(true);
      expect(podSpecOf(c).serviceAccountName).toBe(c.name);
    }
    const roles = ofType(get(), "kubernetes:rbac.authorization.k8s.io/v1:Role").map((r) => ({
      name: (r.inputs.metadata as Obj).name,
      namespace: (r.inputs.metadata as Obj).namespace,
      rules: r.inputs.rules,
    }));
    const byName = (a: { name: unknown }, b: { name: unknown }) => String(a.name).localeCompare(String(b.name));
    expect(roles.sort(byName)).toEqual([
      {
        name: "monitoring-kube-state-metrics",
        namespace,
        rules: [
          { apiGroups: [""], resources: ["pods", "persistentvolumeclaims"], verbs: ["list", "watch"] },
          { apiGroups: ["apps"], resources: ["deployments", "statefulsets"], verbs: ["list", "watch"] },
          { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: ["list", "watch"] },
        ],
      },
      {
        name: "monitoring-log-shipper",
        namespace,
        rules: [
          { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
          { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
        ],
      },
      // Prometheus lists node_exporter's pods in their namespace alone, to label each with its node.
      ...(cloud === "aws"
        ? [
            {
              name: "monitoring-prometheus",
              namespace: `${namespace}-node-metrics`,
              rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] }],
            },
          ]
        : []),
    ]);
    const clusterRoles = ofType(get(), "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").map((r) => ({
      name: (r.inputs.metadata as Obj).name,
      rules: r.inputs.rules,
    }));
    expect(clusterRoles.sort(byName)).toEqual([
      {
        name: `${namespace}-monitoring-kube-state-metrics`,
        rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["list", "watch"] }],
      },
      {
        name: `${namespace}-monitoring-prometheus`,
        rules: [
          { apiGroups: [""], resources: ["nodes"], verbs: ["list", "watch"] },
          { apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] },
        ],
      },
    ]);
    const bindings = [
      ...ofType(get(), "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"),
      ...ofType(get(), "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding"),
    ]
      .map((b) => [b.inputs.roleRef, b.inputs.subjects])
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    const account = (name: string) => [{ kind: "ServiceAccount", name, namespace }];
    const rbac = "rbac.authorization.k8s.io";
    expect(bindings).toEqual([
      [
        { apiGroup: rbac, kind: "ClusterRole", name: `${namespace}-monitoring-kube-state-metrics` },
        account("monitoring-kube-state-metrics"),
      ],
      [
        { apiGroup: rbac, kind: "ClusterRole", name: `${namespace}-monitoring-prometheus` },
        account("monitoring-prometheus"),
      ],
      [
        { apiGroup: rbac, kind: "Role", name: "monitoring-kube-state-metrics" },
        account("monitoring-kube-state-metrics"),
      ],
      [{ apiGroup: rbac, kind: "Role", name: "monitoring-log-shipper" }, account("monitoring-log-shipper")],
      // In node_exporter's namespace, to find its pods (AWS; GKE Autopilot runs none).
      ...(cloud === "aws"
        ? [[{ apiGroup: rbac, kind: "Role", name: "monitoring-prometheus" }, account("monitoring-prometheus")]]
        : []),
    ]);
  });

  test("the policy pack, with this stack's config, finds no mandatory violation", async () => {
    const results = await evaluatePlan(get(), path.join(ROOT, "policy", `config.${stack}.json`));
    expect(results.filter((r) => r.enforcementLevel === "mandatory")).toEqual([]);
  });

  test("volumes of a created EKS cluster are gp3, encrypted with the stack key", () => {
    const classes = ofType(get(), "kubernetes:storage.k8s.io/v1:StorageClass");
    if (cloud === "gcp") {
      // Autopilot's default class (pd-balanced) is encrypted at rest by Google.
      expect(classes).toEqual([]);
      return;
    }
    expect(classes).toHaveLength(1);
    expect(classes[0].inputs).toEqual(
      expect.objectContaining({
        provisioner: "ebs.csi.aws.com",
        reclaimPolicy: stack === "prod" ? "Retain" : "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
      }),
    );
    expect(classes[0].inputs.parameters).toEqual({
      type: "gp3",
      encrypted: "true",
      kmsKeyId: expect.stringContaining(":kms-key"),
    });
    expect(
      ofType(get(), "aws:eks/addon:Addon")
        .map((a) => a.inputs.addonName)
        .sort(),
    ).toEqual(["aws-ebs-csi-driver", "eks-pod-identity-agent", "vpc-cni"]);
  });

  test("the namespace enforces 'restricted' and the migrations ConfigMap is labelled", () => {
    const namespace = ofType(get(), "kubernetes:core/v1:Namespace")[0].inputs.metadata as { name: string; labels: Obj };
    expect(namespace.name).toBe(`northstack-${stack}`);
    expect(namespace.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const migrations = ofType(get(), "kubernetes:core/v1:ConfigMap").filter(
      (c) => ((c.inputs.metadata as Obj).labels as Obj)["northstack.io/migrations"] === "true",
    );
    expect(migrations).toHaveLength(1);
  });

  test("only the listed workloads leave the namespace: each data store on its subnets and the port its endpoint reports, HTTPS for storage", () => {
    const p = get();
    // RDS and ElastiCache sit in the three private subnets; Cloud SQL and Memorystore in the peered range.
    const dataCidr = cloud === "aws" ? "10.40.0.0/19,10.40.32.0/19,10.40.64.0/19" : "10.40.64.0/20";
    // Memorystore with TLS serves 6378 (the plan's mock answers as the real instance does).
    const redisPort = cloud === "aws" ? 6379 : 6378;
    const destinations = (workload: string) => {
      const policy = ofType(p, "kubernetes:networking.k8s.io/v1:NetworkPolicy").find(
        (np) => (np.inputs.metadata as Obj).name === workload,
      );
      if (!policy) throw new Error(`no NetworkPolicy for ${workload}`);
      const rules = (policy.inputs.spec as Obj).egress as {
        to: { ipBlock?: { cidr: string } }[];
        ports?: { port: number }[];
      }[];
      return rules
        .filter((r) => r.ports)
        .map((r) => `${r.to.map((t) => t.ipBlock?.cidr).join(",")}:${r.ports!.map((x) => x.port).join(",")}`);
    };
    const postgres = `${dataCidr}:5432`;
    const redis = `${dataCidr}:${redisPort}`;
    const https = "0.0.0.0/0:443";
    // On AWS the bucket users get their credentials from the node's EKS Pod Identity agent.
    const identity = cloud === "aws" ? ["169.254.170.23/32:80"] : [];
    expect(destinations("api")).toEqual([postgres, redis]);
    expect(destinations("kong")).toEqual([redis]);
    expect(destinations("supabase-storage")).toEqual([postgres, https, ...identity]);
    expect(destinations("backup")).toEqual([postgres, https, ...identity]);
    for (const w of [
      "supabase-auth",
      "supabase-rest",
      "supabase-realtime",
      "supabase-meta",
      "monitoring-postgres-exporter",
    ])
      expect({ w, to: destinations(w) }).toEqual({ w, to: [postgres] });
    expect(destinations("monitoring-redis-exporter")).toEqual([redis]);
    expect(destinations(ofType(p, "kubernetes:batch/v1:Job").map((j) => j.name)[0])).toEqual([postgres]);
    // The stack's only receiver is email: Alertmanager reaches its smarthost's port, 587, and not 443.
    expect(destinations("monitoring-alertmanager")).toEqual(["0.0.0.0/0:587"]);
    for (const w of ["supabase-studio", "monitoring-grafana", "monitoring-loki"])
      expect({ w, to: destinations(w) }).toEqual({ w, to: [] });
    // The API readers reach the API server (Prometheus: the kubelets through its node proxy).
    for (const w of ["monitoring-prometheus", "monitoring-kube-state-metrics", "monitoring-log-shipper"])
      expect({ w, to: destinations(w) }).toEqual({ w, to: ["0.0.0.0/0:443"] });
  });

  test(
    cloud === "gcp"
      ? "DNS: kube-dns pods and GKE's node-local resolvers, on 53 only"
      : "DNS: the kube-dns (CoreDNS) pods only, on 53",
    () => {
      const dns = ofType(get(), "kubernetes:networking.k8s.io/v1:NetworkPolicy").find(
        (np) => (np.inputs.metadata as Obj).name === "allow-dns",
      )!;
      const [rule] = (dns.inputs.spec as Obj).egress as { to: Obj[]; ports: Obj[] }[];
      expect(rule.to[0]).toEqual({
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
        podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
      });
      expect(rule.to.slice(1)).toEqual(
        cloud === "gcp" ? [{ ipBlock: { cidr: "169.254.20.10/32" } }, { ipBlock: { cidr: "169.254.169.254/32" } }] : [],
      );
      expect(rule.ports).toEqual([
        { protocol: "UDP", port: 53 },
        { protocol: "TCP", port: 53 },
      ]);
    },
  );

  test("the gateway: a load balancer on 443 only, keeping client addresses, to Kong's TLS listener with the operator's certificate", () => {
    const p = get();
    const services = ofType(p, "kubernetes:core/v1:Service").filter(
      (svc) => (svc.inputs.spec as Obj).type === "LoadBalancer",
    );
    expect(services.map((svc) => svc.name)).toEqual(["kong-public"]);
    expect(services[0].inputs.spec).toEqual(
      expect.objectContaining({
        externalTrafficPolicy: "Local",
        ports: [{ name: "https", port: 443, targetPort: "proxy-tls", protocol: "TCP" }],
      }),
    );
    const annotations = (services[0].inputs.metadata as Obj).annotations;
    if (cloud === "aws") {
      expect(annotations).toEqual({
        "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
      });
    } else {
      expect(annotations).toBeUndefined();
    }
    const kong = ofType(p, "kubernetes:apps/v1:Deployment").find((d) => d.name === "kong")!;
    const podSpec = ((kong.inputs.spec as Obj).template as Obj).spec as {
      volumes: Obj[];
      containers: { env: { name: string; value?: string }[] }[];
    };
    expect(podSpec.volumes).toContainEqual(
      expect.objectContaining({
        name: "public-tls",
        secret: expect.objectContaining({ secretName: "northstack-gateway-tls" }),
      }),
    );
    const env = Object.fromEntries(podSpec.containers[0].env.map((e) => [e.name, e.value]));
    expect(env.KONG_SSL_CERT).toBe("/etc/kong/tls/tls.crt");
    expect(env.KONG_TRUSTED_IPS).toBeUndefined();
    expect(ofType(p, "kubernetes:networking.k8s.io/v1:Ingress")).toEqual([]);
  });

  test("outputs: gateway URL, endpoints as secrets, bucket, namespace, cloud and region", () => {
    const out = get().outputs;
    expect(out).toEqual(
      expect.objectContaining({
        gatewayUrl: expect.stringMatching(/^https:\/\//),
        gatewayAddress: "<pending>",
        databaseEndpoint: SECRET_MARK,
        redisEndpoint: SECRET_MARK,
        backupBucket: expect.any(String),
        namespace: `northstack-${stack}`,
        cloud,
        region: cloud === "aws" ? "ca-central-1" : "northamerica-northeast1",
        anonKey: SECRET_MARK,
        serviceRoleKey: SECRET_MARK,
      }),
    );
  });

  test("no generated credential appears in any plain input, and the cluster's kubeconfig is a secret", () => {
    const plainText = JSON.stringify(get().resources.map((r) => r.inputs));
    expect(plainText).not.toContain("plan-random-secrets-");
    const provider = get().resources.find((r) => r.type === "pulumi:providers:kubernetes");
    expect(provider?.inputs.kubeconfig).toBe(SECRET_MARK);
  });

  test("every data resource is in Canada, encrypted and private", () => {
    const p = get();
    if (cloud === "aws") {
      const resources = cloudResources(p, "aws");
      for (const r of resources)
        expect({ r: r.name, region: regionOf(p, r) }).toEqual({
          r: r.name,
          region: expect.stringMatching(/^ca-(central|west)-1$/),
        });
      for (const db of ofType(p, "aws:rds/instance:Instance")) {
        expect(db.inputs).toEqual(
          expect.objectContaining({ storageEncrypted: true, publiclyAccessible: false, password: SECRET_MARK }),
        );
        expect(db.inputs.kmsKeyId).toEqual(expect.stringContaining(":kms-key"));
      }
      for (const rg of ofType(p, "aws:elasticache/replicationGroup:ReplicationGroup")) {
        expect(rg.inputs).toEqual(
          expect.objectContaining({
            transitEncryptionEnabled: true,
            atRestEncryptionEnabled: true,
            authToken: SECRET_MARK,
          }),
        );
      }
      const buckets = ofType(p, "aws:s3/bucket:Bucket");
      expect(
        ofType(p, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"),
      ).toHaveLength(buckets.length);
      const blocks = ofType(p, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock");
      expect(blocks).toHaveLength(buckets.length);
      for (const b of blocks)
        expect(b.inputs).toEqual(
          expect.objectContaining({
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
          }),
        );
      for (const c of ofType(p, "aws:eks/cluster:Cluster"))
        expect((c.inputs.vpcConfig as Obj).endpointPublicAccess).toBe(false);
    } else {
      for (const r of cloudResources(p, "gcp"))
        expect({ r: r.name, where: gcpPlacement(p, r) }).toEqual({
          r: r.name,
          where: expect.stringMatching(/^northamerica-northeast[12]$/),
        });
      for (const db of ofType(p, "gcp:sql/databaseInstance:DatabaseInstance")) {
        const settings = db.inputs.settings as { ipConfiguration: Obj; backupConfiguration: Obj };
        expect(settings.ipConfiguration).toEqual(
          expect.objectContaining({ ipv4Enabled: false, sslMode: "ENCRYPTED_ONLY" }),
        );
        expect(db.inputs.encryptionKeyName).toEqual(expect.stringContaining("kms-"));
        // A read replica has no backups of its own; the primary's stay in its region.
        if (db.inputs.masterInstanceName) continue;
        expect(settings.backupConfiguration).toEqual(
          expect.objectContaining({ pointInTimeRecoveryEnabled: true, location: "northamerica-northeast1" }),
        );
      }
      for (const r of ofType(p, "gcp:redis/instance:Instance")) {
        expect(r.inputs).toEqual(
          expect.objectContaining({
            transitEncryptionMode: "SERVER_AUTHENTICATION",
            authEnabled: true,
            connectMode: "PRIVATE_SERVICE_ACCESS",
          }),
        );
        expect(r.inputs.customerManagedKey).toEqual(expect.stringContaining("kms-key"));
      }
      for (const b of ofType(p, "gcp:storage/bucket:Bucket")) {
        expect(b.inputs).toEqual(
          expect.objectContaining({
            publicAccessPrevention: "enforced",
            uniformBucketLevelAccess: true,
            encryption: { defaultKmsKeyName: expect.stringContaining("kms") },
          }),
        );
      }
      for (const c of ofType(p, "gcp:container/cluster:Cluster"))
        expect(c.inputs.privateClusterConfig).toEqual({ enablePrivateNodes: true, enablePrivateEndpoint: true });
    }
  });

  test(
    cloud === "gcp"
      ? "Redis clients trust Memorystore's private CA"
      : "Redis clients verify ElastiCache against the system trust store only",
    () => {
      const deployment = (name: string) =>
        ofType(get(), "kubernetes:apps/v1:Deployment").find((d) => (d.inputs.metadata as Obj).name === name);
      const envOf = (name: string) => {
        const containers = (((deployment(name)?.inputs.spec as Obj).template as Obj).spec as Obj).containers as Obj[];
        return Object.fromEntries((containers[0].env as Obj[]).map((e) => [e.name, e.value]));
      };
      const caFileIn = (name: string) =>
        ofType(get(), "kubernetes:core/v1:ConfigMap").some(
          (c) =>
            ((c.inputs.metadata as Obj).labels as Obj)["app.kubernetes.io/name"] === name &&
            "redis-ca.pem" in ((c.inputs.data as Obj) ?? {}),
        );
      if (cloud === "gcp") {
        expect(envOf("api").NODE_EXTRA_CA_CERTS).toBe("/etc/northstack/redis-ca.pem");
        expect(envOf("kong").KONG_LUA_SSL_TRUSTED_CERTIFICATE).toBe("system,/etc/northstack/redis-ca.pem");
        expect(envOf("monitoring-redis-exporter").REDIS_EXPORTER_TLS_CA_CERT_FILE).toBe("/etc/northstack/redis-ca.pem");
        for (const name of ["api", "kong", "monitoring-redis-exporter"]) expect(caFileIn(name)).toBe(true);
      } else {
        expect(envOf("api").NODE_EXTRA_CA_CERTS).toBeUndefined();
        expect(envOf("kong").KONG_LUA_SSL_TRUSTED_CERTIFICATE).toBe("system");
        expect(caFileIn("api")).toBe(false);
      }
    },
  );

  test(
    stack === "prod" ? "prod: HA and deletion protection are on" : "staging: small, single-zone, unprotected",
    () => {
      const p = get();
      const prod = stack === "prod";
      if (cloud === "aws") {
        const db = ofType(p, "aws:rds/instance:Instance")[0].inputs;
        expect({
          multiAz: db.multiAz,
          deletionProtection: db.deletionProtection,
          skipFinalSnapshot: db.skipFinalSnapshot,
        }).toEqual({ multiAz: prod, deletionProtection: prod, skipFinalSnapshot: !prod });
        const rg = ofType(p, "aws:elasticache/replicationGroup:ReplicationGroup")[0].inputs;
        expect({
          failover: rg.automaticFailoverEnabled,
          multiAz: rg.multiAzEnabled,
          nodes: rg.numCacheClusters,
        }).toEqual({ failover: prod, multiAz: prod, nodes: prod ? 2 : 1 });
        expect(ofType(p, "aws:eks/cluster:Cluster")[0].inputs.deletionProtection).toBe(prod);
      } else {
        const db = ofType(p, "gcp:sql/databaseInstance:DatabaseInstance")[0].inputs;
        expect({
          availability: (db.settings as Obj).availabilityType,
          deletionProtection: db.deletionProtection,
        }).toEqual({ availability: prod ? "REGIONAL" : "ZONAL", deletionProtection: prod });
        expect(ofType(p, "gcp:redis/instance:Instance")[0].inputs.tier).toBe(prod ? "STANDARD_HA" : "BASIC");
        expect(ofType(p, "gcp:container/cluster:Cluster")[0].inputs.deletionProtection).toBe(prod);
      }
      const apiScaling = ofType(p, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").find(
        (h) => ((h.inputs.spec as Obj).scaleTargetRef as Obj).name === "api",
      );
      expect({
        min: (apiScaling?.inputs.spec as Obj).minReplicas,
        max: (apiScaling?.inputs.spec as Obj).maxReplicas,
      }).toEqual(prod ? { min: 3, max: 10 } : { min: 1, max: 3 });
      expect(ofType(p, "kubernetes:policy/v1:PodDisruptionBudget").length > 0).toBe(prod);
    },
  );

  test(
    stack === "prod" ? "DR copies go to the Canadian DR region and nowhere else" : "staging makes no DR copies",
    () => {
      const p = get();
      const drRegion = cloud === "aws" ? "ca-west-1" : "northamerica-northeast2";
      const inDr =
        cloud === "aws"
          ? cloudResources(p, "aws").filter((r) => regionOf(p, r) === drRegion)
          : cloudResources(p, "gcp").filter((r) => gcpPlacement(p, r) === drRegion);
      if (stack === "staging") {
        expect(inDr).toEqual([]);
        expect(p.outputs.drBackupBucket).toBe("none");
        return;
      }
      expect(p.outputs.drBackupBucket).not.toBe("none");
      if (cloud === "aws") {
        expect(inDr.map((r) => r.type)).toEqual(
          expect.arrayContaining([
            "aws:s3/bucket:Bucket",
            "aws:rds/instanceAutomatedBackupsReplication:InstanceAutomatedBackupsReplication",
          ]),
        );
        const destination = (
          (ofType(p, "aws:s3/bucketReplicationConfig:BucketReplicationConfig")[0].inputs.rules as Obj[])[0]
            .destination as Obj
        ).bucket;
        const drBucket = inDr.find((r) => r.type === "aws:s3/bucket:Bucket");
        expect(String(destination)).toContain(drBucket?.name ?? "none");
        const providers = p.resources.filter((r) => r.type === "pulumi:providers:aws").map((r) => r.inputs.region);
        expect(providers.sort()).toEqual(["ca-central-1", "ca-west-1"]);
      } else {
        expect(inDr.map((r) => [r.type, r.inputs.location ?? r.inputs.region]).sort()).toEqual([
          ["gcp:kms/keyRing:KeyRing", "northamerica-northeast2"],
          ["gcp:sql/databaseInstance:DatabaseInstance", "northamerica-northeast2"],
          ["gcp:storage/bucket:Bucket", "NORTHAMERICA-NORTHEAST2"],
        ]);
        const job = ofType(p, "gcp:storage/transferJob:TransferJob")[0].inputs.transferSpec as { gcsDataSink: Obj };
        expect(job.gcsDataSink.bucketName).toBe(inDr.find((r) => r.type === "gcp:storage/bucket:Bucket")?.inputs.name);
        // The DR replica follows the primary instance, on the same private network.
        const [primaryDb, replica] = ["postgres-db", "postgres-dr"].map(
          (name) =>
            ofType(p, "gcp:sql/databaseInstance:DatabaseInstance").find((d) => d.name === name) as PlannedResource,
        );
        expect(replica.inputs.masterInstanceName).toBe(primaryDb.name);
        expect((replica.inputs.settings as { ipConfiguration: Obj }).ipConfiguration.privateNetwork).toBe(
          (primaryDb.inputs.settings as { ipConfiguration: Obj }).ipConfiguration.privateNetwork,
        );
      }
    },
  );
});

describe.each(combos)("object storage and backups: %s on %s", (stack, cloud) => {
  const get = () => plans.get(key(stack, cloud)) as StackPlan;
  const namespace = `northstack-${stack}`;
  const workload = (type: string, name: string) =>
    ofType(get(), type).find((r) => (r.inputs.metadata as Obj).name === name) as PlannedResource;
  const podOf = (name: string): Obj => {
    const deployment = workload("kubernetes:apps/v1:Deployment", name);
    if (deployment) return ((deployment.plainInputs.spec as Obj).template as Obj).spec as Obj;
    return (
      (((workload("kubernetes:batch/v1:CronJob", name).plainInputs.spec as Obj).jobTemplate as Obj).spec as Obj)
        .template as Obj
    ).spec as Obj;
  };
  const envOf = (container: Obj) =>
    Object.fromEntries((container.env as Obj[]).map((e) => [e.name, e.value ?? "from-secret"]));
  const secretKeysOf = (name: string) =>
    ofType(get(), "kubernetes:core/v1:Secret")
      .filter((r) => ((r.inputs.metadata as Obj).labels as Obj)["app.kubernetes.io/name"] === name)
      .flatMap((r) => Object.keys(r.plainInputs.stringData as Obj));
  const configFile = (name: string, file: string) =>
    ofType(get(), "kubernetes:core/v1:ConfigMap").find(
      (c) =>
        ((c.inputs.metadata as Obj).labels as Obj)["app.kubernetes.io/name"] === name &&
        file in ((c.inputs.data as Obj) ?? {}),
    )?.inputs.data as Obj;
  const agentEgress = (name: string) =>
    (
      ((workload("kubernetes:networking.k8s.io/v1:NetworkPolicy", name).inputs.spec as Obj).egress as Obj[]) ?? []
    ).filter((rule) => JSON.stringify(rule).includes("169.254.170.23"));

  test("user files and backups live in separate buckets; only the backup bucket has per-prefix retention", () => {
    const out = get().outputs;
    expect(out.storageBucket).toEqual(expect.any(String));
    expect(out.storageBucket).not.toBe(out.backupBucket);
    const storage = (podOf("supabase-storage").containers as Obj[])[0];
    expect(envOf(storage)).toEqual(
      expect.objectContaining({
        STORAGE_BACKEND: "s3",
        GLOBAL_S3_BUCKET: out.storageBucket,
        REGION: cloud === "aws" ? "ca-central-1" : "northamerica-northeast1",
      }),
    );
    expect(envOf((podOf("backup").initContainers as Obj[])[1]).BACKUP_BUCKET).toBe(out.backupBucket);
    if (cloud === "aws") {
      const lifecycle = (bucket: string) =>
        JSON.stringify(
          ofType(get(), "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration").find(
            (l) => l.name === `${bucket}-lifecycle`,
          )?.inputs.rules,
        );
      type Rule = {
        filter: { prefix?: string };
        expiration?: { days?: number };
        noncurrentVersionExpiration?: { newerNoncurrentVersions?: number };
      };
      const expiries = (bucket: string) =>
        (JSON.parse(lifecycle(bucket)) as Rule[])
          .filter((r) => r.expiration?.days)
          .map((r) => [r.filter.prefix, r.expiration?.days]);
      const kept = (bucket: string) =>
        (JSON.parse(lifecycle(bucket)) as Rule[])
          .filter((r) => r.noncurrentVersionExpiration?.newerNoncurrentVersions)
          .map((r) => [r.filter.prefix, r.noncurrentVersionExpiration?.newerNoncurrentVersions]);
      expect(expiries("backups")).toEqual([]);
      expect(kept("backups")).toEqual([
        ["daily/", 6],
        ["weekly/", 3],
      ]);
      expect(expiries("storage")).toEqual([]);
      expect(lifecycle("storage")).toContain('"noncurrentDays":30');
    } else {
      const rules = (name: unknown) =>
        JSON.stringify(
          ofType(get(), "gcp:storage/bucket:Bucket").find((b) => b.inputs.name === name)?.inputs.lifecycleRules,
        );
      expect(rules(out.backupBucket)).toContain('"matchesPrefixes":["daily/"]');
      expect(rules(out.storageBucket)).not.toMatch(/matchesPrefixes|"withState":"LIVE"/);
    }
  });

  test(
    cloud === "aws"
      ? "Storage and the backup job get IAM roles through EKS Pod Identity: own ServiceAccounts, no static keys, egress to the agent"
      : "Storage and the backup job sign with HMAC keys of their own service accounts, delivered as secret env",
    () => {
      const storage = podOf("supabase-storage");
      const backup = podOf("backup");
      for (const pod of [storage, backup]) expect(pod.automountServiceAccountToken).toBe(false);
      if (cloud === "aws") {
        const associations = ofType(get(), "aws:eks/podIdentityAssociation:PodIdentityAssociation").map((a) => [
          a.inputs.namespace,
          a.inputs.serviceAccount,
          a.inputs.clusterName,
        ]);
        expect(associations).toEqual([
          [namespace, "supabase-storage", `northstack-${stack}`],
          [namespace, "backup", `northstack-${stack}`],
          [namespace, "backup-drill", `northstack-${stack}`],
          // prod copies ElastiCache's snapshots to ca-west-1 (redis-export.ts).
          ...(stack === "prod" ? [[namespace, "redis-dr-export", `northstack-${stack}`]] : []),
        ]);
        expect([storage.serviceAccountName, backup.serviceAccountName]).toEqual(["supabase-storage", "backup"]);
        const accounts = ofType(get(), "kubernetes:core/v1:ServiceAccount").map((a) => [
          (a.inputs.metadata as Obj).name,
          a.inputs.automountServiceAccountToken,
        ]);
        // In name order: the order resources register in is not part of the contract.
        expect(accounts.sort()).toEqual([
          ["backup", false],
          ["backup-drill", false],
          ["monitoring-kube-state-metrics", false],
          ["monitoring-log-shipper", false],
          ["monitoring-prometheus", false],
          ...(stack === "prod" ? [["redis-dr-export", false]] : []),
          ["supabase-storage", false],
        ]);
        for (const name of ["supabase-storage", "backup", ...(stack === "prod" ? ["redis-dr-export"] : [])])
          expect(agentEgress(name)).toHaveLength(1);
        for (const name of ["api", "kong", "supabase-auth", "supabase-migrate"]) expect(agentEgress(name)).toEqual([]);
        expect([...secretKeysOf("supabase-storage"), ...secretKeysOf("backup")]).not.toContain("AWS_SECRET_ACCESS_KEY");
        const policies = Object.fromEntries(
          ofType(get(), "aws:iam/rolePolicy:RolePolicy").map((r) => [r.name, String(r.inputs.policy)]),
        );
        expect(policies["storage-identity-policy"]).toContain(`:::northstack-${stack}-storage-111122223333/*`);
        expect(policies["storage-identity-policy"]).not.toContain("-backups-");
        expect(policies["backup-identity-policy"]).toContain(`:::northstack-${stack}-backups-111122223333/daily/*`);
        expect(policies["backup-identity-policy"]).not.toMatch(/s3:GetObject|s3:DeleteObject|-storage-/);
      } else {
        expect(
          ofType(get(), "kubernetes:core/v1:ServiceAccount")
            .map((a) => [(a.inputs.metadata as Obj).name, a.inputs.automountServiceAccountToken])
            .sort(),
        ).toEqual([
          ["monitoring-kube-state-metrics", false],
          ["monitoring-log-shipper", false],
          ["monitoring-prometheus", false],
        ]);
        expect(ofType(get(), "aws:eks/podIdentityAssociation:PodIdentityAssociation")).toEqual([]);
        for (const name of ["supabase-storage", "backup"]) {
          expect(secretKeysOf(name)).toEqual(expect.arrayContaining(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]));
          expect(agentEgress(name)).toEqual([]);
        }
        expect(envOf((storage.containers as Obj[])[0])).toEqual(
          expect.objectContaining({
            GLOBAL_S3_ENDPOINT: "https://storage.googleapis.com",
            GLOBAL_S3_FORCE_PATH_STYLE: "true",
            AWS_ACCESS_KEY_ID: "from-secret",
          }),
        );
        const grants = ofType(get(), "gcp:storage/bucketIAMMember:BucketIAMMember")
          .filter((g) => /credentials/.test(g.name))
          .map((g) => [g.inputs.bucket, g.inputs.role]);
        expect(grants).toEqual([
          [get().outputs.storageBucket, "roles/storage.objectUser"],
          [get().outputs.backupBucket, "roles/storage.objectCreator"],
          [get().outputs.backupBucket, "roles/storage.legacyBucketReader"],
          [get().outputs.backupBucket, "roles/storage.legacyObjectReader"],
        ]);
        for (const key of ofType(get(), "gcp:storage/hmacKey:HmacKey"))
          expect(key.inputs.serviceAccountEmail).toMatch(new RegExp(`^ns-${stack}-(storage|backup|backup-drill)@`));
      }
    },
  );

  test("the backup CronJob dumps and verifies with the postgres image, uploads with the pinned AWS CLI, then records the upload, all non-root", () => {
    const cron = workload("kubernetes:batch/v1:CronJob", "backup");
    expect(cron.inputs.spec).toEqual(expect.objectContaining({ schedule: "30 6 * * *", concurrencyPolicy: "Forbid" }));
    const pod = podOf("backup");
    const [dump, upload] = pod.initContainers as Obj[];
    const [record] = pod.containers as Obj[];
    expect([dump.image, dump.args, (dump.securityContext as Obj).runAsUser]).toEqual([
      "postgres:15.8-bookworm",
      ["dump"],
      999,
    ]);
    expect([upload.image, upload.args, (upload.securityContext as Obj).runAsUser]).toEqual([
      "amazon/aws-cli:2.22.35",
      ["upload"],
      1000,
    ]);
    expect([record.image, record.args, (record.securityContext as Obj).runAsUser]).toEqual([
      "postgres:15.8-bookworm",
      ["record"],
      999,
    ]);
    expect(envOf(record)).toEqual(
      expect.objectContaining({ PGUSER: "northstack_backup", PGSSLMODE: "require", RECORD_PGPASSWORD: "from-secret" }),
    );
    expect(envOf(dump)).toEqual(
      expect.objectContaining({
        // The backup job's own read-only role, never the admin.
        PGUSER: "northstack_backup",
        PGSSLMODE: "require",
        PGPASSWORD: "from-secret",
        BACKUP_DIR: "/backups",
      }),
    );
    expect(envOf(upload)).toEqual(
      expect.objectContaining({
        BACKUP_DIR: "/backups",
        HOME: "/home/backup",
        AWS_CONFIG_FILE: "/etc/northstack/aws-config",
      }),
    );
    expect(envOf(upload).BACKUP_S3_ENDPOINT).toBe(cloud === "gcp" ? "https://storage.googleapis.com" : undefined);
    // The very script the integration test runs against a real PostgreSQL.
    expect(configFile("backup", "backup.sh")?.["backup.sh"]).toBe(renderBackupScript());
    expect(String(configFile("backup", "aws-config")?.["aws-config"]).includes("addressing_style = path")).toBe(
      cloud === "gcp",
    );
    // It reaches Postgres and the object store: it is a data client.
    const egress = JSON.stringify(
      (workload("kubernetes:networking.k8s.io/v1:NetworkPolicy", "backup").inputs.spec as Obj).egress,
    );
    expect(egress).toContain('"port":5432');
    expect(egress).toContain('"port":443');
  });

  test("the restore drill runs on its own schedule, downloads with a read-only identity and restores in its own pod, all non-root", () => {
    const cron = workload("kubernetes:batch/v1:CronJob", "backup-drill");
    expect(cron.inputs.spec).toEqual(expect.objectContaining({ schedule: "30 9 * * *", concurrencyPolicy: "Forbid" }));
    const pod = podOf("backup-drill");
    const [fetch, ...moreInit] = pod.initContainers as Obj[];
    const [drill] = pod.containers as Obj[];
    expect(moreInit).toEqual([]);
    expect([fetch.image, fetch.args, (fetch.securityContext as Obj).runAsUser]).toEqual([
      "amazon/aws-cli:2.22.35",
      ["fetch"],
      1000,
    ]);
    expect([drill.image, drill.args, (drill.securityContext as Obj).runAsUser]).toEqual([
      "postgres:15.8-bookworm",
      ["drill"],
      999,
    ]);
    // Only the drill step logs in to Postgres, as the recorder role, to record the drill.
    expect(envOf(drill)).toEqual(
      expect.objectContaining({ PGUSER: "northstack_recorder", PGPASSWORD: "from-secret", DRILL_DIR: "/drill" }),
    );
    expect(envOf(fetch).PGPASSWORD).toBeUndefined();
    expect(envOf(fetch)).toEqual(
      expect.objectContaining({
        DRILL_DIR: "/drill",
        BACKUP_BUCKET: get().outputs.backupBucket,
        PGDATABASE: "postgres",
      }),
    );
    expect(configFile("backup-drill", "backup.sh")?.["backup.sh"]).toBe(renderBackupScript());
    expect(pod.automountServiceAccountToken).toBe(false);
    if (cloud === "aws") {
      expect(pod.serviceAccountName).toBe("backup-drill");
      expect(agentEgress("backup-drill")).toHaveLength(1);
      expect(secretKeysOf("backup-drill")).not.toContain("AWS_SECRET_ACCESS_KEY");
      const policies = Object.fromEntries(
        ofType(get(), "aws:iam/rolePolicy:RolePolicy").map((r) => [r.name, JSON.parse(String(r.inputs.policy))]),
      );
      const writerKey = (policies["backup-identity-policy"].Statement as Obj[]).find(
        (st) => st.Sid === "BucketKey",
      )?.Resource;
      expect(writerKey).toEqual(expect.stringContaining("kms"));
      // Exactly: read the daily dumps and decrypt them; no list, write or delete, nothing else in the bucket.
      expect(policies["backup-drill-identity-policy"]).toEqual({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "ReadDumps",
            Effect: "Allow",
            Action: "s3:GetObject",
            Resource: [`arn:aws:s3:::northstack-${stack}-backups-111122223333/daily/*`],
          },
          {
            Sid: "BucketKey",
            Effect: "Allow",
            Action: "kms:Decrypt",
            // The stack key, as the backup job's.
            Resource: writerKey,
          },
        ],
      });
    } else {
      expect(secretKeysOf("backup-drill")).toEqual(
        expect.arrayContaining(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]),
      );
      const grants = ofType(get(), "gcp:storage/bucketIAMMember:BucketIAMMember")
        .filter((g) => /^backup-drill-credentials/.test(g.name))
        .map((g) => [g.inputs.bucket, g.inputs.role]);
      // storage.objects.get only: no listing, no writes.
      expect(grants).toEqual([[get().outputs.backupBucket, "roles/storage.legacyObjectReader"]]);
    }
    const egress = JSON.stringify(
      (workload("kubernetes:networking.k8s.io/v1:NetworkPolicy", "backup-drill").inputs.spec as Obj).egress,
    );
    expect(egress).toContain('"port":5432');
    expect(egress).toContain('"port":443');
  });

  test(
    stack === "prod"
      ? "prod runs auth, rest and storage twice, spread and with disruption budgets; realtime once"
      : "staging runs one of each",
    () => {
      const replicas = (name: string) => (workload("kubernetes:apps/v1:Deployment", name).inputs.spec as Obj).replicas;
      const expected = stack === "prod" ? 2 : 1;
      for (const name of ["supabase-auth", "supabase-rest", "supabase-storage"])
        expect({ name, replicas: replicas(name) }).toEqual({ name, replicas: expected });
      expect(replicas("supabase-realtime")).toBe(1);
      const budgets = ofType(get(), "kubernetes:policy/v1:PodDisruptionBudget").map(
        (b) => (b.inputs.metadata as Obj).name,
      );
      for (const name of ["supabase-auth", "supabase-rest", "supabase-storage"])
        expect(budgets.includes(name)).toBe(stack === "prod");
      expect(budgets).not.toContain("supabase-realtime");
      if (stack === "prod") expect(podOf("supabase-storage").topologySpreadConstraints).toHaveLength(2);
    },
  );

  test("realtime seeds its tenant under the name the gateway's Host header carries", () => {
    const tenant = envOf((podOf("supabase-realtime").containers as Obj[])[0]).SELF_HOST_TENANT_NAME;
    // kong.yml holds the consumers' keys, so it is in Kong's Secret.
    const kongSecret = ofType(get(), "kubernetes:core/v1:Secret").find(
      (r) =>
        ((r.inputs.metadata as Obj).labels as Obj)["app.kubernetes.io/name"] === "kong" &&
        "kong.yml" in (r.plainInputs.stringData as Obj),
    );
    const kongYml = String((kongSecret?.plainInputs.stringData as Obj)["kong.yml"]);
    const host = /name: realtime-v1-ws\s+url: http:\/\/([^:/]+)/.exec(kongYml)?.[1];
    expect(host).toBe(`supabase-realtime.${namespace}.svc.cluster.local`);
    expect(tenant).toBe(host?.split(".")[0]);
  });

  test("Prometheus scrapes Realtime with a token from its own Secret, signed with the METRICS_JWT_SECRET of Realtime's", () => {
    const tokenFile = "/etc/prometheus/scrape-credentials/supabase-realtime.token";
    const secretOf = (name: string) =>
      ofType(get(), "kubernetes:core/v1:Secret").find(
        (r) => ((r.inputs.metadata as Obj).labels as Obj)["app.kubernetes.io/name"] === name,
      );
    const prometheusSecret = secretOf("monitoring-prometheus");
    const token = String((prometheusSecret?.plainInputs.stringData as Obj)["supabase-realtime.token"]);
    // The Secret's data is a Pulumi secret as a whole.
    expect(prometheusSecret?.inputs.stringData).toBe(SECRET_MARK);
    const metricsSecret = String((secretOf("supabase-realtime")?.plainInputs.stringData as Obj).METRICS_JWT_SECRET);
    expect(metricsSecret).toHaveLength(64);
    expect(verifyHs256(token, metricsSecret)).toMatchObject({ role: "prometheus" });
    // The pod mounts the Secret's key at the file prometheus.yml names; the ConfigMap holds neither value.
    const statefulSet = workload("kubernetes:apps/v1:StatefulSet", "monitoring-prometheus");
    const pod = ((statefulSet.plainInputs.spec as Obj).template as Obj).spec as Obj;
    const mounts = (pod.containers as Obj[])[0].volumeMounts as Obj[];
    expect(mounts).toContainEqual(
      expect.objectContaining({ mountPath: tokenFile, subPath: "supabase-realtime.token" }),
    );
    const config = YAML.parse(String(configFile("monitoring-prometheus", "prometheus.yml")["prometheus.yml"])) as {
      scrape_configs: { job_name: string; authorization?: unknown; dns_sd_configs?: { port: number }[] }[];
    };
    const job = config.scrape_configs.find((j) => j.job_name === "supabase-realtime");
    expect(job?.authorization).toEqual({ type: "Bearer", credentials_file: tokenFile });
    expect(job?.dns_sd_configs?.[0].port).toBe(4000);
    const configMaps = JSON.stringify(ofType(get(), "kubernetes:core/v1:ConfigMap").map((c) => c.plainInputs));
    expect(configMaps).not.toContain(token);
    expect(configMaps).not.toContain(metricsSecret);
  });
});

describe("variants", () => {
  test("an existing cluster and VPC: no EKS, no VPC, the given kubeconfig as a secret; extra services get their own API deployment", async () => {
    const p = await plan("staging", {
      "northstack:cluster": "existing",
      "northstack:kubeconfig": KUBECONFIG,
      "northstack:eksClusterName": "team-eks",
      "northstack:vpcId": "vpc-0123",
      "northstack:vpcCidr": "10.8.0.0/16",
      "northstack:privateSubnetIds": JSON.stringify(["subnet-a", "subnet-b"]),
      "northstack:services": JSON.stringify(["reports=ghcr.io/northstack/reports:1.0.0"]),
    });
    expect(ofType(p, "northstack:aws:Cluster")).toEqual([]);
    expect(ofType(p, "aws:eks/cluster:Cluster")).toEqual([]);
    // Pod Identity associations go to the named cluster, and wait for no add-on the stack does not own.
    for (const association of ofType(p, "aws:eks/podIdentityAssociation:PodIdentityAssociation")) {
      expect(association.inputs.clusterName).toBe("team-eks");
      expect(association.dependencies.map((urn) => p.resources.find((r) => r.urn === urn)?.type)).not.toContain(
        "aws:eks/addon:Addon",
      );
    }
    expect(ofType(p, "aws:ec2/vpc:Vpc")).toEqual([]);
    expect(ofType(p, "aws:rds/subnetGroup:SubnetGroup")[0].inputs.subnetIds).toEqual(["subnet-a", "subnet-b"]);
    for (const sg of ofType(p, "aws:ec2/securityGroup:SecurityGroup")) expect(sg.inputs.vpcId).toBe("vpc-0123");
    // The stack does not know an existing cluster's security groups: the data services admit the VPC.
    const rules = ofType(p, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule");
    expect(rules.map((r) => [r.inputs.cidrIpv4, r.inputs.referencedSecurityGroupId, r.inputs.fromPort])).toEqual([
      ["10.8.0.0/16", undefined, 5432],
      ["10.8.0.0/16", undefined, 6379],
    ]);
    expect(p.resources.find((r) => r.type === "pulumi:providers:kubernetes")?.inputs.kubeconfig).toBe(SECRET_MARK);
    expect(
      ofType(p, "northstack:app:ApiService")
        .map((r) => r.name)
        .sort(),
    ).toEqual(["api", "reports"]);
    expect(ofType(p, "kubernetes:apps/v1:Deployment").some((d) => (d.inputs.metadata as Obj).name === "reports")).toBe(
      true,
    );
    expect(kubernetesSchemaProblems(p.resources)).toEqual([]);
  });

  /**
   * A staging stack on a managed cluster with operators' CIDRs for its API, exposure through an
   * Ingress and an alert webhook: the settings are independent, so the tests of each share one plan
   * per cloud (test/helpers/shared-plan.ts).
   */
  const OPERATORS = ["198.51.100.0/24"];
  const managedVariant = (cloud: string) =>
    plan("staging", {
      "northstack:cloud": cloud,
      "northstack:clusterApiAllowCidrs": JSON.stringify(OPERATORS),
      "northstack:exposure": "ingress",
      "northstack:ingressHost": "api.staging.northstack.example",
      "northstack:ingressControllerNamespace": "edge",
      "northstack:alertWebhookUrl": "https://hooks.example.ca/alerts",
    });

  test.each(["aws", "gcp"])(
    "a managed cluster on %s opens its API endpoint only to clusterApiAllowCidrs",
    async (cloud) => {
      const p = await managedVariant(cloud);
      if (cloud === "aws") {
        const vpcConfig = ofType(p, "aws:eks/cluster:Cluster")[0].inputs.vpcConfig as Obj;
        expect(vpcConfig).toEqual(
          expect.objectContaining({
            endpointPrivateAccess: true,
            endpointPublicAccess: true,
            publicAccessCidrs: OPERATORS,
          }),
        );
      } else {
        const gke = ofType(p, "gcp:container/cluster:Cluster")[0].inputs;
        expect(gke.privateClusterConfig).toEqual(
          expect.objectContaining({ enablePrivateNodes: true, enablePrivateEndpoint: false }),
        );
        expect(gke.masterAuthorizedNetworksConfig).toEqual({
          cidrBlocks: [expect.objectContaining({ cidrBlock: OPERATORS[0] })],
        });
      }
    },
  );

  test("a created EKS cluster: the data security groups admit only the cluster security group", async () => {
    const rules = ofType(
      plans.get(key("staging", "aws"))!,
      "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    );
    expect(rules.map((r) => [r.inputs.referencedSecurityGroupId, r.inputs.cidrIpv4, r.inputs.fromPort])).toEqual([
      ["cluster-eks-sg", undefined, 5432],
      ["cluster-eks-sg", undefined, 6379],
    ]);
  });

  test("an alert webhook lets Alertmanager, and only it besides storage, backups, the drill, the gateway probe and the log shipper, reach HTTPS", async () => {
    const p = await managedVariant("aws");
    const httpsClients = ofType(p, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
      .filter((np) =>
        (((np.inputs.spec as Obj).egress ?? []) as { ports?: { port: number }[] }[]).some((r) =>
          r.ports?.some((x) => x.port === 443),
        ),
      )
      .map((np) => (np.inputs.metadata as Obj).name);
    expect(httpsClients.sort()).toEqual([
      "backup",
      "backup-drill",
      "monitoring-alertmanager",
      // It probes the gateway at its public address, as a client would.
      "monitoring-blackbox-exporter",
      // The Kubernetes API server, on 443.
      "monitoring-kube-state-metrics",
      "monitoring-log-shipper",
      "monitoring-prometheus",
      "supabase-storage",
    ]);
  });

  test.each(["aws", "gcp"])(
    "exposure ingress on %s: TLS at the Ingress, Kong believes X-Forwarded-For only from the controller's namespace",
    async (cloud) => {
      const p = await managedVariant(cloud);
      expect(
        ofType(p, "kubernetes:core/v1:Service").filter((svc) => (svc.inputs.spec as Obj).type === "LoadBalancer"),
      ).toEqual([]);
      const [ingress] = ofType(p, "kubernetes:networking.k8s.io/v1:Ingress");
      expect((ingress.inputs.spec as Obj).tls).toEqual([
        { hosts: ["api.staging.northstack.example"], secretName: "northstack-gateway-tls" },
      ]);
      const kongPolicy = ofType(p, "kubernetes:networking.k8s.io/v1:NetworkPolicy").find(
        (np) => (np.inputs.metadata as Obj).name === "kong",
      )!;
      expect((kongPolicy.inputs.spec as Obj).ingress).toContainEqual({
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "edge" } } }],
        ports: [{ protocol: "TCP", port: 8000 }],
      });
      const kong = ofType(p, "kubernetes:apps/v1:Deployment").find((d) => d.name === "kong")!;
      const env = Object.fromEntries(
        (
          (((kong.inputs.spec as Obj).template as Obj).spec as Obj).containers as {
            env: { name: string; value?: string }[];
          }[]
        )[0].env.map((e) => [e.name, e.value]),
      );
      expect(env).toMatchObject({
        KONG_TRUSTED_IPS: "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10",
        KONG_REAL_IP_HEADER: "X-Forwarded-For",
        KONG_REAL_IP_RECURSIVE: "on",
      });
      expect(env.KONG_SSL_CERT).toBeUndefined();
      expect(kubernetesSchemaProblems(p.resources)).toEqual([]);
      expect(podSecurityProblems(p.resources)).toEqual([]);
    },
  );

  test("a cert-manager issuer instead of a Secret: the stack requests the gateway certificate (a CRD, left out of the schema check)", async () => {
    const p = await sharedPlan("prod", PROD_AWS_VARIANT);
    const [certificate] = ofType(p, "kubernetes:cert-manager.io/v1:Certificate");
    expect(certificate.inputs.spec).toEqual(
      expect.objectContaining({
        secretName: "kong-tls",
        dnsNames: ["api.northstack.example"],
        issuerRef: expect.objectContaining({ name: "letsencrypt-dns01" }),
      }),
    );
    expect(
      kubernetesSchemaProblems(p.resources, { ignoreTypes: ["kubernetes:cert-manager.io/v1:Certificate"] }),
    ).toEqual([]);
    expect(kubernetesSchemaProblems(p.resources)).toHaveLength(1);
  });

  // An ambient aws:region outside Canada is refused by config before any resource
  // (test/unit/config-bad-inputs.test.ts); every resource has an explicit Canadian provider besides.
});

test("GKE on an existing network is refused by the composition, naming both keys", () => {
  const cfg = parseConfig(
    {
      "northstack:cloud": "gcp",
      "northstack:cluster": "managed",
      "northstack:apiImage": "ghcr.io/northstack/api:0.1.0",
      "northstack:alertPagerdutyRoutingKey": "0123456789abcdef0123456789abcdef",
      "northstack:vpcId": "projects/p/global/networks/shared",
      "northstack:vpcCidr": "10.8.0.0/16",
      "northstack:privateSubnetIds": JSON.stringify(["a", "b"]),
      "northstack:publicUrl": "https://api.example.ca",
      "northstack:tlsSecretName": "gateway-cert",
    },
    "staging",
  );
  expect(() => validateCloudConfig(cfg)).toThrow(
    /northstack:vpcId with cloud gcp and cluster managed: GKE needs the subnetwork the stack creates/,
  );
  expect(() => validateCloudConfig({ ...cfg, network: { ...cfg.network, vpcId: "" } })).not.toThrow();
  expect(() =>
    validateCloudConfig({
      ...cfg,
      network: { ...cfg.network, vpcId: "" },
      kubernetes: { ...cfg.kubernetes, tlsSecretName: "" },
    }),
  ).toThrow(/northstack:tlsSecretName is missing; the gateway serves TLS only/);
});

test("an existing EKS cluster without its name is refused by the composition too", () => {
  const cfg = parseConfig(
    {
      "northstack:cloud": "aws",
      "northstack:cluster": "managed",
      "northstack:apiImage": "ghcr.io/northstack/api:0.1.0",
      "northstack:alertPagerdutyRoutingKey": "0123456789abcdef0123456789abcdef",
      "northstack:publicUrl": "https://api.example.ca",
      "northstack:tlsSecretName": "gateway-tls",
    },
    "staging",
  );
  const existing = {
    ...cfg,
    kubernetes: { ...cfg.kubernetes, cluster: "existing" as const },
    secrets: { kubeconfig: KUBECONFIG },
  };
  expect(() => validateCloudConfig(existing)).toThrow(
    /northstack:eksClusterName is missing; on an existing EKS cluster, Pod Identity associations give Supabase Storage and the backup job their S3 access/,
  );
  expect(() =>
    validateCloudConfig({ ...existing, kubernetes: { ...existing.kubernetes, eksClusterName: "team-eks" } }),
  ).not.toThrow();
});

test("a stack name too long for prod's Redis export bucket is refused by the composition, before any resource", () => {
  const cfg = parseConfig(
    {
      "northstack:cloud": "aws",
      "northstack:cluster": "managed",
      "northstack:apiImage": "ghcr.io/northstack/api:0.1.0",
      "northstack:alertPagerdutyRoutingKey": "0123456789abcdef0123456789abcdef",
      "northstack:publicUrl": "https://api.example.ca",
      "northstack:tlsSecretName": "gateway-tls",
    },
    "staging",
  );
  // 27 characters: northstack-<name>-backups-dr-<account> has 62, northstack-<name>-redis-export-<account> 64.
  const long = { ...cfg, stack: "s".repeat(27) };
  expect(() => validateCloudConfig(long)).not.toThrow();
  expect(() => validateCloudConfig({ ...long, profile: { ...long.profile, drCopies: true } })).toThrow(
    /S3 bucket name "northstack-s{27}-redis-export-000000000000" for stack "s{27}" is not a valid bucket name .*use a shorter stack name/,
  );
});

describe("bad config fails with a clear message before any resource is registered", () => {
  test.each([
    [
      "an AWS region outside Canada",
      "staging",
      { "northstack:region": "us-east-1" },
      /northstack:region: "us-east-1" is outside Canada; allowed aws regions: ca-central-1, ca-west-1/,
    ],
    [
      "a GCS multi-region (US) as the region",
      "staging",
      { "northstack:cloud": "gcp", "northstack:region": "US" },
      /northstack:region: "US" is outside Canada; allowed gcp regions/,
    ],
    [
      "a GCS multi-region (NAM4) as the DR region",
      "prod",
      { "northstack:cloud": "gcp", "northstack:drRegion": "NAM4" },
      /northstack:drRegion: "NAM4" is outside Canada/,
    ],
    [
      "HA off in prod",
      "prod",
      { "northstack:postgresHa": "false" },
      /northstack:postgresHa: false is not allowed on prod/,
    ],
    [
      "Redis HA off in prod",
      "prod",
      { "northstack:cloud": "gcp", "northstack:redisHa": "false" },
      /northstack:redisHa: false is not allowed on prod/,
    ],
    [
      "a missing kubeconfig when no cluster is created",
      "staging",
      { "northstack:cluster": "existing" },
      /northstack:kubeconfig: missing; a staging stack with northstack:cluster=existing needs it/,
    ],
    [
      "no certificate for the gateway",
      "staging",
      { "northstack:tlsSecretName": "" },
      /northstack:tlsSecretName: required on staging when northstack:certManagerIssuer is empty/,
    ],
    [
      "a plain-HTTP public URL",
      "prod",
      { "northstack:publicUrl": "http://api.northstack.example" },
      /northstack:publicUrl: "http:\/\/api.northstack.example" is not allowed on prod; the gateway serves TLS only/,
    ],
    [
      "an existing EKS cluster without its name",
      "staging",
      { "northstack:cluster": "existing", "northstack:kubeconfig": KUBECONFIG },
      /northstack:eksClusterName: required with northstack:cloud=aws and northstack:cluster=existing/,
    ],
    [
      "one Supabase replica on prod",
      "prod",
      { "northstack:supabaseReplicas": "1" },
      /northstack:supabaseReplicas: 1 is not allowed on prod/,
    ],
  ] as [string, Stack, Record<string, string>, RegExp][])("%s", async (_case, stack, set, message) => {
    const { error, registered } = await attempt(stack, set);
    expect((error as Error | undefined)?.name).toBe("ConfigError");
    expect(String((error as Error).message)).toMatch(message);
    expect(registered).toEqual([]);
  });
});
