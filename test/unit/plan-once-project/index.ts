// Registers one resource as it loads, as the repository's index.ts does (test/unit/plan-stack.test.ts).
import * as pulumi from "@pulumi/pulumi";

export const name = new pulumi.ComponentResource("plan-once:index:Thing", "thing").urn;
