/**
 * Where the things policies check live in provider resources: pod specs inside Kubernetes kinds,
 * containers inside pod specs and ECS task definitions.
 */
import { Finding, Props, UNKNOWN, asArray, asRecord, cannotVerify, finding, get, isUnknown } from "./framework";

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
  "kubernetes:batch/v1beta1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
  "kubernetes:core/v1:PodTemplate": ["template", "spec"],
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
  /** The pod's own metadata (annotations): the resource's for a Pod, the template's otherwise. */
  readonly metadata: unknown;
}

export function podSpecOf(type: string, props: Props): PodSpec | undefined {
  const path = POD_SPEC_PATHS[type];
  if (!path) return undefined;
  const spec = get(props, ...path);
  const batch = type.startsWith("kubernetes:batch/");
  const restartPolicy = get(spec, "restartPolicy");
  const longRunning = !batch && restartPolicy !== "Never" && restartPolicy !== "OnFailure";
  const metadata = get(props, ...path.slice(0, -1), "metadata");
  return { path: path.join("."), spec: isUnknown(spec) ? UNKNOWN : (asRecord(spec) ?? {}), longRunning, metadata };
}

export type ContainerList = "containers" | "initContainers" | "ephemeralContainers";
export const CONTAINER_LISTS: readonly ContainerList[] = ["containers", "initContainers", "ephemeralContainers"];

export interface PodContainer {
  readonly list: ContainerList;
  readonly container: Props;
  /** e.g. `spec.template.spec.initContainers[0] "migrate"`. */
  readonly where: string;
}

/**
 * The containers of a pod spec whose entries are known. Callers report unknown lists and entries
 * through `unknownFindings(pod.spec, ["containers[]", ...])`.
 */
export function containersOf(pod: PodSpec, lists: readonly ContainerList[] = CONTAINER_LISTS): PodContainer[] {
  if (pod.spec === UNKNOWN) return [];
  const result: PodContainer[] = [];
  for (const list of lists) {
    asArray(pod.spec[list]).forEach((c, i) => {
      if (isUnknown(c)) return;
      const container = asRecord(c) ?? {};
      const name = typeof container.name === "string" ? ` "${container.name}"` : "";
      result.push({ list, container, where: `${pod.path}.${list}[${i}]${name}` });
    });
  }
  return result;
}

/** `unknownFindings` paths of the container lists themselves and their entries. */
export const containerListPaths = (lists: readonly ContainerList[] = CONTAINER_LISTS) => lists.map((l) => `${l}[]`);

/** An ECS task definition's containers: `containerDefinitions` is a JSON document. */
export function ecsContainers(props: Props, what: string): { containers: Props[]; problem?: Finding } {
  const raw = props.containerDefinitions;
  if (isUnknown(raw)) return { containers: [], problem: cannotVerify("containerDefinitions", what) };
  if (typeof raw !== "string") return { containers: asArray(raw).map((c) => asRecord(c) ?? {}) };
  try {
    return { containers: asArray(JSON.parse(raw)).map((c) => asRecord(c) ?? {}) };
  } catch (e) {
    return {
      containers: [],
      problem: finding(
        `containerDefinitions is not valid JSON (${(e as Error).message}), so ${what} cannot be verified`,
        "pass containerDefinitions as JSON.stringify of the container definitions",
      ),
    };
  }
}

export const ecsWhere = (c: Props, i: number) =>
  `containerDefinitions[${i}]${typeof c.name === "string" ? ` "${c.name}"` : ""}`;
