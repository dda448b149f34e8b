/**
 * Shapes and labels every builder shares. A builder is a pure function from the runtime's settings
 * and a WorkloadSpec to plain manifest data; `KubernetesRuntime` passes that data to `new k8s...`.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PodSecurityLevel, WorkloadSpec, standardLabels } from "../../workload";

export type ObjectMeta = k8s.types.input.meta.v1.ObjectMeta;

/** A namespaced object as plain data: the metadata and spec its resource constructor takes. */
export interface Manifest<Spec> {
  readonly metadata: ObjectMeta;
  readonly spec: Spec;
}

/** Labels of the objects the runtime owns itself (the Namespace and namespace-wide policies). */
export function runtimeLabels(stack: string): Record<string, string> {
  return {
    "app.kubernetes.io/part-of": "northstack",
    "app.kubernetes.io/managed-by": "pulumi",
    "northstack.io/stack": stack,
  };
}

/**
 * A Namespace enforcing, auditing and warning on one Pod Security level for every pod in it: the
 * runtime's own is "restricted"; a workload's own namespace (WorkloadSpec.ownNamespace) gets the
 * least level that admits its pod, and annotations that say why (its policy exemption).
 */
export function namespaceManifest(
  name: string,
  labels: Record<string, string>,
  level: PodSecurityLevel = "restricted",
  annotations?: Record<string, string>,
): { metadata: ObjectMeta } {
  return {
    metadata: {
      name,
      labels: {
        ...labels,
        "pod-security.kubernetes.io/enforce": level,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": level,
        "pod-security.kubernetes.io/warn": level,
      },
      ...(annotations && Object.keys(annotations).length ? { annotations } : {}),
    },
  };
}

/** Where a workload's pods run: its own namespace `<runtime namespace>-<ownNamespace>`, or the runtime's. */
export function podNamespaceName(spec: Pick<WorkloadSpec, "ownNamespace">, runtimeNamespace: string): string {
  return spec.ownNamespace ? `${runtimeNamespace}-${spec.ownNamespace}` : runtimeNamespace;
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
