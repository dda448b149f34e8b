/**
 * Where the things policies check live in provider resources: pod specs inside Kubernetes kinds,
 * containers inside pod specs and ECS task definitions.
 */
import { Props, UNKNOWN, asArray, asRecord, get, isUnknown } from "./framework";

export const DOCKER_CONTAINER = "docker:index/container:Container";
export const ECS_TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";

/** Kubernetes kinds that carry a pod spec, and the path to it. */
const POD_SPEC_PATHS: Record<string, readonly string[]> = {
  "kubernetes:core/v1:Pod": ["spec"],
  "kubernetes:apps/v1:Deployment": ["spec", "template", "spec"],
  "kubernetes:apps/v1:StatefulSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:DaemonSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:ReplicaSet": ["spec", "template", "spec"],
  "kubernetes:core/v1:ReplicationController": ["spec", "template", "spec"],
  "kubernetes:batch/v1:Job": ["spec", "template", "spec"],
  "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
};

export function isPodBearing(type: string): boolean {
  return type in POD_SPEC_PATHS;
}

export interface PodSpec {
  /** Dotted path of the pod spec inside the resource, for messages. */
  readonly path: string;
  /** The pod spec, or UNKNOWN when the whole spec is unknown at preview. */
  readonly spec: Props | typeof UNKNOWN;
  /** Pods that run until stopped (not Jobs, CronJobs or run-to-completion Pods). */
  readonly longRunning: boolean;
}

export function podSpecOf(type: string, props: Props): PodSpec | undefined {
  const path = POD_SPEC_PATHS[type];
  if (!path) return undefined;
  const spec = get(props, ...path);
  const batch = type.startsWith("kubernetes:batch/");
  const restartPolicy = get(spec, "restartPolicy");
  const longRunning = !batch && restartPolicy !== "Never" && restartPolicy !== "OnFailure";
  return { path: path.join("."), spec: isUnknown(spec) ? UNKNOWN : asRecord(spec) ?? {}, longRunning };
}

export type ContainerList = "containers" | "initContainers" | "ephemeralContainers";
export const CONTAINER_LISTS: readonly ContainerList[] = ["containers", "initContainers", "ephemeralContainers"];

export interface PodContainer {
  readonly list: ContainerList;
  readonly container: Props;
  /** e.g. `spec.template.spec.initContainers[0] "migrate"`. */
  readonly where: string;
}

export function containersOf(pod: PodSpec, lists: readonly ContainerList[] = CONTAINER_LISTS): PodContainer[] {
  if (pod.spec === UNKNOWN) return [];
  const result: PodContainer[] = [];
  for (const list of lists) {
    asArray(pod.spec[list]).forEach((c, i) => {
      const container = asRecord(c) ?? {};
      const name = typeof container.name === "string" ? ` "${container.name}"` : "";
      result.push({ list, container, where: `${pod.path}.${list}[${i}]${name}` });
    });
  }
  return result;
}

/** An ECS task definition's containers: `containerDefinitions` is a JSON document. */
export function ecsContainers(props: Props): { containers: Props[]; problem?: string } {
  const raw = props.containerDefinitions;
  if (isUnknown(raw)) return { containers: [], problem: "containerDefinitions is unknown at preview" };
  if (typeof raw !== "string") return { containers: asArray(raw).map((c) => asRecord(c) ?? {}) };
  try {
    return { containers: asArray(JSON.parse(raw)).map((c) => asRecord(c) ?? {}) };
  } catch (e) {
    return { containers: [], problem: `containerDefinitions is not valid JSON (${(e as Error).message})` };
  }
}

export const ecsWhere = (c: Props, i: number) => `containerDefinitions[${i}]${typeof c.name === "string" ? ` "${c.name}"` : ""}`;
