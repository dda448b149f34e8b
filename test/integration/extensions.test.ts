/**
 * The local runtime's extensions on a real PostgreSQL 15 started with the rendered postgresql.conf:
 * the preloaded libraries load, and the extensions teams ask for can be created as the README shows.
 * Debian's postgresql-15 builds the same contrib modules as the official image images/postgres starts
 * from; pg_cron is Debian's postgresql-15-cron (.ci/run installs it).
 */
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { AVAILABLE_EXTENSIONS, CRON_DATABASE } from "../../components/extensions";
import { postgresSettings, renderPostgresConf } from "../../components/postgres-conf";
import { PgCluster, startPgCluster } from "../helpers/pg-cluster";

/** pgvector is not packaged for Debian bookworm; images/postgres installs it from apt.postgresql.org. */
const HAS_PGVECTOR = fs.existsSync("/usr/share/postgresql/15/extension/vector.control");

let cluster: PgCluster;
let client: Client;

beforeAll(async () => {
  cluster = await startPgCluster({ configText: renderPostgresConf(postgresSettings({ memoryMb: 256 })) });
  client = new Client(cluster.connection());
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await cluster?.stop();
});

const rows = async <T>(sql: string): Promise<T[]> => (await client.query(sql)).rows as T[];

test("the server preloads pg_stat_statements and pg_cron, and pg_cron's launcher runs in the migrations' database", async () => {
  expect(cluster.database).toBe(CRON_DATABASE);
  expect(await rows("SHOW shared_preload_libraries")).toEqual([
    { shared_preload_libraries: "pg_stat_statements,pg_cron" },
  ]);
  expect(await rows("SHOW cron.database_name")).toEqual([{ "cron.database_name": CRON_DATABASE }]);
  // The launcher is a background worker that exists only when the library was preloaded.
  const launcher = await rows<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'pg_cron launcher'",
  );
  expect(launcher).toEqual([{ n: 1 }]);
});

test("CREATE EXTENSION pg_cron, pg_stat_statements and pgcrypto succeed, and each works", async () => {
  await client.query("CREATE SCHEMA IF NOT EXISTS extensions");
  await client.query("CREATE EXTENSION IF NOT EXISTS pg_cron");
  await client.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements WITH SCHEMA extensions");
  await client.query("CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions");

  const job = await rows<{ jobid: string }>(
    "SELECT cron.schedule('northstack-test', '15 3 * * *', 'SELECT 1') AS jobid",
  );
  expect(await rows("SELECT jobname, schedule, command, database FROM cron.job")).toEqual([
    { jobname: "northstack-test", schedule: "15 3 * * *", command: "SELECT 1", database: CRON_DATABASE },
  ]);
  expect(job).toHaveLength(1);

  // Without the preload, reading the view fails ("must be loaded via shared_preload_libraries").
  await client.query("SELECT 4242 AS northstack_marker");
  const seen = await rows<{ n: number }>(
    "SELECT count(*)::int AS n FROM extensions.pg_stat_statements WHERE query LIKE '%northstack_marker%'",
  );
  expect(seen[0].n).toBeGreaterThanOrEqual(1);

  expect(await rows("SELECT encode(extensions.digest('abc', 'sha256'), 'hex') AS h")).toEqual([
    { h: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
  ]);
  const where = await rows<{ extname: string; schema: string }>(
    "SELECT e.extname, n.nspname AS schema FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace ORDER BY 1",
  );
  expect(where).toEqual(
    expect.arrayContaining([
      { extname: "pg_stat_statements", schema: "extensions" },
      { extname: "pgcrypto", schema: "extensions" },
    ]),
  );
});

test("every extension the table promises for the local runtime is installable on PostgreSQL 15 (pgvector aside)", async () => {
  const available = new Set(
    (await rows<{ name: string }>("SELECT name FROM pg_available_extensions")).map((r) => r.name),
  );
  const missing = AVAILABLE_EXTENSIONS.local.filter((name) => !available.has(name));
  expect(missing.filter((name) => name !== "vector")).toEqual([]);
  if (!HAS_PGVECTOR) expect(missing).toEqual(["vector"]);
});

// Not faked: without the package the test is skipped, and its name says why.
(HAS_PGVECTOR ? test : test.skip)(
  HAS_PGVECTOR
    ? "CREATE EXTENSION vector succeeds and orders by distance"
    : "CREATE EXTENSION vector: skipped, pgvector is not packaged for Debian bookworm (images/postgres installs postgresql-15-pgvector from apt.postgresql.org)",
  async () => {
    await client.query("CREATE SCHEMA IF NOT EXISTS extensions");
    await client.query("CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA extensions");
    await client.query("CREATE TABLE items (id int, embedding extensions.vector(3))");
    await client.query("INSERT INTO items VALUES (1, '[1,1,1]'), (2, '[3,3,3]')");
    const nearest = await rows<{ id: number }>(
      "SET search_path = public, extensions; SELECT id FROM items ORDER BY embedding <-> '[2.9,3,3]' LIMIT 1",
    );
    expect(nearest).toEqual([{ id: 2 }]);
  },
);

test("the image installs the packages that provide pgvector and pg_cron", () => {
  const dockerfile = fs.readFileSync(path.resolve(__dirname, "..", "..", "images", "postgres", "Dockerfile"), "utf8");
  expect(dockerfile).toMatch(/apt-get install[^\n]* 'postgresql-15-pgvector=[0-9.]+\*'/);
  expect(dockerfile).toMatch(/apt-get install[^\n]* 'postgresql-15-cron=[0-9.]+\*'/);
});
