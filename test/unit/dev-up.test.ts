/**
 * `npm run dev:up` (scripts/dev-up.sh) with stand-ins for docker and the Pulumi CLI that record how
 * they are called: the local file backend under .pulumi-state/, a private passphrase file, the
 * stack created on first use, and `pulumi up` with the policy pack and its dev config.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.resolve(__dirname, "..", "..");

const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function fakeCheckout(): { dir: string; bin: string; log: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-up-"));
  tempDirs.push(dir);
  fs.mkdirSync(path.join(dir, "scripts"));
  fs.mkdirSync(path.join(dir, "node_modules"));
  fs.copyFileSync(path.join(root, "scripts", "dev-up.sh"), path.join(dir, "scripts", "dev-up.sh"));
  const bin = path.join(dir, "fake-bin");
  fs.mkdirSync(bin);
  const log = path.join(dir, "calls.log");
  const record = (tool: string) => `#!/bin/sh\necho "${tool} $* | backend=$PULUMI_BACKEND_URL passfile=$PULUMI_CONFIG_PASSPHRASE_FILE" >> "${log}"\n`;
  fs.writeFileSync(path.join(bin, "pulumi"), record("pulumi"), { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "docker"), record("docker"), { mode: 0o755 });
  fs.writeFileSync(path.join(bin, "npm"), record("npm"), { mode: 0o755 });
  return { dir, bin, log };
}

test("dev:up uses the file backend under .pulumi-state/, creates the stack on first use and runs up with the dev policy config", () => {
  const { dir, bin, log } = fakeCheckout();
  const run = spawnSync("bash", [path.join(dir, "scripts", "dev-up.sh"), "--diff"], {
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir },
    encoding: "utf8",
  });
  expect({ code: run.status, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });

  const state = path.join(dir, ".pulumi-state");
  const env = `backend=file://${state} passfile=${state}/passphrase`;
  expect(fs.readFileSync(log, "utf8").trim().split("\n")).toEqual([
    "docker info | backend= passfile=",
    `pulumi stack select dev --create --secrets-provider passphrase --non-interactive | ${env}`,
    `pulumi up --stack dev --yes --non-interactive --policy-pack policy --policy-pack-config policy/config.dev.json --diff | ${env}`,
    `pulumi stack output --stack dev | ${env}`,
  ]);
  const passphrase = fs.statSync(path.join(state, "passphrase"));
  expect(passphrase.mode & 0o077).toBe(0);
  expect(passphrase.size).toBeGreaterThan(32);
});

test("what dev:up points at exists: the policy pack, its advisory dev config, and an ignored state directory", () => {
  expect(fs.existsSync(path.join(root, "policy", "PulumiPolicy.yaml"))).toBe(true);
  expect(JSON.parse(fs.readFileSync(path.join(root, "policy", "config.dev.json"), "utf8")).all).toBe("advisory");
  expect(fs.readFileSync(path.join(root, ".gitignore"), "utf8").split("\n")).toContain(".pulumi-state/");
});

test("dev:up refuses a Node older than 20 before touching anything", () => {
  const { dir, bin, log } = fakeCheckout();
  fs.writeFileSync(path.join(bin, "node"), '#!/bin/sh\ncase "$1" in -p) echo 18;; --version) echo v18.19.0;; esac\n', { mode: 0o755 });
  const run = spawnSync("bash", [path.join(dir, "scripts", "dev-up.sh")], { env: { PATH: `${bin}:${process.env.PATH}` }, encoding: "utf8" });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain("node v18.19.0 is too old");
  expect(fs.existsSync(log)).toBe(false);
});
