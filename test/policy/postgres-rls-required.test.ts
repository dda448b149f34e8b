import { ResourceInput } from "../../policy/evaluate";
import { postgresRlsRequired as policy } from "../../policy/policies";
import { analyzeMigrations } from "../../policy/policies/rls-analysis";
import { dockerContainer, messages } from "./fixtures";

const configMap = (data: Record<string, string>, labels: Record<string, string> = { "northstack.io/migrations": "true" }): ResourceInput => ({
  type: "kubernetes:core/v1:ConfigMap",
  name: "migrations",
  props: { metadata: { name: "migrations", labels }, data },
});

const protectedTable = (name: string) => `CREATE TABLE ${name} (id bigint PRIMARY KEY);
ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_own ON ${name} FOR SELECT USING (true);
`;

const analyze = (sql: string | Record<string, string>, schemas = ["public"]) =>
  analyzeMigrations(
    Object.entries(typeof sql === "string" ? { "001.sql": sql } : sql).map(([name, text]) => ({ name, sql: text })),
    schemas,
  );

describe("the migration set of a resource", () => {
  test("passes a ConfigMap whose tables all get RLS and a policy", async () => {
    expect(await messages(policy, configMap({ "001_notes.sql": protectedTable("public.notes") }))).toEqual([]);
  });

  test("ignores ConfigMaps without the migrations label and non-.sql keys", async () => {
    expect(await messages(policy, configMap({ "001.sql": "CREATE TABLE public.t (id int);" }, {}))).toEqual([]);
    expect(await messages(policy, configMap({ "README.md": "CREATE TABLE public.t (id int);" }))).toEqual([expect.stringMatching(/carries no .sql file/)]);
  });

  test("applies ConfigMap files in key order", async () => {
    const files = { "002_rls.sql": "ALTER TABLE public.t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.t USING (true);", "001_create.sql": "CREATE TABLE public.t (id int);" };
    expect(await messages(policy, configMap(files))).toEqual([]);
  });

  test("reads a labelled Docker migration container's uploads", async () => {
    const input = dockerContainer({
      labels: [{ label: "northstack.io/migrations", value: "true" }],
      uploads: [
        { file: "/migrations/001.sql", content: "CREATE TABLE public.t (id int);" },
        { file: "/etc/run.sh", content: "psql -f /migrations/001.sql" },
      ],
    });
    expect(await messages(policy, input)).toEqual([
      expect.stringContaining("table public.t created at /migrations/001.sql:1 never gets ALTER TABLE public.t ENABLE ROW LEVEL SECURITY"),
      expect.stringContaining("table public.t created at /migrations/001.sql:1 has no policy"),
    ]);
  });

  test("reports a migration unknown at preview", async () => {
    expect(await messages(policy, configMap({ "001.sql": "[unknown]" }))).toEqual([expect.stringMatching(/migration 001.sql is unknown at preview/)]);
  });

  test("takes the exposed schemas from policy config", async () => {
    const files = { "001.sql": "CREATE TABLE api.t (id int); CREATE TABLE public.u (id int);" };
    const found = await messages(policy, configMap(files), { config: { exposedSchemas: ["api"] } });
    expect(found).toHaveLength(2);
    expect(found.every((m) => m.includes("table api.t"))).toBe(true);
  });
});

describe("RLS analysis", () => {
  test("RLS disabled again after being enabled", async () => {
    const sql = { "001.sql": protectedTable("public.notes"), "002.sql": "\n-- oops\nALTER TABLE public.notes DISABLE ROW LEVEL SECURITY;" };
    expect(await analyze(sql)).toEqual(["table public.notes created at 001.sql:1 has row-level security disabled again at 002.sql:3"]);
  });

  test("a table created only inside a schema-qualified, quoted name is a different table from its lower-case twin", async () => {
    const sql = `CREATE TABLE "public"."Orders" (id int);
CREATE TABLE public.orders (id int);
ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON public.orders USING (true);`;
    expect(await analyze(sql)).toEqual([
      'table public."Orders" created at 001.sql:1 never gets ALTER TABLE public."Orders" ENABLE ROW LEVEL SECURITY',
      'table public."Orders" created at 001.sql:1 has no policy (CREATE POLICY ... ON public."Orders"), so the API can read none or all of it',
    ]);
    expect(await analyze(`${sql}\nALTER TABLE "public"."Orders" ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public."Orders" USING (true);`)).toEqual([]);
  });

  test("a quoted exposed schema name keeps its case", async () => {
    expect(await analyze('CREATE TABLE "Api".t (id int);', ["Api"])).toHaveLength(2);
    expect(await analyze('CREATE TABLE "Api".t (id int);', ["api"])).toEqual([]);
  });

  test("partitioned tables: the parent and every partition need RLS and a policy", async () => {
    const parent = `CREATE TABLE public.events (at date) PARTITION BY RANGE (at);
ALTER TABLE public.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON public.events FOR SELECT USING (true);
CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
`;
    expect(await analyze(parent)).toEqual([
      "table public.events_2026 (partition of public.events) created at 001.sql:4 never gets ALTER TABLE public.events_2026 ENABLE ROW LEVEL SECURITY",
      "table public.events_2026 (partition of public.events) created at 001.sql:4 has no policy (CREATE POLICY ... ON public.events_2026), so the API can read none or all of it",
    ]);
    expect(await analyze(`${parent}ALTER TABLE public.events_2026 ENABLE ROW LEVEL SECURITY; CREATE POLICY read_all ON public.events_2026 USING (true);`)).toEqual([]);
    expect(await analyze(`${parent}DROP TABLE public.events;`)).toEqual([]);
  });

  test("search_path-relative names: SET search_path and set_config", async () => {
    expect(await analyze("SET search_path = private, public; CREATE TABLE t (id int);")).toEqual([]);
    expect(await analyze("SET search_path TO api; CREATE TABLE t (id int);", ["api"])).toHaveLength(2);
    const viaSetConfig = "SELECT pg_catalog.set_config('search_path', 'app', false); CREATE TABLE t (id int); ALTER TABLE t ENABLE ROW LEVEL SECURITY;";
    expect(await analyze(viaSetConfig, ["app"])).toEqual([expect.stringMatching(/^table app.t .* has no policy/)]);
    expect(await analyze("SET search_path = private; RESET search_path; CREATE TABLE t (id int);")).toHaveLength(2);
  });

  test("unqualified ALTER and CREATE POLICY resolve through the search_path to the existing table", async () => {
    const sql = "CREATE TABLE public.t (id int); SET search_path = private, public; ALTER TABLE t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON t USING (true);";
    expect(await analyze(sql)).toEqual([]);
  });

  test("CREATE TABLE IF NOT EXISTS of an existing table keeps its state", async () => {
    expect(await analyze(`${protectedTable("public.t")} CREATE TABLE IF NOT EXISTS public.t (id int);`)).toEqual([]);
  });

  test("DROP POLICY leaves a table without a policy; DROP TABLE removes the table", async () => {
    expect(await analyze(`${protectedTable("public.t")} DROP POLICY read_own ON public.t;`)).toEqual([expect.stringMatching(/has no policy/)]);
    expect(await analyze("CREATE TABLE public.t (id int); DROP TABLE IF EXISTS public.t;")).toEqual([]);
  });

  test("ALTER TABLE RENAME and SET SCHEMA move the table", async () => {
    expect(await analyze("CREATE TABLE private.t (id int); ALTER TABLE private.t SET SCHEMA public;")).toHaveLength(2);
    expect(await analyze(`${protectedTable("public.t")} ALTER TABLE public.t RENAME TO u;`)).toEqual([]);
    expect(await analyze(`${protectedTable("public.t")} ALTER POLICY read_own ON public.t RENAME TO r; DROP POLICY read_own ON public.t;`)).toEqual([]);
  });

  test("CREATE TABLE AS and SELECT INTO create tables", async () => {
    expect(await analyze("CREATE TABLE public.copy AS SELECT 1 AS x;")).toHaveLength(2);
    expect(await analyze("SELECT 1 AS x INTO public.copy2;")).toHaveLength(2);
  });

  test("views in exposed schemas must be security_invoker", async () => {
    expect(await analyze("CREATE VIEW public.v WITH (security_invoker = true) AS SELECT 1;")).toEqual([]);
    expect(await analyze("CREATE VIEW public.v WITH (security_invoker) AS SELECT 1;")).toEqual([]);
    expect(await analyze("CREATE VIEW public.v AS SELECT 1;")).toEqual(["view public.v created at 001.sql:1 is not security_invoker, so it bypasses the row-level security of its tables"]);
    expect(await analyze("CREATE VIEW public.v WITH (security_invoker = on) AS SELECT 1; ALTER VIEW public.v SET (security_invoker = false);")).toHaveLength(1);
    expect(await analyze("CREATE VIEW public.v AS SELECT 1; ALTER VIEW public.v SET (security_invoker = true);")).toEqual([]);
    expect(await analyze("CREATE VIEW private.v AS SELECT 1;")).toEqual([]);
    expect(await analyze("CREATE MATERIALIZED VIEW public.mv AS SELECT 1;")).toEqual([expect.stringMatching(/materialized view public.mv .* cannot have row-level security/)]);
  });

  test("temporary tables and tables in other schemas are ignored", async () => {
    expect(await analyze("CREATE TEMP TABLE scratch (id int); CREATE TABLE auth.users (id uuid);")).toEqual([]);
  });

  test("SQL that does not parse is reported with the parser's error and location; later files are still followed", async () => {
    const found = await analyze({ "001.sql": "CREATE TABLE public.ok (id int);\nCREATE TABLE (;", "002.sql": "CREATE TABLE public.later (id int);" });
    expect(found[0]).toBe('001.sql does not parse: syntax error at or near "(" at line 2, column 14');
    expect(found.slice(1).every((m) => m.includes("public.later"))).toBe(true);
    expect(found).toHaveLength(3);
  });

  test("DO blocks are opaque: what they create is not seen", async () => {
    expect(await analyze("DO $$ BEGIN EXECUTE 'CREATE TABLE public.hidden (id int)'; END $$;")).toEqual([]);
  });
});
