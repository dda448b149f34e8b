import { ArgsContext, StackResourceInput } from "../../policy/evaluate";
import { postgresRlsRequired as policy } from "../../policy/policies";
import { analyzeMigrations } from "../../policy/rls";
import { renderMigrations } from "../../components/migrations";
import { container, deployment, dockerContainer, podSpec, stackViolations } from "./fixtures";

const messages = async (input: StackResourceInput | StackResourceInput[], context: ArgsContext = {}) =>
  (await stackViolations(policy, Array.isArray(input) ? input : [input], context)).map((v) => v.message);

const configMap = (
  data: Record<string, string>,
  labels: Record<string, string> = { "northstack.io/migrations": "true" },
): StackResourceInput => ({
  type: "kubernetes:core/v1:ConfigMap",
  name: "migrations",
  props: { metadata: { name: "migrations", labels }, data },
});

const protectedTable = (name: string) => `CREATE TABLE ${name} (id bigint PRIMARY KEY);
ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_own ON ${name} FOR SELECT USING (false);
`;

/** The analysis's problems; every finding also names a fix. */
const analyze = async (sql: string | Record<string, string>, schemas = ["public"]) => {
  const findings = await analyzeMigrations(
    Object.entries(typeof sql === "string" ? { "001.sql": sql } : sql).map(([name, text]) => ({ name, sql: text })),
    schemas,
  );
  for (const f of findings) expect(f.fix.length).toBeGreaterThan(10);
  return findings.map((f) => f.problem);
};

describe("the migration set of a resource", () => {
  test("passes a ConfigMap whose tables all get RLS and a policy", async () => {
    expect(await messages(configMap({ "001_notes.sql": protectedTable("public.notes") }))).toEqual([]);
  });

  test("ignores ConfigMaps without the migrations label and non-.sql keys", async () => {
    expect(await messages(configMap({ "001.sql": "CREATE TABLE public.t (id int);" }, {}))).toEqual([]);
    expect(await messages(configMap({ "README.md": "CREATE TABLE public.t (id int);" }))).toEqual([
      expect.stringMatching(/carries no .sql file/),
    ]);
  });

  test("applies ConfigMap files in key order", async () => {
    const files = {
      "002_rls.sql": "ALTER TABLE public.t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public.t USING (false);",
      "001_create.sql": "CREATE TABLE public.t (id int);",
    };
    expect(await messages(configMap(files))).toEqual([]);
  });

  test("reads a labelled Docker migration container's uploads", async () => {
    const input = dockerContainer({
      labels: [{ label: "northstack.io/migrations", value: "true" }],
      uploads: [
        { file: "/migrations/001.sql", content: "CREATE TABLE public.t (id int);" },
        { file: "/etc/run.sh", content: "psql -f /migrations/001.sql" },
      ],
    });
    expect(await messages(input)).toEqual([
      expect.stringContaining(
        "table public.t created at /migrations/001.sql:1 never gets ALTER TABLE public.t ENABLE ROW LEVEL SECURITY",
      ),
      expect.stringContaining("table public.t created at /migrations/001.sql:1 has no policy"),
    ]);
  });

  test("reports a migration unknown at preview", async () => {
    expect(await messages(configMap({ "001.sql": "[unknown]" }))).toEqual([
      expect.stringMatching(/migration 001.sql is unknown at preview/),
    ]);
  });

  test("takes the exposed schemas from policy config", async () => {
    const files = { "001.sql": "CREATE TABLE api.t (id int); CREATE TABLE public.u (id int);" };
    const found = await messages(configMap(files), { config: { exposedSchemas: ["api"] } });
    expect(found).toHaveLength(2);
    expect(found.every((m) => m.includes("table api.t"))).toBe(true);
  });
});

describe("RLS analysis", () => {
  test("RLS disabled again after being enabled", async () => {
    const sql = {
      "001.sql": protectedTable("public.notes"),
      "002.sql": "\n-- oops\nALTER TABLE public.notes DISABLE ROW LEVEL SECURITY;",
    };
    expect(await analyze(sql)).toEqual([
      "table public.notes created at 001.sql:1 has row-level security disabled again at 002.sql:3",
    ]);
  });

  test("a table created only inside a schema-qualified, quoted name is a different table from its lower-case twin", async () => {
    const sql = `CREATE TABLE "public"."Orders" (id int);
CREATE TABLE public.orders (id int);
ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY p ON public.orders USING (false);`;
    expect(await analyze(sql)).toEqual([
      'table public."Orders" created at 001.sql:1 never gets ALTER TABLE public."Orders" ENABLE ROW LEVEL SECURITY',
      'table public."Orders" created at 001.sql:1 has no policy (CREATE POLICY ... ON public."Orders"), so the API can read none or all of it',
    ]);
    expect(
      await analyze(
        `${sql}\nALTER TABLE "public"."Orders" ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON public."Orders" USING (false);`,
      ),
    ).toEqual([]);
  });

  test("a quoted exposed schema name keeps its case", async () => {
    expect(await analyze('CREATE TABLE "Api".t (id int);', ["Api"])).toHaveLength(2);
    expect(await analyze('CREATE TABLE "Api".t (id int);', ["api"])).toEqual([]);
  });

  test("partitioned tables: the parent and every partition need RLS and a policy", async () => {
    const parent = `CREATE TABLE public.events (at date) PARTITION BY RANGE (at);
ALTER TABLE public.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY read_all ON public.events FOR SELECT USING (false);
CREATE TABLE public.events_2026 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
`;
    expect(await analyze(parent)).toEqual([
      "table public.events_2026 (partition of public.events) created at 001.sql:4 never gets ALTER TABLE public.events_2026 ENABLE ROW LEVEL SECURITY",
      "table public.events_2026 (partition of public.events) created at 001.sql:4 has no policy (CREATE POLICY ... ON public.events_2026), so the API can read none or all of it",
    ]);
    expect(
      await analyze(
        `${parent}ALTER TABLE public.events_2026 ENABLE ROW LEVEL SECURITY; CREATE POLICY read_all ON public.events_2026 USING (false);`,
      ),
    ).toEqual([]);
    expect(await analyze(`${parent}DROP TABLE public.events;`)).toEqual([]);
  });

  test("search_path-relative names: SET search_path and set_config", async () => {
    expect(await analyze("CREATE SCHEMA private; SET search_path = private, public; CREATE TABLE t (id int);")).toEqual(
      [],
    );
    expect(await analyze("SET search_path TO api; CREATE TABLE t (id int);", ["api"])).toHaveLength(2);
    const viaSetConfig =
      "SELECT pg_catalog.set_config('search_path', 'app', false); CREATE TABLE t (id int); ALTER TABLE t ENABLE ROW LEVEL SECURITY;";
    expect(await analyze(viaSetConfig, ["app"])).toEqual([expect.stringMatching(/^table app.t .* has no policy/)]);
    expect(
      await analyze("CREATE SCHEMA private; SET search_path = private; RESET search_path; CREATE TABLE t (id int);"),
    ).toHaveLength(2);
  });

  test("unqualified ALTER and CREATE POLICY resolve through the search_path to the existing table", async () => {
    const sql =
      "CREATE TABLE public.t (id int); SET search_path = private, public; ALTER TABLE t ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON t USING (false);";
    expect(await analyze(sql)).toEqual([]);
  });

  test("CREATE TABLE IF NOT EXISTS of an existing table keeps its state", async () => {
    expect(await analyze(`${protectedTable("public.t")} CREATE TABLE IF NOT EXISTS public.t (id int);`)).toEqual([]);
  });

  test("DROP POLICY leaves a table without a policy; DROP TABLE removes the table", async () => {
    expect(await analyze(`${protectedTable("public.t")} DROP POLICY read_own ON public.t;`)).toEqual([
      expect.stringMatching(/has no policy/),
    ]);
    expect(await analyze("CREATE TABLE public.t (id int); DROP TABLE IF EXISTS public.t;")).toEqual([]);
  });

  test("ALTER TABLE RENAME and SET SCHEMA move the table", async () => {
    expect(await analyze("CREATE TABLE private.t (id int); ALTER TABLE private.t SET SCHEMA public;")).toHaveLength(2);
    expect(await analyze(`${protectedTable("public.t")} ALTER TABLE public.t RENAME TO u;`)).toEqual([]);
    expect(
      await analyze(
        `${protectedTable("public.t")} ALTER POLICY read_own ON public.t RENAME TO r; DROP POLICY read_own ON public.t;`,
      ),
    ).toEqual([]);
  });

  test("CREATE TABLE AS and SELECT INTO create tables", async () => {
    expect(await analyze("CREATE TABLE public.copy AS SELECT 1 AS x;")).toHaveLength(2);
    expect(await analyze("SELECT 1 AS x INTO public.copy2;")).toHaveLength(2);
  });

  test("views in exposed schemas must be security_invoker", async () => {
    expect(await analyze("CREATE VIEW public.v WITH (security_invoker = true) AS SELECT 1;")).toEqual([]);
    expect(await analyze("CREATE VIEW public.v WITH (security_invoker) AS SELECT 1;")).toEqual([]);
    expect(await analyze("CREATE VIEW public.v AS SELECT 1;")).toEqual([
      "view public.v created at 001.sql:1 is not security_invoker, so it bypasses the row-level security of its tables",
    ]);
    expect(
      await analyze(
        "CREATE VIEW public.v WITH (security_invoker = on) AS SELECT 1; ALTER VIEW public.v SET (security_invoker = false);",
      ),
    ).toHaveLength(1);
    expect(
      await analyze("CREATE VIEW public.v AS SELECT 1; ALTER VIEW public.v SET (security_invoker = true);"),
    ).toEqual([]);
    expect(await analyze("CREATE VIEW private.v AS SELECT 1;")).toEqual([]);
    expect(await analyze("CREATE MATERIALIZED VIEW public.mv AS SELECT 1;")).toEqual([]);
    expect(await analyze("CREATE MATERIALIZED VIEW public.mv AS SELECT 1; GRANT SELECT ON public.mv TO anon;")).toEqual(
      [
        expect.stringMatching(
          /materialized view public.mv .* is granted to anon or authenticated, .* cannot have row-level security/,
        ),
      ],
    );
  });

  test("temporary tables and tables in other schemas are ignored", async () => {
    expect(await analyze("CREATE TEMP TABLE scratch (id int); CREATE TABLE auth.users (id uuid);")).toEqual([]);
  });

  test("SQL that does not parse is reported with the parser's error and location; later files are still followed", async () => {
    const found = await analyze({
      "001.sql": "CREATE TABLE public.ok (id int);\nCREATE TABLE (;",
      "002.sql": "CREATE TABLE public.later (id int);",
    });
    expect(found[0]).toBe(
      '001.sql does not parse: syntax error at or near "(" at line 2, column 14, so what it creates cannot be verified',
    );
    expect(found.slice(1).every((m) => m.includes("public.later"))).toBe(true);
    expect(found).toHaveLength(3);
  });

  test("each file is its own session: search_path does not carry over", async () => {
    expect(
      await analyze({
        "001.sql": "CREATE SCHEMA app; SET search_path TO app;",
        "002.sql": "CREATE TABLE t2 (id int);",
      }),
    ).toEqual([
      expect.stringMatching(/^table public.t2 created at 002.sql:1 never gets/),
      expect.stringMatching(/^table public.t2 .* has no policy/),
    ]);
    expect(
      await analyze({ "001.sql": "CREATE SCHEMA app; SET search_path TO app; CREATE TABLE t2 (id int);" }),
    ).toEqual([]);
  });

  test("a search_path schema that does not exist is skipped; one the migrations never create may not exist", async () => {
    const found = await analyze("SET search_path = nosuch, public; CREATE TABLE t3 (id int);");
    expect(found).toEqual([
      "table public.t3 created at 001.sql:1 (search_path nosuch, public; nosuch is not created by these migrations, so it is taken to land in public) never gets ALTER TABLE public.t3 ENABLE ROW LEVEL SECURITY",
      expect.stringMatching(/^table public.t3 .* has no policy/),
    ]);
    expect(await analyze("CREATE SCHEMA nosuch; SET search_path = nosuch, public; CREATE TABLE t3 (id int);")).toEqual(
      [],
    );
    expect(
      await analyze("CREATE SCHEMA gone; DROP SCHEMA gone; SET search_path = gone, public; CREATE TABLE t3 (id int);"),
    ).toHaveLength(2);
  });

  test("SET LOCAL and set_config(..., true) end with their transaction; SET LOCAL outside one has no effect", async () => {
    const local =
      "CREATE SCHEMA app; COMMIT; BEGIN; SET LOCAL search_path TO app; CREATE TABLE t4 (id int); COMMIT; CREATE TABLE t5 (id int);";
    expect((await analyze(local)).map((m) => m.split(" ")[1])).toEqual(["public.t5", "public.t5"]);
    const viaSetConfig =
      "CREATE SCHEMA app; COMMIT; BEGIN; SELECT set_config('search_path', 'app', true); CREATE TABLE t4 (id int); COMMIT; CREATE TABLE t6 (id int);";
    expect((await analyze(viaSetConfig)).map((m) => m.split(" ")[1])).toEqual(["public.t6", "public.t6"]);
    // psql --single-transaction: the whole file is one transaction, so SET LOCAL lasts to its end.
    expect(await analyze("CREATE SCHEMA app; SET LOCAL search_path TO app; CREATE TABLE t (id int);")).toEqual([]);
    expect(
      await analyze("CREATE SCHEMA app; COMMIT; SET LOCAL search_path TO app; CREATE TABLE t (id int);"),
    ).toHaveLength(2);
    expect(
      await analyze("CREATE SCHEMA app; COMMIT; BEGIN; SET search_path TO app; ROLLBACK; CREATE TABLE t (id int);"),
    ).toHaveLength(2);
  });

  test("a search_path set from a run-time value makes unqualified creates unverifiable", async () => {
    expect(
      await analyze("SELECT set_config('search_path', current_setting('app.schema'), false); CREATE TABLE t (id int);"),
    ).toEqual([
      expect.stringMatching(/001.sql:1 creates t without a schema while search_path was set from a run-time value/),
    ]);
  });

  test("DO blocks: static SQL inside is followed, branches as if taken", async () => {
    expect(await analyze("DO $$ BEGIN CREATE TABLE public.t7 (id int); END $$;")).toHaveLength(2);
    const guarded = `DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_tables WHERE tablename = 't') THEN
    CREATE TABLE public.t (id int);
    ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_policies WHERE policyname = 'p') THEN
    CREATE POLICY p ON public.t USING (false);
  END IF;
END $$;`;
    expect(await analyze(guarded)).toEqual([]);
    expect(await analyze(guarded.replace("    ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;\n", ""))).toEqual([
      expect.stringMatching(/^table public.t created at 001.sql:4 never gets/),
    ]);
  });

  test("EXECUTE of a constant, or of format()/quote_ident over a constant template, is followed", async () => {
    expect(await analyze("DO $$ BEGIN EXECUTE 'CREATE TABLE public.hidden (id int)'; END $$;")).toHaveLength(2);
    expect(
      await analyze(
        `${protectedTable("public.n")}DO $$ BEGIN EXECUTE format('ALTER TABLE public.%I DISABLE ROW LEVEL SECURITY', 'n'); END $$;`,
      ),
    ).toEqual([expect.stringMatching(/^table public.n .* has row-level security disabled again at 001.sql:4/)]);
    expect(await analyze("DO $$ BEGIN EXECUTE format('GRANT %I TO %I', 'anon', current_user); END $$;")).toEqual([]);
    expect(
      await analyze("DO $$ BEGIN EXECUTE format('CREATE TABLE private.%I (id int)', current_user); END $$;"),
    ).toEqual([]);
  });

  test("EXECUTE that builds table DDL from run-time values cannot be verified, and says to write static DDL", async () => {
    const findings = await analyzeMigrations(
      [
        {
          name: "001.sql",
          sql: "DO $$ BEGIN EXECUTE 'CREATE TABLE public.' || quote_ident(current_user) || ' (id int)'; END $$;",
        },
      ],
      ["public"],
    );
    expect(findings).toEqual([
      {
        problem: expect.stringMatching(
          /^EXECUTE at 001.sql:1 runs CREATE TABLE on public.<run-time value>, a name known only at run time .* cannot be verified$/,
        ),
        fix: expect.stringContaining("write the DDL as static SQL"),
      },
    ]);
    expect(await analyze("DO $$ DECLARE ddl text := 'x'; BEGIN EXECUTE ddl; END $$;")).toEqual([
      expect.stringMatching(/EXECUTE at 001.sql:1 runs SQL built at run time \(ddl\)/),
    ]);
    expect(
      await analyze("DO $$ BEGIN EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', current_user); END $$;"),
    ).toHaveLength(1);
  });

  test("run-time DDL that only adds protection (CREATE POLICY, ENABLE/FORCE RLS) is not doubted, nor credited", async () => {
    const loop = (ddl: string) =>
      `DO $$ DECLARE t record; BEGIN FOR t IN SELECT relname FROM pg_class LOOP EXECUTE format('${ddl}', t.relname); END LOOP; END $$;`;
    const grantAll = loop("CREATE POLICY svc ON public.%I TO service_role USING (false)");
    expect(
      await analyze(
        `${protectedTable("public.n")}${grantAll}${loop("ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY")}`,
      ),
    ).toEqual([]);
    // Not credited: a table with only run-time policies still has no policy of its own.
    expect(
      await analyze(
        `CREATE TABLE public.bare (id int); ALTER TABLE public.bare ENABLE ROW LEVEL SECURITY;\n${grantAll}`,
      ),
    ).toEqual([expect.stringMatching(/^table public.bare created at 001.sql:1 has no policy/)]);
    // Switching RLS off at run time is still unverifiable.
    expect(
      await analyze(`${protectedTable("public.n")}${loop("ALTER TABLE public.%I NO FORCE ROW LEVEL SECURITY")}`),
    ).toHaveLength(1);
  });

  test("functions that create tables or change RLS when called cannot be verified", async () => {
    const plpgsql =
      "CREATE FUNCTION public.mk() RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$\nBEGIN\n  CREATE TABLE public.t11 (id int);\nEND $$;";
    expect(await analyze(plpgsql)).toEqual([
      expect.stringMatching(
        /^function public.mk created at 001.sql:1 runs CREATE TABLE on public.t11 \(line 3\) whenever it is called/,
      ),
    ]);
    expect(
      await analyze(
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'ALTER TABLE ' || current_user || ' DISABLE ROW LEVEL SECURITY'; END $$;",
      ),
    ).toEqual([
      expect.stringMatching(/^EXECUTE at 001.sql:1 runs SQL built at run time/),
      expect.stringMatching(/^function public.f .* has no search_path of its own/),
    ]);
    expect(
      await analyze("CREATE FUNCTION private.f() RETURNS void LANGUAGE sql AS $$ DROP POLICY p ON public.t $$;"),
    ).toEqual([expect.stringMatching(/runs DROP POLICY on public.t/)]);
    expect(
      await analyze(
        "CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql SET search_path = private AS $$ BEGIN CREATE TABLE t (id int); END $$;",
      ),
    ).toEqual([]);
    expect(
      await analyze("CREATE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = '' AS $$ SELECT 1 $$;"),
    ).toEqual([]);
    expect(await analyze("DO LANGUAGE plperl $$ 1; $$;")).toEqual([
      expect.stringMatching(/DO block in language plperl/),
    ]);
  });
});

describe("exposed schemas", () => {
  const migrations = configMap({ "001.sql": "CREATE SCHEMA api; CREATE TABLE api.t (id int);" });

  test("PGRST_DB_SCHEMAS on a Docker container exposes its schemas too", async () => {
    expect(await messages(migrations)).toEqual([]);
    const rest = dockerContainer({
      image: "postgrest/postgrest:v12.2.3",
      envs: ["PGRST_DB_ANON_ROLE=anon", "PGRST_DB_SCHEMAS=public, api"],
    });
    expect(await messages([migrations, rest])).toEqual([
      expect.stringContaining("table api.t"),
      expect.stringContaining("table api.t"),
    ]);
  });

  test("PGRST_DB_SCHEMAS in a Kubernetes workload's env, directly or from a ConfigMap or Secret, or in a Secret", async () => {
    const direct = deployment(
      podSpec({ containers: [container("rest", { env: [{ name: "PGRST_DB_SCHEMAS", value: "api" }] })] }),
    );
    expect(await messages([migrations, direct])).toHaveLength(2);
    const fromConfigMap = deployment(
      podSpec({
        containers: [
          container("rest", {
            env: [{ name: "PGRST_DB_SCHEMAS", valueFrom: { configMapKeyRef: { name: "rest", key: "schemas" } } }],
          }),
        ],
      }),
    );
    const restConfig = {
      type: "kubernetes:core/v1:ConfigMap",
      name: "rest",
      props: { metadata: { name: "rest" }, data: { schemas: "api" } },
    };
    expect(await messages([migrations, fromConfigMap, restConfig])).toHaveLength(2);
    const secret = {
      type: "kubernetes:core/v1:Secret",
      name: "rest-env",
      props: { metadata: { name: "rest-env" }, data: { PGRST_DB_SCHEMAS: Buffer.from("api").toString("base64") } },
    };
    expect(await messages([migrations, secret])).toHaveLength(2);
    expect(await messages([migrations, fromConfigMap])).toEqual([
      expect.stringMatching(/comes from ConfigMap rest, which is not in this stack/),
    ]);
    const unknown = deployment(
      podSpec({ containers: [container("rest", { env: [{ name: "PGRST_DB_SCHEMAS", value: "[unknown]" }] })] }),
    );
    expect(await messages([migrations, unknown])).toEqual([
      expect.stringMatching(
        /env PGRST_DB_SCHEMAS is unknown at preview, so which schemas the REST API exposes cannot be verified/,
      ),
    ]);
  });

  test("Docker uploads given as contentBase64 are read; host-file uploads cannot be", async () => {
    const input = (upload: Record<string, unknown>) =>
      dockerContainer({
        labels: [{ label: "northstack.io/migrations", value: "true" }],
        uploads: [{ file: "/migrations/001.sql", ...upload }],
      });
    expect(
      await messages(input({ contentBase64: Buffer.from("CREATE TABLE public.t (id int);").toString("base64") })),
    ).toHaveLength(2);
    expect(await messages(input({ source: "/host/001.sql" }))).toEqual([
      expect.stringMatching(/migration \/migrations\/001.sql is uploaded from a host file/),
    ]);
  });
});

/** A table every client may only reach through an owner policy, as the reference notes table does. */
const NOTES = `CREATE TABLE public.notes (id int, owner_id uuid, body text);
ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON public.notes TO authenticated;
CREATE POLICY own ON public.notes FOR SELECT TO authenticated USING (owner_id = (SELECT auth.uid()));
`;
/** What the platform's own 004 migration sets up before a project's migrations run. */
const REVOKED = "ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;\n";

describe("splinter's security lints, decided at plan time (one case per lint, good and bad)", () => {
  test("security definer function executable by anon/authenticated (0028/0029): refused unless revoked or exempted with a reason", async () => {
    const definer = `${NOTES}CREATE FUNCTION public.all_notes() RETURNS SETOF public.notes LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$ SELECT * FROM public.notes $$;\n`;
    expect(await analyze(definer)).toEqual([
      expect.stringMatching(
        /^function public.all_notes created at 001.sql:5 is SECURITY DEFINER, .* PUBLIC \(so anon\) may execute it/,
      ),
    ]);
    // The platform revokes PUBLIC's EXECUTE by default; an explicit grant brings the leak back.
    expect(await analyze(REVOKED + definer)).toEqual([]);
    expect(await analyze(`${REVOKED}${definer}GRANT EXECUTE ON FUNCTION public.all_notes() TO authenticated;`)).toEqual(
      [expect.stringMatching(/all_notes .* authenticated may execute it/)],
    );
    expect(await analyze(`${definer}REVOKE EXECUTE ON FUNCTION public.all_notes() FROM PUBLIC;`)).toEqual([]);
    expect(
      await analyze(`${definer}COMMENT ON FUNCTION public.all_notes() IS 'northstack:security-definer: admins only';`),
    ).toEqual([
      expect.stringMatching(/all_notes .* exempted by its comment "northstack:security-definer: admins only"/),
    ]);
    expect(
      await analyze(`${definer}COMMENT ON FUNCTION public.all_notes() IS 'northstack:security-definer:  ';`),
    ).toHaveLength(1);
    expect(await analyze(`${definer}ALTER FUNCTION public.all_notes() SECURITY INVOKER;`)).toEqual([]);
    // Outside the exposed schemas the API cannot call it.
    expect(await analyze(definer.replace("public.all_notes", "private.all_notes"))).toEqual([]);
  });

  test("function_search_path_mutable (0011): functions in exposed schemas, and SECURITY DEFINER ones anywhere, set search_path", async () => {
    const fn = (schema: string, extra = "") =>
      `CREATE FUNCTION ${schema}.f() RETURNS int LANGUAGE sql ${extra} AS 'SELECT 1'; REVOKE EXECUTE ON FUNCTION ${schema}.f() FROM PUBLIC;`;
    expect(await analyze(fn("public"))).toEqual([
      expect.stringMatching(/^function public.f .* has no search_path of its own/),
    ]);
    expect(await analyze(fn("public", "SET search_path = ''"))).toEqual([]);
    expect(await analyze(fn("private"))).toEqual([]);
    expect(await analyze(fn("private", "SECURITY DEFINER"))).toEqual([
      expect.stringMatching(/^function private.f .* is SECURITY DEFINER and has no search_path/),
    ]);
    expect(
      await analyze(`${fn("private", "SECURITY DEFINER")} ALTER FUNCTION private.f() SET search_path = pg_catalog;`),
    ).toEqual([]);
  });

  test("rls_policy_always_true (0024) for anon: a permissive SELECT USING (true) is refused unless marked public data", async () => {
    const open = `${NOTES}CREATE POLICY anyone ON public.notes FOR SELECT TO anon USING (true);\n`;
    expect(await analyze(open)).toEqual([
      expect.stringMatching(/^policy anyone on public.notes created at 001.sql:5 lets anon read every row/),
    ]);
    for (const variant of ["USING ('t'::boolean)", "USING (1 = 1)", "USING (true OR owner_id IS NULL)"])
      expect(await analyze(open.replace("USING (true)", variant))).toHaveLength(1);
    expect(await analyze(open.replace("TO anon ", ""))).toHaveLength(1);
    expect(await analyze(open.replace("TO anon", "TO authenticated"))).toEqual([]);
    expect(
      await analyze(
        open.replace("anyone ON public.notes FOR SELECT", "anyone ON public.notes AS RESTRICTIVE FOR SELECT"),
      ),
    ).toEqual([]);
    expect(await analyze(open.replace("USING (true)", "USING (body IS NOT NULL AND owner_id IS NULL)"))).toEqual([]);
    expect(
      await analyze(`${open}COMMENT ON POLICY anyone ON public.notes IS 'northstack:public-read: the menu is public';`),
    ).toEqual([
      expect.stringMatching(/^policy anyone .* exempted by its comment "northstack:public-read: the menu is public"/),
    ]);
  });

  test("rls_policy_always_true (0024) for writes: WITH CHECK (true) or USING (true) on a write policy for anon or authenticated", async () => {
    const write = (policy: string) => `${NOTES}CREATE POLICY w ON public.notes ${policy};\n`;
    for (const bad of [
      "FOR INSERT TO authenticated WITH CHECK (true)",
      "FOR UPDATE TO anon USING (owner_id = (SELECT auth.uid())) WITH CHECK (true)",
      "FOR UPDATE TO authenticated USING (true)",
      "FOR DELETE TO authenticated USING (true)",
      "FOR ALL USING (owner_id = (SELECT auth.uid())) WITH CHECK (true)",
    ])
      expect([bad, await analyze(write(bad))]).toEqual([
        bad,
        [expect.stringMatching(/^policy w .* lets anon or authenticated write or delete any row/)],
      ]);
    for (const good of [
      "FOR INSERT TO authenticated WITH CHECK (owner_id = (SELECT auth.uid()))",
      "FOR INSERT TO authenticated",
      "FOR UPDATE TO authenticated USING (owner_id = (SELECT auth.uid()))",
      "FOR INSERT TO service_role WITH CHECK (true)",
    ])
      expect([good, await analyze(write(good))]).toEqual([good, []]);
    expect(
      await analyze(
        `${write("FOR INSERT TO anon WITH CHECK (true)")}COMMENT ON POLICY w ON public.notes IS 'northstack:open-write: a public guest book';`,
      ),
    ).toEqual([
      expect.stringMatching(/^policy w .* exempted by its comment "northstack:open-write: a public guest book"/),
    ]);
    expect(
      await analyze(
        `${write("FOR INSERT TO anon WITH CHECK (true)")}ALTER POLICY w ON public.notes WITH CHECK (owner_id = (SELECT auth.uid()));`,
      ),
    ).toEqual([]);
  });

  test("rls_references_user_metadata (0015): ->, ->> and #>> forms", async () => {
    for (const expr of [
      "(auth.jwt() -> 'user_metadata' ->> 'role') = 'admin'",
      "(SELECT auth.jwt() #>> '{user_metadata,team}') = 'red'",
      "(current_setting('request.jwt.claims', true)::jsonb -> 'user_metadata') ? 'admin'",
    ])
      expect(
        await analyze(`${NOTES}CREATE POLICY meta ON public.notes FOR SELECT TO authenticated USING (${expr});`),
      ).toEqual([expect.stringMatching(/^policy meta on public.notes .* reads user_metadata/)]);
    expect(
      await analyze(
        `${NOTES}CREATE POLICY meta ON public.notes FOR SELECT TO authenticated USING ((auth.jwt() -> 'app_metadata' ->> 'role') = 'admin');`,
      ),
    ).toEqual([]);
  });

  test("materialized_view_in_api (0016) and foreign_table_in_api (0017): refused while granted to clients; revoke or move", async () => {
    const mv = "CREATE MATERIALIZED VIEW public.mv AS SELECT 1 AS x; GRANT SELECT ON public.mv TO authenticated;";
    expect(await analyze(mv)).toEqual([
      expect.stringMatching(/^materialized view public.mv .* is granted to anon or authenticated/),
    ]);
    expect(await analyze(`${mv} REVOKE ALL ON public.mv FROM authenticated;`)).toEqual([]);
    expect(
      await analyze(
        "CREATE MATERIALIZED VIEW public.mv AS SELECT 1; GRANT SELECT ON ALL TABLES IN SCHEMA public TO anon;",
      ),
    ).toHaveLength(1);
    expect(
      await analyze(
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO anon; CREATE MATERIALIZED VIEW public.mv AS SELECT 1;",
      ),
    ).toHaveLength(1);
    const ft =
      "CREATE FOREIGN TABLE public.ft (x int) SERVER files OPTIONS (filename '/dev/null'); GRANT SELECT ON public.ft TO PUBLIC;";
    expect(await analyze(ft)).toEqual([
      expect.stringMatching(/^foreign table public.ft .*ENABLE ROW LEVEL SECURITY fails on it/),
    ]);
    expect(await analyze(`${ft} REVOKE SELECT ON public.ft FROM PUBLIC;`)).toEqual([]);
    expect(await analyze(ft.replace(/public\.ft/g, "private.ft"))).toEqual([]);
  });

  test("auth_users_exposed (0002): a view in an exposed schema that reads auth.users", async () => {
    const view = "CREATE VIEW public.emails WITH (security_invoker = true) AS SELECT u.email FROM auth.users u;";
    expect(await analyze(view)).toEqual([expect.stringMatching(/^view public.emails .* reads auth.users/)]);
    expect(await analyze(view.replace("public.emails", "private.emails"))).toEqual([]);
    expect(await analyze("CREATE MATERIALIZED VIEW public.m AS SELECT id FROM (SELECT id FROM auth.users) s;")).toEqual(
      [expect.stringMatching(/^materialized view public.m .* reads auth.users/)],
    );
  });

  test("extension_in_public (0014): an extension in an exposed schema, including by the default search_path", async () => {
    expect(await analyze("CREATE EXTENSION citext;")).toEqual([
      expect.stringMatching(/^extension citext .* exposed schema public/),
    ]);
    expect(await analyze("CREATE EXTENSION citext WITH SCHEMA public;")).toHaveLength(1);
    expect(await analyze("CREATE EXTENSION citext WITH SCHEMA extensions;")).toEqual([]);
    expect(await analyze("CREATE EXTENSION citext; ALTER EXTENSION citext SET SCHEMA extensions;")).toEqual([]);
    expect(await analyze("CREATE EXTENSION pg_cron;")).toEqual([]);
  });

  test("policy_exists_rls_disabled, rls_enabled_no_policy, rls_disabled_in_public (0007/0008/0013) stay refused", async () => {
    expect(
      await analyze(
        "CREATE TABLE public.t (id int); CREATE POLICY p ON public.t FOR SELECT TO authenticated USING (id > 0);",
      ),
    ).toEqual([expect.stringMatching(/never gets ALTER TABLE public.t ENABLE ROW LEVEL SECURITY/)]);
    expect(await analyze("CREATE TABLE public.t (id int); ALTER TABLE public.t ENABLE ROW LEVEL SECURITY;")).toEqual([
      expect.stringMatching(/has no policy/),
    ]);
  });

  test("an honoured exemption is reported as advisory, naming its reason; the unexempted finding stays at the policy's level", async () => {
    const definer = `${NOTES}CREATE FUNCTION public.all_notes() RETURNS SETOF public.notes LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$ SELECT * FROM public.notes $$;\n`;
    const exempted = `${definer}COMMENT ON FUNCTION public.all_notes() IS 'northstack:security-definer: admins only';`;
    expect(await stackViolations(policy, [configMap({ "001.sql": exempted })])).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/all_notes .* exempted by its comment .*; fix: keep the reason true/),
        enforcementLevel: "advisory",
      }),
    ]);
    const [leak] = await stackViolations(policy, [configMap({ "001.sql": definer })]);
    expect(leak.message).toMatch(/all_notes .* is SECURITY DEFINER/);
    expect(leak.enforcementLevel).toBeUndefined();
  });

  test("the platform's own migrations pass every rule", async () => {
    expect(await analyzeMigrations(renderMigrations(), ["public"])).toEqual([]);
  });
});
