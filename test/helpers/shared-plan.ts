/**
 * Whole-stack plans under mocks, run once per jest run and shared by every test file that asks for
 * the same stack and configuration. Each plan runs planStack in a Node process of its own
 * (test/helpers/plan-json.ts), as `npm run plan` does: a jest module registry loads the provider
 * SDKs several times slower than plain Node, and several files plan the same five stacks.
 *
 * The key is what the program would see: the stack name and the configuration and secret keys that
 * readStackConfig resolves, so `{ cloud: "aws" }` and `{ "northstack:cloud": "aws" }` share a plan.
 * Plans are kept as JSON under NORTHSTACK_TEST_CACHE, a directory jest's global setup creates
 * for the run and its teardown deletes (test/global-setup.js), so a plan never outlives the code
 * that made it. Without that directory (a runner other than this repo's jest config) each call plans
 * afresh. Each call returns its own copy: a test may change what it gets without touching
 * another's.
 */
import { spawn } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { StackPlan } from "../../scripts/lib/plan";
import { readStackConfig } from "../../scripts/lib/stack-config";
import { PLAN_NODE_ARGS, ROOT } from "./plan-process";
import { testCacheDir } from "./scratch";

/**
 * Plans in a Node process of its own (test/helpers/plan-json.ts), the way `npm run plan` runs
 * the program, and writes the plan to `file`.
 */
async function planInChild(stack: string, set: Record<string, string>, file: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [...PLAN_NODE_ARGS, "test/helpers/plan-json.ts", stack, JSON.stringify(set), file],
    { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  if (code !== 0) throw new Error(`planning ${stack} ${JSON.stringify(set)} exited ${code}:\n${stderr}`);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * The plan of `stack` with config overrides `set` (keys without a namespace are `northstack:`), as
 * planStack returns it. Config errors throw as planStack's do, before anything is planned.
 */
export async function sharedPlan(stack: string, set: Record<string, string> = {}): Promise<StackPlan> {
  const { config, secretKeys } = readStackConfig(ROOT, stack, set);
  const dir = testCacheDir();
  if (!dir) {
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "northstack-plan-"));
    try {
      await planInChild(stack, set, path.join(scratch, "plan.json"));
      return JSON.parse(fs.readFileSync(path.join(scratch, "plan.json"), "utf8")) as StackPlan;
    } finally {
      fs.rmSync(scratch, { recursive: true, force: true });
    }
  }

  const sorted = (o: Record<string, string>) =>
    Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));
  const key = createHash("sha256")
    .update(JSON.stringify([stack, sorted(config), [...secretKeys].sort()]))
    .digest("hex")
    .slice(0, 32);
  const file = path.join(dir, `plan-${key}.json`);
  const lock = `${file}.lock`;
  const read = () => JSON.parse(fs.readFileSync(file, "utf8")) as StackPlan;

  // One worker plans; another that wants the same plan meanwhile waits for it rather than planning
  // it twice on the same CPUs. A lock whose holder died, or that outlasts two minutes, is taken over.
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (fs.existsSync(file)) return read();
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let holder = NaN;
      try {
        holder = Number(fs.readFileSync(path.join(lock, "pid"), "utf8"));
      } catch {
        // the holder is between mkdir and writing its pid, or has just finished
      }
      if ((Number.isInteger(holder) && !alive(holder)) || Date.now() > deadline) {
        fs.rmSync(lock, { recursive: true, force: true });
        continue;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (fs.existsSync(file)) return read();
    const temporary = `${file}.${process.pid}.tmp`;
    await planInChild(stack, set, temporary);
    fs.renameSync(temporary, file);
    return read();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** The off-host backup credentials in DEV_VARIANT: they must reach their two containers only as secrets. */
export const OFFSITE_ACCESS_KEY_ID = "offsite-access-key-id-4417";
export const OFFSITE_SECRET_ACCESS_KEY = "offsite-secret-access-key-9023";

/**
 * Variants several test files plan: settings that change different resources, planned together so
 * that each variant is one plan per run. dev: an off-host backup bucket and Docker's cgroupfs driver.
 */
export const DEV_VARIANT: Record<string, string> = {
  backupOffsiteBucket: "northstack-dev-backups",
  backupOffsiteEndpoint: "minio.lan:9000",
  backupOffsiteRegion: "us-east-1",
  backupOffsitePath: "/dev-laptop",
  backupOffsiteUriStyle: "path",
  backupOffsiteVerifyTls: "false",
  backupOffsiteAccessKeyId: OFFSITE_ACCESS_KEY_ID,
  backupOffsiteSecretAccessKey: OFFSITE_SECRET_ACCESS_KEY,
  dockerCgroupDriver: "cgroupfs",
};

/** prod on AWS in an existing VPC, with the gateway certificate from a cert-manager issuer. */
export const PROD_AWS_VARIANT: Record<string, string> = {
  "northstack:cloud": "aws",
  "northstack:vpcId": "vpc-0123456789abcdef0",
  "northstack:privateSubnetIds": '["subnet-a","subnet-b"]',
  "northstack:vpcCidr": "10.0.0.0/16",
  "northstack:tlsSecretName": "",
  "northstack:certManagerIssuer": "letsencrypt-dns01",
};
