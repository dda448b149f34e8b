/**
 * The RLS analysis agrees with PostgreSQL 15 itself: each scenario's migrations are applied to a real
 * cluster exactly as the migration job applies them (the job's own psql driver and flags: one
 * transaction, session settings reset between files), and PostgreSQL is then asked which tables in exposed schemas lack RLS or a policy and
 * which views are not security_invoker. The analysis must name exactly the same relations, except
 * those it reports as "cannot verify" (names only known at run time).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { migrationDriverPsql, migrationJobScript, renderMigrations } from "../../components/migrations";
import { analyzeMigrations } from "../../policy/rls";
import { PG_BIN, PgCluster, startPgCluster } from "../helpers/pg-cluster";

const EXPOSED = ["public", "api"];

/** Each scenario: its migration files, and the relations left unprotected. */
const SCENARIOS: Record<string, Record<string, string>> = {
  "protected table": {
    "001.sql":
      "CREATE TABLE public.notes (id int); ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.notes USING (true);",
  },
  "RLS disabled after being enabled": {
    "001.sql":
      "CREATE TABLE public.notes (id int); ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.notes USING (true);",
    "002.sql": "ALTER TABLE public.notes DISABLE ROW LEVEL SECURITY;",
  },
  "quoted, schema-qualified twin": {
    "001.sql":
      'CREATE TABLE "public"."Orders" (id int); CREATE TABLE public.orders (id int); ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.orders USING (true);',
  },
  "search_path and set_config": {
    "001.sql": "SET search_path = api, public; CREATE TABLE t (id int); ALTER TABLE t ENABLE ROW LEVEL SECURITY;",
    "002.sql":
      "SELECT set_config('search_path', 'private', false); CREATE TABLE hidden (id int); SET search_path = public; CREATE TABLE visible (id int);",
  },
  partitions: {
    "001.sql": `CREATE TABLE public.events (at date) PARTITION BY RANGE (at);
ALTER TABLE public.events ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.events USING (true);
CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');`,
  },
  "policies dropped, renamed; tables renamed, moved and dropped": {
    "001.sql": `CREATE TABLE public.a (id int); ALTER TABLE public.a ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.a USING (true);
CREATE TABLE public.b (id int); ALTER TABLE public.b ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.b USING (true);
CREATE TABLE private.c (id int); CREATE TABLE public.d (id int);`,
    "002.sql": `ALTER POLICY p ON public.a RENAME TO q; DROP POLICY IF EXISTS p ON public.a; DROP POLICY p ON public.b;
ALTER TABLE private.c SET SCHEMA api; DROP TABLE public.d; ALTER TABLE public.a RENAME TO a2;`,
  },
  views: {
    "001.sql": `CREATE TABLE private.base (id int);
CREATE VIEW public.v_invoker WITH (security_invoker = true) AS SELECT id FROM private.base;
CREATE VIEW public.v_definer AS SELECT id FROM private.base;
CREATE VIEW public.v_fixed AS SELECT id FROM private.base; ALTER VIEW public.v_fixed SET (security_invoker = on);
CREATE VIEW private.v_hidden AS SELECT id FROM private.base;`,
  },
  "create table as, if not exists": {
    "001.sql":
      "CREATE TABLE public.copy AS SELECT 1 AS x; CREATE TABLE IF NOT EXISTS public.copy (x int); SELECT 2 AS y INTO public.copy2;",
  },
  "search_path resets with each file's session": {
    "001.sql": "SET search_path TO api;",
    "002.sql": "CREATE TABLE t2 (id int);",
  },
  "a search_path schema that does not exist is skipped": {
    "001.sql": "SET search_path = nosuch, public; CREATE TABLE t3 (id int);",
  },
  "SET LOCAL and set_config(..., true) end with the transaction": {
    "001.sql": "BEGIN; SET LOCAL search_path TO private; CREATE TABLE t4 (id int); COMMIT; CREATE TABLE t5 (id int);",
    "002.sql":
      "BEGIN; SELECT set_config('search_path', 'private', true); CREATE TABLE t6 (id int); COMMIT; CREATE TABLE t6b (id int);",
  },
  "SET LOCAL at the top of a file lasts until the file ends": {
    "001.sql": "SET LOCAL search_path TO api; CREATE TABLE t6c (id int);",
    "002.sql": "CREATE TABLE t6d (id int);",
  },
  "DO blocks and EXECUTE": {
    "001.sql": `DO $$ BEGIN CREATE TABLE public.t7 (id int); END $$;
DO $$ BEGIN EXECUTE 'CREATE TABLE public.t8 (id int)'; END $$;
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_tables WHERE schemaname = 'public' AND tablename = 't9') THEN
    CREATE TABLE public.t9 (id int);
  END IF;
  ALTER TABLE public.t9 ENABLE ROW LEVEL SECURITY;
  EXECUTE format('CREATE POLICY %I ON public.t9 USING (true)', 'p');
  EXECUTE format('GRANT %I TO %I', 'pg_read_all_data', current_user);
END $$;
CREATE TABLE public.notes (id int); ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.notes USING (true);
DO $$ BEGIN EXECUTE 'ALTER TABLE public.notes DISABLE ROW LEVEL SECURITY'; END $$;`,
  },
  "run-time names and functions cannot be verified": {
    "001.sql": `DO $$ BEGIN EXECUTE 'CREATE TABLE public.' || quote_ident(current_user || '_t10') || ' (id int)'; END $$;
CREATE FUNCTION public.mk() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CREATE TABLE public.t11 (id int); END $$;
SELECT public.mk();`,
  },
};

/** Scenarios the analysis cannot fully name, and the "cannot verify" findings it gives instead. */
const CANNOT_VERIFY: Record<string, { names: string[]; findings: RegExp[] }> = {
  "run-time names and functions cannot be verified": {
    names: ["public.postgres_t10", "public.t11"],
    findings: [
      /^EXECUTE at 001.sql:1 runs CREATE TABLE on public.<run-time value>/,
      /^function public.mk created at 001.sql:2 runs CREATE TABLE on public.t11/,
    ],
  },
};

const UNPROTECTED: Record<string, string[]> = {
  "protected table": [],
  "RLS disabled after being enabled": ["public.notes"],
  "quoted, schema-qualified twin": ['public."Orders"'],
  "search_path and set_config": ["api.t", "public.visible"],
  partitions: ["public.events_2026"],
  "policies dropped, renamed; tables renamed, moved and dropped": ["api.c", "public.b"],
  views: ["public.v_definer"],
  "create table as, if not exists": ["public.copy", "public.copy2"],
  "search_path resets with each file's session": ["public.t2"],
  "a search_path schema that does not exist is skipped": ["public.t3"],
  "SET LOCAL and set_config(..., true) end with the transaction": ["public.t5", "public.t6b"],
  "SET LOCAL at the top of a file lasts until the file ends": ["api.t6c", "public.t6d"],
  "DO blocks and EXECUTE": ["public.notes", "public.t7", "public.t8"],
  "run-time names and functions cannot be verified": ["public.postgres_t10", "public.t11"],
};

/** Relations PostgreSQL says are exposed without protection, quoted like format('%I.%I'). */
const UNPROTECTED_SQL = `
SELECT format('%I.%I', n.nspname, c.relname) AS name
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = ANY($1) AND (
  (c.relkind IN ('r', 'p') AND (NOT c.relrowsecurity OR NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid)))
  OR (c.relkind = 'v' AND NOT EXISTS (
    SELECT 1 FROM unnest(coalesce(c.reloptions, '{}')) o WHERE o IN ('security_invoker=true', 'security_invoker=on', 'security_invoker=1')))
)
ORDER BY 1`;

/** Relation names in the analysis's findings ("table public.x ...", "view public.v ..."). */
const namesIn = (problems: string[]) =>
  [
    ...new Set(problems.map((f) => /^(?:table|view) (\S+)/.exec(f)?.[1]).filter((n): n is string => n !== undefined)),
  ].sort();

/** The job's psql invocation for the migrations, taken from the job script itself so that the test follows it. */
function jobPsqlArgs(): string[] {
  const line = /^psql (.*) <<'PSQL'$/m.exec(migrationJobScript([]))?.[1];
  if (!line) throw new Error("the migration job script no longer feeds psql its driver on stdin; update this test");
  return line.split(/\s+/);
}

let cluster: PgCluster;
let dir: string;
beforeAll(async () => {
  cluster = await startPgCluster();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "northstack-rls-"));
}, 60000);
afterAll(async () => {
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function applyLikeTheJob(database: string, files: { name: string; sql: string }[]): Promise<void> {
  const admin = new Client(cluster.connection());
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const setup = new Client({ ...cluster.connection(), database });
  await setup.connect();
  await setup.query("CREATE SCHEMA api; CREATE SCHEMA private;");
  await setup.end();
  const filesDir = path.join(dir, database);
  fs.mkdirSync(filesDir);
  for (const f of files) fs.writeFileSync(path.join(filesDir, f.name), f.sql);
  const run = spawnSync(path.join(PG_BIN, "psql"), jobPsqlArgs(), {
    input: migrationDriverPsql(files, filesDir),
    env: { ...process.env, ...cluster.libpqEnv(), PGDATABASE: database },
    encoding: "utf8",
  });
  if (run.status !== 0) throw new Error(`psql exited ${run.status}: ${run.stderr}`);
}

async function unprotectedIn(database: string): Promise<string[]> {
  const client = new Client({ ...cluster.connection(), database });
  await client.connect();
  try {
    return (await client.query<{ name: string }>(UNPROTECTED_SQL, [EXPOSED])).rows.map((r) => r.name).sort();
  } finally {
    await client.end();
  }
}

test.each(Object.keys(SCENARIOS))("%s: the analysis names what PostgreSQL 15 reports", async (scenario) => {
  const files = Object.entries(SCENARIOS[scenario]).map(([name, sql]) => ({ name, sql }));
  const database = `s_${Object.keys(SCENARIOS).indexOf(scenario)}`;
  await applyLikeTheJob(database, files);
  const actual = await unprotectedIn(database);
  expect(actual).toEqual(UNPROTECTED[scenario]);
  const findings = await analyzeMigrations(files, EXPOSED);
  const unverifiable = CANNOT_VERIFY[scenario] ?? { names: [], findings: [] };
  expect(namesIn(findings.map((f) => f.problem))).toEqual(actual.filter((n) => !unverifiable.names.includes(n)));
  expect(findings.filter((f) => !/^(table|view) /.test(f.problem)).map((f) => f.problem)).toEqual(
    unverifiable.findings.map((r) => expect.stringMatching(r)),
  );
});

test("the project's own migrations, applied like the job, leave nothing unprotected, and the analysis agrees", async () => {
  const files = renderMigrations({ exposedSchemas: ["public", "api"] });
  await applyLikeTheJob("s_project", files);
  expect(await unprotectedIn("s_project")).toEqual([]);
  expect(await analyzeMigrations(files, EXPOSED)).toEqual([]);
});
