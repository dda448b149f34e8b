/**
 * The Kubernetes runtime's network rules, checked as plain data: the builders in
 * components/runtime/kubernetes/network-policy.ts, with no mocks and no Pulumi program.
 * test/unit/kubernetes-runtime.test.ts checks that the runtime registers what they return.
 */
import { DataServiceAccess } from "../../components/runtime/kubernetes";
import { workloadMeta } from "../../components/runtime/kubernetes/manifest";
import {
  EKS_POD_IDENTITY_AGENT,
  NON_PUBLIC_CIDRS,
  NetworkRules,
  WIDE_EGRESS_REASON_ANNOTATION,
  calleeEgressPolicy,
  callerPorts,
  defaultDenyPolicy,
  dnsPolicy,
  scraperEgressPolicy,
  wideEgressReason,
  workloadEgressRules,
  workloadIngressRules,
  workloadNetworkPolicy,
} from "../../components/runtime/kubernetes/network-policy";
import { SCRAPER_LABEL, WorkloadSpec } from "../../components/workload";

/** What the rules are, read back without the SDK's Input wrappers. */
interface Peer {
  podSelector?: {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values: string[] }[];
  };
  namespaceSelector?: { matchLabels?: Record<string, string> };
  ipBlock?: { cidr: string; except?: string[] };
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: { protocol: string; port: number }[];
}
const ingressOf = (spec: WorkloadSpec, rules: NetworkRules) => workloadIngressRules(spec, rules) as Rule[];
const egressOf = (spec: WorkloadSpec, rules: NetworkRules) => workloadEgressRules(spec, rules) as Rule[];
/** A workload's own policy only ever lets it out of the namespace: pods inside are reached through the callee's policy. */
const externalEgressOf = egressOf;
const cidrsOf = (rule: Rule) => (rule.to ?? []).map((p) => p.ipBlock?.cidr);
const portsOf = (rule: Rule) => (rule.ports ?? []).map((p) => p.port);

const base = {
  component: "app",
  image: "ghcr.io/northstack/x:1.0.0",
  resources: { cpuMillis: 100, memoryMb: 64 },
  user: { uid: 1000, gid: 1000 },
};
const api: WorkloadSpec = {
  ...base,
  name: "api",
  ports: [{ name: "http", port: 8080 }],
  allowFrom: ["kong"],
  metrics: { port: 9100, path: "/metrics" },
};
const worker: WorkloadSpec = { ...base, name: "worker", ports: [{ name: "http", port: 8081 }] };
const kong: WorkloadSpec = {
  ...base,
  name: "kong",
  component: "edge",
  ports: [
    { name: "proxy", port: 8000, public: true },
    { name: "status", port: 8100 },
  ],
  allowFrom: ["studio"],
  metrics: { port: 8100, path: "/metrics" },
};
const kongTls: WorkloadSpec = {
  ...kong,
  ports: [
    { name: "proxy", port: 8000 },
    { name: "proxy-tls", port: 8443, public: true, tls: { certDir: "/etc/kong/tls" } },
    { name: "status", port: 8100 },
  ],
};
const migrate: WorkloadSpec = {
  ...base,
  name: "migrate",
  component: "data",
  kind: "job",
  metrics: { port: 9187, path: "/metrics" },
};

const postgres: DataServiceAccess = {
  name: "postgres",
  cidrs: ["10.40.0.0/16", "10.41.0.0/16"],
  port: 5432,
  clients: ["api", "migrate"],
};
const redis: DataServiceAccess = { name: "redis", cidrs: ["10.50.0.0/24"], port: 6378, clients: ["api", "kong"] };
const objectStore = "the object store's API is served from public addresses that change";
const rules: NetworkRules = {
  namespace: "ns",
  monitoringNamespace: "monitoring",
  dataServices: [postgres, redis],
  publicEgress: [{ client: "api", ports: [443], reason: objectStore }],
};
const viaIngress: NetworkRules = { ...rules, exposure: "ingress" };

describe("namespace-wide policies", () => {
  test("every pod in the namespace is denied all ingress and egress unless another policy allows it", () => {
    const deny = defaultDenyPolicy("ns", { "northstack.io/stack": "prod" });
    expect(deny.metadata).toEqual({ name: "default-deny", namespace: "ns", labels: { "northstack.io/stack": "prod" } });
    // An empty selector selects every pod; both policy types without rules allow nothing.
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  });

  test("DNS is the only egress every pod gets: port 53 to the kube-dns pods and the node-local resolvers", () => {
    const dns = dnsPolicy("ns", {}, ["169.254.20.10/32"]);
    expect(dns.spec.policyTypes).toEqual(["Egress"]);
    expect(dns.spec.podSelector).toEqual({});
    const [rule, ...others] = dns.spec.egress as Rule[];
    expect(others).toEqual([]);
    expect(rule.ports).toEqual([
      { protocol: "UDP", port: 53 },
      { protocol: "TCP", port: 53 },
    ]);
    expect(rule.to).toEqual([
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
        podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
      },
      { ipBlock: { cidr: "169.254.20.10/32" } },
    ]);
    expect((dnsPolicy("ns", {}, []).spec.egress as Rule[])[0].to).toHaveLength(1);
  });
});

describe("egress leaving the namespace", () => {
  test("a workload not listed as a data service's client gets no egress to that service", () => {
    expect(externalEgressOf(worker, rules)).toEqual([]);
    const kongCidrs = externalEgressOf(kong, rules).flatMap(cidrsOf);
    for (const cidr of postgres.cidrs) expect(kongCidrs).not.toContain(cidr);
  });

  test("a Postgres client reaches only the data CIDRs, only on the Postgres port", () => {
    const postgresRules = externalEgressOf(migrate, rules);
    expect(postgresRules).toEqual([
      {
        to: [{ ipBlock: { cidr: "10.40.0.0/16" } }, { ipBlock: { cidr: "10.41.0.0/16" } }],
        ports: [{ protocol: "TCP", port: 5432 }],
      },
    ]);
  });

  test("each data service is reached on its own port (Redis with TLS on 6378), with one rule per service", () => {
    const external = externalEgressOf(api, rules);
    expect(external.filter((r) => cidrsOf(r).includes("10.50.0.0/24"))).toEqual([
      { to: [{ ipBlock: { cidr: "10.50.0.0/24" } }], ports: [{ protocol: "TCP", port: 6378 }] },
    ]);
    expect(external.filter((r) => portsOf(r).includes(5432)).flatMap(cidrsOf)).toEqual(postgres.cidrs);
  });

  test("public addresses only for the listed clients, only on their ports: private and link-local ranges excluded", () => {
    const publicRules = (spec: WorkloadSpec, r: NetworkRules) =>
      externalEgressOf(spec, r).filter((rule) => cidrsOf(rule).includes("0.0.0.0/0"));
    expect(publicRules(api, rules)).toEqual([
      { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: NON_PUBLIC_CIDRS } }], ports: [{ protocol: "TCP", port: 443 }] },
    ]);
    expect(NON_PUBLIC_CIDRS).toEqual(
      expect.arrayContaining(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"]),
    );
    for (const spec of [worker, kong, migrate]) expect(publicRules(spec, rules)).toEqual([]);
    // An SMTP smarthost's port besides 443, in one rule for the one client.
    const mailer = { ...rules, publicEgress: [{ client: "worker", ports: [443, 587], reason: "mail" }] };
    expect(publicRules(worker, mailer)).toEqual([
      {
        to: [{ ipBlock: { cidr: "0.0.0.0/0", except: NON_PUBLIC_CIDRS } }],
        ports: [
          { protocol: "TCP", port: 443 },
          { protocol: "TCP", port: 587 },
        ],
      },
    ]);
  });

  test("a wide destination names its reason on the client's policy; the service's own subnets need none", () => {
    const wideVpc: DataServiceAccess = { ...postgres, cidrs: ["10.0.0.0/16"], reason: "existing VPC" };
    const withReasons: NetworkRules = { ...rules, dataServices: [wideVpc, redis] };
    expect(wideEgressReason(api, withReasons)).toBe(
      `postgres at 10.0.0.0/16: existing VPC; public addresses on TCP 443: ${objectStore}`,
    );
    expect(workloadNetworkPolicy(api, workloadMeta(api, "prod", "ns"), withReasons).metadata.annotations).toEqual({
      [WIDE_EGRESS_REASON_ANNOTATION]: `postgres at 10.0.0.0/16: existing VPC; public addresses on TCP 443: ${objectStore}`,
    });
    // kong is a Redis client only; Redis is reached on its own subnet, so its policy has no annotation.
    expect(wideEgressReason(kong, withReasons)).toBeUndefined();
    expect(
      workloadNetworkPolicy(kong, workloadMeta(kong, "prod", "ns"), withReasons).metadata.annotations,
    ).toBeUndefined();
  });

  test("only a workload whose ServiceAccount uses EKS Pod Identity reaches the agent, on its address and port", () => {
    const withIdentity: WorkloadSpec = { ...worker, serviceAccount: { name: "worker", eksPodIdentity: true } };
    expect(externalEgressOf(withIdentity, rules)).toEqual([
      {
        to: [{ ipBlock: { cidr: EKS_POD_IDENTITY_AGENT.cidr } }],
        ports: [{ protocol: "TCP", port: EKS_POD_IDENTITY_AGENT.port }],
      },
    ]);
    expect(externalEgressOf({ ...worker, serviceAccount: { name: "worker" } }, rules)).toEqual([]);
  });

  test("every egress rule leaving the namespace names its ports", () => {
    for (const spec of [api, worker, kong, migrate]) {
      for (const rule of externalEgressOf(spec, rules)) expect(portsOf(rule).length).toBeGreaterThan(0);
    }
  });

  test("a workload's own policy opens no pod in the namespace: a worker that calls nothing gets no egress at all", () => {
    expect(egressOf(worker, rules)).toEqual([]);
    for (const spec of [api, kong, migrate])
      for (const rule of egressOf(spec, rules))
        for (const peer of rule.to ?? []) expect(peer.podSelector).toBeUndefined();
  });
});

describe("egress inside the namespace, from the callee's allowFrom", () => {
  test("the callers in allowFrom may leave for the callee's pods, on the callee's ports only", () => {
    const policy = calleeEgressPolicy(kong, workloadMeta(kong, "prod", "ns"))!;
    expect(policy.metadata).toEqual({
      name: "egress-to-kong",
      namespace: "ns",
      labels: expect.objectContaining({ "app.kubernetes.io/name": "kong" }),
    });
    expect(policy.spec).toEqual({
      podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["studio"] }] },
      policyTypes: ["Egress"],
      egress: [
        {
          to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "kong" } } }],
          // Not 8100: the status port serves only metrics, which are the scrapers' alone.
          ports: [{ protocol: "TCP", port: 8000 }],
        },
      ],
    });
  });

  test("a port that serves only metrics is the scrapers' alone; a metrics port that is also the service port stays the callers'", () => {
    expect(callerPorts(kong).map((p) => p.port)).toEqual([8000]);
    expect(callerPorts(kongTls).map((p) => p.port)).toEqual([8000, 8443]);
    expect(callerPorts(api).map((p) => p.port)).toEqual([8080]);
    const exporter: WorkloadSpec = {
      ...worker,
      ports: [{ name: "metrics", port: 9187 }],
      metrics: { port: 9187, path: "/metrics" },
    };
    expect(callerPorts(exporter).map((p) => p.port)).toEqual([9187]);
    expect(callerPorts(migrate)).toEqual([]);
  });

  test("the callers' egress mirrors the callee's ingress rule: same workloads, same ports", () => {
    for (const spec of [api, kong, kongTls]) {
      const [fromCallers] = ingressOf(spec, rules);
      const [toCallee] = (calleeEgressPolicy(spec, workloadMeta(spec, "prod", "ns"))!.spec.egress ?? []) as Rule[];
      expect(toCallee.ports).toEqual(fromCallers.ports);
      expect(
        (calleeEgressPolicy(spec, workloadMeta(spec, "prod", "ns"))!.spec.podSelector as Peer["podSelector"])
          ?.matchExpressions,
      ).toEqual(fromCallers.from![0].podSelector!.matchExpressions);
    }
  });

  test("nothing calls a workload without allowFrom, without ports, or a job", () => {
    const meta = (spec: WorkloadSpec) => workloadMeta(spec, "prod", "ns");
    expect(calleeEgressPolicy(worker, meta(worker))).toBeUndefined();
    expect(calleeEgressPolicy({ ...worker, ports: [], allowFrom: ["api"] }, meta(worker))).toBeUndefined();
    expect(
      calleeEgressPolicy({ ...migrate, ports: [{ name: "x", port: 1 }], allowFrom: ["api"] }, meta(migrate)),
    ).toBeUndefined();
  });

  test("Prometheus in the same namespace may leave for each metrics port; in another namespace that one decides", () => {
    const sameNamespace: NetworkRules = { ...rules, monitoringNamespace: "ns" };
    const policy = scraperEgressPolicy(api, workloadMeta(api, "prod", "ns"), sameNamespace)!;
    expect(policy.metadata.name).toBe("scrape-api");
    expect(policy.spec).toEqual({
      podSelector: { matchLabels: { [SCRAPER_LABEL]: "metrics-scraper" } },
      policyTypes: ["Egress"],
      egress: [
        {
          to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "api" } } }],
          ports: [{ protocol: "TCP", port: 9100 }],
        },
      ],
    });
    expect(scraperEgressPolicy(api, workloadMeta(api, "prod", "ns"), rules)).toBeUndefined();
    expect(scraperEgressPolicy(worker, workloadMeta(worker, "prod", "ns"), sameNamespace)).toBeUndefined();
    expect(scraperEgressPolicy(migrate, workloadMeta(migrate, "prod", "ns"), sameNamespace)).toBeUndefined();
  });
});

describe("ingress to a workload", () => {
  test("only the workloads in allowFrom reach the service ports; without allowFrom no pod does", () => {
    const [fromPods] = ingressOf(api, rules);
    expect(fromPods).toEqual({
      from: [
        { podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["kong"] }] } },
      ],
      ports: [{ protocol: "TCP", port: 8080 }],
    });
    expect(ingressOf(worker, rules)).toEqual([]);
  });

  test("the monitoring namespace's scrapers reach the metrics port only, and only when a monitoring namespace is set", () => {
    const scrape = ingressOf(api, rules).filter((r) => (r.from ?? []).some((p) => p.namespaceSelector));
    expect(scrape).toEqual([
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
            podSelector: { matchLabels: { [SCRAPER_LABEL]: "metrics-scraper" } },
          },
        ],
        ports: [{ protocol: "TCP", port: 9100 }],
      },
    ]);
    expect(
      ingressOf(api, { ...rules, monitoringNamespace: undefined }).filter((r) =>
        (r.from ?? []).some((p) => p.namespaceSelector),
      ),
    ).toEqual([]);
  });

  test("a job admits nothing, not even the scrapers", () => {
    expect(ingressOf({ ...migrate, allowFrom: ["api"] }, rules)).toEqual([]);
  });

  test("exposure ingress: the gateway's public port is reached only from the ingress controller's namespace", () => {
    const publicRules = ingressOf(kong, viaIngress).filter(
      (r) => portsOf(r).includes(8000) && !(r.from ?? []).some((p) => p.podSelector),
    );
    expect(publicRules).toEqual([
      {
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }],
        ports: [{ protocol: "TCP", port: 8000 }],
      },
    ]);
    const custom = ingressOf(kong, { ...viaIngress, ingressControllerNamespace: "edge" });
    expect(custom.flatMap((r) => r.from ?? []).map((p) => p.namespaceSelector?.matchLabels)).toContainEqual({
      "kubernetes.io/metadata.name": "edge",
    });
    // No rule without a source: nothing outside the controller and allowFrom reaches the workload.
    for (const rule of ingressOf(kong, viaIngress)) expect(rule.from?.length).toBeGreaterThan(0);
  });

  test("exposure loadbalancer: the public TLS port admits any source (client addresses are kept), the other ports do not", () => {
    const open = ingressOf(kongTls, rules).filter((r) => r.from === undefined);
    expect(open).toEqual([{ ports: [{ protocol: "TCP", port: 8443 }] }]);
    expect(
      ingressOf(kongTls, rules)
        .flatMap((r) => r.from ?? [])
        .map((p) => p.namespaceSelector?.matchLabels),
    ).not.toContainEqual({
      "kubernetes.io/metadata.name": "ingress-nginx",
    });
  });

  test("every ingress rule names its ports", () => {
    for (const [spec, r] of [
      [api, rules],
      [kong, viaIngress],
      [kongTls, rules],
    ] as const) {
      for (const rule of ingressOf(spec, r)) expect(portsOf(rule).length).toBeGreaterThan(0);
    }
  });
});

test("a workload's policy selects its own pods and carries both policy types", () => {
  const policy = workloadNetworkPolicy(api, workloadMeta(api, "prod", "ns"), rules);
  expect(policy.metadata).toMatchObject({
    name: "api",
    namespace: "ns",
    labels: expect.objectContaining({ "app.kubernetes.io/name": "api" }),
  });
  expect(policy.spec.podSelector).toEqual({ matchLabels: { "app.kubernetes.io/name": "api" } });
  expect(policy.spec.policyTypes).toEqual(["Ingress", "Egress"]);
  expect(policy.spec.ingress).toEqual(workloadIngressRules(api, rules));
  expect(policy.spec.egress).toEqual(workloadEgressRules(api, rules));
});
