/**
 * The SQL that makes the RLS guarantee hold in the database itself: what the migration job sets up in
 * every API-exposed schema before the project's migrations run, and the guard that fails the deploy
 * when a table there is left without row-level security. Pure, like the rest of the migrations.
 */

import { SQL_IDENTIFIER } from "./config/checks";

/** Name of the policy that lets service_role past RLS on a table where it cannot have BYPASSRLS. */
export const SERVICE_ROLE_POLICY = "northstack_service_role_all";

/** Schemas the Supabase services own; exposing one would put tables outside our RLS guarantees. */
const SERVICE_SCHEMAS = ["auth", "storage", "extensions", "realtime", "_realtime", "information_schema"];

/** Throws, naming the value and what is allowed, unless every schema name is a plain identifier we may expose. */
export function validateExposedSchemas(schemas: readonly string[]): void {
  if (schemas.length === 0) throw new Error('exposedSchemas is empty; list at least one schema, e.g. ["public"]');
  for (const schema of schemas) {
    if (!SQL_IDENTIFIER.test(schema)) {
      throw new Error(
        `exposedSchemas entry ${JSON.stringify(schema)} is not allowed; use lower-case identifiers ([a-z_][a-z0-9_]*, at most 63 characters)`,
      );
    }
    if (SERVICE_SCHEMAS.includes(schema) || schema.startsWith("pg_")) {
      throw new Error(
        `exposedSchemas entry ${JSON.stringify(schema)} is not allowed; it belongs to Postgres or a Supabase service (${SERVICE_SCHEMAS.join(", ")}, pg_*)`,
      );
    }
  }
  if (new Set(schemas).size !== schemas.length)
    throw new Error(`exposedSchemas ${JSON.stringify(schemas)} lists a schema twice`);
}

const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** `ARRAY['a','b']::name[]` for already validated schema names. */
const schemaArray = (schemas: readonly string[]): string => `ARRAY[${schemas.map(literal).join(", ")}]::name[]`;

/** SQL condition: the table `c` was created by an extension, so it is not ours to guard. */
const FROM_EXTENSION = `EXISTS (
    SELECT 1 FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )`;

/**
 * A query listing `schema`, `table` for every ordinary or partitioned table in `schemas` that lacks
 * row-level security or has no policy of its own (the generated service_role policy does not count:
 * it admits no client). Tables created by extensions are left out: they are not ours.
 */
export function unprotectedTablesSql(schemas: readonly string[]): string {
  validateExposedSchemas(schemas);
  return `SELECT n.nspname::text AS schema, c.relname::text AS "table"
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname = ANY (${schemaArray(schemas)})
  AND (NOT c.relrowsecurity OR NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid AND p.polname <> ${literal(SERVICE_ROLE_POLICY)}
  ))
  AND NOT ${FROM_EXTENSION}
ORDER BY 1, 2`;
}

export function exposedSchemasSql(schemas: readonly string[]): string {
  const blocks = schemas.map(
    (s) => `CREATE SCHEMA IF NOT EXISTS ${s};
REVOKE CREATE ON SCHEMA ${s} FROM PUBLIC;
GRANT USAGE ON SCHEMA ${s} TO anon, authenticated, service_role;
-- service_role is the trusted back end: full access to what the migrating user creates here.
-- anon and authenticated get table grants explicitly, table by table, next to the table's policies.
ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT ALL ON TABLES TO service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT ALL ON SEQUENCES TO service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA ${s} GRANT EXECUTE ON FUNCTIONS TO service_role;
`,
  );
  return `-- Schemas the REST API exposes: ${schemas.join(", ")}.\n${blocks.join("\n")}`;
}

export function rlsGuardSql(schemas: readonly string[]): string {
  return `-- Fails the deploy if any table in an exposed schema lacks row-level security or a policy of its own.
DO $$
DECLARE
  unprotected text;
BEGIN
  SELECT string_agg(format('%I.%I', t.schema, t."table"), ', ') INTO unprotected
  FROM (
${unprotectedTablesSql(schemas).replace(/^/gm, "    ")}
  ) AS t;
  IF unprotected IS NOT NULL THEN
    RAISE EXCEPTION 'tables in exposed schemas without row-level security or a policy: %', unprotected
      USING HINT = 'ALTER TABLE ... ENABLE ROW LEVEL SECURITY and CREATE POLICY in a migration';
  END IF;
END
$$;

-- service_role is the trusted back end and sees every row. A superuser gives it BYPASSRLS; on RDS
-- and Cloud SQL nobody can, so a policy for service_role alone does the same, table by table. Every
-- table gets it, whichever way service_role is set up, so that both behave alike.
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN
    SELECT n.nspname, c.relname, c.relowner
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND n.nspname = ANY (${schemaArray(schemas)})
      AND NOT ${FROM_EXTENSION}
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid AND p.polname = ${literal(SERVICE_ROLE_POLICY)})
  LOOP
    IF pg_catalog.pg_has_role(current_user, t.relowner, 'USAGE') THEN
      EXECUTE format('CREATE POLICY %I ON %I.%I FOR ALL TO service_role USING (true) WITH CHECK (true)', ${literal(SERVICE_ROLE_POLICY)}, t.nspname, t.relname);
    ELSE
      RAISE WARNING 'service_role gets no policy on %.%: it is owned by %, which % cannot act as',
        t.nspname, t.relname, pg_catalog.pg_get_userbyid(t.relowner), current_user;
    END IF;
  END LOOP;
END
$$;
`;
}
