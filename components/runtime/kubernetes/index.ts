/**
 * The Kubernetes runtime. Pure builders decide every manifest (pod, controllers, config objects,
 * network policy, exposure); `KubernetesRuntime` only registers them. Importers keep the path
 * `./runtime/kubernetes`; tests of the builders import the builder's own module.
 */
export type { DataServiceAccess, Exposure, KubernetesRuntimeArgs, PublicEgress } from "./args";
export { validateKubernetesRuntimeArgs } from "./args";
export { contentDigest } from "./config-objects";
export { JOB_AWAIT_TIMEOUT, JOB_DEADLINE_SECONDS } from "./controllers";
export { PENDING_ADDRESS } from "./exposure";
export { EKS_POD_IDENTITY_AGENT, WIDE_EGRESS_REASON_ANNOTATION, podIdentityEgress } from "./network-policy";
export { KubernetesRuntime } from "./runtime";
