/**
 * `npm test` (scripts/test.sh) with stand-ins for npm and npx: the three checks and jest all run,
 * jest gets the arguments, and the run fails, showing the check's output, when any one fails.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.resolve(__dirname, "..", "..");
const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

/** Runs a copy of scripts/test.sh; FAIL names the one step (a check, or jest) whose stand-in fails. */
function runTests(fail: string, args: string[] = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "test-script-"));
  tempDirs.push(dir);
  fs.mkdirSync(path.join(dir, "scripts"));
  fs.copyFileSync(path.join(root, "scripts", "test.sh"), path.join(dir, "scripts", "test.sh"));
  const bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  const log = path.join(dir, "calls.log");
  // `npm run -s <check>` and `npx jest ...` record themselves and fail when named in FAIL.
  fs.writeFileSync(
    path.join(bin, "npm"),
    `#!/bin/sh\necho "npm $*" >> "${log}"\n[ "$3" = "$FAIL" ] && { echo "$3 found 2 problems"; exit 1; }\nexit 0\n`,
    { mode: 0o755 },
  );
  fs.writeFileSync(
    path.join(bin, "npx"),
    `#!/bin/sh\necho "npx $*" >> "${log}"\n[ "$1" = "$FAIL" ] && exit 1\nexit 0\n`,
    { mode: 0o755 },
  );
  const run = spawnSync("bash", [path.join(dir, "scripts", "test.sh"), ...args], {
    encoding: "utf8",
    env: { PATH: `${bin}:${process.env.PATH}`, FAIL: fail },
  });
  const calls = fs.readFileSync(log, "utf8").trim().split("\n").sort();
  return { code: run.status, out: run.stdout + run.stderr, calls };
}

test("runs jest with its arguments and the three checks, and passes when all pass", () => {
  const r = runTests("none", ["test/unit/x.test.ts", "--verbose"]);
  expect(r.code).toBe(0);
  expect(r.calls).toEqual([
    "npm run -s format:check",
    "npm run -s lint",
    "npm run -s typecheck",
    "npx jest test/unit/x.test.ts --verbose",
  ]);
  expect(r.out).toMatch(/npm run typecheck: passed/);
});

test.each(["typecheck", "lint", "format:check"])("fails when %s fails, with its output", (check) => {
  const r = runTests(check);
  expect(r.code).toBe(1);
  expect(r.out).toContain(`npm run ${check}: FAILED\n${check} found 2 problems`);
});

test("fails when jest fails, though every check passed", () => {
  const r = runTests("jest");
  expect(r.code).not.toBe(0);
  expect(r.out).not.toMatch(/FAILED/);
});
