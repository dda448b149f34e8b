/**
 * Shapes and labels every builder shares. A builder is a pure function from the runtime's settings
 * and a WorkloadSpec to plain manifest data; `KubernetesRuntime` passes that data to `new k8s...`.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { WorkloadSpec, standardLabels } from "../../workload";

export type ObjectMeta = k8s.types.input.meta.v1.ObjectMeta;

/** A namespaced object as plain data: the metadata and spec its resource constructor takes. */
export interface Manifest<Spec> {
  readonly metadata: ObjectMeta;
  readonly spec: Spec;
}

/** Pod Security Standards profile the runtime's namespace enforces, audits and warns on. */
const POD_SECURITY = "restricted";

/** Labels of the objects the runtime owns itself (the Namespace and namespace-wide policies). */
export function runtimeLabels(stack: string): Record<string, string> {
  return {
    "app.kubernetes.io/part-of": "northstack",
    "app.kubernetes.io/managed-by": "pulumi",
    "northstack.io/stack": stack,
  };
}

/** The runtime's Namespace, enforcing Pod Security "restricted" on every pod in it. */
export function namespaceManifest(name: string, labels: Record<string, string>): { metadata: ObjectMeta } {
  return {
    metadata: {
      name,
      labels: {
        ...labels,
        "pod-security.kubernetes.io/enforce": POD_SECURITY,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": POD_SECURITY,
        "pod-security.kubernetes.io/warn": POD_SECURITY,
      },
    },
  };
}

/** Where a workload's objects go and how they are labelled and selected. */
export interface WorkloadMeta {
  /** The runtime's namespace (its Namespace resource's name, so that objects depend on it). */
  readonly namespace: pulumi.Input<string>;
  /** DESIGN.md labels, on every object of the workload. */
  readonly labels: Record<string, string>;
  /** `labels` plus the spec's own (e.g. the migrations label): on the controller, its pods and its ConfigMap. */
  readonly workloadLabels: Record<string, string>;
  /** Selects the workload's pods: Services, PodDisruptionBudgets and NetworkPolicies use it. */
  readonly selector: Record<string, string>;
}

export function workloadMeta(spec: WorkloadSpec, stack: string, namespace: pulumi.Input<string>): WorkloadMeta {
  const labels = standardLabels(spec, stack);
  return { namespace, labels, workloadLabels: { ...labels, ...(spec.labels ?? {}) }, selector: selectorFor(spec) };
}

export function selectorFor(spec: Pick<WorkloadSpec, "name">): Record<string, string> {
  return { "app.kubernetes.io/name": spec.name };
}

/** A workload with volumes runs as a StatefulSet, with one volume claim per replica. */
export function isStateful(spec: Pick<WorkloadSpec, "volumes">): boolean {
  return (spec.volumes ?? []).length > 0;
}
