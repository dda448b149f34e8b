/**
 * npm run bench [-- --quick]
 *
 * Measures, on this machine, in one run so that figures are comparable:
 *  - wall time and peak memory of the offline plan per stack and cloud, and its resource count;
 *  - the plan's start-up path: ts-node (the previous path) against scripts/register.js (cached
 *    transpile, what `npm run plan` and scripts/plan.sh use), interleaved run by run, as a ratio;
 *  - how plan time grows with the number of services (prod with 0, 10 and 20 extra API services);
 *  - policy-pack evaluation time over synthetic stacks of 1,000, 2,000 and 4,000 resources;
 *  - the time of `npm test` (scripts/test.sh: jest with the three checks beside it), and of each
 *    check on its own.
 * Each plan figure is the median of several runs. Results are printed and written to .bench/results.json.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { evaluatePolicies } from "../policy/evaluate";
import { PROJECT_ROOT } from "./lib/plan";
import { syntheticStack } from "./lib/synthetic-stack";

const quick = process.argv.includes("--quick");
const runs = quick ? 1 : 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface PlanFigure {
  label: string;
  seconds: number;
  peakMb: number;
  resources: number;
  exitCode: number;
}

/** How a fresh Node process loads the TypeScript sources. */
const LOADERS = {
  register: ["-r", "./scripts/register.js"],
  "ts-node": ["-r", "ts-node/register/transpile-only"],
} as const;
type Loader = keyof typeof LOADERS;

/** Runs the plan CLI in a fresh process under GNU time, as a user would run `npm run plan`. */
function measurePlan(label: string, args: string[], loader: Loader = "register"): PlanFigure {
  const seconds: number[] = [];
  const peaks: number[] = [];
  let resources = 0;
  let exitCode = 0;
  for (let i = 0; i < runs; i++) {
    const run = spawnSync(
      "/usr/bin/time",
      ["-f", "BENCH %e %M", process.execPath, ...LOADERS[loader], "scripts/plan.ts", ...args, "--json"],
      { cwd: PROJECT_ROOT, encoding: "utf8", maxBuffer: 512 * 1024 * 1024 },
    );
    const stats = /BENCH ([\d.]+) (\d+)/.exec(run.stderr);
    if (!stats)
      throw new Error(`plan ${args.join(" ")} did not report timing (is GNU time installed?):\n${run.stderr}`);
    seconds.push(Number(stats[1]));
    peaks.push(Number(stats[2]) / 1024);
    exitCode = run.status ?? -1;
    if (exitCode === 2) throw new Error(`plan ${args.join(" ")} failed:\n${run.stderr}`);
    resources = (JSON.parse(run.stdout) as { resources: unknown[] }).resources.length;
  }
  return { label, seconds: median(seconds), peakMb: Math.round(median(peaks)), resources, exitCode };
}

async function measurePolicies(n: number): Promise<{ resources: number; seconds: number }> {
  const resources = syntheticStack(n);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await evaluatePolicies(resources, { stack: "bench", policyConfig: {}, config: { "aws:region": "ca-central-1" } });
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return { resources: n, seconds: median(times) };
}

function timeCommand(label: string, command: string, args: string[]): { label: string; seconds: number; ok: boolean } {
  const start = process.hrtime.bigint();
  const run = spawnSync(command, args, { cwd: PROJECT_ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  return { label, seconds: Number(process.hrtime.bigint() - start) / 1e9, ok: run.status === 0 };
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);

/** Both loaders on one stack, alternating run by run so that drift in machine speed hits both. */
function compareLoaders(label: string, args: string[]): { label: string; tsNode: number; register: number } {
  const tsNode: number[] = [];
  const register: number[] = [];
  for (let i = 0; i < runs; i++) {
    tsNode.push(measurePlan(label, args, "ts-node").seconds);
    register.push(measurePlan(label, args, "register").seconds);
  }
  return { label, tsNode: median(tsNode), register: median(register) };
}

async function main(): Promise<void> {
  // Warm the transpile cache, so that the figures below are those of every run after the first.
  measurePlan("warm-up", ["dev"]);
  const loaders = [
    compareLoaders("dev", ["dev"]),
    compareLoaders("prod (aws)", ["prod", "--set", "northstack:cloud=aws"]),
    compareLoaders("prod (gcp)", ["prod", "--set", "northstack:cloud=gcp"]),
  ];
  console.log("Plan start-up path (median of %d, alternating runs): ts-node vs scripts/register.js", runs);
  console.log("  stack          ts-node s   register s   register/ts-node");
  for (const l of loaders) {
    console.log(
      `  ${l.label.padEnd(14)} ${fmt(l.tsNode).padStart(9)}   ${fmt(l.register).padStart(10)}   ${fmt(l.register / l.tsNode).padStart(16)}`,
    );
  }

  const cloudStacks = ["staging", "prod"].flatMap((stack) =>
    ["aws", "gcp"].map((cloud) => measurePlan(`${stack} (${cloud})`, [stack, "--set", `northstack:cloud=${cloud}`])),
  );
  const plans = [measurePlan("dev", ["dev"]), ...cloudStacks];
  const scaling = [0, 10, 20].map((extra) =>
    measurePlan(`prod (aws) + ${extra} API services`, [
      "prod",
      "--set",
      `northstack:services=${JSON.stringify(Array.from({ length: extra }, (_, i) => `svc${i + 1}=ghcr.io/northstack/api:0.1.0`))}`,
    ]),
  );

  console.log("\nOffline plan (median of %d, fresh process each, includes Node start-up)", runs);
  console.log("  stack                              wall s   peak MiB   resources   exit");
  for (const p of [...plans, ...scaling]) {
    console.log(
      `  ${p.label.padEnd(34)} ${fmt(p.seconds).padStart(6)}   ${String(p.peakMb).padStart(8)}   ${String(p.resources).padStart(9)}   ${p.exitCode}`,
    );
  }
  const [base, , twenty] = scaling;
  const perService = (twenty.seconds - base.seconds) / 20;
  const resourcesPerService = (twenty.resources - base.resources) / 20;
  console.log(
    `  growth: +${fmt(perService, 3)} s and +${resourcesPerService} resources per extra API service; ` +
      `time ratio 20-extra/0-extra ${fmt(twenty.seconds / base.seconds)} vs resource ratio ${fmt(twenty.resources / base.resources)}`,
  );

  console.log("\nPolicy pack over synthetic stacks (median of %d, in-process)", runs);
  const policy = [];
  // One untimed pass first, so that loading the SQL parser and JIT warm-up are not billed to the first size.
  await measurePolicies(200);
  for (const n of [1000, 2000, 4000]) policy.push(await measurePolicies(n));
  for (const p of policy) console.log(`  ${String(p.resources).padStart(5)} resources   ${fmt(p.seconds, 3)} s`);
  console.log(
    `  ratio 4000/2000: ${fmt(policy[2].seconds / policy[1].seconds)} (linear = 2.00); 2000/1000: ${fmt(policy[1].seconds / policy[0].seconds)}`,
  );

  const suite = quick
    ? []
    : [
        timeCommand("typecheck (tsc --noEmit)", "npx", ["tsc", "--noEmit", "-p", "tsconfig.json"]),
        timeCommand("lint (eslint)", "npx", ["eslint", "."]),
        timeCommand("format:check (prettier)", "npx", ["prettier", "--check", "."]),
        timeCommand("npm test (all, checks beside jest)", "bash", ["scripts/test.sh", "--silent"]),
      ];
  if (suite.length) {
    console.log("\nTest suite (each check alone, then the whole of npm test)");
    for (const s of suite)
      console.log(`  ${s.label.padEnd(36)} ${fmt(s.seconds, 1).padStart(6)} s ${s.ok ? "" : "(FAILED)"}`);
  }

  const out = path.join(PROJECT_ROOT, ".bench");
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(
    path.join(out, "results.json"),
    JSON.stringify({ date: new Date().toISOString(), runs, loaders, plans, scaling, policy, suite }, null, 2),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
