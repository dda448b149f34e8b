import {
  Finding,
  PolicyDefinition,
  Props,
  UNKNOWN,
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

/**
 * Why a Kubernetes container runs (or may run) as root. The container's securityContext overrides
 * the pod's, field by field.
 */
export function kubernetesRootProblems(pod: Props, container: Props): Finding[] {
  const unknown = [
    ...unknownFindings(pod, ["securityContext.runAsUser", "securityContext.runAsNonRoot"], WHAT, "pod"),
    ...unknownFindings(container, ["securityContext.runAsUser", "securityContext.runAsNonRoot"], WHAT),
  ];
  if (unknown.length > 0) return unknown;
  const pick = (field: string) => {
    const own = get(container, "securityContext", field);
    return own !== undefined ? own : get(pod, "securityContext", field);
  };
  const runAsUser = pick("runAsUser");
  const runAsNonRoot = pick("runAsNonRoot");
  const id = uid(runAsUser);
  if (runAsUser !== undefined && (id === undefined || id < 0))
    return [finding(`runAsUser ${show(runAsUser)} is not a uid`, SET_K8S_USER)];
  if (id === 0)
    return [
      finding(
        "effective runAsUser is 0 (root)",
        "set runAsUser to a uid > 0 (e.g. 1000) and runAsNonRoot: true; never runAsUser: 0 on a container",
      ),
    ];
  if (id !== undefined && id > 0) return [];
  if (runAsNonRoot === true || runAsNonRoot === "true") return [];
  return [finding("neither runAsNonRoot: true nor a runAsUser > 0 is set on the container or the pod", SET_K8S_USER)];
}

export const containersRunAsNonRoot: PolicyDefinition = {
  name: "containers-run-as-non-root",
  description:
    "Every container runs as an explicit non-root user: Docker containers, every Kubernetes pod-bearing kind and ECS task definitions.",
  remediationSteps:
    'Docker: set `user` to a non-root "uid:gid" (WorkloadSpec.user). Kubernetes: set securityContext.runAsNonRoot: true and runAsUser > 0 ' +
    "on the pod or on each container, including initContainers and ephemeralContainers, and never runAsUser: 0 on a container. " +
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
    for (const { container, where } of containersOf(pod)) {
      for (const f of kubernetesRootProblems(pod.spec, container)) report(`${subject} ${where}`, f);
    }
  },
};
