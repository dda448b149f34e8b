import * as pulumi from "@pulumi/pulumi";
import { ApiService } from "../components/api-service";
import { NorthstackConfig } from "../components/config";
import { Kong } from "../components/kong";
import { Postgres } from "../components/postgres";
import { Redis } from "../components/redis";
import { DockerRuntime } from "../components/runtime/docker";
import { StackSecrets } from "../components/secrets";
import { Supabase } from "../components/supabase";

/**
 * dev: the whole backend on the developer's own Docker engine.
 *
 *   host 127.0.0.1 ──> Kong ──> API ──────────────┬──> Postgres 15 (+ Supabase roles, RLS)
 *                           └─> Supabase services ┘    Redis 7 (AOF) <── Kong rate limits, API
 */
export function dev(cfg: NorthstackConfig, secrets: StackSecrets) {
  const runtime = new DockerRuntime("docker", { stack: cfg.stack, subnet: cfg.docker.subnet });

  const postgres = new Postgres("postgres", {
    runtime,
    memoryMb: cfg.postgres.memoryMb,
    storageGb: cfg.postgres.storageGb,
    password: secrets.postgresPassword,
  });
  const redis = new Redis("redis", { runtime, memoryMb: cfg.redis.memoryMb, password: secrets.redisPassword });

  const supabase = new Supabase("supabase", {
    runtime,
    postgres: postgres.endpoint,
    jwtSecret: secrets.jwtSecret,
    services: cfg.supabase,
    exposedSchemas: cfg.postgres.exposedSchemas,
    publicUrl: cfg.gateway.publicUrl,
    storage: { kind: "file", bucket: pulumi.output("supabase-storage"), region: "local" },
  });

  const api = new ApiService("api", {
    runtime,
    image: cfg.api.image || undefined,
    replicas: cfg.api.replicas,
    maxReplicas: cfg.api.maxReplicas,
    cpuMillis: cfg.api.cpuMillis,
    memoryMb: cfg.api.memoryMb,
    hostPort: cfg.api.hostPort,
    postgres: postgres.endpoint,
    redis: redis.endpoint,
    jwtSecret: secrets.jwtSecret,
    dependsOn: supabase.migrations.resources,
  });

  const kong = new Kong("kong", {
    runtime,
    upstreams: { api: api.url, ...supabase.upstreams },
    anonKey: supabase.anonKey,
    serviceRoleKey: supabase.serviceRoleKey,
    redis: redis.endpoint,
    gateway: cfg.gateway,
  });

  return {
    gatewayUrl: kong.url,
    apiUrl: `http://127.0.0.1:${cfg.api.hostPort}`,
    studioUrl: cfg.supabase.studio ? `http://127.0.0.1:${cfg.supabase.studioHostPort}` : "disabled",
    anonKey: supabase.anonKey,
    serviceRoleKey: supabase.serviceRoleKey,
    dockerNetwork: runtime.network.name,
  };
}
