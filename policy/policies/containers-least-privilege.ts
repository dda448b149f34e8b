import {
  Finding,
  PolicyDefinition,
  Props,
  UNKNOWN,
  asArray,
  asBool,
  asRecord,
  cannotVerify,
  finding,
  get,
  isUnknown,
  show,
  unknownFindings,
} from "../lib/framework";
import {
  DOCKER_CONTAINER,
  ECS_TASK_DEFINITION,
  containerListPaths,
  containersOf,
  ecsContainers,
  ecsWhere,
  podSpecOf,
} from "../lib/resources";

const WHAT = "least privilege";
/** The only capability a container may add back after dropping ALL (binding ports below 1024). */
const ALLOWED_ADDED_CAPABILITIES = new Set(["NET_BIND_SERVICE"]);
/** Host paths whose mount hands a container the host: the root, its config, kernel interfaces, runtime state. */
const HOST_PATHS = [
  "/etc",
  "/proc",
  "/sys",
  "/dev",
  "/boot",
  "/root",
  "/run",
  "/var/run",
  "/var/lib/docker",
  "/var/lib/containerd",
  "/var/lib/kubelet",
];
const RUNTIME_SOCKET = /(docker|containerd|crio|podman)\.sock/;
const UNCONFINED_OPTS = /^(seccomp|apparmor)[=:]unconfined$/i;
const NO_NEW_PRIVILEGES = new Set(["no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"]);
const APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/";

const strings = (value: unknown): string[] => asArray(value).filter((v): v is string => typeof v === "string");
const capability = (c: string) => c.toUpperCase().replace(/^CAP_/, "");
const DROP_ALL = 'drop ALL capabilities (capabilities.drop: ["ALL"]) and add back at most NET_BIND_SERVICE';

/** Problems with a drop/add capability pair (unknowns are reported by the caller). */
export function capabilityProblems(drops: unknown, adds: unknown): Finding[] {
  const problems: Finding[] = [];
  if (!isUnknown(drops) && !strings(drops).map(capability).includes("ALL"))
    problems.push(finding(`capabilities do not drop ALL (drop: ${show(drops)})`, DROP_ALL));
  const extra = strings(adds)
    .map(capability)
    .filter((c) => !ALLOWED_ADDED_CAPABILITIES.has(c));
  if (extra.length > 0)
    problems.push(
      finding(
        `capabilities add ${extra.join(", ")}; only NET_BIND_SERVICE may be added back`,
        `remove ${extra.join(", ")} from the added capabilities`,
      ),
    );
  return problems;
}

/** Why mounting this host path is not allowed, or undefined. */
export function hostPathProblem(path: unknown, where: string): Finding | undefined {
  if (typeof path !== "string" || isUnknown(path)) return undefined;
  const p = path.replace(/\/+$/, "") || "/";
  const fix = "use a named volume (Docker) or an emptyDir/PersistentVolumeClaim, never a host path";
  if (RUNTIME_SOCKET.test(p))
    return finding(`${where} mounts the container runtime socket ${show(path)}, which is root on the host`, fix);
  if (p === "/" || HOST_PATHS.some((h) => p === h || p.startsWith(`${h}/`)))
    return finding(`${where} bind-mounts the host path ${show(path)}`, fix);
  return undefined;
}

function dockerProblems(props: Props): Finding[] {
  const problems = unknownFindings(
    props,
    [
      "privileged",
      "networkMode",
      "pidMode",
      "ipcMode",
      "usernsMode",
      "volumes[].hostPath",
      "mounts[].type",
      "mounts[].source",
      "securityOpts[]",
      "devices[]",
      "capabilities.drops[]",
      "capabilities.adds[]",
    ],
    WHAT,
  );
  if (asBool(props.privileged) === true) problems.push(finding("runs privileged", "set privileged: false"));
  for (const [field, label] of [
    ["networkMode", "network"],
    ["pidMode", "PID namespace"],
    ["ipcMode", "IPC namespace"],
    ["usernsMode", "user namespace"],
  ] as const) {
    if (props[field] === "host")
      problems.push(
        finding(
          `shares the host ${label} (${field}: "host")`,
          `remove ${field}: "host" (use the stack's Docker network)`,
        ),
      );
  }
  asArray(props.volumes).forEach((v, i) => {
    const p = hostPathProblem(get(v, "hostPath"), `volumes[${i}]`);
    if (p) problems.push(p);
  });
  asArray(props.mounts).forEach((m, i) => {
    const p = get(m, "type") === "bind" ? hostPathProblem(get(m, "source"), `mounts[${i}]`) : undefined;
    if (p) problems.push(p);
  });
  asArray(props.devices).forEach((d, i) => {
    if (!isUnknown(d))
      problems.push(
        finding(
          `devices[${i}] exposes the host device ${show(get(d, "hostPath") ?? d)}`,
          "remove the device; containers get no host devices",
        ),
      );
  });
  const opts = strings(props.securityOpts);
  for (const o of opts.filter((o) => UNCONFINED_OPTS.test(o)))
    problems.push(
      finding(
        `securityOpts ${show(o)} turns off the ${o.split(/[=:]/)[0].toLowerCase()} profile`,
        `remove ${show(o)} so the runtime's default profile applies`,
      ),
    );
  if (!isUnknown(props.securityOpts) && !opts.some((o) => NO_NEW_PRIVILEGES.has(o))) {
    problems.push(
      finding('securityOpts lack "no-new-privileges:true"', 'add "no-new-privileges:true" to securityOpts'),
    );
  }
  problems.push(...capabilityProblems(get(props, "capabilities", "drops"), get(props, "capabilities", "adds")));
  return problems;
}

function ecsProblems(props: Props, report: (subject: string, f: Finding) => void, name: string): void {
  const subject = `ECS task definition ${name}`;
  for (const f of unknownFindings(props, ["networkMode", "pidMode", "ipcMode", "volumes[].hostPath"], WHAT))
    report(subject, f);
  for (const field of ["networkMode", "pidMode", "ipcMode"]) {
    if (props[field] === "host")
      report(
        subject,
        finding(
          `${field} is "host", sharing a host namespace`,
          `use ${field === "networkMode" ? 'networkMode "awsvpc"' : `no ${field}`}`,
        ),
      );
  }
  asArray(props.volumes).forEach((v, i) => {
    const p = hostPathProblem(get(v, "hostPath"), `volumes[${i}] ${show(get(v, "name"))}`);
    if (p) report(subject, p);
  });
  const { containers, problem } = ecsContainers(props, "its privileges");
  if (problem) report(subject, problem);
  containers.forEach((c, i) => {
    const where = `${subject} ${ecsWhere(c, i)}`;
    if (asBool(c.privileged) === true) report(where, finding("runs privileged", "set privileged: false"));
    for (const d of asArray(get(c, "linuxParameters", "devices")))
      report(
        where,
        finding(`linuxParameters.devices exposes the host device ${show(get(d, "hostPath"))}`, "remove the device"),
      );
    for (const p of capabilityProblems(
      get(c, "linuxParameters", "capabilities", "drop"),
      get(c, "linuxParameters", "capabilities", "add"),
    ))
      report(where, p);
  });
}

function kubernetesPodProblems(pod: Props, metadata: unknown): Finding[] {
  const problems = unknownFindings(
    pod,
    [
      "hostNetwork",
      "hostPID",
      "hostIPC",
      "volumes[].hostPath",
      "securityContext.seccompProfile.type",
      "securityContext.appArmorProfile.type",
      "securityContext.windowsOptions.hostProcess",
    ],
    WHAT,
  );
  for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (asBool(pod[field]) === true)
      problems.push(finding(`${field}: true shares a host namespace`, `remove ${field} (or set it to false)`));
  }
  for (const v of asArray(pod.volumes)) {
    const hostPath = get(v, "hostPath");
    if (hostPath !== undefined && !isUnknown(hostPath))
      problems.push(
        finding(
          `volume ${show(get(v, "name"))} is a hostPath volume`,
          "use an emptyDir or a PersistentVolumeClaim instead of hostPath",
        ),
      );
  }
  if (get(pod, "securityContext", "appArmorProfile", "type") === "Unconfined")
    problems.push(
      finding(
        "securityContext.appArmorProfile.type is Unconfined",
        "set appArmorProfile.type: RuntimeDefault or remove it",
      ),
    );
  if (asBool(get(pod, "securityContext", "windowsOptions", "hostProcess")) === true)
    problems.push(
      finding("securityContext.windowsOptions.hostProcess: true runs on the host", "remove windowsOptions.hostProcess"),
    );
  for (const [key, value] of Object.entries(asRecord(get(metadata, "annotations")) ?? {})) {
    if (key.startsWith(APPARMOR_ANNOTATION) && String(value).toLowerCase() === "unconfined") {
      problems.push(
        finding(
          `annotation ${key}: unconfined turns off AppArmor`,
          "remove the annotation (or set it to runtime/default)",
        ),
      );
    }
  }
  return problems;
}

function kubernetesContainerProblems(pod: Props, container: Props): Finding[] {
  const sc = (field: string) => get(container, "securityContext", field);
  const problems = unknownFindings(
    container,
    [
      "securityContext.privileged",
      "securityContext.allowPrivilegeEscalation",
      "securityContext.capabilities.drop[]",
      "securityContext.capabilities.add[]",
      "securityContext.seccompProfile.type",
      "securityContext.appArmorProfile.type",
      "securityContext.procMount",
      "securityContext.windowsOptions.hostProcess",
      "ports[].hostPort",
    ],
    WHAT,
  );
  if (asBool(sc("privileged")) === true)
    problems.push(finding("privileged: true", "set securityContext.privileged: false"));
  const escalation = sc("allowPrivilegeEscalation");
  if (!isUnknown(escalation) && asBool(escalation) !== false)
    problems.push(
      finding(
        `allowPrivilegeEscalation is ${show(escalation)}, must be false`,
        "set securityContext.allowPrivilegeEscalation: false",
      ),
    );
  problems.push(
    ...capabilityProblems(
      get(container, "securityContext", "capabilities", "drop"),
      get(container, "securityContext", "capabilities", "add"),
    ),
  );
  const seccomp =
    get(container, "securityContext", "seccompProfile", "type") ??
    get(pod, "securityContext", "seccompProfile", "type");
  if (!isUnknown(seccomp) && seccomp !== "RuntimeDefault" && seccomp !== "Localhost") {
    problems.push(
      finding(
        `seccompProfile.type is ${show(seccomp)}, must be RuntimeDefault (on the pod or the container)`,
        "set securityContext.seccompProfile.type: RuntimeDefault on the pod",
      ),
    );
  }
  if (get(container, "securityContext", "appArmorProfile", "type") === "Unconfined")
    problems.push(
      finding(
        "securityContext.appArmorProfile.type is Unconfined",
        "set appArmorProfile.type: RuntimeDefault or remove it",
      ),
    );
  const procMount = sc("procMount");
  if (procMount !== undefined && !isUnknown(procMount) && procMount !== "Default")
    problems.push(
      finding(
        `procMount is ${show(procMount)}; the host's /proc is unmasked`,
        "remove procMount (or set it to Default)",
      ),
    );
  if (asBool(get(container, "securityContext", "windowsOptions", "hostProcess")) === true)
    problems.push(
      finding("securityContext.windowsOptions.hostProcess: true runs on the host", "remove windowsOptions.hostProcess"),
    );
  asArray(container.ports).forEach((p, i) => {
    const hostPort = get(p, "hostPort");
    if (hostPort !== undefined && !isUnknown(hostPort) && Number(hostPort) !== 0) {
      problems.push(
        finding(
          `ports[${i}].hostPort ${show(hostPort)} binds a port on the node`,
          "remove hostPort and expose the port through a Service",
        ),
      );
    }
  });
  return problems;
}

export const containersLeastPrivilege: PolicyDefinition = {
  name: "containers-least-privilege",
  description:
    "Containers run with least privilege: not privileged, no privilege escalation, capabilities dropped (ALL, at most NET_BIND_SERVICE back), " +
    "no host namespaces, host ports, host paths, devices or runtime sockets, seccomp and AppArmor confined (RuntimeDefault on Kubernetes, " +
    'no-new-privileges on Docker), no unmasked /proc and no Windows host processes: Pod Security "restricted".',
  remediationSteps:
    "Kubernetes: in each container's securityContext set privileged: false, allowPrivilegeEscalation: false, capabilities.drop: [ALL] " +
    "(add back only NET_BIND_SERVICE), and seccompProfile.type: RuntimeDefault on the pod; remove hostNetwork/hostPID/hostIPC, hostPort, hostPath " +
    "volumes (use emptyDir or a PersistentVolumeClaim), procMount, hostProcess and Unconfined AppArmor. Docker: privileged: false, no host " +
    "network/PID/IPC mode, no bind mounts of host system paths or runtime sockets, no devices, no unconfined seccomp/apparmor, securityOpts " +
    '["no-new-privileges:true"], capabilities { drops: ["ALL"] }. The runtimes in components/runtime do this for every WorkloadSpec.',
  severity: "high",
  validateResource: (args, report) => {
    const props = args.props;
    if (args.type === DOCKER_CONTAINER) {
      for (const p of dockerProblems(props)) report(`Docker container ${args.name}`, p);
      return;
    }
    if (args.type === ECS_TASK_DEFINITION) {
      ecsProblems(props, report, args.name);
      return;
    }
    const pod = podSpecOf(args.type, props);
    if (!pod) return;
    const subject = `${args.type} ${args.name}`;
    if (pod.spec === UNKNOWN) {
      report(subject, cannotVerify(pod.path, "its privileges"));
      return;
    }
    for (const f of unknownFindings(pod.spec, containerListPaths(), "its containers' privileges", pod.path))
      report(subject, f);
    for (const p of kubernetesPodProblems(pod.spec, pod.metadata)) report(`${subject} ${pod.path}`, p);
    for (const { container, where } of containersOf(pod)) {
      for (const p of kubernetesContainerProblems(pod.spec, container)) report(`${subject} ${where}`, p);
    }
  },
};
