/**
 * Pod Security Standards "restricted" (https://kubernetes.io/docs/concepts/security/pod-security-standards/),
 * checked field by field on every pod a planned stack would create, so a test fails with the exact
 * field instead of an admission error at deploy time. It covers the baseline controls and the
 * restricted ones, for containers, initContainers and ephemeralContainers alike.
 *
 * `northstackHardeningProblems` adds what northstack requires beyond the standard: explicit uid and
 * gid, fsGroup, a read-only root filesystem, requests and limits, probes on long-running pods and no
 * service-account token.
 */
import { PlannedResource } from "../../scripts/lib/mock-program";
import {
  ALLOWED_VOLUME_SOURCES,
  CONFINED_PROFILES,
  SAFE_SYSCTLS,
  SELINUX_TYPES,
} from "../../policy/lib/pod-security-standards";

type Obj = Record<string, unknown>;

export type PodSecurityLevel = "restricted" | "baseline" | "privileged";

export interface PodUnderTest {
  /** `<type> <name>`, for messages. */
  readonly where: string;
  /** Pod template metadata (for AppArmor annotations). */
  readonly metadata: Obj;
  readonly spec: Obj;
  /** Jobs and CronJobs run to completion and need no readiness or liveness probe. */
  readonly runsToCompletion: boolean;
  /** The namespace the pod's controller is created in ("" when unset). */
  readonly namespace: string;
}

const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);

/** Where the pod template sits in each workload kind. */
function podTemplateOf(type: string, inputs: Obj): { metadata: Obj; spec: Obj } | undefined {
  const kind = type.split(":").pop();
  switch (kind) {
    case "Pod":
      return { metadata: obj(inputs.metadata), spec: obj(inputs.spec) };
    case "Deployment":
    case "StatefulSet":
    case "DaemonSet":
    case "ReplicaSet":
    case "ReplicationController":
    case "Job":
      return { metadata: obj(obj(obj(inputs.spec).template).metadata), spec: obj(obj(obj(inputs.spec).template).spec) };
    case "CronJob": {
      const template = obj(obj(obj(obj(inputs.spec).jobTemplate).spec).template);
      return { metadata: obj(template.metadata), spec: obj(template.spec) };
    }
    default:
      return undefined;
  }
}

/** Every pod template among the planned resources. */
export function podsOf(resources: readonly PlannedResource[]): PodUnderTest[] {
  const pods: PodUnderTest[] = [];
  for (const r of resources) {
    if (!r.custom || !r.type.startsWith("kubernetes:")) continue;
    const template = podTemplateOf(r.type, r.plainInputs);
    if (template)
      pods.push({
        where: `${r.type} ${r.name}`,
        ...template,
        runsToCompletion: /:(Job|CronJob)$/.test(r.type),
        namespace: String(obj(r.plainInputs.metadata).namespace ?? ""),
      });
  }
  return pods;
}

function containersOf(spec: Obj): { kind: string; container: Obj }[] {
  return (["initContainers", "containers", "ephemeralContainers"] as const).flatMap((kind) =>
    list(spec[kind]).map((container) => ({ kind, container })),
  );
}

/** Probe and lifecycle handlers that could name a host (baseline "host probes / lifecycle hooks"). */
function handlersOf(container: Obj): [string, Obj][] {
  const handlers: [string, Obj][] = [];
  const lifecycle = obj(container.lifecycle);
  for (const [name, holder] of [
    ["livenessProbe", container.livenessProbe],
    ["readinessProbe", container.readinessProbe],
    ["startupProbe", container.startupProbe],
    ["lifecycle.postStart", lifecycle.postStart],
    ["lifecycle.preStop", lifecycle.preStop],
  ] as const) {
    for (const kind of ["httpGet", "tcpSocket"])
      if (obj(holder)[kind] !== undefined) handlers.push([`${name}.${kind}`, obj(obj(holder)[kind])]);
  }
  return handlers;
}

function seLinuxProblems(options: unknown, at: string): string[] {
  if (options === undefined) return [];
  const o = obj(options);
  const problems: string[] = [];
  if (o.type !== undefined && !SELINUX_TYPES.has(String(o.type)))
    problems.push(`${at}.seLinuxOptions.type ${JSON.stringify(o.type)} is not allowed`);
  if (o.user !== undefined && o.user !== "") problems.push(`${at}.seLinuxOptions.user must not be set`);
  if (o.role !== undefined && o.role !== "") problems.push(`${at}.seLinuxOptions.role must not be set`);
  return problems;
}

/** Pod Security "baseline": the capabilities a container may add beyond the runtime's defaults. */
const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

/** The pod-level checks "baseline" and "restricted" share: host namespaces, host process, SELinux, sysctls. */
function sharedPodProblems(spec: Record<string, unknown>, podSc: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const field of ["hostNetwork", "hostPID", "hostIPC"])
    if (spec[field] === true) problems.push(`spec.${field} must not be true`);
  if (obj(podSc.windowsOptions).hostProcess === true)
    problems.push("spec.securityContext.windowsOptions.hostProcess must not be true");
  problems.push(...seLinuxProblems(podSc.seLinuxOptions, "spec.securityContext"));
  for (const sysctl of list(podSc.sysctls))
    if (!SAFE_SYSCTLS.has(String(sysctl.name)))
      problems.push(`spec.securityContext.sysctls ${JSON.stringify(sysctl.name)} is not a safe sysctl`);
  return problems;
}

/**
 * The container-level checks "baseline" and "restricted" share: privileged, host process, host
 * ports, SELinux, /proc mount, probe and lifecycle hosts.
 */
function sharedContainerProblems(
  container: Record<string, unknown>,
  sc: Record<string, unknown>,
  at: string,
): string[] {
  const problems: string[] = [];
  if (sc.privileged === true) problems.push(`${at}.securityContext.privileged must not be true`);
  if (obj(sc.windowsOptions).hostProcess === true)
    problems.push(`${at}.securityContext.windowsOptions.hostProcess must not be true`);
  for (const port of list(container.ports))
    if (port.hostPort !== undefined && port.hostPort !== 0)
      problems.push(`${at}.ports hostPort ${String(port.hostPort)} is not allowed`);
  problems.push(...seLinuxProblems(sc.seLinuxOptions, `${at}.securityContext`));
  if (sc.procMount !== undefined && sc.procMount !== "Default")
    problems.push(`${at}.securityContext.procMount must be Default`);
  for (const [field, handler] of handlersOf(container))
    if (handler.host !== undefined && handler.host !== "") problems.push(`${at}.${field}.host must not be set`);
  return problems;
}

/**
 * Every "baseline" violation of one pod, each naming the field: host namespaces, host paths and
 * ports, privileged, added capabilities, AppArmor, SELinux, /proc mount, unconfined seccomp,
 * unsafe sysctls, probe hosts, Windows host processes.
 */
export function baselineProblemsOfPod(pod: Pick<PodUnderTest, "metadata" | "spec">): string[] {
  const problems: string[] = [];
  const spec = pod.spec;
  const podSc = obj(spec.securityContext);
  problems.push(...sharedPodProblems(spec, podSc));
  for (const volume of list(spec.volumes))
    if (volume.hostPath !== undefined) problems.push(`spec.volumes[${String(volume.name)}] uses hostPath`);
  const unconfined = (type: unknown) => type === "Unconfined";
  if (unconfined(obj(podSc.seccompProfile).type))
    problems.push("spec.securityContext.seccompProfile.type is Unconfined");
  if (unconfined(obj(podSc.appArmorProfile).type))
    problems.push("spec.securityContext.appArmorProfile.type is Unconfined");
  for (const { kind, container } of containersOf(spec)) {
    const at = `spec.${kind}[${String(container.name)}]`;
    const sc = obj(container.securityContext);
    problems.push(...sharedContainerProblems(container, sc, at));
    if (unconfined(obj(sc.seccompProfile).type))
      problems.push(`${at}.securityContext.seccompProfile.type is Unconfined`);
    if (unconfined(obj(sc.appArmorProfile).type))
      problems.push(`${at}.securityContext.appArmorProfile.type is Unconfined`);
    const add = Array.isArray(obj(sc.capabilities).add) ? (obj(sc.capabilities).add as unknown[]).map(String) : [];
    for (const capability of add)
      if (!BASELINE_CAPABILITIES.has(capability))
        problems.push(`${at}.securityContext.capabilities.add ${capability} is beyond baseline`);
  }
  return problems;
}

/** The least Pod Security level that admits the pod. */
export function leastPodSecurityLevel(pod: Pick<PodUnderTest, "metadata" | "spec">): PodSecurityLevel {
  if (restrictedProblemsOfPod(pod).length === 0) return "restricted";
  if (baselineProblemsOfPod(pod).length === 0) return "baseline";
  return "privileged";
}

/** Every "restricted" violation of one pod, each naming the field. */
export function restrictedProblemsOfPod(pod: Pick<PodUnderTest, "metadata" | "spec">): string[] {
  const problems: string[] = [];
  const spec = pod.spec;
  const podSc = obj(spec.securityContext);

  // Baseline: host namespaces, host paths and ports, privileged, capabilities, AppArmor, SELinux, /proc, seccomp, sysctls, probe hosts.
  problems.push(...sharedPodProblems(spec, podSc));
  const podAppArmor = obj(podSc.appArmorProfile).type;
  if (podAppArmor !== undefined && !CONFINED_PROFILES.has(String(podAppArmor)))
    problems.push(`spec.securityContext.appArmorProfile.type ${JSON.stringify(podAppArmor)} is not allowed`);
  for (const [key, value] of Object.entries(obj(pod.metadata.annotations))) {
    if (
      key.startsWith("container.apparmor.security.beta.kubernetes.io/") &&
      value !== "runtime/default" &&
      !String(value).startsWith("localhost/")
    ) {
      problems.push(`metadata.annotations[${key}] ${JSON.stringify(value)} is not runtime/default or localhost/*`);
    }
  }

  // Restricted: volume types.
  for (const volume of list(spec.volumes)) {
    const sources = Object.keys(volume).filter((k) => k !== "name");
    for (const source of sources)
      if (!ALLOWED_VOLUME_SOURCES.has(source))
        problems.push(`spec.volumes[${String(volume.name)}] uses ${source}, which is not allowed`);
  }

  // Restricted: non-root and seccomp may be set on the pod and inherited, or on every container.
  const podNonRoot = podSc.runAsNonRoot === true;
  const podSeccomp = obj(podSc.seccompProfile).type;
  if (podSc.runAsUser === 0) problems.push("spec.securityContext.runAsUser must not be 0");
  if (podSc.runAsNonRoot === false) problems.push("spec.securityContext.runAsNonRoot must not be false");
  if (podSeccomp !== undefined && !CONFINED_PROFILES.has(String(podSeccomp)))
    problems.push(
      `spec.securityContext.seccompProfile.type ${JSON.stringify(podSeccomp)} must be RuntimeDefault or Localhost`,
    );

  for (const { kind, container } of containersOf(spec)) {
    const at = `spec.${kind}[${String(container.name)}]`;
    const sc = obj(container.securityContext);
    problems.push(...sharedContainerProblems(container, sc, at));
    const appArmor = obj(sc.appArmorProfile).type;
    if (appArmor !== undefined && !CONFINED_PROFILES.has(String(appArmor)))
      problems.push(`${at}.securityContext.appArmorProfile.type ${JSON.stringify(appArmor)} is not allowed`);

    if (sc.allowPrivilegeEscalation !== false)
      problems.push(`${at}.securityContext.allowPrivilegeEscalation must be false`);
    if (sc.runAsNonRoot === false || (!podNonRoot && sc.runAsNonRoot !== true))
      problems.push(`${at}.securityContext.runAsNonRoot must be true (here or on the pod)`);
    if (sc.runAsUser === 0) problems.push(`${at}.securityContext.runAsUser must not be 0`);
    const seccomp = obj(sc.seccompProfile).type;
    if (seccomp !== undefined && !CONFINED_PROFILES.has(String(seccomp)))
      problems.push(
        `${at}.securityContext.seccompProfile.type ${JSON.stringify(seccomp)} must be RuntimeDefault or Localhost`,
      );
    if (seccomp === undefined && podSeccomp === undefined)
      problems.push(`${at}: seccompProfile.type must be RuntimeDefault or Localhost (here or on the pod)`);
    const capabilities = obj(sc.capabilities);
    const drop = Array.isArray(capabilities.drop) ? capabilities.drop.map(String) : [];
    if (!drop.includes("ALL")) problems.push(`${at}.securityContext.capabilities.drop must include ALL`);
    const add = Array.isArray(capabilities.add) ? capabilities.add.map(String) : [];
    for (const capability of add)
      if (capability !== "NET_BIND_SERVICE")
        problems.push(`${at}.securityContext.capabilities.add ${capability} is not allowed (only NET_BIND_SERVICE)`);
  }
  return problems;
}

const isPositiveInt = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v > 0;

/** What northstack requires beyond "restricted" (DESIGN.md, security by default), each naming the field. */
export function hardeningProblemsOfPod(pod: PodUnderTest): string[] {
  const problems: string[] = [];
  const podSc = obj(pod.spec.securityContext);
  if (pod.spec.automountServiceAccountToken !== false) problems.push("spec.automountServiceAccountToken must be false");
  if (!isPositiveInt(podSc.fsGroup)) problems.push("spec.securityContext.fsGroup must be a non-root gid");
  for (const { kind, container } of containersOf(pod.spec)) {
    const at = `spec.${kind}[${String(container.name)}]`;
    const sc = obj(container.securityContext);
    if (!isPositiveInt(sc.runAsUser ?? podSc.runAsUser))
      problems.push(`${at}: runAsUser must be an explicit non-root uid`);
    if (!isPositiveInt(sc.runAsGroup ?? podSc.runAsGroup))
      problems.push(`${at}: runAsGroup must be an explicit non-root gid`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${at}.securityContext.readOnlyRootFilesystem must be true`);
    if (kind === "ephemeralContainers") continue;
    const resources = obj(container.resources);
    for (const bound of ["requests", "limits"]) {
      for (const resource of ["cpu", "memory"])
        if (obj(resources[bound])[resource] === undefined)
          problems.push(`${at}.resources.${bound}.${resource} must be set`);
    }
    if (kind === "containers" && !pod.runsToCompletion) {
      for (const probe of ["readinessProbe", "livenessProbe"])
        if (container[probe] === undefined) problems.push(`${at}.${probe} must be set`);
    }
  }
  return problems;
}

/** The Pod Security level each planned Namespace enforces, by name. */
export function enforcedLevels(resources: readonly PlannedResource[]): Map<string, string> {
  const levels = new Map<string, string>();
  for (const r of resources) {
    if (r.type !== "kubernetes:core/v1:Namespace") continue;
    const metadata = obj(r.plainInputs.metadata);
    levels.set(String(metadata.name), String(obj(metadata.labels)["pod-security.kubernetes.io/enforce"]));
  }
  return levels;
}

/**
 * Every violation in a planned stack of the level its pod's namespace enforces, one line per field,
 * prefixed with the resource: "restricted" unless the plan creates the namespace with another
 * level. A pod in a "privileged" namespace is judged by `leastPodSecurityLevel` in its own test.
 */
export function podSecurityProblems(resources: readonly PlannedResource[]): string[] {
  const levels = enforcedLevels(resources);
  return podsOf(resources).flatMap((pod) => {
    const level = levels.get(pod.namespace) ?? "restricted";
    const problems =
      level === "privileged" ? [] : level === "baseline" ? baselineProblemsOfPod(pod) : restrictedProblemsOfPod(pod);
    return problems.map((p) => `${pod.where}: ${p}`);
  });
}

/** Every northstack hardening gap in a planned stack, one line per field, prefixed with the resource. */
export function northstackHardeningProblems(resources: readonly PlannedResource[]): string[] {
  return podsOf(resources).flatMap((pod) => hardeningProblemsOfPod(pod).map((p) => `${pod.where}: ${p}`));
}
