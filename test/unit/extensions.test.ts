import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { AVAILABLE_EXTENSIONS, CRON_DATABASE, PRELOAD_LIBRARIES, extensionProblems } from "../../components/extensions";
import { renderMigrations } from "../../components/migrations";
import { Postgres } from "../../components/postgres";
import { postgresSettings } from "../../components/postgres-conf";
import { Runtime } from "../../components/runtime/types";
import { ConfigError, parseConfig } from "../../components/config";
import { CLOUDS } from "../../components/config/schema";
import { loadParser } from "../../policy/rls/parse";
import { ns } from "../helpers/config";

beforeAll(() => loadParser());

const LOCAL =
  "amcheck, autoinc, bloom, btree_gin, btree_gist, citext, cube, dblink, dict_int, dict_xsyn, earthdistance, " +
  "fuzzystrmatch, hstore, insert_username, intagg, intarray, isn, lo, ltree, moddatetime, pageinspect, " +
  "pg_buffercache, pg_cron, pg_freespacemap, pg_prewarm, pg_stat_statements, pg_trgm, pg_visibility, pgcrypto, " +
  "pgrowlocks, pgstattuple, plpgsql, postgres_fdw, refint, seg, sslinfo, tablefunc, tcn, tsm_system_rows, " +
  "tsm_system_time, unaccent, uuid-ossp, vector";
const MANAGED =
  "amcheck, btree_gin, btree_gist, citext, cube, dblink, dict_int, dict_xsyn, earthdistance, fuzzystrmatch, " +
  "hstore, intarray, isn, lo, ltree, pg_buffercache, pg_cron, pg_partman, pg_prewarm, pg_repack, " +
  "pg_stat_statements, pg_trgm, pg_visibility, pgcrypto, pgrowlocks, pgstattuple, plpgsql, postgis, " +
  "postgis_topology, postgres_fdw, seg, tablefunc, tsm_system_rows, tsm_system_time, unaccent, uuid-ossp, vector";

describe("the extension table", () => {
  test("every runtime provides vector, pgcrypto, pg_stat_statements and pg_cron", () => {
    for (const cloud of CLOUDS)
      expect(AVAILABLE_EXTENSIONS[cloud]).toEqual(
        expect.arrayContaining(["vector", "pgcrypto", "pg_stat_statements", "pg_cron", "uuid-ossp"]),
      );
  });

  test("each runtime's list is exactly the sourced one, sorted and without repeats", () => {
    expect(AVAILABLE_EXTENSIONS.local.join(", ")).toBe(LOCAL);
    expect(AVAILABLE_EXTENSIONS.aws.join(", ")).toBe(MANAGED);
    expect(AVAILABLE_EXTENSIONS.gcp.join(", ")).toBe(MANAGED);
    for (const cloud of CLOUDS)
      expect(new Set(AVAILABLE_EXTENSIONS[cloud]).size).toBe(AVAILABLE_EXTENSIONS[cloud].length);
  });

  test("the container's postgresql.conf preloads what the table says, with pg_cron's jobs in the migrations' database", () => {
    expect(PRELOAD_LIBRARIES).toEqual(["pg_stat_statements", "pg_cron"]);
    for (const cloud of CLOUDS)
      expect(AVAILABLE_EXTENSIONS[cloud]).toEqual(expect.arrayContaining([...PRELOAD_LIBRARIES]));
    const settings = postgresSettings({ memoryMb: 1024 });
    expect(settings.shared_preload_libraries).toBe("pg_stat_statements,pg_cron");
    expect(settings["cron.database_name"]).toBe(CRON_DATABASE);
    expect(CRON_DATABASE).toBe("postgres");
  });

  test("the Postgres container always runs images/postgres: a runtime that cannot build it needs a pushed image", () => {
    // The official image lacks pg_cron, which postgresql.conf preloads, so the server would not start on it.
    const kubernetes = { kind: "kubernetes" } as Runtime;
    expect(
      () => new Postgres("postgres", { runtime: kubernetes, memoryMb: 1024, storageGb: 20, password: "pw" }),
    ).toThrow(
      "postgres image: none given, but the kubernetes runtime cannot build images/postgres; push it to a registry and give its pinned name",
    );
  });

  test(".ci/run installs pg_cron, which the tests' servers preload", () => {
    const text = fs.readFileSync(path.resolve(__dirname, "..", "..", ".ci", "run"), "utf8");
    expect(text).toMatch(/apt-get install[^\n]* postgresql-15-cron( |$)/m);
  });
});

describe("a migration asking for an extension its runtime cannot provide is refused at plan time", () => {
  test("the platform's own migrations pass on every runtime", () => {
    for (const cloud of CLOUDS) expect(extensionProblems(renderMigrations(), cloud)).toEqual([]);
  });

  test("an available extension passes in every spelling: quoted, IF NOT EXISTS, WITH SCHEMA, upper case", () => {
    const files = [
      {
        name: "100_ext.sql",
        sql: [
          'CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;',
          "create extension VECTOR with schema extensions;",
          "CREATE EXTENSION pg_cron;",
          "CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA extensions;",
        ].join("\n"),
      },
    ];
    for (const cloud of CLOUDS) expect(extensionProblems(files, cloud)).toEqual([]);
  });

  test("names the file, the line, the extension, the runtime and what is available", () => {
    const files = [
      {
        name: "100_geo.sql",
        sql: "-- places\n\nCREATE TABLE t (id int);\nCREATE EXTENSION postgis WITH SCHEMA extensions;\n",
      },
    ];
    expect(extensionProblems(files, "local")).toEqual([
      `100_geo.sql:4: extension "postgis" is not available on local (the images/postgres container); available: ${LOCAL}`,
    ]);
    expect(extensionProblems(files, "aws")).toEqual([]);
    expect(extensionProblems(files, "gcp")).toEqual([]);
  });

  test("reports every problem at once, across files, in file order", () => {
    const files = [
      {
        name: "100_a.sql",
        sql: "CREATE EXTENSION bloom;\n/* two\nlines */ CREATE EXTENSION IF NOT EXISTS timescaledb;",
      },
      { name: "101_b.sql", sql: "CREATE EXTENSION pgcrypto;\nCREATE EXTENSION file_fdw;" },
    ];
    expect(extensionProblems(files, "aws")).toEqual([
      `100_a.sql:1: extension "bloom" is not available on aws (RDS for PostgreSQL 15); available: ${MANAGED}`,
      `100_a.sql:3: extension "timescaledb" is not available on aws (RDS for PostgreSQL 15); available: ${MANAGED}`,
      `101_b.sql:2: extension "file_fdw" is not available on aws (RDS for PostgreSQL 15); available: ${MANAGED}`,
    ]);
    expect(extensionProblems(files, "gcp").map((p) => p.split(";")[0])).toEqual([
      '100_a.sql:1: extension "bloom" is not available on gcp (Cloud SQL for PostgreSQL 15)',
      '100_a.sql:3: extension "timescaledb" is not available on gcp (Cloud SQL for PostgreSQL 15)',
      '101_b.sql:2: extension "file_fdw" is not available on gcp (Cloud SQL for PostgreSQL 15)',
    ]);
    expect(extensionProblems(files, "local").map((p) => p.split(";")[0])).toEqual([
      '100_a.sql:3: extension "timescaledb" is not available on local (the images/postgres container)',
      '101_b.sql:2: extension "file_fdw" is not available on local (the images/postgres container)',
    ]);
  });

  test("a file that does not parse is reported, and the other files are still checked", () => {
    const files = [
      { name: "100_bad.sql", sql: "CREATE EXTENSON vector;" },
      { name: "101_ok.sql", sql: "CREATE EXTENSION pg_repack;" },
    ];
    expect(extensionProblems(files, "local")).toEqual([
      expect.stringMatching(
        /^100_bad\.sql: does not parse \(syntax error at or near "EXTENSON"\), so the extensions it creates cannot be checked; fix the SQL/,
      ),
      `101_ok.sql:1: extension "pg_repack" is not available on local (the images/postgres container); available: ${LOCAL}`,
    ]);
  });

  test("a caller that parsed the files elsewhere passes its parser's statements, and its errors are reported", () => {
    const file = { name: "100_ts.sql", sql: "-- time series\nCREATE EXTENSION timescaledb;\n" };
    const parsedElsewhere = () => [{ stmt: { CreateExtensionStmt: { extname: "timescaledb" } }, stmt_location: 0 }];
    expect(extensionProblems([file], "gcp", parsedElsewhere)).toEqual([
      `100_ts.sql:2: extension "timescaledb" is not available on gcp (Cloud SQL for PostgreSQL 15); available: ${MANAGED}`,
    ]);
    const failing = () => {
      throw new Error('syntax error at or near "x"');
    };
    expect(extensionProblems([file], "gcp", failing)).toEqual([
      `100_ts.sql: does not parse (syntax error at or near "x"), so the extensions it creates cannot be checked; fix the SQL so that PostgreSQL's parser accepts it`,
    ]);
  });
});

describe("README's Extensions section", () => {
  const readme = fs.readFileSync(path.resolve(__dirname, "..", "..", "README.md"), "utf8");
  const section = readme.slice(
    readme.indexOf("### Extensions"),
    readme.indexOf("\n## ", readme.indexOf("### Extensions")),
  );

  test("its example migration passes the check on every runtime", () => {
    const sql = /```sql\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    expect(sql).toMatch(/CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA extensions;/);
    for (const cloud of CLOUDS) expect(extensionProblems([{ name: "100_documents.sql", sql }], cloud)).toEqual([]);
  });

  test("its refusal is the one the check prints", () => {
    const shown = /```text\n(.*), \.\.\.\n```/.exec(section)?.[1];
    expect(shown).toBeDefined();
    const [problem] = extensionProblems(
      [{ name: "supabase/migrations/20260101000000_geo.sql", sql: "CREATE EXTENSION postgis;" }],
      "local",
    );
    expect(`northstack:migrationsDir: ${problem}`.startsWith(shown as string)).toBe(true);
  });
});

describe("the stack config refuses the project's migrations when they ask for an extension the runtime lacks", () => {
  const staging = {
    cluster: "managed",
    apiImage: "ghcr.io/northstack/api:0.1.0",
    publicUrl: "https://api.example.ca",
    alertEmailTo: "oncall@example.ca",
    alertSmtpSmarthost: "smtp.example.ca:587",
    tlsSecretName: "gateway-tls",
  };
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "northstack-ext-"));
    fs.mkdirSync(path.join(root, "db", "migrations"), { recursive: true });
    fs.writeFileSync(
      path.join(root, "db", "migrations", "20260101000000_search.sql"),
      "CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA extensions;\nCREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA extensions;\n",
    );
    fs.writeFileSync(
      path.join(root, "db", "migrations", "20260102000000_audit.sql"),
      "-- audit helpers\nCREATE EXTENSION IF NOT EXISTS tcn;\n",
    );
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const problemsOf = (raw: Record<string, string>, stack: string): string[] => {
    try {
      parseConfig(ns({ migrationsDir: "db/migrations", ...raw }), stack, root);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return [...(e as ConfigError).problems];
    }
    return [];
  };

  test("dev, aws and gcp each name what they lack, by file and line, before any resource", () => {
    expect(problemsOf({}, "dev")).toEqual([
      `northstack:migrationsDir: db/migrations/20260101000000_search.sql:2: extension "postgis" is not available on local (the images/postgres container); available: ${LOCAL}`,
    ]);
    const tcnOn = (runtime: string) =>
      `northstack:migrationsDir: db/migrations/20260102000000_audit.sql:2: extension "tcn" is not available on ${runtime}; available: ${MANAGED}`;
    expect(problemsOf({ ...staging, cloud: "aws" }, "staging")).toEqual([tcnOn("aws (RDS for PostgreSQL 15)")]);
    expect(problemsOf({ ...staging, cloud: "gcp" }, "staging")).toEqual([tcnOn("gcp (Cloud SQL for PostgreSQL 15)")]);
  });

  test("migrations that ask only for available extensions pass", () => {
    fs.rmSync(path.join(root, "db", "migrations", "20260102000000_audit.sql"));
    expect(problemsOf({ ...staging, cloud: "aws" }, "staging")).toEqual([]);
    expect(problemsOf({ ...staging, cloud: "gcp" }, "staging")).toEqual([]);
  });
});
