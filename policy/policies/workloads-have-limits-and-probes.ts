import { ResourceValidationPolicy } from "@pulumi/policy";
import { Props, UNKNOWN, asArray, get, isUnknown } from "./framework";
import { DOCKER_CONTAINER, ECS_TASK_DEFINITION, containersOf, ecsContainers, ecsWhere, podSpecOf } from "./resources";

const present = (v: unknown) => v !== undefined && v !== null && v !== "" && v !== 0 && v !== "0";

function dockerProblems(props: Props): string[] {
  const problems: string[] = [];
  if (!present(props.memory)) problems.push("has no memory limit");
  if (!present(props.cpus) && !present(props.cpuShares)) problems.push("has no CPU limit (cpus or cpuShares)");
  const tests = get(props, "healthcheck", "tests");
  if (isUnknown(tests)) problems.push("has a health check unknown at preview");
  else if (asArray(tests).length === 0 || asArray(tests)[0] === "NONE") problems.push("has no health check");
  return problems;
}

function kubernetesProblems(container: Props): string[] {
  const problems: string[] = [];
  for (const kind of ["requests", "limits"]) {
    for (const resource of ["cpu", "memory"]) {
      if (!present(get(container, "resources", kind, resource))) problems.push(`resources.${kind}.${resource} is not set`);
    }
  }
  for (const probe of ["readinessProbe", "livenessProbe"]) {
    if (get(container, probe) === undefined) problems.push(`${probe} is not set`);
  }
  return problems;
}

export const workloadsHaveLimitsAndProbes: ResourceValidationPolicy = {
  name: "workloads-have-limits-and-probes",
  description:
    "Every long-running workload declares resource requests and limits and a health check (Docker healthcheck, Kubernetes readiness and liveness probes), " +
    "so that one service cannot starve the rest and a broken one is restarted or taken out of rotation.",
  remediationSteps:
    "Give the WorkloadSpec `resources` (cpuMillis, memoryMb) and a `health` check; the runtimes render them into Docker memory/cpus/healthcheck and " +
    "Kubernetes requests/limits and readiness/liveness probes. For hand-written manifests set resources.requests and resources.limits for cpu and " +
    "memory and both probes on every container. Jobs and CronJobs are not long-running and are not checked.",
  severity: "medium",
  validateResource: (args, report) => {
    const props = args.props;
    if (args.type === DOCKER_CONTAINER) {
      // Run-to-completion containers (migrations) have restart "no"; they are jobs, not services.
      if (props.restart === "no" || props.mustRun === false) return;
      for (const p of dockerProblems(props)) report(`Docker container ${args.name} ${p}.`);
      return;
    }
    if (args.type === ECS_TASK_DEFINITION) {
      const { containers, problem } = ecsContainers(props);
      if (problem) report(`ECS task definition ${args.name}: ${problem}; cannot verify limits and health checks.`);
      containers.forEach((c, i) => {
        const where = `ECS task definition ${args.name} ${ecsWhere(c, i)}`;
        if (!present(c.memory) && !present(c.memoryReservation) && !present(props.memory)) report(`${where} has no memory limit.`);
        if (c.essential !== false && get(c, "healthCheck", "command") === undefined) report(`${where} has no healthCheck.`);
      });
      return;
    }
    const pod = podSpecOf(args.type, props);
    if (!pod || !pod.longRunning) return;
    if (pod.spec === UNKNOWN) {
      report(`${args.type} ${args.name}: the pod spec is unknown at preview, so limits and probes cannot be verified.`);
      return;
    }
    for (const { container, where } of containersOf(pod, ["containers"])) {
      for (const p of kubernetesProblems(container)) report(`${args.type} ${args.name} ${where}: ${p}.`);
    }
    for (const { container, where } of containersOf(pod, ["initContainers"])) {
      // Sidecars (restartPolicy Always) are long-running; plain init containers only need limits.
      const problems = kubernetesProblems(container).filter((p) => get(container, "restartPolicy") === "Always" || p.startsWith("resources."));
      for (const p of problems) report(`${args.type} ${args.name} ${where}: ${p}.`);
    }
  },
};
