/**
 * northstack:migrationsDir and northstack:exampleNotes as parseConfig reads them: the folder's *.sql
 * files in name order, and every bad input refused before any resource, all at once, each naming the
 * key, the file (and line) and the fix.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, parseConfig } from "../../components/config";
import { PROJECT_FILE_PREFIX, renderMigrations } from "../../components/migrations";
import { ns } from "../helpers/config";

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "northstack-project-"));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** Writes `files` under <root>/<dir> and parses a dev stack whose project root is <root>. */
function parse(files: Record<string, string> | undefined, raw: Record<string, string> = {}, dir = "db/migrations") {
  if (files) {
    fs.mkdirSync(path.join(root, dir), { recursive: true });
    for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(root, dir, name), sql);
  }
  return parseConfig(ns({ migrationsDir: dir, ...raw }), "dev", root);
}

function problems(files: Record<string, string> | undefined, raw: Record<string, string> = {}): string[] {
  try {
    parse(files, raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  return [];
}

test("every *.sql file of the folder is read, in name order; other files are left alone", () => {
  const cfg = parse({
    "20250102000000_b.sql": "SELECT 2;",
    "20250101000000_a.sql": "SELECT 1;",
    "README.md": "not a migration \\connect",
  });
  expect(cfg.migrations).toEqual({
    dir: "db/migrations",
    exampleNotes: true,
    files: [
      { name: "20250101000000_a.sql", sql: "SELECT 1;" },
      { name: "20250102000000_b.sql", sql: "SELECT 2;" },
    ],
  });
});

test("the default folder is supabase/migrations in this repository, which exists", () => {
  const cfg = parseConfig(ns({}), "dev");
  expect(cfg.migrations.dir).toBe("supabase/migrations");
  expect(cfg.migrations.exampleNotes).toBe(true);
});

test("a folder that does not exist is refused, naming where it was looked for", () => {
  expect(problems(undefined)).toEqual([
    `northstack:migrationsDir: db/migrations does not exist (looked for ${path.join(root, "db/migrations")})`,
  ]);
});

test("an absolute folder is refused: every machine and stack must read the same files", () => {
  expect(problems(undefined, { migrationsDir: "/srv/migrations" })).toEqual([
    'northstack:migrationsDir: "/srv/migrations" is not allowed; use a folder relative to the project root, such as supabase/migrations, so that every machine and every stack reads the same files',
  ]);
});

test("a file that is not valid SQL is refused with its file and line", () => {
  expect(problems({ "20250101000000_a.sql": "CREATE TABLE t (id int);\n\nSELEC 1;\n" })).toEqual([
    `northstack:migrationsDir: db/migrations/20250101000000_a.sql:3 is not valid SQL: syntax error at or near "SELEC"; fix the statement so that PostgreSQL's parser accepts it`,
  ]);
});

test("psql meta-commands are refused, each with its file and line; a backslash inside a string or function body is SQL", () => {
  const sql = [
    "SELECT 1;",
    "\\connect other",
    "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS $$",
    "\\not a command inside dollar quotes",
    "$$;",
    "SELECT E'\\\\i';",
    "  \\i other.sql",
    "SELECT 2 \\gset",
  ].join("\n");
  const fix =
    "migrations are plain SQL (the job and the policy pack cannot follow \\connect, \\i, \\set ...): write it as SQL, or drop it";
  expect(problems({ "20250101000000_meta.sql": sql })).toEqual([
    `northstack:migrationsDir: db/migrations/20250101000000_meta.sql:2 holds the psql meta-command \\connect; ${fix}`,
    `northstack:migrationsDir: db/migrations/20250101000000_meta.sql:7 holds the psql meta-command \\i; ${fix}`,
    `northstack:migrationsDir: db/migrations/20250101000000_meta.sql:8 holds the psql meta-command \\gset; ${fix}`,
  ]);
});

test("statements that end the one transaction or cannot run inside it are refused with their line", () => {
  const sql =
    "-- wrapped, as some tools write it\n\nBEGIN;\nSAVEPOINT s;\n/* build */\nCREATE INDEX CONCURRENTLY i ON t (a);\nVACUUM t;\nCOMMIT;\n";
  const fix =
    "which cannot run inside the one transaction that applies every pending migration and the RLS guard; remove it (the job manages the transaction)";
  expect(problems({ "20250101000000_tx.sql": sql })).toEqual(
    [
      [3, "BEGIN"],
      [6, "CREATE INDEX CONCURRENTLY"],
      [7, "VACUUM"],
      [8, "COMMIT"],
    ].map(
      ([line, what]) => `northstack:migrationsDir: db/migrations/20250101000000_tx.sql:${line} runs ${what}, ${fix}`,
    ),
  );
});

test("file names other than <version>_<name>.sql are refused, with what is allowed", () => {
  const allowed =
    "is not an allowed migration file name; use <version>_<name>.sql: a version of digits (a timestamp such as 20240101120000_create_todos.sql), then letters, digits, _ or -, lower-case .sql, at most 200 characters";
  const long = `1_${"x".repeat(200)}.sql`;
  expect(
    problems({ "create_todos.sql": "", "20250101_a b.sql": "", "20250101_A.SQL": "", [long]: "", "1_ok.sql": "" }),
  ).toEqual(
    [long, "20250101_A.SQL", "20250101_a b.sql", "create_todos.sql"].map(
      (n) => `northstack:migrationsDir: ${JSON.stringify(n)} in db/migrations ${allowed}`,
    ),
  );
});

test("every bad input is reported at once, with the other config problems", () => {
  const found = problems(
    { "bad.sql": "", "20250101000000_a.sql": "SELEC 1;", "20250102000000_b.sql": "\\i x.sql" },
    { apiReplicas: "0" },
  );
  expect(found).toHaveLength(4);
  expect(found[0]).toMatch(/^northstack:apiReplicas: /);
  expect(found.slice(1).map((p) => /db\/migrations\/?(\S*)/.exec(p)?.[0])).toEqual([
    "db/migrations",
    "db/migrations/20250101000000_a.sql:1",
    "db/migrations/20250102000000_b.sql:1",
  ]);
});

test("exampleNotes false drops the notes table, but not while the reference API (which serves it) is deployed", () => {
  expect(problems({}, { exampleNotes: "false" })).toEqual([
    "northstack:exampleNotes: false is not allowed while northstack:apiImage is empty; the reference API built from app/ serves the notes table: keep exampleNotes true, or set apiImage to your own API",
  ]);
  const cfg = parse({}, { exampleNotes: "false", apiImage: "ghcr.io/acme/api:1.0.0" });
  expect(cfg.migrations.exampleNotes).toBe(false);
  const names = (exampleNotes: boolean) => renderMigrations({ exampleNotes }).map((f) => f.name);
  expect(names(true)).toContain("010_notes.sql");
  expect(names(false)).not.toContain("010_notes.sql");
});

test("project files are delivered after the built-in ones and before the RLS guard, whatever their names", () => {
  const files = renderMigrations({
    project: [
      { name: "9999_last.sql", sql: "SELECT 1;" },
      { name: "0001_first.sql", sql: "SELECT 2;" },
    ],
  });
  expect(files.map((f) => f.name)).toEqual([
    "001_roles.sql",
    "002_schemas.sql",
    "003_auth_helpers.sql",
    "004_exposed_schemas.sql",
    "010_notes.sql",
    `${PROJECT_FILE_PREFIX}0001_first.sql`,
    `${PROJECT_FILE_PREFIX}9999_last.sql`,
    "999_rls_guard.sql",
  ]);
  expect(files.find((f) => f.name.endsWith("0001_first.sql"))?.history).toEqual({
    name: "0001_first.sql",
    // printf 'SELECT 2;' | sha256sum
    checksum: "8e7003d62f9d8cbd28da2f243bb0d215bfd4622c716be09be89a8764d9f4c7cb",
  });
});
