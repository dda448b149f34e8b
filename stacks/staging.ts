import { NorthstackConfig } from "../components/config";
import { StackSecrets } from "../components/secrets";
import { cloudStack } from "./cloud";

/** staging: small, single-zone data services on Kubernetes; see cloudStack. */
export function staging(cfg: NorthstackConfig, secrets: StackSecrets) {
  return cloudStack(cfg, secrets);
}
