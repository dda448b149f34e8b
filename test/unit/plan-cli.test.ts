import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { environmentOf } from "../../scripts/plan";
import { ROOT as root, runPlanCli as plan } from "../helpers/plan-process";
import { scratchDir } from "../helpers/scratch";

/** A dev plan warns about nothing (its log shipper takes what the Docker daemon sends it: components/log-shipper.ts). */
const DEV_STDERR = "";

/** Put into the API's secret env from config: it must never reach the plan's output. */
const CANARY = "sk_live_plan-cli-canary-0123456789";

test("scripts/plan.sh dev --json, run from any directory, is one JSON document with every component type and no violations; with API env from config, its secret value appears only as [secret]", () => {
  const run = spawnSync(
    path.join(root, "scripts", "plan.sh"),
    [
      "dev",
      "--json",
      ...["--set", 'northstack:apiEnv=["LOG_LEVEL=debug"]'],
      ...["--set", `northstack:apiSecretEnv={"STRIPE_API_KEY":"${CANARY}"}`],
    ],
    { cwd: os.tmpdir(), encoding: "utf8", maxBuffer: 256 * 1024 * 1024 },
  );
  const { status: code, stdout, stderr } = run;
  expect({ code, stderr }).toEqual({ code: 0, stderr: DEV_STDERR });
  const doc = JSON.parse(stdout);
  expect(doc.stack).toBe("dev");
  const types = new Set(doc.resources.map((r: { type: string }) => r.type));
  for (const t of [
    "northstack:data:Postgres",
    "northstack:data:Supabase",
    "northstack:data:Redis",
    "northstack:edge:Kong",
    "northstack:app:ApiService",
  ]) {
    expect(types).toContain(t);
  }
  for (const r of doc.resources)
    expect(Object.keys(r).sort()).toEqual(["custom", "inputs", "name", "parent", "type", "urn"]);
  const urns = new Set(doc.resources.map((r: { urn: string }) => r.urn));
  for (const r of doc.resources) if (r.parent !== null) expect(urns).toContain(r.parent);
  // Only images-by-digest's advice on third-party images pinned by tag, and node_exporter's and
  // cAdvisor's named exemptions for their read-only host paths, reported as advisory.
  expect(
    doc.violations.filter(
      (v: { policy: string; enforcementLevel: string; urn: string }) =>
        !(v.policy === "images-by-digest" && v.enforcementLevel === "advisory") &&
        !(
          v.policy === "containers-least-privilege" &&
          v.enforcementLevel === "advisory" &&
          (v.urn.endsWith("::monitoring-node-exporter") || v.urn.endsWith("::monitoring-cadvisor"))
        ),
    ),
  ).toEqual([]);
  expect(stdout).toContain('"[secret]"');
  expect(stdout).not.toContain(CANARY);
  const api = doc.resources.find(
    (r: { type: string; name: string }) => r.type === "docker:index/container:Container" && r.name === "api",
  );
  expect(api.inputs.envs).toBe("[secret]");
});

/** `plan dev --out DIR`, run once: the tree it prints and the files it writes are checked separately. */
let devOut: { out: string; run: ReturnType<typeof plan> } | undefined;
function planDevOut() {
  if (!devOut) {
    const out = path.join(scratchDir("plan-out"), "dev");
    devOut = { out, run: plan("dev", "--out", out) };
  }
  return devOut;
}

test("plan prints the tree, the counts per type and the policy results", () => {
  const { code, stdout } = planDevOut().run;
  expect(code).toBe(0);
  expect(stdout).toMatch(/northstack:edge:Kong\s+kong/);
  expect(stdout).toMatch(/Resources: \d+/);
  expect(stdout).toContain("Legend: + a provider resource");
  expect(stdout).toMatch(/Policies: dev config \(advisory\): 0 mandatory violations, \d+ advisory/);
});

test("the policy config follows the stack's environment, so a new stack name needs no policy file of its own", () => {
  expect(environmentOf({ stack: "alice", config: { "northstack:environment": "dev" } })).toBe("dev");
  expect(environmentOf({ stack: "prod", config: {} })).toBe("prod");
  expect(environmentOf({ stack: "alice", config: {} })).toBeUndefined();
});

describe("--out", () => {
  const walk = (d: string): string[] =>
    fs
      .readdirSync(d, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));

  test("redacts secret values by default; --show-secrets writes them owner-only; each run clears its own previous output", () => {
    const out = path.join(scratchDir("plan-out"), "staging");
    expect(plan("staging", "--out", out).code).toBe(0);
    const jwt = path.join(out, "api-secret", "JWT_SECRET");
    expect(fs.readFileSync(jwt, "utf8")).toMatch(/^\[secret of \d+ chars: redacted/);
    // Migrations travel in a ConfigMap: plain, and written as they are.
    const migrations = walk(out).filter((f) => f.endsWith(".sql"));
    expect(migrations.length).toBeGreaterThan(0);
    for (const f of migrations) expect(fs.readFileSync(f, "utf8")).not.toContain("redacted");

    fs.writeFileSync(path.join(out, "stale-from-an-old-run.txt"), "old");
    expect(plan("staging", "--out", out, "--show-secrets").code).toBe(0);
    expect(fs.existsSync(path.join(out, "stale-from-an-old-run.txt"))).toBe(false);
    expect(fs.readFileSync(jwt, "utf8")).not.toContain("redacted");
    expect(fs.statSync(jwt).mode & 0o777).toBe(0o600);
    expect(fs.statSync(out).mode & 0o777).toBe(0o700);
  });

  test.each([
    ["a pseudo filesystem", () => "/proc/northstack-plan", "is on a pseudo filesystem"],
    ["a file", () => scratchDir("plan-file") + "/f", "is a file"],
    ["a directory of someone else's files", () => scratchDir("plan-foreign"), "holds files this command did not write"],
  ])("refuses %s at once, before planning, and exits 2", (_label, make, message) => {
    const target = make();
    if (message === "is a file") fs.writeFileSync(target, "x");
    if (message.startsWith("holds")) fs.writeFileSync(path.join(target, "mine.txt"), "keep me");
    const { code, stdout, stderr } = plan("dev", "--out", target);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toContain(message);
    if (message.startsWith("holds")) expect(fs.readFileSync(path.join(target, "mine.txt"), "utf8")).toBe("keep me");
  });
});

test("--out writes the rendered config files", () => {
  const { out, run } = planDevOut();
  expect(run.code).toBe(0);
  expect(run.stdout).toContain(`Rendered config files written to ${out}`);
  const files: string[] = [];
  const walk = (d: string) =>
    fs
      .readdirSync(d, { withFileTypes: true })
      .forEach((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : files.push(path.join(d, e.name))));
  walk(out);
  const names = files.map((f) => path.basename(f));
  expect(names).toEqual(expect.arrayContaining(["kong.yml", "redis.conf", "postgresql.conf"]));
  expect(names.filter((n) => n.endsWith(".sql")).length).toBeGreaterThanOrEqual(2);
});

test("a bad config value exits 2 with the message on stderr and nothing on stdout", () => {
  const { code, stdout, stderr } = plan("dev", "--set", "northstack:apiReplicas=0", "--json");
  expect(code).toBe(2);
  expect(stdout).toBe("");
  expect(stderr).toContain("northstack:apiReplicas: 0 is below the minimum 1");
});

test("an unknown stack and bad arguments exit 2", () => {
  expect(plan("qa").code).toBe(2);
  expect(plan("dev", "--bogus").code).toBe(2);
  expect(plan("dev", "--set", "novalue").stderr).toContain("expected key=value");
});

test("an unknown stack prints the message only, no stack trace, and exits 2", () => {
  const { code, stdout, stderr } = plan("qa", "--json");
  expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
  expect(stderr.trim()).toBe('plan: stack "qa" has no Pulumi.qa.yaml; known stacks: dev, prod, staging');
});

test("a program error prints its message only, no stack trace, and exits 2", () => {
  // Valid config that the cloud composition refuses: GKE needs the subnetwork the stack creates.
  const { code, stderr } = plan(
    "staging",
    ...["--set", "northstack:cloud=gcp", "--set", "northstack:vpcId=projects/p/global/networks/shared"],
    ...["--set", 'northstack:privateSubnetIds=["a","b"]', "--set", "northstack:vpcCidr=10.8.0.0/16"],
  );
  expect(code).toBe(2);
  expect(stderr).toContain("plan: ");
  expect(stderr).toContain("GKE needs the subnetwork the stack creates");
  expect(stderr).not.toMatch(/^\s+at /m);
});
