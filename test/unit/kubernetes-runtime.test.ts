import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  JOB_AWAIT_TIMEOUT,
  JOB_DEADLINE_SECONDS,
  KubernetesRuntime,
  contentDigest,
  validateKubernetesRuntimeArgs,
} from "../../components/runtime/kubernetes";
import { NODE_METRICS_NAMESPACE, nodeExporterSpec } from "../../components/cluster-metrics";
import { DeployedWorkload, ScrapeDiscovery } from "../../components/runtime/types";
import { MIGRATIONS_LABEL, WorkloadSpec } from "../../components/workload";
import { MockRunResult, PlannedResource, SECRET_MARK, runUnderMocks } from "../../scripts/lib/mock-program";
import { kubernetesSchemaProblems } from "../helpers/k8s-schema";
import { northstackHardeningProblems, podSecurityProblems } from "../helpers/pod-security";

class Holder extends pulumi.ComponentResource {
  constructor(name: string) {
    super("northstack:test:Holder", name, {}, {});
    this.registerOutputs({});
  }
}

const api: WorkloadSpec = {
  name: "api",
  component: "app",
  image: "ghcr.io/northstack/api:1.2.3",
  ports: [{ name: "http", port: 8080 }],
  env: { PORT: "8080" },
  secretEnv: { DATABASE_URL: pulumi.secret("postgres://app:hunter2-db-password@db:5432/app") },
  files: [
    { path: "/etc/api/settings.json", content: '{"mode":"prod"}' },
    { path: "/etc/api/tls.key", content: pulumi.secret("very-secret-key-material"), secret: true },
  ],
  scratch: [{ mountPath: "/tmp", sizeMb: 32 }],
  health: {
    exec: ["wget", "-q", "-O-", "http://127.0.0.1:8080/health"],
    httpGet: { path: "/health", port: 8080 },
    intervalSeconds: 5,
  },
  resources: { cpuMillis: 400, memoryMb: 256 },
  user: { uid: 1000, gid: 1000 },
  replicas: 3,
  autoscale: { min: 3, max: 6 },
  allowFrom: ["kong"],
  metrics: { port: 8080, path: "/metrics" },
  annotations: { "northstack.io/owner": "platform" },
};
const db: WorkloadSpec = {
  name: "db",
  component: "data",
  image: "postgres:15.8-bookworm",
  ports: [{ name: "postgres", port: 5432 }],
  volumes: [{ name: "data", mountPath: "/var/lib/postgresql/data", sizeGb: 20 }],
  scratch: [{ mountPath: "/var/run/postgresql" }],
  health: { exec: ["pg_isready", "-U", "postgres"], tcp: { port: 5432 }, startSeconds: 60 },
  resources: { cpuMillis: 1000, memoryMb: 1024 },
  user: { uid: 999, gid: 999 },
  allowFrom: ["api", "migrate"],
};
const migrationFiles = [
  { path: "/migrations/001_init.sql", content: "create table notes (id int);" },
  { path: "/migrations/002_rls.sql", content: "alter table notes enable row level security;" },
];
const migrate: WorkloadSpec = {
  name: "migrate",
  component: "data",
  image: "postgres:15.8-bookworm",
  kind: "job",
  command: ["sh", "-c", "for f in /migrations/*.sql; do psql -f $f; done"],
  secretEnv: { PGPASSWORD: pulumi.secret("migration-password") },
  files: migrationFiles,
  labels: { [MIGRATIONS_LABEL]: "true" },
  resources: { cpuMillis: 200, memoryMb: 128 },
  user: { uid: 999, gid: 999 },
};
/** Behind an Ingress: the public port is plain HTTP, the Ingress terminates TLS. */
const kong: WorkloadSpec = {
  name: "kong",
  component: "edge",
  image: "kong:3.8.0",
  ports: [
    { name: "proxy", port: 8000, public: true },
    { name: "status", port: 8100 },
  ],
  health: { exec: ["kong", "health"], httpGet: { path: "/status", port: 8100 } },
  resources: { cpuMillis: 500, memoryMb: 512 },
  user: { uid: 1000, gid: 1000 },
  replicas: 2,
  metrics: { port: 8100, path: "/metrics" },
};
/** Behind a load balancer: the workload serves TLS on its public port. */
const kongTls: WorkloadSpec = {
  ...kong,
  ports: [
    { name: "proxy", port: 8000 },
    { name: "proxy-tls", port: 8443, public: true, tls: { certDir: "/etc/kong/tls" } },
    { name: "status", port: 8100 },
  ],
  allowFrom: ["studio"],
};
const LB_ANNOTATIONS = { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" };

let result: MockRunResult;
const errors: Record<string, string> = {};
const deployed: Record<string, DeployedWorkload> = {};
/** customTimeouts each resource was registered with, by resource name. */
const timeouts: Record<string, pulumi.CustomTimeouts | undefined> = {};

const ofType = (kind: string, namespace = "northstack-staging") =>
  result.resources.filter(
    (r) => r.type.endsWith(`:${kind}`) && (kind === "Namespace" || metadataOf(r).namespace === namespace),
  );
const metadataOf = (r: PlannedResource) =>
  r.inputs.metadata as {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
const named = (kind: string, name: string, namespace?: string) => {
  const found = ofType(kind, namespace).find((r) => r.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const spec = (r: PlannedResource) => r.inputs.spec as any;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const podOf = (r: PlannedResource) => spec(r).template as any;
const resolve = <T>(o: pulumi.Output<T>) => new Promise<T>((res) => o.apply(res));
const outputs: Record<string, string | undefined> = {};
const discoveries: Record<string, ScrapeDiscovery> = {};

beforeAll(async () => {
  result = await runUnderMocks({
    stack: "staging",
    config: {},
    program: async () => {
      pulumi.runtime.registerStackTransformation((args) => {
        timeouts[args.name] = (args.opts as pulumi.CustomResourceOptions).customTimeouts;
        return undefined;
      });
      const provider = new k8s.Provider("k8s", { kubeconfig: "apiVersion: v1\nkind: Config\n" });
      const runtime = new KubernetesRuntime("k8s", {
        stack: "staging",
        provider,
        namespace: "northstack-staging",
        monitoringNamespace: "monitoring",
        tlsSecretName: "gateway-cert",
        loadBalancerAnnotations: LB_ANNOTATIONS,
        dnsResolverCidrs: ["169.254.20.10/32"],
        dataServices: [
          { name: "postgres", cidrs: ["10.40.0.0/16"], port: pulumi.output(5432), clients: ["api", "migrate"] },
          { name: "redis", cidrs: ["10.40.0.0/16"], port: pulumi.output(6378), clients: ["api", "kong"] },
        ],
        publicEgress: [{ client: "api", ports: [443], reason: "calls a partner API on the internet" }],
      });
      const holder = new Holder("holder");
      for (const s of [api, db, migrate, kongTls]) deployed[s.name] = runtime.deploy(s, holder);

      const viaIngress = new KubernetesRuntime("k8s-ingress", {
        stack: "staging",
        provider,
        namespace: "northstack-ingress",
        exposure: "ingress",
        publicHost: "api.example.ca",
        ingressClassName: "nginx",
        certManagerIssuer: "letsencrypt",
      });
      const otherHolder = new Holder("other-holder");
      deployed["kong-ingress"] = viaIngress.deploy(kong, otherHolder);

      const issued = new KubernetesRuntime("k8s-issued", {
        stack: "staging",
        provider,
        namespace: "northstack-issued",
        publicHost: "api.example.ca",
        certManagerIssuer: "letsencrypt-dns01",
      });
      deployed["kong-issued"] = issued.deploy(kongTls, new Holder("issued-holder"));
      const noCertificate = new KubernetesRuntime("k8s-no-certificate", {
        stack: "staging",
        provider,
        namespace: "northstack-nocert",
      });
      viaIngress.deploy(migrate, otherHolder);
      viaIngress.deploy(
        {
          ...migrate,
          name: "migrate-more",
          files: [...migrationFiles, { path: "/migrations/003_more.sql", content: "select 1;" }],
        },
        otherHolder,
      );
      viaIngress.deploy({ ...migrate, name: "migrate-same" }, otherHolder);

      // node_exporter, a daemon with host paths, placed in a namespace of its own by a runtime of its own.
      const daemons = new KubernetesRuntime("k8s-daemon", {
        stack: "staging",
        provider,
        namespace: "northstack-daemon",
        monitoringNamespace: "northstack-daemon",
      });
      const exporter = nodeExporterSpec("node-exporter", "scraper");
      deployed["node-exporter"] = daemons.deploy(exporter, new Holder("daemon-holder"));
      discoveries.nodeExporter = daemons.scrapeDiscovery("node-exporter");

      const attempts: Record<string, () => unknown> = {
        hostPathsInStackNamespace: () =>
          daemons.deploy({ ...exporter, name: "exporter-here", ownNamespace: undefined }, holder),
        ownNamespaceTaken: () => daemons.deploy({ ...exporter, name: "exporter-again" }, holder),
        rulesInForeignNamespace: () =>
          daemons.deploy(
            {
              ...api,
              name: "peeker",
              serviceAccount: { name: "peeker" },
              kubernetesApi: {
                namespaceRules: [
                  {
                    namespace: "kube-system",
                    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["list"] }],
                    reason: "look around",
                  },
                ],
                reason: "look around",
              },
            },
            holder,
          ),
        duplicate: () => runtime.deploy(api, holder),
        root: () => runtime.deploy({ ...api, name: "rooty", user: { uid: 0, gid: 0 } }, holder),
        portName: () =>
          runtime.deploy({ ...api, name: "badport", ports: [{ name: "Http_Port_Name_Too_Long", port: 80 }] }, holder),
        twoPublic: () =>
          viaIngress.deploy(
            {
              ...kong,
              name: "kong2",
              ports: [
                { name: "a", port: 1, public: true },
                { name: "b", port: 2, public: true },
              ],
            },
            holder,
          ),
        plainOnLoadBalancer: () => runtime.deploy({ ...kong, name: "kong3" }, holder),
        tlsBehindIngress: () => viaIngress.deploy({ ...kongTls, name: "kong4" }, holder),
        noCertificate: () => noCertificate.deploy({ ...kongTls, name: "kong5" }, holder),
        keyClash: () =>
          runtime.deploy(
            {
              ...api,
              name: "clash",
              files: [
                { path: "/a/x.conf", content: "" },
                { path: "/b/x.conf", content: "" },
              ],
            },
            holder,
          ),
      };
      for (const [name, attempt] of Object.entries(attempts)) {
        try {
          attempt();
        } catch (e) {
          errors[name] = (e as Error).message;
        }
      }
      outputs.apiHost = await resolve(deployed.api.host);
      outputs.kongAddress = deployed.kong.publicAddress && (await resolve(deployed.kong.publicAddress));
      outputs.kongIngressAddress =
        deployed["kong-ingress"].publicAddress && (await resolve(deployed["kong-ingress"].publicAddress));
      outputs.apiPublicAddress = deployed.api.publicAddress && (await resolve(deployed.api.publicAddress));
    },
  });
});

const CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate";

test("every rendered object validates against the Kubernetes OpenAPI schema; the cert-manager CRD has none there", () => {
  const kubernetesObjects = result.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
  expect(kubernetesObjects.length).toBeGreaterThan(25);
  expect(kubernetesSchemaProblems(result.resources)).toEqual([
    `${CERTIFICATE} kong-certificate: no official schema for ${CERTIFICATE}`,
  ]);
  expect(kubernetesSchemaProblems(result.resources, { ignoreTypes: [CERTIFICATE] })).toEqual([]);
});

test("every pod meets Pod Security Standards restricted and the northstack hardening rules", () => {
  expect(podSecurityProblems(result.resources)).toEqual([]);
  expect(northstackHardeningProblems(result.resources)).toEqual([]);
});

test("the runtime owns a restricted Namespace and namespace-wide default deny with DNS egress", () => {
  const [namespace] = ofType("Namespace").filter((r) => metadataOf(r).name === "northstack-staging");
  expect(metadataOf(namespace).labels).toMatchObject({
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
    "app.kubernetes.io/part-of": "northstack",
    "northstack.io/stack": "staging",
  });
  const runtimeUrn = result.resources.find((r) => r.type === "northstack:runtime:Kubernetes" && r.name === "k8s")!.urn;
  expect(namespace.parent).toBe(runtimeUrn);
  const deny = named("NetworkPolicy", "k8s-default-deny");
  expect(spec(deny)).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  const dns = spec(named("NetworkPolicy", "k8s-allow-dns"));
  // kube-dns pods, and the node-local resolver the runtime was given, on port 53 only.
  expect(dns.egress).toEqual([
    {
      to: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
          podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
        },
        { ipBlock: { cidr: "169.254.20.10/32" } },
      ],
      ports: [
        { protocol: "UDP", port: 53 },
        { protocol: "TCP", port: 53 },
      ],
    },
  ]);
  const ingressDns = spec(named("NetworkPolicy", "k8s-ingress-allow-dns", "northstack-ingress"));
  expect(ingressDns.egress[0].to).toHaveLength(1);
});

test("every Kubernetes object uses the runtime's provider and carries the DESIGN.md labels", () => {
  const providerRef = result.resources.find((r) => r.type === "pulumi:providers:kubernetes")!;
  for (const r of result.resources.filter((x) => x.custom && x.type.startsWith("kubernetes:"))) {
    expect(r.provider).toMatch(new RegExp(`^${providerRef.urn.replace(/[$()*+.?[\\\]^{|}]/g, "\\$&")}::`));
    expect(metadataOf(r).labels).toMatchObject({
      "app.kubernetes.io/part-of": "northstack",
      "northstack.io/stack": "staging",
    });
    if (r.type.endsWith(":Deployment") || r.type.endsWith(":StatefulSet") || r.type.endsWith(":Job")) {
      expect(podOf(r).metadata.labels).toMatchObject({
        "app.kubernetes.io/name": r.name,
        "app.kubernetes.io/part-of": "northstack",
        "northstack.io/stack": "staging",
      });
    }
  }
  const holderUrn = result.resources.find((r) => r.type === "northstack:test:Holder" && r.name === "holder")!.urn;
  expect(named("Deployment", "api").parent).toBe(holderUrn);
});

test("a stateless replicated service: Deployment, HPA 70/80, PDB, zone spread, probes, hardened pod", () => {
  const deployment = named("Deployment", "api");
  expect(metadataOf(deployment)).toMatchObject({
    name: "api",
    namespace: "northstack-staging",
    annotations: { "northstack.io/owner": "platform" },
  });
  expect(spec(deployment).replicas).toBeUndefined();
  expect(spec(deployment).selector).toEqual({ matchLabels: { "app.kubernetes.io/name": "api" } });
  const pod = podOf(deployment).spec;
  expect(pod.automountServiceAccountToken).toBe(false);
  expect(pod.securityContext).toEqual({
    runAsNonRoot: true,
    runAsUser: 1000,
    runAsGroup: 1000,
    fsGroup: 1000,
    fsGroupChangePolicy: "OnRootMismatch",
    seccompProfile: { type: "RuntimeDefault" },
  });
  const [container] = pod.containers;
  expect(container.securityContext).toMatchObject({
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"], add: [] },
  });
  expect(container.resources).toEqual({
    requests: { cpu: "100m", memory: "128Mi" },
    limits: { cpu: "400m", memory: "256Mi" },
  });
  expect(container.readinessProbe).toMatchObject({ httpGet: { path: "/health", port: 8080 }, periodSeconds: 5 });
  // liveness must not fail on a dependency outage, so it only checks that the port accepts connections
  expect(container.livenessProbe).toMatchObject({ tcpSocket: { port: 8080 } });
  expect(container.startupProbe).toBeUndefined();
  expect(pod.topologySpreadConstraints.map((c: { topologyKey: string }) => c.topologyKey)).toEqual([
    "topology.kubernetes.io/zone",
    "kubernetes.io/hostname",
  ]);
  expect(pod.topologySpreadConstraints[0]).toMatchObject({
    maxSkew: 1,
    whenUnsatisfiable: "DoNotSchedule",
    matchLabelKeys: ["pod-template-hash"],
  });

  const hpa = spec(named("HorizontalPodAutoscaler", "api-hpa"));
  expect(hpa).toMatchObject({
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "api" },
    minReplicas: 3,
    maxReplicas: 6,
  });
  expect(hpa.metrics).toEqual([
    { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } } },
    { type: "Resource", resource: { name: "memory", target: { type: "Utilization", averageUtilization: 80 } } },
  ]);
  expect(spec(named("PodDisruptionBudget", "api-pdb"))).toEqual({
    maxUnavailable: 1,
    selector: { matchLabels: { "app.kubernetes.io/name": "api" } },
  });
  expect(
    ofType("PodDisruptionBudget")
      .map((r) => r.name)
      .sort(),
  ).toEqual(["api-pdb", "kong-pdb"]);
});

test("config files come from a ConfigMap, secrets from a Secret, with checksums on the pod template", () => {
  const configMap = named("ConfigMap", "api-config");
  expect(configMap.inputs.data).toEqual({ "settings.json": '{"mode":"prod"}' });
  const secret = named("Secret", "api-secret");
  expect(secret.inputs.stringData).toBe(SECRET_MARK);
  expect(Object.keys(secret.plainInputs.stringData as object).sort()).toEqual(["DATABASE_URL", "tls.key"]);
  expect(JSON.stringify(result.resources.map((r) => r.inputs))).not.toMatch(
    /hunter2|very-secret-key-material|migration-password/,
  );

  const deployment = named("Deployment", "api");
  const pod = podOf(deployment);
  expect(pod.metadata.annotations["northstack.io/config-checksum"]).toBe(
    contentDigest([["/etc/api/settings.json", '{"mode":"prod"}']]),
  );
  expect(contentDigest([["/etc/api/settings.json", '{"mode":"dev"}']])).not.toBe(
    pod.metadata.annotations["northstack.io/config-checksum"],
  );
  expect(deployment.secretPaths).toContain("spec.template.metadata.annotations.northstack.io/secret-checksum");
  const kongAnnotations = podOf(named("Deployment", "kong")).metadata.annotations;
  expect(Object.keys(kongAnnotations)).toEqual(["kubectl.kubernetes.io/default-container"]);
  const [container] = pod.spec.containers;
  expect(container.env).toEqual([
    { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: "api-secret", key: "DATABASE_URL" } } },
    { name: "PORT", value: "8080" },
  ]);
  expect(container.volumeMounts).toEqual([
    { name: "config", mountPath: "/etc/api/settings.json", subPath: "settings.json", readOnly: true },
    { name: "config", mountPath: "/etc/api/tls.key", subPath: "tls.key", readOnly: true },
    { name: "scratch-0", mountPath: "/tmp" },
  ]);
  expect(pod.spec.volumes).toEqual([
    {
      name: "config",
      projected: {
        defaultMode: 0o444,
        sources: [
          { configMap: { name: "api-config", items: [{ key: "settings.json", path: "settings.json" }] } },
          { secret: { name: "api-secret", items: [{ key: "tls.key", path: "tls.key", mode: 0o440 }] } },
        ],
      },
    },
    { name: "scratch-0", emptyDir: { sizeLimit: "32Mi" } },
  ]);
});

test("a stateful service: StatefulSet with volumeClaimTemplates, headless Service, startup probe", () => {
  const statefulSet = spec(named("StatefulSet", "db"));
  expect(statefulSet.serviceName).toBe("db");
  expect(statefulSet.replicas).toBe(1);
  expect(statefulSet.volumeClaimTemplates).toEqual([
    {
      metadata: { name: "data", labels: expect.objectContaining({ "app.kubernetes.io/name": "db" }) },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "20Gi" } } },
    },
  ]);
  expect(statefulSet.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
  const [container] = statefulSet.template.spec.containers;
  expect(container.volumeMounts).toContainEqual({ name: "data", mountPath: "/var/lib/postgresql/data" });
  expect(container.readinessProbe).toMatchObject({ tcpSocket: { port: 5432 } });
  expect(container.startupProbe).toMatchObject({ tcpSocket: { port: 5432 }, periodSeconds: 5, failureThreshold: 12 });
  expect(statefulSet.template.spec.topologySpreadConstraints).toBeUndefined();
  expect(spec(named("Service", "db"))).toMatchObject({
    type: "ClusterIP",
    clusterIP: "None",
    selector: { "app.kubernetes.io/name": "db" },
  });
  expect(ofType("HorizontalPodAutoscaler").map((r) => r.name)).toEqual(["api-hpa"]);
});

test("a migration job: labelled ConfigMap with one .sql key per file, content-hashed name, runs once", () => {
  const configMap = named("ConfigMap", "migrate-config");
  expect(metadataOf(configMap).labels).toMatchObject({ [MIGRATIONS_LABEL]: "true" });
  expect(Object.keys(configMap.inputs.data as object)).toEqual(["001_init.sql", "002_rls.sql"]);
  const job = named("Job", "migrate");
  expect(metadataOf(job).name).toMatch(/^migrate-[0-9a-f]{8}$/);
  expect(spec(job)).toMatchObject({
    backoffLimit: 3,
    activeDeadlineSeconds: JOB_DEADLINE_SECONDS,
    ttlSecondsAfterFinished: expect.any(Number),
  });
  // Pulumi waits past the Job's own deadline (its default is 10 minutes), and only Jobs get this.
  expect(timeouts.migrate).toEqual({ create: JOB_AWAIT_TIMEOUT, update: JOB_AWAIT_TIMEOUT });
  expect(Number.parseInt(JOB_AWAIT_TIMEOUT, 10) * 60).toBeGreaterThan(JOB_DEADLINE_SECONDS);
  expect(timeouts.api).toBeUndefined();
  const pod = podOf(job).spec;
  expect(pod.restartPolicy).toBe("Never");
  expect(pod.containers[0].readinessProbe).toBeUndefined();
  expect(ofType("Service").map((r) => r.name)).not.toContain("migrate");

  const suffix = (name: string) =>
    metadataOf(named("Job", name, "northstack-ingress"))
      .name!.split("-")
      .pop();
  expect(suffix("migrate")).toBe(metadataOf(job).name!.split("-").pop());
  expect(suffix("migrate-same")).toBe(suffix("migrate"));
  expect(suffix("migrate-more")).not.toBe(suffix("migrate"));
});

test("loadbalancer exposure: 443 straight to the workload's TLS port, client IPs kept, no plain HTTP", () => {
  const loadBalancer = named("Service", "kong-public");
  expect(metadataOf(loadBalancer).annotations).toEqual(LB_ANNOTATIONS);
  expect(spec(loadBalancer)).toEqual({
    type: "LoadBalancer",
    externalTrafficPolicy: "Local",
    selector: { "app.kubernetes.io/name": "kong" },
    ports: [{ name: "https", port: 443, targetPort: "proxy-tls", protocol: "TCP" }],
  });
  expect(spec(named("Service", "kong")).type).toBe("ClusterIP");
  expect(ofType("Ingress")).toEqual([]);
  expect(ofType("Certificate")).toEqual([]);

  // The operator's Secret is mounted as a directory where the TLS port says.
  const pod = podOf(named("Deployment", "kong")).spec;
  expect(pod.volumes).toContainEqual({
    name: "public-tls",
    secret: {
      secretName: "gateway-cert",
      defaultMode: 0o440,
      items: [
        { key: "tls.crt", path: "tls.crt" },
        { key: "tls.key", path: "tls.key" },
      ],
    },
  });
  expect(pod.containers[0].volumeMounts).toContainEqual({
    name: "public-tls",
    mountPath: "/etc/kong/tls",
    readOnly: true,
  });
  expect(podOf(named("Deployment", "api")).spec.volumes.map((v: { name: string }) => v.name)).not.toContain(
    "public-tls",
  );

  expect(outputs.kongAddress).toBe("<pending>");
  expect(outputs.apiPublicAddress).toBeUndefined();
  expect(outputs.apiHost).toBe("api.northstack-staging.svc.cluster.local");
});

test("with a cert-manager issuer the runtime requests the certificate itself, and the pods wait for it", () => {
  const certificate = named("Certificate", "kong-certificate", "northstack-issued");
  expect(certificate.inputs).toMatchObject({ apiVersion: "cert-manager.io/v1", kind: "Certificate" });
  expect(metadataOf(certificate)).toMatchObject({ name: "kong-tls", namespace: "northstack-issued" });
  expect(spec(certificate)).toEqual({
    secretName: "kong-tls",
    secretTemplate: { labels: expect.objectContaining({ "app.kubernetes.io/name": "kong" }) },
    dnsNames: ["api.example.ca"],
    issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: "letsencrypt-dns01" },
    privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
  });
  const deployment = named("Deployment", "kong", "northstack-issued");
  expect(podOf(deployment).spec.volumes).toContainEqual(
    expect.objectContaining({ name: "public-tls", secret: expect.objectContaining({ secretName: "kong-tls" }) }),
  );
  expect(deployment.dependencies).toContain(certificate.urn);
});

test("ingress exposure: the Ingress terminates TLS with the issuer's certificate and routes to the plain port", () => {
  const ingress = named("Ingress", "kong-ingress", "northstack-ingress");
  expect(metadataOf(ingress).annotations).toEqual({ "cert-manager.io/cluster-issuer": "letsencrypt" });
  expect(spec(ingress)).toEqual({
    ingressClassName: "nginx",
    tls: [{ hosts: ["api.example.ca"], secretName: "kong-tls" }],
    rules: [
      {
        host: "api.example.ca",
        http: {
          paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "kong", port: { name: "proxy" } } } }],
        },
      },
    ],
  });
  // No LoadBalancer Service: the cluster Service, and the headless one Prometheus finds the pods through.
  expect(ofType("Service", "northstack-ingress").map((r) => r.name)).toEqual(["kong-metrics", "kong"]);
  expect(
    podOf(named("Deployment", "kong", "northstack-ingress")).spec.volumes.map((v: { name: string }) => v.name),
  ).not.toContain("public-tls");
  expect(outputs.kongIngressAddress).toBe("<pending>");
});

test("per-workload NetworkPolicies: allowFrom, Prometheus on the metrics port, public ports, data egress, callers' egress", () => {
  const apiPolicy = spec(named("NetworkPolicy", "api-netpol"));
  expect(apiPolicy.podSelector).toEqual({ matchLabels: { "app.kubernetes.io/name": "api" } });
  expect(apiPolicy.policyTypes).toEqual(["Ingress", "Egress"]);
  expect(apiPolicy.ingress).toEqual([
    {
      from: [
        { podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["kong"] }] } },
      ],
      ports: [{ protocol: "TCP", port: 8080 }],
    },
    {
      from: [
        {
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } },
          podSelector: { matchLabels: { "northstack.io/role": "metrics-scraper" } },
        },
      ],
      ports: [{ protocol: "TCP", port: 8080 }],
    },
  ]);
  // Each data service's own port (Redis here on 6378, as Memorystore with TLS), only for its clients.
  expect(apiPolicy.egress).toEqual([
    { to: [{ ipBlock: { cidr: "10.40.0.0/16" } }], ports: [{ protocol: "TCP", port: 5432 }] },
    { to: [{ ipBlock: { cidr: "10.40.0.0/16" } }], ports: [{ protocol: "TCP", port: 6378 }] },
    {
      to: [{ ipBlock: { cidr: "0.0.0.0/0", except: expect.arrayContaining(["10.0.0.0/8", "169.254.0.0/16"]) } }],
      ports: [{ protocol: "TCP", port: 443 }],
    },
  ]);
  expect(named("NetworkPolicy", "api-netpol").inputs.metadata).toMatchObject({
    annotations: {
      "northstack.io/wide-egress-reason": "public addresses on TCP 443: calls a partner API on the internet",
    },
  });
  expect(spec(named("NetworkPolicy", "migrate-netpol")).egress).toEqual([
    { to: [{ ipBlock: { cidr: "10.40.0.0/16" } }], ports: [{ protocol: "TCP", port: 5432 }] },
  ]);
  // db is no client of anything and admits only its clients; the job admits nothing.
  const dbPolicy = spec(named("NetworkPolicy", "db-netpol"));
  expect(dbPolicy.egress).toEqual([]);
  // The other end of db's allowFrom: api and migrate may leave for db's pods, on db's port only.
  expect(named("NetworkPolicy", "db-callers-netpol").inputs.metadata).toMatchObject({ name: "egress-to-db" });
  expect(spec(named("NetworkPolicy", "db-callers-netpol"))).toEqual({
    podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["api", "migrate"] }] },
    policyTypes: ["Egress"],
    egress: [
      {
        to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "db" } } }],
        ports: [{ protocol: "TCP", port: 5432 }],
      },
    ],
  });
  // The scrapers live in another namespace here, whose own policies govern their egress.
  expect(ofType("NetworkPolicy").filter((r) => r.name.endsWith("-scrapers-netpol"))).toEqual([]);
  expect(dbPolicy.ingress[0].from[0].podSelector.matchExpressions[0].values).toEqual(["api", "migrate"]);
  expect(spec(named("NetworkPolicy", "migrate-netpol")).ingress).toEqual([]);

  // Behind the load balancer: the TLS port from anywhere, the plain port only from allowFrom; Redis only.
  const kongPolicy = spec(named("NetworkPolicy", "kong-netpol"));
  expect(kongPolicy.ingress.slice(0, 2)).toEqual([
    {
      from: [
        { podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["studio"] }] } },
      ],
      // Not the status port 8100, which serves only metrics: that is the scrapers' alone.
      ports: [8000, 8443].map((port) => ({ protocol: "TCP", port })),
    },
    { ports: [{ protocol: "TCP", port: 8443 }] },
  ]);
  expect(kongPolicy.egress).toEqual([
    { to: [{ ipBlock: { cidr: "10.40.0.0/16" } }], ports: [{ protocol: "TCP", port: 6378 }] },
  ]);
  // Behind an Ingress: only the controller's namespace (ingress-nginx unless told otherwise).
  const kongIngressPolicy = spec(named("NetworkPolicy", "kong-netpol", "northstack-ingress"));
  expect(kongIngressPolicy.ingress).toEqual([
    {
      from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }],
      ports: [{ protocol: "TCP", port: 8000 }],
    },
  ]);
  expect(kongIngressPolicy.egress).toEqual([]);
});

test("a daemon with host paths runs as a DaemonSet in its own default-deny namespace at 'privileged', which names its exemption", () => {
  const ownNamespace = `northstack-daemon-${NODE_METRICS_NAMESPACE}`;
  const namespace = result.resources.find(
    (r) => r.type === "kubernetes:core/v1:Namespace" && metadataOf(r).name === ownNamespace,
  )!;
  expect(metadataOf(namespace).labels).toMatchObject({
    "pod-security.kubernetes.io/enforce": "privileged",
    "pod-security.kubernetes.io/audit": "privileged",
    "pod-security.kubernetes.io/warn": "privileged",
  });
  expect(metadataOf(namespace).annotations).toEqual({
    "northstack.io/policy-exempt": "containers-least-privilege/namespace-pod-security",
    "northstack.io/policy-exempt-reason": expect.stringMatching(
      /^Pod Security "privileged", the least .*node_exporter reports/,
    ),
  });
  // The stack's own namespace stays restricted.
  const stackNamespace = result.resources.find(
    (r) => r.type === "kubernetes:core/v1:Namespace" && metadataOf(r).name === "northstack-daemon",
  )!;
  expect(metadataOf(stackNamespace).labels!["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  expect(spec(named("NetworkPolicy", "node-exporter-default-deny", ownNamespace))).toEqual({
    podSelector: {},
    policyTypes: ["Ingress", "Egress"],
  });
  const daemonSet = named("DaemonSet", "node-exporter", ownNamespace);
  expect(spec(daemonSet).template.spec.tolerations).toEqual([{ operator: "Exists" }]);
  // On a full node the scheduler makes room for it rather than leaving the node unwatched; its
  // namespace's quota admits that class (GKE refuses it in a namespace without one), and the
  // DaemonSet waits for the quota.
  expect(spec(daemonSet).template.spec.priorityClassName).toBe("system-cluster-critical");
  const quota = named("ResourceQuota", "node-exporter-priority", ownNamespace);
  expect(spec(quota)).toEqual({
    hard: { pods: "15000" },
    scopeSelector: {
      matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: ["system-cluster-critical"] }],
    },
  });
  expect(daemonSet.dependencies).toContain(quota.urn);
  expect(ofType("Deployment", ownNamespace)).toEqual([]);
  // Scraped per pod through the API: no headless metrics Service, and no Service spreading calls over nodes.
  expect(ofType("Service", ownNamespace)).toEqual([]);
  expect(discoveries.nodeExporter).toEqual({
    kind: "pods",
    namespace: ownNamespace,
    selector: { "app.kubernetes.io/name": "node-exporter" },
    port: 9100,
    path: "/metrics",
    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] }],
  });
  // Callers' and scrapers' egress stays in the runtime's namespace.
  for (const name of ["egress-to-node-exporter", "scrape-node-exporter"])
    expect(ofType("NetworkPolicy", "northstack-daemon").map((r) => metadataOf(r).name)).toContain(name);
});

test("host paths outside a namespace of their own, a taken namespace, and API rules in a namespace the runtime did not create are refused", () => {
  expect(errors.hostPathsInStackNamespace).toMatch(
    /hostPaths needs ownNamespace; the stack's namespace enforces Pod Security "restricted"/,
  );
  expect(errors.ownNamespaceTaken).toMatch(
    /ownNamespace "node-metrics" gives "northstack-daemon-node-metrics", which is already another workload's/,
  );
  expect(errors.rulesInForeignNamespace).toMatch(
    /kubernetesApi.namespaceRules names "kube-system", which this runtime did not create/,
  );
  const names = result.resources.map((r) => r.name);
  for (const bad of ["exporter-here", "exporter-again", "peeker"])
    expect(names.filter((n) => n.startsWith(bad))).toEqual([]);
});

test("bad workloads and runtime arguments fail before any resource, naming the value", () => {
  expect(errors.duplicate).toMatch(/"api" is deployed twice/);
  expect(errors.root).toMatch(/user.uid 0 must be a non-root uid/);
  expect(errors.portName).toMatch(/port name "Http_Port_Name_Too_Long" must be an IANA service name/);
  expect(errors.twoPublic).toMatch(/ports a, b are all public/);
  expect(errors.plainOnLoadBalancer).toMatch(
    /port proxy is public but plain; with exposure "loadbalancer" the workload must serve TLS/,
  );
  expect(errors.tlsBehindIngress).toMatch(
    /port proxy-tls has tls, but with exposure "ingress" the Ingress terminates TLS/,
  );
  expect(errors.noCertificate).toMatch(
    /port proxy-tls is public, but the runtime has neither certManagerIssuer nor tlsSecretName/,
  );
  expect(errors.keyClash).toMatch(/file "\/b\/x.conf" and file "\/a\/x.conf" both map to the key "x.conf"/);
  const names = result.resources.map((r) => r.name);
  for (const bad of ["rooty", "badport", "kong2", "kong3", "kong4", "kong5", "clash"])
    expect(names.filter((n) => n.startsWith(bad))).toEqual([]);

  const base = { stack: "prod", namespace: "ns" };
  const postgres = { name: "postgres", cidrs: ["10.0.0.0/16"], port: 5432, clients: ["api"] };
  expect(() => validateKubernetesRuntimeArgs({ ...base, namespace: "Prod_NS" })).toThrow(
    /namespace "Prod_NS" is not a DNS label/,
  );
  expect(() => validateKubernetesRuntimeArgs({ ...base, exposure: "ingress" })).toThrow(
    /publicHost is required with exposure "ingress"/,
  );
  expect(() => validateKubernetesRuntimeArgs({ ...base, certManagerIssuer: "le" })).toThrow(
    /publicHost is required with certManagerIssuer "le"/,
  );
  expect(() =>
    validateKubernetesRuntimeArgs({ ...base, publicHost: "a.ca", certManagerIssuer: "le", tlsSecretName: "cert" }),
  ).toThrow(/give one, not both/);
  expect(() => validateKubernetesRuntimeArgs({ ...base, tlsSecretName: "Bad_Name" })).toThrow(
    /tlsSecretName "Bad_Name" is not a Secret name/,
  );
  expect(() => validateKubernetesRuntimeArgs({ ...base, dnsResolverCidrs: ["169.254.20.10"] })).toThrow(
    /dnsResolverCidrs entry "169.254.20.10" is not an IPv4 CIDR/,
  );
  expect(() =>
    validateKubernetesRuntimeArgs({ ...base, dataServices: [{ ...postgres, cidrs: ["10.0.0.1/16"] }] }),
  ).toThrow(/dataServices "postgres": cidrs entry "10.0.0.1\/16" has host bits set/);
  expect(() => validateKubernetesRuntimeArgs({ ...base, dataServices: [{ ...postgres, port: 70000 }] })).toThrow(
    /dataServices "postgres": port 70000 is not a TCP port/,
  );
  expect(() => validateKubernetesRuntimeArgs({ ...base, dataServices: [{ ...postgres, clients: ["Api"] }] })).toThrow(
    /clients entry "Api" is not a workload name/,
  );
  expect(() =>
    validateKubernetesRuntimeArgs({
      ...base,
      publicEgress: [{ client: "storage_1", ports: [0, 443], reason: " " }],
      dataServices: [{ ...postgres, reason: "" }],
    }),
  ).toThrow(
    'KubernetesRuntime: dataServices "postgres": reason is empty; say why cidrs is wider than the service\'s own subnets, or leave it out; publicEgress[0] ("storage_1"): client is not a workload name; publicEgress[0] ("storage_1"): port 0 is not a TCP port (1-65535); publicEgress[0] ("storage_1"): reason is empty; say what it calls on public addresses and why no narrower range will do',
  );
  expect(() =>
    validateKubernetesRuntimeArgs({ ...base, publicEgress: [{ client: "storage", ports: [], reason: "S3" }] }),
  ).toThrow(/publicEgress\[0\] \("storage"\): ports is empty/);
  expect(() =>
    validateKubernetesRuntimeArgs({
      ...base,
      exposure: "ingress",
      publicHost: "api.example.ca",
      tlsSecretName: "cert",
      dataServices: [postgres],
    }),
  ).not.toThrow();
});
