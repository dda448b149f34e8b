/**
 * dev: the whole backend on the developer's own Docker engine, every port on 127.0.0.1.
 *
 *   you ──> Kong :8000 ──> API (+ extra services) ───────┬──> Postgres 15 (Supabase roles, RLS) ──> backups (volume; optionally a bucket off the host)
 *              │      └──> Supabase auth/rest/realtime/  │
 *              │           storage/meta ─────────────────┘
 *              └─ rate limits ──> Redis 7 (AOF + RDB) <── API
 *   volume-backup ── RDB over the network from Redis, tarball of Storage's objects (read-only) ──> its volume (optionally the bucket too)
 *   Prometheus ── scrapes ──> API, Kong, exporters; Alertmanager; Grafana :3001 over Prometheus + Loki
 */
import * as pulumi from "@pulumi/pulumi";
import { NorthstackConfig } from "../components/config";
import { Postgres, PostgresBackupArgs } from "../components/postgres";
import { Redis } from "../components/redis";
import { DockerRuntime } from "../components/runtime/docker";
import { StackSecrets } from "../components/secrets";
import { application } from "./application";

/**
 * pgBackRest's second repository from northstack:backupOffsite*: parseConfig has checked the bucket
 * and that both credentials are given; Postgres passes them only as secret environment.
 */
function offsiteRepo(cfg: NorthstackConfig): PostgresBackupArgs["s3"] {
  const offsite = cfg.postgres.offsite;
  const { backupOffsiteAccessKeyId: accessKeyId, backupOffsiteSecretAccessKey: secretAccessKey } = cfg.secrets;
  if (!offsite) return undefined;
  if (accessKeyId === undefined || secretAccessKey === undefined)
    throw new Error("northstack:backupOffsiteBucket is set without both credentials, which parseConfig refuses");
  return { ...offsite, accessKeyId: pulumi.secret(accessKeyId), secretAccessKey: pulumi.secret(secretAccessKey) };
}

/** The application on Docker, over Postgres and Redis containers; files and dumps stay on volumes. */
export function dev(cfg: NorthstackConfig, secrets: StackSecrets) {
  const runtime = new DockerRuntime("docker", {
    stack: cfg.stack,
    subnet: cfg.docker.subnet,
    cgroupDriver: cfg.docker.cgroupDriver,
    // Container output goes to the log shipper, which runs with monitoring.
    logIntakePort: cfg.monitoring.enabled ? cfg.monitoring.logIntakePort : undefined,
  });

  const postgres = new Postgres("postgres", {
    runtime,
    memoryMb: cfg.postgres.memoryMb,
    storageGb: cfg.postgres.storageGb,
    password: secrets.postgresPassword,
    // pgBackRest: WAL archived within 60 s, daily base backups (7 daily, 4 weekly) and restore drills;
    // with northstack:backupOffsiteBucket, every backup and WAL segment is also copied off the host.
    backup: { s3: offsiteRepo(cfg) },
  });
  const redis = new Redis("redis", { runtime, memoryMb: cfg.redis.memoryMb, password: secrets.redisPassword });

  const { supabase, kong, monitoring } = application(cfg, secrets, {
    runtime,
    postgres: postgres.endpoint,
    redis: redis.endpoint,
    storage: { kind: "file", bucket: pulumi.output("supabase-storage"), region: "local" },
    // Redis RDB copies and Storage tarballs, 7 daily and 4 weekly, beside the Postgres dumps; with
    // northstack:backupOffsiteBucket, each also goes to the bucket, beside pgBackRest's repository.
    volumeBackup: { offsite: offsiteRepo(cfg) },
    // One container of each extra service on a developer's machine; only the API follows northstack:apiReplicas.
    extraServiceReplicas: { replicas: 1, maxReplicas: 1 },
    apiHostPort: cfg.api.hostPort,
    grafanaHostPort: cfg.monitoring.grafanaHostPort,
    // A request from this machine to 127.0.0.1 reaches Kong from the Docker network's gateway address.
    kong: { trustedAdminCidrs: [`${runtime.gatewayAddress}/32`] },
  });

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
