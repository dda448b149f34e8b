/**
 * The names the Docker runtime gives its containers and its network: pure, with no provider import,
 * so the monitoring config can name containers (cAdvisor's relabelling) without loading
 * @pulumi/docker on the stacks that do not run on Docker.
 */
import { WorkloadSpec } from "../workload";

/**
 * The container name of each replica: `northstack-<stack>-<workload>`, with `-1`, `-2`... when there
 * are several. Each is also its DNS name on the stack's network, where the workload's own name is an
 * alias shared by all its replicas.
 */
export function containerNames(stack: string, spec: Pick<WorkloadSpec, "name" | "kind" | "replicas">): string[] {
  const replicas = spec.kind === "job" ? 1 : (spec.replicas ?? 1);
  if (replicas === 1) return [containerNameOf(stack, spec.name)];
  return Array.from({ length: replicas }, (_, i) => containerNameOf(stack, spec.name, i + 1));
}

/**
 * The container name of replica `replica` (1-based) of a workload with several, or of its only one.
 * The parts may be relabelling references ($1), to build the name inside a Prometheus rule.
 */
export function containerNameOf(stack: string, workload: string, replica?: number | string): string {
  const prefix = `northstack-${stack}-${workload}`;
  return replica === undefined ? prefix : `${prefix}-${replica}`;
}

/** The stack's bridge network: the stack's scope on the engine, as a namespace is on Kubernetes. */
export function dockerNetworkName(stack: string): string {
  return `northstack-${stack}`;
}
