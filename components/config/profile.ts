/**
 * What makes dev, staging and prod different, in one reviewable table. Config sections and stack
 * compositions read an environment's profile, never its name: a new environment is a new row, and a
 * changed guarantee is one cell.
 */

export const ENVIRONMENTS = ["dev", "staging", "prod"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export interface EnvironmentProfile {
  /** Where workloads run: the developer's Docker engine, or a Kubernetes cluster. */
  readonly runtime: "docker" | "kubernetes";
  /** The values northstack:cloud may take. The first is what the message suggests. */
  readonly clouds: readonly ("local" | "aws" | "gcp")[];
  /** A pinned API image is required (a cluster cannot build app/ itself). */
  readonly requiresApiImage: boolean;
  /** The gateway serves TLS only: an https publicUrl and a certificate source are required. */
  readonly requiresTls: boolean;
  /** postgresHa, redisHa and deletionProtection must be true; cluster nodes and NAT span zones. */
  readonly requiresHa: boolean;
  /** Backups and keys are copied to the cloud's Canadian DR region. */
  readonly drCopies: boolean;
  /** Replicas of the stateless Supabase services when northstack:supabaseReplicas is 0 (auto). */
  readonly defaultSupabaseReplicas: number;
  /** The fewest replicas of the stateless Supabase services the environment accepts. */
  readonly minSupabaseReplicas: number;
  /** The fewest days of managed backups and PITR the environment accepts (0: no managed backups). */
  readonly minBackupRetentionDays: number;
  /** Monitoring must run and Alertmanager must have at least one receiver: alerts reach a person. */
  readonly requiresAlertReceiver: boolean;
  /** How the policy pack's violations count (policy/config.<environment>.json says the same). */
  readonly policyEnforcement: "advisory" | "mandatory";
}

export const PROFILES: Readonly<Record<Environment, EnvironmentProfile>> = {
  dev: {
    runtime: "docker",
    clouds: ["local"],
    requiresApiImage: false,
    requiresTls: false,
    requiresHa: false,
    drCopies: false,
    defaultSupabaseReplicas: 1,
    minSupabaseReplicas: 1,
    minBackupRetentionDays: 0,
    requiresAlertReceiver: false,
    policyEnforcement: "advisory",
  },
  staging: {
    runtime: "kubernetes",
    clouds: ["aws", "gcp"],
    requiresApiImage: true,
    requiresTls: true,
    requiresHa: false,
    drCopies: false,
    defaultSupabaseReplicas: 1,
    minSupabaseReplicas: 1,
    minBackupRetentionDays: 7,
    requiresAlertReceiver: true,
    policyEnforcement: "mandatory",
  },
  prod: {
    runtime: "kubernetes",
    clouds: ["aws", "gcp"],
    requiresApiImage: true,
    requiresTls: true,
    requiresHa: true,
    drCopies: true,
    defaultSupabaseReplicas: 2,
    minSupabaseReplicas: 2,
    minBackupRetentionDays: 7,
    requiresAlertReceiver: true,
    policyEnforcement: "mandatory",
  },
};
