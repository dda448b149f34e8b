import * as pulumi from "@pulumi/pulumi";
import { ApiService } from "../components/api-service";
import { Backup } from "../components/backup";
import { NorthstackConfig } from "../components/config";
import { Kong } from "../components/kong";
import { Monitoring } from "../components/monitoring";
import { Postgres } from "../components/postgres";
import { Redis } from "../components/redis";
import { DockerRuntime } from "../components/runtime/docker";
import { StackSecrets } from "../components/secrets";
import { Supabase } from "../components/supabase";

/**
 * dev: the whole backend on the developer's own Docker engine, every port on 127.0.0.1.
 *
 *   you ──> Kong :8000 ──> API (+ extra services) ───────┬──> Postgres 15 (Supabase roles, RLS) ──> backups (volume)
 *              │      └──> Supabase auth/rest/realtime/  │
 *              │           storage/meta ─────────────────┘
 *              └─ rate limits ──> Redis 7 (AOF) <── API
 *   Prometheus ── scrapes ──> API, Kong, exporters; Alertmanager; Grafana :3001 over Prometheus + Loki
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
  new Backup("backup", { runtime, postgres: postgres.endpoint, dependsOn: supabase.migrations.resources });

  const apiArgs = {
    runtime,
    cpuMillis: cfg.api.cpuMillis,
    memoryMb: cfg.api.memoryMb,
    postgres: postgres.endpoint,
    redis: redis.endpoint,
    jwtSecret: secrets.jwtSecret,
    dependsOn: supabase.migrations.resources,
  };
  const api = new ApiService("api", {
    ...apiArgs,
    image: cfg.api.image || undefined,
    replicas: cfg.api.replicas,
    maxReplicas: cfg.api.maxReplicas,
    hostPort: cfg.api.hostPort,
    env: cfg.api.env,
    secretEnv: cfg.api.secretEnv,
  });
  const extraServices = cfg.services.map((s) => ({
    name: s.name,
    service: new ApiService(s.name, { ...apiArgs, image: s.image, replicas: 1, maxReplicas: 1 }),
  }));

  const kong = new Kong("kong", {
    runtime,
    upstreams: { api: api.url, ...supabase.upstreams },
    extraServices: extraServices.map((s) => ({ name: s.name, url: s.service.url })),
    anonKey: supabase.anonKey,
    serviceRoleKey: supabase.serviceRoleKey,
    redis: redis.endpoint,
    gateway: cfg.gateway,
    trustedAdminCidrs: [`${runtime.gatewayAddress}/32`],
  });

  const monitoring = cfg.monitoring.enabled
    ? new Monitoring("monitoring", {
        runtime,
        targets: [
          { job: "api", host: api.host, port: 8080 },
          ...extraServices.map((s) => ({ job: s.name, host: s.service.host, port: 8080 })),
          { job: "kong", host: kong.host, port: 8100 },
        ],
        postgres: postgres.endpoint,
        redis: redis.endpoint,
        grafanaHostPort: cfg.monitoring.grafanaHostPort,
        alertWebhookUrl: cfg.secrets.alertWebhookUrl !== undefined ? pulumi.secret(cfg.secrets.alertWebhookUrl) : undefined,
      })
    : undefined;

  return {
    gatewayUrl: kong.url,
    apiUrl: `http://127.0.0.1:${cfg.api.hostPort}`,
    studioUrl: cfg.supabase.studio ? `http://127.0.0.1:${cfg.supabase.studioHostPort}` : "disabled",
    grafanaUrl: monitoring ? `http://127.0.0.1:${cfg.monitoring.grafanaHostPort}` : "disabled",
    grafanaAdminPassword: monitoring?.grafanaAdminPassword ?? pulumi.secret("disabled"),
    anonKey: supabase.anonKey,
    serviceRoleKey: supabase.serviceRoleKey,
    dockerNetwork: runtime.network.name,
  };
}
