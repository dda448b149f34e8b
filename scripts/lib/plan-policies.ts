import * as fs from "fs";
import { evaluatePolicies } from "../../policy/evaluate";
import { StackPlan } from "./plan";

export interface PolicyResult {
  readonly policy: string;
  readonly enforcementLevel: string;
  readonly urn: string | null;
  readonly message: string;
}

/** Runs the policy pack over a plan with the given pack config file (policy/config.<stack>.json). */
export async function evaluatePlan(plan: StackPlan, policyConfigFile: string): Promise<PolicyResult[]> {
  if (!fs.existsSync(policyConfigFile)) throw new Error(`policy config ${policyConfigFile} does not exist`);
  const policyConfig = JSON.parse(fs.readFileSync(policyConfigFile, "utf8")) as Record<string, unknown>;
  return evaluatePolicies(plan.resources, { stack: plan.stack, policyConfig, config: plan.config });
}
