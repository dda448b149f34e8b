import { SQL_IDENTIFIER } from "../checks";
import { ConfigReader, Problems, key, show } from "../reader";
import { NorthstackConfig } from "../schema";

/** Schemas the Supabase services and Postgres own; the REST API must not expose them. */
const INTERNAL_SCHEMAS = ["auth", "storage", "realtime", "pg_catalog", "information_schema", "extensions"];

/** Postgres sizing, HA and retention, and the schemas the REST API exposes (at least one, none internal). */
export function readPostgres(r: ConfigReader, problems: Problems): NorthstackConfig["postgres"] {
  const exposedSchemas = r.list("exposedSchemas");
  if (exposedSchemas.length === 0) problems.push(`${key("exposedSchemas")}: must name at least one schema`);
  for (const s of exposedSchemas) {
    if (!SQL_IDENTIFIER.test(s))
      problems.push(`${key("exposedSchemas")}: ${show(s)} is not a lower-case SQL identifier`);
    if (INTERNAL_SCHEMAS.includes(s)) {
      problems.push(
        `${key("exposedSchemas")}: ${show(s)} is an internal schema and must not be exposed through the REST API`,
      );
    }
  }
  return {
    memoryMb: r.int("postgresMemoryMb"),
    storageGb: r.int("postgresStorageGb"),
    instanceClass: r.str("postgresInstanceClass"),
    tier: r.str("postgresTier"),
    ha: r.bool("postgresHa"),
    backupRetentionDays: r.int("backupRetentionDays"),
    exposedSchemas,
  };
}

export function readRedis(r: ConfigReader): NorthstackConfig["redis"] {
  return { memoryMb: r.int("redisMemoryMb"), nodeType: r.str("redisNodeType"), ha: r.bool("redisHa") };
}
