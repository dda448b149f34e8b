/**
 * `.ci/run` is the single CI entry point: the workflow calls it rather than installing its own
 * subset of tools, and it stops before touching the machine when Node is missing or too old.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

const root = path.resolve(__dirname, "..", "..");
const script = path.join(root, ".ci", "run");

/** Runs .ci/run with a PATH holding only `dirname` and the given fake node/npm. */
const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function runWith(nodeVersion: string | undefined) {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), "ci-run-"));
  tempDirs.push(bin);
  fs.symlinkSync(
    spawnSync("sh", ["-c", "command -v dirname"], { encoding: "utf8" }).stdout.trim(),
    path.join(bin, "dirname"),
  );
  if (nodeVersion !== undefined) {
    const major = nodeVersion.split(".")[0];
    fs.writeFileSync(
      path.join(bin, "node"),
      `#!/bin/sh\ncase "$1" in -p) echo ${major};; --version) echo v${nodeVersion};; esac\n`,
      { mode: 0o755 },
    );
    // Anything past the Node check would reach apt-get or npm; this npm records that it ran.
    fs.writeFileSync(path.join(bin, "npm"), `#!/bin/sh\necho reached >&2\nexit 99\n`, { mode: 0o755 });
  }
  const run = spawnSync("/bin/bash", [script], { env: { PATH: bin }, encoding: "utf8" });
  return { code: run.status, stderr: run.stderr };
}

test("the CI workflow runs .ci/run and installs nothing itself", () => {
  const ci = YAML.parse(fs.readFileSync(path.join(root, ".github", "workflows", "ci.yml"), "utf8"));
  const runs: string[] = ci.jobs.test.steps.map((s: { run?: string }) => s.run ?? "");
  expect(runs).toContain("bash .ci/run");
  expect(runs.join("\n")).not.toMatch(/apt-get|npm ci|npm test/);
});

test(".ci/run installs the tools every integration suite needs", () => {
  const text = fs.readFileSync(script, "utf8");
  for (const pkg of [
    "postgresql-15",
    "pgbackrest",
    "redis-server",
    "prometheus",
    "prometheus-alertmanager",
    "prometheus-blackbox-exporter",
    "prometheus-postgres-exporter",
    "prometheus-redis-exporter",
    "prometheus-node-exporter",
    "shellcheck",
    "curl",
    "openssl",
    "awscli",
  ])
    expect(text).toMatch(new RegExp(`apt-get install[^\\n]* ${pkg}( |$)`, "m"));
});

test.each([
  ["missing", undefined, "node and npm must be on PATH"],
  ["18", "18.19.0", "node v18.19.0 is too old; the project needs Node 20 or newer"],
])("with node %s, it stops first, with a clear message", (_label, version, message) => {
  const { code, stderr } = runWith(version);
  expect(code).toBe(1);
  expect(stderr).toContain(message);
  expect(stderr).not.toContain("reached");
});

test("with Node 20 it gets past the check, to the package installation (absent from this PATH)", () => {
  const { code, stderr } = runWith("20.18.1");
  expect(code).toBe(127);
  expect(stderr).toMatch(/(sudo|apt-get): command not found/);
  expect(stderr).not.toContain("too old");
});
