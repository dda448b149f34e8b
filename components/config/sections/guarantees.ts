import { ConfigReader, Problems, key } from "../reader";
import { Platform } from "./platform";

/** What the profile promises about data: HA and deletion protection, and the least backup retention. */
export function checkDataGuarantees(r: ConfigReader, problems: Problems, { environment, profile }: Platform): void {
  if (profile.requiresHa) {
    for (const k of ["postgresHa", "redisHa", "deletionProtection"] as const) {
      if (!r.bool(k))
        problems.push(
          `${key(k)}: false is not allowed on ${environment}; ${environment} must be highly available and protected from deletion`,
        );
    }
  }
  if (r.int("backupRetentionDays") < profile.minBackupRetentionDays) {
    problems.push(
      `${key("backupRetentionDays")}: ${r.int("backupRetentionDays")} is below ${profile.minBackupRetentionDays}; managed Postgres on ${environment} keeps at least ${profile.minBackupRetentionDays} days of backups and PITR`,
    );
  }
}
