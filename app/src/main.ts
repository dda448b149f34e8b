import { Pool } from "pg";
import { parseRedisUrl } from "./redis";
import { createApp } from "./server";

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
}

const port = Number(process.env.PORT ?? "8080");
const pool = new Pool({
  connectionString: required("DATABASE_URL"),
  max: 10,
  connectionTimeoutMillis: 2000,
  idleTimeoutMillis: 30000,
});
// A dropped idle connection must not crash the process; the next query reconnects.
pool.on("error", (e) => console.error("postgres pool:", e.message));

const { server } = createApp({ pool, redis: parseRedisUrl(required("REDIS_URL")), jwtSecret: required("JWT_SECRET") });
server.listen(port, () => console.log(`northstack api listening on :${port}`));

function shutdown(signal: string): void {
  console.log(`${signal}: draining`);
  server.close(() => {
    pool.end().finally(() => process.exit(0));
  });
  setTimeout(() => process.exit(1), 10000).unref();
}
process.on("SIGTERM", () => shutdown("SIGTERM"));
process.on("SIGINT", () => shutdown("SIGINT"));
