import {
  Finding,
  PolicyDefinition,
  Props,
  UNKNOWN,
  asArray,
  cannotVerify,
  finding,
  get,
  isUnknown,
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

const WHAT = "its limits and health checks";
const present = (v: unknown) => v !== undefined && v !== null && v !== "" && v !== 0 && v !== "0";
const RESOURCES_FIX =
  "give the WorkloadSpec resources (cpuMillis, memoryMb), or set resources.requests and resources.limits for cpu and memory";

function dockerProblems(props: Props): Finding[] {
  const problems = unknownFindings(props, ["memory", "cpus", "cpuShares", "healthcheck.tests"], WHAT);
  if (!isUnknown(props.memory) && !present(props.memory))
    problems.push(finding("has no memory limit", "set memory (WorkloadSpec resources.memoryMb)"));
  if (!isUnknown(props.cpus) && !isUnknown(props.cpuShares) && !present(props.cpus) && !present(props.cpuShares)) {
    problems.push(finding("has no CPU limit (cpus or cpuShares)", "set cpus (WorkloadSpec resources.cpuMillis)"));
  }
  const tests = get(props, "healthcheck", "tests");
  if (
    !isUnknown(tests) &&
    !isUnknown(props.healthcheck) &&
    (asArray(tests).length === 0 || asArray(tests)[0] === "NONE")
  ) {
    problems.push(finding("has no health check", "give the WorkloadSpec a health check (healthcheck.tests)"));
  }
  return problems;
}

function kubernetesProblems(container: Props, probes: boolean): Finding[] {
  const fields = [
    "resources.requests.cpu",
    "resources.requests.memory",
    "resources.limits.cpu",
    "resources.limits.memory",
  ];
  const problems = unknownFindings(container, probes ? [...fields, "readinessProbe", "livenessProbe"] : fields, WHAT);
  for (const field of fields) {
    const value = get(container, ...field.split("."));
    if (!isUnknown(value) && unknownFindings(container, [field], WHAT).length === 0 && !present(value))
      problems.push(finding(`${field} is not set`, RESOURCES_FIX));
  }
  if (probes) {
    for (const probe of ["readinessProbe", "livenessProbe"]) {
      if (container[probe] === undefined)
        problems.push(finding(`${probe} is not set`, `set ${probe} (WorkloadSpec health)`));
    }
  }
  return problems;
}

export const workloadsHaveLimitsAndProbes: PolicyDefinition = {
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
      if (isUnknown(props.restart) || isUnknown(props.mustRun)) {
        report(
          `Docker container ${args.name}`,
          cannotVerify(isUnknown(props.restart) ? "restart" : "mustRun", "whether it is a long-running service"),
        );
        return;
      }
      if (props.restart === "no" || props.mustRun === false) return;
      for (const p of dockerProblems(props)) report(`Docker container ${args.name}`, p);
      return;
    }
    if (args.type === ECS_TASK_DEFINITION) {
      const { containers, problem } = ecsContainers(props, WHAT);
      if (problem) report(`ECS task definition ${args.name}`, problem);
      containers.forEach((c, i) => {
        const where = `ECS task definition ${args.name} ${ecsWhere(c, i)}`;
        if (!present(c.memory) && !present(c.memoryReservation) && !present(props.memory))
          report(
            where,
            finding("has no memory limit", "set memory or memoryReservation on the container (or memory on the task)"),
          );
        if (c.essential !== false && get(c, "healthCheck", "command") === undefined)
          report(where, finding("has no healthCheck", "set healthCheck.command on the container"));
      });
      return;
    }
    const pod = podSpecOf(args.type, props);
    if (!pod || !pod.longRunning) return;
    const subject = `${args.type} ${args.name}`;
    if (pod.spec === UNKNOWN) {
      report(subject, cannotVerify(pod.path, WHAT));
      return;
    }
    for (const f of unknownFindings(pod.spec, containerListPaths(["containers", "initContainers"]), WHAT, pod.path))
      report(subject, f);
    for (const { container, where } of containersOf(pod, ["containers"])) {
      for (const p of kubernetesProblems(container, true)) report(`${subject} ${where}`, p);
    }
    for (const { container, where } of containersOf(pod, ["initContainers"])) {
      // Sidecars (restartPolicy Always) are long-running; plain init containers only need limits.
      for (const p of kubernetesProblems(container, get(container, "restartPolicy") === "Always"))
        report(`${subject} ${where}`, p);
    }
  },
};
