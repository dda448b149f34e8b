import {
  Finding,
  PolicyDefinition,
  Props,
  UNKNOWN,
  asBool,
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

const WHAT = "a non-root user";
const SET_USER = 'set user to a non-root uid:gid such as "1000:1000" (WorkloadSpec.user)';
const SET_K8S_USER =
  "set securityContext.runAsNonRoot: true and runAsUser to a uid > 0 (e.g. 1000) on the pod or on this container";

/** Why a Docker/ECS `user` value ("uid", "uid:gid", "name") is not an explicit non-root user, or undefined. */
export function rootUserProblem(user: unknown): Finding | undefined {
  if (isUnknown(user)) return cannotVerify("user", WHAT);
  if (user === undefined || user === null || user === "")
    return finding("no user is set, so the image's default user (often root) applies", SET_USER);
  if (typeof user !== "string" && typeof user !== "number")
    return finding(`user ${show(user)} is not a uid or uid:gid`, SET_USER);
  const name = String(user).split(":")[0].trim();
  if (name === "root" || /^0+$/.test(name)) return finding(`user ${show(user)} is root`, SET_USER);
  return undefined;
}

/** A uid as Kubernetes accepts it after a round trip: an integer, or a string of digits. */
function uid(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^\d+$/.test(value)) return Number(value);
  return undefined;
}

const NEVER_ROOT = "set runAsUser to a uid > 0 (e.g. 1000) or remove it; never runAsUser: 0 on the pod or a container";

/** Pod-level settings that Pod Security "restricted" forbids whatever the containers set: runAsUser 0, runAsNonRoot false. */
export function kubernetesPodRootProblems(pod: Props): Finding[] {
  const unknown = unknownFindings(pod, ["securityContext.runAsUser", "securityContext.runAsNonRoot"], WHAT, "pod");
  if (unknown.length > 0) return unknown;
  const problems: Finding[] = [];
  const runAsUser = get(pod, "securityContext", "runAsUser");
  const id = uid(runAsUser);
  if (runAsUser !== undefined && (id === undefined || id < 0))
    problems.push(finding(`securityContext.runAsUser ${show(runAsUser)} is not a uid`, SET_K8S_USER));
  if (id === 0) problems.push(finding("securityContext.runAsUser is 0 (root)", NEVER_ROOT));
  const runAsNonRoot = get(pod, "securityContext", "runAsNonRoot");
  if (runAsNonRoot === false || runAsNonRoot === "false")
    problems.push(
      finding("securityContext.runAsNonRoot is false", "set securityContext.runAsNonRoot: true on the pod"),
    );
  return problems;
}

/**
 * Why a Kubernetes container runs (or may run) as root, as Pod Security "restricted" reads it:
 * runAsNonRoot must be true on the container, or unset there and true on the pod (a container's
 * `false` overrides the pod's `true`); a runAsUser > 0 alone is not enough; runAsUser 0 is refused
 * at any level. The pod's own values, unknown ones included, are reported by `kubernetesPodRootProblems`.
 */
export function kubernetesRootProblems(pod: Props, container: Props): Finding[] {
  const unknown = unknownFindings(container, ["securityContext.runAsUser", "securityContext.runAsNonRoot"], WHAT);
  if (unknown.length > 0) return unknown;
  const problems: Finding[] = [];
  const runAsUser = get(container, "securityContext", "runAsUser");
  const id = uid(runAsUser);
  if (runAsUser !== undefined && (id === undefined || id < 0))
    problems.push(finding(`runAsUser ${show(runAsUser)} is not a uid`, SET_K8S_USER));
  if (id === 0) problems.push(finding("securityContext.runAsUser is 0 (root)", NEVER_ROOT));
  const own = get(container, "securityContext", "runAsNonRoot");
  const inherited = get(pod, "securityContext", "runAsNonRoot");
  if (own === false || own === "false") {
    problems.push(
      finding(
        "securityContext.runAsNonRoot is false on the container, which overrides the pod",
        "set runAsNonRoot: true on the container or remove it so the pod's true applies",
      ),
    );
  } else if (
    own !== true &&
    own !== "true" &&
    asBool(inherited) === undefined &&
    !isUnknown(inherited) &&
    !isUnknown(pod.securityContext)
  ) {
    // An unknown or false pod value is reported once, on the pod.
    const why =
      id !== undefined && id > 0
        ? `runAsUser ${id} is set but runAsNonRoot: true is not (on the container or the pod)`
        : "runAsNonRoot: true is not set on the container or the pod";
    problems.push(finding(why, SET_K8S_USER));
  }
  return problems;
}

export const containersRunAsNonRoot: PolicyDefinition = {
  name: "containers-run-as-non-root",
  description:
    "Every container runs as an explicit non-root user: Docker containers, every Kubernetes pod-bearing kind and ECS task definitions.",
  remediationSteps:
    'Docker: set `user` to a non-root "uid:gid" (WorkloadSpec.user). Kubernetes: set securityContext.runAsNonRoot: true and runAsUser > 0 ' +
    "on the pod or on each container, including initContainers and ephemeralContainers; never runAsNonRoot: false on a container, " +
    'never runAsUser: 0 on the pod or a container (Pod Security "restricted"). ' +
    "ECS: set `user` in every container definition. If the image cannot run unprivileged, build a non-root variant.",
  severity: "critical",
  validateResource: (args, report) => {
    const props = args.props;
    if (args.type === DOCKER_CONTAINER) {
      const problem = rootUserProblem(props.user);
      if (problem) report(`Docker container ${args.name}`, problem);
      return;
    }
    if (args.type === ECS_TASK_DEFINITION) {
      const { containers, problem } = ecsContainers(props, "its users");
      if (problem) report(`ECS task definition ${args.name}`, problem);
      containers.forEach((c, i) => {
        const p = rootUserProblem(c.user);
        if (p) report(`ECS task definition ${args.name} ${ecsWhere(c, i)}`, p);
      });
      return;
    }
    const pod = podSpecOf(args.type, props);
    if (!pod) return;
    const subject = `${args.type} ${args.name}`;
    if (pod.spec === UNKNOWN) {
      report(subject, cannotVerify(pod.path, "its containers' users"));
      return;
    }
    for (const f of unknownFindings(pod.spec, containerListPaths(), "its containers' users", pod.path))
      report(subject, f);
    for (const f of kubernetesPodRootProblems(pod.spec)) report(`${subject} ${pod.path}`, f);
    for (const { container, where } of containersOf(pod)) {
      for (const f of kubernetesRootProblems(pod.spec, container)) report(`${subject} ${where}`, f);
    }
  },
};
