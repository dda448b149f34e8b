import * as pulumi from "@pulumi/pulumi";
import { bootstrapProgram, parseBootstrapConfig } from "./program";

const config = new pulumi.Config();
export = bootstrapProgram(
  parseBootstrapConfig(
    (key) => config.get(key),
    (key) => config.getSecret(key),
  ),
);
