import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { renderBackupScript } from "../../components/backup-script";
import { PG_BIN, PgCluster, startPgCluster } from "../helpers/pg-cluster";

let cluster: PgCluster;
let dir: string;
let script: string;

const run = (args: string[], extraEnv: Record<string, string> = {}) => {
  const r = spawnSync("bash", [script, ...args], {
    encoding: "utf8",
    env: { ...process.env, ...cluster.libpqEnv(), PATH: `${PG_BIN}:${process.env.PATH}`, BACKUP_DIR: path.join(dir, "backups"), ...extraEnv },
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};
const query = async (sql: string, database = "postgres") => {
  const client = new Client({ ...cluster.connection(), database });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
};
const list = (sub: string) => fs.readdirSync(path.join(dir, "backups", sub)).sort();

beforeAll(async () => {
  cluster = await startPgCluster();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "backup-"));
  script = path.join(dir, "backup.sh");
  fs.writeFileSync(script, renderBackupScript());
  await query("create table public.notes (id serial primary key, body text not null); insert into public.notes (body) select 'note ' || g from generate_series(1, 250) g");
}, 120000);

afterAll(async () => {
  await cluster?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a backup is kept only after its restore check passes", () => {
  const result = run(["once"], { BACKUP_DATE: "2026-11-01" });
  expect(result.out).toMatch(/restore check passed for .*postgres-2026-11-01\.dump\.partial: 1 tables/);
  expect(result.code).toBe(0);
  expect(list("daily")).toEqual(["postgres-2026-11-01.dump"]);
  expect(list("weekly")).toEqual(["postgres-2026-11-01.dump"]);
  expect(run(["check"]).code).toBe(0);
});

test("a dump restores into a new database with the same rows", async () => {
  const archive = path.join(dir, "backups", "daily", "postgres-2026-11-01.dump");
  const result = run(["restore", archive, "restored"]);
  expect(result.code).toBe(0);
  const [{ count }] = await query("select count(*)::int as count from public.notes", "restored");
  expect(count).toBe(250);
  const [{ body }] = await query("select body from public.notes where id = 250", "restored");
  expect(body).toBe("note 250");
  // the scratch databases of the restore checks are gone
  const scratch = await query("select datname from pg_database where datname like 'northstack_restore_check_%'");
  expect(scratch).toEqual([]);
});

test("retention keeps 7 daily and 4 weekly dumps over five weeks of backups", () => {
  // Nov 1 ran above. Promotions to weekly need 7 days since the newest weekly: Nov 8, 15, 22 and 29 qualify; Nov 3 and 12 do not.
  for (const day of [3, 8, 12, 15, 22, 29, 30, 31, 32, 33, 34, 35]) {
    const date = new Date(Date.UTC(2026, 10, day)).toISOString().slice(0, 10);
    const result = run(["once"], { BACKUP_DATE: date });
    expect({ date, code: result.code }).toEqual({ date, code: 0 });
  }
  expect(list("daily")).toEqual(["2026-11-29", "2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05"].map((d) => `postgres-${d}.dump`));
  // weekly promotions happened on Nov 1, 8, 15, 22, 29 and Dec 6 would be next; the newest four stay
  expect(list("weekly")).toEqual(["2026-11-08", "2026-11-15", "2026-11-22", "2026-11-29"].map((d) => `postgres-${d}.dump`));
}, 180000);

test("a failed dump keeps nothing and leaves the last good state", () => {
  const before = fs.readFileSync(path.join(dir, "backups", "last-success"), "utf8");
  const result = run(["once"], { BACKUP_DATE: "2026-12-06", PGPASSWORD: "wrong" });
  expect(result.code).not.toBe(0);
  expect(list("daily")).not.toContain("postgres-2026-12-06.dump");
  expect(list("daily").some((f) => f.endsWith(".partial"))).toBe(false);
  expect(fs.readFileSync(path.join(dir, "backups", "last-success"), "utf8")).toBe(before);
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
