/**
 * npm run plan -- <stack> [--set key=value]... [--json] [--out DIR] [--policy-config FILE]
 *
 * Runs the program for a stack under Pulumi's mock runtime (no CLI, no Docker, no cloud), prints the
 * resource tree, the counts per type and the policy results, and optionally writes every rendered
 * config file so that native tools can check them. Exit 0 when clean, 1 on a mandatory policy
 * violation, 2 on a config or program error.
 */
import * as fs from "fs";
import * as path from "path";
import { ConfigError } from "../components/config";
import { PlannedResource } from "./lib/mock-program";
import { PROJECT_ROOT, StackPlan, planStack } from "./lib/plan";
import { PolicyResult, evaluatePlan } from "./lib/plan-policies";

interface CliArgs {
  stack: string;
  set: Record<string, string>;
  json: boolean;
  out?: string;
  policyConfig?: string;
}

class UsageError extends Error {}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function parseArgs(argv: string[]): CliArgs {
  const args: CliArgs = { stack: "", set: {}, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (flag: string): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (a === "--json") args.json = true;
    else if (a === "--out") args.out = value(a);
    else if (a === "--policy-config") args.policyConfig = value(a);
    else if (a === "--set") {
      const kv = value(a);
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new UsageError(`--set ${JSON.stringify(kv)}: expected key=value`);
      args.set[kv.slice(0, eq)] = kv.slice(eq + 1);
    } else if (a.startsWith("--")) throw new UsageError(`unknown option ${a}`);
    else if (!args.stack) args.stack = a;
    else throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
  }
  if (!args.stack) throw new UsageError("missing stack name");
  return args;
}

function printTree(plan: StackPlan): void {
  const children = new Map<string | null, PlannedResource[]>();
  for (const r of plan.resources) {
    const list = children.get(r.parent) ?? [];
    list.push(r);
    children.set(r.parent, list);
  }
  const walk = (parent: string | null, indent: string) => {
    for (const r of children.get(parent) ?? []) {
      console.log(`${indent}${r.custom ? "+" : "□"} ${r.type}  ${r.name}`);
      walk(r.urn, `${indent}  `);
    }
  };
  walk(null, "");
}

function countsByType(resources: readonly PlannedResource[]): [string, number][] {
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Rendered config files: Docker uploads and Kubernetes ConfigMap/Secret entries, one folder per resource. */
export function renderedFiles(resources: readonly PlannedResource[]): { path: string; content: string }[] {
  const files: { path: string; content: string }[] = [];
  for (const r of resources) {
    const props = r.plainInputs;
    if (r.type === "docker:index/container:Container") {
      for (const u of (props.uploads as { file?: string; content?: string }[] | undefined) ?? []) {
        if (u.file && typeof u.content === "string") files.push({ path: path.join(r.name, u.file.replace(/^\/+/, "")), content: u.content });
      }
    } else if (r.type === "kubernetes:core/v1:ConfigMap" || r.type === "kubernetes:core/v1:Secret") {
      const data = { ...((props.data as Record<string, string>) ?? {}), ...((props.stringData as Record<string, string>) ?? {}) };
      const decoded = r.type === "kubernetes:core/v1:Secret" && props.data ? "base64" : undefined;
      for (const [key, value] of Object.entries(data)) {
        if (typeof value !== "string") continue;
        const content = decoded && !(props.stringData as Record<string, string> | undefined)?.[key] ? Buffer.from(value, "base64").toString() : value;
        files.push({ path: path.join(r.name, key), content });
      }
    }
  }
  return files;
}

async function main(): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`plan: ${(e as Error).message}\nusage: npm run plan -- <stack> [--set key=value]... [--json] [--out DIR] [--policy-config FILE]`);
    return 2;
  }

  let plan: StackPlan;
  try {
    plan = await planStack({ stack: args.stack, set: args.set });
  } catch (e) {
    // The message names the problem; a stack trace into the mock runtime would only bury it.
    console.error(e instanceof ConfigError ? e.message : `plan: ${messageOf(e)}`);
    return 2;
  }

  let violations: PolicyResult[];
  try {
    const policyConfigFile = args.policyConfig ?? path.join(PROJECT_ROOT, "policy", `config.${args.stack}.json`);
    violations = await evaluatePlan(plan, policyConfigFile);
  } catch (e) {
    console.error(`plan: policy evaluation failed: ${messageOf(e)}`);
    return 2;
  }

  if (args.out) {
    for (const f of renderedFiles(plan.resources)) {
      const target = path.join(args.out, f.path);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, f.content);
    }
  }

  const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
  if (args.json) {
    const doc = {
      stack: plan.stack,
      resources: plan.resources.map((r) => ({ urn: r.urn, type: r.type, name: r.name, parent: r.parent, custom: r.custom, inputs: r.inputs })),
      outputs: plan.outputs,
      violations,
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    console.log(`Plan for stack ${plan.stack} (offline, under mocks: nothing was deployed)\n`);
    printTree(plan);
    console.log(`\nResources: ${plan.resources.length}`);
    for (const [type, n] of countsByType(plan.resources)) console.log(`  ${String(n).padStart(4)}  ${type}`);
    console.log("\nOutputs:");
    for (const [k, v] of Object.entries(plan.outputs)) console.log(`  ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
    console.log("\nPolicies:");
    if (violations.length === 0) console.log("  no violations");
    for (const v of violations) console.log(`  [${v.enforcementLevel}] ${v.policy}${v.urn ? ` (${v.urn})` : ""}: ${v.message}`);
    if (args.out) console.log(`\nRendered config files written to ${args.out}`);
  }
  return mandatory.length > 0 ? 1 : 0;
}

if (require.main === module) {
  // Exit explicitly (the mock runtime can leave handles open), but only once stdout has drained:
  // a large --json document written to a pipe is otherwise cut off.
  const exitAfterFlush = (code: number) => process.stdout.write("", () => process.exit(code));
  main().then(exitAfterFlush, (e) => {
    console.error(`plan: ${messageOf(e)}`);
    exitAfterFlush(2);
  });
}
