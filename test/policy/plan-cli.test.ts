/**
 * The pack wired into `npm run plan`: `--policy-config FILE` picks the pack config, and a mandatory
 * violation exits 1 naming the rule. On dev no `--set` can break a rule (parseConfig rejects every
 * such value first, exit 2), so the breaking override is applied to staging, whose config allows
 * what prod's policy config forbids.
 */
import { runPlanCli as plan } from "../helpers/plan-process";

test("an override that breaks a rule, under the prod pack config, exits 1 and names the rule", () => {
  const { code, stdout, stderr } = plan(
    "staging",
    "--set",
    "northstack:cloud=aws",
    "--set",
    "northstack:deletionProtection=false",
    "--policy-config",
    "policy/config.prod.json",
  );
  expect(code).toBe(1);
  expect(stdout).toMatch(
    /\[mandatory\] backups-and-deletion-protection \(urn:[^)]*rds\/instance:Instance::[^)]*\): .*deletionProtection is false/,
  );
  // Planning staging warns that no dead man's switch is set (the next test relies on it).
  expect(stderr).toMatch(/warning: \[runtime\] staging: northstack:deadMansSwitchUrl is unset/);
});

test("a pack config naming an unknown policy is an error (exit 2) before anything is planned, not a silent pass", () => {
  const { code, stdout, stderr } = plan("staging", "--policy-config", "package.json");
  expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
  expect(stderr).toMatch(/^plan: policy config package\.json: invalid policy pack config:[\s\S]*name: no such policy/);
  // Planning staging warns that no dead man's switch is set (the test above): nothing was planned.
  expect(stderr).not.toMatch(/deadMansSwitchUrl/);
});
