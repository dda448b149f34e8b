/**
 * pgBackRest on a real PostgreSQL 15 with the rendered archive settings and pgbackrest.conf: the
 * RPO under `kill -9` and loss of the data directory, PITR to just before a DROP TABLE, a restore
 * into an empty machine, the drill, and the off-host repo2 both on a path and in an S3 bucket (s3rver
 * over TLS) (retention: backup-retention.test.ts). pgBackRest must be
 * installed (`.ci/run` installs it); without it these tests fail, they do not skip.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { renderPgBackRestConf } from "../../components/pgbackrest";
import { ArchivingCluster, startArchivingCluster } from "../helpers/pgbackrest-cluster";
import { S3RVER_KEY_ID, S3RVER_SECRET, startS3rver } from "../helpers/s3rver";
import { freePort, PG_BIN } from "../helpers/pg-cluster";

const ARCHIVE_TIMEOUT = 5;
const asRoot = process.getuid?.() === 0;

let pg: ArchivingCluster;

beforeAll(async () => {
  pg = await startArchivingCluster(ARCHIVE_TIMEOUT);
  await pg.query(`
    create role authenticated nologin;
    create role anon nologin;
    create table public.notes (id bigserial primary key, owner text not null default current_user, body text not null, at timestamptz not null default clock_timestamp());
    alter table public.notes enable row level security;
    create policy notes_owner on public.notes for all to authenticated using (owner = current_user);
    grant select, insert on public.notes to authenticated;
    create table public.ledger (id int primary key, amount numeric not null);
    insert into public.ledger select g, g * 1.5 from generate_series(1, 5000) g;
  `);
  pg.ok("pgbackrest", ["backup", "--type=full"]);
}, 120000);

afterAll(async () => {
  await pg?.stop();
});

test("rendered archiving keeps at most archive_timeout of writes at risk: kill -9 and a lost data directory lose seconds, not days", async () => {
  const writer = new Client(pg.cluster.connection());
  // The kill below ends this connection; its error event is expected, not a failure.
  writer.on("error", () => undefined);
  await writer.connect();
  let lastCommitted = 0;
  const until = Date.now() + 3 * ARCHIVE_TIMEOUT * 1000;
  while (Date.now() < until) {
    await writer.query("insert into public.notes (body) values ('steady load')");
    lastCommitted = Date.now();
    await new Promise((r) => setTimeout(r, 50));
  }
  const [{ archived }] = await pg.query<{ archived: string }>(
    "select archived_count::text as archived from pg_stat_archiver",
  );
  expect(Number(archived)).toBeGreaterThan(1);

  const postmaster = Number(fs.readFileSync(path.join(pg.cluster.dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  process.kill(postmaster, "SIGKILL");
  await writer.end().catch(() => undefined);
  await new Promise((r) => setTimeout(r, 500));
  fs.rmSync(pg.cluster.dataDir, { recursive: true, force: true });
  // The socket's lock file outlives a killed postmaster, and where nothing reaps the zombie its PID
  // still looks alive: a new machine would not have it, so it goes with the lost data directory.
  for (const f of [`.s.PGSQL.${pg.port}`, `.s.PGSQL.${pg.port}.lock`])
    fs.rmSync(path.join(pg.cluster.dir, f), { force: true });

  const started = Date.now();
  pg.ok("bash", [pg.scripts.restore, "latest"]);
  await pg.startServer(pg.cluster.dataDir, pg.port, pg.cluster.dir);
  const restoreSeconds = (Date.now() - started) / 1000;

  const [{ newest }] = await pg.query<{ newest: Date }>("select max(at) as newest from public.notes");
  const lossSeconds = (lastCommitted - newest.getTime()) / 1000;
  console.log(
    `RPO: ${lossSeconds.toFixed(1)} s of writes lost with archive_timeout=${ARCHIVE_TIMEOUT}s; restore to latest took ${restoreSeconds.toFixed(1)} s`,
  );
  expect(lossSeconds).toBeLessThanOrEqual(ARCHIVE_TIMEOUT + 2);
  expect(lossSeconds).toBeLessThanOrEqual(60);
}, 120000);

test("PITR: a dropped table comes back, every row with an equal checksum, from a restore to just before the DROP", async () => {
  await pg.query("insert into public.ledger select g, g * 2.5 from generate_series(5001, 8000) g");
  const before = pg.manifest();
  const [{ t }] = await pg.query<{ t: string }>(
    "select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as t",
  );
  await new Promise((r) => setTimeout(r, 1100));
  await pg.query("drop table public.ledger");
  pg.ok("pgbackrest", ["check"]); // switches WAL and waits until the DROP's segment is in the repository
  pg.ok(path.join(PG_BIN, "pg_ctl"), ["-D", pg.cluster.dataDir, "-m", "fast", "-w", "stop"]);

  const started = Date.now();
  pg.ok("bash", [pg.scripts.restore, "time", t]);
  await pg.startServer(pg.cluster.dataDir, pg.port, pg.cluster.dir);
  console.log(`PITR: restored to ${t} in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  expect(pg.manifest()).toEqual(before);
  expect(before.find((l) => l.startsWith("public.ledger|"))).toMatch(/^public\.ledger\|8000\|[0-9a-f]{32}$/);
  pg.ok("pgbackrest", ["backup", "--type=full"]); // a new timeline: the next tests start from it
}, 120000);

test("a restore into an empty directory on a fresh machine reproduces roles, policies and grants", async () => {
  const into = path.join(pg.work, "fresh");
  const socket = path.join(pg.work, "fresh-socket");
  fs.mkdirSync(socket);
  if (asRoot) execFileSync("chown", ["postgres:postgres", socket]);
  pg.ok("bash", [pg.scripts.restore, "latest", "--into", into]);
  const freshPort = await freePort();
  await pg.startServer(into, freshPort, socket);
  try {
    const policies = await pg.query<{ policyname: string; roles: string }>(
      "select policyname, roles::text from pg_policies where tablename = 'notes'",
      [],
      freshPort,
    );
    expect(policies).toEqual([{ policyname: "notes_owner", roles: "{authenticated}" }]);
    const [grants] = await pg.query<{ sel: boolean; del: boolean; rls: boolean }>(
      "select has_table_privilege('authenticated', 'public.notes', 'select') as sel, has_table_privilege('authenticated', 'public.notes', 'delete') as del, relrowsecurity as rls from pg_class where oid = 'public.notes'::regclass",
      [],
      freshPort,
    );
    expect(grants).toEqual({ sel: true, del: false, rls: true });
  } finally {
    pg.ok(path.join(PG_BIN, "pg_ctl"), ["-D", into, "-m", "immediate", "-w", "stop"]);
  }
}, 120000);

test("the drill restores the newest backup away from production and matches its manifest; a tampered manifest fails it", async () => {
  const drillPort = String(await freePort());
  pg.ok("bash", [pg.scripts.backup, "once"], { BACKUP_DATE: "2026-10-31" });
  const passed = pg.run("bash", [pg.scripts.backup, "drill"], { DRILL_PORT: drillPort });
  expect(passed.out).toMatch(/drill passed: .* every table equal to its manifest/);
  expect(passed.code).toBe(0);
  // Recorded where the Postgres exporter reads it, for the drill alerts.
  const lastDrill = async () =>
    (
      await pg.query<{ object: string; succeeded: boolean; timed: boolean }>(
        "select object, succeeded, duration_seconds >= 0 as timed from northstack_ops.backup_runs where kind = 'drill' order by finished_at desc limit 1",
      )
    )[0];
  const passedRecord = await lastDrill();
  expect(passedRecord).toEqual({ object: expect.stringMatching(/^\d{8}-\d{6}F/), succeeded: true, timed: true });

  const manifests = path.join(pg.work, "state", "manifests");
  const file = path.join(manifests, fs.readdirSync(manifests).sort().pop()!);
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/^public\.ledger\|8000\|/m, "public.ledger|7999|"));
  const failed = pg.run("bash", [pg.scripts.backup, "drill"], { DRILL_PORT: drillPort });
  expect(failed.code).not.toBe(0);
  expect(failed.out).toMatch(/drill FAILED: the restored copy .* differs from its manifest/);
  expect(await lastDrill()).toEqual({ ...passedRecord, succeeded: false });
  // The production server was never touched: it still answers and archives.
  const [{ failedCount }] = await pg.query<{ failedCount: string }>(
    'select failed_count::text as "failedCount" from pg_stat_archiver',
  );
  expect(failedCount).toBe("0");
}, 180000);

test("with an off-host repository configured, each base backup is also taken there and recorded as kind offsite", async () => {
  // A second repository as northstack:backupOffsite* renders it, on a path here instead of a bucket.
  const conf = path.join(pg.work, "pgbackrest.conf");
  const offsite = path.join(pg.work, "offsite");
  const original = fs.readFileSync(conf, "utf8");
  fs.writeFileSync(
    conf,
    original.replace(
      /^\[global\]$/m,
      `[global]\nrepo2-path=${offsite}\nrepo2-retention-full=2\nrepo2-retention-full-type=count`,
    ),
  );
  try {
    pg.ok("bash", [pg.scripts.backup, "once"], { BACKUP_DATE: "2026-11-01" });
    const info = JSON.parse(pg.ok("pgbackrest", ["--repo=2", "info", "--output=json"]));
    expect(info[0].backup.length).toBe(1);
    const [record] = await pg.query<{ object: string; succeeded: boolean }>(
      "select object, succeeded from northstack_ops.backup_runs where kind = 'offsite' order by finished_at desc limit 1",
    );
    expect(record).toEqual({ object: info[0].backup[0].label, succeeded: true });
    // Manifests and drills still follow the local repository's labels.
    const manifests = fs.readdirSync(path.join(pg.work, "state", "manifests")).map((f) => f.replace(/\.txt$/, ""));
    expect(manifests).not.toContain(info[0].backup[0].label);
  } finally {
    fs.writeFileSync(conf, original);
  }
}, 180000);

test("with the off-host bucket as repo2 over the S3 protocol (TLS verified), the base backup and its WAL land there and are recorded", async () => {
  const server = await startS3rver(path.join(pg.work, "s3"), "northstack-dev-backups");
  const conf = path.join(pg.work, "pgbackrest.conf");
  const original = fs.readFileSync(conf, "utf8");
  // repo2 exactly as northstack:backupOffsite* renders it, plus the test's CA. The keys go in the file
  // only here: the running server's archive_command cannot be given new environment.
  const repo2 = renderPgBackRestConf({
    pgPath: "/unused",
    s3: {
      bucket: "northstack-dev-backups",
      endpoint: `127.0.0.1:${server.port}`,
      region: "us-east-1",
      path: "/dev-laptop",
      uriStyle: "path",
      verifyTls: true,
    },
  })
    .split("\n")
    .filter((l) => l.startsWith("repo2-"));
  expect(repo2).toContain("repo2-type=s3");
  fs.writeFileSync(
    conf,
    original.replace(
      /^\[global\]$/m,
      ["[global]", ...repo2, `repo2-storage-ca-file=${server.caFile}`]
        .concat([`repo2-s3-key=${S3RVER_KEY_ID}`, `repo2-s3-key-secret=${S3RVER_SECRET}`])
        .join("\n"),
    ),
  );
  try {
    pg.ok("bash", [pg.scripts.backup, "once"], { BACKUP_DATE: "2026-11-02" });
    const info = JSON.parse(pg.ok("pgbackrest", ["--repo=2", "info", "--output=json"]));
    expect(info[0].status.message).toBe("ok");
    expect(info[0].backup.length).toBeGreaterThanOrEqual(1);
    const label = info[0].backup[info[0].backup.length - 1].label;
    expect(info[0].archive[0].max).toMatch(/^[0-9A-F]{24}$/);
    const [record] = await pg.query<{ object: string; succeeded: boolean }>(
      "select object, succeeded from northstack_ops.backup_runs where kind = 'offsite' order by finished_at desc limit 1",
    );
    expect(record).toEqual({ object: label, succeeded: true });
    // The files are in the bucket, under the path given, where the volume copies' prefix is not.
    const listed = pg.ok("pgbackrest", ["--repo=2", "repo-ls", "--recurse", "backup/main"]);
    expect(listed).toContain(`${label}/backup.manifest`);
    // A fresh WAL segment reaches the bucket too (check archives one and waits for every repository).
    expect(pg.ok("pgbackrest", ["check"])).toMatch(/archived to .* on repo2/);
  } finally {
    fs.writeFileSync(conf, original);
    server.stop();
  }
}, 240000);
