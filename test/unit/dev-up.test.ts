/**
 * `npm run dev:up` (scripts/dev-up.sh) with stand-ins for docker and the Pulumi CLI that record how
 * they are called: the local file backend under .pulumi-state/, a private passphrase file, the
 * stack created on first use, and `pulumi up` with the policy pack and its dev config.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONFIG_SCHEMA } from "../../components/config/schema";

const root = path.resolve(__dirname, "..", "..");
const SDK = (
  JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as { dependencies: Record<string, string> }
).dependencies["@pulumi/pulumi"];

const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function fakeCheckout(): { dir: string; bin: string; log: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dev-up-"));
  tempDirs.push(dir);
  fs.mkdirSync(path.join(dir, "scripts"));
  fs.mkdirSync(path.join(dir, "node_modules"));
  fs.copyFileSync(path.join(root, "scripts", "dev-up.sh"), path.join(dir, "scripts", "dev-up.sh"));
  fs.copyFileSync(path.join(root, "package.json"), path.join(dir, "package.json"));
  const bin = path.join(dir, "fake-bin");
  fs.mkdirSync(bin);
  const log = path.join(dir, "calls.log");
  const record = (tool: string) =>
    `#!/bin/sh\necho "${tool} $* | backend=$PULUMI_BACKEND_URL passfile=$PULUMI_CONFIG_PASSPHRASE_FILE" >> "${log}"\n`;
  // `pulumi version` answers with the SDK's own version, unrecorded; `config get` with FAKE_CONFIG
  // when set, else as for an unset key (exit 1).
  fs.writeFileSync(
    path.join(bin, "pulumi"),
    `#!/bin/sh\n[ "$1" = version ] && { echo v${SDK}; exit 0; }\n${record("pulumi").split("\n")[1]}\n` +
      `[ "$1 $2" = "config get" ] && { [ -n "$FAKE_CONFIG" ] && echo "$FAKE_CONFIG" || exit 1; }\nexit 0\n`,
    { mode: 0o755 },
  );
  // `docker info --format ...` answers with the engine's cgroup driver, FAKE_DRIVER or systemd.
  fs.writeFileSync(
    path.join(bin, "docker"),
    `${record("docker")}[ "$1" = info ] && echo "\${FAKE_DRIVER:-systemd}"\nexit 0\n`,
    { mode: 0o755 },
  );
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
    "docker info --format {{.CgroupDriver}} | backend= passfile=",
    `pulumi stack select dev --create --secrets-provider passphrase --non-interactive | ${env}`,
    `pulumi config get northstack:dockerCgroupDriver --stack dev | ${env}`,
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
  fs.writeFileSync(path.join(bin, "node"), '#!/bin/sh\ncase "$1" in -p) echo 18;; --version) echo v18.19.0;; esac\n', {
    mode: 0o755,
  });
  const run = spawnSync("bash", [path.join(dir, "scripts", "dev-up.sh")], {
    env: { PATH: `${bin}:${process.env.PATH}` },
    encoding: "utf8",
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain("node v18.19.0 is too old");
  // Only the read-only probe of the engine ran: no npm ci, no pulumi.
  expect(fs.readFileSync(log, "utf8").trim().split("\n")).toEqual([
    "docker info --format {{.CgroupDriver}} | backend= passfile=",
  ]);
});

test("dev:up reports every missing prerequisite at once, each with where to get it", () => {
  const { dir } = fakeCheckout();
  // Only the shell utilities the check itself uses, and a Node that is too old: no npm, docker or pulumi.
  const bare = path.join(dir, "bare-bin");
  fs.mkdirSync(bare);
  for (const tool of ["sed", "sort", "head", "dirname"]) {
    const found = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    fs.symlinkSync(found, path.join(bare, tool));
  }
  fs.writeFileSync(path.join(bare, "node"), '#!/bin/sh\ncase "$1" in -p) echo 18;; --version) echo v18.19.0;; esac\n', {
    mode: 0o755,
  });
  const run = spawnSync("/bin/bash", [path.join(dir, "scripts", "dev-up.sh")], {
    env: { PATH: bare },
    encoding: "utf8",
  });
  expect(run.status).toBe(1);
  const lines = run.stderr.trim().split("\n");
  expect(lines[0]).toBe("dev:up cannot start; missing prerequisites:");
  expect(lines.slice(1)).toEqual([
    expect.stringMatching(/^ {2}- node v18\.19\.0 is too old: .*nvm install 20/),
    expect.stringMatching(/^ {2}- npm is not on PATH: it comes with Node\.js/),
    expect.stringMatching(/^ {2}- docker is not on PATH: install Docker Engine/),
    expect.stringMatching(
      new RegExp(`^ {2}- pulumi is not on PATH: install the Pulumi CLI ${SDK.replace(/\./g, "\\.")}\\+`),
    ),
  ]);
});

test("dev:up refuses a Pulumi CLI older than the SDK, naming both versions", () => {
  const { dir, bin, log } = fakeCheckout();
  fs.writeFileSync(path.join(bin, "pulumi"), "#!/bin/sh\necho v3.100.0\n", { mode: 0o755 });
  const run = spawnSync("bash", [path.join(dir, "scripts", "dev-up.sh")], {
    env: { PATH: `${bin}:${process.env.PATH}` },
    encoding: "utf8",
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain(`the Pulumi CLI is 3.100.0, older than the SDK's ${SDK}`);
  expect(fs.readFileSync(log, "utf8")).not.toContain("pulumi up");
});

describe("dev:up takes the engine's cgroup driver, which names each container's cgroup for cAdvisor", () => {
  const run = (env: Record<string, string>) => {
    const { dir, bin, log } = fakeCheckout();
    const r = spawnSync("bash", [path.join(dir, "scripts", "dev-up.sh")], {
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, ...env },
      encoding: "utf8",
    });
    const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "";
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, calls };
  };

  test("a cgroupfs engine (Docker Desktop) sets the key before pulumi up", () => {
    const r = run({ FAKE_DRIVER: "cgroupfs" });
    expect(r.code).toBe(0);
    const calls = r.calls.split("\n").map((l) => l.split(" | ")[0]);
    const set = calls.indexOf("pulumi config set northstack:dockerCgroupDriver cgroupfs --stack dev");
    expect(set).toBeGreaterThan(0);
    expect(set).toBeLessThan(calls.findIndex((c) => c.startsWith("pulumi up")));
    expect(r.stdout).toContain("northstack:dockerCgroupDriver set to cgroupfs, the engine's");
  });

  test("a key that already matches the engine is left alone", () => {
    const r = run({ FAKE_DRIVER: "cgroupfs", FAKE_CONFIG: "cgroupfs" });
    expect(r.code).toBe(0);
    expect(r.calls).not.toContain("config set");
  });

  test("an engine with another driver is refused before anything runs, naming it", () => {
    const r = run({ FAKE_DRIVER: "none" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "the Docker engine reports cgroup driver 'none'; the dev stack supports systemd and cgroupfs",
    );
    expect(r.calls).not.toContain("pulumi");
  });

  test("the script's 'unset' is the schema's default", () => {
    expect(fs.readFileSync(path.join(root, "scripts", "dev-up.sh"), "utf8")).toContain(
      `|| echo ${CONFIG_SCHEMA.dockerCgroupDriver.default})`,
    );
  });
});
