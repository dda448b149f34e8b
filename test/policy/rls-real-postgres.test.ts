/**
 * The RLS analysis agrees with PostgreSQL 15 itself: each scenario's migrations are applied to a real
 * cluster, which is then asked which tables in exposed schemas lack RLS or a policy and which views
 * are not security_invoker; the analysis must name exactly the same relations.
 */
import { Client } from "pg";
import { analyzeMigrations } from "../../policy/policies/rls-analysis";
import { PgCluster, startPgCluster } from "../helpers/pg-cluster";

const EXPOSED = ["public", "api"];

/** Each scenario: its migration files, and the relations left unprotected. */
const SCENARIOS: Record<string, Record<string, string>> = {
  "protected table": { "001.sql": "CREATE TABLE public.notes (id int); ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.notes USING (true);" },
  "RLS disabled after being enabled": {
    "001.sql": "CREATE TABLE public.notes (id int); ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.notes USING (true);",
    "002.sql": "ALTER TABLE public.notes DISABLE ROW LEVEL SECURITY;",
  },
  "quoted, schema-qualified twin": {
    "001.sql": 'CREATE TABLE "public"."Orders" (id int); CREATE TABLE public.orders (id int); ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.orders USING (true);',
  },
  "search_path and set_config": {
    "001.sql": "SET search_path = api, public; CREATE TABLE t (id int); ALTER TABLE t ENABLE ROW LEVEL SECURITY;",
    "002.sql": "SELECT set_config('search_path', 'private', false); CREATE TABLE hidden (id int); SET search_path = public; CREATE TABLE visible (id int);",
  },
  "partitions": {
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
  "views": {
    "001.sql": `CREATE TABLE private.base (id int);
CREATE VIEW public.v_invoker WITH (security_invoker = true) AS SELECT id FROM private.base;
CREATE VIEW public.v_definer AS SELECT id FROM private.base;
CREATE VIEW public.v_fixed AS SELECT id FROM private.base; ALTER VIEW public.v_fixed SET (security_invoker = on);
CREATE VIEW private.v_hidden AS SELECT id FROM private.base;`,
  },
  "create table as, if not exists": {
    "001.sql": "CREATE TABLE public.copy AS SELECT 1 AS x; CREATE TABLE IF NOT EXISTS public.copy (x int); SELECT 2 AS y INTO public.copy2;",
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
const namesIn = (findings: string[]) => [...new Set(findings.map((f) => /^(?:table|view) (\S+)/.exec(f)?.[1] ?? f))].sort();

let cluster: PgCluster;
beforeAll(async () => {
  cluster = await startPgCluster();
}, 60000);
afterAll(async () => {
  await cluster?.stop();
});

test.each(Object.keys(SCENARIOS))("%s: the analysis names what PostgreSQL 15 reports", async (scenario) => {
  const files = Object.entries(SCENARIOS[scenario]).map(([name, sql]) => ({ name, sql }));
  const database = `s_${Object.keys(SCENARIOS).indexOf(scenario)}`;
  const admin = new Client(cluster.connection());
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const client = new Client({ ...cluster.connection(), database });
  await client.connect();
  try {
    await client.query("CREATE SCHEMA api; CREATE SCHEMA private;");
    for (const f of files) await client.query(f.sql);
    const actual = (await client.query<{ name: string }>(UNPROTECTED_SQL, [EXPOSED])).rows.map((r) => r.name).sort();
    expect(actual).toEqual(UNPROTECTED[scenario]);
    expect(namesIn(await analyzeMigrations(files, EXPOSED))).toEqual(actual);
  } finally {
    await client.end();
  }
});
