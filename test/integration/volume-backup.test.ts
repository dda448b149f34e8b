/**
 * The rendered Redis and Storage backup script (components/volume-backup-script.ts) against a real
 * redis-server loaded with the rendered redis.conf, a real PostgreSQL 15 for the records (written as
 * the recorder role, which may only insert) and a real directory of objects; then the restore helpers
 * (scripts/restore/redis-restore.sh and storage-restore.sh) bring the data back. Off the host: the
 * same script with Debian's AWS CLI (the version the image pins) against s3rver, an S3 protocol
 * server, over TLS with a throwaway certificate. Redis runs as Debian's `redis` user and the script as
 * `postgres` when the tests run as root, as in their containers: neither is root.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { awsCliConfig } from "../../components/backup";
import { BACKUP_ROLE, RECORDER_ROLE } from "../../components/db-roles";
import { OPS_MIGRATION } from "../../components/migrations";
import { REDIS_AOF_DIR, renderRedisConf } from "../../components/redis";
import { offsitePrefix } from "../../components/volume-backup";
import { OFFSITE_KINDS, renderVolumeBackupScript } from "../../components/volume-backup-script";
import { PG_BIN, PgCluster, freePort, queryRows, startPgCluster } from "../helpers/pg-cluster";
import { S3RVER_KEY_ID, S3RVER_SECRET, S3Server, startS3rver } from "../helpers/s3rver";

const ROOT = path.resolve(__dirname, "..", "..");
/** The restore scripts, copied into the scratch directory: the redis and nobody users may not read the checkout. */
let REDIS_RESTORE = "";
let STORAGE_RESTORE = "";
const PASSWORD = "volumeBackupRedisPassw0rd";
const RECORDER_PASSWORD = "recorderPassw0rd";
const asRoot = typeof process.getuid === "function" && process.getuid() === 0;

let cluster: PgCluster;
let dir: string;
let script: string;
let redisPort: number;
let redis: ChildProcess | undefined;
const dataDir = () => path.join(dir, "redis-data");
const backups = () => path.join(dir, "backups");
const objects = () => path.join(dir, "objects");

/** Runs `cmd` as `user` (when root) with `env`; returns its exit code and output. */
function runAs(user: string, cmd: string[], env: Record<string, string>) {
  const r = asRoot
    ? spawnSync("runuser", ["-u", user, "--", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...cmd], {
        encoding: "utf8",
      })
    : spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", env: { ...process.env, ...env } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const backup = (args: string[], extra: Record<string, string> = {}) =>
  runAs("postgres", ["bash", script, ...args], {
    ...cluster.libpqEnv(),
    PGUSER: RECORDER_ROLE,
    PGPASSWORD: RECORDER_PASSWORD,
    PATH: `${extra.PATH ?? ""}${PG_BIN}:${process.env.PATH}`,
    BACKUP_DIR: backups(),
    REDIS_HOST: "127.0.0.1",
    REDIS_PORT: String(redisPort),
    REDISCLI_AUTH: PASSWORD,
    STORAGE_DIR: objects(),
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== "PATH")),
  });

const cli = (...args: string[]) => {
  const r = spawnSync("redis-cli", ["-p", String(redisPort), "--no-auth-warning", ...args], {
    encoding: "utf8",
    env: { ...process.env, REDISCLI_AUTH: PASSWORD },
  });
  return r.stdout.trim();
};

async function startRedis(): Promise<void> {
  const conf = path.join(dir, "redis.conf");
  fs.writeFileSync(
    conf,
    renderRedisConf({ password: PASSWORD, maxmemoryMb: 64, port: redisPort, bind: "127.0.0.1", dir: dataDir() }),
  );
  fs.chmodSync(conf, 0o644);
  // setpriv execs the server itself, so its pid is the server's and a kill reaches it.
  redis = asRoot
    ? spawn("setpriv", ["--reuid=redis", "--regid=redis", "--init-groups", "redis-server", conf], { stdio: "ignore" })
    : spawn("redis-server", [conf], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    if (cli("ping") === "PONG") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("redis-server did not answer PING");
}

/** SIGKILL: no shutdown save, as a crash. */
async function killRedis(): Promise<void> {
  const proc = redis;
  redis = undefined;
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGKILL");
  await exited;
}

const query = (sql: string) => queryRows(cluster, sql);
const records = async (kind: string) =>
  (await query(`select object from northstack_ops.backup_runs where kind = '${kind}' order by finished_at`)).map(
    (r) => r.object as string,
  );
const kept = (kind: string, tier: "daily" | "weekly") => {
  const d = path.join(backups(), kind, tier);
  return fs.existsSync(d) ? fs.readdirSync(d).sort() : [];
};

/** A directory the redis and postgres OS users can write. */
const shared = (p: string) => {
  fs.mkdirSync(p, { recursive: true });
  fs.chmodSync(p, 0o777);
  return p;
};

beforeAll(async () => {
  cluster = await startPgCluster();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "volume-backup-"));
  fs.chmodSync(dir, 0o777);
  shared(dataDir());
  shared(backups());
  shared(objects());
  script = path.join(dir, "volume-backup.sh");
  fs.writeFileSync(script, renderVolumeBackupScript(), { mode: 0o755 });
  for (const name of ["redis-restore.sh", "storage-restore.sh"])
    fs.copyFileSync(path.join(ROOT, "scripts", "restore", name), path.join(dir, name));
  [REDIS_RESTORE, STORAGE_RESTORE] = ["redis-restore.sh", "storage-restore.sh"].map((n) => path.join(dir, n));
  await query(`create role ${BACKUP_ROLE} nologin; create role ${RECORDER_ROLE} nologin; ${OPS_MIGRATION.sql}`);
  // The job's own login: it may only insert the records.
  await query(`alter role ${RECORDER_ROLE} login password '${RECORDER_PASSWORD}'`);
  redisPort = await freePort();
  await startRedis();
}, 120000);

afterAll(async () => {
  await killRedis();
  await cluster?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("the rendered script passes shellcheck", () => {
  const r = spawnSync("shellcheck", ["-s", "bash", script], { encoding: "utf8" });
  expect(r.stdout + r.stderr).toBe("");
  expect(r.status).toBe(0);
});

test("Redis data is back after a crash, from the kept and checked RDB copy", async () => {
  // 20000 keys of about 100 bytes, one with a TTL, and a hash (LZF-compressed to about 0.6 MB in the RDB).
  const value = "v".repeat(100);
  const load = Array.from({ length: 20000 }, (_, i) => `SET key:${i} ${value}-${i}`).join("\n");
  const loaded = spawnSync("redis-cli", ["-p", String(redisPort), "--no-auth-warning", "--pipe"], {
    input: `${load}\nHSET profile:1 name alice plan pro\nSET session:1 live EX 86400\n`,
    encoding: "utf8",
    env: { ...process.env, REDISCLI_AUTH: PASSWORD },
  });
  expect(loaded.stdout).toMatch(/errors: 0, replies: 20002/);

  const started = Date.now();
  const result = backup(["redis"], { BACKUP_DATE: "2026-11-01" });
  const seconds = (Date.now() - started) / 1000;
  expect(result.out).toMatch(/redis: RDB checked, 20002 keys/);
  expect(result.code).toBe(0);
  expect(kept("redis", "daily")).toEqual(["redis-2026-11-01.rdb"]);
  expect(kept("redis", "weekly")).toEqual(["redis-2026-11-01.rdb"]);
  expect(await records("redis")).toEqual(["redis/daily/redis-2026-11-01.rdb"]);
  const rdb = path.join(backups(), "redis", "daily", "redis-2026-11-01.rdb");
  const size = fs.statSync(rdb).size;
  console.log(
    `redis copy: 20002 keys, ${size} bytes, ${seconds.toFixed(2)} s (redis-cli --rdb + redis-check-rdb + record)`,
  );

  // The crash: no shutdown save, and the data set is gone.
  await killRedis();
  fs.rmSync(path.join(dataDir(), REDIS_AOF_DIR), { recursive: true, force: true });
  fs.rmSync(path.join(dataDir(), "dump.rdb"), { force: true });
  const restored = runAs("redis", ["bash", REDIS_RESTORE, rdb, dataDir()], {});
  expect(restored.out).toMatch(/now starts from .* \(20002 keys\)/);
  expect(restored.code).toBe(0);
  await startRedis();
  expect(cli("dbsize")).toBe("20002");
  expect(cli("get", "key:19999")).toBe(`${value}-19999`);
  expect(cli("hget", "profile:1", "plan")).toBe("pro");
  expect(Number(cli("ttl", "session:1"))).toBeGreaterThan(0);
  // Writes after the restore land in the new AOF and survive the next restart.
  expect(cli("set", "after", "restore")).toBe("OK");
  // appendfsync everysec: give the AOF its second before the next crash.
  await new Promise((r) => setTimeout(r, 1500));
  await killRedis();
  await startRedis();
  expect(cli("get", "after")).toBe("restore");
}, 120000);

test("a restore refuses a corrupt RDB and leaves the data alone", () => {
  const bad = path.join(dir, "bad.rdb");
  const good = path.join(backups(), "redis", "daily", "redis-2026-11-01.rdb");
  const bytes = fs.readFileSync(good);
  bytes.write("garbage!", 200);
  fs.writeFileSync(bad, bytes);
  fs.chmodSync(bad, 0o644);
  const before = fs.readdirSync(dataDir()).sort();
  const result = runAs("redis", ["bash", REDIS_RESTORE, bad, dataDir()], {});
  expect(result.out).toMatch(/does not pass redis-check-rdb; nothing was changed/);
  expect(result.code).toBe(1);
  expect(fs.readdirSync(dataDir()).sort()).toEqual(before);
});

test("a corrupted RDB copy is neither kept nor recorded", async () => {
  // A redis-cli that damages what the server sent, as a bad disk or a cut transfer would.
  const fake = shared(path.join(dir, "corrupting-bin"));
  fs.writeFileSync(
    path.join(fake, "redis-cli"),
    `#!/bin/bash\n/usr/bin/redis-cli "$@" || exit $?\nout=\${@: -1}\nprintf 'garbage!' | dd of="$out" bs=1 seek=200 conv=notrunc status=none\n`,
    { mode: 0o755 },
  );
  const before = await records("redis");
  const result = backup(["redis"], { BACKUP_DATE: "2026-11-02", PATH: `${fake}:` });
  expect(result.out).toMatch(/redis-check-rdb FAILED/);
  expect(result.out).toMatch(/nothing kept or recorded/);
  expect(result.code).not.toBe(0);
  expect(kept("redis", "daily")).toEqual(["redis-2026-11-01.rdb"]);
  expect(await records("redis")).toEqual(before);
});

test("a wrong password keeps and records nothing", async () => {
  const before = await records("redis");
  const result = backup(["redis"], { BACKUP_DATE: "2026-11-02", REDISCLI_AUTH: "wrong" });
  expect(result.out).toMatch(/redis-cli --rdb FAILED/);
  expect(result.code).not.toBe(0);
  expect(kept("redis", "daily")).toEqual(["redis-2026-11-01.rdb"]);
  expect(await records("redis")).toEqual(before);
});

test("Storage objects come back from the kept tarball, byte for byte", async () => {
  const files: Record<string, Buffer> = {
    "stub/avatars/user 1/photo.png": Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 256)),
    "stub/avatars/user 1/photo.png.meta/version-1": Buffer.from("a nested version"),
    "stub/docs/notes.txt": Buffer.from("hello\n"),
    "stub/empty.bin": Buffer.alloc(0),
    // A second entry at the top: the list of entries handed to tar is NUL-separated.
    "second tenant/readme.txt": Buffer.from("more than one top-level entry\n"),
  };
  for (const [rel, content] of Object.entries(files)) {
    const target = path.join(objects(), rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
  }
  const result = backup(["storage"], { BACKUP_DATE: "2026-11-01" });
  expect(result.out).toMatch(/storage: tarball checked, \d+ entries/);
  expect(result.code).toBe(0);
  expect(kept("storage", "daily")).toEqual(["storage-2026-11-01.tar.gz"]);
  expect(await records("storage")).toEqual(["storage/daily/storage-2026-11-01.tar.gz"]);

  const target = shared(path.join(dir, "restored-objects"));
  fs.writeFileSync(path.join(target, "stale"), "replaced by the restore");
  const tarball = path.join(backups(), "storage", "daily", "storage-2026-11-01.tar.gz");
  const restored = runAs("nobody", ["sh", STORAGE_RESTORE, tarball, target], {});
  expect(restored.out).toMatch(/now holds/);
  expect(restored.code).toBe(0);
  const tree = (root: string) =>
    spawnSync("bash", ["-c", `cd "${root}" && find . -type f -exec sha256sum {} + | sort -k2`], {
      encoding: "utf8",
    }).stdout;
  expect(tree(target)).toBe(tree(objects()));
  expect(tree(target).split("\n").filter(Boolean)).toHaveLength(Object.keys(files).length);
  expect(fs.existsSync(path.join(target, "stale"))).toBe(false);
});

test("a truncated tarball changes nothing on restore", () => {
  const tarball = path.join(backups(), "storage", "daily", "storage-2026-11-01.tar.gz");
  const cut = path.join(dir, "cut.tar.gz");
  fs.writeFileSync(cut, fs.readFileSync(tarball).subarray(0, 300));
  fs.chmodSync(cut, 0o644);
  const target = shared(path.join(dir, "untouched"));
  fs.writeFileSync(path.join(target, "keep"), "still here");
  const result = runAs("nobody", ["sh", STORAGE_RESTORE, cut, target], {});
  expect(result.out).toMatch(/does not read to its end; nothing was changed/);
  expect(result.code).toBe(1);
  expect(fs.readFileSync(path.join(target, "keep"), "utf8")).toBe("still here");
});

test("over 29 days, each kind keeps its 7 newest daily copies and 4 weekly ones, 7 days apart", async () => {
  // 11-03 to 12-01: the fewest days after the first copy (11-01) in which both tiers drop a copy.
  const days = Array.from({ length: 29 }, (_, i) => new Date(Date.UTC(2026, 10, 3 + i)).toISOString().slice(0, 10));
  for (const day of days) {
    const r = backup(["once"], { BACKUP_DATE: day });
    expect({ day, code: r.code, out: r.out }).toEqual({ day, code: 0, out: expect.any(String) });
  }
  const last7 = days.slice(-7);
  // Weekly copies were taken on 2026-11-01 (the first runs above) and every 7 days after, up to 11-29;
  // the first of them is gone.
  const weekly = ["2026-11-08", "2026-11-15", "2026-11-22", "2026-11-29"];
  expect(kept("redis", "daily")).toEqual(last7.map((d) => `redis-${d}.rdb`));
  expect(kept("redis", "weekly")).toEqual(weekly.map((d) => `redis-${d}.rdb`));
  expect(kept("storage", "daily")).toEqual(last7.map((d) => `storage-${d}.tar.gz`));
  expect(kept("storage", "weekly")).toEqual(weekly.map((d) => `storage-${d}.tar.gz`));
  expect(await records("redis")).toHaveLength(days.length + 1);
  expect(await records("storage")).toHaveLength(days.length + 1);
  expect(backup(["check"]).code).toBe(0);
}, 300000);

describe("off the host: each kept copy also goes to an S3 bucket", () => {
  const BUCKET = "northstack-dev-backups";
  /** pgBackRest's repository path in the bucket, as northstack:backupOffsitePath would give it. */
  const PREFIX = offsitePrefix("/dev-laptop");
  const KEY_ID = S3RVER_KEY_ID;
  const SECRET = S3RVER_SECRET;
  /** Debian's AWS CLI, the one the image installs; not a newer one that may come first on PATH. */
  const AWS = "/usr/bin/aws";
  let s3: S3Server | undefined;
  let s3Port: number;
  let offsiteEnv: Record<string, string>;

  /** The CLI as the test's own witness, with the job's settings. */
  const aws = (...args: string[]) => {
    const r = spawnSync(AWS, ["--endpoint-url", `https://127.0.0.1:${s3Port}`, ...args], {
      encoding: "utf8",
      env: { ...process.env, ...offsiteEnv },
    });
    if (r.status !== 0) throw new Error(`aws ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  /** The names the bucket holds under <prefix>/<kind>/<tier>/, from the store's disk. */
  const inBucket = (kind: string, tier: "daily" | "weekly") => {
    const prefix = `${PREFIX}/${kind}/${tier}/`;
    return (s3 as S3Server).keys(BUCKET, prefix).map((k) => k.slice(prefix.length));
  };
  const runs = async (kind: string) =>
    (
      await query(
        `select object, succeeded from northstack_ops.backup_runs where kind = '${kind}' order by finished_at`,
      )
    ).map((r) => [r.object as string, r.succeeded as boolean]);
  /** The job with the off-host settings, `extra` on top, and the `without` variables left out. */
  const offsiteBackup = (
    args: string[],
    backupDir: string,
    extra: Record<string, string> = {},
    without: string[] = [],
  ) => {
    const env = { ...offsiteEnv, BACKUP_DIR: backupDir, PATH: "/usr/bin:", ...extra };
    return backup(args, Object.fromEntries(Object.entries(env).filter(([k]) => !without.includes(k))));
  };

  beforeAll(async () => {
    const server = await startS3rver(path.join(dir, "s3"), BUCKET);
    s3 = server;
    s3Port = server.port;
    const config = path.join(shared(path.join(dir, "aws")), "aws-config");
    fs.writeFileSync(config, awsCliConfig({ region: "us-east-1" }, "path"), { mode: 0o644 });
    offsiteEnv = {
      OFFSITE_BUCKET: BUCKET,
      OFFSITE_ENDPOINT: `127.0.0.1:${s3Port}`,
      OFFSITE_PREFIX: PREFIX,
      OFFSITE_VERIFY_TLS: "true",
      AWS_CONFIG_FILE: config,
      AWS_CA_BUNDLE: server.caFile,
      AWS_ACCESS_KEY_ID: KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET,
      AWS_PAGER: "",
      HOME: shared(path.join(dir, "aws-home")),
    };
  }, 60000);

  afterAll(() => {
    s3?.stop();
  });

  test("the CLI here is the version the image pins", () => {
    const dockerfile = fs.readFileSync(path.join(ROOT, "images", "volume-backup", "Dockerfile"), "utf8");
    const pinned = /awscli=([0-9.]+)-/.exec(dockerfile)?.[1];
    expect(pinned).toMatch(/^2\.\d+\.\d+$/);
    expect(spawnSync(AWS, ["--version"], { encoding: "utf8" }).stdout).toMatch(new RegExp(`^aws-cli/${pinned} `));
  });

  test("each kept copy lands in the bucket byte for byte, and each upload is recorded on its own", async () => {
    const local = shared(path.join(dir, "offsite-first"));
    const result = offsiteBackup(["once"], local, { BACKUP_DATE: "2027-01-04" });
    expect(result.out).toMatch(
      /redis: s3:\/\/northstack-dev-backups\/dev-laptop-volumes\/redis\/daily\/redis-2027-01-04\.rdb uploaded/,
    );
    expect(result.code).toBe(0);
    for (const [kind, ext] of [
      ["redis", "rdb"],
      ["storage", "tar.gz"],
    ]) {
      const name = `${kind}-2027-01-04.${ext}`;
      expect(inBucket(kind, "daily")).toEqual([name]);
      expect(inBucket(kind, "weekly")).toEqual([name]);
      const stored = (s3 as S3Server).read(BUCKET, `${PREFIX}/${kind}/daily/${name}`);
      expect(stored.equals(fs.readFileSync(path.join(local, kind, "daily", name)))).toBe(true);
      expect(await runs(OFFSITE_KINDS[kind as "redis" | "storage"])).toEqual([
        [`${PREFIX}/${kind}/daily/${name}`, true],
      ]);
    }
    // Nothing lands outside the prefix beside pgBackRest's path.
    expect((s3 as S3Server).keys(BUCKET, "").filter((k) => !k.startsWith(`${PREFIX}/`))).toEqual([]);
  }, 120000);

  test("a credential the store refuses fails the run loudly and records a failed upload; the copy stays on the volume", async () => {
    const local = shared(path.join(dir, "offsite-refused"));
    const before = await runs("redis-offsite");
    const result = offsiteBackup(["redis"], local, {
      BACKUP_DATE: "2027-01-05",
      AWS_ACCESS_KEY_ID: "AKIAREVOKEDKEY000000",
    });
    expect(result.code).not.toBe(0);
    expect(result.out).toMatch(
      /redis: off-host copy to s3:\/\/northstack-dev-backups\/dev-laptop-volumes\/redis FAILED: .*InvalidAccessKeyId/,
    );
    expect(result.out).not.toContain(SECRET);
    expect(fs.readdirSync(path.join(local, "redis", "daily"))).toEqual(["redis-2027-01-05.rdb"]);
    expect(await runs("redis-offsite")).toEqual([...before, [`${PREFIX}/redis/daily/redis-2027-01-05.rdb`, false]]);
    expect(inBucket("redis", "daily")).not.toContain("redis-2027-01-05.rdb");
  }, 60000);

  test("with TLS verification on, an endpoint whose certificate is not trusted is refused; off, it is used", async () => {
    const local = shared(path.join(dir, "offsite-tls"));
    const untrusted = offsiteBackup(["storage"], local, { BACKUP_DATE: "2027-01-06" }, ["AWS_CA_BUNDLE"]);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.out).toMatch(/storage: off-host copy .* FAILED: .*SSL validation failed/);
    expect(inBucket("storage", "daily")).not.toContain("storage-2027-01-06.tar.gz");
    const unverified = offsiteBackup(["storage"], local, { BACKUP_DATE: "2027-01-06", OFFSITE_VERIFY_TLS: "false" }, [
      "AWS_CA_BUNDLE",
    ]);
    expect(unverified.code).toBe(0);
    expect(inBucket("storage", "daily")).toContain("storage-2027-01-06.tar.gz");
    expect((await runs("storage-offsite")).slice(-2).map(([, ok]) => ok)).toEqual([false, true]);
  }, 60000);

  test("the bucket keeps exactly the 7 newest daily copies and 4 weekly ones, taking a weekly one when the newest is 7 days old", async () => {
    // The schedule over weeks of runs is the volume's (the 40-day test above); the bucket applies the
    // same functions to its own listing. Its history is seeded in one upload: 10 days of daily copies
    // and weekly ones 7 days apart, the newest a week before the first run here.
    const local = shared(path.join(dir, "offsite-days"));
    aws("s3", "rm", "--recursive", "--only-show-errors", `s3://${BUCKET}/${PREFIX}/storage/`);
    const day = (n: number) => new Date(Date.UTC(2027, 1, n)).toISOString().slice(0, 10);
    const copy = (d: string) => `storage-${d}.tar.gz`;
    const seed = shared(path.join(dir, "offsite-seed"));
    const seeded = {
      daily: [4, 5, 6, 7, 8, 9, 10, 11, 12, 13].map(day),
      weekly: ["2027-01-10", "2027-01-17", "2027-01-24", "2027-01-31", "2027-02-07"],
    };
    for (const tier of ["daily", "weekly"] as const) {
      fs.mkdirSync(path.join(seed, tier));
      for (const d of seeded[tier]) fs.writeFileSync(path.join(seed, tier, copy(d)), `seeded ${tier} ${d}\n`);
    }
    aws("s3", "cp", "--recursive", "--only-show-errors", seed, `s3://${BUCKET}/${PREFIX}/storage`);
    expect(inBucket("storage", "weekly")).toHaveLength(5);

    // 02-14 is 7 days after the newest weekly copy (02-07): a weekly copy is due, and both tiers are cut.
    const first = offsiteBackup(["storage"], local, { BACKUP_DATE: day(14) });
    expect({ code: first.code, out: first.out }).toEqual({ code: 0, out: expect.any(String) });
    expect(inBucket("storage", "daily")).toEqual([8, 9, 10, 11, 12, 13, 14].map((n) => copy(day(n))));
    expect(inBucket("storage", "weekly")).toEqual(["2027-01-24", "2027-01-31", "2027-02-07", "2027-02-14"].map(copy));
    // The next day no weekly copy is due; the oldest daily one goes.
    const second = offsiteBackup(["storage"], local, { BACKUP_DATE: day(15) });
    expect(second.code).toBe(0);
    expect(inBucket("storage", "daily")).toEqual([9, 10, 11, 12, 13, 14, 15].map((n) => copy(day(n))));
    expect(inBucket("storage", "weekly")).toEqual(["2027-01-24", "2027-01-31", "2027-02-07", "2027-02-14"].map(copy));
  }, 120000);

  test("a lost volume does not prune the bucket: a fresh volume's first copy leaves the older ones", () => {
    const fresh = shared(path.join(dir, "offsite-fresh"));
    const r = offsiteBackup(["storage"], fresh, { BACKUP_DATE: "2027-02-16" });
    expect(r.code).toBe(0);
    expect(fs.readdirSync(path.join(fresh, "storage", "daily"))).toEqual(["storage-2027-02-16.tar.gz"]);
    const daily = inBucket("storage", "daily");
    expect(daily).toHaveLength(7);
    expect(daily[6]).toBe("storage-2027-02-16.tar.gz");
    expect(daily[0]).toBe("storage-2027-02-10.tar.gz");
  }, 60000);
});
