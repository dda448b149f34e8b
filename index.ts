import * as pulumi from "@pulumi/pulumi";
import { parseConfig } from "./components/config";
import { StackSecrets } from "./components/secrets";

// Validation throws here, before any resource is registered.
const config = parseConfig(pulumi.runtime.allConfig(), pulumi.getStack());
const secrets = new StackSecrets("secrets", { given: config.secrets });

// The environment's profile picks the composition: Docker containers, or Kubernetes over a cloud.
// Each is loaded only when chosen, so a stack never loads the providers of another runtime
// (each provider package takes about half a second to load).
/* eslint-disable @typescript-eslint/no-require-imports -- a static import would load every provider */
const compositions = {
  docker: () => (require("./stacks/dev") as typeof import("./stacks/dev")).dev,
  kubernetes: () => (require("./stacks/cloud") as typeof import("./stacks/cloud")).cloud,
};
/* eslint-enable @typescript-eslint/no-require-imports */

export = compositions[config.profile.runtime]()(config, secrets);
