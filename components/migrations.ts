/**
 * The SQL migrations the migration job applies on every deploy, and the job's shell script. Pure:
 * tests apply exactly this SQL to a real PostgreSQL 15, and the policy pack parses the same files
 * with the real Postgres parser. Every statement is idempotent (IF NOT EXISTS, role checks in DO
 * blocks, CREATE OR REPLACE, DROP ... IF EXISTS before CREATE POLICY) because the job runs on
 * every deploy. The files hold no psql meta-commands and no credentials: role passwords are set by
 * the job script from secret environment variables (`rolePasswordScript`).
 */

import { exposedSchemasSql, rlsGuardSql, validateExposedSchemas } from "./rls-guard";

export { SERVICE_ROLE_POLICY, unprotectedTablesSql, validateExposedSchemas } from "./rls-guard";

export interface MigrationFile {
  /** `NNN_name.sql`; files are applied in lexical order. */
  readonly name: string;
  readonly sql: string;
}

export interface MigrationArgs {
  /** Schemas the REST API exposes; each gets grants and the RLS guard. Default: ["public"]. */
  readonly exposedSchemas?: readonly string[];
  /** Project migrations applied after ours and before the RLS guard, named `NNN_name.sql` with NNN 100..998. Default: none. */
  readonly extra?: readonly MigrationFile[];
}

/** Directory the migration files are delivered to inside the job container. */
export const MIGRATIONS_DIR = "/migrations";

/** Environment variable holding the password of the service login roles (the admin password, per contract). */
export const ROLE_PASSWORD_ENV = "NORTHSTACK_ROLE_PASSWORD";

/** The Postgres roles the API and the Supabase services switch to, per request. */
export const API_ROLES = ["anon", "authenticated", "service_role"] as const;

/** Roles that log in: PostgREST and the API as authenticator, GoTrue and Storage as their admins. */
export const SERVICE_LOGIN_ROLES = ["authenticator", "supabase_auth_admin", "supabase_storage_admin"] as const;

const EXTRA_NAME = /^(\d{3})_[a-z0-9_]+\.sql$/;

function validateExtra(extra: readonly MigrationFile[]): void {
  const names = new Set<string>();
  for (const file of extra) {
    const m = EXTRA_NAME.exec(file.name);
    const order = m ? Number(m[1]) : NaN;
    if (!m || order < 100 || order > 998) {
      throw new Error(
        `extraMigrations name ${JSON.stringify(file.name)} is not allowed; use NNN_name.sql with NNN from 100 to 998 (lower-case name)`,
      );
    }
    if (names.has(file.name)) throw new Error(`extraMigrations name ${JSON.stringify(file.name)} is listed twice`);
    names.add(file.name);
  }
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

/** The migration files, in the order the job applies them. Throws on a bad schema or extra file name. */
export function renderMigrations(args: MigrationArgs = {}): MigrationFile[] {
  const schemas = args.exposedSchemas ?? ["public"];
  const extra = args.extra ?? [];
  validateExposedSchemas(schemas);
  validateExtra(extra);
  return [
    { name: "001_roles.sql", sql: ROLES_SQL },
    { name: "002_schemas.sql", sql: SCHEMAS_SQL },
    { name: "003_auth_helpers.sql", sql: AUTH_HELPERS_SQL },
    { name: "004_exposed_schemas.sql", sql: exposedSchemasSql(schemas) },
    { name: "010_notes.sql", sql: NOTES_SQL },
    ...[...extra].sort((a, b) => a.name.localeCompare(b.name)),
    { name: "999_rls_guard.sql", sql: rlsGuardSql(schemas) },
  ];
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

/**
 * The migration job's POSIX shell script: waits (bounded) for the server, applies every
 * `<dir>/*.sql` in order, each in one transaction with ON_ERROR_STOP, then sets the role
 * passwords. Connection settings come from libpq's PG* environment variables.
 */
export function migrationJobScript(dir: string = MIGRATIONS_DIR): string {
  if (!/^\/[\w./-]*$/.test(dir))
    throw new Error(`migrations directory ${JSON.stringify(dir)} must be an absolute path of [A-Za-z0-9_./-]`);
  return `set -eu
tries=0
until pg_isready -q; do
  tries=$((tries + 1))
  if [ "$tries" -ge 90 ]; then echo "postgres at $PGHOST:$PGPORT is not ready after 180s" >&2; exit 1; fi
  sleep 2
done
for file in ${dir}/*.sql; do
  echo "applying $file"
  psql -X -q -v ON_ERROR_STOP=1 --single-transaction -f "$file"
done
echo "setting service role passwords"
psql -X -q -v ON_ERROR_STOP=1 <<'PSQL'
${rolePasswordScript()}PSQL
echo "migrations applied"
`;
}
