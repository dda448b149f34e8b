import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { NorthstackConfig } from "./config";
import { studioLacksMeta } from "./config/checks";
import { DB_CLIENTS, DbClient, dbPasswordEnv } from "./db-roles";
import { ObjectStoreEndpoint, PostgresEndpoint, PostgresLogin, postgresUrl, s3ClientEnv, withLogin } from "./endpoints";
import { IMAGES } from "./images";
import { SUPABASE_KEY_LIFETIME_SECONDS, deriveKey, signHs256, supabaseKeyClaims } from "./jwt";
import { KONG_PROXY_PORT } from "./kong";
import { MIGRATIONS_DIR, MigrationFile, migrationJobScript, renderMigrations } from "./migrations";
import { ProjectMigration } from "./project-migrations";
import { DeployedWorkload, Runtime } from "./runtime/types";
import type { ScrapeTarget } from "./monitoring";
import { MIGRATIONS_LABEL, WorkloadSpec } from "./workload";

export type SupabaseServices = Omit<NorthstackConfig["supabase"], "studioHostPort" | "replicas"> & {
  readonly studioHostPort?: number;
};
export type SupabaseUpstreams = Partial<
  Record<"auth" | "rest" | "realtime" | "storage" | "meta" | "studio", pulumi.Output<string>>
>;

export interface SupabaseArgs {
  /** Where the containers run. Required. */
  readonly runtime: Runtime;
  /** The database, with the admin's login, which the migration job alone uses. Required. */
  readonly postgres: PostgresEndpoint;
  /**
   * Every client's own login (components/db-roles.ts). Each service gets its own; the migration
   * job gets all the passwords, since it sets them on every deploy. Required.
   */
  readonly logins: Readonly<Record<DbClient, PostgresLogin>>;
  /** HS256 secret shared by GoTrue, PostgREST, Realtime, Storage and the API, at least 32 characters. Required. */
  readonly jwtSecret: pulumi.Input<string>;
  /** Which services run; Studio needs meta. Required (config defaults: all on). */
  readonly services: SupabaseServices;
  /** Schemas PostgREST exposes; each gets RLS guarantees. Default: ["public"]. */
  readonly exposedSchemas?: readonly string[];
  /** Public base URL of the gateway, for auth redirects and storage URLs. Required. */
  readonly publicUrl: string;
  /** Where Storage keeps objects: a volume when kind is "file", else the S3 or GCS bucket with its access. Required. */
  readonly storage: ObjectStoreEndpoint;
  /**
   * Replicas of the stateless services (auth, rest, and storage on a bucket), so that the runtime
   * spreads them and gives them disruption budgets. Realtime keeps one: see realtimeSpec. Default: 1.
   */
  readonly replicas?: number;
  /** The project's own migrations (`<version>_<name>.sql`), each applied once, after ours and before the RLS guard. Default: none. */
  readonly projectMigrations?: readonly ProjectMigration[];
  /** Create the reference API's example `notes` table. Default: true. */
  readonly exampleNotes?: boolean;
  /** Name of the gateway workload that may call the services. Default: "kong". */
  readonly gatewayName?: string;
  /** In-network URL of the gateway, for Studio. Default: "http://kong:8000". */
  readonly gatewayInternalUrl?: string;
  /** `iat` of the anon and service_role keys, fixed so the keys are stable. Default: 1735689600 (2025-01-01). */
  readonly keysIssuedAt?: number;
  /** Confirm sign-ups without e-mail, since no SMTP server is wired yet. Default: true. */
  readonly mailerAutoconfirm?: boolean;
  /** Size of the file-storage volume in GiB (storage kind "file"). Default: 10. */
  readonly fileStorageGb?: number;
}

/** Throws, naming the argument and what is allowed, before any resource is registered. */
export function validateSupabaseArgs(
  args: Pick<SupabaseArgs, "services" | "publicUrl" | "exposedSchemas" | "projectMigrations" | "keysIssuedAt"> &
    Partial<Pick<SupabaseArgs, "replicas" | "storage">>,
): void {
  if (studioLacksMeta(args.services))
    throw new Error(
      "services.studio is true but services.meta is false; Studio needs postgres-meta, enable meta or disable studio",
    );
  if (args.replicas !== undefined && (!Number.isInteger(args.replicas) || args.replicas < 1)) {
    throw new Error(`replicas ${JSON.stringify(args.replicas)} is not allowed; use an integer >= 1`);
  }
  if (args.services.storage && args.storage && args.storage.kind !== "file" && !args.storage.access) {
    throw new Error(
      `storage: a ${args.storage.kind} bucket needs access (credentials or a ServiceAccount with a cloud identity); without it every upload fails`,
    );
  }
  try {
    const url = new URL(args.publicUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error();
  } catch {
    throw new Error(
      `publicUrl ${JSON.stringify(args.publicUrl)} is not allowed; use an http(s) URL such as http://localhost:8000`,
    );
  }
  if (args.keysIssuedAt !== undefined && (!Number.isInteger(args.keysIssuedAt) || args.keysIssuedAt <= 0)) {
    throw new Error(
      `keysIssuedAt ${JSON.stringify(args.keysIssuedAt)} is not allowed; use a positive integer (seconds since the epoch)`,
    );
  }
  renderMigrations({ exposedSchemas: args.exposedSchemas, project: args.projectMigrations });
}

const DEFAULT_KEYS_ISSUED_AT = 1735689600;

/**
 * The port each service listens on, declared once: its spec, health check, listen-port env and the
 * URLs other workloads use all read it from here.
 */
export const SUPABASE_PORTS = {
  auth: 9999,
  /** GoTrue's Prometheus exporter, a listener of its own. */
  authMetrics: 9100,
  rest: 3000,
  /** PostgREST's admin server, which answers /ready. */
  restAdmin: 3001,
  realtime: 4000,
  storage: 5000,
  meta: 8080,
  studio: 3000,
} as const;

interface ServiceContext {
  readonly name: string;
  readonly args: SupabaseArgs;
  readonly jwtSecret: pulumi.Output<string>;
  readonly anonKey: pulumi.Output<string>;
  readonly serviceRoleKey: pulumi.Output<string>;
  readonly gateway: string;
  /** Realtime's METRICS_JWT_SECRET and the scrapers' token signed with it; present when Realtime runs. */
  readonly realtimeMetrics?: RealtimeMetricsAuth;
}

interface RealtimeMetricsAuth {
  readonly secret: pulumi.Output<string>;
  readonly token: pulumi.Output<string>;
}

/**
 * The claims of the token Prometheus presents to Realtime's /metrics, which checks the HS256
 * signature against METRICS_JWT_SECRET and that `exp` lies ahead; the role merely names the holder.
 * As read in the pinned Realtime's source (its router's metrics pipeline and JWT verification), the
 * header must also say `typ: "JWT"`, the token must not be listed in METRICS_TOKEN_BLOCKLIST, and
 * every claim named in JWT_CLAIM_VALIDATORS must match; realtimeSpec sets neither of the two, so
 * these claims suffice. Setting JWT_CLAIM_VALIDATORS would lock Prometheus out unless added here.
 * The lifetime is the API keys' and `iat` is fixed by the caller, so the token, and Prometheus's
 * Secret, stay the same across deployments; rotating the secret re-signs it.
 */
export function realtimeMetricsClaims(issuedAt: number): Record<string, unknown> {
  return { iss: "northstack", role: "prometheus", iat: issuedAt, exp: issuedAt + SUPABASE_KEY_LIFETIME_SECONDS };
}

const httpCheck = (port: number, path: string): string[] => [
  "wget",
  "--no-verbose",
  "--tries=1",
  "--spider",
  `http://127.0.0.1:${port}${path}`,
];
const nodeHttpCheck = (port: number, path: string): string[] => [
  "node",
  "-e",
  `fetch('http://127.0.0.1:${port}${path}').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
];

function authSpec({ name, args, jwtSecret, gateway }: ServiceContext): WorkloadSpec {
  const pg = args.postgres;
  const port = SUPABASE_PORTS.auth;
  const metricsPort = SUPABASE_PORTS.authMetrics;
  return {
    name: `${name}-auth`,
    component: "supabase",
    image: IMAGES.gotrue.image,
    ports: [
      { name: "http", port },
      { name: "metrics", port: metricsPort },
    ],
    env: {
      GOTRUE_API_HOST: "0.0.0.0",
      GOTRUE_API_PORT: String(port),
      API_EXTERNAL_URL: args.publicUrl,
      GOTRUE_SITE_URL: args.publicUrl,
      GOTRUE_DB_DRIVER: "postgres",
      GOTRUE_DISABLE_SIGNUP: "false",
      GOTRUE_EXTERNAL_EMAIL_ENABLED: "true",
      GOTRUE_MAILER_AUTOCONFIRM: String(args.mailerAutoconfirm ?? true),
      GOTRUE_JWT_ADMIN_ROLES: "service_role",
      GOTRUE_JWT_AUD: "authenticated",
      GOTRUE_JWT_DEFAULT_GROUP_NAME: "authenticated",
      GOTRUE_JWT_EXP: "3600",
      GOTRUE_METRICS_ENABLED: "true",
      GOTRUE_METRICS_EXPORTER: "prometheus",
      OTEL_EXPORTER_PROMETHEUS_HOST: "0.0.0.0",
      OTEL_EXPORTER_PROMETHEUS_PORT: String(metricsPort),
    },
    secretEnv: {
      GOTRUE_DB_DATABASE_URL: postgresUrl(withLogin(pg, args.logins.auth)),
      GOTRUE_JWT_SECRET: jwtSecret,
    },
    scratch: [{ mountPath: "/tmp" }],
    health: { exec: httpCheck(port, "/health"), httpGet: { path: "/health", port } },
    resources: { cpuMillis: 250, memoryMb: 128 },
    user: { uid: IMAGES.gotrue.uid, gid: IMAGES.gotrue.gid },
    replicas: args.replicas,
    allowFrom: [gateway],
    metrics: { port: metricsPort, path: "/metrics" },
  };
}

function restSpec({ name, args, jwtSecret, gateway }: ServiceContext): WorkloadSpec {
  const schemas = args.exposedSchemas ?? ["public"];
  const admin = SUPABASE_PORTS.restAdmin;
  return {
    name: `${name}-rest`,
    component: "supabase",
    image: IMAGES.postgrest.image,
    ports: [
      { name: "http", port: SUPABASE_PORTS.rest },
      { name: "admin", port: admin },
    ],
    env: {
      PGRST_DB_SCHEMAS: schemas.join(","),
      PGRST_DB_ANON_ROLE: "anon",
      PGRST_DB_EXTRA_SEARCH_PATH: "public,extensions",
      PGRST_DB_MAX_ROWS: "1000",
      PGRST_ADMIN_SERVER_PORT: String(admin),
    },
    secretEnv: {
      PGRST_DB_URI: postgresUrl(withLogin(args.postgres, args.logins.rest)),
      PGRST_JWT_SECRET: jwtSecret,
    },
    // `postgrest --ready` asks the admin server's /ready (connection pool and schema cache); the image has no shell or HTTP client.
    health: { exec: ["postgrest", "--ready"], httpGet: { path: "/ready", port: admin } },
    resources: { cpuMillis: 250, memoryMb: 128 },
    user: { uid: IMAGES.postgrest.uid, gid: IMAGES.postgrest.gid },
    replicas: args.replicas,
    allowFrom: [gateway, ...(args.services.storage ? [`${name}-storage`] : [])],
    // The admin server serves /metrics since PostgREST 12.2.
    metrics: { port: admin, path: "/metrics" },
  };
}

/**
 * Realtime runs one replica: without Erlang clustering (DNS_NODES is empty) a second node would open
 * its own replication connection per tenant and broadcasts and presence would not reach clients on
 * the other node.
 */
function realtimeSpec({ name, args, jwtSecret, gateway, realtimeMetrics }: ServiceContext): WorkloadSpec {
  const pg = args.postgres;
  const port = SUPABASE_PORTS.realtime;
  if (!realtimeMetrics) throw new Error(`${name}-realtime: no metrics secret was generated for Realtime`);
  return {
    name: `${name}-realtime`,
    component: "supabase",
    image: IMAGES.realtime.image,
    ports: [{ name: "http", port }],
    env: {
      PORT: String(port),
      DB_HOST: pg.host,
      DB_PORT: pg.port.apply(String),
      DB_USER: args.logins.realtime.user,
      DB_NAME: pg.database,
      DB_SSL: String(pg.sslMode !== "disable"),
      DB_AFTER_CONNECT_QUERY: "SET search_path TO _realtime",
      ERL_AFLAGS: "-proto_dist inet_tcp",
      DNS_NODES: "''",
      RLIMIT_NOFILE: "10000",
      APP_NAME: "realtime",
      SEED_SELF_HOST: "true",
      // Realtime takes the tenant from the first label of the Host header, which is this service's
      // own name as the gateway addresses it (Docker alias or Kubernetes Service), so the seeded tenant is named the same.
      SELF_HOST_TENANT_NAME: `${name}-realtime`,
      RUN_JANITOR: "true",
      RELEASE_TMP: "/tmp",
    },
    secretEnv: {
      DB_PASSWORD: args.logins.realtime.password,
      API_JWT_SECRET: jwtSecret,
      SECRET_KEY_BASE: jwtSecret.apply((s) => deriveKey(s, "realtime-secret-key-base", 64)),
      // AES-128 key for tenant secrets stored in _realtime: exactly 16 characters.
      DB_ENC_KEY: jwtSecret.apply((s) => deriveKey(s, "realtime-db-enc-key", 16)),
      // /metrics answers only a bearer token signed (HS256) with this.
      METRICS_JWT_SECRET: realtimeMetrics.secret,
    },
    scratch: [{ mountPath: "/tmp" }],
    health: {
      exec: ["curl", "-sSf", "-o", "/dev/null", `http://127.0.0.1:${port}/api/ping`],
      httpGet: { path: "/api/ping", port },
      startSeconds: 30,
    },
    resources: { cpuMillis: 500, memoryMb: 256 },
    user: { uid: IMAGES.realtime.uid, gid: IMAGES.realtime.gid },
    // The Elixir release writes its generated runtime configuration under the release directory at boot.
    readOnlyRootFilesystem: false,
    allowFrom: [gateway],
    // On the API port, which the gateway reaches only under /socket and /api (kong-config.ts).
    metrics: { port, path: "/metrics", bearerToken: realtimeMetrics.token },
  };
}

const FILE_STORAGE_PATH = "/var/lib/storage";
/** The Storage workload's volume of objects (storage kind "file"); the dev volume backup mounts it read-only. */
export const FILE_STORAGE_VOLUME = "objects";

/**
 * Storage keeps objects on a volume (dev) or in the stack's storage bucket through the S3 API: on
 * AWS with the credentials EKS Pod Identity gives its ServiceAccount, on GCS through the XML API
 * with an HMAC key as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the AWS SDK's default credential
 * chain reads either). The GLOBAL_S3_* names are the ones storage-api v1 reads (as fallbacks of STORAGE_S3_*).
 */
function storageSpec({ name, args, jwtSecret, anonKey, serviceRoleKey, gateway }: ServiceContext): WorkloadSpec {
  const store = args.storage;
  const access = store.access;
  const port = SUPABASE_PORTS.storage;
  const backend: Record<string, pulumi.Input<string>> = store.kind === "file"
    ? { STORAGE_BACKEND: "file", FILE_STORAGE_BACKEND_PATH: FILE_STORAGE_PATH, GLOBAL_S3_BUCKET: store.bucket }
    : {
        STORAGE_BACKEND: "s3",
        GLOBAL_S3_BUCKET: store.bucket,
        ...(access?.endpoint ? { GLOBAL_S3_ENDPOINT: access.endpoint } : {}),
        ...(access?.forcePathStyle ? { GLOBAL_S3_FORCE_PATH_STYLE: "true" } : {}),
      };
  return {
    name: `${name}-storage`,
    component: "supabase",
    image: IMAGES.storage.image,
    ports: [{ name: "http", port }],
    env: {
      ...backend,
      REGION: store.region,
      TENANT_ID: "northstack",
      FILE_SIZE_LIMIT: String(50 * 1024 * 1024),
      STORAGE_PUBLIC_URL: args.publicUrl,
      REQUEST_ALLOW_X_FORWARDED_PATH: "true",
      ...(args.services.rest ? { POSTGREST_URL: `http://${name}-rest:${SUPABASE_PORTS.rest}` } : {}),
    },
    secretEnv: {
      ANON_KEY: anonKey,
      SERVICE_KEY: serviceRoleKey,
      PGRST_JWT_SECRET: jwtSecret,
      AUTH_JWT_SECRET: jwtSecret,
      DATABASE_URL: postgresUrl(withLogin(args.postgres, args.logins.storage)),
      ...s3ClientEnv(store).secretEnv,
    },
    serviceAccount: access?.serviceAccount,
    volumes:
      store.kind === "file"
        ? [{ name: FILE_STORAGE_VOLUME, mountPath: FILE_STORAGE_PATH, sizeGb: args.fileStorageGb ?? 10 }]
        : [],
    // Objects on a volume are one pod's; in a bucket every replica sees them.
    replicas: store.kind === "file" ? 1 : args.replicas,
    scratch: [{ mountPath: "/tmp", sizeMb: 256 }],
    health: { exec: httpCheck(port, "/status"), httpGet: { path: "/status", port } },
    resources: { cpuMillis: 250, memoryMb: 256 },
    user: { uid: IMAGES.storage.uid, gid: IMAGES.storage.gid },
    allowFrom: [gateway],
    // storage-api v1.11 serves /metrics (storage_api_* process and route metrics, on unless
    // DEFAULT_METRICS_ENABLED=false) on its API port when single-tenant; its admin port is multi-tenant only.
    metrics: { port, path: "/metrics" },
  };
}

function metaSpec({ name, args, jwtSecret, gateway }: ServiceContext): WorkloadSpec {
  const pg = args.postgres;
  const port = SUPABASE_PORTS.meta;
  return {
    name: `${name}-meta`,
    component: "supabase",
    image: IMAGES.meta.image,
    ports: [{ name: "http", port }],
    env: {
      PG_META_PORT: String(port),
      PG_META_DB_HOST: pg.host,
      PG_META_DB_PORT: pg.port.apply(String),
      PG_META_DB_NAME: pg.database,
      PG_META_DB_USER: args.logins.meta.user,
      PG_META_DB_SSL_MODE: pg.sslMode,
    },
    secretEnv: {
      PG_META_DB_PASSWORD: args.logins.meta.password,
      CRYPTO_KEY: jwtSecret.apply((s) => deriveKey(s, "pg-meta-crypto-key", 32)),
    },
    scratch: [{ mountPath: "/tmp" }],
    health: { exec: nodeHttpCheck(port, "/health"), httpGet: { path: "/health", port } },
    resources: { cpuMillis: 250, memoryMb: 128 },
    user: { uid: IMAGES.meta.uid, gid: IMAGES.meta.gid },
    allowFrom: [gateway, ...(args.services.studio ? [`${name}-studio`] : [])],
  };
}

function studioSpec({ name, args, jwtSecret, anonKey, serviceRoleKey, gateway }: ServiceContext): WorkloadSpec {
  const pg = args.postgres;
  const port = SUPABASE_PORTS.studio;
  return {
    name: `${name}-studio`,
    component: "supabase",
    image: IMAGES.studio.image,
    ports: [{ name: "http", port, hostPort: args.services.studioHostPort }],
    env: {
      HOSTNAME: "0.0.0.0",
      STUDIO_PG_META_URL: `http://${name}-meta:${SUPABASE_PORTS.meta}`,
      SUPABASE_URL: args.gatewayInternalUrl ?? `http://kong:${KONG_PROXY_PORT}`,
      SUPABASE_PUBLIC_URL: args.publicUrl,
      DEFAULT_ORGANIZATION_NAME: "northstack",
      DEFAULT_PROJECT_NAME: `northstack-${args.runtime.stack}`,
      POSTGRES_HOST: pg.host,
      POSTGRES_PORT: pg.port.apply(String),
      POSTGRES_DB: pg.database,
      // Studio sends postgres-meta a connection string of its own; these name Studio's login.
      POSTGRES_USER_READ_WRITE: args.logins.studio.user,
      POSTGRES_USER_READ_ONLY: args.logins.studio.user,
      NEXT_TELEMETRY_DISABLED: "1",
    },
    secretEnv: {
      POSTGRES_PASSWORD: args.logins.studio.password,
      SUPABASE_ANON_KEY: anonKey,
      SUPABASE_SERVICE_KEY: serviceRoleKey,
      AUTH_JWT_SECRET: jwtSecret,
      PG_META_CRYPTO_KEY: jwtSecret.apply((s) => deriveKey(s, "pg-meta-crypto-key", 32)),
    },
    scratch: [{ mountPath: "/tmp" }],
    health: { exec: nodeHttpCheck(port, "/api/profile"), httpGet: { path: "/api/profile", port }, startSeconds: 30 },
    resources: { cpuMillis: 500, memoryMb: 512 },
    user: { uid: IMAGES.studio.uid, gid: IMAGES.studio.gid },
    // The Next.js server writes its cache under .next in the application directory.
    readOnlyRootFilesystem: false,
    allowFrom: [gateway],
  };
}

/**
 * The migration job: the postgres image's psql applies the files under /migrations as the admin in
 * one transaction (project files once each, recorded with their checksums), then sets every client
 * role's password, each from its own secret env.
 */
export function migrationJobSpec(
  name: string,
  postgres: PostgresEndpoint,
  files: readonly MigrationFile[],
  logins: Readonly<Record<DbClient, PostgresLogin>>,
): WorkloadSpec {
  return {
    name: `${name}-migrate`,
    component: "migrations",
    kind: "job",
    image: IMAGES.postgres.image,
    command: ["sh", "-c", migrationJobScript(files, MIGRATIONS_DIR)],
    env: {
      PGHOST: postgres.host,
      PGPORT: postgres.port.apply(String),
      PGDATABASE: postgres.database,
      PGUSER: postgres.login.user,
      PGSSLMODE: postgres.sslMode,
      PGCONNECT_TIMEOUT: "10",
    },
    secretEnv: {
      PGPASSWORD: postgres.login.password,
      ...Object.fromEntries(DB_CLIENTS.map((client) => [dbPasswordEnv(client), logins[client].password])),
    },
    files: files.map((f) => ({ path: `${MIGRATIONS_DIR}/${f.name}`, content: f.sql })),
    labels: { [MIGRATIONS_LABEL]: "true" },
    scratch: [{ mountPath: "/tmp", sizeMb: 16 }],
    resources: { cpuMillis: 250, memoryMb: 128 },
    user: { uid: IMAGES.postgres.uid, gid: IMAGES.postgres.gid },
  };
}

/** One spec per service; each one's upstream URL uses its SUPABASE_PORTS entry. */
const SERVICE_SPECS = {
  auth: authSpec,
  rest: restSpec,
  realtime: realtimeSpec,
  storage: storageSpec,
  meta: metaSpec,
  studio: studioSpec,
} as const;

/**
 * Supabase on top of a Postgres endpoint: the migration job (roles, auth helpers, RLS-protected
 * example schema), the services toggled in `services`, and the anon / service_role API keys
 * signed from the JWT secret. Every service waits for the migrations.
 */
export class Supabase extends pulumi.ComponentResource {
  /** JWT for the anon role, a secret. */
  readonly anonKey: pulumi.Output<string>;
  /** JWT for service_role (bypasses RLS), a secret. */
  readonly serviceRoleKey: pulumi.Output<string>;
  /** In-network base URLs of the enabled services, for the gateway. */
  readonly upstreams: SupabaseUpstreams;
  /** The migration job; the API and the services depend on it. */
  readonly migrations: DeployedWorkload;
  /**
   * The deployed services that serve Prometheus metrics (GoTrue, PostgREST, Realtime with the bearer
   * token its /metrics demands, Storage), each its own job; meta and Studio serve none that this
   * project has verified for the pinned versions.
   */
  readonly metricsTargets: readonly ScrapeTarget[];

  constructor(name: string, args: SupabaseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("northstack:data:Supabase", name, {}, opts);
    validateSupabaseArgs(args);
    const files = renderMigrations({
      exposedSchemas: args.exposedSchemas,
      exampleNotes: args.exampleNotes,
      project: args.projectMigrations,
    });

    const jwtSecret = pulumi.secret(args.jwtSecret);
    const issuedAt = args.keysIssuedAt ?? DEFAULT_KEYS_ISSUED_AT;
    this.anonKey = pulumi.secret(jwtSecret.apply((s) => signHs256(supabaseKeyClaims("anon", issuedAt), s)));
    this.serviceRoleKey = pulumi.secret(
      jwtSecret.apply((s) => signHs256(supabaseKeyClaims("service_role", issuedAt), s)),
    );

    this.migrations = args.runtime.deploy(migrationJobSpec(name, args.postgres, files, args.logins), this);

    // A secret of Realtime's own, so that the metrics token grants nothing else.
    const realtimeMetricsSecret = args.services.realtime
      ? pulumi.secret(
          new random.RandomPassword(`${name}-realtime-metrics-jwt`, { length: 64, special: false }, { parent: this })
            .result,
        )
      : undefined;
    const context: ServiceContext = {
      name,
      args,
      jwtSecret,
      anonKey: this.anonKey,
      serviceRoleKey: this.serviceRoleKey,
      gateway: args.gatewayName ?? "kong",
      realtimeMetrics: realtimeMetricsSecret && {
        secret: realtimeMetricsSecret,
        token: pulumi.secret(realtimeMetricsSecret.apply((s) => signHs256(realtimeMetricsClaims(issuedAt), s))),
      },
    };
    const upstreams: SupabaseUpstreams = {};
    const metricsTargets: ScrapeTarget[] = [];
    for (const [service, spec] of Object.entries(SERVICE_SPECS) as [
      keyof typeof SERVICE_SPECS,
      (typeof SERVICE_SPECS)[keyof typeof SERVICE_SPECS],
    ][]) {
      if (!args.services[service]) continue;
      const identity = service === "storage" ? (args.storage.access?.dependsOn ?? []) : [];
      const serviceSpec = spec(context);
      const deployed = args.runtime.deploy(serviceSpec, this, {
        dependsOn: [...this.migrations.resources, ...identity],
      });
      if (serviceSpec.metrics)
        metricsTargets.push({
          job: serviceSpec.name,
          workload: serviceSpec.name,
          ...(serviceSpec.metrics.bearerToken !== undefined ? { bearerToken: serviceSpec.metrics.bearerToken } : {}),
        });
      upstreams[service] = pulumi.interpolate`http://${deployed.host}:${SUPABASE_PORTS[service]}`;
    }
    this.upstreams = upstreams;
    this.metricsTargets = metricsTargets;

    this.registerOutputs({
      anonKey: this.anonKey,
      serviceRoleKey: this.serviceRoleKey,
      ...upstreams,
    });
  }
}
