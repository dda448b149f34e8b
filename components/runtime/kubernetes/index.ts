/**
 * The Kubernetes runtime. Importers keep the path `./runtime/kubernetes`.
 */
export type { DataServiceAccess, Exposure, KubernetesRuntimeArgs } from "./args";
export { validateKubernetesRuntimeArgs } from "./args";
export * from "./runtime";
