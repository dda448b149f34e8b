/**
 * The reference API in-process against a real PostgreSQL 15 (with the generated migrations) and a
 * real redis-server with a password.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { Client, Pool } from "pg";
import { parseRedisUrl } from "../../app/src/redis";
import { createApp } from "../../app/src/server";
import { signHs256, supabaseKeyClaims } from "../../components/jwt";
import { renderMigrations, rolePasswordScript } from "../../components/migrations";
import { PgCluster, freePort, startPgCluster } from "../helpers/pg-cluster";

const JWT_SECRET = "app-test-jwt-secret-0123456789-abcdefghijklmnop";
const ROLE_PASSWORD = "api-test-password";
const REDIS_PASSWORD = "redis-test-password";
const USER_A = "b0000000-0000-4000-8000-00000000000a";
const USER_B = "b0000000-0000-4000-8000-00000000000b";

let cluster: PgCluster;
let pool: Pool;
let redis: ChildProcess;
let redisDir: string;
let baseUrl: string;
let server: import("http").Server;

const tokenFor = (sub: string) =>
  signHs256({ sub, role: "authenticated", aud: "authenticated", exp: Math.floor(Date.now() / 1000) + 600 }, JWT_SECRET);

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--requirepass",
      REDIS_PASSWORD,
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      redisDir,
    ],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("redis-server did not start within 10 s")), 10000);
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return child;
}

async function stopRedis(): Promise<void> {
  if (redis.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    redis.once("exit", () => resolve());
    redis.kill("SIGTERM");
  });
}

beforeAll(async () => {
  cluster = await startPgCluster();
  const admin = new Client(cluster.connection());
  await admin.connect();
  for (const file of renderMigrations()) await admin.query(file.sql);
  // What the job's psql script does with \getenv, done here with a literal for the test.
  expect(rolePasswordScript()).toContain("ALTER ROLE northstack_api WITH LOGIN PASSWORD :'password_api';");
  await admin.query(`ALTER ROLE northstack_api WITH LOGIN PASSWORD '${ROLE_PASSWORD}'`);
  await admin.end();

  redisDir = fs.mkdtempSync(path.join(os.tmpdir(), "northstack-redis-"));
  const redisPort = await freePort();
  redis = await startRedis(redisPort);

  const db = cluster.connection("northstack_api", ROLE_PASSWORD);
  pool = new Pool({
    connectionString: `postgres://northstack_api:${ROLE_PASSWORD}@${db.host}:${db.port}/postgres?sslmode=disable`,
    max: 4,
  });
  const app = createApp({
    pool,
    redis: parseRedisUrl(`redis://:${encodeURIComponent(REDIS_PASSWORD)}@127.0.0.1:${redisPort}`),
    jwtSecret: JWT_SECRET,
    checkTimeoutMs: 1000,
  });
  server = app.server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  // fetch keeps connections alive; close them so the server stops at once.
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await pool?.end();
  if (redis) await stopRedis();
  fs.rmSync(redisDir, { recursive: true, force: true });
  await cluster?.stop();
});

const post = (token: string | undefined, body: unknown) =>
  fetch(`${baseUrl}/notes`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
const list = (token: string) => fetch(`${baseUrl}/notes`, { headers: { authorization: `Bearer ${token}` } });

test("GET /health is 200 with postgres and redis ok and their latency", async () => {
  const res = await fetch(`${baseUrl}/health`);
  expect(res.status).toBe(200);
  const body = await res.json();
  expect(body).toEqual({
    status: "ok",
    checks: {
      postgres: { status: "ok", latencyMs: expect.any(Number) },
      redis: { status: "ok", latencyMs: expect.any(Number) },
    },
  });
});

test("/notes round trip: each user writes and reads only their own notes", async () => {
  const a = tokenFor(USER_A);
  const b = tokenFor(USER_B);
  for (const [token, body] of [
    [a, "a first"],
    [a, "a second"],
    [b, "b only"],
  ]) {
    const res = await post(token, { body });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ body, owner_id: token === a ? USER_A : USER_B });
  }
  const forA = (await (await list(a)).json()) as { body: string; owner_id: string }[];
  expect(forA.map((n) => n.body).sort()).toEqual(["a first", "a second"]);
  expect(new Set(forA.map((n) => n.owner_id))).toEqual(new Set([USER_A]));
  const forB = (await (await list(b)).json()) as { body: string }[];
  expect(forB.map((n) => n.body)).toEqual(["b only"]);
});

test("/notes refuses missing, forged and non-user tokens, and invalid notes", async () => {
  expect((await post(undefined, { body: "x" })).status).toBe(401);
  expect(
    (await post(signHs256({ sub: USER_A, role: "authenticated" }, `${JWT_SECRET}-forged`), { body: "x" })).status,
  ).toBe(401);
  expect((await post(signHs256(supabaseKeyClaims("anon", 1735689600), JWT_SECRET), { body: "x" })).status).toBe(403);
  expect((await post(tokenFor(USER_A), { text: "x" })).status).toBe(400);
  expect((await post(tokenFor(USER_A), { body: "" })).status).toBe(422);
  const admin = new Client(cluster.connection());
  await admin.connect();
  const { rows } = await admin.query("SELECT count(*)::int AS n FROM public.notes");
  await admin.end();
  expect(rows[0].n).toBe(3);
});

test("GET /metrics is Prometheus text: every sample line is name{labels} value", async () => {
  const res = await fetch(`${baseUrl}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const sample =
    /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.]+(e[-+]?\d+)?|\+Inf|-Inf|NaN)$/;
  const lines = text.trimEnd().split("\n");
  for (const line of lines) {
    if (line.startsWith("#")) expect(line).toMatch(/^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/);
    else expect(line).toMatch(sample);
  }
  expect(lines).toContain('http_requests_total{method="POST",route="/notes",status="201"} 3');
  expect(lines).toContain('northstack_dependency_up{dependency="postgres"} 1');
  expect(
    lines.some((l) => l.startsWith('http_request_duration_seconds_bucket{method="GET",route="/health",le="+Inf"} ')),
  ).toBe(true);
  expect(lines.some((l) => /^process_resident_memory_bytes \d+$/.test(l))).toBe(true);
});

test("GET /health is 503 with redis in error when redis-server is stopped", async () => {
  await stopRedis();
  const res = await fetch(`${baseUrl}/health`);
  expect(res.status).toBe(503);
  const body = (await res.json()) as { status: string; checks: Record<string, { status: string }> };
  expect(body.status).toBe("error");
  expect(body.checks.postgres.status).toBe("ok");
  expect(body.checks.redis).toMatchObject({ status: "error", error: expect.any(String) });
});
