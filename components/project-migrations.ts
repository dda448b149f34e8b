/**
 * A team's own migrations: every `*.sql` file of one folder (the Supabase CLI layout,
 * `supabase/migrations/<version>_<name>.sql`), read at config time and checked before any resource
 * exists. The migration job applies each file once, in name order, inside the one transaction that
 * also holds the built-in migrations and the RLS guard (components/migrations.ts), so a file must be
 * plain SQL that can run in a transaction block: PostgreSQL's own parser must accept it, and it may
 * hold no psql meta-commands (the policy pack's analysis could not follow them) and no statement that
 * ends the transaction or refuses to run inside one.
 */
import { createHash } from "crypto";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { statementLine } from "./sql-lines";

export interface ProjectMigration {
  /** The file's name in the folder, and its row in the history table. */
  readonly name: string;
  readonly sql: string;
}

/**
 * `<version>_<name>.sql`: the version (digits, a timestamp in the Supabase CLI) makes the order
 * explicit, and the characters are ones every delivery (ConfigMap key, file name, SQL literal) keeps
 * as they are.
 */
export const PROJECT_MIGRATION_NAME = /^[0-9]+_[A-Za-z0-9_-]+\.sql$/;
/** Longest allowed file name: a ConfigMap key is at most 253 characters, and the job prefixes it. */
export const PROJECT_MIGRATION_NAME_MAX = 200;

/** The checksum the history table records: sha256 of the file's UTF-8 bytes, hex. */
export const sha256 = (text: string): string => createHash("sha256").update(text, "utf8").digest("hex");

/** A statement that ends the job's one transaction, or that PostgreSQL refuses inside a transaction block. */
function outsideTransactionOnly(node: Record<string, Record<string, unknown>>): string | undefined {
  const [kind, body] = Object.entries(node)[0] ?? [];
  switch (kind) {
    case "TransactionStmt": {
      const k = String(body.kind);
      // Savepoints stay inside the transaction; everything else begins, ends or prepares one.
      if (["TRANS_STMT_SAVEPOINT", "TRANS_STMT_RELEASE", "TRANS_STMT_ROLLBACK_TO"].includes(k)) return undefined;
      return k.replace("TRANS_STMT_", "").replace(/_/g, " ");
    }
    case "VacuumStmt":
      return body.is_vacuumcmd === false ? undefined : "VACUUM";
    case "IndexStmt":
      return body.concurrent ? "CREATE INDEX CONCURRENTLY" : undefined;
    case "DropStmt":
      return body.concurrent ? "DROP INDEX CONCURRENTLY" : undefined;
    case "ReindexStmt":
      return JSON.stringify(body.params ?? []).includes('"concurrently"') ? "REINDEX CONCURRENTLY" : undefined;
    case "CreatedbStmt":
      return "CREATE DATABASE";
    case "DropdbStmt":
      return "DROP DATABASE";
    case "AlterSystemStmt":
      return "ALTER SYSTEM";
    case "CreateTableSpaceStmt":
      return "CREATE TABLESPACE";
    case "DropTableSpaceStmt":
      return "DROP TABLESPACE";
    default:
      return undefined;
  }
}

/** What the parser says of one file: meta-command offsets (JS string indices), then a parse error or the statements. */
export interface ParseOutcome {
  readonly meta: number[];
  readonly error?: { message: string; cursor: number };
  /** [statement node, byte offset of its start] */
  readonly stmts?: [Record<string, Record<string, unknown>>, number][];
}

// libpg-query is WASM and only loads asynchronously, while the stack config is read synchronously
// before any resource exists. A short child process runs the same parser the policy pack uses and
// answers synchronously; results are kept per file content, so a program pays for it once.
const PARSE_CHILD = `
const pg = require(process.argv[1]);
const files = JSON.parse(require("fs").readFileSync(0, "utf8"));
pg.loadModule().then(() => {
  const out = files.map((sql) => {
    const meta = [];
    for (;;) {
      if (sql.trim() === "") return { meta, stmts: [] };
      try {
        const tree = pg.parseSync(sql);
        return { meta, stmts: (tree.stmts || []).map((s) => [s.stmt, s.stmt_location || 0]) };
      } catch (e) {
        const cursor = e.sqlDetails && typeof e.sqlDetails.cursorPosition === "number" ? e.sqlDetails.cursorPosition : -1;
        if (cursor >= 0 && sql[cursor] === "\\\\") {
          // psql reads a backslash command up to the end of its line: blank it and parse on.
          meta.push(cursor);
          let end = sql.indexOf("\\n", cursor);
          if (end < 0) end = sql.length;
          sql = sql.slice(0, cursor) + " ".repeat(end - cursor) + sql.slice(end);
          continue;
        }
        return { meta, error: { message: e.message, cursor } };
      }
    }
  });
  process.stdout.write(JSON.stringify(out));
});
`;

const parsed = new Map<string, ParseOutcome>();

function parseAll(sqls: readonly string[]): ParseOutcome[] {
  const missing = [...new Set(sqls.map(sha256))].filter((h) => !parsed.has(h));
  if (missing.length > 0) {
    const bySum = new Map(sqls.map((s) => [sha256(s), s]));
    const input = missing.map((h) => bySum.get(h) as string);
    const out = execFileSync(process.execPath, ["-e", PARSE_CHILD, require.resolve("libpg-query")], {
      input: JSON.stringify(input),
      encoding: "utf8",
      maxBuffer: 512 * 1024 * 1024,
    });
    (JSON.parse(out) as ParseOutcome[]).forEach((o, i) => parsed.set(missing[i], o));
  }
  return sqls.map((s) => parsed.get(sha256(s)) as ParseOutcome);
}

/**
 * The statements of `sql` from the same cached parse as the checks here, for checks elsewhere that run
 * at config time (the extension check, components/extensions.ts); throws the parser's message when it
 * does not parse.
 */
export function parsedStatements(sql: string): { stmt: unknown; stmt_location: number }[] {
  const [outcome] = parseAll([sql]);
  if (outcome.error) throw new Error(outcome.error.message);
  return (outcome.stmts ?? []).map(([stmt, stmt_location]) => ({ stmt, stmt_location }));
}

/** The line of a JS string index (meta-commands and parse errors are reported as string indices). */
const lineAtIndex = (text: string, index: number): number => text.slice(0, index).split("\n").length;

/**
 * The problems of one file's SQL, each as `<file>:<line> <problem>; <fix>`, in line order. `shown` is
 * the file as messages name it.
 */
export function sqlProblems(shown: string, sql: string, outcome: ParseOutcome = parseAll([sql])[0]): string[] {
  const problems: string[] = outcome.meta.map(
    (i) =>
      `${shown}:${lineAtIndex(sql, i)} holds the psql meta-command ${/^\\\S*/.exec(sql.slice(i))?.[0] ?? "\\"}; migrations are plain SQL (the job and the policy pack cannot follow \\connect, \\i, \\set ...): write it as SQL, or drop it`,
  );
  if (outcome.error) {
    const at = outcome.error.cursor >= 0 ? `:${lineAtIndex(sql, outcome.error.cursor)}` : "";
    problems.push(
      `${shown}${at} is not valid SQL: ${outcome.error.message}; fix the statement so that PostgreSQL's parser accepts it`,
    );
  }
  for (const [node, byte] of outcome.stmts ?? []) {
    const what = outsideTransactionOnly(node);
    if (what)
      problems.push(
        `${shown}:${statementLine(sql, byte)} runs ${what}, which cannot run inside the one transaction that applies every pending migration and the RLS guard; remove it (the job manages the transaction)`,
      );
  }
  return problems;
}

/** Why `name` is refused as a migration file name, or undefined when it is allowed. */
export function migrationNameProblem(name: string): string | undefined {
  if (PROJECT_MIGRATION_NAME.test(name) && name.length <= PROJECT_MIGRATION_NAME_MAX) return undefined;
  return `is not an allowed migration file name; use <version>_<name>.sql: a version of digits (a timestamp such as 20240101120000_create_todos.sql), then letters, digits, _ or -, lower-case .sql, at most ${PROJECT_MIGRATION_NAME_MAX} characters`;
}

/**
 * Reads every `*.sql` file of `dir` (files with another extension, such as a README, are left alone),
 * in name order, and checks each one. `shownDir` is the folder as messages name it (the config value).
 * Returns the files, or the problems, each `<shownDir>/<file>[:<line>] <problem>; <fix>`.
 */
export function readProjectMigrations(
  dir: string,
  shownDir: string,
): { files: ProjectMigration[]; problems: string[] } {
  const stat = fs.statSync(dir, { throwIfNoEntry: false });
  if (!stat) return { files: [], problems: [`${shownDir} does not exist (looked for ${dir})`] };
  if (!stat.isDirectory()) return { files: [], problems: [`${shownDir} is not a folder (${dir})`] };

  const problems: string[] = [];
  const candidates: { name: string; sql: string }[] = [];
  const names = fs
    .readdirSync(dir)
    .filter((n) => n.toLowerCase().endsWith(".sql"))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) {
    const shown = `${shownDir.replace(/\/+$/, "")}/${name}`;
    const nameProblem = migrationNameProblem(name);
    if (nameProblem) {
      problems.push(`${JSON.stringify(name)} in ${shownDir} ${nameProblem}`);
      continue;
    }
    const full = path.join(dir, name);
    if (!fs.statSync(full).isFile()) {
      problems.push(`${shown} is not a file; keep migrations as plain files in the folder`);
      continue;
    }
    const bytes = fs.readFileSync(full);
    const sql = bytes.toString("utf8");
    if (!Buffer.from(sql, "utf8").equals(bytes) || sql.includes("\0")) {
      problems.push(`${shown} is not UTF-8 text; save it as UTF-8`);
      continue;
    }
    candidates.push({ name, sql });
  }
  const outcomes = parseAll(candidates.map((c) => c.sql));
  const files: ProjectMigration[] = [];
  candidates.forEach((c, i) => {
    const found = sqlProblems(`${shownDir.replace(/\/+$/, "")}/${c.name}`, c.sql, outcomes[i]);
    problems.push(...found);
    files.push({ name: c.name, sql: c.sql });
  });
  return problems.length ? { files: [], problems } : { files, problems };
}
