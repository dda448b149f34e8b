/**
 * Follows one migration set through the real PostgreSQL parser, the way the migration job applies it
 * (components/migrations.ts: `psql --single-transaction -f` per file, so each file is a new session
 * inside one transaction), and reports what the database guard (components/rls-guard.ts) would refuse
 * once the set has run (tables without row-level security or a policy, policies that open every row,
 * views, materialized views, foreign tables, extensions and functions that reach rows past RLS; see
 * verdict.ts), every file that does not parse, and everything it cannot verify.
 *
 * Names resolve like PostgreSQL resolves them: quoted identifiers keep their case; unqualified names go
 * through the search_path in effect (SET [LOCAL], set_config, reset per session, SET LOCAL ending with
 * its transaction) to the first schema on it that exists (created by the migrations or built in; a
 * schema the migrations never create may or may not exist, and a table is then taken to land in the
 * exposed candidate). PL/pgSQL bodies of DO blocks are parsed and their static SQL followed; EXECUTE of
 * a constant string is parsed and followed; EXECUTE of format()/quote_ident()/|| over a constant
 * template is followed with its run-time identifiers as unknowns; anything else that could create,
 * alter or drop tables or change row-level security at run time (other dynamic SQL, DDL inside
 * functions, DO blocks in other languages) is reported as "cannot verify". Conditional PL/pgSQL
 * branches are followed as if taken, so idempotent guards (IF NOT EXISTS ... THEN CREATE ...) count.
 */
import type { MigrationFile } from "../../components/migrations";
import { Finding } from "../lib/framework";
import { loadParser } from "./parse";
import { verdict } from "./verdict";
import { MigrationWalk } from "./walk";

/**
 * Problems with one migration set, in file order. Call `loadParser()` first (analyzeMigrations does).
 * A file that does not parse is reported with the parser's message and location; later files are
 * still followed.
 */
export function analyzeMigrationsSync(files: readonly MigrationFile[], exposedSchemas: readonly string[]): Finding[] {
  const walk = new MigrationWalk(new Set(exposedSchemas));
  for (const file of files) {
    walk.session.startFile();
    walk.applySql(file.sql, { file: file.name, line: 1 }, {});
  }
  return verdict(walk.catalog, walk.routines, walk.problems);
}

export async function analyzeMigrations(
  files: readonly MigrationFile[],
  exposedSchemas: readonly string[],
): Promise<Finding[]> {
  await loadParser();
  return analyzeMigrationsSync(files, exposedSchemas);
}
