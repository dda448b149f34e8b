import { ResourceValidationPolicy } from "@pulumi/policy";
import { Props, UNKNOWN, get, isUnknown, show } from "./framework";
import { DOCKER_CONTAINER, ECS_TASK_DEFINITION, containersOf, ecsContainers, ecsWhere, podSpecOf } from "./resources";

/** Why a Docker/ECS `user` value ("uid", "uid:gid", "name") is not an explicit non-root user, or undefined. */
export function rootUserProblem(user: unknown): string | undefined {
  if (isUnknown(user)) return "user is unknown at preview, so it cannot be verified as non-root";
  if (user === undefined || user === null || user === "") return "no user is set, so the image's default user (often root) applies";
  if (typeof user !== "string" && typeof user !== "number") return `user ${show(user)} is not a uid or uid:gid`;
  const name = String(user).split(":")[0].trim();
  if (name === "root" || /^0+$/.test(name)) return `user ${show(user)} is root`;
  return undefined;
}

/**
 * Why a Kubernetes container runs (or may run) as root, or undefined. The container's
 * securityContext overrides the pod's, field by field.
 */
export function kubernetesRootProblem(pod: Props, container: Props): string | undefined {
  const pick = (field: string) => {
    const own = get(container, "securityContext", field);
    return own !== undefined ? own : get(pod, "securityContext", field);
  };
  const runAsUser = pick("runAsUser");
  const runAsNonRoot = pick("runAsNonRoot");
  if (isUnknown(runAsUser) || isUnknown(runAsNonRoot)) return "runAsUser/runAsNonRoot is unknown at preview, so it cannot be verified as non-root";
  if (runAsUser !== undefined && (typeof runAsUser !== "number" || !Number.isInteger(runAsUser) || runAsUser < 0)) {
    return `runAsUser ${show(runAsUser)} is not a uid`;
  }
  if (runAsUser === 0) return "effective runAsUser is 0 (root)";
  if (typeof runAsUser === "number" && runAsUser > 0) return undefined;
  if (runAsNonRoot === true) return undefined;
  return "neither runAsNonRoot: true nor a runAsUser > 0 is set on the container or the pod";
}

export const containersRunAsNonRoot: ResourceValidationPolicy = {
  name: "containers-run-as-non-root",
  description: "Every container runs as an explicit non-root user: Docker containers, every Kubernetes pod-bearing kind and ECS task definitions.",
  remediationSteps:
    "Docker: set `user` to a non-root \"uid:gid\" (WorkloadSpec.user). Kubernetes: set securityContext.runAsNonRoot: true and runAsUser > 0 " +
    "on the pod or on each container, including initContainers and ephemeralContainers, and never runAsUser: 0 on a container. " +
    "ECS: set `user` in every container definition. If the image cannot run unprivileged, build a non-root variant.",
  severity: "critical",
  validateResource: (args, report) => {
    const props = args.props;
    if (args.type === DOCKER_CONTAINER) {
      const problem = rootUserProblem(props.user);
      if (problem) report(`Docker container ${args.name}: ${problem}.`);
      return;
    }
    if (args.type === ECS_TASK_DEFINITION) {
      const { containers, problem } = ecsContainers(props);
      if (problem) report(`ECS task definition ${args.name}: ${problem}; cannot verify its users.`);
      containers.forEach((c, i) => {
        const p = rootUserProblem(c.user);
        if (p) report(`ECS task definition ${args.name} ${ecsWhere(c, i)}: ${p}.`);
      });
      return;
    }
    const pod = podSpecOf(args.type, props);
    if (!pod) return;
    if (pod.spec === UNKNOWN) {
      report(`${args.type} ${args.name}: the pod spec is unknown at preview, so its users cannot be verified.`);
      return;
    }
    for (const { container, where } of containersOf(pod)) {
      const problem = kubernetesRootProblem(pod.spec, container);
      if (problem) report(`${args.type} ${args.name} ${where}: ${problem}.`);
    }
  },
};
