import { ResourceValidationPolicy } from "@pulumi/policy";
import { Props, asBool, configOf, get, isUnknown, show } from "./framework";

export interface BackupConfig {
  readonly minimumRetentionDays: number;
  readonly requireDeletionProtection: boolean;
}

/** Stack tag that marks a production stack (`pulumi stack tag set environment prod`). */
export const ENVIRONMENT_TAG = "environment";
const PRODUCTION = new Set(["prod", "production"]);

function retentionProblem(field: string, value: unknown, minimum: number): string | undefined {
  if (isUnknown(value)) return `${field} is unknown at preview: cannot verify ${minimum} days of backups`;
  const days = Number(value);
  return Number.isFinite(days) && days >= minimum ? undefined : `${field} is ${show(value)}; keep at least ${minimum} days of backups (and with them PITR)`;
}

function rdsProblems(p: Props, cfg: BackupConfig, production: boolean): (string | undefined)[] {
  const problems = [retentionProblem("backupRetentionPeriod", p.backupRetentionPeriod, cfg.minimumRetentionDays)];
  if (production) {
    if (asBool(p.deletionProtection) !== true) problems.push(`deletionProtection is ${show(p.deletionProtection)}; production databases must be protected`);
    if (asBool(p.skipFinalSnapshot) !== false) problems.push(`skipFinalSnapshot is ${show(p.skipFinalSnapshot)}; production databases must take a final snapshot`);
    else if (!p.finalSnapshotIdentifier) problems.push("finalSnapshotIdentifier is not set, so no final snapshot can be taken");
  }
  return problems;
}

function cloudSqlProblems(p: Props, cfg: BackupConfig, production: boolean): (string | undefined)[] {
  // Read replicas have no backups of their own.
  if (p.masterInstanceName) return [];
  const backup = get(p, "settings", "backupConfiguration");
  const problems: (string | undefined)[] = [];
  if (asBool(get(backup, "enabled")) !== true) problems.push("settings.backupConfiguration.enabled is not true");
  if (asBool(get(backup, "pointInTimeRecoveryEnabled")) !== true) problems.push("settings.backupConfiguration.pointInTimeRecoveryEnabled is not true");
  const unit = get(backup, "backupRetentionSettings", "retentionUnit") ?? "COUNT";
  const retained = get(backup, "backupRetentionSettings", "retainedBackups");
  // Cloud SQL keeps daily backups; COUNT is the only unit, so a count is a number of days.
  if (unit === "COUNT") problems.push(retentionProblem("settings.backupConfiguration.backupRetentionSettings.retainedBackups", retained ?? 7, cfg.minimumRetentionDays));
  if (production) {
    if (asBool(p.deletionProtection) === false) problems.push("deletionProtection is false; production databases must be protected");
    if (asBool(get(p, "settings", "deletionProtectionEnabled")) !== true) problems.push("settings.deletionProtectionEnabled is not true; production databases must be protected in the Cloud SQL API too");
    if (asBool(get(p, "settings", "finalBackupConfig", "enabled")) !== true) problems.push("settings.finalBackupConfig.enabled is not true; production databases must keep a final backup");
  }
  return problems;
}

export const backupsAndDeletionProtection: ResourceValidationPolicy = {
  name: "backups-and-deletion-protection",
  description:
    "Managed Postgres keeps automated backups for at least the configured number of days with point-in-time recovery; on production stacks it also has " +
    "deletion protection and takes a final snapshot before deletion.",
  remediationSteps:
    "RDS: backupRetentionPeriod >= 7 (enables PITR); on prod deletionProtection: true, skipFinalSnapshot: false and a finalSnapshotIdentifier. " +
    "Cloud SQL: settings.backupConfiguration { enabled: true, pointInTimeRecoveryEnabled: true, backupRetentionSettings.retainedBackups >= 7 }; on prod " +
    "deletionProtection, settings.deletionProtectionEnabled and settings.finalBackupConfig.enabled. northstack:backupRetentionDays and " +
    "northstack:deletionProtection drive these; prod is recognised by this policy's requireDeletionProtection config or the stack tag environment=prod.",
  severity: "high",
  configSchema: {
    properties: {
      minimumRetentionDays: { type: "integer", minimum: 1, default: 7, description: "Fewest days of automated backups (and PITR window) on managed Postgres." },
      requireDeletionProtection: {
        type: "boolean",
        default: false,
        description: "Require deletion protection and final snapshots (set on prod; the stack tag environment=prod does the same).",
      },
    },
  },
  validateResource: (args, report) => {
    const cfg = configOf<BackupConfig>(backupsAndDeletionProtection, args);
    const production = cfg.requireDeletionProtection || PRODUCTION.has(args.stackTags.get(ENVIRONMENT_TAG) ?? "");
    let problems: (string | undefined)[] = [];
    if (args.type === "aws:rds/instance:Instance") {
      // A read replica inherits its source's backups.
      if (args.props.replicateSourceDb) return;
      problems = rdsProblems(args.props, cfg, production);
    } else if (args.type === "aws:rds/cluster:Cluster") {
      problems = rdsProblems(args.props, cfg, production);
    } else if (args.type === "gcp:sql/databaseInstance:DatabaseInstance") {
      problems = cloudSqlProblems(args.props, cfg, production);
    }
    for (const p of problems) if (p) report(`${args.type} ${args.name}: ${p}.`);
  },
};
