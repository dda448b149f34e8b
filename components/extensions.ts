/**
 * Which PostgreSQL extensions each Postgres runtime can provide, and the plan-time check that refuses
 * a migration asking for one its stack's runtime cannot. One table, read by the server settings
 * (postgres-conf.ts, aws/postgres.ts, gcp/postgres.ts) and by the check, so that what is promised and
 * what is configured cannot drift apart.
 *
 * Sources, for PostgreSQL 15:
 * - local: what the images/postgres image installs: PostgreSQL's contrib modules (shipped in the
 *   official image's postgresql-15 package) plus postgresql-15-pgvector and postgresql-15-cron from
 *   apt.postgresql.org. test/integration/extensions.test.ts checks every name but `vector` against a
 *   real PostgreSQL 15 built from the same contrib sources.
 * - aws: "Extension versions for Amazon RDS for PostgreSQL" (RDS release notes, section "RDS for
 *   PostgreSQL 15 supported extensions") and "Scheduling maintenance with the PostgreSQL pg_cron
 *   extension" (RDS user guide: pg_cron needs shared_preload_libraries in a custom parameter group).
 * - gcp: "Configure PostgreSQL extensions" (Cloud SQL docs, "PostgreSQL extensions supported by Cloud
 *   SQL"; pg_cron needs the cloudsql.enable_pg_cron flag) and "Configure database flags".
 *
 * The lists are deliberately shorter than the providers': common extensions that need no settings
 * beyond the ones northstack applies. The local list is proved on a real PostgreSQL 15; the managed
 * lists follow the pages above and cannot be proved without an account, so adding a name is a
 * reviewed change here, checked against its page.
 */
import type { Cloud } from "./config/schema";
import type { MigrationFile } from "./migrations";
import { statementLine } from "./sql-lines";
import * as pg from "libpg-query";

/** Available on every runtime: contrib modules all three ship, pgvector and pg_cron. */
const EVERYWHERE = [
  "amcheck",
  "btree_gin",
  "btree_gist",
  "citext",
  "cube",
  "dblink",
  "dict_int",
  "dict_xsyn",
  "earthdistance",
  "fuzzystrmatch",
  "hstore",
  "intarray",
  "isn",
  "lo",
  "ltree",
  "pg_buffercache",
  "pg_cron",
  "pg_prewarm",
  "pg_stat_statements",
  "pg_trgm",
  "pg_visibility",
  "pgcrypto",
  "pgrowlocks",
  "pgstattuple",
  "plpgsql",
  "postgres_fdw",
  "seg",
  "tablefunc",
  "tsm_system_rows",
  "tsm_system_time",
  "unaccent",
  "uuid-ossp",
  "vector",
] as const;

/** On RDS and Cloud SQL, but not in images/postgres (no PostGIS, pg_partman or pg_repack there). */
const MANAGED_ONLY = ["pg_partman", "pg_repack", "postgis", "postgis_topology"] as const;

/**
 * Further contrib modules in images/postgres. The providers offer several of these too, but they stay
 * off the managed runtimes until checked against the pages above. Contrib modules that read server
 * files or repair pages (adminpack, file_fdw, pg_surgery, ...) are left out everywhere.
 */
const LOCAL_CONTRIB = [
  "autoinc",
  "bloom",
  "insert_username",
  "intagg",
  "moddatetime",
  "pageinspect",
  "pg_freespacemap",
  "refint",
  "sslinfo",
  "tcn",
] as const;

/** Extension names per runtime, sorted. */
export const AVAILABLE_EXTENSIONS: Readonly<Record<Cloud, readonly string[]>> = {
  local: [...EVERYWHERE, ...LOCAL_CONTRIB].sort(),
  aws: [...EVERYWHERE, ...MANAGED_ONLY].sort(),
  gcp: [...EVERYWHERE, ...MANAGED_ONLY].sort(),
};

/** How messages name each runtime. */
export const EXTENSION_RUNTIME_NAMES: Readonly<Record<Cloud, string>> = {
  local: "local (the images/postgres container)",
  aws: "aws (RDS for PostgreSQL 15)",
  gcp: "gcp (Cloud SQL for PostgreSQL 15)",
};

/**
 * Libraries the server must load at start for their extensions to work: pg_stat_statements collects
 * from shared memory, pg_cron runs a background worker. Every runtime sets these (postgresql.conf,
 * the RDS parameter group; Cloud SQL preloads pg_stat_statements itself and loads pg_cron through
 * cloudsql.enable_pg_cron).
 */
export const PRELOAD_LIBRARIES = ["pg_stat_statements", "pg_cron"] as const;

/**
 * The database pg_cron keeps its jobs in (`cron.database_name`), where `CREATE EXTENSION pg_cron`
 * must run. It is the database the migrations are applied to on every runtime (the endpoint's).
 */
export const CRON_DATABASE = "postgres";

/** One parsed statement: its node and the byte offset where it starts, as libpg-query reports them. */
export interface ParsedStatement {
  readonly stmt?: unknown;
  readonly stmt_location?: number;
}

/** The statements of `sql`; throws on a syntax error. libpg-query's, once `loadParser()` has resolved. */
export type ParseSql = (sql: string) => readonly ParsedStatement[];

const parseWithLibpgQuery: ParseSql = (sql) => pg.parseSync(sql).stmts ?? [];

/**
 * Every `CREATE EXTENSION` in `files` that `cloud`'s runtime cannot provide, one message each, in
 * file order: `<file>:<line>: extension "x" is not available on <runtime>; available: a, b, c`. A
 * file that does not parse is reported too, since its extensions cannot be checked. Reads top-level
 * statements, which is where migrations create extensions; one created from inside a DO block or an
 * EXECUTE string is not seen here (the database refuses it at deploy instead).
 *
 * The stack config runs it on the project's migrations (config/sections/supabase.ts), with the parse
 * that already checked them (project-migrations.ts). `parse` defaults to libpg-query in this process,
 * which needs `loadParser()` (policy/rls/parse.ts) to have resolved.
 */
export function extensionProblems(
  files: readonly MigrationFile[],
  cloud: Cloud,
  parse: ParseSql = parseWithLibpgQuery,
): string[] {
  const available = new Set(AVAILABLE_EXTENSIONS[cloud]);
  const problems: string[] = [];
  for (const file of files) {
    let statements;
    try {
      statements = parse(file.sql);
    } catch (e) {
      problems.push(
        `${file.name}: does not parse (${(e as Error).message}), so the extensions it creates cannot be checked; fix the SQL so that PostgreSQL's parser accepts it`,
      );
      continue;
    }
    for (const s of statements) {
      const name = (s.stmt as { CreateExtensionStmt?: { extname?: string } } | undefined)?.CreateExtensionStmt?.extname;
      if (name === undefined || available.has(name)) continue;
      const line = statementLine(file.sql, s.stmt_location ?? 0);
      problems.push(
        `${file.name}:${line}: extension ${JSON.stringify(name)} is not available on ${EXTENSION_RUNTIME_NAMES[cloud]}; available: ${AVAILABLE_EXTENSIONS[cloud].join(", ")}`,
      );
    }
  }
  return problems;
}
