import { NorthstackConfig } from "../components/config";
import { StackSecrets } from "../components/secrets";
import { cloudStack } from "./cloud";

/** prod: the staging system with HA data services, deletion protection and DR copies; see cloudStack. */
export function prod(cfg: NorthstackConfig, secrets: StackSecrets) {
  return cloudStack(cfg, secrets);
}
