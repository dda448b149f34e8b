import * as http from "http";
import type { Pool } from "pg";
import { Claims, InvalidTokenError, verifyJwt } from "./jwt";
import { Metrics } from "./metrics";
import { RedisTarget, pingRedis } from "./redis";

export interface AppDeps {
  /** Pool connected as `authenticator`, which may switch to `authenticated` per request. */
  readonly pool: Pool;
  readonly redis: RedisTarget;
  readonly jwtSecret: string;
  /** Per-dependency health check timeout. Default: 2000 ms. */
  readonly checkTimeoutMs?: number;
}

const MAX_BODY_BYTES = 16 * 1024;
const ROUTES = new Set(["/health", "/metrics", "/notes"]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type CheckResult = { status: "ok"; latencyMs: number } | { status: "error"; latencyMs: number; error: string };

async function timed(check: () => Promise<unknown>, timeoutMs: number): Promise<CheckResult> {
  const started = process.hrtime.bigint();
  const latencyMs = () => Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: "ok", latencyMs: latencyMs() };
  } catch (e) {
    return { status: "error", latencyMs: latencyMs(), error: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown, contentType = "application/json"): void {
  const text = contentType === "application/json" ? JSON.stringify(body) : String(body);
  res.writeHead(status, {
    "content-type": contentType,
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpError(400, "body is not valid JSON");
  }
}

/** The caller's claims from `Authorization: Bearer <jwt>`; only signed-in users (role authenticated) may use /notes. */
function authenticate(req: http.IncomingMessage, secret: string): Claims {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "");
  if (!match) throw new HttpError(401, "missing bearer token");
  let claims: Claims;
  try {
    claims = verifyJwt(match[1], secret);
  } catch (e) {
    if (e instanceof InvalidTokenError) throw new HttpError(401, e.message);
    throw e;
  }
  if (claims.role !== "authenticated" || typeof claims.sub !== "string")
    throw new HttpError(403, "token is not a signed-in user's");
  return claims;
}

/**
 * Runs `work` in one transaction as the `authenticated` role with the request's JWT claims set the
 * way PostgREST sets them, so row-level security applies exactly as it does for the REST API.
 */
async function asUser<T>(pool: Pool, claims: Claims, work: (query: Pool["query"]) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
    await client.query("SET LOCAL ROLE authenticated");
    const result = await work(client.query.bind(client) as Pool["query"]);
    await client.query("COMMIT");
    return result;
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}

export function createApp(deps: AppDeps): { server: http.Server; metrics: Metrics } {
  const metrics = new Metrics();
  const timeoutMs = deps.checkTimeoutMs ?? 2000;

  async function health(res: http.ServerResponse): Promise<void> {
    const [postgres, redis] = await Promise.all([
      timed(() => deps.pool.query("SELECT 1"), timeoutMs),
      timed(() => pingRedis(deps.redis, timeoutMs), timeoutMs),
    ]);
    metrics.setDependencyUp("postgres", postgres.status === "ok");
    metrics.setDependencyUp("redis", redis.status === "ok");
    const ok = postgres.status === "ok" && redis.status === "ok";
    send(res, ok ? 200 : 503, { status: ok ? "ok" : "error", checks: { postgres, redis } });
  }

  async function notes(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const claims = authenticate(req, deps.jwtSecret);
    if (req.method === "GET") {
      const rows = await asUser(
        deps.pool,
        claims,
        async (query) =>
          (
            await query(
              "SELECT id, owner_id, body, created_at FROM public.notes ORDER BY created_at DESC, id LIMIT 100",
            )
          ).rows,
      );
      return send(res, 200, rows);
    }
    const input = (await readJson(req)) as { body?: unknown } | null;
    if (!input || typeof input.body !== "string") throw new HttpError(400, 'expected {"body": "<text>"}');
    const text = input.body;
    const row = await asUser(
      deps.pool,
      claims,
      async (query) =>
        (await query("INSERT INTO public.notes (body) VALUES ($1) RETURNING id, owner_id, body, created_at", [text]))
          .rows[0],
    );
    send(res, 201, row);
  }

  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const route = ROUTES.has(path) ? path : "unmatched";
    res.on("finish", () =>
      metrics.observeRequest(
        req.method ?? "GET",
        route,
        res.statusCode,
        Number(process.hrtime.bigint() - started) / 1e9,
      ),
    );

    const handle = async (): Promise<void> => {
      if (route === "/health" && req.method === "GET") return health(res);
      if (route === "/metrics" && req.method === "GET")
        return send(res, 200, metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
      if (route === "/notes" && (req.method === "GET" || req.method === "POST")) return notes(req, res);
      if (route !== "unmatched") throw new HttpError(405, `${req.method} is not allowed on ${route}`);
      throw new HttpError(404, "not found");
    };
    handle().catch((e: unknown) => {
      if (e instanceof HttpError) return send(res, e.status, { error: e.message });
      const pgCode = (e as { code?: string }).code;
      // Constraint and row-level security violations are the client's doing, not a server fault.
      if (pgCode === "23514" || pgCode === "23502") return send(res, 422, { error: "note violates a constraint" });
      if (pgCode === "42501") return send(res, 403, { error: "not permitted" });
      console.error(`${req.method} ${path} failed:`, (e as Error).message);
      send(res, 500, { error: "internal error" });
    });
  });
  return { server, metrics };
}
