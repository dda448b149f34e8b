/**
 * The stack configuration: one schema, one parser, one place where bad values are rejected.
 *
 * `CONFIG_SCHEMA` is the source of truth; `Pulumi.yaml` mirrors it (a unit test keeps the two in
 * step). `parseConfig` is pure: it takes the raw `namespace:key -> string` map that Pulumi hands a
 * program and either returns a typed `NorthstackConfig` or throws one `ConfigError` listing every
 * problem, each naming the key, the bad value and what is allowed. It runs before any resource is
 * registered.
 */

export const CONFIG_NAMESPACE = "northstack";

import { ENVIRONMENTS, Environment, EnvironmentProfile, PROFILES } from "./config/profile";

export { ENVIRONMENTS, PROFILES };
export type { Environment, EnvironmentProfile };

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

/** The environment ApiService sets itself; northstack:apiEnv and apiSecretEnv must not override it. */
export const API_PLATFORM_ENV = ["PORT", "NODE_ENV", "NODE_EXTRA_CA_CERTS", "DATABASE_URL", "REDIS_URL", "JWT_SECRET"] as const;

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
  drRegion: { type: "string", description: "Region for disaster-recovery copies; empty: the cloud's Canadian DR region.", default: "" },

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
  apiReplicas: { type: "integer", description: "API replicas (the HPA minimum on Kubernetes).", default: 1, min: 1, max: 100 },
  apiMaxReplicas: { type: "integer", description: "HPA maximum for the API on Kubernetes.", default: 3, min: 1, max: 200 },
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
  postgresMemoryMb: {
    type: "integer",
    description: "Memory for the Postgres container; postgresql.conf is tuned from it.",
    default: 1024,
    min: 256,
    max: 262144,
  },
  postgresStorageGb: { type: "integer", description: "Allocated Postgres storage in GiB.", default: 20, min: 10, max: 65536 },
  postgresInstanceClass: { type: "string", description: "RDS instance class (aws).", default: "db.t4g.medium" },
  postgresTier: { type: "string", description: "Cloud SQL machine tier (gcp).", default: "db-custom-2-7680" },
  postgresHa: { type: "boolean", description: "Multi-AZ (aws) or REGIONAL (gcp) Postgres; required on prod.", default: false },
  deletionProtection: {
    type: "boolean",
    description: "Deletion protection and final snapshots on managed data services; required on prod.",
    default: false,
  },
  backupRetentionDays: { type: "integer", description: "Days of automated backups and PITR.", default: 7, min: 1, max: 35 },

  redisMemoryMb: { type: "integer", description: "Redis maxmemory in MiB.", default: 256, min: 32, max: 262144 },
  redisNodeType: { type: "string", description: "ElastiCache node type (aws).", default: "cache.t4g.small" },
  redisHa: {
    type: "boolean",
    description: "Replicated Redis with automatic failover (ElastiCache Multi-AZ, Memorystore STANDARD_HA); required on prod.",
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
    description: "Public base URL of the gateway; used for auth redirects.",
    default: "http://localhost:8000",
  },
  corsOrigins: { type: "array", description: "Origins allowed by the gateway's CORS plugin.", default: ["http://localhost:3000"] },
  rateLimitRequests: {
    type: "integer",
    description: "Requests per client per window at the gateway.",
    default: 100,
    min: 1,
    max: 1000000,
  },
  rateLimitWindowMinutes: { type: "integer", description: "Gateway rate-limit window in minutes.", default: 15, min: 1, max: 1440 },
  adminAllowCidrs: {
    type: "array",
    description: "Client CIDRs allowed on admin-only gateway routes (/pg).",
    default: ["127.0.0.1/32"],
  },
  maxRequestSizeMb: { type: "integer", description: "Largest request body the gateway accepts, in MiB.", default: 10, min: 1, max: 1024 },

  monitoring: { type: "boolean", description: "Run Prometheus, Alertmanager, Grafana, Loki and the exporters.", default: true },
  grafanaPort: { type: "integer", description: "Host port (127.0.0.1) for Grafana on dev.", default: 3001, min: 1024, max: 65535 },
  alertWebhookUrl: { type: "string", description: "Webhook that receives Alertmanager notifications; none: alerts stay in Alertmanager.", secret: true },
  gatewayPort: { type: "integer", description: "Host port (127.0.0.1) for the gateway on dev.", default: 8000, min: 1024, max: 65535 },
  apiPort: { type: "integer", description: "Host port (127.0.0.1) for the API on dev.", default: 8080, min: 1024, max: 65535 },
  studioPort: { type: "integer", description: "Host port (127.0.0.1) for Studio on dev.", default: 3000, min: 1024, max: 65535 },
  dockerSubnet: { type: "string", description: "Subnet of the dev stack's Docker network.", default: "172.28.0.0/16" },

  vpcCidr: {
    type: "string",
    description: `CIDR of the VPC (aws) or network (gcp); empty: ${DEFAULT_VPC_CIDR} for one the stack creates. Required with vpcId.`,
    default: "",
  },
  vpcId: { type: "string", description: "Existing VPC (aws) or network (gcp) to use instead of creating one.", default: "" },
  privateSubnetIds: { type: "array", description: "Existing private subnets, with vpcId (aws).", default: [] },

  cluster: {
    type: "string",
    description: "existing: deploy to the cluster in northstack:kubeconfig; managed: create EKS or GKE Autopilot in Canada.",
    default: "existing",
    oneOf: ["existing", "managed"],
  },
  kubeconfig: { type: "string", description: "Kubeconfig of an existing cluster; required when cluster is existing.", secret: true },
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
    description: "Existing kubernetes.io/tls Secret in the namespace with the gateway certificate; required on Kubernetes when certManagerIssuer is empty.",
    default: "",
  },
  ingressControllerNamespace: {
    type: "string",
    description: "Namespace of the ingress controller: with exposure=ingress the only source admitted to the gateway, whose X-Forwarded-For it trusts.",
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

  postgresPassword: { type: "string", description: "Postgres superuser password (8-128 chars); generated when absent.", secret: true },
  jwtSecret: { type: "string", description: "Supabase JWT secret (32+ chars); generated when absent.", secret: true },
  redisPassword: { type: "string", description: "Redis password / ElastiCache auth token (16-128 chars); generated when absent.", secret: true },
} as const satisfies Record<string, ConfigKeySpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;

export type SecretKey = "kubeconfig" | "postgresPassword" | "jwtSecret" | "redisPassword" | "alertWebhookUrl";
export const SECRET_KEYS: readonly SecretKey[] = ["kubeconfig", "postgresPassword", "jwtSecret", "redisPassword", "alertWebhookUrl"];

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
  readonly monitoring: { readonly enabled: boolean; readonly grafanaHostPort: number };
  readonly deletionProtection: boolean;
  readonly docker: { readonly subnet: string };
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
  /** Secret config values as given (plain here; `loadConfig` wraps them as Pulumi secrets). */
  readonly secrets: Readonly<Partial<Record<SecretKey, string>>>;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid northstack configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

// ---------------------------------------------------------------------------------------------
// Pure validators, exported for reuse and for tests.

const IMAGE_REF =
  /^(?:[a-z0-9.-]+(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/;

/** Returns a problem description, or undefined when the image reference is pinned. */
export function checkPinnedImage(ref: string): string | undefined {
  const m = IMAGE_REF.exec(ref);
  if (!m) return "is not a valid image reference (expected registry/name:tag or name@sha256:<digest>)";
  const [, tag, digest] = m;
  if (digest) return undefined;
  if (!tag) return "has no tag; pin a version tag or a sha256 digest";
  if (tag === "latest") return "uses the mutable tag 'latest'; pin a version tag or a sha256 digest";
  return undefined;
}

/** Returns a problem description, or undefined for a valid IPv4 CIDR such as 10.0.0.0/16. */
export function checkCidr(value: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!m) return "is not an IPv4 CIDR like 10.0.0.0/16";
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255)) return "has an octet above 255";
  if (prefix > 32) return "has a prefix length above 32";
  const address = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const hostMask = prefix === 0 ? 0xffffffff : (2 ** (32 - prefix) - 1) >>> 0;
  if ((address & hostMask) !== 0) return "has host bits set for its prefix length";
  return undefined;
}

/**
 * ElastiCache auth-token rules (also safe unquoted in the dev container's redis.conf). Returns a
 * problem description, or undefined; never echoes the value.
 */
export function checkRedisPassword(value: string): string | undefined {
  if (value.length < 16 || value.length > 128) return "must be 16 to 128 characters (ElastiCache auth-token rules)";
  if (!/^[\x21-\x7e]*$/.test(value)) return "must be printable ASCII without spaces (ElastiCache auth-token rules)";
  if (/[/"@]/.test(value)) return "must not contain /, \" or @ (ElastiCache auth-token rules)";
  if (/['\\]/.test(value)) return "must not contain ' or \\ (the dev container's redis.conf cannot hold them)";
  return undefined;
}

/** RDS master-password rules. Returns a problem description, or undefined; never echoes the value. */
export function checkPostgresPassword(value: string): string | undefined {
  if (value.length < 8 || value.length > 128) return "must be 8 to 128 characters (RDS master-password rules)";
  if (!/^[\x20-\x7e]*$/.test(value)) return "must be printable ASCII (RDS master-password rules)";
  if (/[/"@ ]/.test(value)) return "must not contain /, \", @ or a space (RDS master-password rules)";
  return undefined;
}

/** A POSIX environment variable name the platform does not set itself (API_PLATFORM_ENV). */
export function checkApiEnvName(name: string): string | undefined {
  if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) return "is not a POSIX environment variable name; allowed: [A-Z_][A-Z0-9_]*";
  if ((API_PLATFORM_ENV as readonly string[]).includes(name)) {
    return `would override ${name}, which the platform sets; not allowed: ${API_PLATFORM_ENV.join(", ")}`;
  }
  return undefined;
}

export function checkRegion(cloud: ManagedCloud, region: string): string | undefined {
  const allowed = CANADIAN_REGIONS[cloud].allowed;
  if (allowed.includes(region)) return undefined;
  return `is outside Canada; allowed ${cloud} regions: ${allowed.join(", ")}`;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;
/** A Kubernetes name such as a namespace: lower-case letters, digits and '-', at most 63. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

export function checkUrl(value: string): string | undefined {
  try {
    const u = new URL(value);
    if (u.protocol !== "http:" && u.protocol !== "https:") return "must be an http(s) URL";
    return undefined;
  } catch {
    return "is not a URL";
  }
}

function closest(key: string, candidates: readonly string[]): string | undefined {
  const distance = (a: string, b: string): number => {
    const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = dp[0];
      dp[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const tmp = dp[j];
        dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
        prev = tmp;
      }
    }
    return dp[b.length];
  };
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = distance(key, c);
    if (d < bestScore) [best, bestScore] = [c, d];
  }
  return bestScore <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

// ---------------------------------------------------------------------------------------------

type Raw = Readonly<Record<string, string>>;
type Value = string | number | boolean | readonly string[] | Readonly<Record<string, string>>;

const show = (v: unknown): string => JSON.stringify(v);

/**
 * Parses and validates the raw stack configuration.
 *
 * @param raw every config value of the stack, keyed `namespace:key`, as strings (objects as JSON)
 * @param stack the Pulumi stack name
 */
export function parseConfig(raw: Raw, stack: string): NorthstackConfig {
  const problems: string[] = [];
  const values: Partial<Record<ConfigKey, Value>> = {};
  const known = Object.keys(CONFIG_SCHEMA) as ConfigKey[];
  const key = (k: string) => `${CONFIG_NAMESPACE}:${k}`;

  for (const [fullKey, rawValue] of Object.entries(raw)) {
    const [ns, ...rest] = fullKey.split(":");
    if (ns !== CONFIG_NAMESPACE) continue;
    const name = rest.join(":");
    if (!(name in CONFIG_SCHEMA)) {
      const hint = closest(name, known);
      problems.push(
        `${fullKey}: unknown key (value ${show(rawValue)})${hint ? `; did you mean ${key(hint)}?` : ""}; known keys: ${known.join(", ")}`,
      );
      continue;
    }
    const spec: ConfigKeySpec = CONFIG_SCHEMA[name as ConfigKey];
    // Pulumi.yaml declares optional strings with the default "": the CLI passes it, and it means unset.
    if (rawValue === "" && spec.default === "") continue;
    const parsed = coerce(fullKey, rawValue, spec, problems);
    if (parsed !== undefined) values[name as ConfigKey] = parsed;
  }

  const get = <K extends ConfigKey>(k: K): Value | undefined => {
    if (values[k] !== undefined) return values[k];
    const spec: ConfigKeySpec = CONFIG_SCHEMA[k];
    return spec.default;
  };
  const str = (k: ConfigKey) => (get(k) as string | undefined) ?? "";
  const int = (k: ConfigKey) => get(k) as number;
  const bool = (k: ConfigKey) => get(k) as boolean;
  const list = (k: ConfigKey) => (get(k) as readonly string[] | undefined) ?? [];

  // environment
  let environment: Environment;
  if (values.environment !== undefined) {
    environment = values.environment as Environment;
  } else if ((ENVIRONMENTS as readonly string[]).includes(stack)) {
    environment = stack as Environment;
  } else {
    problems.push(
      `${key("environment")}: not set and the stack name ${show(stack)} is not one of ${ENVIRONMENTS.join(", ")}; set it to one of those`,
    );
    environment = "dev";
  }
  const profile = PROFILES[environment];

  const cloud = str("cloud") as Cloud;
  if (!profile.clouds.includes(cloud)) {
    problems.push(
      profile.runtime === "docker"
        ? `${key("cloud")}: ${show(cloud)} is not allowed on a ${environment} stack, which runs on local Docker; use ${profile.clouds.map(show).join(" or ")}`
        : `${key("cloud")}: ${show(cloud)} is not allowed on a ${environment} stack; use ${profile.clouds.map(show).join(" or ")}`,
    );
  }

  // regions
  let region = "";
  let drRegion = "";
  if (cloud === "aws" || cloud === "gcp") {
    region = str("region") || CANADIAN_REGIONS[cloud].primary;
    drRegion = str("drRegion") || CANADIAN_REGIONS[cloud].dr;
    for (const [k, v] of [
      ["region", region],
      ["drRegion", drRegion],
    ] as const) {
      const problem = checkRegion(cloud, v);
      if (problem) problems.push(`${key(k)}: ${show(v)} ${problem}`);
    }
    if (region === drRegion && !problems.length) {
      problems.push(`${key("drRegion")}: ${show(drRegion)} equals the primary region; DR copies need the other Canadian region`);
    }
  } else {
    for (const k of ["region", "drRegion"] as const) {
      if (values[k] !== undefined) problems.push(`${key(k)}: ${show(values[k])} has no meaning when cloud is "local"; remove it`);
    }
  }

  // images
  const apiImage = str("apiImage");
  if (apiImage) {
    const problem = checkPinnedImage(apiImage);
    if (problem) problems.push(`${key("apiImage")}: ${show(apiImage)} ${problem}`);
  } else if (profile.requiresApiImage) {
    problems.push(`${key("apiImage")}: required on ${environment}: a pinned image in a registry the cluster can pull from`);
  }
  if (int("apiMaxReplicas") < int("apiReplicas")) {
    problems.push(
      `${key("apiMaxReplicas")}: ${int("apiMaxReplicas")} is below ${key("apiReplicas")} (${int("apiReplicas")}); it must be at least that`,
    );
  }

  // additional services
  const RESERVED = ["api", "kong", "postgres", "redis", "supabase", "auth", "rest", "realtime", "storage", "pg", "studio", "meta", "docker"];
  const services: { name: string; image: string }[] = [];
  for (const entry of list("services")) {
    const eq = entry.indexOf("=");
    const name = eq > 0 ? entry.slice(0, eq) : "";
    const image = entry.slice(eq + 1);
    if (!name || !/^[a-z]([-a-z0-9]{0,28}[a-z0-9])?$/.test(name)) {
      problems.push(`${key("services")}: ${show(entry)} must be name=image with a DNS-label name of at most 30 characters`);
    } else if (RESERVED.some((r) => name === r || name.startsWith(`${r}-`))) {
      problems.push(`${key("services")}: ${show(name)} clashes with a built-in service; reserved: ${RESERVED.join(", ")}`);
    } else if (services.some((s) => s.name === name)) {
      problems.push(`${key("services")}: ${show(name)} is listed twice`);
    } else {
      const problem = checkPinnedImage(image);
      if (problem) problems.push(`${key("services")}: ${show(entry)}: image ${show(image)} ${problem}`);
      else services.push({ name, image });
    }
  }

  // lists
  const exposedSchemas = list("exposedSchemas");
  if (exposedSchemas.length === 0) problems.push(`${key("exposedSchemas")}: must name at least one schema`);
  for (const s of exposedSchemas) {
    if (!IDENTIFIER.test(s)) problems.push(`${key("exposedSchemas")}: ${show(s)} is not a lower-case SQL identifier`);
    if (["auth", "storage", "realtime", "pg_catalog", "information_schema", "extensions"].includes(s)) {
      problems.push(`${key("exposedSchemas")}: ${show(s)} is an internal schema and must not be exposed through the REST API`);
    }
  }
  for (const origin of list("corsOrigins")) {
    if (origin === "*") {
      problems.push(`${key("corsOrigins")}: "*" would let any site call the API with credentials; list the origins`);
      continue;
    }
    const problem = checkUrl(origin);
    if (problem) problems.push(`${key("corsOrigins")}: ${show(origin)} ${problem}`);
    else if (new URL(origin).pathname !== "/") problems.push(`${key("corsOrigins")}: ${show(origin)} must be an origin, without a path`);
  }
  for (const k of ["adminAllowCidrs"] as const) {
    const cidrs = list(k);
    if (cidrs.length === 0) problems.push(`${key(k)}: must list at least one CIDR`);
    for (const c of cidrs) {
      const problem = checkCidr(c);
      if (problem) problems.push(`${key(k)}: ${show(c)} ${problem}`);
      else if (c.endsWith("/0")) problems.push(`${key(k)}: ${show(c)} opens admin routes to every address; list narrower CIDRs`);
    }
  }
  for (const c of list("clusterApiAllowCidrs")) {
    const problem = checkCidr(c);
    if (problem) problems.push(`${key("clusterApiAllowCidrs")}: ${show(c)} ${problem}`);
    else if (c.endsWith("/0")) problems.push(`${key("clusterApiAllowCidrs")}: ${show(c)} opens the cluster API server to every address; list narrower CIDRs`);
  }
  for (const k of ["vpcCidr", "dockerSubnet"] as const) {
    if (values[k] === undefined) continue;
    const problem = checkCidr(str(k));
    if (problem) problems.push(`${key(k)}: ${show(str(k))} ${problem}`);
  }
  const publicUrl = str("publicUrl");
  const urlProblem = checkUrl(publicUrl);
  if (urlProblem) problems.push(`${key("publicUrl")}: ${show(publicUrl)} ${urlProblem}`);

  const vpcId = str("vpcId");
  const privateSubnetIds = list("privateSubnetIds");
  if (Boolean(vpcId) !== privateSubnetIds.length > 0) {
    problems.push(`${key("vpcId")} and ${key("privateSubnetIds")}: give both or neither (got vpcId ${show(vpcId)}, ${privateSubnetIds.length} subnets)`);
  }
  if (privateSubnetIds.length === 1) {
    problems.push(`${key("privateSubnetIds")}: needs at least two subnets in different zones for managed databases`);
  }
  // Security groups and NetworkPolicies admit the VPC's clients by this CIDR, so a guess is not safe.
  if (vpcId && values.vpcCidr === undefined) {
    problems.push(
      `${key("vpcCidr")}: not set, but ${key("vpcId")} is ${show(vpcId)}; set it to that network's CIDR (e.g. 10.0.0.0/16), which the data services admit their clients from`,
    );
  }
  const vpcCidr = str("vpcCidr") || DEFAULT_VPC_CIDR;

  const ports = (["gatewayPort", "apiPort", "studioPort", "grafanaPort"] as const).map((k) => [k, int(k)] as const);
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      if (ports[i][1] === ports[j][1]) {
        problems.push(`${key(ports[j][0])}: ${ports[j][1]} is already used by ${key(ports[i][0])}; host ports must differ`);
      }
    }
  }

  // supabase toggles
  if (bool("supabaseStudio") && !bool("supabaseMeta")) {
    problems.push(`${key("supabaseStudio")}: true needs ${key("supabaseMeta")} true (Studio reads the database through postgres-meta)`);
  }

  // secrets
  const secrets: Partial<Record<SecretKey, string>> = {};
  for (const k of SECRET_KEYS) {
    const v = values[k];
    if (typeof v === "string" && v !== "") secrets[k] = v;
  }
  if (secrets.jwtSecret !== undefined && secrets.jwtSecret.length < 32) {
    problems.push(`${key("jwtSecret")}: [secret of ${secrets.jwtSecret.length} chars] is too short; it must be at least 32 characters`);
  }
  if (secrets.alertWebhookUrl !== undefined && !secrets.alertWebhookUrl.startsWith(SECRET_PLACEHOLDER)) {
    if (checkUrl(secrets.alertWebhookUrl) || !secrets.alertWebhookUrl.startsWith("https://")) {
      problems.push(`${key("alertWebhookUrl")}: [secret] must be an https:// URL`);
    }
  }
  const redisProblem = secrets.redisPassword === undefined ? undefined : checkRedisPassword(secrets.redisPassword);
  if (redisProblem) problems.push(`${key("redisPassword")}: [secret of ${secrets.redisPassword?.length} chars] ${redisProblem}`);
  const postgresProblem = secrets.postgresPassword === undefined ? undefined : checkPostgresPassword(secrets.postgresPassword);
  if (postgresProblem) problems.push(`${key("postgresPassword")}: [secret of ${secrets.postgresPassword?.length} chars] ${postgresProblem}`);

  // API environment
  const apiEnv: Record<string, string> = {};
  for (const entry of list("apiEnv")) {
    const eq = entry.indexOf("=");
    const name = eq > 0 ? entry.slice(0, eq) : "";
    const problem = name ? checkApiEnvName(name) : undefined;
    if (!name) problems.push(`${key("apiEnv")}: ${show(entry)} must be KEY=value`);
    else if (problem) problems.push(`${key("apiEnv")}: ${show(entry)}: the name ${show(name)} ${problem}`);
    else if (name in apiEnv) problems.push(`${key("apiEnv")}: ${show(name)} is listed twice; give each name once`);
    else apiEnv[name] = entry.slice(eq + 1);
  }
  const apiSecretEnv = (values.apiSecretEnv ?? {}) as Readonly<Record<string, string>>;
  for (const name of Object.keys(apiSecretEnv)) {
    const problem = checkApiEnvName(name);
    if (problem) problems.push(`${key("apiSecretEnv")}: the name ${show(name)} ${problem}`);
    else if (name in apiEnv) problems.push(`${key("apiSecretEnv")}: ${show(name)} is also set in ${key("apiEnv")}; give each name once`);
  }

  // Kubernetes
  const clusterMode = str("cluster") as "existing" | "managed";
  if (profile.runtime === "kubernetes" && clusterMode === "existing" && secrets.kubeconfig === undefined) {
    problems.push(
      `${key("kubeconfig")}: missing; a ${environment} stack with ${key("cluster")}=existing needs it. ` +
        `Run: pulumi config set --secret ${key("kubeconfig")} < ~/.kube/config, or set ${key("cluster")} to managed`,
    );
  }
  // A kubeconfig may be YAML or JSON; this shape check catches a file path pasted by mistake.
  // The offline plan replaces secure values with a placeholder, which it marks so this passes.
  if (secrets.kubeconfig !== undefined && !secrets.kubeconfig.startsWith(SECRET_PLACEHOLDER)) {
    if (!/apiVersion|clusters/.test(secrets.kubeconfig)) {
      problems.push(`${key("kubeconfig")}: [secret] does not look like a kubeconfig (no apiVersion or clusters); pass the file's content, not its path`);
    }
  }
  const namespace = str("namespace") || `northstack-${stack}`.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
  if (!DNS_LABEL.test(namespace)) {
    problems.push(`${key("namespace")}: ${show(namespace)} is not a DNS label (lower-case letters, digits and '-', at most 63)`);
  }
  const exposure = str("exposure") as "loadbalancer" | "ingress";
  const ingressHost = str("ingressHost");
  if (profile.runtime === "kubernetes" && exposure === "ingress" && !ingressHost) {
    problems.push(`${key("ingressHost")}: required when ${key("exposure")} is "ingress" (the TLS certificate names it)`);
  }
  if (ingressHost && !HOSTNAME.test(ingressHost)) {
    problems.push(`${key("ingressHost")}: ${show(ingressHost)} is not a DNS host name`);
  }
  // The gateway on Kubernetes serves TLS only, with a certificate from cert-manager or the operator.
  const certManagerIssuer = str("certManagerIssuer");
  const tlsSecretName = str("tlsSecretName");
  const ingressControllerNamespace = str("ingressControllerNamespace");
  if (profile.requiresTls) {
    if (!certManagerIssuer && !tlsSecretName) {
      problems.push(
        `${key("tlsSecretName")}: required on ${environment} when ${key("certManagerIssuer")} is empty; name the kubernetes.io/tls Secret with the gateway certificate, or set an issuer`,
      );
    }
    if (!urlProblem && new URL(publicUrl).protocol !== "https:") {
      problems.push(`${key("publicUrl")}: ${show(publicUrl)} is not allowed on ${environment}; the gateway serves TLS only, so use an https:// URL`);
    }
  }
  if (certManagerIssuer && tlsSecretName) {
    problems.push(`${key("tlsSecretName")}: ${show(tlsSecretName)} and ${key("certManagerIssuer")} ${show(certManagerIssuer)} are both set; give one (cert-manager writes its own Secret)`);
  }
  if (tlsSecretName && !HOSTNAME.test(tlsSecretName)) {
    problems.push(`${key("tlsSecretName")}: ${show(tlsSecretName)} is not a Secret name (lower-case DNS subdomain)`);
  }
  if (!DNS_LABEL.test(ingressControllerNamespace)) {
    problems.push(`${key("ingressControllerNamespace")}: ${show(ingressControllerNamespace)} is not a namespace name (DNS label)`);
  }

  // object storage identity and Supabase availability
  const eksClusterName = str("eksClusterName");
  if (profile.runtime === "kubernetes" && cloud === "aws" && clusterMode === "existing" && !eksClusterName) {
    problems.push(
      `${key("eksClusterName")}: required with ${key("cloud")}=aws and ${key("cluster")}=existing; Supabase Storage and the backup job get their S3 access ` +
        `through EKS Pod Identity associations in that cluster (which must run the eks-pod-identity-agent add-on)`,
    );
  }
  if (eksClusterName && !(cloud === "aws" && clusterMode === "existing")) {
    problems.push(`${key("eksClusterName")}: ${show(eksClusterName)} has no meaning unless ${key("cloud")} is aws and ${key("cluster")} is existing; remove it`);
  }
  if (eksClusterName && !/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/.test(eksClusterName)) {
    problems.push(`${key("eksClusterName")}: ${show(eksClusterName)} is not an EKS cluster name (letters, digits, '-' and '_', at most 100)`);
  }
  const supabaseReplicas = int("supabaseReplicas") || profile.defaultSupabaseReplicas;
  if (supabaseReplicas < profile.minSupabaseReplicas) {
    problems.push(
      `${key("supabaseReplicas")}: ${supabaseReplicas} is not allowed on ${environment}; auth, rest and storage need at least ${profile.minSupabaseReplicas} replicas to survive a node or zone loss`,
    );
  }

  // production guarantees
  if (profile.requiresHa) {
    for (const k of ["postgresHa", "redisHa", "deletionProtection"] as const) {
      if (!bool(k)) problems.push(`${key(k)}: false is not allowed on ${environment}; ${environment} must be highly available and protected from deletion`);
    }
  }
  if (int("backupRetentionDays") < profile.minBackupRetentionDays) {
    problems.push(
      `${key("backupRetentionDays")}: ${int("backupRetentionDays")} is below ${profile.minBackupRetentionDays}; managed Postgres on ${environment} keeps at least 7 days of backups and PITR`,
    );
  }

  if (problems.length) throw new ConfigError(problems);

  return {
    stack,
    environment,
    profile,
    cloud,
    region,
    drRegion,
    api: {
      image: apiImage,
      replicas: int("apiReplicas"),
      maxReplicas: int("apiMaxReplicas"),
      cpuMillis: int("apiCpuMillis"),
      memoryMb: int("apiMemoryMb"),
      hostPort: int("apiPort"),
      env: apiEnv,
      secretEnv: apiSecretEnv,
    },
    services,
    postgres: {
      memoryMb: int("postgresMemoryMb"),
      storageGb: int("postgresStorageGb"),
      instanceClass: str("postgresInstanceClass"),
      tier: str("postgresTier"),
      ha: bool("postgresHa"),
      backupRetentionDays: int("backupRetentionDays"),
      exposedSchemas,
    },
    redis: { memoryMb: int("redisMemoryMb"), nodeType: str("redisNodeType"), ha: bool("redisHa") },
    supabase: {
      replicas: supabaseReplicas,
      auth: bool("supabaseAuth"),
      rest: bool("supabaseRest"),
      realtime: bool("supabaseRealtime"),
      storage: bool("supabaseStorage"),
      meta: bool("supabaseMeta"),
      studio: bool("supabaseStudio"),
      studioHostPort: int("studioPort"),
    },
    gateway: {
      publicUrl,
      corsOrigins: list("corsOrigins"),
      rateLimitRequests: int("rateLimitRequests"),
      rateLimitWindowMinutes: int("rateLimitWindowMinutes"),
      adminAllowCidrs: list("adminAllowCidrs"),
      maxRequestSizeMb: int("maxRequestSizeMb"),
      hostPort: int("gatewayPort"),
    },
    monitoring: { enabled: bool("monitoring"), grafanaHostPort: int("grafanaPort") },
    deletionProtection: bool("deletionProtection"),
    docker: { subnet: str("dockerSubnet") },
    network: { vpcCidr, vpcId, privateSubnetIds },
    kubernetes: {
      cluster: clusterMode,
      apiAllowCidrs: list("clusterApiAllowCidrs"),
      namespace,
      exposure,
      ingressHost,
      ingressClassName: str("ingressClassName"),
      certManagerIssuer,
      tlsSecretName,
      ingressControllerNamespace,
      eksClusterName,
    },
    secrets,
  };
}

function coerce(fullKey: string, rawValue: string, spec: ConfigKeySpec, problems: string[]): Value | undefined {
  const shown = spec.secret ? "[secret]" : show(rawValue);
  switch (spec.type) {
    case "string": {
      if (spec.oneOf && !spec.oneOf.includes(rawValue)) {
        problems.push(`${fullKey}: ${shown} is not allowed; allowed values: ${spec.oneOf.join(", ")}`);
        return undefined;
      }
      return rawValue;
    }
    case "integer": {
      if (!/^-?\d+$/.test(rawValue.trim())) {
        problems.push(`${fullKey}: ${shown} is not an integer`);
        return undefined;
      }
      const n = Number(rawValue);
      if (spec.min !== undefined && n < spec.min) {
        problems.push(`${fullKey}: ${n} is below the minimum ${spec.min}`);
        return undefined;
      }
      if (spec.max !== undefined && n > spec.max) {
        problems.push(`${fullKey}: ${n} is above the maximum ${spec.max}`);
        return undefined;
      }
      return n;
    }
    case "boolean": {
      if (rawValue !== "true" && rawValue !== "false") {
        problems.push(`${fullKey}: ${shown} is not a boolean; use true or false`);
        return undefined;
      }
      return rawValue === "true";
    }
    case "array": {
      let parsed: unknown;
      try {
        parsed = JSON.parse(rawValue);
      } catch {
        parsed = undefined;
      }
      if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) {
        problems.push(`${fullKey}: ${shown} is not a list of strings (YAML list, or JSON like ["a","b"])`);
        return undefined;
      }
      return parsed as string[];
    }
    case "object": {
      // The offline plan cannot decrypt a secure value: its keys are unknown, so it stands for none.
      if (rawValue.startsWith(SECRET_PLACEHOLDER)) return {};
      let parsed: unknown;
      try {
        parsed = JSON.parse(rawValue);
      } catch {
        parsed = undefined;
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((x) => typeof x === "string")) {
        problems.push(`${fullKey}: ${shown} is not a JSON object of string values, like {"KEY":"value"}`);
        return undefined;
      }
      return parsed as Record<string, string>;
    }
  }
}
