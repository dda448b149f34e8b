#!/bin/bash
# The restore entry point for every runtime: one case per kind of backup the stacks keep. Each case
# validates its arguments before anything runs, prints every command it runs (stderr, "+ ..."), and
# under --dry-run prints them without running any (lib.sh states the contract).
# docs/runbooks.md has a section per case: what to check first, how to verify, how to return to normal.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$HERE/lib.sh"
exec 3>&1

ISO_UTC='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
ISO_UTC_HELP="use UTC in ISO 8601, e.g. 2026-11-01T14:05:00Z"
IDENT='^[a-z][a-z0-9-]{0,62}$'
IDENT_HELP="use lower-case letters, digits and '-', starting with a letter, at most 63"

usage() {
  cat <<'EOF'
usage: restore.sh [--dry-run] <case> [options]    (restore.sh <case> --help for its options)

cases:
  dev               dev Postgres container from its pgBackRest repository, to the latest point or a time
  dump              a bucket dump (daily/<db>.dump, any kept version) and its roles into a new database
  rds               RDS to a point in time into a new instance, also from the ca-west-1 replicated backups
  cloudsql-clone    Cloud SQL point-in-time clone into a new instance
  cloudsql-promote  promote the Cloud SQL DR replica and switch its backups on
  elasticache       a new ElastiCache replication group from a snapshot
  elasticache-dr    a new ElastiCache replication group in ca-west-1 from the replicated daily copy
  memorystore       import an RDB file from GCS into a Memorystore instance (replaces its data)
  redis             dev Redis container from a kept RDB copy (replaces its data)
  storage           dev Storage objects volume from a kept tarball (replaces its objects)

--dry-run prints the exact commands without running them (read-only look-ups still run).
EOF
}

# --------------------------------------------------------------------------------------------- dev
usage_dev() {
  cat <<'EOF'
usage: restore.sh dev --container NAME [--time YYYY-MM-DDTHH:MM:SSZ] [--into DIR] [--stop NAME]...
                      [--image REF] [--work DIR] [--wait-seconds N]

Restores the dev Postgres container (image images/postgres) from its pgBackRest repository with
scripts/restore/pgbackrest-restore.sh, run in a one-off container of the same image and volumes.
  --container NAME  the Postgres container, e.g. northstack-dev-postgres. Required.
  --time T          stop just before the first transaction committed after T (UTC). Default: the
                    latest point, every archived WAL segment replayed.
  --into DIR        restore into a new directory under /var/lib/pgbackrest (the repository volume)
                    and leave the live database running. Default: replace the live data directory.
  --stop NAME       a writer to stop first and start again afterwards (repeat for each); only when
                    replacing the live database.
  --image REF       image to run the restore in. Default: the container's own image.
  --work DIR        where the container's pgbackrest.conf is copied to. Default: a new temp dir.
  --wait-seconds N  how long to wait for recovery to finish after the start. Default: 3600.
EOF
}

restore_dev() {
  local container="" time="" into="" image="" work="" wait_seconds=3600 writers=() pgbr_args writer
  parse_options --container=container --time=time --into=into --stop+writers --image=image --work=work \
    --wait-seconds=wait_seconds -- "$@"
  require --container "$container"
  check --container "$container" '^[A-Za-z0-9][A-Za-z0-9_.-]*$' "use a Docker container name"
  for writer in "${writers[@]}"; do check --stop "$writer" '^[A-Za-z0-9][A-Za-z0-9_.-]*$' "use a Docker container name"; done
  [ -z "$time" ] || check --time "$time" "$ISO_UTC" "$ISO_UTC_HELP"
  check --wait-seconds "$wait_seconds" '^[1-9][0-9]*$' "use a positive number of seconds"
  if [ -n "$into" ]; then
    check --into "$into" '^/var/lib/pgbackrest/[A-Za-z0-9._-]+$' \
      "use a new directory directly under /var/lib/pgbackrest (the repository volume), e.g. /var/lib/pgbackrest/restore-1"
    [ ${#writers[@]} -eq 0 ] || die "--stop: writers keep running with --into, which leaves the live database alone; drop --stop"
  fi
  [ -n "$image" ] || image=$(lookup docker inspect --format '{{.Config.Image}}' "$container")
  [ -n "$work" ] || work=$(new_work_dir)

  pgbr_args=(latest)
  if [ -n "$time" ]; then
    pgbr_args=(time "${time%Z}+00")
    pgbr_args[1]=${pgbr_args[1]/T/ }
  fi
  [ -z "$into" ] || pgbr_args+=(--into "$into")

  if [ -z "$into" ]; then
    for writer in "${writers[@]}"; do run docker stop "$writer"; done
    run docker stop "$container"
  fi
  # pgbackrest.conf reaches the container as an upload, not a volume, so --volumes-from misses it.
  run docker cp "$container:/etc/pgbackrest/pgbackrest.conf" "$work/pgbackrest.conf"
  run chmod 0644 "$work/pgbackrest.conf"
  run docker run --rm --user 999:999 --volumes-from "$container" \
    -v "$work/pgbackrest.conf:/etc/pgbackrest/pgbackrest.conf:ro" \
    -v "$HERE/pgbackrest-restore.sh:/usr/local/bin/pgbackrest-restore.sh:ro" \
    -e PGBACKREST_CONFIG=/etc/pgbackrest/pgbackrest.conf \
    --entrypoint /bin/bash "$image" /usr/local/bin/pgbackrest-restore.sh "${pgbr_args[@]}"
  if [ -n "$into" ]; then
    [ "$DRY_RUN" = 1 ] || echo "restore.sh: restored into $into; the live database was not touched" >&2
    return 0
  fi
  run docker start "$container"
  # The server replays WAL up to the target and then promotes itself; writers wait for that.
  wait_for "$wait_seconds" f docker exec "$container" psql -X -At -U postgres -c 'SELECT pg_is_in_recovery()'
  for writer in "${writers[@]}"; do run docker start "$writer"; done
}

# -------------------------------------------------------------------------------------------- dump
usage_dump() {
  cat <<'EOF'
usage: restore.sh dump --store s3|gcs --bucket NAME --target-db NAME [--database NAME] [--weekly]
                       [--version ID] [--endpoint URL] [--jobs N] [--work DIR]

Downloads <daily|weekly>/<db>.dump and the roles saved beside it from the backup bucket, applies the
roles (re-runnable: existing roles are kept) and restores the dump into a new database, so it works
on an empty cluster. The target cluster comes from the libpq environment (PGHOST, PGPORT, PGUSER,
PGPASSWORD, PGSSLMODE); never point it at the production instance to inspect a backup.
  --store s3|gcs    where the bucket is: S3 (aws CLI) or GCS (gcloud CLI). Required.
  --bucket NAME     the backup bucket (stack output backupBucket). Required.
  --target-db NAME  the new database to create and restore into. Required.
  --database NAME   the database that was dumped. Default: postgres.
  --weekly          take the weekly copy instead of the daily one.
  --version ID      the dump's S3 version id or GCS generation; the roles taken are the newest
                    version uploaded with or before it. Default: the current version.
  --endpoint URL    an S3-compatible endpoint (s3 only). Default: AWS's.
  --jobs N          parallel pg_restore jobs. Default: 4.
  --work DIR        where the files are downloaded to. Default: a new temp dir.
EOF
}

# Version id (or generation) of the roles file uploaded with or before dump version $1, from a listing
# on stdin of "<key-or-url> <version> <sortable time>" lines.
roles_version_for() {
  awk -v dump="$1" -v dumpkey="$2" -v roleskey="$3" '
    { key[NR] = $1; ver[NR] = $2; at[NR] = $3 }
    $1 == dumpkey && $2 == dump { when = $3; found = 1 }
    END {
      if (!found) exit 3
      for (i = 1; i <= NR; i++) if (key[i] == roleskey && at[i] <= when && at[i] > best_at) { best_at = at[i]; best = ver[i] }
      if (best == "") exit 4
      print best
    }'
}

restore_dump() {
  local store="" bucket="" target_db="" database=postgres weekly="" tier=daily version="" endpoint="" jobs=4 work=""
  parse_options --store=store --bucket=bucket --target-db=target_db --database=database --weekly?weekly \
    --version=version --endpoint=endpoint --jobs=jobs --work=work -- "$@"
  [ -z "$weekly" ] || tier=weekly
  require --store "$store"
  require --bucket "$bucket"
  require --target-db "$target_db"
  check --store "$store" '^(s3|gcs)$' "use s3 or gcs"
  check --bucket "$bucket" '^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$' "use a bucket name"
  check --target-db "$target_db" '^[a-z_][a-z0-9_]{0,62}$' "use lower-case letters, digits and '_'"
  check --database "$database" '^[A-Za-z_][A-Za-z0-9_]{0,62}$' "use a database name of letters, digits and '_'"
  check --jobs "$jobs" '^[1-9][0-9]?$' "use 1 to 99"
  [ -z "$version" ] || check --version "$version" '^[A-Za-z0-9._-]{1,1024}$' "use an S3 version id or a GCS generation"
  [ -z "$endpoint" ] || [ "$store" = s3 ] || die "--endpoint: only with --store s3"
  [ -z "$endpoint" ] || check --endpoint "$endpoint" '^https?://[A-Za-z0-9.-]+(:[0-9]+)?/?$' "use http(s)://host[:port]"
  [ "$target_db" != "$database" ] || [ -n "${RESTORE_ALLOW_SAME_NAME:-}" ] ||
    die "--target-db: '$target_db' is the dumped database's own name; restore into a new name and switch over after checking it"
  [ -n "${PGHOST:-}" ] || die "PGHOST is not set; export the target cluster's libpq settings (PGHOST, PGPORT, PGUSER, PGPASSWORD)"
  [ -n "$work" ] || work=$(new_work_dir)

  local dump_key="$tier/$database.dump" roles_key="$tier/$database.roles.sql" roles_version=""
  local dump_file="$work/$database.dump" roles_file="$work/$database.roles.sql" listing rc=0
  if [ "$store" = s3 ]; then
    local s3=(aws)
    [ -z "$endpoint" ] || s3+=(--endpoint-url "$endpoint")
    if [ -z "$version" ]; then
      run "${s3[@]}" s3 cp --only-show-errors "s3://$bucket/$roles_key" "$roles_file"
      run "${s3[@]}" s3 cp --only-show-errors "s3://$bucket/$dump_key" "$dump_file"
    else
      listing=$(lookup "${s3[@]}" s3api list-object-versions --bucket "$bucket" --prefix "$tier/$database." \
        --query 'Versions[].[Key,VersionId,LastModified]' --output text)
      roles_version=$(roles_version_for "$version" "$dump_key" "$roles_key" <<<"$listing") || rc=$?
      [ "$rc" -ne 3 ] || die "--version: '$version' is not a version of s3://$bucket/$dump_key"
      [ "$rc" -eq 0 ] || die "--version: no roles file s3://$bucket/$roles_key was uploaded with or before version '$version'"
      run "${s3[@]}" s3api get-object --bucket "$bucket" --key "$roles_key" --version-id "$roles_version" "$roles_file" --output text --query VersionId
      run "${s3[@]}" s3api get-object --bucket "$bucket" --key "$dump_key" --version-id "$version" "$dump_file" --output text --query VersionId
    fi
  else
    if [ -z "$version" ]; then
      run gcloud storage cp "gs://$bucket/$roles_key" "$roles_file"
      run gcloud storage cp "gs://$bucket/$dump_key" "$dump_file"
    else
      check --version "$version" '^[0-9]+$' "a GCS generation is a number"
      # "gs://b/k#generation" per line; generations grow with upload time.
      listing=$(lookup gcloud storage ls --all-versions "gs://$bucket/$dump_key" "gs://$bucket/$roles_key" |
        sed -nE 's|^gs://[^/]+/([^#]+)#([0-9]+)$|\1 \2 \2|p')
      roles_version=$(roles_version_for "$version" "$dump_key" "$roles_key" <<<"$listing") || rc=$?
      [ "$rc" -ne 3 ] || die "--version: '$version' is not a generation of gs://$bucket/$dump_key"
      [ "$rc" -eq 0 ] || die "--version: no roles file gs://$bucket/$roles_key was uploaded with or before generation '$version'"
      run gcloud storage cp "gs://$bucket/$roles_key#$roles_version" "$roles_file"
      run gcloud storage cp "gs://$bucket/$dump_key#$version" "$dump_file"
    fi
  fi
  local started
  started=$(date +%s)
  # Roles first: the dump's grants and row-level security policies name them.
  run psql -X -q -v ON_ERROR_STOP=1 --dbname=postgres -f "$roles_file"
  run createdb "$target_db"
  run pg_restore --exit-on-error --no-owner --jobs="$jobs" --dbname="$target_db" "$dump_file"
  run psql -X -At -v ON_ERROR_STOP=1 --dbname="$target_db" -c \
    "SELECT count(*) || ' tables, ' || (SELECT count(*) FROM pg_policies) || ' policies' FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
  [ "$DRY_RUN" = 1 ] || echo "restore.sh: restored $dump_key into database $target_db in $(($(date +%s) - started)) s" >&2
}

# --------------------------------------------------------------------------------------------- rds
usage_rds() {
  cat <<'EOF'
usage: restore.sh rds (--source ID | --source-backup-arn ARN) --target ID (--time T | --latest)
                      --subnet-group NAME --security-group ID [--region R] [--parameter-group NAME]
                      [--instance-class C] [--multi-az] [--kms-key ARN] [--deletion-protection]
                      [--wait-seconds N]

Restores RDS to a point in time into a new instance, waits until it is available and prints its
endpoint. The old instance is not changed: the stack adopts the new one afterwards (docs/runbooks.md).
  --source ID              the instance to restore from (same region).
  --source-backup-arn ARN  its automated backups replicated to ca-west-1 (aws rds
                           describe-db-instance-automated-backups --region ca-west-1); the new
                           instance is created in that region.
  --target ID              the new instance's identifier. Required.
  --time T                 UTC, ISO 8601 (2026-11-01T14:05:00Z), or --latest for the latest
                           restorable time.
  --subnet-group NAME      DB subnet group for the new instance. Required.
  --security-group ID      VPC security group (sg-...). Required.
  --region R               ca-central-1 or ca-west-1. Default: ca-central-1, or ca-west-1 with
                           --source-backup-arn.
  --parameter-group NAME   the stack's parameter group (logical replication, TLS). Default: RDS's.
  --instance-class C       Default: the source's.
  --multi-az               a standby in another zone (prod).
  --kms-key ARN            KMS key in the target region. Default: the backup's.
  --deletion-protection    protect the new instance (prod).
  --wait-seconds N         how long to wait for it to become available. Default: 7200.
EOF
}

restore_rds() {
  local source="" arn="" target="" time="" latest="" subnet="" sg="" region="" pg_group="" class="" multi_az="" kms="" protect="" wait_seconds=7200
  parse_options --source=source --source-backup-arn=arn --target=target --time=time --latest?latest \
    --subnet-group=subnet --security-group=sg --region=region --parameter-group=pg_group \
    --instance-class=class --multi-az?multi_az --kms-key=kms --deletion-protection?protect \
    --wait-seconds=wait_seconds -- "$@"
  one_of "--source, --source-backup-arn" "$source" "$arn"
  one_of "--time, --latest" "$time" "$latest"
  require --target "$target"
  require --subnet-group "$subnet"
  require --security-group "$sg"
  [ -z "$source" ] || check --source "$source" "$IDENT" "$IDENT_HELP"
  [ -z "$arn" ] || check --source-backup-arn "$arn" '^arn:aws:rds:ca-west-1:[0-9]{12}:auto-backup:ab-[a-z0-9]+$' \
    "use the ca-west-1 replicated backup's DBInstanceAutomatedBackupsArn (arn:aws:rds:ca-west-1:<account>:auto-backup:ab-...)"
  check --target "$target" "$IDENT" "$IDENT_HELP"
  [ "$target" != "$source" ] || die "--target: '$target' is the source itself; restore into a new instance"
  [ -z "$time" ] || check --time "$time" "$ISO_UTC" "$ISO_UTC_HELP"
  check --subnet-group "$subnet" '^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$' "use a DB subnet group name"
  check --security-group "$sg" '^sg-[0-9a-f]{8,17}$' "use a security group id, sg-..."
  if [ -z "$region" ]; then
    region=ca-central-1
    [ -z "$arn" ] || region=ca-west-1
  fi
  check --region "$region" '^ca-(central|west)-1$' "data stays in Canada: use ca-central-1 or ca-west-1"
  [ -z "$arn" ] || [ "$region" = ca-west-1 ] || die "--region: '$region' is not where the replicated backups are; use ca-west-1 with --source-backup-arn"
  [ -z "$pg_group" ] || check --parameter-group "$pg_group" '^[A-Za-z][A-Za-z0-9-]{0,254}$' "use a parameter group name"
  [ -z "$class" ] || check --instance-class "$class" '^db\.[a-z0-9]+\.[a-z0-9]+$' "use an instance class such as db.t4g.medium"
  [ -z "$kms" ] || check --kms-key "$kms" "^arn:aws:kms:$region:[0-9]{12}:key/[A-Za-z0-9-]+\$" "use a KMS key ARN in $region"
  check --wait-seconds "$wait_seconds" '^[1-9][0-9]*$' "use a positive number of seconds"

  local cmd=(aws rds restore-db-instance-to-point-in-time --region "$region")
  if [ -n "$source" ]; then cmd+=(--source-db-instance-identifier "$source"); else cmd+=(--source-db-instance-automated-backups-arn "$arn"); fi
  cmd+=(--target-db-instance-identifier "$target")
  if [ -n "$time" ]; then cmd+=(--restore-time "$time"); else cmd+=(--use-latest-restorable-time); fi
  cmd+=(--db-subnet-group-name "$subnet" --vpc-security-group-ids "$sg" --no-publicly-accessible --copy-tags-to-snapshot)
  [ -z "$pg_group" ] || cmd+=(--db-parameter-group-name "$pg_group")
  [ -z "$class" ] || cmd+=(--db-instance-class "$class")
  if [ -n "$multi_az" ]; then cmd+=(--multi-az); else cmd+=(--no-multi-az); fi
  [ -z "$kms" ] || cmd+=(--kms-key-id "$kms")
  if [ -n "$protect" ]; then cmd+=(--deletion-protection); else cmd+=(--no-deletion-protection); fi
  cmd+=(--output text --query DBInstance.DBInstanceArn)

  local started
  started=$(date +%s)
  run "${cmd[@]}"
  wait_for "$wait_seconds" available aws rds describe-db-instances --region "$region" --db-instance-identifier "$target" \
    --output text --query 'DBInstances[0].DBInstanceStatus'
  run aws rds describe-db-instances --region "$region" --db-instance-identifier "$target" \
    --output text --query 'DBInstances[0].[Endpoint.Address,Endpoint.Port]'
  [ "$DRY_RUN" = 1 ] || echo "restore.sh: $target available in $region after $(($(date +%s) - started)) s" >&2
}

# ---------------------------------------------------------------------------------------- cloud sql
usage_cloudsql_clone() {
  cat <<'EOF'
usage: restore.sh cloudsql-clone --source INSTANCE --target INSTANCE --time T [--project P]
                                 [--wait-seconds N]

Clones a Cloud SQL instance as it was at T into a new instance (same region, settings and network),
waits until it is RUNNABLE and prints its private IP. The source is not changed.
  --source INSTANCE  the instance (stack output; the part of connectionName after the last ':'). Required.
  --target INSTANCE  the new instance's name. Required.
  --time T           UTC, ISO 8601 (2026-11-01T14:05:00Z), within the PITR window (at most 7 days). Required.
  --project P        Default: gcloud's configured project.
  --wait-seconds N   Default: 7200.
EOF
}

gcloud_sql() {
  local cmd=(gcloud sql instances "$@")
  [ -z "${PROJECT:-}" ] || cmd+=(--project "$PROJECT")
  printf '%s\0' "${cmd[@]}"
}

restore_cloudsql_clone() {
  local source="" target="" time="" wait_seconds=7200
  PROJECT=""
  parse_options --source=source --target=target --time=time --project=PROJECT --wait-seconds=wait_seconds -- "$@"
  require --source "$source"
  require --target "$target"
  require --time "$time"
  check --source "$source" "$IDENT" "$IDENT_HELP"
  check --target "$target" "$IDENT" "$IDENT_HELP"
  [ "$target" != "$source" ] || die "--target: '$target' is the source itself; clone into a new instance"
  check --time "$time" "$ISO_UTC" "$ISO_UTC_HELP"
  [ -z "$PROJECT" ] || check --project "$PROJECT" '^[a-z][a-z0-9-]{4,28}[a-z0-9]$' "use a GCP project id"
  check --wait-seconds "$wait_seconds" '^[1-9][0-9]*$' "use a positive number of seconds"
  local cmd=()
  # --async: the operation outlives gcloud's own wait on large instances; the state is polled instead.
  mapfile -d '' cmd < <(gcloud_sql clone "$source" "$target" --point-in-time "$time" --async)
  run "${cmd[@]}"
  mapfile -d '' cmd < <(gcloud_sql describe "$target" --format 'value(state)')
  wait_for "$wait_seconds" RUNNABLE "${cmd[@]}"
  mapfile -d '' cmd < <(gcloud_sql describe "$target" --format 'value(ipAddresses[0].ipAddress)')
  run "${cmd[@]}"
}

usage_cloudsql_promote() {
  cat <<'EOF'
usage: restore.sh cloudsql-promote --replica INSTANCE --dr-region R --retention DAYS [--project P]
                                   [--wait-seconds N]

Promotes the DR read replica to a standalone primary (replication from the old primary stops for
good), then switches on the backups and PITR a replica cannot have, as the primary had them.
  --replica INSTANCE  the DR replica (stack output drReplicaConnectionName, after the last ':'). Required.
  --dr-region R       northamerica-northeast2 (or -northeast1 when the primary was in -northeast2). Required.
  --retention DAYS    northstack:backupRetentionDays of the stack, 7 to 365. Required.
  --project P         Default: gcloud's configured project.
  --wait-seconds N    Default: 1800.
EOF
}

restore_cloudsql_promote() {
  local replica="" region="" retention="" wait_seconds=1800 pitr
  PROJECT=""
  parse_options --replica=replica --dr-region=region --retention=retention --project=PROJECT \
    --wait-seconds=wait_seconds -- "$@"
  require --replica "$replica"
  require --dr-region "$region"
  require --retention "$retention"
  check --replica "$replica" "$IDENT" "$IDENT_HELP"
  check --dr-region "$region" '^northamerica-northeast[12]$' "data stays in Canada: use northamerica-northeast1 or northamerica-northeast2"
  check --retention "$retention" '^[1-9][0-9]{0,2}$' "use 7 to 365 days"
  if [ "$retention" -lt 7 ] || [ "$retention" -gt 365 ]; then die "--retention: '$retention' is not allowed; use 7 to 365 days"; fi
  [ -z "$PROJECT" ] || check --project "$PROJECT" '^[a-z][a-z0-9-]{4,28}[a-z0-9]$' "use a GCP project id"
  check --wait-seconds "$wait_seconds" '^[1-9][0-9]*$' "use a positive number of seconds"
  # The same window as cloudSqlBackupWindow in components/gcp/postgres.ts: PITR at most 7 days.
  pitr=$((retention < 7 ? retention : 7))
  local cmd=()
  mapfile -d '' cmd < <(gcloud_sql promote-replica "$replica" --quiet)
  run "${cmd[@]}"
  mapfile -d '' cmd < <(gcloud_sql describe "$replica" --format 'value(instanceType)')
  wait_for "$wait_seconds" CLOUD_SQL_INSTANCE "${cmd[@]}"
  mapfile -d '' cmd < <(gcloud_sql patch "$replica" --backup-start-time=07:00 "--backup-location=$region" \
    --enable-point-in-time-recovery "--retained-transaction-log-days=$pitr" "--retained-backups-count=$retention" --quiet)
  run "${cmd[@]}"
  mapfile -d '' cmd < <(gcloud_sql describe "$replica" --format 'value(settings.backupConfiguration.pointInTimeRecoveryEnabled)')
  wait_for "$wait_seconds" True "${cmd[@]}"
}

# ------------------------------------------------------------------------------------------- redis
usage_elasticache() {
  cat <<'EOF'
usage: restore.sh elasticache --snapshot NAME --target ID --subnet-group NAME --security-group ID
                              [--region R] [--node-type T] [--nodes N] [--kms-key ARN] [--wait-seconds N]

Creates a new replication group from an ElastiCache snapshot with the stack's settings (Redis 7.1,
TLS required, encryption at rest, AUTH, 7 days of snapshots), waits until it is available and prints
its primary endpoint. The AUTH token is read from REDIS_AUTH_TOKEN (the stack's Redis secret) and
never printed.
  --snapshot NAME        aws elasticache describe-snapshots --region R. Required.
  --target ID            the new replication group's id. Required.
  --subnet-group NAME    the cache subnet group. Required.
  --security-group ID    sg-... Required.
  --region R             ca-central-1 or ca-west-1. Default: ca-central-1.
  --node-type T          Default: cache.t4g.small.
  --nodes N              1 to 6; 2 or more enables failover across zones. Default: 1.
  --kms-key ARN          KMS key in the region. Default: AWS's.
  --wait-seconds N       Default: 3600.
EOF
}

restore_elasticache() {
  local snapshot="" target="" subnet="" sg="" region=ca-central-1 node_type=cache.t4g.small nodes=1 kms="" wait_seconds=3600
  parse_options --snapshot=snapshot --target=target --subnet-group=subnet --security-group=sg --region=region \
    --node-type=node_type --nodes=nodes --kms-key=kms --wait-seconds=wait_seconds -- "$@"
  require --snapshot "$snapshot"
  require --target "$target"
  require --subnet-group "$subnet"
  require --security-group "$sg"
  check --snapshot "$snapshot" '^[A-Za-z0-9][A-Za-z0-9-]{0,254}$' "use a snapshot name"
  check --region "$region" '^ca-(central|west)-1$' "data stays in Canada: use ca-central-1 or ca-west-1"
  check_new_group "$target" "$subnet" "$sg" "$node_type" "$nodes" "$kms" "$region" "$wait_seconds"
  create_replication_group "$region" "$target" "$snapshot" "$node_type" "$nodes" "$subnet" "$sg" "$kms" "$wait_seconds" \
    --snapshot-name "$snapshot"
}

# check_new_group TARGET SUBNET SG NODE_TYPE NODES KMS REGION WAIT: the settings of a replication group
# to create (create_replication_group), and the AUTH token it will take.
check_new_group() {
  local target=$1 subnet=$2 sg=$3 node_type=$4 nodes=$5 kms=$6 region=$7 wait_seconds=$8
  check --target "$target" '^[a-z][a-z0-9-]{0,39}$' "use lower-case letters, digits and '-', at most 40"
  check --subnet-group "$subnet" '^[A-Za-z0-9][A-Za-z0-9-]{0,254}$' "use a cache subnet group name"
  check --security-group "$sg" '^sg-[0-9a-f]{8,17}$' "use a security group id, sg-..."
  check --node-type "$node_type" '^cache\.[a-z0-9]+\.[a-z0-9]+$' "use a node type such as cache.t4g.small"
  check --nodes "$nodes" '^[1-6]$' "use 1 to 6"
  [ -z "$kms" ] || check --kms-key "$kms" "^arn:aws:kms:$region:[0-9]{12}:key/[A-Za-z0-9-]+\$" "use a KMS key ARN in $region"
  check --wait-seconds "$wait_seconds" '^[1-9][0-9]*$' "use a positive number of seconds"
  require_auth_token
}

require_auth_token() {
  [ -n "${REDIS_AUTH_TOKEN:-}" ] || die "REDIS_AUTH_TOKEN is not set; export the stack's Redis AUTH token (pulumi stack output --show-secrets)"
  [ ${#REDIS_AUTH_TOKEN} -ge 16 ] || die "REDIS_AUTH_TOKEN: [secret of ${#REDIS_AUTH_TOKEN} chars] is too short; ElastiCache needs 16 to 128"
}

# create_replication_group REGION TARGET SOURCE NODE_TYPE NODES SUBNET SG KMS WAIT SEED-OPTION...: a new
# group with the stack's settings (components/aws/redis.ts) seeded by the given options; waits until
# it is available and prints its primary endpoint.
create_replication_group() {
  local region=$1 target=$2 source=$3 node_type=$4 nodes=$5 subnet=$6 sg=$7 kms=$8 wait_seconds=$9
  shift 9
  local cmd=(aws elasticache create-replication-group --region "$region" --replication-group-id "$target"
    --replication-group-description "northstack Redis restored from $source" "$@"
    --engine redis --engine-version 7.1 --cache-node-type "$node_type" --num-cache-clusters "$nodes"
    --cache-subnet-group-name "$subnet" --security-group-ids "$sg"
    --transit-encryption-enabled --transit-encryption-mode required --at-rest-encryption-enabled
    --auth-token "$REDIS_AUTH_TOKEN" --snapshot-retention-limit 7 --snapshot-window 06:00-07:00)
  if [ "$nodes" -gt 1 ]; then cmd+=(--automatic-failover-enabled --multi-az-enabled); fi
  [ -z "$kms" ] || cmd+=(--kms-key-id "$kms")
  cmd+=(--output text --query ReplicationGroup.Status)
  REDACT=$REDIS_AUTH_TOKEN run "${cmd[@]}"
  wait_for "$wait_seconds" available aws elasticache describe-replication-groups --region "$region" \
    --replication-group-id "$target" --output text --query 'ReplicationGroups[0].Status'
  run aws elasticache describe-replication-groups --region "$region" --replication-group-id "$target" \
    --output text --query 'ReplicationGroups[0].NodeGroups[0].PrimaryEndpoint.[Address,Port]'
}

usage_elasticache_dr() {
  cat <<'EOF'
usage: restore.sh elasticache-dr --bucket NAME --target ID --subnet-group NAME --security-group ID
                                 [--version-id V] [--node-type T] [--nodes N] [--kms-key ARN] [--wait-seconds N]

Creates a new replication group in ca-west-1 from the daily Redis copy replicated there
(components/redis-export.ts): copies the chosen version of daily/redis.rdb in the DR bucket to
restore/<target>.rdb as SSE-S3 (the bucket policy lets ElastiCache in ca-west-1 read restore/ only),
then seeds the group from it with the stack's settings (Redis 7.1, TLS required, encryption at rest,
AUTH, 7 days of snapshots), waits until it is available and prints its primary endpoint. The AUTH
token is read from REDIS_AUTH_TOKEN and never printed. Copies up to 5 GB (one copy-object call).
  --bucket NAME          the DR bucket: pulumi stack output redisDrBucket. Required.
  --target ID            the new replication group's id. Required.
  --subnet-group NAME    a cache subnet group in ca-west-1. Required.
  --security-group ID    sg-... in ca-west-1. Required.
  --version-id V         the version of daily/redis.rdb (aws s3api list-object-versions). Default: the newest.
  --node-type T          Default: cache.t4g.small.
  --nodes N              1 to 6; 2 or more enables failover across zones. Default: 1.
  --kms-key ARN          KMS key in ca-west-1. Default: AWS's.
  --wait-seconds N       Default: 3600.
EOF
}

restore_elasticache_dr() {
  local bucket="" target="" subnet="" sg="" version="" region=ca-west-1 node_type=cache.t4g.small nodes=1 kms="" wait_seconds=3600
  parse_options --bucket=bucket --target=target --subnet-group=subnet --security-group=sg --version-id=version \
    --node-type=node_type --nodes=nodes --kms-key=kms --wait-seconds=wait_seconds -- "$@"
  require --bucket "$bucket"
  require --target "$target"
  require --subnet-group "$subnet"
  require --security-group "$sg"
  check --bucket "$bucket" '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$' "use the S3 bucket name from pulumi stack output redisDrBucket"
  check_new_group "$target" "$subnet" "$sg" "$node_type" "$nodes" "$kms" "$region" "$wait_seconds"
  [ -z "$version" ] || check --version-id "$version" '^[A-Za-z0-9._-]{1,1024}$' "use a VersionId from aws s3api list-object-versions"

  local kept=daily/redis.rdb seed="restore/$target.rdb"
  [ -n "$version" ] || version=$(lookup aws s3api head-object --region "$region" --bucket "$bucket" --key "$kept" \
    --output text --query VersionId)
  # The CLI prints None for an object without a version: not a copy the export job made.
  [ "$version" != None ] || version=""
  check "the newest version of $kept" "$version" '^[A-Za-z0-9._-]{1,1024}$' "found none; is this the DR bucket, and has the copy replicated?"
  # SSE-S3: ElastiCache reads the seed through its service principal, which the stack's KMS key does not admit.
  run aws s3api copy-object --region "$region" --bucket "$bucket" --key "$seed" \
    --copy-source "$bucket/$kept?versionId=$version" --server-side-encryption AES256 --output text --query VersionId
  create_replication_group "$region" "$target" "s3://$bucket/$kept version $version" "$node_type" "$nodes" "$subnet" "$sg" \
    "$kms" "$wait_seconds" --snapshot-arns "arn:aws:s3:::$bucket/$seed"
}

usage_memorystore() {
  cat <<'EOF'
usage: restore.sh memorystore --instance NAME --region R --source gs://BUCKET/FILE.rdb [--project P]
                              [--wait-seconds N]

Imports an RDB file (written by `gcloud redis instances export`) into a Memorystore instance. This
replaces every key the instance holds: import into a new instance to inspect, into the live one to
roll back.
  --instance NAME   the Memorystore instance. Required.
  --region R        northamerica-northeast1 or northamerica-northeast2. Required.
  --source URL      gs://bucket/path.rdb, a bucket in Canada. Required.
  --project P       Default: gcloud's configured project.
  --wait-seconds N  Default: 3600.
EOF
}

restore_memorystore() {
  local instance="" region="" source="" wait_seconds=3600
  PROJECT=""
  parse_options --instance=instance --region=region --source=source --project=PROJECT \
    --wait-seconds=wait_seconds -- "$@"
  require --instance "$instance"
  require --region "$region"
  require --source "$source"
  check --instance "$instance" "$IDENT" "$IDENT_HELP"
  check --region "$region" '^northamerica-northeast[12]$' "data stays in Canada: use northamerica-northeast1 or northamerica-northeast2"
  check --source "$source" '^gs://[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]/[^[:space:]]+\.rdb$' "use gs://bucket/path.rdb"
  [ -z "$PROJECT" ] || check --project "$PROJECT" '^[a-z][a-z0-9-]{4,28}[a-z0-9]$' "use a GCP project id"
  check --wait-seconds "$wait_seconds" '^[1-9][0-9]*$' "use a positive number of seconds"
  local cmd=(gcloud redis instances import "$source" "$instance" --region "$region" --async --quiet)
  [ -z "$PROJECT" ] || cmd+=(--project "$PROJECT")
  run "${cmd[@]}"
  cmd=(gcloud redis instances describe "$instance" --region "$region" --format 'value(state)')
  [ -z "$PROJECT" ] || cmd+=(--project "$PROJECT")
  # The instance reports IMPORTING while the file loads, READY after.
  wait_for "$wait_seconds" READY "${cmd[@]}"
}

# ------------------------------------------------------------------------------------ redis, storage
DOCKER_NAME='^[A-Za-z0-9][A-Za-z0-9_.-]*$'
# A kept copy's path under the backups volume: <daily|weekly>/<kind>-YYYY-MM-DD.<ext> (volume-backup-script.ts).
copy_pattern() { printf '^(daily|weekly)/%s-[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{6}Z)?\\.%s$' "$1" "${2//./\\.}"; }
# A one-off container with another container's volumes and the backups volume read-only: non-root,
# no network, no capabilities, a read-only root file system. NUL-separated, for mapfile -d ''.
one_off() {
  local user=$1 from=$2 volume=$3
  shift 3
  printf '%s\0' docker run --rm --user "$user" --network none --cap-drop ALL --security-opt no-new-privileges \
    --read-only --tmpfs /tmp --volumes-from "$from" -v "$volume:/backups:ro" "$@"
}

usage_redis() {
  cat <<'EOF'
usage: restore.sh redis --container NAME --backups-volume NAME --copy daily|weekly/redis-<day>.rdb
                        [--stop NAME]... [--image REF] [--wait-seconds N]

Replaces the dev Redis container's data with a kept RDB copy (components/volume-backup.ts) using
scripts/restore/redis-restore.sh in a one-off container of the Redis image with its volumes: the copy
is checked with redis-check-rdb first, then becomes the base of a new AOF (the server loads its AOF
and ignores dump.rdb). The replaced AOF directory stays beside it as appendonlydir.before-restore-<time>.
  --container NAME       the Redis container, e.g. northstack-dev-redis. Required.
  --backups-volume NAME  the volume backup's volume, e.g. northstack-dev-volume-backup-backups. Required.
  --copy PATH            the copy under redis/ on that volume, e.g. daily/redis-2026-11-01.rdb. Required.
  --stop NAME            a writer to stop first and start again afterwards (repeat for each).
  --image REF            image to run the restore in. Default: the container's own image.
  --wait-seconds N       how long to wait for the server to answer after the start. Default: 300.
EOF
}

restore_redis() {
  local container="" volume="" copy="" image="" wait_seconds=300 writers=() writer cmd=()
  parse_options --container=container --backups-volume=volume --copy=copy --stop+writers --image=image \
    --wait-seconds=wait_seconds -- "$@"
  require --container "$container"
  require --backups-volume "$volume"
  require --copy "$copy"
  check --container "$container" "$DOCKER_NAME" "use a Docker container name"
  check --backups-volume "$volume" "$DOCKER_NAME" "use a Docker volume name"
  check --copy "$copy" "$(copy_pattern redis rdb)" "use daily/ or weekly/ and a kept copy's name, e.g. daily/redis-2026-11-01.rdb"
  for writer in "${writers[@]}"; do check --stop "$writer" "$DOCKER_NAME" "use a Docker container name"; done
  check --wait-seconds "$wait_seconds" '^[1-9][0-9]*$' "use a positive number of seconds"
  [ -n "$image" ] || image=$(lookup docker inspect --format '{{.Config.Image}}' "$container")

  local started
  started=$(date +%s)
  for writer in "${writers[@]}"; do run docker stop "$writer"; done
  run docker stop "$container"
  mapfile -d '' cmd < <(one_off 999:999 "$container" "$volume" \
    -v "$HERE/redis-restore.sh:/usr/local/bin/redis-restore.sh:ro" --entrypoint /bin/bash "$image" \
    /usr/local/bin/redis-restore.sh "/backups/redis/$copy" /data appendonlydir)
  run "${cmd[@]}"
  run docker start "$container"
  # The health check's own command: redis-cli takes the password from the container's REDISCLI_AUTH.
  wait_for "$wait_seconds" PONG docker exec "$container" redis-cli -e ping
  run docker exec "$container" redis-cli -e dbsize
  for writer in "${writers[@]}"; do run docker start "$writer"; done
  [ "$DRY_RUN" = 1 ] || echo "restore.sh: $container restarted from redis/$copy in $(($(date +%s) - started)) s" >&2
}

usage_storage() {
  cat <<'EOF'
usage: restore.sh storage --container NAME --backups-volume NAME --copy daily|weekly/storage-<day>.tar.gz
                          [--image REF] [--wait-seconds N]

Replaces the dev Storage container's objects with a kept tarball (components/volume-backup.ts) using
scripts/restore/storage-restore.sh (POSIX sh) in a one-off container of the Storage image with its
volumes, as its user: the tarball is read to its end first, then the objects directory is emptied and
the copy unpacked. Object metadata lives in Postgres: restore it to the same day (docs/runbooks.md).
  --container NAME       the Storage container, e.g. northstack-dev-supabase-storage. Required.
  --backups-volume NAME  the volume backup's volume, e.g. northstack-dev-volume-backup-backups. Required.
  --copy PATH            the copy under storage/ on that volume, e.g. daily/storage-2026-11-01.tar.gz. Required.
  --image REF            image to run the restore in. Default: the container's own image.
  --wait-seconds N       how long to wait for the container to be healthy after the start. Default: 300.
EOF
}

restore_storage() {
  local container="" volume="" copy="" image="" wait_seconds=300 user cmd=()
  parse_options --container=container --backups-volume=volume --copy=copy --image=image \
    --wait-seconds=wait_seconds -- "$@"
  require --container "$container"
  require --backups-volume "$volume"
  require --copy "$copy"
  check --container "$container" "$DOCKER_NAME" "use a Docker container name"
  check --backups-volume "$volume" "$DOCKER_NAME" "use a Docker volume name"
  check --copy "$copy" "$(copy_pattern storage tar.gz)" "use daily/ or weekly/ and a kept copy's name, e.g. daily/storage-2026-11-01.tar.gz"
  check --wait-seconds "$wait_seconds" '^[1-9][0-9]*$' "use a positive number of seconds"
  [ -n "$image" ] || image=$(lookup docker inspect --format '{{.Config.Image}}' "$container")
  # The files must stay the Storage process's own: the restore runs as the container's user.
  user=$(lookup docker inspect --format '{{.Config.User}}' "$container")
  check "the container's user" "$user" '^[1-9][0-9]*:[1-9][0-9]*$' "expected a non-root uid:gid"

  local started
  started=$(date +%s)
  run docker stop "$container"
  mapfile -d '' cmd < <(one_off "$user" "$container" "$volume" \
    -v "$HERE/storage-restore.sh:/usr/local/bin/storage-restore.sh:ro" --entrypoint /bin/sh "$image" \
    /usr/local/bin/storage-restore.sh "/backups/storage/$copy" /var/lib/storage)
  run "${cmd[@]}"
  run docker start "$container"
  wait_for "$wait_seconds" healthy docker inspect --format '{{.State.Health.Status}}' "$container"
  [ "$DRY_RUN" = 1 ] || echo "restore.sh: $container restarted with storage/$copy in $(($(date +%s) - started)) s" >&2
}

# -------------------------------------------------------------------------------------------- main
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1; shift ;;
    --help | -h) usage; exit 0 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { usage >&2; exit 2; }
CASE=$1
shift
case "$CASE" in
  dev) restore_dev "$@" ;;
  dump) restore_dump "$@" ;;
  rds) restore_rds "$@" ;;
  cloudsql-clone) restore_cloudsql_clone "$@" ;;
  cloudsql-promote) restore_cloudsql_promote "$@" ;;
  elasticache) restore_elasticache "$@" ;;
  elasticache-dr) restore_elasticache_dr "$@" ;;
  memorystore) restore_memorystore "$@" ;;
  redis) restore_redis "$@" ;;
  storage) restore_storage "$@" ;;
  *) die "'$CASE' is not a restore case; use dev, dump, rds, cloudsql-clone, cloudsql-promote, elasticache, elasticache-dr, memorystore, redis or storage" ;;
esac
