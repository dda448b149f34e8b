/**
 * Each composition loads only the provider packages its stack uses: loading a provider package
 * costs about half a second of every plan and `pulumi up`. Checked in a fresh Node process per
 * module, through the same loader the plan uses.
 */
import { spawnSync } from "child_process";
import * as path from "path";

const root = path.resolve(__dirname, "..", "..");
const PROVIDERS = ["aws", "gcp", "kubernetes", "docker"];

function providersLoadedBy(module: string): string[] {
  const script = `require(${JSON.stringify(path.join(root, module))});
const loaded = Object.keys(require.cache).map((f) => /node_modules\\/@pulumi\\/([a-z]+)\\//.exec(f)?.[1]).filter(Boolean);
console.log(JSON.stringify([...new Set(loaded)]));`;
  const run = spawnSync(process.execPath, ["-r", path.join(root, "scripts", "register.js"), "-e", script], {
    cwd: root,
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(run.stderr);
  return (JSON.parse(run.stdout) as string[]).filter((p) => PROVIDERS.includes(p)).sort();
}

test.each([
  ["stacks/dev.ts", ["docker"]],
  ["stacks/cloud.ts", ["kubernetes"]],
  ["stacks/aws.ts", ["aws"]],
  ["stacks/gcp.ts", ["gcp"]],
])("%s loads only %j", (module, expected) => {
  expect(providersLoadedBy(module)).toEqual(expected);
});
