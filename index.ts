import * as pulumi from "@pulumi/pulumi";
import { parseConfig } from "./components/config";
import { StackSecrets } from "./components/secrets";
import { cloud } from "./stacks/cloud";
import { dev } from "./stacks/dev";

// Validation throws here, before any resource is registered.
const config = parseConfig(pulumi.runtime.allConfig(), pulumi.getStack());
const secrets = new StackSecrets("secrets", { given: config.secrets });
// The environment's profile picks the composition: Docker containers, or Kubernetes over a cloud.
const compositions = { docker: dev, kubernetes: cloud };

export = compositions[config.profile.runtime](config, secrets);
