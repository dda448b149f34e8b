/**
 * The Kubernetes runtime. Pure builders decide the manifests (pod, network policy, exposure);
 * `KubernetesRuntime` registers them. Importers keep the path `./runtime/kubernetes`; tests of the
 * builders import the builder's own module.
 */
export type { DataServiceAccess, Exposure, KubernetesRuntimeArgs } from "./args";
export { validateKubernetesRuntimeArgs } from "./args";
export { PENDING_ADDRESS } from "./exposure";
export { EKS_POD_IDENTITY_AGENT, podIdentityEgress } from "./network-policy";
export * from "./runtime";
