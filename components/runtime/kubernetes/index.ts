/**
 * The Kubernetes runtime. Pure builders decide the manifests (`pod`, ...); `KubernetesRuntime`
 * only registers them. Importers keep the path `./runtime/kubernetes`.
 */
export * from "./runtime";
