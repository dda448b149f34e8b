/** How long the stack keeps backups and overwritten user files, on every cloud. */

/**
 * How many backups are kept, by key prefix: 7 under `daily/` and 4 under `weekly/`.
 *
 * Each slot is one fixed key per database (`daily/<db>.dump`, `weekly/<db>.dump`) in a versioned
 * bucket: every upload makes a new current version, and the lifecycle deletes a noncurrent version
 * only once `keep - 1` newer noncurrent versions exist. Retention therefore counts backups, not days:
 * while the job fails no version is added and none expires, so the last 7 daily and 4 weekly dumps
 * survive any outage (an age rule on dated keys would have emptied `daily/` after a week of failures).
 * A restore picks a version (`aws s3api list-object-versions`, `gcloud storage ls --all-versions`).
 */
export const BACKUP_RETENTION = {
  prefixes: [
    { prefix: "daily/", keep: 7 },
    { prefix: "weekly/", keep: 4 },
  ],
  /** Days a version beyond the kept count lingers before the store deletes it (S3 requires at least 1). */
  noncurrentDays: 1,
} as const;

/** Days an overwritten or deleted user file stays recoverable as a noncurrent version. */
export const STORAGE_NONCURRENT_DAYS = 30;
