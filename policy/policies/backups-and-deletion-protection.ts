import {
  Finding,
  PolicyDefinition,
  Props,
  asBool,
  cannotVerify,
  configOf,
  finding,
  get,
  isUnknown,
  show,
} from "../lib/framework";

export interface BackupConfig {
  readonly minimumRetentionDays: number;
  readonly minimumPitrDays: number;
  readonly requireDeletionProtection: boolean;
}

/** Stack tag that marks a production stack (`pulumi stack tag set environment prod`); its value is matched case-insensitively. */
export const ENVIRONMENT_TAG = "environment";
const PRODUCTION = new Set(["prod", "production"]);
/** Cloud SQL keeps transaction logs for PITR at most 7 days on Enterprise and 35 on Enterprise Plus; unset means 7 and 14. */
const CLOUD_SQL_LOG_RETENTION = { ENTERPRISE: { max: 7, default: 7 }, ENTERPRISE_PLUS: { max: 35, default: 14 } };

const BACKUPS = "keep at least the configured days of automated backups (northstack:backupRetentionDays)";

function retentionProblem(field: string, value: unknown, minimum: number): Finding | undefined {
  if (isUnknown(value)) return cannotVerify(field, `${minimum} days of backups`);
  const days = Number(value);
  return Number.isFinite(days) && days >= minimum
    ? undefined
    : finding(
        `${field} is ${show(value)}; keep at least ${minimum} days of backups (and with them PITR)`,
        `set ${field} to ${minimum} or more (${BACKUPS})`,
      );
}

/** A field that must be true on production; unknown is cannot verify. */
function mustBeTrue(
  p: Props,
  path: string[],
  why: string,
  setting = "northstack:deletionProtection",
): Finding | undefined {
  const value = get(p, ...path);
  const field = path.join(".");
  if (isUnknown(value)) return cannotVerify(field, why);
  return asBool(value) === true
    ? undefined
    : finding(`${field} is ${show(value)}; ${why}`, `set ${field}: true (${setting})`);
}

const PROTECTED = "production databases must be protected from deletion";

function rdsProblems(p: Props, cfg: BackupConfig, production: boolean, replica: boolean): (Finding | undefined)[] {
  // A read replica inherits its source's backups, but can still be deleted.
  const problems = replica
    ? []
    : [retentionProblem("backupRetentionPeriod", p.backupRetentionPeriod, cfg.minimumRetentionDays)];
  if (!production) return problems;
  problems.push(mustBeTrue(p, ["deletionProtection"], PROTECTED));
  if (replica) return problems;
  if (isUnknown(p.skipFinalSnapshot)) problems.push(cannotVerify("skipFinalSnapshot", "a final snapshot"));
  else if (asBool(p.skipFinalSnapshot) !== false)
    problems.push(
      finding(
        `skipFinalSnapshot is ${show(p.skipFinalSnapshot)}; production databases must take a final snapshot`,
        "set skipFinalSnapshot: false and a finalSnapshotIdentifier",
      ),
    );
  else if (!p.finalSnapshotIdentifier)
    problems.push(
      finding("finalSnapshotIdentifier is not set, so no final snapshot can be taken", "set finalSnapshotIdentifier"),
    );
  return problems;
}

function cloudSqlProblems(p: Props, cfg: BackupConfig, production: boolean): (Finding | undefined)[] {
  // Read replicas have no backups of their own.
  if (p.masterInstanceName)
    return production ? [mustBeTrue(p, ["settings", "deletionProtectionEnabled"], PROTECTED)] : [];
  const path = ["settings", "backupConfiguration"];
  const backup = get(p, ...path);
  if (isUnknown(get(p, "settings")) || isUnknown(backup))
    return [cannotVerify("settings.backupConfiguration", "backups and PITR")];
  const problems: (Finding | undefined)[] = [
    mustBeTrue(p, [...path, "enabled"], "automated backups are off", "the Postgres component enables them"),
    mustBeTrue(
      p,
      [...path, "pointInTimeRecoveryEnabled"],
      "point-in-time recovery is off",
      "the Postgres component enables it",
    ),
  ];
  const unit = get(backup, "backupRetentionSettings", "retentionUnit") ?? "COUNT";
  const retained = get(backup, "backupRetentionSettings", "retainedBackups");
  // Cloud SQL keeps daily backups; COUNT is the only unit, so a count is a number of days.
  if (unit === "COUNT")
    problems.push(
      retentionProblem(
        "settings.backupConfiguration.backupRetentionSettings.retainedBackups",
        retained ?? 7,
        cfg.minimumRetentionDays,
      ),
    );
  const edition = get(p, "settings", "edition") === "ENTERPRISE_PLUS" ? "ENTERPRISE_PLUS" : "ENTERPRISE";
  const limits = CLOUD_SQL_LOG_RETENTION[edition];
  const logDays = get(backup, "transactionLogRetentionDays");
  const field = "settings.backupConfiguration.transactionLogRetentionDays";
  if (isUnknown(logDays)) problems.push(cannotVerify(field, `${cfg.minimumPitrDays} days of point-in-time recovery`));
  else if (Number(logDays ?? limits.default) < cfg.minimumPitrDays) {
    problems.push(
      finding(
        `${field} is ${show(logDays)}${logDays === undefined ? ` (${limits.default} days on ${edition})` : ""}; point-in-time recovery must reach back ${cfg.minimumPitrDays} days`,
        cfg.minimumPitrDays > limits.max
          ? `use settings.edition ENTERPRISE_PLUS (up to ${CLOUD_SQL_LOG_RETENTION.ENTERPRISE_PLUS.max} days) and set ${field} to ${cfg.minimumPitrDays}`
          : `set ${field} to ${cfg.minimumPitrDays} or more (at most ${limits.max} on ${edition})`,
      ),
    );
  }
  if (production) {
    if (isUnknown(p.deletionProtection)) problems.push(cannotVerify("deletionProtection", PROTECTED));
    else if (asBool(p.deletionProtection) === false)
      problems.push(
        finding(
          `deletionProtection is false; ${PROTECTED}`,
          "set deletionProtection: true (northstack:deletionProtection)",
        ),
      );
    problems.push(mustBeTrue(p, ["settings", "deletionProtectionEnabled"], `${PROTECTED} in the Cloud SQL API too`));
    problems.push(
      mustBeTrue(p, ["settings", "finalBackupConfig", "enabled"], "production databases must keep a final backup"),
    );
  }
  return problems;
}

export const backupsAndDeletionProtection: PolicyDefinition = {
  name: "backups-and-deletion-protection",
  description:
    "Managed Postgres keeps automated backups for at least the configured number of days with point-in-time recovery reaching back the configured " +
    "number of days; on production stacks it (and every read replica) also has deletion protection, and primaries take a final snapshot before deletion.",
  remediationSteps:
    "RDS: backupRetentionPeriod >= 7 (enables PITR); on prod deletionProtection: true (read replicas too), skipFinalSnapshot: false and a " +
    "finalSnapshotIdentifier. Cloud SQL: settings.backupConfiguration { enabled: true, pointInTimeRecoveryEnabled: true, " +
    "backupRetentionSettings.retainedBackups >= 7, transactionLogRetentionDays >= 7 }; on prod deletionProtection, settings.deletionProtectionEnabled " +
    "and settings.finalBackupConfig.enabled. northstack:backupRetentionDays and northstack:deletionProtection drive these; prod is recognised by " +
    "this policy's requireDeletionProtection config or the stack tag environment=prod (or production, any case).",
  severity: "high",
  configSchema: {
    properties: {
      minimumRetentionDays: {
        type: "integer",
        minimum: 1,
        default: 7,
        description: "Fewest days of automated backups on managed Postgres.",
      },
      minimumPitrDays: {
        type: "integer",
        minimum: 1,
        maximum: 35,
        default: 7,
        description:
          "Fewest days point-in-time recovery must reach back (Cloud SQL transactionLogRetentionDays: at most 7 on Enterprise, 35 on Enterprise Plus).",
      },
      requireDeletionProtection: {
        type: "boolean",
        default: false,
        description:
          "Require deletion protection and final snapshots (set on prod; the stack tag environment=prod does the same).",
      },
    },
  },
  validateResource: (args, report) => {
    const cfg = configOf<BackupConfig>(backupsAndDeletionProtection, args);
    const production =
      cfg.requireDeletionProtection || PRODUCTION.has((args.stackTags.get(ENVIRONMENT_TAG) ?? "").trim().toLowerCase());
    let problems: (Finding | undefined)[] = [];
    if (args.type === "aws:rds/instance:Instance") {
      problems = rdsProblems(
        args.props,
        cfg,
        production,
        args.props.replicateSourceDb !== undefined && args.props.replicateSourceDb !== "",
      );
    } else if (args.type === "aws:rds/cluster:Cluster") {
      problems = rdsProblems(args.props, cfg, production, false);
    } else if (args.type === "gcp:sql/databaseInstance:DatabaseInstance") {
      problems = cloudSqlProblems(args.props, cfg, production);
    }
    for (const p of problems) if (p) report(`${args.type} ${args.name}`, p);
  },
};
