/**
 * What the stack config is: every key under the `northstack:` namespace with its type, default and
 * limits (`CONFIG_SCHEMA`, which `Pulumi.yaml` mirrors), and the typed `NorthstackConfig` that
 * `parseConfig` returns.
 */

import type { ProjectMigration } from "../project-migrations";
import { DB_CLIENTS, DbClient } from "../db-roles";
import { ENVIRONMENTS, Environment, EnvironmentProfile } from "./profile";
import { DOCKER_CGROUP_DRIVERS, DockerCgroupDriver } from "../runtime/docker-cgroups";

export const CONFIG_NAMESPACE = "northstack";

export const CLOUDS = ["local", "aws", "gcp"] as const;
export type Cloud = (typeof CLOUDS)[number];
export type ManagedCloud = Exclude<Cloud, "local">;

/** Primary and disaster-recovery regions per cloud (DESIGN.md, "Regions"). */
export const CANADIAN_REGIONS: Record<ManagedCloud, { primary: string; dr: string; allowed: readonly string[] }> = {
  aws: { primary: "ca-central-1", dr: "ca-west-1", allowed: ["ca-central-1", "ca-west-1"] },
  gcp: {
    primary: "northamerica-northeast1",
    dr: "northamerica-northeast2",
    allowed: ["northamerica-northeast1", "northamerica-northeast2"],
  },
};

type ScalarType = "string" | "integer" | "boolean";

export interface ConfigKeySpec {
  /** `object`: a JSON object of string values (only secret keys, which Pulumi.yaml does not type). */
  readonly type: ScalarType | "array" | "object";
  readonly description: string;
  /**
   * Value used when the key is absent. Every non-secret key has one, since the Pulumi CLI refuses a
   * stack that leaves a typed key without a default unset; `""` means "not set".
   */
  readonly default?: string | number | boolean | readonly string[];
  /**
   * Secret keys have no default (the CLI rejects a plain default for a secret key) and are optional:
   * Pulumi.yaml lists them under `template.config`, so `pulumi new` prompts for them encrypted.
   */
  readonly secret?: boolean;
  /** Allowed values for enumerations. */
  readonly oneOf?: readonly string[];
  readonly min?: number;
  readonly max?: number;
}

/** The network a stack creates when northstack:vpcCidr is empty. */
export const DEFAULT_VPC_CIDR = "10.40.0.0/16";

/** Every key the program reads, under the `northstack:` namespace. */
export const CONFIG_SCHEMA = {
  environment: {
    type: "string",
    description: "Which environment this stack is; empty: the stack name, when that is dev, staging or prod.",
    default: "",
    oneOf: ENVIRONMENTS,
  },
  cloud: {
    type: "string",
    description: "Where data services run: local containers (dev) or a managed cloud (staging, prod).",
    default: "local",
    oneOf: CLOUDS,
  },
  region: { type: "string", description: "Primary region; empty: the cloud's Canadian primary region.", default: "" },
  drRegion: {
    type: "string",
    description: "Region for disaster-recovery copies; empty: the cloud's Canadian DR region.",
    default: "",
  },

  apiImage: {
    type: "string",
    description: "Pinned API image (tag or digest). Empty on dev: the reference API in app/ is built locally.",
    default: "",
  },
  services: {
    type: "array",
    description: "More API services behind the gateway, as name=image (routed at /<name>/v1, deployed like the API).",
    default: [],
  },
  apiReplicas: {
    type: "integer",
    description: "API replicas (the HPA minimum on Kubernetes).",
    default: 1,
    min: 1,
    max: 100,
  },
  apiMaxReplicas: {
    type: "integer",
    description: "HPA maximum for the API on Kubernetes.",
    default: 3,
    min: 1,
    max: 200,
  },
  apiCpuMillis: { type: "integer", description: "API CPU limit in millicores.", default: 250, min: 50, max: 16000 },
  apiMemoryMb: { type: "integer", description: "API memory limit in MiB.", default: 256, min: 64, max: 65536 },
  apiEnv: {
    type: "array",
    description: "Extra environment for the API, as KEY=value (plain; use apiSecretEnv for credentials).",
    default: [],
  },
  apiSecretEnv: {
    type: "object",
    description:
      'Extra secret environment for the API, a JSON object of KEY to value: pulumi config set --secret northstack:apiSecretEnv \'{"KEY":"value"}\'.',
    secret: true,
  },

  exposedSchemas: {
    type: "array",
    description: "Schemas the REST API exposes; every table in them must have RLS and a policy.",
    default: ["public"],
  },
  // The project's own schema: its migrations folder, and the reference example table.
  migrationsDir: {
    type: "string",
    description:
      "Folder of the project's migrations, relative to the project root (the Supabase CLI layout): every *.sql file, named <version>_<name>.sql, is applied once in name order and recorded with its checksum.",
    default: "supabase/migrations",
  },
  exampleNotes: {
    type: "boolean",
    description: "Create the reference API's example notes table (RLS: each user sees only their own notes).",
    default: true,
  },
  postgresMemoryMb: {
    type: "integer",
    description: "Memory for the Postgres container; postgresql.conf is tuned from it.",
    default: 1024,
    min: 256,
    max: 262144,
  },
  postgresStorageGb: {
    type: "integer",
    description: "Allocated Postgres storage in GiB.",
    default: 20,
    min: 10,
    max: 65536,
  },
  postgresInstanceClass: { type: "string", description: "RDS instance class (aws).", default: "db.t4g.medium" },
  postgresTier: { type: "string", description: "Cloud SQL machine tier (gcp).", default: "db-custom-2-7680" },
  postgresHa: {
    type: "boolean",
    description: "Multi-AZ (aws) or REGIONAL (gcp) Postgres; required on prod.",
    default: false,
  },
  deletionProtection: {
    type: "boolean",
    description: "Deletion protection and final snapshots on managed data services; required on prod.",
    default: false,
  },
  backupRetentionDays: {
    type: "integer",
    description: "Days of automated backups and PITR.",
    default: 7,
    min: 1,
    max: 35,
  },
  backupOffsiteBucket: {
    type: "string",
    description:
      "Off-host copy of the dev Postgres backups: every pgBackRest backup and WAL segment also goes to this S3-compatible bucket (repo2). Only where Postgres runs in a container (dev); empty: backups stay on the Docker host.",
    default: "",
  },
  backupOffsiteEndpoint: {
    type: "string",
    description:
      "S3-compatible endpoint of backupOffsiteBucket, as host[:port] without a scheme or credentials, e.g. s3.ca-central-1.amazonaws.com or minio.lan:9000. An AWS endpoint must be in a Canadian region; any other endpoint's location is the operator's responsibility.",
    default: "",
  },
  backupOffsiteRegion: {
    type: "string",
    description:
      "Region of backupOffsiteBucket: ca-central-1 or ca-west-1 on AWS; what the store expects elsewhere (MinIO: its configured region, usually us-east-1).",
    default: "",
  },
  backupOffsitePath: {
    type: "string",
    description: "Path of the repository inside backupOffsiteBucket; empty: /pgbackrest.",
    default: "",
  },
  backupOffsiteUriStyle: {
    type: "string",
    description: "How the bucket is addressed: host (bucket.endpoint, AWS) or path (endpoint/bucket, MinIO).",
    default: "host",
    oneOf: ["host", "path"],
  },
  backupOffsiteVerifyTls: {
    type: "boolean",
    description: "Verify the endpoint's TLS certificate; false only for a LAN store with a self-signed certificate.",
    default: true,
  },

  redisMemoryMb: { type: "integer", description: "Redis maxmemory in MiB.", default: 256, min: 32, max: 262144 },
  redisNodeType: { type: "string", description: "ElastiCache node type (aws).", default: "cache.t4g.small" },
  redisHa: {
    type: "boolean",
    description:
      "Replicated Redis with automatic failover (ElastiCache Multi-AZ, Memorystore STANDARD_HA); required on prod.",
    default: false,
  },

  supabaseAuth: { type: "boolean", description: "Run Supabase auth (GoTrue).", default: true },
  supabaseRest: { type: "boolean", description: "Run Supabase REST (PostgREST).", default: true },
  supabaseRealtime: { type: "boolean", description: "Run Supabase realtime.", default: true },
  supabaseStorage: { type: "boolean", description: "Run Supabase storage.", default: true },
  supabaseMeta: { type: "boolean", description: "Run postgres-meta (Studio's backend).", default: true },
  supabaseStudio: { type: "boolean", description: "Run Supabase Studio (needs meta).", default: true },

  publicUrl: {
    type: "string",
    description:
      "Public origin of the gateway, used for auth redirects: http(s)://host[:port] with a DNS host name (labels of at most 63 characters) or an IP address; no user name or password, path, query or fragment. https on staging and prod.",
    default: "http://localhost:8000",
  },
  corsOrigins: {
    type: "array",
    description:
      "Origins allowed by the gateway's CORS plugin, each http(s)://host[:port]; no user name or password, path, query or fragment.",
    default: ["http://localhost:3000"],
  },
  rateLimitRequests: {
    type: "integer",
    description: "Requests per client per window at the gateway.",
    default: 100,
    min: 1,
    max: 1000000,
  },
  rateLimitWindowMinutes: {
    type: "integer",
    description: "Gateway rate-limit window in minutes.",
    default: 15,
    min: 1,
    max: 1440,
  },
  adminAllowCidrs: {
    type: "array",
    description: "Client CIDRs allowed on admin-only gateway routes (/pg).",
    default: ["127.0.0.1/32"],
  },
  maxRequestSizeMb: {
    type: "integer",
    description: "Largest request body the gateway accepts, in MiB.",
    default: 10,
    min: 1,
    max: 1024,
  },

  monitoring: {
    type: "boolean",
    description: "Run Prometheus, Alertmanager, Grafana, Loki and the exporters.",
    default: true,
  },
  grafanaPort: {
    type: "integer",
    description: "Host port (127.0.0.1) for Grafana on dev.",
    default: 3001,
    min: 1024,
    max: 65535,
  },
  logIntakePort: {
    type: "integer",
    description:
      "UDP host port (127.0.0.1) where the Docker daemon sends every container's output to the log shipper on dev.",
    default: 12201,
    min: 1024,
    max: 65535,
  },
  metricsRetentionDays: {
    type: "integer",
    description: "Days of metrics Prometheus keeps (the size cap may drop them sooner).",
    default: 15,
    min: 1,
    max: 3650,
  },
  metricsRetentionGb: {
    type: "integer",
    description: "Size cap of Prometheus's stored metrics, in GB; at most 80% of metricsVolumeGb.",
    default: 16,
    min: 1,
    max: 10000,
  },
  metricsVolumeGb: {
    type: "integer",
    description: "Size of Prometheus's volume, in GB.",
    default: 20,
    min: 2,
    max: 16000,
  },
  nodeMetrics: {
    type: "string",
    description:
      'node_exporter on every node (Kubernetes: a DaemonSet with read-only host paths in its own "privileged" namespace) or on the Docker host. auto: on, except on GCP, where a managed cluster is GKE Autopilot, which refuses host paths (true is then an error), and an existing cluster may be too (set true for a GKE Standard cluster).',
    default: "auto",
    oneOf: ["auto", "true", "false"],
  },
  alertWebhookUrl: {
    type: "string",
    description: "Generic webhook (https) that receives every Alertmanager notification, critical and warning.",
    secret: true,
  },
  alertEmailTo: {
    type: "string",
    description:
      "Address that receives warning alerts (and critical ones without PagerDuty) by email; needs alertSmtpSmarthost.",
    default: "",
  },
  alertEmailFrom: { type: "string", description: "Sender address of alert email; empty: alertEmailTo.", default: "" },
  alertSmtpSmarthost: {
    type: "string",
    description: "SMTP server for alert email, as host:port (STARTTLS required; 465: implicit TLS).",
    default: "",
  },
  alertSmtpPassword: {
    type: "string",
    description: "SMTP password for alert email; the user name is alertEmailFrom.",
    secret: true,
  },
  alertSlackWebhookUrl: {
    type: "string",
    description: "Slack incoming-webhook URL that receives warning alerts (and critical ones without PagerDuty).",
    secret: true,
  },
  alertSlackChannel: {
    type: "string",
    description: "Slack channel for alerts, e.g. #oncall; empty: the webhook's own channel.",
    default: "",
  },
  alertPagerdutyRoutingKey: {
    type: "string",
    description: "PagerDuty Events API v2 routing key that critical alerts page.",
    secret: true,
  },
  deadMansSwitchUrl: {
    type: "string",
    description:
      "Dead man's switch (https) that receives the always-firing Watchdog every 5 minutes and alarms when it stops; without one the Watchdog is a daily message to chat or mail.",
    secret: true,
  },
  runbookBase: {
    type: "string",
    description:
      "Where the runbooks are read (docs/runbooks.md of this repository on its hosting, as an https URL); each alert links to <runbookBase>#<alert, lower-cased>. Empty: the repository path docs/runbooks.md.",
    default: "",
  },
  gatewayPort: {
    type: "integer",
    description: "Host port (127.0.0.1) for the gateway on dev.",
    default: 8000,
    min: 1024,
    max: 65535,
  },
  apiPort: {
    type: "integer",
    description: "Host port (127.0.0.1) for the API on dev.",
    default: 8080,
    min: 1024,
    max: 65535,
  },
  studioPort: {
    type: "integer",
    description: "Host port (127.0.0.1) for Studio on dev.",
    default: 3000,
    min: 1024,
    max: 65535,
  },
  dockerSubnet: { type: "string", description: "Subnet of the dev stack's Docker network.", default: "172.28.0.0/16" },
  dockerCgroupDriver: {
    type: "string",
    description:
      "The Docker engine's cgroup driver (docker info --format '{{.CgroupDriver}}'), which names each dev container's cgroup for cAdvisor.",
    default: "systemd",
    oneOf: DOCKER_CGROUP_DRIVERS,
  },

  vpcCidr: {
    type: "string",
    description: `CIDR of the VPC (aws) or network (gcp); empty: ${DEFAULT_VPC_CIDR} for one the stack creates. Required with vpcId.`,
    default: "",
  },
  vpcId: {
    type: "string",
    description: "Existing VPC (aws) or network (gcp) to use instead of creating one.",
    default: "",
  },
  privateSubnetIds: { type: "array", description: "Existing private subnets, with vpcId (aws).", default: [] },

  cluster: {
    type: "string",
    description:
      "existing: deploy to the cluster in northstack:kubeconfig; managed: create EKS or GKE Autopilot in Canada.",
    default: "existing",
    oneOf: ["existing", "managed"],
  },
  kubeconfig: {
    type: "string",
    description: "Kubeconfig of an existing cluster; required when cluster is existing.",
    secret: true,
  },
  clusterApiAllowCidrs: {
    type: "array",
    description:
      "Client CIDRs (CI runners, operators) allowed to reach a managed cluster's API server; empty: private endpoint only, so deploy from inside the network.",
    default: [],
  },
  namespace: { type: "string", description: "Kubernetes namespace; empty: northstack-<stack>.", default: "" },
  exposure: {
    type: "string",
    description: "How the gateway is reached on Kubernetes.",
    default: "loadbalancer",
    oneOf: ["loadbalancer", "ingress"],
  },
  ingressHost: { type: "string", description: "Host name for the gateway Ingress (exposure=ingress).", default: "" },
  ingressClassName: { type: "string", description: "IngressClass for the gateway Ingress.", default: "nginx" },
  certManagerIssuer: {
    type: "string",
    description:
      "cert-manager ClusterIssuer that issues the gateway certificate (with exposure=loadbalancer it must solve DNS-01: there is no port 80); empty: name your own Secret in tlsSecretName.",
    default: "",
  },
  tlsSecretName: {
    type: "string",
    description:
      "Existing kubernetes.io/tls Secret in the namespace with the gateway certificate; required on Kubernetes when certManagerIssuer is empty.",
    default: "",
  },
  ingressControllerNamespace: {
    type: "string",
    description:
      "Namespace of the ingress controller: with exposure=ingress the only source admitted to the gateway, whose X-Forwarded-For it trusts.",
    default: "ingress-nginx",
  },

  // Object storage identity and Supabase availability on cloud stacks.
  eksClusterName: {
    type: "string",
    description:
      "Name of the existing EKS cluster (cloud aws with cluster existing), where EKS Pod Identity gives Supabase Storage and the backup job their IAM roles; the cluster must run the eks-pod-identity-agent add-on.",
    default: "",
  },
  supabaseReplicas: {
    type: "integer",
    description:
      "Replicas of the stateless Supabase services (auth, rest, storage) on Kubernetes; 0 picks 2 on prod, where it must be at least 2, and 1 elsewhere.",
    default: 0,
    min: 0,
    max: 20,
  },

  credentialRotation: {
    type: "integer",
    description:
      "Raise by one to rotate every generated database client password (API, PostgREST, GoTrue, Storage, Realtime, meta, Studio, exporter, backup, recorder) on the next up.",
    default: 0,
    min: 0,
  },
  credentialRotationByClient: {
    type: "array",
    description: `Per-client rotation counters as client=N; raise a client's N to rotate its password alone. Clients: ${DB_CLIENTS.join(", ")}.`,
    default: [],
  },

  postgresPassword: {
    type: "string",
    description: "Postgres superuser password (8-128 chars); generated when absent.",
    secret: true,
  },
  jwtSecret: { type: "string", description: "Supabase JWT secret (32+ chars); generated when absent.", secret: true },
  redisPassword: {
    type: "string",
    description: "Redis password / ElastiCache auth token (16-128 chars); generated when absent.",
    secret: true,
  },
  backupOffsiteAccessKeyId: {
    type: "string",
    description: "Access key id for backupOffsiteBucket; required with it, together with backupOffsiteSecretAccessKey.",
    secret: true,
  },
  backupOffsiteSecretAccessKey: {
    type: "string",
    description: "Secret access key for backupOffsiteBucket; required with it, together with backupOffsiteAccessKeyId.",
    secret: true,
  },
} as const satisfies Record<string, ConfigKeySpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;

export type SecretKey =
  | "kubeconfig"
  | "postgresPassword"
  | "jwtSecret"
  | "redisPassword"
  | "alertWebhookUrl"
  | "alertSmtpPassword"
  | "alertSlackWebhookUrl"
  | "alertPagerdutyRoutingKey"
  | "deadMansSwitchUrl"
  | "backupOffsiteAccessKeyId"
  | "backupOffsiteSecretAccessKey";
export const SECRET_KEYS: readonly SecretKey[] = [
  "kubeconfig",
  "postgresPassword",
  "jwtSecret",
  "redisPassword",
  "alertWebhookUrl",
  "alertSmtpPassword",
  "alertSlackWebhookUrl",
  "alertPagerdutyRoutingKey",
  "deadMansSwitchUrl",
  "backupOffsiteAccessKeyId",
  "backupOffsiteSecretAccessKey",
];

/** What the offline plan substitutes for a `secure:` value it cannot decrypt. */
export const SECRET_PLACEHOLDER = "plan-placeholder-secret-value-";

export interface NorthstackConfig {
  readonly stack: string;
  readonly environment: Environment;
  /** What the environment requires and provides (config/profile.ts). */
  readonly profile: EnvironmentProfile;
  readonly cloud: Cloud;
  readonly region: string;
  readonly drRegion: string;
  readonly api: {
    readonly image: string;
    readonly replicas: number;
    readonly maxReplicas: number;
    readonly cpuMillis: number;
    readonly memoryMb: number;
    readonly hostPort: number;
    /** Extra plain environment (northstack:apiEnv). */
    readonly env: Readonly<Record<string, string>>;
    /** Extra secret environment (northstack:apiSecretEnv), plain here: ApiService makes each a Pulumi secret. */
    readonly secretEnv: Readonly<Record<string, string>>;
  };
  /** Additional API services, each deployed like the API and routed by the gateway at /<name>/v1. */
  readonly services: readonly { readonly name: string; readonly image: string }[];
  readonly postgres: {
    readonly memoryMb: number;
    readonly storageGb: number;
    readonly instanceClass: string;
    readonly tier: string;
    readonly ha: boolean;
    readonly backupRetentionDays: number;
    readonly exposedSchemas: readonly string[];
    /**
     * Where a self-hosted Postgres (dev) also copies its pgBackRest backups; its credentials are in
     * `secrets` (backupOffsiteAccessKeyId, backupOffsiteSecretAccessKey). Undefined: none.
     */
    readonly offsite?: BackupOffsite;
  };
  /** The project's own schema (northstack:migrationsDir, northstack:exampleNotes). */
  readonly migrations: {
    /** The folder as configured, relative to the project root. */
    readonly dir: string;
    /** Its `*.sql` files in name order, checked (components/project-migrations.ts). */
    readonly files: readonly ProjectMigration[];
    readonly exampleNotes: boolean;
  };
  readonly redis: {
    readonly memoryMb: number;
    readonly nodeType: string;
    readonly ha: boolean;
  };
  readonly supabase: {
    /** Replicas of auth, rest and storage on Kubernetes. */
    readonly replicas: number;
    readonly auth: boolean;
    readonly rest: boolean;
    readonly realtime: boolean;
    readonly storage: boolean;
    readonly meta: boolean;
    readonly studio: boolean;
    readonly studioHostPort: number;
  };
  readonly gateway: {
    readonly publicUrl: string;
    readonly corsOrigins: readonly string[];
    readonly rateLimitRequests: number;
    readonly rateLimitWindowMinutes: number;
    readonly adminAllowCidrs: readonly string[];
    readonly maxRequestSizeMb: number;
    readonly hostPort: number;
  };
  readonly monitoring: {
    readonly enabled: boolean;
    readonly grafanaHostPort: number;
    /** UDP port on 127.0.0.1 where the log shipper takes container output (Docker). */
    readonly logIntakePort: number;
    /** How much Prometheus keeps: the first of age and size to be reached drops the oldest blocks. */
    readonly retention: { readonly days: number; readonly sizeGb: number; readonly volumeGb: number };
    /** Whether node_exporter runs (northstack:nodeMetrics, with "auto" decided). */
    readonly nodeMetrics: boolean;
    /** Plain settings of the alert receivers; their credentials are in `secrets` (alertSmtpPassword, alertSlackWebhookUrl, ...). */
    readonly alerts: {
      readonly email?: { readonly to: string; readonly from: string; readonly smarthost: string };
      /** Empty: the Slack webhook's own channel. */
      readonly slackChannel: string;
      /** The runbooks page each alert's runbook_url starts with: an https URL, or the repository path docs/runbooks.md. */
      readonly runbookBase: string;
    };
  };
  readonly deletionProtection: boolean;
  readonly docker: { readonly subnet: string; readonly cgroupDriver: DockerCgroupDriver };
  readonly network: { readonly vpcCidr: string; readonly vpcId: string; readonly privateSubnetIds: readonly string[] };
  readonly kubernetes: {
    readonly cluster: "existing" | "managed";
    /** CIDRs allowed on a managed cluster's public API endpoint; empty keeps the endpoint private. */
    readonly apiAllowCidrs: readonly string[];
    readonly namespace: string;
    readonly exposure: "loadbalancer" | "ingress";
    readonly ingressHost: string;
    readonly ingressClassName: string;
    readonly certManagerIssuer: string;
    /** The operator's TLS Secret for the gateway; empty when cert-manager issues it. */
    readonly tlsSecretName: string;
    readonly ingressControllerNamespace: string;
    /** The existing EKS cluster's name (cloud aws, cluster existing); empty otherwise. */
    readonly eksClusterName: string;
  };
  /** Rotation counters of the generated database client passwords. */
  readonly credentialRotation: CredentialRotation;
  /** Secret config values as given (plain here; StackSecrets in components/secrets.ts makes them Pulumi secrets). */
  readonly secrets: Readonly<Partial<Record<SecretKey, string>>>;
}

/** What the generated database passwords' keepers are made of: a stack-wide counter and per-client ones. */
export interface CredentialRotation {
  readonly all: number;
  readonly byClient: Readonly<Partial<Record<DbClient, number>>>;
}

/** An S3-compatible bucket off the Docker host (northstack:backupOffsite*), checked. */
export interface BackupOffsite {
  readonly bucket: string;
  /** host[:port], no scheme. */
  readonly endpoint: string;
  readonly region: string;
  /** Path of the repository inside the bucket; undefined: pgBackRest component's default. */
  readonly path?: string;
  readonly uriStyle: "host" | "path";
  readonly verifyTls: boolean;
}
