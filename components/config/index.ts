/**
 * The stack configuration: one schema, one parser, one place where bad values are rejected.
 *
 * `CONFIG_SCHEMA` (schema.ts) is the source of truth; `Pulumi.yaml` mirrors it (a unit test keeps the
 * two in step). `parseConfig` is pure: it takes the raw `namespace:key -> string` map that Pulumi
 * hands a program and either returns a typed `NorthstackConfig` or throws one `ConfigError` listing
 * every problem, each naming the key, the bad value and what is allowed. It runs before any resource
 * is registered.
 *
 * reader.ts turns raw strings into typed values; each section in sections/ checks and returns one
 * slice of the config; generic rules live in checks.ts; what differs per environment is in profile.ts.
 */

import * as path from "path";
import { Problems, Raw, key, readConfig } from "./reader";
import { CONFIG_SCHEMA, ConfigKey, NorthstackConfig } from "./schema";
import { readAlerts } from "./sections/alerts";
import { readCredentialRotation } from "./sections/credentials";
import { readApi, readApiEnv, readServices } from "./sections/api";
import { readPostgres, readRedis } from "./sections/data";
import { checkDataGuarantees } from "./sections/guarantees";
import { readEksClusterName, readKubernetes } from "./sections/kubernetes";
import { readMetricsRetention, readNodeMetrics } from "./sections/metrics";
import { readBackupOffsite } from "./sections/offsite";
import { checkHostPorts, readGatewayAndNetwork } from "./sections/network";
import { checkProviderRegions, readPlatform } from "./sections/platform";
import { readSecrets } from "./sections/secrets";
import {
  checkMigrationExtensions,
  readMigrations,
  readSupabaseReplicas,
  readSupabaseServices,
} from "./sections/supabase";

export { ENVIRONMENTS, PROFILES } from "./profile";
export type { Environment, EnvironmentProfile } from "./profile";
export {
  CANADIAN_REGIONS,
  CLOUDS,
  CONFIG_NAMESPACE,
  CONFIG_SCHEMA,
  DEFAULT_VPC_CIDR,
  SECRET_KEYS,
  SECRET_PLACEHOLDER,
} from "./schema";
export type {
  BackupOffsite,
  Cloud,
  ConfigKey,
  ConfigKeySpec,
  CredentialRotation,
  ManagedCloud,
  NorthstackConfig,
  SecretKey,
} from "./schema";
// The rules' home is ./checks; they stay reachable here so that `./config` remains a complete import path.
export {
  API_PLATFORM_ENV,
  DNS_LABEL,
  HOSTNAME,
  checkApiEnvName,
  checkBucketName,
  checkCidr,
  checkEndpoint,
  checkPinnedImage,
  checkPostgresPassword,
  checkRedisPassword,
  checkRegion,
  checkUrl,
} from "./checks";

/** The directory of Pulumi.yaml and index.ts. */
const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid northstack configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses and validates the raw stack configuration. Sections run in a fixed order and report into
 * one list, so the messages come out in the same order for the same input.
 *
 * @param raw every config value of the stack, keyed `namespace:key`, as strings (objects as JSON)
 * @param stack the Pulumi stack name
 * @param projectRoot where northstack:migrationsDir starts. Default: this project (the directory of Pulumi.yaml)
 */
export function parseConfig(raw: Raw, stack: string, projectRoot: string = PROJECT_ROOT): NorthstackConfig {
  const problems: Problems = [];
  const r = readConfig(raw, problems);
  const readerProblems = problems.length;

  checkProviderRegions(raw, problems);
  const platform = readPlatform(r, problems, stack);
  const api = readApi(r, problems, platform);
  const services = readServices(r, problems);
  const postgres = readPostgres(r, problems);
  const { gateway, network, docker } = readGatewayAndNetwork(r, problems);
  checkHostPorts(r, problems);
  const supabaseServices = readSupabaseServices(r, problems);
  const secrets = readSecrets(r, problems);
  const alerts = readAlerts(r, problems, platform, secrets);
  const retention = readMetricsRetention(r, problems);
  const apiEnv = readApiEnv(r, problems);
  const kubernetes = readKubernetes(r, problems, platform, secrets, stack, gateway.publicUrl);
  const eksClusterName = readEksClusterName(r, problems, platform, kubernetes.cluster);
  const nodeMetrics = readNodeMetrics(r, problems, platform, kubernetes.cluster, !r.invalid("cluster"));
  const supabaseReplicas = readSupabaseReplicas(r, problems, platform);
  const migrations = readMigrations(r, problems, projectRoot);
  checkMigrationExtensions(r, problems, migrations, platform.cloud);
  checkDataGuarantees(r, problems, platform);
  const credentialRotation = readCredentialRotation(r, problems);
  const offsite = readBackupOffsite(r, problems, platform);

  if (problems.length) throw new ConfigError(withoutEchoes(problems, readerProblems, (k) => r.invalid(k)));

  return {
    stack,
    environment: platform.environment,
    profile: platform.profile,
    cloud: platform.cloud,
    region: platform.region,
    drRegion: platform.drRegion,
    api: { ...api, ...apiEnv },
    services,
    postgres: { ...postgres, ...(offsite ? { offsite } : {}) },
    migrations,
    redis: readRedis(r),
    supabase: { replicas: supabaseReplicas, ...supabaseServices },
    gateway,
    monitoring: {
      enabled: r.bool("monitoring"),
      grafanaHostPort: r.int("grafanaPort"),
      logIntakePort: r.int("logIntakePort"),
      retention,
      nodeMetrics,
      alerts,
    },
    deletionProtection: r.bool("deletionProtection"),
    docker,
    network,
    kubernetes: { ...kubernetes, eksClusterName },
    credentialRotation,
    secrets,
  };
}

/**
 * A key the reader rejected is judged by sections at its default, which the user never chose; what a
 * section then says about that key only echoes the reader's problem, so it is dropped. The reader's
 * own problems (the first `readerProblems`) stay.
 */
function withoutEchoes(
  problems: readonly string[],
  readerProblems: number,
  invalid: (k: ConfigKey) => boolean,
): string[] {
  const rejected = (Object.keys(CONFIG_SCHEMA) as ConfigKey[]).filter(invalid).map((k) => `${key(k)}:`);
  return problems.filter((p, i) => i < readerProblems || !rejected.some((prefix) => p.startsWith(prefix)));
}
