/**
 * The SQL that makes the RLS guarantee hold in the database itself: what the migration job sets up in
 * every API-exposed schema before the project's migrations run, and the guard that fails the deploy
 * when a table there is left without row-level security. Pure, like the rest of the migrations.
 */

import { SQL_IDENTIFIER } from "./config/checks";
import { BACKUP_POLICY } from "./db-roles";

/** Name of the policy that lets service_role past RLS on a table where it cannot have BYPASSRLS. */
export const SERVICE_ROLE_POLICY = "northstack_service_role_all";

/**
 * Schemas the Supabase services own, and northstack's own (the migration history, the backup record);
 * exposing one would put tables outside our RLS guarantees.
 */
export const SERVICE_SCHEMAS = [
  "auth",
  "storage",
  "extensions",
  "realtime",
  "_realtime",
  "information_schema",
  "northstack",
  "northstack_ops",
];

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

export const literal = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** `ARRAY['a','b']::name[]` for already validated schema names. */
export const schemaArray = (schemas: readonly string[]): string => `ARRAY[${schemas.map(literal).join(", ")}]::name[]`;

/** SQL condition: the table `c` was created by an extension, so it is not ours to guard. */
export const FROM_EXTENSION = `EXISTS (
    SELECT 1 FROM pg_catalog.pg_depend d
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
  )`;

/**
 * The exemption a reviewer writes next to the object, in the migration itself, so that the policy pack
 * (reading the migration) and the guard (reading the catalog) see the same thing:
 * `COMMENT ON FUNCTION f(...) IS 'northstack:security-definer: <why>'` or
 * `COMMENT ON POLICY p ON t IS 'northstack:public-read: <why>'`. The reason may not be empty.
 */
export const EXEMPTIONS = {
  /** A SECURITY DEFINER function in an exposed schema that anon or authenticated may execute. */
  securityDefiner: "security-definer",
  /** A policy that lets anon read every row (public reference data). */
  publicRead: "public-read",
  /** A write policy that lets anon or authenticated write or delete any row. */
  openWrite: "open-write",
} as const;
export type Exemption = (typeof EXEMPTIONS)[keyof typeof EXEMPTIONS];

/** The comment pattern of an exemption; the same text is a JavaScript and a PostgreSQL regular expression. */
const exemptionPattern = (rule: Exemption) => `^northstack:${rule}:\\s*\\S`;

/** Whether an object's comment carries the named exemption with a non-empty reason. */
export const exempts = (comment: string | undefined, rule: Exemption): boolean =>
  comment !== undefined && new RegExp(exemptionPattern(rule)).test(comment);

/** Roles a request runs as that must only reach rows a policy gives them. PUBLIC counts: they are in it. */
export const END_USER_ROLES = ["anon", "authenticated"] as const;

/** SQL condition: anon or authenticated may read or write the relation `c` (directly or through PUBLIC). */
const API_CAN_TOUCH = `(${END_USER_ROLES.map(
  (r) => `pg_catalog.has_table_privilege(${literal(r)}, c.oid, 'SELECT, INSERT, UPDATE, DELETE')`,
).join(" OR ")})`;

/**
 * A query listing `schema`, `table` for every ordinary or partitioned table (partitions included) in
 * `schemas` that lacks row-level security or has no policy of its own (the generated service_role
 * policy does not count: it admits no client). A table an extension owns counts as soon as anon or
 * authenticated may touch it: the API reaches it like any other.
 */
export function unprotectedTablesSql(schemas: readonly string[]): string {
  validateExposedSchemas(schemas);
  return `SELECT n.nspname::text AS schema, c.relname::text AS "table"
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname = ANY (${schemaArray(schemas)})
  AND (NOT c.relrowsecurity OR NOT EXISTS (
    SELECT 1 FROM pg_catalog.pg_policy p
    WHERE p.polrelid = c.oid AND p.polname NOT IN (${literal(SERVICE_ROLE_POLICY)}, ${literal(BACKUP_POLICY)})
  ))
  AND (NOT ${FROM_EXTENSION} OR ${API_CAN_TOUCH})
ORDER BY 1, 2`;
}

/** How pg_get_expr spells a policy expression that is a constant true. */
const ALWAYS_TRUE = `ARRAY['true', '(1 = 1)']`;
const isTrue = (expr: string) => `pg_catalog.pg_get_expr(${expr}, p.polrelid) = ANY (${ALWAYS_TRUE})`;
const exempted = (oid: string, catalog: string, rule: Exemption) =>
  `coalesce(pg_catalog.obj_description(${oid}, ${literal(catalog)}) ~ ${literal(exemptionPattern(rule))}, false)`;
/** SQL condition: policy `p` applies to one of `roles`, or to PUBLIC (oid 0). */
const policyFor = (roles: readonly string[]) =>
  `p.polroles && ARRAY[0::oid, ${roles.map((r) => `${literal(r)}::regrole::oid`).join(", ")}]`;
const notExtensionMember = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = ${literal(catalog)}::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

/**
 * A query listing, as `object`, `problem`, `fix`, every way the API could reach rows past row-level
 * security: the rules the policy pack applies to the migrations (policy/rls), here on the catalog the
 * migrations left behind. Exemptions are read from object comments (EXEMPTIONS).
 */
export function guardViolationsSql(schemas: readonly string[]): string {
  validateExposedSchemas(schemas);
  const exposed = `n.nspname = ANY (${schemaArray(schemas)})`;
  const rel = `format('%I.%I', n.nspname, c.relname)`;
  const fn = `format('function %I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))`;
  const pol = `format('policy %I on %I.%I', p.polname, n.nspname, c.relname)`;
  const relations = `pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace`;
  const functions = `pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace`;
  const policies = `pg_catalog.pg_policy p JOIN ${relations} ON c.oid = p.polrelid`;
  const canExecute = END_USER_ROLES.map((r) => `pg_catalog.has_function_privilege(${literal(r)}, p.oid, 'EXECUTE')`);
  // A missing USING or WITH CHECK admits nothing (PostgreSQL 15), except that UPDATE and ALL check new
  // rows with USING when WITH CHECK is missing.
  const alwaysWrites = `(p.polcmd IN ('a', 'w', '*') AND (${isTrue("p.polwithcheck")} OR (p.polwithcheck IS NULL AND p.polcmd <> 'a' AND ${isTrue("p.polqual")})))
    OR (p.polcmd IN ('w', 'd', '*') AND ${isTrue("p.polqual")})`;
  return `SELECT format('table %I.%I', t.schema, t."table") AS object,
  'has no row-level security or no policy of its own' AS problem,
  'ALTER TABLE ... ENABLE ROW LEVEL SECURITY and CREATE POLICY in a migration' AS fix
FROM (
${unprotectedTablesSql(schemas).replace(/^/gm, "  ")}
) AS t
UNION ALL
SELECT 'view ' || ${rel}, 'is not security_invoker, so it reads its tables with its owner''s rights, past their row-level security',
  'CREATE VIEW ... WITH (security_invoker = true), or ALTER VIEW ... SET (security_invoker = true)'
FROM ${relations}
WHERE c.relkind = 'v' AND ${exposed}
  AND NOT coalesce((SELECT o.option_value::boolean FROM pg_catalog.pg_options_to_table(c.reloptions) o WHERE o.option_name = 'security_invoker'), false)
UNION ALL
SELECT 'materialized view ' || ${rel}, 'is readable by anon or authenticated, and a materialized view cannot have row-level security',
  'REVOKE ALL ON ... FROM PUBLIC, anon, authenticated, or create it in a schema the API does not expose'
FROM ${relations}
WHERE c.relkind = 'm' AND ${exposed} AND ${API_CAN_TOUCH}
UNION ALL
SELECT 'foreign table ' || ${rel}, 'is reachable by anon or authenticated, and a foreign table cannot have row-level security',
  'REVOKE ALL ON ... FROM PUBLIC, anon, authenticated, or create it in a schema the API does not expose'
FROM ${relations}
WHERE c.relkind = 'f' AND ${exposed} AND ${API_CAN_TOUCH}
UNION ALL
SELECT DISTINCT 'view ' || ${rel}, 'reads auth.users, putting every user''s e-mail address and metadata in the API',
  'copy what clients may see into a table of your own (e.g. public.profiles, with RLS), or move the view out of the exposed schemas'
FROM ${relations}
JOIN pg_catalog.pg_rewrite r ON r.ev_class = c.oid
JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
WHERE c.relkind IN ('v', 'm') AND ${exposed} AND d.refobjid = pg_catalog.to_regclass('auth.users')
UNION ALL
SELECT format('extension %I', e.extname), format('is installed in exposed schema %I, so its functions and tables are part of the API', n.nspname),
  format('CREATE EXTENSION %I WITH SCHEMA extensions (or ALTER EXTENSION %I SET SCHEMA extensions)', e.extname, e.extname)
FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
WHERE ${exposed}
UNION ALL
SELECT ${fn}, 'is SECURITY DEFINER, so it runs past row-level security with its owner''s rights, and anon or authenticated may execute it',
  'REVOKE EXECUTE ON FUNCTION ... FROM PUBLIC, anon, authenticated; or make it SECURITY INVOKER; or, if callers must have it, COMMENT ON FUNCTION ... IS ''northstack:${EXEMPTIONS.securityDefiner}: <why>'''
FROM ${functions}
WHERE p.prosecdef AND ${exposed} AND ${notExtensionMember("pg_catalog.pg_proc", "p.oid")}
  AND (${canExecute.join(" OR ")})
  AND NOT ${exempted("p.oid", "pg_proc", EXEMPTIONS.securityDefiner)}
UNION ALL
SELECT ${fn}, CASE WHEN p.prosecdef THEN 'is SECURITY DEFINER and' ELSE 'is in an exposed schema and' END || ' has no search_path of its own, so the caller''s search_path decides what its unqualified names mean',
  'add SET search_path = '''' (and schema-qualify the names in its body), or SET search_path = <schemas>'
FROM ${functions}
WHERE p.prokind IN ('f', 'p') AND ${notExtensionMember("pg_catalog.pg_proc", "p.oid")}
  AND p.prolang NOT IN (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname IN ('c', 'internal'))
  AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) s WHERE s LIKE 'search\\_path=%')
  AND (${exposed} OR (p.prosecdef AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> ALL (${schemaArray(SERVICE_SCHEMAS)})))
UNION ALL
SELECT ${pol}, 'lets anon read every row (permissive, and its USING is always true)',
  'USING (<a condition on the row>), or TO authenticated with an owner check; for public data, COMMENT ON POLICY ... IS ''northstack:${EXEMPTIONS.publicRead}: <why>'''
FROM ${policies}
WHERE ${exposed} AND p.polpermissive AND p.polcmd IN ('r', '*') AND ${policyFor(["anon"])}
  AND ${isTrue("p.polqual")}
  AND NOT ${exempted("p.oid", "pg_policy", EXEMPTIONS.publicRead)}
UNION ALL
SELECT ${pol}, 'lets anon or authenticated write or delete any row (permissive, and its WITH CHECK or USING is always true)',
  'USING (owner_id = (SELECT auth.uid())) WITH CHECK (owner_id = (SELECT auth.uid())), or COMMENT ON POLICY ... IS ''northstack:${EXEMPTIONS.openWrite}: <why>'''
FROM ${policies}
WHERE ${exposed} AND p.polpermissive AND p.polcmd IN ('a', 'w', 'd', '*') AND ${policyFor(END_USER_ROLES)}
  AND (${alwaysWrites})
  AND NOT ${exempted("p.oid", "pg_policy", EXEMPTIONS.openWrite)}
UNION ALL
SELECT ${pol}, 'reads user_metadata, which every user can edit about themselves',
  'decide on app_metadata (only the server sets it) or on a table of your own, not on user_metadata'
FROM ${policies}
WHERE ${exposed}
  AND concat(pg_catalog.pg_get_expr(p.polqual, p.polrelid), ' ', pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)) ~ 'user_meta'
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
  return `-- Schemas the REST API exposes: ${schemas.join(", ")}.
-- A new function is executable by PUBLIC, hence by anon, unless default privileges say otherwise, and
-- a SECURITY DEFINER one bypasses row-level security for every caller. Per-schema defaults can only
-- add to the global ones, so EXECUTE is revoked globally for what this role creates, given back in the
-- extensions schema (extension functions are for everyone, e.g. pgvector's operators), and granted
-- function by function elsewhere (auth.uid() and its siblings in 003).
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA extensions GRANT EXECUTE ON FUNCTIONS TO PUBLIC;

${blocks.join("\n")}`;
}

export function rlsGuardSql(schemas: readonly string[]): string {
  return `-- Fails the deploy if anything in an exposed schema lets the API past row-level security: the
-- rules the policy pack applies to the migrations, on what they actually left behind.
DO $$
DECLARE
  violations text;
BEGIN
  SELECT string_agg(format('%s %s; fix: %s', v.object, v.problem, v.fix), E'\\n') INTO violations
  FROM (
${guardViolationsSql(schemas).replace(/^/gm, "    ")}
  ) AS v;
  IF violations IS NOT NULL THEN
    RAISE EXCEPTION E'the API could reach rows past row-level security:\\n%', violations
      USING HINT = 'fix each object in a migration';
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
