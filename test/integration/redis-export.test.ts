/**
 * The Redis DR copy job's script (components/redis-export.ts), run for real: the export step against
 * a stand-in `aws` that plays ElastiCache and a versioned S3 bucket, the record step against a real
 * PostgreSQL 15 with northstack_ops.backup_runs as the migrations create it. What cannot run here is
 * AWS itself: the export's object name, ACLs, replication and the lifecycle that keeps 7 versions
 * (their configuration is checked in test/unit/redis-export.test.ts).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BACKUP_ROLE, RECORDER_ROLE } from "../../components/db-roles";
import { OPS_MIGRATION } from "../../components/migrations";
import { REDIS_DR_KEY, renderRedisExportScript } from "../../components/redis-export";
import { PG_BIN, PgCluster, queryRows, startPgCluster } from "../helpers/pg-cluster";

/**
 * ElastiCache and S3 as the script uses them. Snapshots are files under $FAKE/snapshots (content:
 * status); the bucket is $FAKE/bucket with every version of a key under $FAKE/versions/<key>/<n>.
 * FAKE_SNAPSHOT_TIME is the automatic snapshot's creation time; FAKE_EXPORT is what an export ends
 * in: "ok" (the .rdb lands), "failed" (status failed, nothing lands), "empty" (no object). Every
 * call is logged.
 */
const FAKE_AWS = `#!/bin/bash
set -euo pipefail
echo "$*" >> "$FAKE/calls.log"
arg() { local want=$1; shift; while [ $# -gt 0 ]; do [ "$1" = "$want" ] && { echo "$2"; return; }; shift; done; }
case "$1 $2" in
  "elasticache describe-snapshots")
    name=$(arg --snapshot-name "$@")
    if [ -n "$name" ]; then
      [ -f "$FAKE/snapshots/$name" ] || { echo "An error occurred (SnapshotNotFoundFault)" >&2; exit 254; }
      cat "$FAKE/snapshots/$name"; exit
    fi
    printf 'automatic.ns-redis-2027-03-07-06-10\\t%s\\n' "$FAKE_SNAPSHOT_TIME" ;;
  "elasticache copy-snapshot")
    target=$(arg --target-snapshot-name "$@"); bucket=$(arg --target-bucket "$@")
    case "$FAKE_EXPORT" in
      ok) echo available > "$FAKE/snapshots/$target"; mkdir -p "$FAKE/bucket/$bucket"
          head -c 4096 /dev/urandom > "$FAKE/bucket/$bucket/$target-0001.rdb" ;;
      failed) echo failed > "$FAKE/snapshots/$target" ;;
      empty) echo available > "$FAKE/snapshots/$target" ;;
    esac
    echo exporting ;;
  "elasticache delete-snapshot") rm "$FAKE/snapshots/$(arg --snapshot-name "$@")"; echo deleting ;;
  "s3api list-objects-v2")
    bucket=$(arg --bucket "$@"); prefix=$(arg --prefix "$@")
    keys=$(cd "$FAKE/bucket/$bucket" 2>/dev/null && find . -type f -path "./$prefix*" | sed 's|^\\./||' | paste -sd '\\t' || true)
    echo "\${keys:-None}" ;;
  "s3api head-object")
    f="$FAKE/bucket/$(arg --bucket "$@")/$(arg --key "$@")"
    [ -f "$f" ] || { echo "An error occurred (404)" >&2; exit 254; }
    printf '%s\\t%s\\n' "$(stat -c %s "$f")" "$(cat "$f.version" 2>/dev/null || echo v-export)" ;;
  "s3api delete-object")
    f="$FAKE/bucket/$(arg --bucket "$@")/$(arg --key "$@")"
    [ "$(cat "$f.version" 2>/dev/null || echo v-export)" = "$(arg --version-id "$@")" ] && rm -f "$f" "$f.version" ;;
  "s3 cp")
    src=\${3#s3://}; dst=\${4#s3://}; bucket=\${dst%%/*}; key=\${dst#*/}
    mkdir -p "$(dirname "$FAKE/bucket/$dst")" "$FAKE/versions/$key"
    n=$(( $(find "$FAKE/versions/$key" -type f | wc -l) + 1 ))
    cp "$FAKE/bucket/$src" "$FAKE/bucket/$dst"; cp "$FAKE/bucket/$src" "$FAKE/versions/$key/$n"
    echo "v$n" > "$FAKE/bucket/$dst.version" ;;
  *) echo "fake aws: unexpected call: $*" >&2; exit 252 ;;
esac
`;

const RECORDER_PASSWORD = "recorder-test-password";
let cluster: PgCluster;
let dir: string;
let script: string;
let bin: string;
const asRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** A directory the postgres OS user can write. */
const shared = (prefix: string) => {
  const made = fs.mkdtempSync(prefix);
  fs.chmodSync(made, 0o777);
  return made;
};

/** One step of the job as its container runs it (as the postgres OS user when the tests run as root). */
const step = (which: "export" | "record", env: Record<string, string>) => {
  const full: Record<string, string> = { PATH: `${bin}:${PG_BIN}:${process.env.PATH}`, ...env };
  const r = asRoot
    ? spawnSync(
        "runuser",
        ["-u", "postgres", "--", "env", ...Object.entries(full).map(([k, v]) => `${k}=${v}`), "bash", script, which],
        { encoding: "utf8" },
      )
    : spawnSync("bash", [script, which], { encoding: "utf8", env: { ...process.env, ...full } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

const query = (sql: string) => queryRows(cluster, sql);

/** One CronJob run against a fresh fake cloud state root `fake`: the export step, then the record step. */
function cronRun(fake: string, extra: Record<string, string> = {}) {
  const status = shared(path.join(dir, "status-"));
  const env = {
    FAKE: fake,
    FAKE_EXPORT: "ok",
    FAKE_SNAPSHOT_TIME: new Date(Date.now() - 2 * 3600 * 1000).toISOString(),
    STATUS_DIR: status,
    REDIS_GROUP: "ns-redis",
    BACKUP_BUCKET: "ns-redis-export",
    EXPORT_KMS_KEY: "arn:aws:kms:ca-central-1:111122223333:key/k1",
    MAX_SNAPSHOT_AGE_HOURS: "26",
    EXPORT_WAIT_SECONDS: "5",
    POLL_SECONDS: "1",
    ...extra,
  };
  const exported = step("export", env);
  // The record step logs in as the recorder, as in the stack: it may only insert runs.
  const recorded = step("record", {
    ...env,
    ...cluster.libpqEnv(),
    PGUSER: RECORDER_ROLE,
    PGPASSWORD: RECORDER_PASSWORD,
  });
  return { exported, recorded };
}

const newFake = () => {
  const fake = shared(path.join(dir, "fake-"));
  fs.mkdirSync(path.join(fake, "snapshots"), { mode: 0o777 });
  fs.chmodSync(path.join(fake, "snapshots"), 0o777);
  fs.writeFileSync(path.join(fake, "calls.log"), "", { mode: 0o666 });
  fs.chmodSync(path.join(fake, "calls.log"), 0o666);
  return fake;
};
const calls = (fake: string) => fs.readFileSync(path.join(fake, "calls.log"), "utf8").trim().split("\n");
const lastRun = async () =>
  (
    await query(
      "select kind, succeeded, size_bytes::bigint as size, object from northstack_ops.backup_runs order by finished_at desc limit 1",
    )
  )[0];

beforeAll(async () => {
  cluster = await startPgCluster();
  dir = shared(path.join(os.tmpdir(), "redis-export-"));
  script = path.join(dir, "redis-export.sh");
  fs.writeFileSync(script, renderRedisExportScript(), { mode: 0o755 });
  bin = shared(path.join(dir, "bin-"));
  fs.writeFileSync(path.join(bin, "aws"), FAKE_AWS, { mode: 0o755 });
  await query(
    `create role ${BACKUP_ROLE} nologin; create role ${RECORDER_ROLE} login password '${RECORDER_PASSWORD}'; ${OPS_MIGRATION.sql}`,
  );
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("the script passes shellcheck", () => {
  const r = spawnSync("shellcheck", ["-s", "bash", script], { encoding: "utf8" });
  expect(`${r.stdout}${r.stderr}`).toBe("");
  expect(r.status).toBe(0);
});

test("a good run exports the newest automatic snapshot, keeps it SSE-KMS under the fixed key, cleans up and records it", async () => {
  const fake = newFake();
  const { exported, recorded } = cronRun(fake);
  expect(exported.code).toBe(0);
  expect(recorded.code).toBe(0);
  expect(recorded.out).toMatch(/recorded redis-dr succeeded=true/);
  const log = calls(fake);
  const copy = log.find((c) => c.startsWith("elasticache copy-snapshot")) ?? "";
  const target = /--target-snapshot-name (export-ns-redis-\d{8}-\d{6})/.exec(copy)?.[1] ?? "";
  expect(copy).toContain("--source-snapshot-name automatic.ns-redis-2027-03-07-06-10");
  expect(copy).toContain("--target-bucket ns-redis-export");
  expect(target).not.toBe("");
  expect(log).toContain(
    `s3 cp s3://ns-redis-export/${target}-0001.rdb s3://ns-redis-export/${REDIS_DR_KEY} --only-show-errors --copy-props none --sse aws:kms --sse-kms-key-id arn:aws:kms:ca-central-1:111122223333:key/k1 --metadata snapshot=automatic.ns-redis-2027-03-07-06-10`,
  );
  // The transient export's version and the snapshot copy are gone; the kept key holds the bytes.
  expect(log).toContain(`s3api delete-object --bucket ns-redis-export --key ${target}-0001.rdb --version-id v-export`);
  expect(log).toContain(
    `elasticache delete-snapshot --snapshot-name ${target} --output text --query Snapshot.SnapshotStatus`,
  );
  expect(fs.readdirSync(path.join(fake, "snapshots"))).toEqual([]);
  expect(fs.readdirSync(path.join(fake, "bucket", "ns-redis-export")).sort()).toEqual(["daily"]);
  expect(fs.statSync(path.join(fake, "bucket", "ns-redis-export", REDIS_DR_KEY)).size).toBe(4096);
  expect(await lastRun()).toEqual({
    kind: "redis-dr",
    succeeded: true,
    size: "4096",
    object: `s3://ns-redis-export/${REDIS_DR_KEY}?versionId=v1`,
  });
});

test("each good run adds one version of the fixed key, which the buckets' lifecycle counts", () => {
  const fake = newFake();
  for (let n = 0; n < 3; n++) expect(cronRun(fake).recorded.code).toBe(0);
  expect(fs.readdirSync(path.join(fake, "versions", REDIS_DR_KEY)).sort()).toEqual(["1", "2", "3"]);
});

test.each([
  ["the export fails", { FAKE_EXPORT: "failed" }, /the export export-ns-redis-\S+ failed/],
  [
    "the export leaves no object",
    { FAKE_EXPORT: "empty" },
    /expected one \.rdb under s3:\/\/ns-redis-export\/export-ns-redis-\S+, found 0/,
  ],
  [
    "the newest automatic snapshot is stale",
    { FAKE_SNAPSHOT_TIME: new Date(Date.now() - 72 * 3600 * 1000).toISOString() },
    /is 72 h old \(limit 26 h\): automatic snapshots have stopped/,
  ],
])("a failed copy (%s) is recorded as failed, fails the job and keeps no copy", async (_what, extra, why) => {
  const fake = newFake();
  const { exported, recorded } = cronRun(fake, extra);
  // The export step hands over to the record step, which fails the pod.
  expect(exported.code).toBe(0);
  expect(exported.out).toMatch(why);
  expect(exported.out).toMatch(/the DR copy FAILED; recording it/);
  expect(recorded.code).not.toBe(0);
  expect(recorded.out).toMatch(/recorded redis-dr succeeded=false/);
  expect(await lastRun()).toEqual({ kind: "redis-dr", succeeded: false, size: "0", object: "" });
  expect(fs.existsSync(path.join(fake, "bucket", "ns-redis-export", REDIS_DR_KEY))).toBe(false);
  // No snapshot copy is left behind in ElastiCache, and a stale snapshot is not even exported.
  expect(fs.readdirSync(path.join(fake, "snapshots"))).toEqual([]);
  if ("FAKE_SNAPSHOT_TIME" in extra) expect(calls(fake).some((c) => c.includes("copy-snapshot"))).toBe(false);
});

test("a record step without an outcome records a failure", async () => {
  const status = shared(path.join(dir, "status-"));
  const r = step("record", { STATUS_DIR: status, ...cluster.libpqEnv() });
  expect(r.code).not.toBe(0);
  expect(r.out).toMatch(/the export step left no outcome/);
  expect((await lastRun()).succeeded).toBe(false);
});
