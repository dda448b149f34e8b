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
import { HISTORY_TABLE, ROLE_PASSWORD_ENV, renderMigrations } from "../../components/migrations";
import { ProjectMigration } from "../../components/project-migrations";
import { requestAs, runMigrationJobOn } from "../helpers/migration-db";
import { PgCluster, startPgCluster } from "../helpers/pg-cluster";

const ROLE_PASSWORD = "history-role-password";

/** A table the API may serve: RLS, a policy, grants, and one row. */
const table = (
  name: string,
) => `CREATE TABLE public.${name} (id int PRIMARY KEY, owner_id uuid NOT NULL DEFAULT auth.uid());
ALTER TABLE public.${name} ENABLE ROW LEVEL SECURITY;
CREATE POLICY ${name}_own ON public.${name} FOR SELECT TO authenticated USING (owner_id = (SELECT auth.uid()));
GRANT SELECT ON public.${name} TO authenticated;
INSERT INTO public.${name} (id, owner_id) VALUES (1, gen_random_uuid());
`;

const TODOS: ProjectMigration = { name: "20250101000000_todos.sql", sql: table("todos") };
const TAGS: ProjectMigration = { name: "20250102000000_tags.sql", sql: table("tags") };

let cluster: PgCluster;
let admin: Client;
let scratch: string;

const run = (project: ProjectMigration[]) =>
  runMigrationJobOn(cluster, renderMigrations({ project }), { [ROLE_PASSWORD_ENV]: ROLE_PASSWORD });
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
  const first = run([TODOS]);
  expect(first).toEqual({ status: 0, output: expect.stringContaining("migrations applied") });
  expect(first.output).toContain(`applying ${TODOS.name}`);
  expect(await history()).toEqual([{ name: TODOS.name, checksum: sha256sum(TODOS) }]);
  expect(await rowCount("public.todos")).toBe(1);
});

test("a second deploy with the same files applies no project file again", async () => {
  const again = run([TODOS]);
  expect(again.status).toBe(0);
  expect(again.output).toContain(`${TODOS.name} was applied before`);
  expect(again.output).not.toContain(`applying ${TODOS.name}`);
  // Re-running the INSERT would have failed on the primary key or added a row.
  expect(await rowCount("public.todos")).toBe(1);
  expect(await history()).toEqual([{ name: TODOS.name, checksum: sha256sum(TODOS) }]);
});

test("a new file is applied once, after the applied ones", async () => {
  expect(run([TODOS, TAGS]).status).toBe(0);
  expect(run([TODOS, TAGS]).status).toBe(0);
  expect(await rowCount("public.tags")).toBe(1);
  expect(await history()).toEqual([
    { name: TODOS.name, checksum: sha256sum(TODOS) },
    { name: TAGS.name, checksum: sha256sum(TAGS) },
  ]);
});

test("an edited applied file is refused, naming it and both checksums, and nothing else is applied", async () => {
  const edited = { ...TODOS, sql: `${TODOS.sql}ALTER TABLE public.todos ADD COLUMN done boolean;\n` };
  const pending: ProjectMigration = { name: "20250103000000_labels.sql", sql: table("labels") };
  const before = await history();
  const { status, output } = run([edited, TAGS, pending]);
  expect(status).not.toBe(0);
  expect(output).toContain(
    `ERROR:  nothing was applied: applied migration files were edited: ${TODOS.name} (applied with sha256 ${sha256sum(TODOS)}, the file now has ${sha256sum(edited)})`,
  );
  expect(output).toContain("restore it, and put the change in a new migration file");
  expect(output).not.toContain("migrations applied");
  expect(await history()).toEqual(before);
  expect(await exists("public.labels")).toBe(false);
  const columns = await admin.query(
    "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'todos' ORDER BY 1",
  );
  expect(columns.rows.map((r) => r.column_name)).toEqual(["id", "owner_id"]);
});

test("an applied file that is no longer delivered is refused, naming it", async () => {
  const { status, output } = run([TAGS]);
  expect(status).not.toBe(0);
  expect(output).toContain(`applied migration files are missing from the migrations folder: ${TODOS.name}`);
});

test("a file creating a table without RLS fails the guard and rolls back every pending file: anon sees nothing new", async () => {
  const open: ProjectMigration = {
    name: "20250104000000_open.sql",
    sql: "CREATE TABLE public.open_data (id int);\nGRANT SELECT ON public.open_data TO anon;\nINSERT INTO public.open_data VALUES (42);\n",
  };
  const alongside: ProjectMigration = { name: "20250104000001_notes_extra.sql", sql: table("protected_extra") };
  const before = await history();
  const { status, output } = run([TODOS, TAGS, open, alongside]);
  expect(status).not.toBe(0);
  expect(output).toContain("tables in exposed schemas without row-level security or a policy: public.open_data");
  expect(output).toContain(`applying ${open.name}`);
  expect(output).not.toContain("migrations applied");

  expect(await exists("public.open_data")).toBe(false);
  expect(await exists("public.protected_extra")).toBe(false);
  expect(await history()).toEqual(before);
  await expect(
    requestAs(cluster.connection("authenticator", ROLE_PASSWORD), "anon", { role: "anon" }, (c) =>
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
  const { status, output } = run([TODOS, TAGS, good, broken]);
  expect(status).not.toBe(0);
  expect(output).toContain("division by zero");
  expect(await exists("public.good")).toBe(false);
  expect(await exists("public.half")).toBe(false);
  expect((await history()).map((h) => h.name)).toEqual([TODOS.name, TAGS.name]);
});
