import * as path from "path";
import { extensionProblems } from "../../extensions";
import { parsedStatements, readProjectMigrations } from "../../project-migrations";
import { studioLacksMeta } from "../checks";
import { ConfigReader, Problems, key, show } from "../reader";
import { Cloud, NorthstackConfig } from "../schema";
import { Platform } from "./platform";

/** Which Supabase services run; Studio needs meta. */
export function readSupabaseServices(
  r: ConfigReader,
  problems: Problems,
): Omit<NorthstackConfig["supabase"], "replicas"> {
  const services = {
    auth: r.bool("supabaseAuth"),
    rest: r.bool("supabaseRest"),
    realtime: r.bool("supabaseRealtime"),
    storage: r.bool("supabaseStorage"),
    meta: r.bool("supabaseMeta"),
    studio: r.bool("supabaseStudio"),
    studioHostPort: r.int("studioPort"),
  };
  if (studioLacksMeta(services)) {
    problems.push(
      `${key("supabaseStudio")}: true needs ${key("supabaseMeta")} true (Studio reads the database through postgres-meta)`,
    );
  }
  return services;
}

/** Replicas of auth, rest and storage: 0 means the profile's default, and none may go below its minimum. */
export function readSupabaseReplicas(r: ConfigReader, problems: Problems, { environment, profile }: Platform): number {
  const replicas = r.int("supabaseReplicas") || profile.defaultSupabaseReplicas;
  if (replicas < profile.minSupabaseReplicas) {
    problems.push(
      `${key("supabaseReplicas")}: ${replicas} is not allowed on ${environment}; auth, rest and storage need at least ${profile.minSupabaseReplicas} replicas to survive a node or zone loss`,
    );
  }
  return replicas;
}

/**
 * The project's migrations folder, read and checked here so that a bad file stops the stack before any
 * resource exists; `projectRoot` is where a relative folder starts (the directory of Pulumi.yaml).
 */
export function readMigrations(
  r: ConfigReader,
  problems: Problems,
  projectRoot: string,
): NorthstackConfig["migrations"] {
  const dir = r.str("migrationsDir");
  const exampleNotes = r.bool("exampleNotes");
  if (!exampleNotes && r.str("apiImage") === "") {
    problems.push(
      `${key("exampleNotes")}: false is not allowed while ${key("apiImage")} is empty; the reference API built from app/ serves the notes table: keep exampleNotes true, or set apiImage to your own API`,
    );
  }
  if (dir === "" || path.isAbsolute(dir)) {
    problems.push(
      `${key("migrationsDir")}: ${show(dir)} is not allowed; use a folder relative to the project root, such as supabase/migrations, so that every machine and every stack reads the same files`,
    );
    return { dir, files: [], exampleNotes };
  }
  const { files, problems: found } = readProjectMigrations(path.resolve(projectRoot, dir), dir);
  problems.push(...found.map((p) => `${key("migrationsDir")}: ${p}`));
  return { dir, files, exampleNotes };
}

/**
 * Every CREATE EXTENSION in the project's migrations that the stack's Postgres runtime cannot provide
 * (the table in components/extensions.ts), each naming the file and line. Skipped while the cloud key
 * itself is refused: the runtime is then unknown.
 */
export function checkMigrationExtensions(
  r: ConfigReader,
  problems: Problems,
  migrations: NorthstackConfig["migrations"],
  cloud: Cloud,
): void {
  if (r.invalid("cloud")) return;
  const shownDir = migrations.dir.replace(/\/+$/, "");
  const files = migrations.files.map((f) => ({ name: `${shownDir}/${f.name}`, sql: f.sql }));
  problems.push(...extensionProblems(files, cloud, parsedStatements).map((p) => `${key("migrationsDir")}: ${p}`));
}
