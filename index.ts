import * as pulumi from "@pulumi/pulumi";
import { parseConfig } from "./components/config";
import { StackSecrets } from "./components/secrets";
import { dev } from "./stacks/dev";
import { prod } from "./stacks/prod";
import { staging } from "./stacks/staging";

// Validation throws here, before any resource is registered.
const config = parseConfig(pulumi.runtime.allConfig(), pulumi.getStack());
const secrets = new StackSecrets("secrets", { given: config.secrets });
const compositions = { dev, staging, prod };

export = compositions[config.environment](config, secrets);
