import { studioLacksMeta } from "../checks";
import { ConfigReader, Problems, key } from "../reader";
import { NorthstackConfig } from "../schema";
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
