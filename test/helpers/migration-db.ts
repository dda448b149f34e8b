/**
 * What the migration integration tests do against a throwaway cluster: run the migration job's own
 * script, act as a PostgREST request, seed rows as service_role.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Client, ClientConfig } from "pg";
import { MigrationFile, migrationJobScript } from "../../components/migrations";
import { PG_BIN, PgCluster } from "./pg-cluster";

/** Writes the files to a fresh directory and runs the job script on it, exactly as the job container does. */
export function runMigrationJobOn(
  cluster: PgCluster,
  files: readonly MigrationFile[],
  env: Record<string, string>,
): { status: number | null; output: string } {
  const dir = path.join(cluster.dir, `migrations-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  fs.mkdirSync(dir);
  for (const f of files) fs.writeFileSync(path.join(dir, f.name), f.sql);
  const result = spawnSync("sh", ["-c", migrationJobScript(files, dir)], {
    env: { PATH: `${PG_BIN}:${process.env.PATH}`, ...cluster.libpqEnv(), ...env },
    encoding: "utf8",
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** Runs `fn` as `role` in a rolled-back transaction, with JWT claims (if any) set the way PostgREST sets them. */
export async function requestAs<T>(
  authenticator: ClientConfig,
  role: string,
  claims: Record<string, unknown> | undefined,
  fn: (c: Client) => Promise<T>,
): Promise<T> {
  const client = new Client(authenticator);
  await client.connect();
  try {
    await client.query("BEGIN");
    if (claims) await client.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify(claims)]);
    await client.query(`SET LOCAL ROLE ${role}`);
    return await fn(client);
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
    await client.end();
  }
}

/** Writes two notes for `userA` and one for `userB` as service_role: the only role that may write rows for two owners. */
export async function seedNotes(authenticator: ClientConfig, userA: string, userB: string): Promise<void> {
  const client = new Client(authenticator);
  await client.connect();
  await client.query("BEGIN");
  await client.query("SET LOCAL ROLE service_role");
  await client.query("INSERT INTO public.notes (owner_id, body) VALUES ($1, 'a1'), ($1, 'a2'), ($2, 'b1')", [
    userA,
    userB,
  ]);
  await client.query("COMMIT");
  await client.end();
}
