/**
 * scripts/plan.sh <stack> [--set key=value]... [--json] [--out DIR [--show-secrets]] [--policy-config FILE]
 * (or `npm run -s plan -- ...`; without -s, npm prints its own banner on stdout before the JSON)
 *
 * Runs the program for a stack under Pulumi's mock runtime (no CLI, no Docker, no cloud), prints the
 * resource tree, the counts per type and the policy results, and optionally writes every rendered
 * config file so that native tools can check them. Exit 0 when clean, 1 on a mandatory policy
 * violation, 2 on a config or program error.
 */
import * as fs from "fs";
import * as path from "path";
import { ConfigError, ENVIRONMENTS, Environment, parseConfig } from "../components/config";
import { PlannedResource } from "./lib/mock-program";
import type { StackPlan } from "./lib/plan";
import type { PolicyResult } from "./lib/plan-policies";
import { readStackConfig } from "./lib/stack-config";

interface CliArgs {
  stack: string;
  set: Record<string, string>;
  json: boolean;
  out?: string;
  showSecrets: boolean;
  policyConfig?: string;
}

const USAGE =
  "usage: scripts/plan.sh <stack> [--set key=value]... [--json] [--out DIR [--show-secrets]] [--policy-config FILE]";

class UsageError extends Error {}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export function parseArgs(argv: string[]): CliArgs {
  const args: CliArgs = { stack: "", set: {}, json: false, showSecrets: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (flag: string): string => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    if (a === "--json") args.json = true;
    else if (a === "--out") args.out = value(a);
    else if (a === "--show-secrets") args.showSecrets = true;
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
  if (args.showSecrets && !args.out) throw new UsageError("--show-secrets only applies to --out DIR");
  return args;
}

const LEGEND = "Legend: + a provider resource (what `pulumi up` would create)   □ a component that groups its children";

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

export interface RenderedFile {
  readonly path: string;
  readonly content: string;
  /** A Kubernetes Secret entry, or an input the program marked secret. */
  readonly secret: boolean;
}

const underSecret = (secretPaths: readonly string[], input: string): boolean =>
  secretPaths.some((s) => input === s || input.startsWith(`${s}.`) || input.startsWith(`${s}[`));

/** Rendered config files: Docker uploads and Kubernetes ConfigMap/Secret entries, one folder per resource. */
export function renderedFiles(resources: readonly PlannedResource[]): RenderedFile[] {
  const files: RenderedFile[] = [];
  for (const r of resources) {
    const props = r.plainInputs;
    if (r.type === "docker:index/container:Container") {
      ((props.uploads as { file?: string; content?: string }[] | undefined) ?? []).forEach((u, i) => {
        if (u.file && typeof u.content === "string") {
          files.push({
            path: path.join(r.name, u.file.replace(/^\/+/, "")),
            content: u.content,
            secret: underSecret(r.secretPaths, `uploads[${i}].content`),
          });
        }
      });
    } else if (r.type === "kubernetes:core/v1:ConfigMap" || r.type === "kubernetes:core/v1:Secret") {
      const isSecret = r.type === "kubernetes:core/v1:Secret";
      const stringData = (props.stringData as Record<string, string> | undefined) ?? {};
      const data = { ...((props.data as Record<string, string>) ?? {}), ...stringData };
      for (const [key, value] of Object.entries(data)) {
        if (typeof value !== "string") continue;
        const content = isSecret && props.data && !stringData[key] ? Buffer.from(value, "base64").toString() : value;
        const field = key in stringData ? "stringData" : "data";
        files.push({
          path: path.join(r.name, key),
          content,
          secret: isSecret || underSecret(r.secretPaths, `${field}.${key}`),
        });
      }
    }
  }
  return files;
}

/** Marks a directory as --out's own, so that the next run may clear it. */
const OUT_MARKER = ".northstack-plan-out";
const PSEUDO_FILESYSTEMS = ["/proc", "/sys", "/dev"];

/**
 * Makes `dir` ready for rendered files before any planning starts: refuses a path that cannot hold
 * them (a pseudo filesystem, a file, an unwritable parent, a directory of someone else's files) and
 * clears the previous output of this command. Creates missing levels one at a time: a recursive
 * mkdir under /proc spins instead of failing.
 */
export function prepareOutDir(dir: string, mode: number): string {
  const target = path.resolve(dir);
  if (PSEUDO_FILESYSTEMS.some((p) => target === p || target.startsWith(`${p}/`))) {
    throw new UsageError(
      `--out ${JSON.stringify(dir)} is on a pseudo filesystem; give a directory on disk, e.g. --out plan-out`,
    );
  }
  if (fs.existsSync(target)) {
    if (!fs.statSync(target).isDirectory())
      throw new UsageError(`--out ${JSON.stringify(dir)} is a file; give a directory`);
    const entries = fs.readdirSync(target);
    if (entries.length > 0 && !entries.includes(OUT_MARKER)) {
      throw new UsageError(
        `--out ${JSON.stringify(dir)} holds files this command did not write; give an empty or new directory`,
      );
    }
    for (const e of entries) fs.rmSync(path.join(target, e), { recursive: true, force: true });
  } else {
    const missing: string[] = [];
    let parent = target;
    while (!fs.existsSync(parent)) {
      missing.unshift(parent);
      parent = path.dirname(parent);
    }
    try {
      if (!fs.statSync(parent).isDirectory()) throw new Error("not a directory");
      fs.accessSync(parent, fs.constants.W_OK);
    } catch {
      throw new UsageError(`--out ${JSON.stringify(dir)}: ${parent} is not a writable directory`);
    }
    for (const level of missing) fs.mkdirSync(level, { mode });
  }
  fs.chmodSync(target, mode);
  fs.writeFileSync(
    path.join(target, OUT_MARKER),
    "Written by scripts/plan.sh --out; the next run clears this directory.\n",
  );
  return target;
}

/** The environment whose policy config applies: northstack:environment, else the stack's name. */
export function environmentOf(plan: Pick<StackPlan, "stack" | "config">): Environment | undefined {
  const given = plan.config["northstack:environment"] || plan.stack;
  return (ENVIRONMENTS as readonly string[]).includes(given) ? (given as Environment) : undefined;
}

/** A config or program error as the plan prints it: the message alone, a ConfigError's as it is. */
const configErrorMessage = (e: unknown) => (e instanceof ConfigError ? e.message : `plan: ${messageOf(e)}`);

async function main(): Promise<number> {
  let args: CliArgs;
  let outDir: string | undefined;
  try {
    args = parseArgs(process.argv.slice(2));
    // Owner-only when it will hold secret values.
    if (args.out) outDir = prepareOutDir(args.out, args.showSecrets ? 0o700 : 0o755);
  } catch (e) {
    console.error(`plan: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }

  // The stack file and its config are checked as the program will check them, before the Pulumi SDK
  // loads: their mistakes need no plan, and are reported in a fraction of the time.
  const root = path.resolve(__dirname, "..");
  try {
    parseConfig(readStackConfig(root, args.stack, args.set).config, args.stack, root);
  } catch (e) {
    console.error(configErrorMessage(e));
    return 2;
  }

  // The planner and the pack load here, once the arguments are checked: the Pulumi SDK takes seconds
  // to load, and a usage error need not wait for it.
  const { PROJECT_ROOT, planStack } = await import("./lib/plan");
  const { evaluatePlan, readPolicyConfig } = await import("./lib/plan-policies");
  // A pack config given by name is checked before planning: its mistakes need no plan to show.
  if (args.policyConfig) {
    try {
      readPolicyConfig(args.policyConfig);
    } catch (e) {
      console.error(`plan: policy config ${args.policyConfig}: ${messageOf(e)}`);
      return 2;
    }
  }
  let plan: StackPlan;
  try {
    plan = await planStack({ stack: args.stack, set: args.set });
  } catch (e) {
    // The message names the problem; a stack trace into the mock runtime would only bury it.
    console.error(configErrorMessage(e));
    return 2;
  }

  const environment = environmentOf(plan);
  const policyConfigFile =
    args.policyConfig ?? path.join(PROJECT_ROOT, "policy", `config.${environment ?? args.stack}.json`);
  let violations: PolicyResult[];
  try {
    violations = await evaluatePlan(plan, policyConfigFile);
  } catch (e) {
    console.error(`plan: policy evaluation failed: ${messageOf(e)}`);
    return 2;
  }

  let redacted = 0;
  if (outDir) {
    for (const f of renderedFiles(plan.resources)) {
      const target = path.join(outDir, f.path);
      fs.mkdirSync(path.dirname(target), { recursive: true, mode: args.showSecrets ? 0o700 : 0o755 });
      if (f.secret && !args.showSecrets) {
        redacted++;
        fs.writeFileSync(
          target,
          `[secret of ${f.content.length} chars: redacted; --show-secrets writes it, owner-only]\n`,
        );
      } else {
        fs.writeFileSync(target, f.content, { mode: args.showSecrets ? 0o600 : 0o644 });
      }
    }
  }

  const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
  const advisory = violations.length - mandatory.length;
  const policyConfigName = args.policyConfig
    ? path.relative(process.cwd(), policyConfigFile)
    : `${environment ?? args.stack} config`;
  if (args.json) {
    const doc = {
      stack: plan.stack,
      resources: plan.resources.map((r) => ({
        urn: r.urn,
        type: r.type,
        name: r.name,
        parent: r.parent,
        custom: r.custom,
        inputs: r.inputs,
      })),
      outputs: plan.outputs,
      violations,
    };
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
  } else {
    console.log(`Plan for stack ${plan.stack} (offline, under mocks: nothing was deployed)\n`);
    console.log(`${LEGEND}\n`);
    printTree(plan);
    console.log(`\nResources: ${plan.resources.length}`);
    for (const [type, n] of countsByType(plan.resources)) console.log(`  ${String(n).padStart(4)}  ${type}`);
    console.log("\nOutputs:");
    for (const [k, v] of Object.entries(plan.outputs))
      console.log(`  ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
    const level = (JSON.parse(fs.readFileSync(policyConfigFile, "utf8")) as { all?: string }).all ?? "advisory";
    console.log(
      `\nPolicies: ${policyConfigName} (${level}): ${mandatory.length} mandatory violation${mandatory.length === 1 ? "" : "s"}, ${advisory} advisory`,
    );
    for (const v of violations)
      console.log(`  [${v.enforcementLevel}] ${v.policy}${v.urn ? ` (${v.urn})` : ""}: ${v.message}`);
    if (outDir) {
      const secrets = args.showSecrets
        ? "secret values written owner-only (0600)"
        : `${redacted} secret value${redacted === 1 ? "" : "s"} redacted`;
      console.log(`\nRendered config files written to ${args.out} (${secrets})`);
    }
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
