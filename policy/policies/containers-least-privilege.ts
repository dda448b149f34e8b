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
import { ALLOWED_VOLUME_SOURCES, CONFINED_PROFILES, SAFE_SYSCTLS, SELINUX_TYPES } from "../lib/pod-security-standards";
import { HOST_PATHS_CONTROL, NAMESPACE_POD_SECURITY_CONTROL } from "../../components/workload";

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

/** Probe and lifecycle handlers whose `host` Pod Security "baseline" forbids (it would point the kubelet elsewhere). */
const HANDLER_HOSTS = [
  "livenessProbe",
  "readinessProbe",
  "startupProbe",
  "lifecycle.postStart",
  "lifecycle.preStop",
].flatMap((h) => [`${h}.httpGet.host`, `${h}.tcpSocket.host`]);
const SET_PROFILE = (field: string) =>
  `set ${field}.type: RuntimeDefault (or Localhost with a profile on the node), or remove it`;

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
    return finding(`${where} bind-mounts the host path ${show(path)}`, fix, HOST_PATHS_CONTROL);
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

/** SELinux options at `at` (pod or container securityContext): a confined type, no user, no role. */
function seLinuxProblems(options: unknown, at: string): Finding[] {
  const problems: Finding[] = [];
  const type = get(options, "type");
  if (type !== undefined && !isUnknown(type) && !SELINUX_TYPES.has(String(type))) {
    problems.push(
      finding(
        `${at}.seLinuxOptions.type ${show(type)} is not a container type`,
        `set ${at}.seLinuxOptions.type to container_t, container_init_t, container_kvm_t or container_engine_t, or remove it`,
      ),
    );
  }
  for (const field of ["user", "role"]) {
    const value = get(options, field);
    if (value !== undefined && !isUnknown(value) && value !== "")
      problems.push(
        finding(
          `${at}.seLinuxOptions.${field} is ${show(value)}; Pod Security forbids setting it`,
          `remove ${at}.seLinuxOptions.${field}`,
        ),
      );
  }
  return problems;
}

function appArmorProblem(type: unknown, at: string): Finding | undefined {
  if (type === undefined || isUnknown(type) || CONFINED_PROFILES.has(String(type))) return undefined;
  return finding(
    `${at}.appArmorProfile.type is ${show(type)}, not RuntimeDefault or Localhost`,
    SET_PROFILE(`${at}.appArmorProfile`),
  );
}

function kubernetesPodProblems(pod: Props, metadata: unknown): Finding[] {
  const problems = unknownFindings(
    pod,
    [
      "hostNetwork",
      "hostPID",
      "hostIPC",
      "volumes[]",
      "securityContext.seccompProfile.type",
      "securityContext.appArmorProfile.type",
      "securityContext.seLinuxOptions.type",
      "securityContext.seLinuxOptions.user",
      "securityContext.seLinuxOptions.role",
      "securityContext.sysctls[].name",
      "securityContext.windowsOptions.hostProcess",
    ],
    WHAT,
  );
  for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (asBool(pod[field]) === true)
      problems.push(finding(`${field}: true shares a host namespace`, `remove ${field} (or set it to false)`));
  }
  asArray(pod.volumes).forEach((v, i) => {
    const volume = asRecord(v) ?? {};
    const name = show(volume.name ?? `volumes[${i}]`);
    for (const [source, value] of Object.entries(volume)) {
      if (source === "name" || value === undefined || value === null) continue;
      if (source === "hostPath")
        problems.push(
          finding(
            `volume ${name} is a hostPath volume`,
            "use an emptyDir or a PersistentVolumeClaim instead of hostPath",
            HOST_PATHS_CONTROL,
          ),
        );
      else if (!ALLOWED_VOLUME_SOURCES.has(source)) {
        problems.push(
          finding(
            `volume ${name} is a ${source} volume, which Pod Security "restricted" does not allow`,
            `use one of ${[...ALLOWED_VOLUME_SOURCES].join(", ")} (a PersistentVolumeClaim for storage)`,
          ),
        );
      }
    }
  });
  const seccomp = get(pod, "securityContext", "seccompProfile", "type");
  if (seccomp !== undefined && !isUnknown(seccomp) && !CONFINED_PROFILES.has(String(seccomp))) {
    problems.push(
      finding(
        `securityContext.seccompProfile.type is ${show(seccomp)}, must be RuntimeDefault or Localhost`,
        "set securityContext.seccompProfile.type: RuntimeDefault on the pod",
      ),
    );
  }
  const appArmor = appArmorProblem(get(pod, "securityContext", "appArmorProfile", "type"), "securityContext");
  if (appArmor) problems.push(appArmor);
  problems.push(...seLinuxProblems(get(pod, "securityContext", "seLinuxOptions"), "securityContext"));
  asArray(get(pod, "securityContext", "sysctls")).forEach((sysctl, i) => {
    const name = get(sysctl, "name");
    if (!isUnknown(name) && !SAFE_SYSCTLS.has(String(name))) {
      problems.push(
        finding(
          `securityContext.sysctls[${i}] ${show(name)} is not a safe sysctl`,
          `remove it; only ${[...SAFE_SYSCTLS].join(", ")} are allowed`,
        ),
      );
    }
  });
  if (asBool(get(pod, "securityContext", "windowsOptions", "hostProcess")) === true)
    problems.push(
      finding("securityContext.windowsOptions.hostProcess: true runs on the host", "remove windowsOptions.hostProcess"),
    );
  for (const [key, value] of Object.entries(asRecord(get(metadata, "annotations")) ?? {})) {
    if (!key.startsWith(APPARMOR_ANNOTATION) || isUnknown(value)) continue;
    const profile = String(value);
    if (profile !== "" && profile !== "runtime/default" && !profile.startsWith("localhost/")) {
      problems.push(
        finding(
          `annotation ${key}: ${profile} is not runtime/default or localhost/<profile>`,
          "set the annotation to runtime/default (or remove it and set securityContext.appArmorProfile.type: RuntimeDefault)",
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
      "securityContext.seLinuxOptions.type",
      "securityContext.seLinuxOptions.user",
      "securityContext.seLinuxOptions.role",
      "securityContext.windowsOptions.hostProcess",
      "ports[].hostPort",
      ...HANDLER_HOSTS,
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
  // A pod-level seccomp type that is not confined is reported once, on the pod.
  const seccomp = get(container, "securityContext", "seccompProfile", "type");
  const podSeccomp = get(pod, "securityContext", "seccompProfile", "type");
  if (seccomp !== undefined && !isUnknown(seccomp) && !CONFINED_PROFILES.has(String(seccomp))) {
    problems.push(
      finding(
        `seccompProfile.type is ${show(seccomp)}, must be RuntimeDefault or Localhost`,
        "set securityContext.seccompProfile.type: RuntimeDefault on the container, or remove it and set it on the pod",
      ),
    );
  } else if (seccomp === undefined && podSeccomp === undefined && !isUnknown(get(pod, "securityContext"))) {
    problems.push(
      finding(
        "seccompProfile.type is unset on the container and the pod",
        "set securityContext.seccompProfile.type: RuntimeDefault on the pod",
      ),
    );
  }
  const appArmor = appArmorProblem(get(container, "securityContext", "appArmorProfile", "type"), "securityContext");
  if (appArmor) problems.push(appArmor);
  problems.push(...seLinuxProblems(get(container, "securityContext", "seLinuxOptions"), "securityContext"));
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
  for (const path of HANDLER_HOSTS) {
    const host = get(container, ...path.split("."));
    if (host !== undefined && host !== "" && !isUnknown(host))
      problems.push(
        finding(`${path} is ${show(host)}; a probe or hook may only reach the pod itself`, `remove ${path}`),
      );
  }
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

const KUBERNETES_NAMESPACE = "kubernetes:core/v1:Namespace";
const ENFORCE_LABEL = "pod-security.kubernetes.io/enforce";

/**
 * A Namespace must enforce Pod Security "restricted": a lower level, or none (the cluster's default,
 * usually "privileged"), admits pods that break it without any pod being checked here.
 */
function namespaceProblems(props: Props): Finding[] {
  const labels = get(props, "metadata", "labels");
  const level = get(labels, ENFORCE_LABEL);
  if (isUnknown(labels) || isUnknown(level)) return [cannotVerify(`metadata.labels.${ENFORCE_LABEL}`, WHAT)];
  if (level === "restricted") return [];
  const fix = `label it ${ENFORCE_LABEL}: restricted, or, for a host agent's own namespace, name the exemption containers-least-privilege/${NAMESPACE_POD_SECURITY_CONTROL} with a reason`;
  return [
    finding(
      level === undefined
        ? `has no ${ENFORCE_LABEL} label, so the cluster's default level admits its pods`
        : `${ENFORCE_LABEL} is ${show(level)}, which admits pods that Pod Security "restricted" refuses`,
      fix,
      NAMESPACE_POD_SECURITY_CONTROL,
    ),
  ];
}

export const containersLeastPrivilege: PolicyDefinition = {
  name: "containers-least-privilege",
  // A host agent (node_exporter) is exempted from these alone, its pods from host paths and its
  // namespace from enforcing "restricted"; every other check still holds.
  controls: [HOST_PATHS_CONTROL, NAMESPACE_POD_SECURITY_CONTROL],
  description:
    "Containers run with least privilege: not privileged, no privilege escalation, capabilities dropped (ALL, at most NET_BIND_SERVICE back), " +
    "no host namespaces, host ports, host paths, devices or runtime sockets, seccomp and AppArmor confined (RuntimeDefault or Localhost on Kubernetes, " +
    "no-new-privileges on Docker), no unmasked /proc and no Windows host processes; on Kubernetes also the restricted volume types, " +
    'SELinux container types without user or role, safe sysctls only and probes that reach only the pod: Pod Security "restricted" except runAsNonRoot (containers-run-as-non-root); ' +
    'and every Namespace enforces Pod Security "restricted".',
  remediationSteps:
    "Kubernetes: in each container's securityContext set privileged: false, allowPrivilegeEscalation: false, capabilities.drop: [ALL] " +
    "(add back only NET_BIND_SERVICE), and seccompProfile.type: RuntimeDefault on the pod; remove hostNetwork/hostPID/hostIPC, hostPort, hostPath " +
    "volumes and other volume types than configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected and secret, procMount, " +
    "hostProcess, AppArmor other than RuntimeDefault/Localhost (field or annotation), SELinux types other than container_t and its siblings, " +
    "SELinux user and role, unsafe sysctls, and probe or lifecycle hosts. Docker: privileged: false, no host " +
    "network/PID/IPC mode, no bind mounts of host system paths or runtime sockets, no devices, no unconfined seccomp/apparmor, securityOpts " +
    '["no-new-privileges:true"], capabilities { drops: ["ALL"] }. The runtimes in components/runtime do this for every WorkloadSpec.',
  severity: "high",
  validateResource: (args, report) => {
    const props = args.props;
    if (args.type === DOCKER_CONTAINER) {
      for (const p of dockerProblems(props)) report(`Docker container ${args.name}`, p);
      return;
    }
    if (args.type === KUBERNETES_NAMESPACE) {
      for (const p of namespaceProblems(props)) report(`Namespace ${args.name}`, p);
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
