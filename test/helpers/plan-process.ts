/**
 * The tests' plan processes: whole-stack plans under mocks, each in a Node process of its own, the
 * way `npm run plan` runs them (a jest module registry loads the provider SDKs several times slower).
 */
import { spawnSync } from "child_process";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "..", "..");

/**
 * node's arguments before the script, with ROOT as the working directory: the project's TypeScript
 * loader, and no optimizing compiler. A plan takes about 2 s of CPU and ends before TurboFan's
 * optimized code repays its compile threads, which take CPU from jest's workers: about 13% less CPU
 * per plan (farm-bench), the same plan.
 */
export const PLAN_NODE_ARGS: readonly string[] = ["--no-opt", "-r", "./scripts/register.js"];

/** `npm run plan -- <args>`: the plan CLI's exit code and output. */
export function runPlanCli(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [...PLAN_NODE_ARGS, "scripts/plan.ts", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}
