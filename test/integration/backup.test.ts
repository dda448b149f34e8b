import { spawnSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { renderBackupScript } from "../../components/backup-script";
import { BACKUP_ROLE, RECORDER_ROLE } from "../../components/db-roles";
import { OPS_MIGRATION } from "../../components/migrations";
import { PG_BIN, PgCluster, queryRows, startPgCluster } from "../helpers/pg-cluster";

let cluster: PgCluster;
let dir: string;
let script: string;

// The script runs as the postgres OS user, as in its pod: initdb, for the restore check, refuses root.
const asRoot = typeof process.getuid === "function" && process.getuid() === 0;
const run = (args: string[], extraEnv: Record<string, string> = {}, target: PgCluster = cluster) => {
  const env: Record<string, string> = {
    ...target.libpqEnv(),
    PATH: `${PG_BIN}:${process.env.PATH}`,
    BACKUP_DIR: path.join(dir, "backups"),
    ...extraEnv,
  };
  const r = asRoot
    ? spawnSync(
        "runuser",
        ["-u", "postgres", "--", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), "bash", script, ...args],
        { encoding: "utf8" },
      )
    : spawnSync("bash", [script, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};
/** A directory the postgres OS user can write. */
const shared = (prefix: string) => {
  const made = fs.mkdtempSync(prefix);
  fs.chmodSync(made, 0o777);
  return made;
};
const query = (sql: string, database = "postgres") => queryRows(cluster, sql, database);
const listAll = (sub: string) => fs.readdirSync(path.join(dir, "backups", sub)).sort();
const list = (sub: string) => listAll(sub).filter((f) => f.endsWith(".dump"));

beforeAll(async () => {
  cluster = await startPgCluster();
  dir = shared(path.join(os.tmpdir(), "backup-"));
  script = path.join(dir, "backup.sh");
  fs.writeFileSync(script, renderBackupScript());
  await query(
    "create table public.notes (id serial primary key, body text not null); insert into public.notes (body) select 'note ' || g from generate_series(1, 250) g",
  );
  // Supabase-style roles, grants and a row-level security policy, which a fresh cluster lacks.
  await query(`
    create role anon nologin; create role authenticated nologin; create role authenticator login password 'secret' noinherit;
    grant anon, authenticated to authenticator;
    create table public.profiles (id int primary key, owner text not null);
    insert into public.profiles select g, 'user' || g from generate_series(1, 40) g;
    alter table public.profiles enable row level security;
    create policy profiles_own on public.profiles for select to authenticated using (owner = current_user);
    grant usage on schema public to anon, authenticated;
    grant select on public.profiles to authenticated;
    grant select on public.notes to anon`);
  // The table backups are recorded in, as the migrations create it.
  await query(`create role ${BACKUP_ROLE} nologin; create role ${RECORDER_ROLE} nologin; ${OPS_MIGRATION.sql}`);
}, 120000);

afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a backup is kept only after its restore check passes", () => {
  const result = run(["once"], { BACKUP_DATE: "2026-11-01" });
  expect(result.out).toMatch(
    // The fixture's two tables and northstack_ops.backup_runs, the record the migrations create.
    /restore check passed for .*postgres-2026-11-01\.dump\.partial: 3 tables, row counts equal/,
  );
  expect(result.code).toBe(0);
  expect(listAll("daily")).toEqual([
    "postgres-2026-11-01.dump",
    "postgres-2026-11-01.dump.manifest",
    "postgres-2026-11-01.dump.roles.sql",
  ]);
  expect(list("weekly")).toEqual(["postgres-2026-11-01.dump"]);
  expect(run(["check"]).code).toBe(0);
});

test("a kept backup is recorded in the database for the exporter, readable by pg_monitor", async () => {
  const rows = await query(
    "select kind, object, size_bytes::bigint > 0 as sized, duration_seconds >= 0 as timed, finished_at > now() - interval '10 minutes' as recent from northstack_ops.backup_runs",
  );
  expect(rows).toEqual([{ kind: "dump", object: "postgres-2026-11-01.dump", sized: true, timed: true, recent: true }]);
  const [{ succeeded }] = await query("select succeeded from northstack_ops.backup_runs");
  expect(succeeded).toBe(true);
  const [grant] = await query(
    "select has_table_privilege('pg_monitor', 'northstack_ops.backup_runs', 'select') as monitor, has_table_privilege('anon', 'northstack_ops.backup_runs', 'select') as anon",
  );
  expect(grant).toEqual({ monitor: true, anon: false });
});

test("a dump restores into a new database with the same rows", async () => {
  const archive = path.join(dir, "backups", "daily", "postgres-2026-11-01.dump");
  const result = run(["restore", archive, "restored"]);
  expect(result.code).toBe(0);
  const [{ count }] = await query("select count(*)::int as count from public.notes", "restored");
  expect(count).toBe(250);
  const [{ body }] = await query("select body from public.notes where id = 250", "restored");
  expect(body).toBe("note 250");
});

test("the restore check runs on a throwaway server in the job, never on the production instance", async () => {
  const before = await query("select datname from pg_database order by 1");
  const result = run(["once"], { BACKUP_DATE: "2026-11-02" });
  expect(result.code).toBe(0);
  expect(await query("select datname from pg_database order by 1")).toEqual(before);
  // the throwaway server's directory is gone too
  expect(fs.readdirSync(path.join(dir, "backups")).filter((f) => f.startsWith("verify-"))).toEqual([]);
  for (const suffix of ["", ".roles.sql", ".manifest"]) {
    fs.rmSync(path.join(dir, "backups", "daily", `postgres-2026-11-02.dump${suffix}`));
  }
});

test("the manifest beside a dump ties it to its dump and roles, and holds rows and a checksum per table", () => {
  const daily = path.join(dir, "backups", "daily");
  const lines = fs.readFileSync(path.join(daily, "postgres-2026-11-01.dump.manifest"), "utf8").trim().split("\n");
  const sha = (file: string) =>
    createHash("sha256")
      .update(fs.readFileSync(path.join(daily, file)))
      .digest("hex");
  expect(lines[0]).toBe(`archive postgres-2026-11-01.dump ${sha("postgres-2026-11-01.dump")}`);
  expect(lines[1]).toBe(`roles ${sha("postgres-2026-11-01.dump.roles.sql")}`);
  expect(lines.slice(2).map((l) => l.replace(/\|-?\d+$/, "|<sum>"))).toEqual([
    "northstack_ops.backup_runs|0|<sum>",
    "public.notes|250|<sum>",
    "public.profiles|40|<sum>",
  ]);
  // An empty table's checksum is 0; a filled one's is not.
  expect(lines[2]).toBe("northstack_ops.backup_runs|0|0");
  expect(lines[3]).not.toMatch(/\|0$/);
});

test("the roles file carries the application roles without passwords, and not the admin roles", () => {
  const roles = fs.readFileSync(path.join(dir, "backups", "daily", "postgres-2026-11-01.dump.roles.sql"), "utf8");
  expect(roles).toMatch(/CREATE ROLE authenticated; EXCEPTION WHEN duplicate_object/);
  expect(roles).toMatch(/GRANT (anon|authenticated) TO authenticator/);
  expect(roles).not.toMatch(/PASSWORD|SCRAM-SHA/);
  expect(roles).not.toMatch(/ROLE postgres\b|ROLE pg_/);
});

test("a dump restored into an empty cluster reproduces its roles, grants and policies", async () => {
  const fresh = await startPgCluster();
  try {
    const archive = path.join(dir, "backups", "daily", "postgres-2026-11-01.dump");
    // Without the roles, as before: the grants cannot be restored.
    const bare = run(["restore", archive, "bare", "/dev/null"], {}, fresh);
    expect(bare.code).not.toBe(0);
    expect(bare.out).toMatch(/role "(authenticated|anon)" does not exist/);
    const restored = run(["restore", archive, "app"], {}, fresh);
    expect(restored.out).toMatch(/after the roles in .*roles\.sql/);
    expect(restored.code).toBe(0);
    const client = new Client({ ...fresh.connection(), database: "app" });
    await client.connect();
    try {
      const policies = (
        await client.query("select policyname, roles::text, qual from pg_policies where tablename = 'profiles'")
      ).rows;
      expect(policies).toEqual([
        { policyname: "profiles_own", roles: "{authenticated}", qual: "(owner = CURRENT_USER)" },
      ]);
      const [rls] = (await client.query("select relrowsecurity from pg_class where relname = 'profiles'")).rows;
      expect(rls.relrowsecurity).toBe(true);
      const grants = (
        await client.query(
          "select grantee, table_name, privilege_type from information_schema.role_table_grants where grantee in ('anon', 'authenticated') order by 1, 2",
        )
      ).rows;
      expect(grants).toEqual([
        { grantee: "anon", table_name: "notes", privilege_type: "SELECT" },
        { grantee: "authenticated", table_name: "profiles", privilege_type: "SELECT" },
      ]);
      const [member] = (await client.query("select pg_has_role('authenticator', 'authenticated', 'member') as m")).rows;
      expect(member.m).toBe(true);
      const [{ count }] = (await client.query("select count(*)::int as count from public.profiles")).rows;
      expect(count).toBe(40);
    } finally {
      await client.end();
    }
  } finally {
    await fresh.stop();
  }
}, 120000);

test("retention keeps the 7 newest daily and 4 newest weekly dumps, each with its companions, and takes a weekly one when the newest is 7 days old", () => {
  // The history the real runs find: Nov 1 (kept above), a daily dump for every day up to Dec 3 (more than
  // retention keeps, as after a change of KEEP_DAILY) and weekly ones of Nov 8, 15 and 22, each with its
  // manifest and roles file. The schedule over weeks of real runs is proven on the volume backup
  // (volume-backup.test.ts), which keeps its copies with the same shell functions.
  const backups = path.join(dir, "backups");
  const seed = (tier: string, day: number) => {
    const date = new Date(Date.UTC(2026, 10, day)).toISOString().slice(0, 10);
    for (const suffix of ["", ".manifest", ".roles.sql"]) {
      const to = path.join(backups, tier, `postgres-${date}.dump${suffix}`);
      fs.copyFileSync(path.join(backups, "daily", `postgres-2026-11-01.dump${suffix}`), to);
      fs.chmodSync(to, 0o666);
    }
  };
  for (let day = 2; day <= 33; day++) seed("daily", day);
  for (const day of [8, 15, 22]) seed("weekly", day);
  const days = (...dates: string[]) => dates.map((d) => `postgres-2026-${d}.dump`);

  // Dec 4 is 12 days after the newest weekly dump: it becomes weekly too, and Nov 1 leaves.
  expect(run(["once"], { BACKUP_DATE: "2026-12-04" }).code).toBe(0);
  expect(list("daily")).toEqual(days("11-28", "11-29", "11-30", "12-01", "12-02", "12-03", "12-04"));
  expect(list("weekly")).toEqual(days("11-08", "11-15", "11-22", "12-04"));
  // Dec 5 is 1 day after it: daily only.
  expect(run(["once"], { BACKUP_DATE: "2026-12-05" }).code).toBe(0);
  expect(list("daily")).toEqual(days("11-29", "11-30", "12-01", "12-02", "12-03", "12-04", "12-05"));
  expect(list("weekly")).toEqual(days("11-08", "11-15", "11-22", "12-04"));
  // Each dump's manifest and roles file go with it, kept and pruned alike.
  for (const tier of ["daily", "weekly"]) {
    expect(listAll(tier)).toEqual(list(tier).flatMap((d) => [d, `${d}.manifest`, `${d}.roles.sql`]));
  }
}, 60000);

test("a failed dump keeps nothing and leaves the last good state", async () => {
  const recorded = await query("select count(*)::int as n from northstack_ops.backup_runs");
  const before = fs.readFileSync(path.join(dir, "backups", "last-success"), "utf8");
  const result = run(["once"], { BACKUP_DATE: "2026-12-06", PGPASSWORD: "wrong" });
  expect(result.code).not.toBe(0);
  expect(list("daily")).not.toContain("postgres-2026-12-06.dump");
  expect(list("daily").some((f) => f.endsWith(".partial"))).toBe(false);
  expect(fs.readFileSync(path.join(dir, "backups", "last-success"), "utf8")).toBe(before);
  expect(await query("select count(*)::int as n from northstack_ops.backup_runs")).toEqual(recorded);
});

test("an archive that cannot be restored fails the check and is not kept", () => {
  const bad = path.join(dir, "corrupt.dump");
  fs.writeFileSync(bad, "PGDMP this is not a dump");
  expect(run(["restore", bad, "never"]).code).not.toBe(0);
});

test("the health check fails without a recent verified backup", () => {
  fs.writeFileSync(path.join(dir, "backups", "last-success"), String(Math.floor(Date.now() / 1000) - 3 * 86400));
  const result = run(["check"]);
  expect(result.code).not.toBe(0);
  expect(result.out).toMatch(/last verified backup is \d+ s old/);
});

test("bad retention arguments are rejected", () => {
  expect(() => renderBackupScript({ keepDaily: 0 })).toThrow(/keepDaily 0 must be a positive integer/);
});

describe("cloud stacks: dump, then upload to the backup bucket", () => {
  // A stand-in for the AWS CLI against a versioned bucket: `s3 cp` downloads the current object, or writes it, stamped
  // with BACKUP_DATE as its upload time, and records a version (named after the uploaded file);
  // `s3 ls` prints the upload time as S3 does. Every call is logged. A real upload to S3 or GCS cannot
  // run here; what is tested is the script's keys and weekly logic.
  const FAKE_AWS = `#!/bin/bash
echo "$*" >> "$FAKE_S3_ROOT/calls.log"
[ "$1" = "--endpoint-url" ] && shift 2
[ "$1" = s3 ] || exit 252
case "$2" in
  cp)
    src=\${@: -2:1}; dst=\${@: -1}
    if [ "\${src#s3://}" != "$src" ]; then
      [ -f "$FAKE_S3_ROOT/\${src#s3://}" ] || { echo "fatal error: An error occurred (404) when calling the HeadObject operation: Not Found" >&2; exit 1; }
      cp "$FAKE_S3_ROOT/\${src#s3://}" "$dst"; exit ;
    fi
    path=\${dst#s3://}
    mkdir -p "$FAKE_S3_ROOT/$(dirname "$path")" "$FAKE_S3_ROOT/.versions/$path" && cp "$src" "$FAKE_S3_ROOT/$path"
    touch -d "\${BACKUP_DATE:-now}" "$FAKE_S3_ROOT/$path" && cp "$src" "$FAKE_S3_ROOT/.versions/$path/\${src##*/}" ;;
  ls)
    [ -z "\${FAKE_S3_LS_FAILS:-}" ] || { echo "An error occurred (AccessDenied)" >&2; exit 255; }
    path=\${3#s3://}; found=1
    for f in "$FAKE_S3_ROOT/$path"*; do [ -f "$f" ] && { echo "$(date -u -r "$f" '+%Y-%m-%d %H:%M:%S') 42 \${f##*/}"; found=0; }; done
    exit $found ;;
  *) exit 252 ;;
esac
`;
  let bin: string;
  let bucketRoot: string;

  beforeAll(() => {
    bin = shared(path.join(os.tmpdir(), "fake-aws-"));
    fs.writeFileSync(path.join(bin, "aws"), FAKE_AWS, { mode: 0o755 });
    bucketRoot = shared(path.join(os.tmpdir(), "fake-s3-"));
  });
  afterAll(() => {
    fs.rmSync(bin, { recursive: true, force: true });
    fs.rmSync(bucketRoot, { recursive: true, force: true });
  });

  /** A CronJob run's environment on `date`, with a fresh scratch directory as its BACKUP_DIR. */
  const cronEnv = (date: string, extra: Record<string, string>) => ({
    BACKUP_DIR: shared(path.join(dir, "scratch-")),
    BACKUP_DATE: date,
    BACKUP_BUCKET: "backups",
    FAKE_S3_ROOT: bucketRoot,
    ...extra,
  });
  /** The upload step, with the stand-in AWS CLI first on PATH. */
  const uploadStep = (env: Record<string, string>) => run(["upload"], { ...env, PATH: `${bin}:${process.env.PATH}` });
  /** One CronJob run: the dump step, then the upload step (each like its container). */
  const cronRun = (date: string, extra: Record<string, string> = {}) => {
    const env = cronEnv(date, extra);
    const scratch = env.BACKUP_DIR;
    const dump = run(["dump"], env);
    const uploaded = dump.code === 0 ? uploadStep(env) : undefined;
    // The record container has the admin password as RECORD_PGPASSWORD (the dump step holds PGPASSWORD).
    const record =
      uploaded?.code === 0
        ? run(["record"], { ...env, PGPASSWORD: "", RECORD_PGPASSWORD: cluster.password })
        : undefined;
    return { dump, upload: uploaded, record, scratch };
  };
  /** The first run's verified dump, which uploadRun copies. */
  let template: string | undefined;
  /**
   * The upload step alone, on a copy of the first run's verified dump named as a dump of `date` would
   * be (its manifest names the copy): the dump step is proven above, and the upload step's keys and
   * weekly logic depend only on the name.
   */
  const uploadRun = (date: string, extra: Record<string, string> = {}) => {
    if (!template) throw new Error("no verified dump to copy: the first cloud test did not run");
    const env = cronEnv(date, extra);
    const scratch = env.BACKUP_DIR;
    const name = `postgres-${date.replace(/:/g, "")}.dump`;
    const from = path.basename(template);
    fs.copyFileSync(template, path.join(scratch, name));
    fs.copyFileSync(`${template}.roles.sql`, path.join(scratch, `${name}.roles.sql`));
    fs.writeFileSync(
      path.join(scratch, `${name}.manifest`),
      fs.readFileSync(`${template}.manifest`, "utf8").replace(`archive ${from} `, `archive ${name} `),
    );
    return uploadStep(env);
  };
  const objects = (prefix: string) =>
    fs.existsSync(path.join(bucketRoot, "backups", prefix))
      ? fs.readdirSync(path.join(bucketRoot, "backups", prefix)).sort()
      : [];
  const versions = (key: string) =>
    fs.existsSync(path.join(bucketRoot, ".versions", "backups", key))
      ? fs.readdirSync(path.join(bucketRoot, ".versions", "backups", key)).sort()
      : [];
  const calls = () => fs.readFileSync(path.join(bucketRoot, "calls.log"), "utf8").trim().split("\n");

  test("the dump step leaves exactly one verified dump, named by day and time; the upload overwrites the fixed keys", () => {
    const { dump, upload, record, scratch } = cronRun("2027-03-07T06:30:05Z");
    expect(dump.code).toBe(0);
    expect(dump.out).toMatch(
      /restore check passed for .*postgres-2027-03-07T063005Z\.dump\.partial: 3 tables, row counts equal/,
    );
    expect(fs.readdirSync(scratch).sort()).toEqual([
      "postgres-2027-03-07T063005Z.dump",
      "postgres-2027-03-07T063005Z.dump.manifest",
      "postgres-2027-03-07T063005Z.dump.roles.sql",
      "started",
    ]);
    expect(record?.out).toMatch(/recorded postgres-2027-03-07T063005Z\.dump in northstack_ops\.backup_runs/);
    expect(record?.code).toBe(0);
    // The first upload: daily, and weekly since there is no weekly dump yet; the roles go first.
    expect(upload?.code).toBe(0);
    expect(objects("daily")).toEqual(["postgres.dump", "postgres.manifest", "postgres.roles.sql"]);
    expect(objects("weekly")).toEqual(["postgres.dump", "postgres.manifest", "postgres.roles.sql"]);
    const file = `${scratch}/postgres-2027-03-07T063005Z.dump`;
    template = file;
    expect(calls()).toEqual([
      `s3 cp --only-show-errors ${file}.roles.sql s3://backups/daily/postgres.roles.sql`,
      `s3 cp --only-show-errors ${file} s3://backups/daily/postgres.dump`,
      `s3 cp --only-show-errors ${file}.manifest s3://backups/daily/postgres.manifest`,
      "s3 ls s3://backups/weekly/postgres.dump",
      `s3 cp --only-show-errors ${file}.roles.sql s3://backups/weekly/postgres.roles.sql`,
      `s3 cp --only-show-errors ${file} s3://backups/weekly/postgres.dump`,
      `s3 cp --only-show-errors ${file}.manifest s3://backups/weekly/postgres.manifest`,
    ]);
  });

  test("every day adds a daily version; a weekly version is added when the current one is 7 days old", () => {
    for (const day of [8, 9, 13, 14, 15, 21, 22]) {
      const date = `2027-03-${String(day).padStart(2, "0")}T06:30:00Z`;
      expect({ date, code: uploadRun(date).code }).toEqual({ date, code: 0 });
    }
    expect(objects("daily")).toEqual(["postgres.dump", "postgres.manifest", "postgres.roles.sql"]);
    expect(versions("daily/postgres.dump")).toHaveLength(8);
    expect(versions("daily/postgres.manifest")).toHaveLength(8);
    expect(versions("daily/postgres.roles.sql")).toHaveLength(8);
    // Mar 7 was the first; Mar 14 and 21 are 7 days after the current weekly one, the other days are not.
    expect(versions("weekly/postgres.dump")).toEqual([
      "postgres-2027-03-07T063005Z.dump",
      "postgres-2027-03-14T063000Z.dump",
      "postgres-2027-03-21T063000Z.dump",
    ]);
  });

  test("on GCS the AWS CLI is pointed at the XML API endpoint", () => {
    expect(uploadRun("2027-03-23T06:30:00Z", { BACKUP_S3_ENDPOINT: "https://storage.googleapis.com" }).code).toBe(0);
    const last = calls().slice(-3);
    expect(last[0]).toMatch(
      /^--endpoint-url https:\/\/storage\.googleapis\.com s3 cp --only-show-errors .*postgres-2027-03-23T063000Z\.dump s3:\/\/backups\/daily\/postgres\.dump$/,
    );
    expect(last[2]).toBe("--endpoint-url https://storage.googleapis.com s3 ls s3://backups/weekly/postgres.dump");
  });

  test("a listing error fails the run instead of guessing, after the daily copy landed", () => {
    const upload = uploadRun("2027-03-30T06:30:00Z", { FAKE_S3_LS_FAILS: "1" });
    expect(upload.code).not.toBe(0);
    expect(upload.out).toMatch(/listing weekly\/ FAILED/);
    expect(versions("daily/postgres.dump")).toContain("postgres-2027-03-30T063000Z.dump");
    expect(versions("weekly/postgres.dump")).not.toContain("postgres-2027-03-30T063000Z.dump");
  });

  test("a dump that fails leaves nothing to upload, and the upload step refuses to run without one", () => {
    const { dump, upload, scratch } = cronRun("2027-04-01T06:30:00Z", { PGPASSWORD: "wrong" });
    expect(dump.code).not.toBe(0);
    expect(upload).toBeUndefined();
    expect(fs.readdirSync(scratch)).toEqual([]);
    const empty = uploadStep({ BACKUP_DIR: scratch, BACKUP_BUCKET: "backups", FAKE_S3_ROOT: bucketRoot });
    expect(empty.code).not.toBe(0);
    expect(empty.out).toMatch(/upload FAILED: expected one verified dump in .*, found 0/);
    expect(versions("daily/postgres.dump").some((o) => o.startsWith("postgres-2027-04-01"))).toBe(false);
  });
  /** One drill CronJob run: the fetch step with the AWS CLI, then the drill step (each like its container). */
  const drillRun = (extra: Record<string, string> = {}) => {
    const drillDir = shared(path.join(dir, "drill-"));
    const env = { DRILL_DIR: drillDir, BACKUP_BUCKET: "backups", FAKE_S3_ROOT: bucketRoot, ...extra };
    const fetched = run(["fetch"], { ...env, PATH: `${bin}:${process.env.PATH}` });
    const drill =
      fetched.code === 0 ? run(["drill"], { ...env, PGPASSWORD: "", RECORD_PGPASSWORD: cluster.password }) : undefined;
    return { fetched, drill, drillDir };
  };
  const lastDrill = async () =>
    (
      await query(
        "select object, succeeded, duration_seconds >= 0 as timed, size_bytes::bigint > 0 as sized from northstack_ops.backup_runs where kind = 'drill' order by finished_at desc limit 1",
      )
    )[0];
  /** The newest upload's name, from the manifest the bucket holds now. */
  const newest = () =>
    fs.readFileSync(path.join(bucketRoot, "backups", "daily", "postgres.manifest"), "utf8").split(" ")[1];

  test("the drill restores the newest dump from the bucket away from production and records it", async () => {
    const databases = await query("select datname from pg_database order by 1");
    const started = Date.now();
    const { fetched, drill, drillDir } = drillRun();
    const seconds = (Date.now() - started) / 1000;
    expect(fetched.code).toBe(0);
    // The current versions of the fixed daily keys, the manifest first.
    expect(calls().slice(-3)).toEqual(
      ["manifest", "dump", "roles.sql"].map(
        (key) => `s3 cp --only-show-errors s3://backups/daily/postgres.${key} ${drillDir}/postgres.${key}`,
      ),
    );
    expect(newest()).toBe("postgres-2027-03-30T063000Z.dump");
    expect(drill?.out).toMatch(
      /drill passed: postgres-2027-03-30T063000Z\.dump restored in \d+ s, every table's rows and checksum equal to its manifest/,
    );
    expect(drill?.code).toBe(0);
    expect(await lastDrill()).toEqual({
      object: "postgres-2027-03-30T063000Z.dump",
      succeeded: true,
      timed: true,
      sized: true,
    });
    expect(await query("select datname from pg_database order by 1")).toEqual(databases);
    expect(fs.readdirSync(drillDir).filter((f) => f.startsWith("verify-"))).toEqual([]);
    console.log(`restore drill of the test data (3 tables, 290 rows): ${seconds.toFixed(1)} s`);
  }, 60000);

  test("a drill fails, naming the table, when one row differs from the manifest, and records the failure", async () => {
    // The manifest of a dump taken after one row changed (same row count), beside the dump taken before it.
    const before = cronRun("2027-04-02T06:30:00Z");
    expect(before.upload?.code).toBe(0);
    const daily = path.join(bucketRoot, "backups", "daily");
    const goodManifest = fs.readFileSync(path.join(daily, "postgres.manifest"), "utf8");
    await query("update public.notes set body = 'changed' where id = 7");
    try {
      const after = cronRun("2027-04-03T06:30:00Z");
      expect(after.dump.code).toBe(0);
      const changed = fs.readFileSync(path.join(after.scratch, "postgres-2027-04-03T063000Z.dump.manifest"), "utf8");
      const [header1, header2] = goodManifest.split("\n");
      const tampered = [header1, header2, ...changed.split("\n").slice(2)].join("\n");
      expect(tampered).not.toBe(goodManifest);
      fs.writeFileSync(path.join(daily, "postgres.manifest"), tampered);
      fs.copyFileSync(path.join(before.scratch, "postgres-2027-04-02T063000Z.dump"), path.join(daily, "postgres.dump"));
      fs.copyFileSync(
        path.join(before.scratch, "postgres-2027-04-02T063000Z.dump.roles.sql"),
        path.join(daily, "postgres.roles.sql"),
      );
      const { drill } = drillRun();
      expect(drill?.code).not.toBe(0);
      expect(drill?.out).toMatch(
        /table public\.notes: 250 rows on both sides, but checksum -?\d+ in the manifest, -?\d+ restored/,
      );
      expect(drill?.out).not.toMatch(/table public\.profiles/);
      expect(drill?.out).toMatch(/drill FAILED for postgres-2027-04-02T063000Z\.dump: the restored copy differs/);
      expect(await lastDrill()).toEqual({
        object: "postgres-2027-04-02T063000Z.dump",
        succeeded: false,
        timed: true,
        sized: true,
      });
    } finally {
      await query("update public.notes set body = 'note 7' where id = 7");
    }
  }, 120000);

  test("a drill fails when the dump in the bucket is not the one its manifest describes", async () => {
    const daily = path.join(bucketRoot, "backups", "daily");
    const older = versions("daily/postgres.dump")[0];
    fs.copyFileSync(
      path.join(bucketRoot, ".versions", "backups", "daily", "postgres.dump", older),
      path.join(daily, "postgres.dump"),
    );
    const { drill } = drillRun();
    expect(drill?.code).not.toBe(0);
    expect(drill?.out).toMatch(/postgres\.dump is not postgres-\S+\.dump, the dump the manifest describes/);
    expect((await lastDrill()).succeeded).toBe(false);
  });

  test("a drill that cannot download records a failed drill", async () => {
    fs.rmSync(path.join(bucketRoot, "backups", "daily", "postgres.roles.sql"));
    const recorded = await query("select count(*)::int as n from northstack_ops.backup_runs where kind = 'drill'");
    const { fetched, drill } = drillRun();
    expect(fetched.code).toBe(0);
    expect(drill?.code).not.toBe(0);
    expect(drill?.out).toMatch(/drill FAILED for .*: downloading s3:\/\/backups\/daily\/postgres\.roles\.sql FAILED/);
    expect(await query("select count(*)::int as n from northstack_ops.backup_runs where kind = 'drill'")).toEqual([
      { n: recorded[0].n + 1 },
    ]);
    expect((await lastDrill()).succeeded).toBe(false);
  });
});
