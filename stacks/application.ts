/**
 * The application every stack runs, on whatever foundation it is given:
 *
 *   Supabase (migrations Job, auth/rest/realtime/storage/meta, Studio) ──> Postgres, user files
 *     ──> Backup (verified dumps to a volume, or to a bucket) ──> Postgres
 *     ──> API (+ extra services) ──> Postgres, Redis
 *     ──> Kong (routes to the API, extra services and Supabase; rate limits in Redis)
 *     ──> Monitoring (Prometheus scrapes the API, extra services and Kong; exporters for Postgres and Redis)
 *
 * It owns its component names, so the workloads that leave the namespace (egressClients) are
 * derived from the same names the components are created with.
 */
import * as pulumi from "@pulumi/pulumi";
import { ApiService } from "../components/api-service";
import { Backup } from "../components/backup";
import { NorthstackConfig } from "../components/config";
import { ObjectStoreEndpoint, PostgresEndpoint, RedisEndpoint } from "../components/endpoints";
import { Kong, KongArgs } from "../components/kong";
import { Monitoring } from "../components/monitoring";
import { AlertReceivers } from "../components/monitoring-specs";
import { Runtime } from "../components/runtime/types";
import { StackSecrets } from "../components/secrets";
import { Supabase } from "../components/supabase";

/** Component names; their workloads are named `<component>-<service>`. */
const API = "api";
const KONG = "kong";
const SUPABASE = "supabase";
const MONITORING = "monitoring";
const BACKUP = "backup";

const supabaseWorkload = (service: string) => `${SUPABASE}-${service}`;
/** Supabase services that log in to Postgres. */
const DATABASE_SERVICES = ["auth", "rest", "realtime", "storage", "meta"] as const;

/**
 * The workloads that use a bucket. A cloud foundation names their ServiceAccounts after them and
 * binds its cloud identities to those names.
 */
export const BUCKET_USERS = { storage: supabaseWorkload("storage"), backup: BACKUP } as const;

/**
 * Which workloads may leave the namespace, and for where: Postgres, Redis, or public HTTPS. Every
 * other workload (Studio, Grafana, Loki, Prometheus...) reaches only pods in its namespace and DNS.
 */
export function egressClients(cfg: NorthstackConfig): { postgres: string[]; redis: string[]; publicHttps: string[] } {
  const apis = [API, ...cfg.services.map((s) => s.name)];
  const monitoring = (service: string) => (cfg.monitoring.enabled ? [`${MONITORING}-${service}`] : []);
  const databaseServices = DATABASE_SERVICES.filter((service) => cfg.supabase[service]);
  return {
    postgres: [
      ...apis,
      supabaseWorkload("migrate"),
      ...databaseServices.map(supabaseWorkload),
      BACKUP,
      ...monitoring("postgres-exporter"),
    ],
    // Kong keeps its rate-limit counters in Redis.
    redis: [...apis, KONG, ...monitoring("redis-exporter")],
    // Storage keeps objects and the backup job its dumps in S3 or GCS; Alertmanager posts to PagerDuty, Slack and the webhook.
    publicHttps: [
      ...(cfg.supabase.storage ? [BUCKET_USERS.storage] : []),
      BACKUP,
      ...(httpsAlertReceiver(cfg) ? monitoring("alertmanager") : []),
    ],
  };
}

const httpsAlertReceiver = (cfg: NorthstackConfig): boolean =>
  [cfg.secrets.alertWebhookUrl, cfg.secrets.alertSlackWebhookUrl, cfg.secrets.alertPagerdutyRoutingKey].some(
    (v) => v !== undefined,
  );

/** Alertmanager's receivers from the stack config, each credential a Pulumi secret. */
export function alertReceivers(cfg: NorthstackConfig): AlertReceivers {
  const { alertWebhookUrl, alertSmtpPassword, alertSlackWebhookUrl, alertPagerdutyRoutingKey } = cfg.secrets;
  const { email, slackChannel } = cfg.monitoring.alerts;
  return {
    ...(email
      ? {
          email: {
            ...email,
            ...(alertSmtpPassword !== undefined ? { password: pulumi.secret(alertSmtpPassword) } : {}),
          },
        }
      : {}),
    ...(alertSlackWebhookUrl !== undefined
      ? { slack: { webhookUrl: pulumi.secret(alertSlackWebhookUrl), channel: slackChannel } }
      : {}),
    ...(alertPagerdutyRoutingKey !== undefined
      ? { pagerduty: { routingKey: pulumi.secret(alertPagerdutyRoutingKey) } }
      : {}),
    ...(alertWebhookUrl !== undefined ? { webhookUrl: pulumi.secret(alertWebhookUrl) } : {}),
  };
}

/** What a stack's foundation gives the application, and how the application meets that foundation. */
export interface ApplicationArgs {
  /** Where every workload runs. Required. */
  readonly runtime: Runtime;
  /** The database of every client (container or managed). Required. */
  readonly postgres: PostgresEndpoint;
  /** Cache and the gateway's rate-limit counters (container or managed). Required. */
  readonly redis: RedisEndpoint;
  /** Where Supabase Storage keeps user files: a volume, or a bucket with the storage workload's access. Required. */
  readonly storage: ObjectStoreEndpoint;
  /** Bucket for the verified dumps, with the backup job's access. Default: none, dumps stay on a volume. */
  readonly backupBucket?: ObjectStoreEndpoint;
  /** Replicas of the stateless Supabase services. Default: 1. */
  readonly supabaseReplicas?: number;
  /** Replicas, and the autoscaling maximum, of each extra service (northstack:services). Required. */
  readonly extraServiceReplicas: { readonly replicas: number; readonly maxReplicas: number };
  /** Host port on 127.0.0.1 for the API (Docker). Default: not published. */
  readonly apiHostPort?: number;
  /** Host port on 127.0.0.1 for Grafana (Docker). Default: not published. */
  readonly grafanaHostPort?: number;
  /** How Kong meets its clients here: who terminates TLS, which proxies and admin CIDRs it believes, replicas. Default: Kong's defaults. */
  readonly kong?: Pick<KongArgs, "servesTls" | "trustedProxyCidrs" | "trustedAdminCidrs" | "replicas">;
}

/** Creates Supabase, Backup, the API and extra services, Kong and Monitoring, in that order, on `args.runtime`. */
export function application(cfg: NorthstackConfig, secrets: StackSecrets, args: ApplicationArgs) {
  const { runtime, postgres, redis } = args;

  const supabase = new Supabase(SUPABASE, {
    runtime,
    postgres,
    jwtSecret: secrets.jwtSecret,
    services: cfg.supabase,
    exposedSchemas: cfg.postgres.exposedSchemas,
    projectMigrations: cfg.migrations.files,
    exampleNotes: cfg.migrations.exampleNotes,
    publicUrl: cfg.gateway.publicUrl,
    storage: args.storage,
    replicas: args.supabaseReplicas,
  });
  new Backup(BACKUP, { runtime, postgres, bucket: args.backupBucket, dependsOn: supabase.migrations.resources });

  const apiArgs = {
    runtime,
    cpuMillis: cfg.api.cpuMillis,
    memoryMb: cfg.api.memoryMb,
    postgres,
    redis,
    jwtSecret: secrets.jwtSecret,
    dependsOn: supabase.migrations.resources,
  };
  const api = new ApiService(API, {
    ...apiArgs,
    image: cfg.api.image || undefined,
    replicas: cfg.api.replicas,
    maxReplicas: cfg.api.maxReplicas,
    hostPort: args.apiHostPort,
    env: cfg.api.env,
    secretEnv: cfg.api.secretEnv,
  });
  const extraServices = cfg.services.map((s) => ({
    name: s.name,
    service: new ApiService(s.name, { ...apiArgs, image: s.image, ...args.extraServiceReplicas }),
  }));

  const kong = new Kong(KONG, {
    runtime,
    upstreams: { api: api.url, ...supabase.upstreams },
    extraServices: extraServices.map((s) => ({ name: s.name, url: s.service.url })),
    anonKey: supabase.anonKey,
    serviceRoleKey: supabase.serviceRoleKey,
    redis,
    gateway: cfg.gateway,
    ...args.kong,
    // Studio calls the gateway in-network (http://kong:8000); only Kubernetes enforces the allow-list.
    allowFrom: cfg.supabase.studio ? [supabaseWorkload("studio")] : undefined,
  });

  const monitoring = cfg.monitoring.enabled
    ? new Monitoring(MONITORING, {
        runtime,
        targets: [
          { job: API, host: api.host, port: api.metricsPort },
          ...extraServices.map((s) => ({ job: s.name, host: s.service.host, port: s.service.metricsPort })),
          { job: KONG, host: kong.host, port: kong.metricsPort },
        ],
        postgres,
        redis,
        grafanaHostPort: args.grafanaHostPort,
        alertReceivers: alertReceivers(cfg),
      })
    : undefined;

  return { supabase, kong, monitoring };
}
