import { ResourceValidationPolicy } from "@pulumi/policy";
import { Props, UNKNOWN, asArray, asBool, get, isUnknown, show } from "./framework";
import { DOCKER_CONTAINER, ECS_TASK_DEFINITION, containersOf, ecsContainers, ecsWhere, podSpecOf } from "./resources";

/** The only capability a container may add back after dropping ALL (binding ports below 1024). */
const ALLOWED_ADDED_CAPABILITIES = new Set(["NET_BIND_SERVICE"]);
const DOCKER_SOCKETS = new Set(["/var/run/docker.sock", "/run/docker.sock"]);

const strings = (value: unknown): string[] => asArray(value).filter((v): v is string => typeof v === "string");
const capability = (c: string) => c.toUpperCase().replace(/^CAP_/, "");

/** Problems with a drop/add capability pair. */
export function capabilityProblems(drops: unknown, adds: unknown): string[] {
  const problems: string[] = [];
  if (isUnknown(drops) || isUnknown(adds)) return ["capabilities are unknown at preview and cannot be verified"];
  if (!strings(drops).map(capability).includes("ALL")) problems.push(`capabilities do not drop ALL (drop: ${show(drops)})`);
  const extra = strings(adds).map(capability).filter((c) => !ALLOWED_ADDED_CAPABILITIES.has(c));
  if (extra.length > 0) problems.push(`capabilities add ${extra.join(", ")}; only NET_BIND_SERVICE may be added back`);
  return problems;
}

function dockerProblems(props: Props): string[] {
  const problems: string[] = [];
  if (asBool(props.privileged) === true) problems.push("runs privileged");
  for (const [field, label] of [
    ["networkMode", "network"],
    ["pidMode", "PID namespace"],
    ["ipcMode", "IPC namespace"],
    ["usernsMode", "user namespace"],
  ] as const) {
    if (props[field] === "host") problems.push(`shares the host ${label} (${field}: "host")`);
  }
  const sockets = [
    ...asArray(props.volumes).map((v) => get(v, "hostPath")),
    ...asArray(props.mounts).filter((m) => get(m, "type") === "bind").map((m) => get(m, "source")),
  ].filter((p): p is string => typeof p === "string" && DOCKER_SOCKETS.has(p.replace(/\/+$/, "")));
  for (const s of sockets) problems.push(`mounts the Docker socket ${s}, which is root on the host`);
  const opts = strings(props.securityOpts);
  if (isUnknown(props.securityOpts)) problems.push("securityOpts are unknown at preview; cannot verify no-new-privileges");
  else if (!opts.some((o) => o === "no-new-privileges" || o === "no-new-privileges:true" || o === "no-new-privileges=true")) {
    problems.push('securityOpts lack "no-new-privileges:true"');
  }
  problems.push(...capabilityProblems(get(props, "capabilities", "drops"), get(props, "capabilities", "adds")));
  return problems;
}

function kubernetesPodProblems(pod: Props): string[] {
  const problems: string[] = [];
  for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (asBool(pod[field]) === true) problems.push(`${field}: true shares a host namespace`);
  }
  for (const v of asArray(pod.volumes)) {
    if (get(v, "hostPath") !== undefined) problems.push(`volume ${show(get(v, "name"))} is a hostPath volume`);
  }
  return problems;
}

function kubernetesContainerProblems(pod: Props, container: Props): string[] {
  const sc = (field: string) => get(container, "securityContext", field);
  const problems: string[] = [];
  if (asBool(sc("privileged")) === true) problems.push("privileged: true");
  const escalation = sc("allowPrivilegeEscalation");
  if (isUnknown(escalation)) problems.push("allowPrivilegeEscalation is unknown at preview");
  else if (asBool(escalation) !== false) problems.push(`allowPrivilegeEscalation is ${show(escalation)}, must be false`);
  problems.push(...capabilityProblems(get(container, "securityContext", "capabilities", "drop"), get(container, "securityContext", "capabilities", "add")));
  const seccomp = get(container, "securityContext", "seccompProfile", "type") ?? get(pod, "securityContext", "seccompProfile", "type");
  if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") problems.push(`seccompProfile.type is ${show(seccomp)}, must be RuntimeDefault (on the pod or the container)`);
  return problems;
}

export const containersLeastPrivilege: ResourceValidationPolicy = {
  name: "containers-least-privilege",
  description:
    "Containers run with least privilege: not privileged, no privilege escalation, capabilities dropped (ALL, at most NET_BIND_SERVICE back), " +
    "no host namespaces, hostPath volumes or Docker socket, seccomp RuntimeDefault on Kubernetes and no-new-privileges on Docker.",
  remediationSteps:
    "Kubernetes: in each container's securityContext set privileged: false, allowPrivilegeEscalation: false, capabilities.drop: [ALL] " +
    "(add back only NET_BIND_SERVICE), and seccompProfile.type: RuntimeDefault on the pod; remove hostNetwork/hostPID/hostIPC and hostPath volumes " +
    "(use emptyDir or a PersistentVolumeClaim). Docker: privileged: false, no host network/PID/IPC mode, no docker.sock mount, " +
    'securityOpts ["no-new-privileges:true"], capabilities { drops: ["ALL"] }. The runtimes in components/runtime do this for every WorkloadSpec.',
  severity: "high",
  validateResource: (args, report) => {
    const props = args.props;
    if (args.type === DOCKER_CONTAINER) {
      for (const p of dockerProblems(props)) report(`Docker container ${args.name} ${p}.`);
      return;
    }
    if (args.type === ECS_TASK_DEFINITION) {
      const { containers, problem } = ecsContainers(props);
      if (problem) report(`ECS task definition ${args.name}: ${problem}; cannot verify its privileges.`);
      if (props.networkMode === "host" || props.pidMode === "host" || props.ipcMode === "host") report(`ECS task definition ${args.name} shares a host namespace.`);
      containers.forEach((c, i) => {
        const where = `ECS task definition ${args.name} ${ecsWhere(c, i)}`;
        if (asBool(c.privileged) === true) report(`${where} runs privileged.`);
        for (const p of capabilityProblems(get(c, "linuxParameters", "capabilities", "drop"), get(c, "linuxParameters", "capabilities", "add"))) report(`${where}: ${p}.`);
      });
      return;
    }
    const pod = podSpecOf(args.type, props);
    if (!pod) return;
    if (pod.spec === UNKNOWN) {
      report(`${args.type} ${args.name}: the pod spec is unknown at preview, so its privileges cannot be verified.`);
      return;
    }
    for (const p of kubernetesPodProblems(pod.spec)) report(`${args.type} ${args.name} ${pod.path}: ${p}.`);
    for (const { container, where } of containersOf(pod)) {
      for (const p of kubernetesContainerProblems(pod.spec, container)) report(`${args.type} ${args.name} ${where}: ${p}.`);
    }
  },
};
