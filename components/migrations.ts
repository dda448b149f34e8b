/**
 * The SQL migrations the migration job applies on every deploy, and the job's shell script. Pure:
 * tests apply exactly this SQL to a real PostgreSQL 15, and the policy pack parses the same files
 * with the real Postgres parser. Every built-in statement is idempotent (IF NOT EXISTS, role checks
 * in DO blocks, CREATE OR REPLACE, DROP ... IF EXISTS before CREATE POLICY) because the job runs
 * them on every deploy; the project's own files (components/project-migrations.ts) are applied once
 * each and recorded in a history table. The files hold no psql meta-commands and no credentials:
 * role passwords are set by the job script from secret environment variables (`rolePasswordScript`).
 */

import {
  BACKUP_POLICY,
  BACKUP_ROLE,
  DB_ROLES,
  DbRole,
  RECORDER_ROLE,
  TABLE_OWNER_ROLE,
  dbPasswordEnv,
} from "./db-roles";
import { ProjectMigration, migrationNameProblem, sha256 } from "./project-migrations";
import {
  FROM_EXTENSION,
  SERVICE_ROLE_POLICY,
  exposedSchemasSql,
  literal,
  rlsGuardSql,
  schemaArray,
  validateExposedSchemas,
} from "./rls-guard";

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

/** The Postgres roles the API and the Supabase services switch to, per request. */
export const API_ROLES = ["anon", "authenticated", "service_role"] as const;

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

const sqlList = (values: readonly string[]): string => `ARRAY[${values.map(literal).join(", ")}]::text[]`;

/**
 * The roles of DB_ROLES, created when missing and brought back to the table on every deploy:
 * LOGIN only for clients, INHERIT as declared, no CREATEROLE or CREATEDB, exactly the memberships
 * listed, and the session settings.
 *
 * PostgreSQL 15 lets only a superuser grant BYPASSRLS or REPLICATION, or mention them in ALTER
 * ROLE, even to turn them off. RDS (rds_superuser) and Cloud SQL (cloudsqlsuperuser) give the admin
 * CREATEROLE but not SUPERUSER, so those attributes are only touched when they differ and we may
 * change them: service_role and the backup role get RLS policies instead of BYPASSRLS (rlsGuardSql,
 * ownershipSql), and Realtime gets replication through rds_replication or Cloud SQL's REPLICATION.
 * A role that bypasses RLS and must not, where nobody here can fix it, fails the deploy.
 */
function rolesSql(roles: readonly DbRole[]): string {
  const rows = roles.map((r) => {
    const attrs = r.superuserAttributes ?? [];
    return `(${literal(r.name)}, ${r.client !== undefined}, ${r.inherit}, ${sqlList(r.memberOf ?? [])}, ${attrs.includes("BYPASSRLS")}, ${attrs.includes("REPLICATION")})`;
  });
  // The purpose goes on the role too, so that \du+ tells an operator what each one is for.
  const settings = roles.flatMap((r) => [
    ...Object.entries(r.settings ?? {}).map(([k, v]) => `ALTER ROLE ${r.name} SET ${k} = ${literal(v)};`),
    `COMMENT ON ROLE ${r.name} IS ${literal(r.purpose)};`,
  ]);
  return `-- Roles, from components/db-roles.ts. Created when missing; attributes and memberships re-asserted.
DO $$
DECLARE
  is_superuser boolean := (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user);
  on_rds boolean := EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'rds_replication');
  on_cloudsql boolean := EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'cloudsqlsuperuser')
    AND pg_catalog.pg_has_role(current_user, 'cloudsqlsuperuser', 'MEMBER');
  r record;
  existing record;
  allowed text[];
  stale text;
BEGIN
  FOR r IN
    SELECT * FROM (VALUES
      ${rows.join(",\n      ")}
    ) AS t(name, login, inherit, member_of, bypassrls, replication)
  LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
      EXECUTE format('CREATE ROLE %I', r.name);
    END IF;
    EXECUTE format('ALTER ROLE %I NOCREATEROLE NOCREATEDB', r.name);
    IF r.login THEN
      EXECUTE format('ALTER ROLE %I LOGIN', r.name);
    ELSE
      EXECUTE format('ALTER ROLE %I NOLOGIN', r.name);
    END IF;
    IF r.inherit THEN
      EXECUTE format('ALTER ROLE %I INHERIT', r.name);
    ELSE
      EXECUTE format('ALTER ROLE %I NOINHERIT', r.name);
    END IF;
    SELECT * INTO existing FROM pg_catalog.pg_roles WHERE rolname = r.name;

    IF r.bypassrls AND NOT existing.rolbypassrls AND is_superuser THEN
      EXECUTE format('ALTER ROLE %I BYPASSRLS', r.name);
    ELSIF existing.rolbypassrls AND NOT r.bypassrls THEN
      IF NOT is_superuser THEN
        RAISE EXCEPTION 'role % bypasses row-level security and % may not change that', r.name, current_user
          USING HINT = format('as a superuser: ALTER ROLE %I NOBYPASSRLS', r.name);
      END IF;
      EXECUTE format('ALTER ROLE %I NOBYPASSRLS', r.name);
    END IF;

    allowed := r.member_of;
    IF r.replication THEN
      IF is_superuser OR on_cloudsql THEN
        IF NOT existing.rolreplication THEN EXECUTE format('ALTER ROLE %I WITH REPLICATION', r.name); END IF;
      ELSIF on_rds THEN
        allowed := allowed || 'rds_replication'::text;
      ELSE
        RAISE WARNING 'role % needs REPLICATION for its replication slot and % cannot grant it', r.name, current_user;
      END IF;
    ELSIF existing.rolreplication THEN
      IF NOT (is_superuser OR on_cloudsql) THEN
        RAISE EXCEPTION 'role % may stream every row (REPLICATION) and % may not change that', r.name, current_user
          USING HINT = format('as a superuser: ALTER ROLE %I NOREPLICATION', r.name);
      END IF;
      EXECUTE format('ALTER ROLE %I NOREPLICATION', r.name);
    END IF;

    FOR stale IN
      SELECT g.rolname FROM pg_catalog.pg_auth_members m
      JOIN pg_catalog.pg_roles g ON g.oid = m.roleid
      WHERE m.member = existing.oid AND NOT g.rolname = ANY (allowed)
    LOOP
      EXECUTE format('REVOKE %I FROM %I', stale, r.name);
    END LOOP;
    FOR stale IN SELECT unnest(allowed) LOOP
      IF NOT pg_catalog.pg_has_role(r.name, stale, 'MEMBER') THEN
        EXECUTE format('GRANT %I TO %I', stale, r.name);
      END IF;
    END LOOP;
  END LOOP;

  -- The migrating user acts as the owners to replace what they own (superusers can already; the
  -- RDS / Cloud SQL admin cannot without membership), and as service_role so that, like a
  -- superuser, its data migrations see every row of a FORCE ROW LEVEL SECURITY table.
  EXECUTE format('GRANT supabase_auth_admin, supabase_storage_admin, supabase_realtime_admin, ${TABLE_OWNER_ROLE}, service_role TO %I', current_user);
END
$$;

${settings.join("\n")}
`;
}

const ROLES_SQL = rolesSql(DB_ROLES);

/**
 * The backup record the backup-age alerts read (components/backup-alerts.ts, through the Postgres
 * exporter's pg_monitor role). The dump jobs insert one row per kept dump as the backup role, which
 * also forgets rows past 400 days and may write nothing else; the jobs that only report runs (volume
 * copies, off-host uploads, restore drills) insert as the recorder role, which may not even read the
 * table: INSERT without RETURNING needs no SELECT, and the table has no sequence. The table is never
 * in an exposed schema.
 */
const OPS_SQL = `-- Backup runs, recorded by the backup jobs and read by the exporter.
CREATE SCHEMA IF NOT EXISTS northstack_ops;
REVOKE ALL ON SCHEMA northstack_ops FROM PUBLIC;
CREATE TABLE IF NOT EXISTS northstack_ops.backup_runs (
  kind text NOT NULL,
  finished_at timestamptz NOT NULL DEFAULT now(),
  duration_seconds integer NOT NULL,
  size_bytes bigint NOT NULL,
  object text NOT NULL
);
-- Restore drills record failures too; everything else records only what it kept.
ALTER TABLE northstack_ops.backup_runs ADD COLUMN IF NOT EXISTS succeeded boolean NOT NULL DEFAULT true;
REVOKE ALL ON northstack_ops.backup_runs FROM PUBLIC;
GRANT USAGE ON SCHEMA northstack_ops TO pg_monitor, ${BACKUP_ROLE}, ${RECORDER_ROLE};
GRANT SELECT ON northstack_ops.backup_runs TO pg_monitor;
GRANT SELECT, INSERT, DELETE ON northstack_ops.backup_runs TO ${BACKUP_ROLE};
GRANT INSERT ON northstack_ops.backup_runs TO ${RECORDER_ROLE};
`;

/** The backup record, on its own for tests that run the backup jobs without the other migrations. */
export const OPS_MIGRATION: MigrationFile = { name: "005_ops.sql", sql: OPS_SQL };

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

/**
 * Runs after every project migration and before the guard: what the migrating user created in the
 * exposed schemas passes to the NOLOGIN owner role, so no client's login owns a table, and every
 * table there gets FORCE ROW LEVEL SECURITY, so that the owner's own queries (a SECURITY DEFINER
 * function or a view it owns) answer to the policies too. Realtime gets its schemas, and Storage
 * and Realtime the auth helpers their policies call.
 *
 * Where the backup role cannot bypass RLS (the admin is no superuser), each RLS table that already
 * has a policy of its own gets a read-all policy for the backup role alone, which dumps with row
 * security on. Tables without one are left for the guard to refuse, so this policy never makes an
 * unprotected table look protected.
 */
function ownershipSql(schemas: readonly string[]): string {
  const grants = schemas.map((s) => `GRANT USAGE, CREATE ON SCHEMA ${s} TO ${TABLE_OWNER_ROLE};`).join("\n");
  return `-- Objects in the exposed schemas belong to ${TABLE_OWNER_ROLE}; their tables FORCE ROW LEVEL SECURITY.
${grants}
ALTER SCHEMA realtime OWNER TO supabase_realtime_admin;
ALTER SCHEMA _realtime OWNER TO supabase_realtime_admin;
-- Storage's and Realtime's own policies call the auth helpers; their NOINHERIT roles need the grants themselves.
GRANT USAGE ON SCHEMA auth TO supabase_storage_admin, supabase_realtime_admin;
GRANT EXECUTE ON FUNCTION auth.uid(), auth.role(), auth.jwt() TO supabase_storage_admin, supabase_realtime_admin;

DO $$
DECLARE
  o record;
BEGIN
  FOR o IN
    SELECT n.nspname, c.relname, c.relkind
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND n.nspname = ANY (${schemaArray(schemas)})
      AND c.relowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
      AND NOT ${FROM_EXTENSION}
      -- A serial or identity sequence follows its table.
      AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend d
        WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')
      )
  LOOP
    CASE o.relkind
      WHEN 'v' THEN EXECUTE format('ALTER VIEW %I.%I OWNER TO ${TABLE_OWNER_ROLE}', o.nspname, o.relname);
      WHEN 'm' THEN EXECUTE format('ALTER MATERIALIZED VIEW %I.%I OWNER TO ${TABLE_OWNER_ROLE}', o.nspname, o.relname);
      WHEN 'S' THEN EXECUTE format('ALTER SEQUENCE %I.%I OWNER TO ${TABLE_OWNER_ROLE}', o.nspname, o.relname);
      WHEN 'f' THEN EXECUTE format('ALTER FOREIGN TABLE %I.%I OWNER TO ${TABLE_OWNER_ROLE}', o.nspname, o.relname);
      ELSE EXECUTE format('ALTER TABLE %I.%I OWNER TO ${TABLE_OWNER_ROLE}', o.nspname, o.relname);
    END CASE;
  END LOOP;

  FOR o IN
    SELECT n.nspname, p.proname,
      (SELECT count(*) FROM pg_catalog.pg_proc q WHERE q.pronamespace = p.pronamespace AND q.proname = p.proname) AS overloads
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname = ANY (${schemaArray(schemas)})
      AND p.proowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user)
      AND NOT EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend d
        WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      )
  LOOP
    -- By name, since a signature would have to be spliced into the statement unquoted.
    IF o.overloads > 1 THEN
      RAISE EXCEPTION 'function %.% is overloaded, so it cannot be handed to ${TABLE_OWNER_ROLE} by name', o.nspname, o.proname
        USING HINT = 'ALTER FUNCTION <name>(<argument types>) OWNER TO ${TABLE_OWNER_ROLE} in the migration that creates it';
    END IF;
    EXECUTE format('ALTER ROUTINE %I.%I OWNER TO ${TABLE_OWNER_ROLE}', o.nspname, o.proname);
  END LOOP;

  FOR o IN
    SELECT n.nspname, c.relname
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p')
      AND n.nspname = ANY (${schemaArray(schemas)})
      AND c.relowner = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ${literal(TABLE_OWNER_ROLE)})
      AND NOT c.relforcerowsecurity
  LOOP
    EXECUTE format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', o.nspname, o.relname);
  END LOOP;

  IF NOT (SELECT rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = ${literal(BACKUP_ROLE)}) THEN
    FOR o IN
      SELECT n.nspname, c.relname
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity
        AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE')
        AND EXISTS (
          SELECT 1 FROM pg_catalog.pg_policy p
          WHERE p.polrelid = c.oid AND p.polname NOT IN (${literal(SERVICE_ROLE_POLICY)}, ${literal(BACKUP_POLICY)})
        )
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid AND p.polname = ${literal(BACKUP_POLICY)})
    LOOP
      EXECUTE format('CREATE POLICY %I ON %I.%I FOR SELECT TO ${BACKUP_ROLE} USING (true)', ${literal(BACKUP_POLICY)}, o.nspname, o.relname);
    END LOOP;
  END IF;
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
    OPS_MIGRATION,
    { name: "004_exposed_schemas.sql", sql: exposedSchemasSql(schemas) },
    ...(args.exampleNotes === false ? [] : [{ name: "010_notes.sql", sql: NOTES_SQL }]),
    ...project.map((f) => ({
      name: `${PROJECT_FILE_PREFIX}${f.name}`,
      sql: f.sql,
      history: { name: f.name, checksum: sha256(f.sql) },
    })),
    { name: "999_owner.sql", sql: ownershipSql(schemas) },
    { name: "999_rls_guard.sql", sql: rlsGuardSql(schemas) },
  ];
  // The job applies them in this order and the policy pack reads them in name order: one order.
  return files.sort(byName);
}

/**
 * psql input (not a migration file) that sets each client role's password from its own secret
 * environment variable (`dbPasswordEnv`) with psql's \getenv, so no password appears in a file, an
 * argument or the logs. An unset variable leaves `:'...'` unexpanded and the statement fails. Run on
 * every deploy, so a rotated secret replaces the old password at once.
 */
export function rolePasswordScript(): string {
  return [
    ...DB_ROLES.flatMap((role) =>
      role.client === undefined
        ? []
        : [
            `\\getenv password_${role.client} ${dbPasswordEnv(role.client)}`,
            `ALTER ROLE ${role.name} WITH LOGIN PASSWORD :'password_${role.client}';`,
          ],
    ),
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
