/**
 * The SQL migrations the migration job applies on every deploy, and the job's shell script. Pure:
 * tests apply exactly this SQL to a real PostgreSQL 15, and the policy pack parses the same files
 * with the real Postgres parser. Every built-in statement is idempotent (IF NOT EXISTS, role checks
 * in DO blocks, CREATE OR REPLACE, DROP ... IF EXISTS before CREATE POLICY) because the job runs
 * them on every deploy; the project's own files (components/project-migrations.ts) are applied once
 * each and recorded in a history table. The files hold no psql meta-commands and no credentials:
 * role passwords are set by the job script from secret environment variables (`rolePasswordScript`).
 */

import { SQL_IDENTIFIER } from "./config/checks";
import { ProjectMigration, migrationNameProblem, sha256 } from "./project-migrations";

export interface MigrationFile {
  /** The name the file is delivered under; files are applied in lexical (byte) order of these names. */
  readonly name: string;
  readonly sql: string;
  /** Set on a project file: applied once, and recorded under this name and checksum. Default: applied on every run. */
  readonly history?: { readonly name: string; readonly checksum: string };
}

export interface MigrationArgs {
  /** Schemas the REST API exposes; each gets grants and the RLS guard. Default: ["public"]. */
  readonly exposedSchemas?: readonly string[];
  /** Create the reference API's example `notes` table. Default: true. */
  readonly exampleNotes?: boolean;
  /** The project's own migrations (northstack:migrationsDir), applied once each after ours and before the RLS guard. Default: none. */
  readonly project?: readonly ProjectMigration[];
}

/** Directory the migration files are delivered to inside the job container. */
export const MIGRATIONS_DIR = "/migrations";

/**
 * Project files are delivered as `<prefix><name>`, so that they sort after the built-in files (001..010)
 * and before the RLS guard (999) whatever their own names, both for the job and for the policy pack,
 * which both go by name order.
 */
export const PROJECT_FILE_PREFIX = "500_project_";

/** Where the job records the project files it applied: one row per file, with its sha256. */
export const HISTORY_TABLE = "northstack.schema_migrations";

/** Environment variable holding the password of the service login roles (the admin password, per contract). */
export const ROLE_PASSWORD_ENV = "NORTHSTACK_ROLE_PASSWORD";

/** The Postgres roles the API and the Supabase services switch to, per request. */
export const API_ROLES = ["anon", "authenticated", "service_role"] as const;

/** Roles that log in: PostgREST and the API as authenticator, GoTrue and Storage as their admins. */
export const SERVICE_LOGIN_ROLES = ["authenticator", "supabase_auth_admin", "supabase_storage_admin"] as const;

/** Name of the policy that lets service_role past RLS on a table where it cannot have BYPASSRLS. */
export const SERVICE_ROLE_POLICY = "northstack_service_role_all";

/**
 * Schemas the Supabase services own, and northstack's own (the migration history); exposing one would
 * put tables outside our RLS guarantees.
 */
const SERVICE_SCHEMAS = ["auth", "storage", "extensions", "realtime", "_realtime", "information_schema", "northstack"];

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

/** Throws, naming every project file whose name is not allowed or appears twice. */
function validateProject(project: readonly ProjectMigration[]): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const file of project) {
    const problem = migrationNameProblem(file.name);
    if (problem) problems.push(`project migration ${JSON.stringify(file.name)} ${problem}`);
    else if (seen.has(file.name)) problems.push(`project migration ${JSON.stringify(file.name)} is listed twice`);
    seen.add(file.name);
  }
  if (problems.length) throw new Error(problems.join("\n"));
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

// PostgreSQL 15 lets only a superuser create a BYPASSRLS role or mention BYPASSRLS in ALTER ROLE,
// even to turn it off. RDS (rds_superuser) and Cloud SQL (cloudsqlsuperuser) give the admin user
// CREATEROLE but not SUPERUSER, so attributes are only touched when they differ and we may change
// them; there service_role gets RLS policies instead (see rlsGuardSql). A client role that already
// bypasses RLS and cannot be fixed fails the deploy: serving requests under it would be unsafe.
const ROLES_SQL = `-- Supabase roles. Created when missing; attributes re-asserted where they differ.
DO $$
DECLARE
  is_superuser boolean := (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user);
  client_role text;
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'authenticator') THEN
    CREATE ROLE authenticator LOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'supabase_auth_admin') THEN
    CREATE ROLE supabase_auth_admin LOGIN NOINHERIT CREATEROLE;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'supabase_storage_admin') THEN
    CREATE ROLE supabase_storage_admin LOGIN NOINHERIT CREATEROLE;
  END IF;

  IF is_superuser AND NOT (SELECT rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
    ALTER ROLE service_role BYPASSRLS;
  END IF;
  FOREACH client_role IN ARRAY ARRAY['anon', 'authenticated', 'authenticator'] LOOP
    IF (SELECT rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = client_role) THEN
      IF NOT is_superuser THEN
        RAISE EXCEPTION 'role % bypasses row-level security and % may not change that', client_role, current_user
          USING HINT = format('as a superuser: ALTER ROLE %I NOBYPASSRLS', client_role);
      END IF;
      EXECUTE format('ALTER ROLE %I NOBYPASSRLS', client_role);
    END IF;
  END LOOP;

  -- The migrating user must be able to act as the service admins to replace objects they own
  -- (superusers can already; the RDS / Cloud SQL admin user cannot without membership).
  EXECUTE format('GRANT supabase_auth_admin, supabase_storage_admin TO %I', current_user);

  -- Realtime streams changes through a logical replication slot as the admin user. RDS grants that
  -- through the rds_replication role; Cloud SQL lets cloudsqlsuperuser members take REPLICATION.
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rds_replication')
     AND NOT pg_catalog.pg_has_role(current_user, 'rds_replication', 'MEMBER') THEN
    EXECUTE format('GRANT rds_replication TO %I', current_user);
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'cloudsqlsuperuser')
     AND pg_catalog.pg_has_role(current_user, 'cloudsqlsuperuser', 'MEMBER')
     AND NOT (SELECT rolreplication FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('ALTER ROLE %I WITH REPLICATION', current_user);
  END IF;
END
$$;

ALTER ROLE anon NOLOGIN NOINHERIT;
ALTER ROLE authenticated NOLOGIN NOINHERIT;
ALTER ROLE service_role NOLOGIN NOINHERIT;
ALTER ROLE authenticator LOGIN NOINHERIT;

-- authenticator logs in with no privileges of its own and switches to one of these per request.
GRANT anon, authenticated, service_role TO authenticator;
-- Storage switches to the caller's role for its RLS-checked queries.
GRANT anon, authenticated, service_role TO supabase_storage_admin;

ALTER ROLE authenticator SET statement_timeout = '8s';
ALTER ROLE anon SET statement_timeout = '3s';
ALTER ROLE authenticated SET statement_timeout = '8s';
ALTER ROLE supabase_auth_admin SET search_path = auth;
ALTER ROLE supabase_storage_admin SET search_path = storage;
`;

const SCHEMAS_SQL = `-- Schemas the Supabase services need, owned by the role that migrates them.
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;

CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION supabase_auth_admin;
ALTER SCHEMA auth OWNER TO supabase_auth_admin;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;

CREATE SCHEMA IF NOT EXISTS storage AUTHORIZATION supabase_storage_admin;
ALTER SCHEMA storage OWNER TO supabase_storage_admin;
GRANT USAGE ON SCHEMA storage TO anon, authenticated, service_role;

-- Realtime keeps its own tables in _realtime and the per-tenant ones in realtime.
CREATE SCHEMA IF NOT EXISTS _realtime;
CREATE SCHEMA IF NOT EXISTS realtime;
GRANT USAGE ON SCHEMA realtime TO anon, authenticated, service_role;

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_publication WHERE pubname = 'supabase_realtime') THEN
    CREATE PUBLICATION supabase_realtime;
  END IF;
END
$$;
`;

// Read the claims where PostgREST puts them: request.jwt.claims (JSON, PostgREST >= 9). uid() and
// role() also accept the legacy per-claim request.jwt.claim.<name>, as Supabase's own helpers do.
// nullif: a reset custom setting reads as ''.
const AUTH_HELPERS_SQL = `-- auth.uid(), auth.role(), auth.jwt(): the JWT of the current request, as PostgREST sets it.
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
  )::uuid
$$;

CREATE OR REPLACE FUNCTION auth.role() RETURNS text
LANGUAGE sql STABLE
AS $$
  SELECT coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role'
  )::text
$$;

CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
LANGUAGE sql STABLE
AS $$
  SELECT nullif(current_setting('request.jwt.claims', true), '')::jsonb
$$;

-- Owned by GoTrue's role, so that its own migrations may replace them.
ALTER FUNCTION auth.uid() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.role() OWNER TO supabase_auth_admin;
ALTER FUNCTION auth.jwt() OWNER TO supabase_auth_admin;
GRANT EXECUTE ON FUNCTION auth.uid(), auth.role(), auth.jwt() TO anon, authenticated, service_role;
`;

function exposedSchemasSql(schemas: readonly string[]): string {
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

const NOTES_SQL = `-- The example table the reference API uses: every user sees and changes only their own notes.
CREATE TABLE IF NOT EXISTS public.notes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id uuid NOT NULL DEFAULT auth.uid(),
  body text NOT NULL CONSTRAINT notes_body_length CHECK (char_length(body) BETWEEN 1 AND 10000),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS notes_owner_id_created_at_idx ON public.notes (owner_id, created_at DESC);

ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;

REVOKE ALL ON public.notes FROM PUBLIC, anon;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.notes TO authenticated;
GRANT ALL ON public.notes TO service_role;
GRANT USAGE ON SCHEMA public TO authenticated, service_role;

-- (SELECT auth.uid()) is evaluated once per statement instead of once per row.
DROP POLICY IF EXISTS notes_select_own ON public.notes;
CREATE POLICY notes_select_own ON public.notes FOR SELECT TO authenticated
  USING (owner_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS notes_insert_own ON public.notes;
CREATE POLICY notes_insert_own ON public.notes FOR INSERT TO authenticated
  WITH CHECK (owner_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS notes_update_own ON public.notes;
CREATE POLICY notes_update_own ON public.notes FOR UPDATE TO authenticated
  USING (owner_id = (SELECT auth.uid()))
  WITH CHECK (owner_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS notes_delete_own ON public.notes;
CREATE POLICY notes_delete_own ON public.notes FOR DELETE TO authenticated
  USING (owner_id = (SELECT auth.uid()));
`;

function rlsGuardSql(schemas: readonly string[]): string {
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

const byName = (a: MigrationFile, b: MigrationFile) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The migration files, in the order the job applies them: the built-in ones, the project's own, the
 * RLS guard. Throws on a bad schema or project file name.
 */
export function renderMigrations(args: MigrationArgs = {}): MigrationFile[] {
  const schemas = args.exposedSchemas ?? ["public"];
  const project = args.project ?? [];
  validateExposedSchemas(schemas);
  validateProject(project);
  const files: MigrationFile[] = [
    { name: "001_roles.sql", sql: ROLES_SQL },
    { name: "002_schemas.sql", sql: SCHEMAS_SQL },
    { name: "003_auth_helpers.sql", sql: AUTH_HELPERS_SQL },
    { name: "004_exposed_schemas.sql", sql: exposedSchemasSql(schemas) },
    ...(args.exampleNotes === false ? [] : [{ name: "010_notes.sql", sql: NOTES_SQL }]),
    ...project.map((f) => ({
      name: `${PROJECT_FILE_PREFIX}${f.name}`,
      sql: f.sql,
      history: { name: f.name, checksum: sha256(f.sql) },
    })),
    { name: "999_rls_guard.sql", sql: rlsGuardSql(schemas) },
  ];
  // The job applies them in this order and the policy pack reads them in name order: one order.
  return files.sort(byName);
}

/**
 * psql input (not a migration file) that sets the service login roles' password from the
 * environment with \getenv, so the password never appears in a file, an argument or the logs.
 */
export function rolePasswordScript(): string {
  return [
    `\\getenv role_password ${ROLE_PASSWORD_ENV}`,
    ...SERVICE_LOGIN_ROLES.map((role) => `ALTER ROLE ${role} WITH LOGIN PASSWORD :'role_password';`),
    "",
  ].join("\n");
}

/** `ARRAY['a','b']::text[]` of SQL literals. */
const textArray = (values: readonly string[]): string => `ARRAY[${values.map(literal).join(", ")}]::text[]`;

/** Any one constant key, so that two migration jobs never run at once (the second waits). */
const MIGRATION_LOCK_KEY = 7268616;

/**
 * The psql script that applies `files` (as renderMigrations returns them, delivered under `dir`) in
 * ONE transaction, so that a failing file or a failing RLS guard rolls everything back and nothing
 * unprotected is ever visible:
 *
 * 1. the history table, and a refusal, before anything is applied, if an applied project file was
 *    edited (its checksum differs) or is no longer delivered;
 * 2. every file in order: built-in ones every time (they are idempotent), a project file only when
 *    the history table does not list it, and then it is recorded there;
 * 3. between files, the session settings a file may leave behind are reset, so every file starts as
 *    in a fresh session (which is how the policy pack follows them).
 *
 * Checksums are computed here, at plan time, from the very text that is delivered: the plan shows
 * them, tests check them without a container, and the job needs no tool beyond psql.
 */
export function migrationDriverPsql(files: readonly MigrationFile[], dir: string = MIGRATIONS_DIR): string {
  checkDir(dir);
  const project = files.flatMap((f) => (f.history ? [f.history] : []));
  const steps = files.map((f) => {
    const apply = [`\\echo applying ${f.history?.name ?? f.name}`, `\\i ${dir}/${f.name}`, "RESET ALL;", "RESET ROLE;"];
    if (!f.history) return apply.join("\n");
    return [
      `SELECT NOT EXISTS (SELECT FROM ${HISTORY_TABLE} WHERE name = ${literal(f.history.name)}) AS pending \\gset`,
      "\\if :pending",
      ...apply,
      `INSERT INTO ${HISTORY_TABLE} (name, checksum) VALUES (${literal(f.history.name)}, ${literal(f.history.checksum)});`,
      "\\else",
      `\\echo ${f.history.name} was applied before`,
      "\\endif",
    ].join("\n");
  });
  return `\\set ON_ERROR_STOP on
BEGIN;
SELECT pg_catalog.pg_advisory_xact_lock(${MIGRATION_LOCK_KEY}) AS migration_lock \\gset
CREATE SCHEMA IF NOT EXISTS northstack;
REVOKE ALL ON SCHEMA northstack FROM PUBLIC;
CREATE TABLE IF NOT EXISTS ${HISTORY_TABLE} (
  name text PRIMARY KEY,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON ${HISTORY_TABLE} FROM PUBLIC;
DO $northstack$
DECLARE
  edited text;
  missing text;
BEGIN
  SELECT string_agg(format('%s (applied with sha256 %s, the file now has %s)', h.name, h.checksum, f.checksum), ', ' ORDER BY h.name)
  INTO edited
  FROM ${HISTORY_TABLE} h
  JOIN unnest(${textArray(project.map((p) => p.name))}, ${textArray(project.map((p) => p.checksum))}) AS f(name, checksum)
    ON f.name = h.name
  WHERE f.checksum <> h.checksum;
  SELECT string_agg(h.name, ', ' ORDER BY h.name) INTO missing
  FROM ${HISTORY_TABLE} h
  WHERE NOT h.name = ANY (${textArray(project.map((p) => p.name))});
  IF edited IS NOT NULL OR missing IS NOT NULL THEN
    RAISE EXCEPTION 'nothing was applied: %', concat_ws('; ',
      'applied migration files were edited: ' || edited,
      'applied migration files are missing from the migrations folder: ' || missing)
      USING HINT = 'an applied migration stays in the folder as it was applied: restore it, and put the change in a new migration file';
  END IF;
END
$northstack$;
${steps.join("\n")}
COMMIT;
`;
}

function checkDir(dir: string): void {
  if (!/^\/[\w./-]*$/.test(dir))
    throw new Error(`migrations directory ${JSON.stringify(dir)} must be an absolute path of [A-Za-z0-9_./-]`);
}

/**
 * The migration job's POSIX shell script: waits (bounded) for the server, applies `files` (delivered
 * under `dir`) in one transaction (migrationDriverPsql), then sets the role passwords. Connection
 * settings come from libpq's PG* environment variables.
 */
export function migrationJobScript(files: readonly MigrationFile[], dir: string = MIGRATIONS_DIR): string {
  return `set -eu
tries=0
until pg_isready -q; do
  tries=$((tries + 1))
  if [ "$tries" -ge 90 ]; then echo "postgres at $PGHOST:$PGPORT is not ready after 180s" >&2; exit 1; fi
  sleep 2
done
psql -X -q -v ON_ERROR_STOP=1 <<'PSQL'
${migrationDriverPsql(files, dir)}PSQL
echo "setting service role passwords"
psql -X -q -v ON_ERROR_STOP=1 <<'PSQL'
${rolePasswordScript()}PSQL
echo "migrations applied"
`;
}
