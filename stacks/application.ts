/**
 * The application every stack runs, on whatever foundation it is given:
 *
 *   Supabase (migrations Job, auth/rest/realtime/storage/meta, Studio) ──> Postgres, user files
 *     ──> Backup (verified dumps to a volume, or to a bucket) ──> Postgres
 *     ──> API (+ extra services) ──> Postgres, Redis
 *     ──> Kong (routes to the API, extra services and Supabase; rate limits in Redis)
 *     ──> Monitoring (Prometheus scrapes every replica of the API, extra services, Kong, GoTrue and
 *         PostgREST; exporters for Postgres and Redis)
 *
 * It owns its component names, so the workloads that leave the namespace (egressClients) are
 * derived from the same names the components are created with.
 */
import * as pulumi from "@pulumi/pulumi";
import { ApiService } from "../components/api-service";
import { Backup, drillWorkloadName } from "../components/backup";
import { NorthstackConfig } from "../components/config";
import { ObjectStoreEndpoint, PostgresEndpoint, RedisEndpoint, withLogin } from "../components/endpoints";
import { KONG_PROXY_PORT, Kong, KongArgs } from "../components/kong";
import { Monitoring } from "../components/monitoring";
import { AlertReceivers } from "../components/monitoring-specs";
import type { PublicEgress } from "../components/runtime/kubernetes";
import { Runtime } from "../components/runtime/types";
import { DatabaseCredentials, StackSecrets } from "../components/secrets";
import { FILE_STORAGE_VOLUME, Supabase } from "../components/supabase";
import { OffsiteBucket, VolumeBackup } from "../components/volume-backup";
import { RedisExport } from "../components/redis-export";
import type { RedisExportTarget } from "./cloud-foundation";

/** Component names; their workloads are named `<component>-<service>`. */
const API = "api";
const KONG = "kong";
const SUPABASE = "supabase";
const MONITORING = "monitoring";
const BACKUP = "backup";
const VOLUME_BACKUP = "volume-backup";
const BACKUP_DRILL = drillWorkloadName(BACKUP);
const REDIS_EXPORT = "redis-dr-export";

const supabaseWorkload = (service: string) => `${SUPABASE}-${service}`;
/** What the blackbox exporter asks the gateway: the API's health, through the route and key-auth clients use. */
const GATEWAY_PROBE_PATH = "/api/v1/health";
/** Supabase services that log in to Postgres. */
const DATABASE_SERVICES = ["auth", "rest", "realtime", "storage", "meta"] as const;

/**
 * The workloads that use a bucket. A cloud foundation names their ServiceAccounts after them and
 * binds its cloud identities to those names.
 */
export const BUCKET_USERS = {
  storage: supabaseWorkload("storage"),
  backup: BACKUP,
  backupDrill: BACKUP_DRILL,
  redisExport: REDIS_EXPORT,
} as const;

/** Whether the stack copies its managed Redis's snapshots to the DR region (redis-export.ts): ElastiCache with DR copies. */
export const copiesRedisToDr = (cfg: NorthstackConfig): boolean =>
  cfg.profile.runtime === "kubernetes" && cfg.cloud === "aws" && cfg.profile.drCopies;

/**
 * Which workloads may leave the namespace, and for where: Postgres, Redis, or public addresses on
 * named ports, each with why no narrower range will do. Every other workload (Studio, Grafana, Loki,
 * Prometheus...) reaches only the pods it calls in its namespace, and DNS; the log shipper also
 * reaches the Kubernetes API server, which the runtime opens from its `kubernetesApi` (network-policy.ts).
 */
export function egressClients(cfg: NorthstackConfig): {
  postgres: string[];
  redis: string[];
  publicEgress: PublicEgress[];
} {
  const apis = [API, ...cfg.services.map((s) => s.name)];
  const monitoring = (service: string) => (cfg.monitoring.enabled ? [`${MONITORING}-${service}`] : []);
  const databaseServices = DATABASE_SERVICES.filter((service) => cfg.supabase[service]);
  const objectStore = `${cfg.cloud === "gcp" ? "GCS" : "S3"}, whose API endpoints are public addresses that change, with no fixed range to name`;
  const alerts = alertReceiverEgress(cfg);
  const redisExport = copiesRedisToDr(cfg) ? [REDIS_EXPORT] : [];
  return {
    postgres: [
      ...apis,
      supabaseWorkload("migrate"),
      ...databaseServices.map(supabaseWorkload),
      BACKUP,
      BACKUP_DRILL,
      ...redisExport,
      ...monitoring("postgres-exporter"),
    ],
    // Kong keeps its rate-limit counters in Redis.
    redis: [...apis, KONG, ...monitoring("redis-exporter")],
    // GoTrue sends no mail (sign-ups are autoconfirmed) and has no OAuth provider, so it stays inside.
    publicEgress: [
      ...(cfg.supabase.storage
        ? [
            {
              client: BUCKET_USERS.storage,
              ports: [HTTPS_PORT],
              reason: `Supabase Storage keeps user files in ${objectStore}`,
            },
          ]
        : []),
      { client: BACKUP, ports: [HTTPS_PORT], reason: `the backup job writes its dumps to ${objectStore}` },
      {
        client: BACKUP_DRILL,
        ports: [HTTPS_PORT],
        reason: `the restore drill reads the newest dump from ${objectStore}`,
      },
      ...redisExport.map((client) => ({
        client,
        ports: [HTTPS_PORT],
        reason: `the Redis DR copy calls the ElastiCache API and ${objectStore}`,
      })),
      ...(cfg.monitoring.enabled && alerts
        ? [{ client: `${MONITORING}-alertmanager`, ports: alerts.ports, reason: alerts.reason }]
        : []),
      ...monitoring("blackbox-exporter").map((client) => ({
        client,
        ports: [HTTPS_PORT],
        reason: "the blackbox exporter probes the gateway at its public address, as clients reach it",
      })),
    ],
  };
}

const HTTPS_PORT = 443;

/**
 * Where Alertmanager's configured receivers listen: 443 for PagerDuty, the Slack and webhook URLs'
 * ports, and the SMTP smarthost's port. Undefined with no receiver: Alertmanager then stays inside.
 */
export function alertReceiverEgress(cfg: NorthstackConfig): { ports: number[]; reason: string } | undefined {
  const { alertWebhookUrl, alertSlackWebhookUrl, alertPagerdutyRoutingKey, deadMansSwitchUrl } = cfg.secrets;
  const email = cfg.monitoring.alerts.email;
  const receivers: { what: string; port: number }[] = [
    ...(alertSlackWebhookUrl !== undefined ? [{ what: "Slack", port: urlPort(alertSlackWebhookUrl) }] : []),
    ...(alertPagerdutyRoutingKey !== undefined ? [{ what: "PagerDuty", port: HTTPS_PORT }] : []),
    ...(alertWebhookUrl !== undefined ? [{ what: "the alert webhook", port: urlPort(alertWebhookUrl) }] : []),
    ...(deadMansSwitchUrl !== undefined ? [{ what: "the dead man's switch", port: urlPort(deadMansSwitchUrl) }] : []),
    // parseConfig has checked that the smarthost is host:port.
    ...(email ? [{ what: `the SMTP smarthost ${email.smarthost}`, port: Number(email.smarthost.split(":")[1]) }] : []),
  ];
  if (receivers.length === 0) return undefined;
  return {
    ports: [...new Set(receivers.map((r) => r.port))].sort((a, b) => a - b),
    reason: `Alertmanager delivers to ${receivers.map((r) => r.what).join(", ")}: internet services addressed by name, with no fixed range to name`,
  };
}

/** The port of an https:// receiver URL: its own, else 443 (also for the offline plan's placeholder, which is no URL). */
function urlPort(url: string): number {
  try {
    return Number(new URL(url).port) || HTTPS_PORT;
  } catch {
    return HTTPS_PORT;
  }
}

/** Alertmanager's receivers from the stack config, each credential a Pulumi secret. */
export function alertReceivers(cfg: NorthstackConfig): AlertReceivers {
  const { alertWebhookUrl, alertSmtpPassword, alertSlackWebhookUrl, alertPagerdutyRoutingKey, deadMansSwitchUrl } =
    cfg.secrets;
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
    ...(deadMansSwitchUrl !== undefined ? { deadMansSwitchUrl: pulumi.secret(deadMansSwitchUrl) } : {}),
  };
}

/** What a stack's foundation gives the application, and how the application meets that foundation. */
export interface ApplicationArgs {
  /** Where every workload runs. Required. */
  readonly runtime: Runtime;
  /** The database (container or managed), with the admin's login: only the migration job gets it. Required. */
  readonly postgres: PostgresEndpoint;
  /** Cache and the gateway's rate-limit counters (container or managed). Required. */
  readonly redis: RedisEndpoint;
  /** Where Supabase Storage keeps user files: a volume, or a bucket with the storage workload's access. Required. */
  readonly storage: ObjectStoreEndpoint;
  /** Bucket for the verified dumps, with the backup job's access. Default: none, dumps stay on a volume. */
  readonly backupBucket?: ObjectStoreEndpoint;
  /**
   * Copy daily, to a backups volume, the state that runs in containers here and that Postgres's
   * backups do not hold: Redis (its endpoint must be a container's) and Storage's objects volume
   * (storage kind "file"), and with `offsite` also to that bucket off the host. Default: none
   * (managed Redis and buckets keep their own backups).
   */
  readonly volumeBackup?: { readonly offsite?: OffsiteBucket };
  /** The same bucket with the restore drill's read-only access. Default: none, no drill. */
  readonly backupDrillBucket?: ObjectStoreEndpoint;
  /** Copy the managed Redis's daily snapshots to the DR region with this access. Default: none. */
  readonly redisExport?: RedisExportTarget;
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

/**
 * Creates Supabase, Backup, the API and extra services, Kong and Monitoring, in that order, on
 * `args.runtime`. Each database client gets the endpoint with its own generated login; the admin's
 * stays with the migration job.
 */
export function application(cfg: NorthstackConfig, secrets: StackSecrets, args: ApplicationArgs) {
  const { runtime, postgres, redis } = args;
  const { logins } = new DatabaseCredentials("db-login", { rotation: cfg.credentialRotation });

  const supabase = new Supabase(SUPABASE, {
    runtime,
    postgres,
    logins,
    jwtSecret: secrets.jwtSecret,
    services: cfg.supabase,
    exposedSchemas: cfg.postgres.exposedSchemas,
    projectMigrations: cfg.migrations.files,
    exampleNotes: cfg.migrations.exampleNotes,
    publicUrl: cfg.gateway.publicUrl,
    storage: args.storage,
    replicas: args.supabaseReplicas,
  });
  new Backup(BACKUP, {
    runtime,
    postgres: withLogin(postgres, logins.backup),
    bucket: args.backupBucket,
    drillBucket: args.backupDrillBucket,
    recorder: logins.recorder,
    dependsOn: supabase.migrations.resources,
  });

  if (args.redisExport) {
    new RedisExport(REDIS_EXPORT, {
      runtime,
      replicationGroupId: args.redisExport.replicationGroupId,
      bucket: args.redisExport.bucket,
      kmsKeyArn: args.redisExport.kmsKeyArn,
      postgres: withLogin(postgres, logins.recorder),
      dependsOn: supabase.migrations.resources,
    });
  }

  if (args.volumeBackup) {
    new VolumeBackup(VOLUME_BACKUP, {
      runtime,
      redis,
      storage:
        cfg.supabase.storage && args.storage.kind === "file"
          ? { workload: supabaseWorkload("storage"), volume: FILE_STORAGE_VOLUME }
          : undefined,
      postgres: withLogin(postgres, logins.recorder),
      offsite: args.volumeBackup.offsite,
      dependsOn: supabase.migrations.resources,
    });
  }

  const apiArgs = {
    runtime,
    cpuMillis: cfg.api.cpuMillis,
    memoryMb: cfg.api.memoryMb,
    postgres: withLogin(postgres, logins.api),
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

  // Not refused: without a dead man's switch the Watchdog still reaches a person once a day (see
  // renderAlertmanagerConfig), so a silent Alertmanager is noticed within a day rather than minutes.
  if (cfg.monitoring.enabled && cfg.profile.requiresAlertReceiver && cfg.secrets.deadMansSwitchUrl === undefined)
    pulumi.log.warn(
      `${cfg.environment}: northstack:deadMansSwitchUrl is unset, so a stopped Alertmanager is noticed only when the Watchdog's daily message fails to arrive; set the ping URL of an external check (pulumi config set --secret northstack:deadMansSwitchUrl https://...)`,
    );
  const monitoring = cfg.monitoring.enabled
    ? new Monitoring(MONITORING, {
        runtime,
        targets: [
          { job: API, workload: API },
          ...extraServices.map((s) => ({ job: s.name, workload: s.name })),
          { job: KONG, workload: KONG },
          ...supabase.metricsTargets,
        ],
        postgres: withLogin(postgres, logins.exporter),
        redis,
        grafanaHostPort: args.grafanaHostPort,
        alertReceivers: alertReceivers(cfg),
        metricsRetention: cfg.monitoring.retention,
        runbookBase: cfg.monitoring.alerts.runbookBase,
        nodeMetrics: cfg.monitoring.nodeMetrics,
        gatewayProbe: {
          // Docker publishes the gateway on the host's loopback address, which no container reaches:
          // there the probe asks the same proxy listener in-network.
          url: pulumi.interpolate`${runtime.kind === "docker" ? pulumi.interpolate`http://${kong.host}:${KONG_PROXY_PORT}` : kong.url}${GATEWAY_PROBE_PATH}`,
          // The anon key is what every client sends; the probe passes the same key-auth they do.
          headers: { apikey: supabase.anonKey },
        },
      })
    : undefined;

  return { supabase, kong, monitoring };
}
