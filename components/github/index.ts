export * from "./aws-oidc";
export * from "./gcp-oidc";
export * from "./oidc";
export * from "./repository";
