/**
 * The project's own migrations on a real PostgreSQL 15, applied by the migration job's own script:
 * each file once, in name order, recorded with its sha256; an edited or vanished applied file is
 * refused before anything runs; and a failing RLS guard rolls back every pending file, so nothing
 * unprotected is ever visible to anon.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { HISTORY_TABLE, renderMigrations } from "../../components/migrations";
import { ProjectMigration } from "../../components/project-migrations";
import { clientPasswords, passwordEnv } from "../helpers/db-logins";
import { requestAs, runMigrationJobOn } from "../helpers/migration-db";
import { PgCluster, startPgCluster } from "../helpers/pg-cluster";

const PASSWORDS = clientPasswords("history");

/** A table the API may serve: RLS, a policy, grants, and one row. */
const table = (
  name: string,
) => `CREATE TABLE public.${name} (id int PRIMARY KEY, owner_id uuid NOT NULL DEFAULT auth.uid());
ALTER TABLE public.${name} ENABLE ROW LEVEL SECURITY;
CREATE POLICY ${name}_own ON public.${name} FOR SELECT TO authenticated USING (owner_id = (SELECT auth.uid()));
GRANT SELECT ON public.${name} TO authenticated;
INSERT INTO public.${name} (id, owner_id) VALUES (1, gen_random_uuid());
`;

const LISTS: ProjectMigration = { name: "20250101000000_lists.sql", sql: table("lists") };
const TAGS: ProjectMigration = { name: "20250102000000_tags.sql", sql: table("tags") };

let cluster: PgCluster;
let admin: Client;
let scratch: string;

const run = (project: ProjectMigration[]) =>
  runMigrationJobOn(cluster, renderMigrations({ project }), passwordEnv(PASSWORDS));
const history = async () =>
  (await admin.query(`SELECT name, checksum FROM ${HISTORY_TABLE} ORDER BY applied_at, name`)).rows;
const exists = async (relation: string) =>
  (await admin.query("SELECT to_regclass($1) IS NOT NULL AS e", [relation])).rows[0].e as boolean;
const rowCount = async (relation: string) =>
  Number((await admin.query(`SELECT count(*) AS n FROM ${relation}`)).rows[0].n);

/** sha256 of the file as written to disk, by coreutils (what the job image has), not by our own code. */
function sha256sum(file: ProjectMigration): string {
  const at = path.join(scratch, file.name);
  fs.writeFileSync(at, file.sql);
  return spawnSync("sha256sum", [at], { encoding: "utf8" }).stdout.split(" ")[0];
}

beforeAll(async () => {
  cluster = await startPgCluster();
  admin = new Client(cluster.connection());
  await admin.connect();
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "northstack-history-"));
}, 60000);
afterAll(async () => {
  await admin?.end();
  await cluster?.stop();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

// The tests run in order on one cluster: each deploy builds on the previous one, as deploys do.
test("a fresh deploy applies the project file and records it with the sha256 of the delivered file", async () => {
  const first = run([LISTS]);
  expect(first).toEqual({ status: 0, output: expect.stringContaining("migrations applied") });
  expect(first.output).toContain(`applying ${LISTS.name}`);
  expect(await history()).toEqual([{ name: LISTS.name, checksum: sha256sum(LISTS) }]);
  expect(await rowCount("public.lists")).toBe(1);
});

test("a second deploy with the same files applies no project file again", async () => {
  const again = run([LISTS]);
  expect(again.status).toBe(0);
  expect(again.output).toContain(`${LISTS.name} was applied before`);
  expect(again.output).not.toContain(`applying ${LISTS.name}`);
  // Re-running the INSERT would have failed on the primary key or added a row.
  expect(await rowCount("public.lists")).toBe(1);
  expect(await history()).toEqual([{ name: LISTS.name, checksum: sha256sum(LISTS) }]);
});

test("a new file is applied once, after the applied ones", async () => {
  expect(run([LISTS, TAGS]).status).toBe(0);
  expect(run([LISTS, TAGS]).status).toBe(0);
  expect(await rowCount("public.tags")).toBe(1);
  expect(await history()).toEqual([
    { name: LISTS.name, checksum: sha256sum(LISTS) },
    { name: TAGS.name, checksum: sha256sum(TAGS) },
  ]);
});

test("an edited applied file is refused, naming it and both checksums, and nothing else is applied", async () => {
  const edited = { ...LISTS, sql: `${LISTS.sql}ALTER TABLE public.lists ADD COLUMN done boolean;\n` };
  const pending: ProjectMigration = { name: "20250103000000_labels.sql", sql: table("labels") };
  const before = await history();
  const { status, output } = run([edited, TAGS, pending]);
  expect(status).not.toBe(0);
  expect(output).toContain(
    `ERROR:  nothing was applied: applied migration files were edited: ${LISTS.name} (applied with sha256 ${sha256sum(LISTS)}, the file now has ${sha256sum(edited)})`,
  );
  expect(output).toContain("restore it, and put the change in a new migration file");
  expect(output).not.toContain("migrations applied");
  expect(await history()).toEqual(before);
  expect(await exists("public.labels")).toBe(false);
  const columns = await admin.query(
    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'lists' ORDER BY 1",
  );
  expect(columns.rows.map((r) => r.column_name)).toEqual(["id", "owner_id"]);
});

test("an applied file that is no longer delivered is refused, naming it", async () => {
  const { status, output } = run([TAGS]);
  expect(status).not.toBe(0);
  expect(output).toContain(`applied migration files are missing from the migrations folder: ${LISTS.name}`);
});

test("a file creating a table without RLS fails the guard and rolls back every pending file: anon sees nothing new", async () => {
  const open: ProjectMigration = {
    name: "20250104000000_open.sql",
    sql: "CREATE TABLE public.open_data (id int);\nGRANT SELECT ON public.open_data TO anon;\nINSERT INTO public.open_data VALUES (42);\n",
  };
  const alongside: ProjectMigration = { name: "20250104000001_notes_extra.sql", sql: table("protected_extra") };
  const before = await history();
  const { status, output } = run([LISTS, TAGS, open, alongside]);
  expect(status).not.toBe(0);
  expect(output).toContain("table public.open_data has no row-level security or no policy of its own");
  expect(output).toContain(`applying ${open.name}`);
  expect(output).not.toContain("migrations applied");

  expect(await exists("public.open_data")).toBe(false);
  expect(await exists("public.protected_extra")).toBe(false);
  expect(await history()).toEqual(before);
  await expect(
    requestAs(cluster.connection("authenticator", PASSWORDS.rest), "anon", { role: "anon" }, (c) =>
      c.query("SELECT * FROM public.open_data"),
    ),
  ).rejects.toMatchObject({ code: "42P01" });
  const anonTables = await admin.query(
    "SELECT table_name FROM information_schema.role_table_grants WHERE grantee = 'anon' AND table_schema = 'public'",
  );
  expect(anonTables.rows).toEqual([]);
});

test("a migration that fails midway leaves nothing of itself or of the files before it", async () => {
  const good: ProjectMigration = { name: "20250105000000_good.sql", sql: table("good") };
  const broken: ProjectMigration = {
    name: "20250105000001_broken.sql",
    sql: "CREATE TABLE public.half (id int);\nSELECT 1 / 0;\n",
  };
  const { status, output } = run([LISTS, TAGS, good, broken]);
  expect(status).not.toBe(0);
  expect(output).toContain("division by zero");
  expect(await exists("public.good")).toBe(false);
  expect(await exists("public.half")).toBe(false);
  expect((await history()).map((h) => h.name)).toEqual([LISTS.name, TAGS.name]);
});

/** The example migration of README.md's "Add a table", as a team would copy it. */
function readmeExample(): ProjectMigration {
  const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
  const m = /```sql\n-- supabase\/migrations\/(\S+)\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md no longer has the "Add a table" example migration');
  return { name: m[1], sql: m[2] };
}

test("the README's example table applies, passes the guard, and each user sees only their own rows", async () => {
  const example = readmeExample();
  const { status, output } = run([LISTS, TAGS, example]);
  expect({ status, output }).toEqual({ status: 0, output: expect.stringContaining("migrations applied") });
  const authenticator = cluster.connection("authenticator", PASSWORDS.rest);
  const userA = { sub: "c1b2c3d4-0000-4000-8000-00000000000a", role: "authenticated" };
  const userB = { sub: "c1b2c3d4-0000-4000-8000-00000000000b", role: "authenticated" };
  const titles = (user: typeof userA) =>
    requestAs(authenticator, "authenticated", user, async (c) => {
      await c.query("INSERT INTO public.todos (title) VALUES ($1)", [`of ${user.sub.slice(-1)}`]);
      return (await c.query("SELECT title, owner_id::text FROM public.todos")).rows;
    });
  expect(await titles(userA)).toEqual([{ title: "of a", owner_id: userA.sub }]);
  expect(await titles(userB)).toEqual([{ title: "of b", owner_id: userB.sub }]);
  await expect(
    requestAs(authenticator, "anon", { role: "anon" }, (c) => c.query("SELECT * FROM public.todos")),
  ).rejects.toMatchObject({ code: "42501" });
});
