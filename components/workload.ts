import * as pulumi from "@pulumi/pulumi";
import { WORKLOAD_NAME, checkPinnedImage } from "./config/checks";

/**
 * A plain description of one containerised service. Components describe their containers as
 * WorkloadSpecs; the docker and kubernetes runtimes render the same spec, which is what makes dev
 * and prod the same system.
 */
export interface WorkloadSpec {
  /** Service name, unique within a stack: DNS label, used for hostnames and resource names. */
  readonly name: string;
  /** The capability this workload belongs to (app.kubernetes.io/component). */
  readonly component: string;
  /** Pinned image reference (tag or digest). `latest` and untagged images are rejected. */
  readonly image: pulumi.Input<string>;
  /** Replaces the image entrypoint. Default: the image's. */
  readonly command?: string[];
  /** Arguments to the entrypoint. Default: the image's. */
  readonly args?: string[];
  /** Ports the container listens on. Default: none. */
  readonly ports?: PortSpec[];
  /** Plain environment. Default: none. */
  readonly env?: Record<string, pulumi.Input<string>>;
  /** Secret environment: a Kubernetes Secret, or Pulumi secrets on Docker. Default: none. */
  readonly secretEnv?: Record<string, pulumi.Input<string>>;
  /** Files rendered by config renderers and mounted read-only. Default: none. */
  readonly files?: FileSpec[];
  /** Persistent volumes. Any volume makes the workload stateful. Default: none. */
  readonly volumes?: VolumeSpec[];
  /**
   * Volumes of workloads deployed earlier on the same runtime, mounted read-only: a copy job that
   * must not be able to change what it copies. Docker only (a Kubernetes volume claim is one pod's);
   * the Kubernetes runtime refuses it. Default: none.
   */
  readonly readOnlyVolumesOf?: ReadOnlyVolumeSpec[];
  /** Writable scratch directories (tmpfs on Docker, emptyDir on Kubernetes). Default: none. */
  readonly scratch?: ScratchSpec[];
  /** How the runtime knows the container is healthy. Required for services, unused for jobs. */
  readonly health?: HealthSpec;
  /** CPU and memory limits; requests are derived from them. */
  readonly resources: ResourceSpec;
  /** Explicit non-root identity. */
  readonly user: { readonly uid: number; readonly gid: number };
  /** Root filesystem is read-only unless the image provably writes outside `scratch`. Default: true. */
  readonly readOnlyRootFilesystem?: boolean;
  /** Linux capabilities added back after dropping ALL, each with the reason. Default: none. */
  readonly addCapabilities?: { readonly name: "NET_BIND_SERVICE"; readonly reason: string }[];
  /** Replica count for services. Default: 1. */
  readonly replicas?: number;
  /** Horizontal autoscaling bounds on Kubernetes. Default: none (fixed replicas). */
  readonly autoscale?: {
    readonly min: number;
    readonly max: number;
    readonly cpuPercent?: number;
    readonly memoryPercent?: number;
  };
  /**
   * `service` runs forever; `job` runs to completion once per change (migrations); `cron` runs to
   * completion on `schedule` (Kubernetes only); `daemon` runs forever, one pod on every node (a
   * Kubernetes DaemonSet that tolerates every taint), for an agent that reports on the node itself;
   * on Docker, whose one host is the node, it is a single container. Default: service.
   */
  readonly kind?: "service" | "job" | "cron" | "daemon";
  /** Five-field cron schedule in UTC, e.g. "15 7 * * *"; required with kind `cron`, else unused. Default: none. */
  readonly schedule?: string;
  /**
   * Steps that run to completion, in order, before the container starts (Kubernetes init containers).
   * They share the workload's files, scratch directories and volumes, so a step can hand its result
   * to the next through a scratch directory. Default: none.
   */
  readonly init?: InitStepSpec[];
  /**
   * A ServiceAccount of the workload's own, which the runtime creates and runs the pods as (Kubernetes
   * only; the API token is never mounted). Cloud identities bind to it by name. Default: none, the
   * namespace's default account.
   */
  readonly serviceAccount?: ServiceAccountSpec;
  /**
   * Access to the Kubernetes API (Kubernetes only; needs `serviceAccount`): the runtime grants exactly
   * `rules` in the stack's namespace through a Role, and `clusterRules` through a ClusterRole, each
   * bound to the workload's ServiceAccount alone; it mounts that account's API token in this
   * workload's pods alone, and opens egress to the API server. The Docker runtime refuses it.
   * Default: none, no token is mounted.
   */
  readonly kubernetesApi?: KubernetesApiSpec;
  /**
   * Host paths mounted read-only, for an agent that reports on the host itself (node_exporter reads
   * the host's /proc, /sys and root filesystem). They break `containers-least-privilege` on purpose,
   * so the runtime marks the workload with that policy's named exemption, for its host-paths control
   * alone (HOST_PATHS_CONTROL), and `reason`, which the pack reports as advisory, never silently;
   * the container stays non-root, without capabilities or privilege escalation, on a read-only
   * root. On Kubernetes they need `ownNamespace`: the stack's namespace enforces Pod Security
   * "restricted", which refuses host paths. Default: none.
   */
  readonly hostPaths?: { readonly mounts: readonly HostMountSpec[]; readonly reason: string };
  /**
   * Kubernetes: the workload runs in a namespace of its own, `<runtime namespace>-<ownNamespace>`,
   * which the runtime creates with a default-deny NetworkPolicy and the least Pod Security level that
   * admits the pod (podSecurityLevelOf), so the stack's namespace stays "restricted". Its callers and
   * scrapers stay in the stack's namespace; the NetworkPolicies name both namespaces. Docker ignores
   * it. Default: none, the stack's namespace.
   */
  readonly ownNamespace?: string;
  /** Services that must exist before this one (by spec name). Default: none. */
  readonly dependsOn?: string[];
  /** Names of workloads allowed to connect to this one's ports (Kubernetes NetworkPolicy). Default: none. */
  readonly allowFrom?: string[];
  /** Extra labels (e.g. northstack.io/migrations). Default: none. */
  readonly labels?: Record<string, string>;
  /** Extra annotations (e.g. policy exemptions). Default: none. */
  readonly annotations?: Record<string, string>;
  /** Prometheus scrape target, if the workload exposes metrics. Default: none. */
  readonly metrics?: MetricsSpec;
}

/** Where a workload serves Prometheus metrics, and what a scraper must present. */
export interface MetricsSpec {
  readonly port: number;
  readonly path: string;
  /**
   * A token the endpoint demands as `Authorization: Bearer <token>`, a Pulumi secret. Prometheus
   * receives it as a secret file (never in prometheus.yml) when the workload is scraped with it
   * (Monitoring's ScrapeTarget.bearerToken). Default: none, the endpoint is open.
   */
  readonly bearerToken?: pulumi.Input<string>;
}

/** One init step: its own image, command, env and limits; files, scratch and volumes are the workload's. */
export interface InitStepSpec {
  /** Container name, a DNS label distinct from the workload's and the other steps'. */
  readonly name: string;
  /** Pinned image reference (tag or digest). */
  readonly image: pulumi.Input<string>;
  /** Replaces the image entrypoint. Default: the image's. */
  readonly command?: string[];
  /** Arguments to the entrypoint. Default: the image's. */
  readonly args?: string[];
  /** Plain environment. Default: none. */
  readonly env?: Record<string, pulumi.Input<string>>;
  /** Secret environment, stored in the workload's Secret; names must not repeat the workload's. Default: none. */
  readonly secretEnv?: Record<string, pulumi.Input<string>>;
  /** CPU and memory limits; requests are derived from them. */
  readonly resources: ResourceSpec;
  /** Non-root identity of the step. Default: the workload's `user`. */
  readonly user?: { readonly uid: number; readonly gid: number };
}

/** One host path, mounted read-only. */
export interface HostMountSpec {
  /** Absolute path on the host. */
  readonly hostPath: string;
  /** Absolute path in the container. */
  readonly mountPath: string;
}

export interface ServiceAccountSpec {
  /** ServiceAccount name, a DNS label unique in the namespace (cloud identity bindings refer to it). */
  readonly name: string;
  /**
   * Credentials come from the EKS Pod Identity agent on the node (169.254.170.23:80), which the
   * workload's NetworkPolicy then lets it reach. Default: false.
   */
  readonly eksPodIdentity?: boolean;
}

export interface KubernetesApiSpec {
  /**
   * What the workload may do in the stack's namespace, as Role rules; no wildcard, and none of the
   * verbs that widen access. Default: none.
   */
  readonly rules?: readonly KubernetesApiRule[];
  /**
   * What the workload may read beyond the namespace, as ClusterRole rules: cluster-scoped objects
   * (nodes) and their subresources (nodes/proxy). Reading only (KUBERNETES_CLUSTER_API_VERBS), no
   * wildcard. Default: none.
   */
  readonly clusterRules?: readonly KubernetesApiRule[];
  /**
   * What the workload may do in a namespace the runtime created for another workload
   * (`ownNamespace`), as Role rules there, e.g. Prometheus listing a daemon's pods to scrape each on
   * its node. `namespace` is the full name (the Kubernetes runtime refuses any other); reading only
   * (KUBERNETES_CLUSTER_API_VERBS); `reason` is shown on that Role. Default: none.
   */
  readonly namespaceRules?: readonly {
    readonly namespace: string;
    readonly rules: readonly KubernetesApiRule[];
    readonly reason: string;
  }[];
  /** Why the workload needs the API at all, shown as the Role's and ClusterRole's annotation. */
  readonly reason: string;
}

export interface KubernetesApiRule {
  /** API groups, "" for the core group. */
  readonly apiGroups: readonly string[];
  /** Resources or subresources, e.g. "pods", "pods/log". */
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** Verbs a workload may be granted: reading and ordinary writes, never escalate, bind or impersonate. */
export const KUBERNETES_API_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"] as const;
/** Verbs a workload may be granted across the cluster: reading only. */
export const KUBERNETES_CLUSTER_API_VERBS = ["get", "list", "watch"] as const;

export interface PortSpec {
  readonly name: string;
  readonly port: number;
  /** Host port published on 127.0.0.1 on Docker. Default: not published. */
  readonly hostPort?: number;
  /**
   * Transport. `udp` exists for the log shipper's intake on Docker, where the Docker daemon delivers
   * container output; the Kubernetes runtime refuses it. Default: tcp.
   */
  readonly protocol?: "tcp" | "udp";
  /** Expose beyond the cluster (Kong only). Default: false. */
  readonly public?: boolean;
  /**
   * The port serves TLS with the runtime's public certificate, which the runtime mounts as
   * `tls.crt` and `tls.key` in `certDir` (Kubernetes with exposure "loadbalancer"). Default: plain TCP.
   */
  readonly tls?: { readonly certDir: string };
}

export interface FileSpec {
  /** Absolute path inside the container. */
  readonly path: string;
  readonly content: pulumi.Input<string>;
  /** Holds credentials: rendered into a Secret, never a ConfigMap. Default: false. */
  readonly secret?: boolean;
}

export interface VolumeSpec {
  readonly name: string;
  readonly mountPath: string;
  readonly sizeGb: number;
}

export interface ReadOnlyVolumeSpec {
  /** The workload that owns the volume. */
  readonly workload: string;
  /** The volume's name in that workload's `volumes`. */
  readonly volume: string;
  /** Where it is mounted, read-only. */
  readonly mountPath: string;
}

export interface ScratchSpec {
  readonly mountPath: string;
  /** Size limit in MiB. Default: 64. */
  readonly sizeMb?: number;
}

/**
 * Health check. `exec` runs inside the container and works on every runtime (Docker health checks
 * can only exec); Kubernetes prefers `httpGet` or `tcp` when given, since they need no tool in the image.
 */
export interface HealthSpec {
  /** Command that exits 0 when healthy, e.g. ["pg_isready", "-U", "postgres"]. */
  readonly exec: string[];
  /** HTTP probe for runtimes that can probe from outside. Default: none (exec is used). */
  readonly httpGet?: { readonly path: string; readonly port: number };
  /** TCP probe for runtimes that can probe from outside. Default: none. */
  readonly tcp?: { readonly port: number };
  /** Seconds between checks. Default: 10. */
  readonly intervalSeconds?: number;
  /** Grace period before failures count. Default: 10. */
  readonly startSeconds?: number;
}

export interface ResourceSpec {
  readonly cpuMillis: number;
  readonly memoryMb: number;
}

/** Labels every container or pod carries (DESIGN.md, "Labels"). */
export function standardLabels(spec: Pick<WorkloadSpec, "name" | "component">, stack: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": spec.name,
    "app.kubernetes.io/component": spec.component,
    "app.kubernetes.io/part-of": "northstack",
    "app.kubernetes.io/managed-by": "pulumi",
    "northstack.io/stack": stack,
  };
}

export const MIGRATIONS_LABEL = "northstack.io/migrations";
/** Marks the workload allowed to scrape every workload's metrics port (Prometheus). */
export const SCRAPER_LABEL = "northstack.io/role";
export const EXEMPT_ANNOTATION = "northstack.io/policy-exempt";
export const EXEMPT_REASON_ANNOTATION = "northstack.io/policy-exempt-reason";
/** The policy a workload with `hostPaths` is exempted from, by name (policy/policies/containers-least-privilege.ts). */
export const LEAST_PRIVILEGE_POLICY = "containers-least-privilege";
/** The one control of that policy the exemption covers: its other checks (root, capabilities, host namespaces...) still hold. */
export const HOST_PATHS_CONTROL = "host-paths";
/** The control of that policy a Namespace enforcing less than Pod Security "restricted" is exempted from. */
export const NAMESPACE_POD_SECURITY_CONTROL = "namespace-pod-security";

/** Pod Security Standards levels, least privileged first. */
export const POD_SECURITY_LEVELS = ["restricted", "baseline", "privileged"] as const;
export type PodSecurityLevel = (typeof POD_SECURITY_LEVELS)[number];

/**
 * The least Pod Security level that admits the workload's pod as the Kubernetes runtime renders it:
 * "restricted", except with host paths, which "baseline" refuses as well, so "privileged".
 */
export function podSecurityLevelOf(spec: Pick<WorkloadSpec, "hostPaths">): PodSecurityLevel {
  return spec.hostPaths ? "privileged" : "restricted";
}

/** The exemption annotations a workload with `hostPaths` carries, naming the host-paths control alone; none without. */
export function hostPathExemption(spec: Pick<WorkloadSpec, "hostPaths">): Record<string, string> {
  if (!spec.hostPaths) return {};
  return {
    [EXEMPT_ANNOTATION]: `${LEAST_PRIVILEGE_POLICY}/${HOST_PATHS_CONTROL}`,
    [EXEMPT_REASON_ANNOTATION]: spec.hostPaths.reason,
  };
}

/** Five whitespace-separated fields of digits, `*`, `/`, `,` and `-`; names and macros such as @daily are not accepted. */
const CRON_SCHEDULE = /^[\d*/,-]+(\s+[\d*/,-]+){4}$/;

/** Jobs and cron jobs run to completion: no Service, probes, replicas or disruption budget. */
export function runsToCompletion(spec: Pick<WorkloadSpec, "kind">): boolean {
  return spec.kind === "job" || spec.kind === "cron";
}

function initStepProblems(spec: WorkloadSpec): string[] {
  const problems: string[] = [];
  const names = new Set([spec.name]);
  for (const step of spec.init ?? []) {
    const at = `init step ${JSON.stringify(step.name)}`;
    if (!WORKLOAD_NAME.test(step.name)) problems.push(`${at}: name is not a DNS label of at most 52 characters`);
    if (names.has(step.name)) problems.push(`${at}: name is already used by the workload or another step`);
    names.add(step.name);
    if (typeof step.image === "string") {
      const p = checkPinnedImage(step.image);
      if (p) problems.push(`${at}: image ${JSON.stringify(step.image)} ${p}`);
    }
    const user = step.user ?? spec.user;
    if (!Number.isInteger(user.uid) || user.uid <= 0)
      problems.push(`${at}: user.uid ${user.uid} must be a non-root uid (> 0)`);
    if (!Number.isInteger(user.gid) || user.gid <= 0)
      problems.push(`${at}: user.gid ${user.gid} must be a non-root gid (> 0)`);
    if (step.resources.cpuMillis <= 0)
      problems.push(`${at}: resources.cpuMillis ${step.resources.cpuMillis} must be positive`);
    if (step.resources.memoryMb <= 0)
      problems.push(`${at}: resources.memoryMb ${step.resources.memoryMb} must be positive`);
  }
  return problems;
}

function apiRuleProblems(field: string, rules: readonly KubernetesApiRule[], allowed: readonly string[]): string[] {
  const problems: string[] = [];
  rules.forEach((rule, i) => {
    const at = `kubernetesApi.${field}[${i}]`;
    if (rule.resources.length === 0 || rule.verbs.length === 0)
      problems.push(`${at}: resources and verbs must not be empty`);
    for (const value of [...rule.apiGroups, ...rule.resources, ...rule.verbs])
      if (value.includes("*")) problems.push(`${at}: ${JSON.stringify(value)} is a wildcard; name each item`);
    for (const verb of rule.verbs) {
      if (!verb.includes("*") && !allowed.includes(verb))
        problems.push(`${at}: verb ${JSON.stringify(verb)} is not allowed; allowed: ${allowed.join(", ")}`);
    }
  });
  return problems;
}

function kubernetesApiProblems(spec: WorkloadSpec): string[] {
  const api = spec.kubernetesApi;
  if (!api) return [];
  const problems: string[] = [];
  if (!spec.serviceAccount)
    problems.push("kubernetesApi needs a serviceAccount of the workload's own, to bind the Role to");
  if (api.reason.trim() === "") problems.push("kubernetesApi.reason is empty; say why the workload reads the API");
  const rules = api.rules ?? [];
  const clusterRules = api.clusterRules ?? [];
  const namespaceRules = api.namespaceRules ?? [];
  if (rules.length === 0 && clusterRules.length === 0 && namespaceRules.length === 0)
    problems.push(
      "kubernetesApi.rules is empty; list what the workload may do (rules, clusterRules, namespaceRules or several)",
    );
  problems.push(...apiRuleProblems("rules", rules, KUBERNETES_API_VERBS));
  problems.push(...apiRuleProblems("clusterRules", clusterRules, KUBERNETES_CLUSTER_API_VERBS));
  namespaceRules.forEach((n, i) => {
    if (n.rules.length === 0)
      problems.push(`kubernetesApi.namespaceRules[${i}] (${JSON.stringify(n.namespace)}): rules is empty`);
    if (n.reason.trim() === "")
      problems.push(`kubernetesApi.namespaceRules[${i}] (${JSON.stringify(n.namespace)}): reason is empty`);
    problems.push(...apiRuleProblems(`namespaceRules[${i}].rules`, n.rules, KUBERNETES_CLUSTER_API_VERBS));
  });
  return problems;
}

/**
 * Checks a spec before a runtime renders it. Throws with every problem, naming the workload and
 * field. Image references that are still Outputs are checked by the policy pack instead.
 */
export function validateWorkload(spec: WorkloadSpec): void {
  const problems: string[] = [];
  const where = `workload ${JSON.stringify(spec.name)}`;
  if (!WORKLOAD_NAME.test(spec.name))
    problems.push(`name ${JSON.stringify(spec.name)} is not a DNS label of at most 52 characters`);
  if (typeof spec.image === "string") {
    const p = checkPinnedImage(spec.image);
    if (p) problems.push(`image ${JSON.stringify(spec.image)} ${p}`);
  }
  if (!Number.isInteger(spec.user.uid) || spec.user.uid <= 0)
    problems.push(`user.uid ${spec.user.uid} must be a non-root uid (> 0)`);
  if (!Number.isInteger(spec.user.gid) || spec.user.gid <= 0)
    problems.push(`user.gid ${spec.user.gid} must be a non-root gid (> 0)`);
  if (spec.resources.cpuMillis <= 0) problems.push(`resources.cpuMillis ${spec.resources.cpuMillis} must be positive`);
  if (spec.resources.memoryMb <= 0) problems.push(`resources.memoryMb ${spec.resources.memoryMb} must be positive`);
  const replicas = spec.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1) problems.push(`replicas ${replicas} must be an integer >= 1`);
  if ((spec.kind ?? "service") === "service" && !spec.health) problems.push("a service needs a health check");
  if (spec.kind === "cron" && !CRON_SCHEDULE.test(spec.schedule ?? "")) {
    problems.push(
      `schedule ${JSON.stringify(spec.schedule)} is not allowed; a cron workload needs five cron fields such as "15 7 * * *"`,
    );
  }
  if (spec.kind !== "cron" && spec.schedule !== undefined)
    problems.push(`schedule ${JSON.stringify(spec.schedule)} is only allowed with kind "cron"`);
  if (runsToCompletion(spec) && (spec.ports ?? []).length > 0) problems.push(`a ${spec.kind} cannot listen on ports`);
  if (spec.kind === "daemon") {
    if (spec.replicas !== undefined)
      problems.push(`replicas ${spec.replicas} is not allowed on a daemon; it runs one pod per node`);
    if (spec.autoscale) problems.push("autoscale is not allowed on a daemon; it runs one pod per node");
    if ((spec.volumes ?? []).length > 0)
      problems.push("volumes are not allowed on a daemon; a volume claim belongs to one pod");
    if ((spec.ports ?? []).some((p) => p.public)) problems.push("a daemon cannot have public ports");
  }
  if (spec.ownNamespace !== undefined && !WORKLOAD_NAME.test(spec.ownNamespace))
    problems.push(`ownNamespace ${JSON.stringify(spec.ownNamespace)} is not a DNS label of at most 52 characters`);
  problems.push(...initStepProblems(spec));
  if (spec.serviceAccount && !WORKLOAD_NAME.test(spec.serviceAccount.name)) {
    problems.push(
      `serviceAccount.name ${JSON.stringify(spec.serviceAccount.name)} is not a DNS label of at most 52 characters`,
    );
  }
  problems.push(...kubernetesApiProblems(spec));
  if (spec.health && spec.health.exec.length === 0) problems.push("health.exec must name a command");
  if (spec.autoscale && (spec.autoscale.min < 1 || spec.autoscale.max < spec.autoscale.min)) {
    problems.push(`autoscale ${spec.autoscale.min}..${spec.autoscale.max} must satisfy 1 <= min <= max`);
  }
  const ports = new Set<number>();
  for (const p of spec.ports ?? []) {
    if (p.port < 1 || p.port > 65535) problems.push(`port ${p.name}=${p.port} is out of range`);
    if (ports.has(p.port)) problems.push(`port ${p.port} is listed twice`);
    ports.add(p.port);
  }
  for (const f of spec.files ?? [])
    if (!f.path.startsWith("/")) problems.push(`file path ${JSON.stringify(f.path)} must be absolute`);
  if (spec.hostPaths) {
    if (spec.hostPaths.reason.trim() === "")
      problems.push("hostPaths.reason is empty; say why the workload reads the host");
    if (spec.hostPaths.mounts.length === 0) problems.push("hostPaths.mounts is empty; list the host paths it reads");
    for (const m of spec.hostPaths.mounts)
      if (!m.hostPath.startsWith("/") || !m.mountPath.startsWith("/"))
        problems.push(
          `host path ${JSON.stringify(m.hostPath)} -> ${JSON.stringify(m.mountPath)}: both must be absolute`,
        );
  }
  for (const c of spec.addCapabilities ?? [])
    if (!c.reason) problems.push(`capability ${c.name} is added back without a reason`);
  if (problems.length) throw new Error(`${where}: ${problems.join("; ")}`);
}

/** Requests are a quarter of the limits, with floors, so that small services still schedule densely. */
export function requestsFor(r: ResourceSpec): ResourceSpec {
  return { cpuMillis: Math.max(10, Math.round(r.cpuMillis / 4)), memoryMb: Math.max(32, Math.round(r.memoryMb / 2)) };
}
