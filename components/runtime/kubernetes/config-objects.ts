/**
 * A workload's ConfigMap, Secret and ServiceAccount as plain data, and the checksums that roll its
 * pods when their content changes.
 *
 * ConfigMaps and Secrets are auto-named (no metadata.name): the provider replaces them when their
 * data changes, and the new name in the pod template rolls the pods, with no window where a pod reads
 * a half-updated map.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { FileSpec, KubernetesApiRule, WorkloadSpec } from "../../workload";
import { ObjectMeta, WorkloadMeta } from "./manifest";
import { fileKey } from "./pod";

export interface ConfigMapManifest {
  readonly metadata: ObjectMeta;
  readonly data: Record<string, pulumi.Input<string>>;
}
export interface SecretManifest {
  readonly metadata: ObjectMeta;
  readonly type: "Opaque";
  readonly stringData: Record<string, pulumi.Input<string>>;
}
export interface ServiceAccountManifest {
  readonly metadata: ObjectMeta;
  readonly automountServiceAccountToken: false;
}
export interface RoleManifest {
  readonly metadata: ObjectMeta;
  readonly rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
}
export interface RoleBindingManifest {
  readonly metadata: ObjectMeta;
  readonly roleRef: { apiGroup: "rbac.authorization.k8s.io"; kind: "Role" | "ClusterRole"; name: string };
  readonly subjects: { kind: "ServiceAccount"; name: string; namespace: pulumi.Input<string> }[];
}
/**
 * A workload's RBAC: a Role and RoleBinding for its namespaced rules, a ClusterRole and
 * ClusterRoleBinding for its cluster rules; each pair only when it has such rules; and a Role and
 * RoleBinding in each other namespace it has rules in.
 */
export interface ApiAccessManifests {
  readonly role?: RoleManifest;
  readonly binding?: RoleBindingManifest;
  readonly clusterRole?: RoleManifest;
  readonly clusterBinding?: RoleBindingManifest;
  readonly namespaceRoles?: {
    readonly namespace: string;
    readonly role: RoleManifest;
    readonly binding: RoleBindingManifest;
  }[];
}

/** Annotation on a workload's Role saying why it reads the Kubernetes API. */
export const API_ACCESS_REASON_ANNOTATION = "northstack.io/api-access-reason";

/** Short, stable content digest for names and checksum annotations. */
export function contentDigest(parts: readonly unknown[], length = 64): string {
  return crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, length);
}

export function plainFilesOf(spec: WorkloadSpec): FileSpec[] {
  return (spec.files ?? []).filter((f) => !f.secret);
}

function secretFilesOf(spec: WorkloadSpec): FileSpec[] {
  return (spec.files ?? []).filter((f) => f.secret);
}

/** The container's and every init step's secret env, in that order; they share the workload's Secret. */
function secretEnvOf(spec: WorkloadSpec): [string, pulumi.Input<string>][] {
  return [
    ...Object.entries(spec.secretEnv ?? {}),
    ...(spec.init ?? []).flatMap((step) => Object.entries(step.secretEnv ?? {})),
  ];
}

/** A workload gets a ConfigMap when it has plain files. */
function hasConfigMap(spec: WorkloadSpec): boolean {
  return plainFilesOf(spec).length > 0;
}

/** A workload gets a Secret when it (or an init step) has secret env, or it has secret files. */
function hasSecret(spec: WorkloadSpec): boolean {
  return secretFilesOf(spec).length > 0 || secretEnvOf(spec).length > 0;
}

/** The plain files, one key per file. */
export function configMapManifest(
  spec: WorkloadSpec,
  meta: Pick<WorkloadMeta, "namespace" | "workloadLabels">,
): ConfigMapManifest | undefined {
  if (!hasConfigMap(spec)) return undefined;
  const plainFiles = plainFilesOf(spec);
  return {
    metadata: { namespace: meta.namespace, labels: meta.workloadLabels },
    data: Object.fromEntries(plainFiles.map((f) => [fileKey(f), f.content])),
  };
}

/** Secret env and secret files, every value a Pulumi secret. */
export function secretManifest(
  spec: WorkloadSpec,
  meta: Pick<WorkloadMeta, "namespace" | "labels">,
): SecretManifest | undefined {
  if (!hasSecret(spec)) return undefined;
  const secretFiles = secretFilesOf(spec);
  const secretEnv = secretEnvOf(spec);
  return {
    metadata: { namespace: meta.namespace, labels: meta.labels },
    type: "Opaque",
    stringData: Object.fromEntries([
      ...secretEnv.map(([key, value]) => [key, pulumi.secret(value)]),
      ...secretFiles.map((f) => [fileKey(f), pulumi.secret(f.content)]),
    ]),
  };
}

/**
 * The workload's own ServiceAccount. The account itself never automounts its API token; only a pod
 * of a workload with `kubernetesApi` asks for it (podSpecFor), and cloud identity webhooks project their own.
 */
export function serviceAccountManifest(
  spec: WorkloadSpec,
  meta: Pick<WorkloadMeta, "namespace" | "labels">,
): ServiceAccountManifest | undefined {
  if (!spec.serviceAccount) return undefined;
  return {
    metadata: { name: spec.serviceAccount.name, namespace: meta.namespace, labels: meta.labels },
    automountServiceAccountToken: false,
  };
}

/**
 * The RBAC granting exactly the spec's `kubernetesApi`: its `rules` as a namespaced Role named after
 * the workload, its `clusterRules` as a ClusterRole named `<namespace>-<workload>` (cluster-scoped
 * names must not collide between stacks sharing a cluster), each bound to the workload's
 * ServiceAccount alone and annotated with the reason; each of its `namespaceRules` as a Role of the
 * same name in that namespace, annotated with its own reason. Undefined without `kubernetesApi`
 * (validateWorkload has checked that a ServiceAccount comes with it).
 */
export function apiAccessManifests(
  spec: WorkloadSpec,
  meta: Pick<WorkloadMeta, "namespace" | "labels">,
  namespaceName: string,
): ApiAccessManifests | undefined {
  if (!spec.kubernetesApi || !spec.serviceAccount) return undefined;
  const api = spec.kubernetesApi;
  const subjects = [{ kind: "ServiceAccount" as const, name: spec.serviceAccount.name, namespace: meta.namespace }];
  const annotations = { [API_ACCESS_REASON_ANNOTATION]: api.reason };
  const copy = (rules: readonly KubernetesApiRule[]) =>
    rules.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] }));
  const name = spec.name;
  const clusterName = `${namespaceName}-${spec.name}`;
  const rbac = "rbac.authorization.k8s.io" as const;
  return {
    ...((api.rules ?? []).length > 0
      ? {
          role: {
            metadata: { name, namespace: meta.namespace, labels: meta.labels, annotations },
            rules: copy(api.rules ?? []),
          },
          binding: {
            metadata: { name, namespace: meta.namespace, labels: meta.labels },
            roleRef: { apiGroup: rbac, kind: "Role" as const, name },
            subjects,
          },
        }
      : {}),
    ...((api.clusterRules ?? []).length > 0
      ? {
          clusterRole: {
            metadata: { name: clusterName, labels: meta.labels, annotations },
            rules: copy(api.clusterRules ?? []),
          },
          clusterBinding: {
            metadata: { name: clusterName, labels: meta.labels },
            roleRef: { apiGroup: rbac, kind: "ClusterRole" as const, name: clusterName },
            subjects,
          },
        }
      : {}),
    ...((api.namespaceRules ?? []).length > 0
      ? {
          namespaceRoles: (api.namespaceRules ?? []).map((n) => ({
            namespace: n.namespace,
            role: {
              metadata: {
                name,
                namespace: n.namespace,
                labels: meta.labels,
                annotations: { [API_ACCESS_REASON_ANNOTATION]: n.reason },
              },
              rules: copy(n.rules),
            },
            binding: {
              metadata: { name, namespace: n.namespace, labels: meta.labels },
              roleRef: { apiGroup: rbac, kind: "Role" as const, name },
              subjects,
            },
          })),
        }
      : {}),
  };
}

/**
 * Checksums of the ConfigMap's and Secret's content for the pod template's annotations (the secret
 * one stays a Pulumi secret). They also roll pods when the provider runs with
 * enableConfigMapMutable/enableSecretMutable, where the objects keep their names.
 */
export function contentChecksums(spec: WorkloadSpec): {
  config?: pulumi.Output<string>;
  secret?: pulumi.Output<string>;
} {
  const plainFiles = plainFilesOf(spec);
  const secretFiles = secretFilesOf(spec);
  const secretEnv = secretEnvOf(spec);
  return {
    config: hasConfigMap(spec)
      ? pulumi
          .all(plainFiles.map((f) => pulumi.output(f.content)))
          .apply((contents) => contentDigest(plainFiles.map((f, i) => [f.path, contents[i]])))
      : undefined,
    secret: hasSecret(spec)
      ? pulumi.secret(
          pulumi
            .all([...secretEnv.map(([, v]) => pulumi.output(v)), ...secretFiles.map((f) => pulumi.output(f.content))])
            .apply((values) => contentDigest([secretEnv.map(([k]) => k), secretFiles.map((f) => f.path), values])),
        )
      : undefined,
  };
}
