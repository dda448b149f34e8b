/**
 * `kubernetesApi` as RBAC: namespaced rules become a Role, cluster rules a ClusterRole named after
 * the namespace and the workload, each bound to the workload's ServiceAccount alone; cluster rules
 * may only read.
 */
import { apiAccessManifests } from "../../components/runtime/kubernetes/config-objects";
import { WorkloadSpec, validateWorkload } from "../../components/workload";
import { validateObject } from "../helpers/k8s-schema";

const meta = { namespace: "northstack-prod", labels: { "app.kubernetes.io/name": "reader" } };
const reader: WorkloadSpec = {
  name: "reader",
  component: "monitoring",
  image: "nginx:1.27",
  health: { exec: ["true"] },
  resources: { cpuMillis: 100, memoryMb: 64 },
  user: { uid: 101, gid: 101 },
  serviceAccount: { name: "reader" },
  kubernetesApi: {
    rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] }],
    clusterRules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["list", "watch"] }],
    reason: "reads pods and nodes",
  },
};

test("cluster rules become a ClusterRole named <namespace>-<workload>, bound to the workload's account alone", () => {
  const access = apiAccessManifests(reader, meta, "northstack-prod")!;
  expect(access.role?.rules).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] }]);
  expect(access.clusterRole).toEqual({
    metadata: {
      name: "northstack-prod-reader",
      labels: meta.labels,
      annotations: { "northstack.io/api-access-reason": "reads pods and nodes" },
    },
    rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["list", "watch"] }],
  });
  expect(access.clusterBinding).toEqual({
    metadata: { name: "northstack-prod-reader", labels: meta.labels },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "northstack-prod-reader" },
    subjects: [{ kind: "ServiceAccount", name: "reader", namespace: "northstack-prod" }],
  });
  for (const [kind, manifest] of [
    ["ClusterRole", access.clusterRole],
    ["ClusterRoleBinding", access.clusterBinding],
  ] as const)
    expect(
      validateObject(`kubernetes:rbac.authorization.k8s.io/v1:${kind}`, {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind,
        ...manifest,
      }),
    ).toEqual([]);
});

test("a workload with cluster rules alone gets no Role", () => {
  const clusterOnly = { ...reader, kubernetesApi: { ...reader.kubernetesApi!, rules: undefined } };
  expect(() => validateWorkload(clusterOnly)).not.toThrow();
  const access = apiAccessManifests(clusterOnly, meta, "northstack-prod")!;
  expect(access.role).toBeUndefined();
  expect(access.binding).toBeUndefined();
  expect(access.clusterRole?.metadata.name).toBe("northstack-prod-reader");
});

test.each<[string, WorkloadSpec["kubernetesApi"], RegExp]>([
  [
    "a cluster-wide write",
    { clusterRules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["patch"] }], reason: "r" },
    /kubernetesApi.clusterRules\[0\]: verb "patch" is not allowed; allowed: get, list, watch$/,
  ],
  [
    "a cluster-wide wildcard",
    { clusterRules: [{ apiGroups: [""], resources: ["*"], verbs: ["list"] }], reason: "r" },
    /kubernetesApi.clusterRules\[0\]: "\*" is a wildcard/,
  ],
  ["neither rules nor cluster rules", { rules: [], clusterRules: [], reason: "r" }, /kubernetesApi.rules is empty/],
])("kubernetesApi with %s is refused", (_, kubernetesApi, message) => {
  expect(() => validateWorkload({ ...reader, kubernetesApi })).toThrow(message);
});
