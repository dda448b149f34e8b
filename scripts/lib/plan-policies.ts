import * as fs from "fs";
import { evaluatePolicies, PolicyPackConfigDocument, validatePolicyPackConfig } from "../../policy/evaluate";
import { StackPlan } from "./plan";

export interface PolicyResult {
  readonly policy: string;
  readonly enforcementLevel: string;
  readonly urn: string | null;
  readonly message: string;
}

/**
 * A pack config file (policy/config.<environment>.json) as a document, checked against the pack:
 * throws on a missing file, JSON that does not parse, or any unknown policy, property or level.
 */
export function readPolicyConfig(policyConfigFile: string): PolicyPackConfigDocument {
  if (!fs.existsSync(policyConfigFile)) throw new Error(`policy config ${policyConfigFile} does not exist`);
  const document = JSON.parse(fs.readFileSync(policyConfigFile, "utf8")) as PolicyPackConfigDocument;
  validatePolicyPackConfig(document);
  return document;
}

/** Runs the policy pack over a plan with the given pack config file. */
export async function evaluatePlan(plan: StackPlan, policyConfigFile: string): Promise<PolicyResult[]> {
  const policyConfig = readPolicyConfig(policyConfigFile);
  return evaluatePolicies(plan.resources, { stack: plan.stack, policyConfig, config: plan.config });
}
