/**
 * The daily DR copy of ElastiCache's snapshots, as a CronJob (the buckets are aws/redis-export.ts).
 *
 * One pod, two steps, like the backup job (backup.ts): the AWS CLI step exports the newest automatic
 * snapshot to the export bucket, waits, checks the object, copies it to the kept key (whose versions
 * the buckets' lifecycle keeps, and which replicates to ca-west-1), drops the transient export and
 * snapshot copy, and writes the outcome to the pod's scratch directory; the postgres step records
 * that outcome, passed or failed, as kind `redis-dr` in northstack_ops.backup_runs (BackupTooOld
 * covers every kind but drills) and fails the pod when the copy failed. The export step always
 * hands over to the record step: a failure that stopped the pod there would reach no alert but the
 * age one.
 */
import * as pulumi from "@pulumi/pulumi";
import { AWS_CONFIG, SCRIPT, awsCliConfig, awsCliStep, postgresEnv } from "./backup";
import type { BackupRunKind } from "./backup-alerts";
import { BACKUP_RECORD_SQL } from "./backup-shell";
import { ObjectStoreEndpoint, PostgresEndpoint } from "./endpoints";
import { IMAGES } from "./images";
import { Runtime } from "./runtime/types";
import { WorkloadSpec } from "./workload";

/** Where the DR copy lives, in the export bucket and its replica: one fixed key, one version per day. */
export const REDIS_DR_KEY = "daily/redis.rdb";
/** Names of the transient exports (`export-<group>-<time>`), in the export bucket and as snapshot copies. */
export const REDIS_EXPORT_PREFIX = "export-";
/** The kind the job records in northstack_ops.backup_runs. */
export const REDIS_DR_KIND: BackupRunKind = "redis-dr";
/** Hours after which the newest automatic snapshot is too old to export as today's copy. */
export const REDIS_SNAPSHOT_MAX_AGE_HOURS = 26;
const STATUS_DIR = "/status";

export interface RedisExportArgs {
  readonly runtime: Runtime;
  /** The replication group whose automatic snapshots are copied. Required. */
  readonly replicationGroupId: pulumi.Input<string>;
  /** The export bucket, with the job's access (its Pod Identity). Required. */
  readonly bucket: ObjectStoreEndpoint;
  /** The stack key the kept copy is encrypted with. Required. */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** Database the run is recorded in, with the recorder role's login (it may only insert runs). Required. */
  readonly postgres: PostgresEndpoint;
  /** When the copy runs: five cron fields, UTC. Default: "15 8 * * *" (after the 06:00-07:00 snapshot window). */
  readonly schedule?: string;
  /** Workloads that must exist first (the migrations that create northstack_ops.backup_runs). Default: none. */
  readonly dependsOn?: pulumi.Resource[];
}

/** The job's script: `export` (AWS CLI image) and `record` (postgres image). Pure. */
export function renderRedisExportScript(): string {
  return `#!/bin/bash
# Rendered by northstack (components/redis-export.ts). Usage: redis-export.sh export | record
set -euo pipefail

RECORD_SQL="${BACKUP_RECORD_SQL}"
DR_KEY=${REDIS_DR_KEY}
STATUS=\${STATUS_DIR:?STATUS_DIR is not set}/outcome

log() { printf 'redis-export: %s\\n' "$*" >&2; }

# The outcome the record step reads: succeeded, duration, size and object, one key=value a line.
outcome() {
  printf 'succeeded=%s\\nduration=%s\\nsize=%s\\nobject=%s\\n' "$1" "$(( $(date +%s) - STARTED ))" "\${2:-0}" "\${3:-}" >"$STATUS.tmp"
  mv "$STATUS.tmp" "$STATUS"
}

snapshot_status() {
  aws elasticache describe-snapshots --snapshot-name "$1" --output text --query 'Snapshots[0].SnapshotStatus' 2>/dev/null || echo gone
}

# The newest available automatic snapshot of the group, with its creation time.
newest_snapshot() {
  aws elasticache describe-snapshots --replication-group-id "$REDIS_GROUP" --snapshot-source system --output text \\
    --query "reverse(sort_by(Snapshots[?SnapshotStatus=='available'], &NodeSnapshots[0].SnapshotCreateTime))[0].[SnapshotName, NodeSnapshots[0].SnapshotCreateTime]"
}

copy_to_dr() {
  local snapshot created age target status waited=0 listed keys key size version kept_size kept_version
  read -r snapshot created < <(newest_snapshot)
  if [ -z "\${snapshot:-}" ] || [ "$snapshot" = None ]; then log "no available automatic snapshot of $REDIS_GROUP"; return 1; fi
  age=$(( ($(date -u +%s) - $(date -u -d "$created" +%s)) / 3600 ))
  if [ "$age" -ge "$MAX_SNAPSHOT_AGE_HOURS" ]; then
    log "the newest snapshot $snapshot is $age h old (limit $MAX_SNAPSHOT_AGE_HOURS h): automatic snapshots have stopped"
    return 1
  fi
  target="${REDIS_EXPORT_PREFIX}$REDIS_GROUP-$(date -u +%Y%m%d-%H%M%S)"
  printf '%s\n' "$target" >"$STATUS_DIR/export-copy"
  log "exporting $snapshot to s3://$BACKUP_BUCKET as $target"
  aws elasticache copy-snapshot --source-snapshot-name "$snapshot" --target-snapshot-name "$target" \\
    --target-bucket "$BACKUP_BUCKET" --output text --query Snapshot.SnapshotStatus >/dev/null
  while true; do
    status=$(snapshot_status "$target")
    case "$status" in
      available | gone) break ;;
      failed) log "the export $target failed"; return 1 ;;
    esac
    if [ "$waited" -ge "$EXPORT_WAIT_SECONDS" ]; then log "the export $target is still $status after $waited s"; return 1; fi
    sleep "$POLL_SECONDS"
    waited=$(( waited + POLL_SECONDS ))
  done
  # The object is the proof, whatever the snapshot copy's status said.
  # Bash only: the AWS CLI image is not promised to have grep or sed. The CLI prints None for no keys.
  listed=$(aws s3api list-objects-v2 --bucket "$BACKUP_BUCKET" --prefix "$target" --output text --query 'Contents[].Key')
  [ "$listed" != None ] || listed=""
  read -r -a keys <<<"$listed"
  if [ "\${#keys[@]}" -ne 1 ] || [ "\${keys[0]%.rdb}" = "\${keys[0]}" ]; then
    log "expected one .rdb under s3://$BACKUP_BUCKET/$target, found \${#keys[@]}: \${keys[*]}"
    return 1
  fi
  key=\${keys[0]}
  read -r size version < <(aws s3api head-object --bucket "$BACKUP_BUCKET" --key "$key" --output text --query '[ContentLength, VersionId]')
  if ! [ "$size" -gt 0 ] 2>/dev/null; then log "s3://$BACKUP_BUCKET/$key is empty"; return 1; fi
  # --copy-props none: the export's tags and headers are not copied, so the role needs no tagging rights.
  aws s3 cp "s3://$BACKUP_BUCKET/$key" "s3://$BACKUP_BUCKET/$DR_KEY" --only-show-errors --copy-props none \\
    --sse aws:kms --sse-kms-key-id "$EXPORT_KMS_KEY" --metadata "snapshot=$snapshot"
  read -r kept_size kept_version < <(aws s3api head-object --bucket "$BACKUP_BUCKET" --key "$DR_KEY" --output text --query '[ContentLength, VersionId]')
  if [ "$kept_size" != "$size" ]; then log "s3://$BACKUP_BUCKET/$DR_KEY has $kept_size bytes, the export $size"; return 1; fi
  aws s3api delete-object --bucket "$BACKUP_BUCKET" --key "$key" --version-id "$version" >/dev/null
  drop_export_copy
  log "kept $snapshot as s3://$BACKUP_BUCKET/$DR_KEY version $kept_version ($kept_size bytes)"
  outcome true "$kept_size" "s3://$BACKUP_BUCKET/$DR_KEY?versionId=$kept_version"
}

# The snapshot copy this run's export left in ElastiCache, if any; failed runs drop theirs too.
drop_export_copy() {
  local copy
  [ -f "$STATUS_DIR/export-copy" ] || return 0
  copy=$(cat "$STATUS_DIR/export-copy")
  if [ "$(snapshot_status "$copy")" != gone ]; then
    aws elasticache delete-snapshot --snapshot-name "$copy" --output text --query Snapshot.SnapshotStatus >/dev/null
  fi
  rm -f "$STATUS_DIR/export-copy"
}

# AWS CLI step: always exits 0 once the outcome is written, so that the record step runs.
export_step() {
  : "\${REDIS_GROUP:?REDIS_GROUP is not set}" "\${BACKUP_BUCKET:?BACKUP_BUCKET is not set}" "\${EXPORT_KMS_KEY:?EXPORT_KMS_KEY is not set}"
  STARTED=$(date +%s)
  outcome false
  # A subshell of its own with -e on: inside an if or ||, bash would ignore -e in copy_to_dr.
  set +e
  (set -e; copy_to_dr)
  local rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    log "the DR copy FAILED; recording it"
    (drop_export_copy) || log "the snapshot copy of this run could not be deleted; delete export-* copies by hand"
  fi
}

# postgres step: records the outcome and fails the pod when the copy failed.
record_step() {
  local succeeded=false duration=0 size=0 object="" line
  if [ -f "$STATUS" ]; then
    while IFS='=' read -r line value; do
      case "$line" in
        succeeded) succeeded=$value ;;
        duration) duration=$value ;;
        size) size=$value ;;
        object) object=$value ;;
      esac
    done <"$STATUS"
  else
    log "the export step left no outcome"
  fi
  printf '%s\\n' "$RECORD_SQL" | psql -X -q -v ON_ERROR_STOP=1 -v kind=${REDIS_DR_KIND} -v duration="$duration" \\
    -v size="$size" -v object="$object" -v succeeded="$succeeded" >/dev/null
  log "recorded ${REDIS_DR_KIND} succeeded=$succeeded in northstack_ops.backup_runs"
  [ "$succeeded" = true ]
}

case "\${1:-}" in
  export) export_step ;;
  record) record_step ;;
  *) echo "usage: $0 export | record" >&2; exit 2 ;;
esac
`;
}

/**
 * The CronJob: the AWS CLI step exports and copies (the bucket's Pod Identity, no database secret),
 * then the postgres image records the run as the backup role. Pure.
 */
export function redisExportSpec(name: string, args: RedisExportArgs): WorkloadSpec {
  const pg = args.postgres;
  return {
    name,
    component: "backup",
    kind: "cron",
    schedule: args.schedule ?? "15 8 * * *",
    image: IMAGES.postgres.image,
    command: ["/bin/bash", SCRIPT],
    args: ["record"],
    env: { ...postgresEnv(pg), STATUS_DIR },
    secretEnv: { PGPASSWORD: pg.login.password },
    init: [
      awsCliStep(`${name}-export`, "export", args.bucket, {
        STATUS_DIR,
        REDIS_GROUP: args.replicationGroupId,
        EXPORT_KMS_KEY: args.kmsKeyArn,
        MAX_SNAPSHOT_AGE_HOURS: String(REDIS_SNAPSHOT_MAX_AGE_HOURS),
        EXPORT_WAIT_SECONDS: "3600",
        POLL_SECONDS: "30",
      }),
    ],
    files: [
      { path: SCRIPT, content: renderRedisExportScript() },
      { path: AWS_CONFIG, content: awsCliConfig(args.bucket) },
    ],
    scratch: [{ mountPath: STATUS_DIR }, { mountPath: "/home/backup" }, { mountPath: "/tmp" }],
    resources: { cpuMillis: 100, memoryMb: 128 },
    user: { uid: IMAGES.postgres.uid, gid: IMAGES.postgres.gid },
    serviceAccount: args.bucket.access?.serviceAccount,
  };
}

/** The daily DR copy of the ElastiCache snapshots (redisExportSpec), deployed on `runtime`. */
export class RedisExport extends pulumi.ComponentResource {
  constructor(name: string, args: RedisExportArgs, opts?: pulumi.ComponentResourceOptions) {
    super("northstack:data:RedisExport", name, {}, opts);
    args.runtime.deploy(redisExportSpec(name, args), this, {
      dependsOn: [...(args.dependsOn ?? []), ...(args.bucket.access?.dependsOn ?? [])],
    });
    this.registerOutputs({});
  }
}
