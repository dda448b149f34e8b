/**
 * pgBackRest itself reads the rendered pgbackrest.conf. Every command logs the options it resolved
 * ("<command> command begin ...") before it touches a repository, so the command sections are
 * checked by the tool rather than by string matching. Fails, never skips, when pgBackRest is missing.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConfig } from "../../components/config";
import { renderPgBackRestConf } from "../../components/pgbackrest";
import { ns } from "../helpers/config";

let work: string;
let conf: string;

beforeAll(() => {
  if (!/^pgBackRest 2\./.test(spawnSync("pgbackrest", ["version"], { encoding: "utf8" }).stdout ?? "")) {
    throw new Error("pgbackrest is not installed; install Debian's pgbackrest package (.ci/run does)");
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), "northstack-pgbr-conf-"));
  conf = path.join(work, "pgbackrest.conf");
  fs.writeFileSync(
    conf,
    renderPgBackRestConf({ pgPath: path.join(work, "pg"), socketPath: work, repoPath: path.join(work, "repo") }),
  );
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The options pgBackRest resolved for `command`; the command itself fails on the empty repository. */
function resolvedOptions(command: string): string[] {
  const run = spawnSync(
    "pgbackrest",
    [`--config=${conf}`, "--stanza=main", `--lock-path=${path.join(work, "lock")}`, command],
    { encoding: "utf8", timeout: 60_000 },
  );
  const begin = `${run.stdout}${run.stderr}`.split("\n").find((line) => line.includes(`${command} command begin`));
  if (!begin) throw new Error(`pgbackrest ${command} logged no "command begin":\n${run.stdout}${run.stderr}`);
  return begin.split(" ").filter((word) => word.startsWith("--"));
}

test("a restore runs 8 processes and asks the restored server for one syncfs instead of an fsync per file", () => {
  expect(resolvedOptions("restore")).toEqual(
    expect.arrayContaining(["--process-max=8", "--recovery-option=recovery_init_sync_method=syncfs", "--delta"]),
  );
});

test("a backup, beside the live server, keeps 2 processes, lz4 and an immediate checkpoint", () => {
  const options = resolvedOptions("backup");
  expect(options).toEqual(expect.arrayContaining(["--process-max=2", "--compress-type=lz4", "--start-fast"]));
  expect(options.join(" ")).not.toMatch(/recovery-option/);
});

describe("the off-host copy from northstack:backupOffsite*", () => {
  const ACCESS_KEY_ID = "offsite-access-key-id-4417";
  const SECRET_ACCESS_KEY = "offsite-secret-access-key-9023";
  let offsiteConf: string;

  beforeAll(() => {
    const cfg = parseConfig(
      ns({
        backupOffsiteBucket: "northstack-dev-backups",
        // A closed port on this machine: pgBackRest logs its options before it reaches the store.
        backupOffsiteEndpoint: "127.0.0.1:9",
        backupOffsiteRegion: "us-east-1",
        backupOffsitePath: "/dev-laptop",
        backupOffsiteUriStyle: "path",
        backupOffsiteVerifyTls: "false",
        backupOffsiteAccessKeyId: ACCESS_KEY_ID,
        backupOffsiteSecretAccessKey: SECRET_ACCESS_KEY,
      }),
      "dev",
    );
    offsiteConf = path.join(work, "offsite.conf");
    fs.writeFileSync(
      offsiteConf,
      renderPgBackRestConf({
        pgPath: path.join(work, "pg"),
        socketPath: work,
        repoPath: path.join(work, "repo"),
        s3: cfg.postgres.offsite,
      }),
    );
  });

  test("pgBackRest resolves repo2 in the bucket, with the keys from the environment and never in its log", () => {
    const run = spawnSync(
      "pgbackrest",
      [
        `--config=${offsiteConf}`,
        "--stanza=main",
        `--lock-path=${path.join(work, "lock")}`,
        "archive-get",
        "000000010000000000000001",
        path.join(work, "wal"),
      ],
      {
        encoding: "utf8",
        timeout: 60_000,
        env: {
          ...process.env,
          PGBACKREST_REPO2_S3_KEY: ACCESS_KEY_ID,
          PGBACKREST_REPO2_S3_KEY_SECRET: SECRET_ACCESS_KEY,
        },
      },
    );
    const output = `${run.stdout}${run.stderr}`;
    const begin = output.split("\n").find((line) => line.includes("archive-get command begin"));
    if (!begin) throw new Error(`pgbackrest archive-get logged no "command begin":\n${output}`);
    expect(begin.split(" ").filter((word) => word.startsWith("--"))).toEqual(
      expect.arrayContaining([
        `--repo1-path=${path.join(work, "repo")}`,
        "--repo2-path=/dev-laptop",
        "--repo2-s3-bucket=northstack-dev-backups",
        "--repo2-s3-endpoint=127.0.0.1:9",
        "--repo2-s3-key=<redacted>",
        "--repo2-s3-key-secret=<redacted>",
        "--repo2-s3-region=us-east-1",
        "--repo2-s3-uri-style=path",
        "--no-repo2-storage-verify-tls",
        "--repo2-type=s3",
      ]),
    );
    expect(output).not.toContain(ACCESS_KEY_ID);
    expect(output).not.toContain(SECRET_ACCESS_KEY);
    expect(fs.readFileSync(offsiteConf, "utf8")).not.toContain(ACCESS_KEY_ID);
  });
});
