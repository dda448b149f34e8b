/**
 * scripts/restore/restore.sh: argument checks, the exact commands of every case under --dry-run, the
 * real-mode invocations and waits against stand-in `aws`, `gcloud` and `docker` executables that
 * record their argv and answer with canned output, and a bucket dump made by the real backup script
 * restored for real into an empty PostgreSQL 15 cluster through a stand-in `aws s3 cp` / `gcloud
 * storage cp` that copies local files.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderBackupScript } from "../../components/backup-script";
import { cloudSqlPromoteCommands } from "../../components/gcp/postgres";
import { PG_BIN, PgCluster, queryRows, startPgCluster } from "../helpers/pg-cluster";
import { scratchDir } from "../helpers/scratch";

const ROOT = path.resolve(__dirname, "..", "..");
const SCRIPT = path.join(ROOT, "scripts", "restore", "restore.sh");
const tmp = scratchDir("restore");
fs.chmodSync(tmp, 0o777);
const bin = path.join(tmp, "bin");
const bucket = path.join(tmp, "bucket");
const log = path.join(tmp, "argv.log");
fs.mkdirSync(bin);
fs.mkdirSync(bucket);

/**
 * One stand-in for aws, gcloud and docker: appends its name and argv to the log (one argument a
 * line, a blank line after each call) and answers as the real CLI would for the calls restore.sh
 * makes. Status polls answer "not yet" on the first call and the final state after, so that the waits
 * are seen to poll. Objects live in $FAKE_BUCKET as <key> (current) and <key>@<version>.
 */
const FAKE = `#!/bin/bash
name=\${0##*/}
{ echo "$name"; printf '%s\\n' "$@"; echo; } >> "$FAKE_LOG"
[ "$1" = --endpoint-url ] && shift 2
poll() { [ -n "\${FAKE_NEVER:-}" ] && { echo "$3"; return; }; local f="$FAKE_STATE/$1"; local n; n=$(cat "$f" 2>/dev/null || echo 0); echo $((n + 1)) > "$f"; [ "$n" -ge 1 ] && echo "$2" || echo "$3"; }
last() { echo "\${@: -1}"; }
case "$name $1 $2" in
  "docker inspect "*) if [[ "$3" == *User* ]]; then echo 1000:1000; else echo northstack/dev-postgres-pgbackrest:0123abcd; fi ;;
  "docker exec "*) poll dev-recovery f t ;;
  "docker cp "*) touch "$3" ;;
  "docker "*) echo "$2" ;;
  "aws s3 cp") cp "$FAKE_BUCKET/\${4#s3://*/}" "$5" ;;
  "aws s3api list-object-versions") cat "$FAKE_BUCKET/versions.txt" ;;
  "aws s3api head-object") echo "\${FAKE_VERSION:-None}" ;;
  "aws s3api copy-object") echo v-seed ;;
  "aws s3api get-object") key=$(printf '%s\\n' "$@" | sed -n '/^--key$/{n;p}'); ver=$(printf '%s\\n' "$@" | sed -n '/^--version-id$/{n;p}'); cp "$FAKE_BUCKET/$key@$ver" "$9"; echo "$ver" ;;
  "aws rds restore-db-instance-to-point-in-time") echo "arn:aws:rds:ca-west-1:123456789012:db:ns-restored" ;;
  "aws rds describe-db-instances")
    if [[ "$*" == *DBInstanceStatus* ]]; then poll rds available creating; else printf 'ns-restored.abc.ca-west-1.rds.amazonaws.com\\t5432\\n'; fi ;;
  "aws elasticache create-replication-group") echo creating ;;
  "aws elasticache describe-replication-groups")
    if [[ "$*" == *Status* ]]; then poll redis available creating; else printf 'ns-redis-r.abc.cache.amazonaws.com\\t6379\\n'; fi ;;
  "gcloud storage cp") src=\${3#gs://*/}; cp "$FAKE_BUCKET/\${src/\\#/@}" "$4" ;;
  "gcloud storage ls") cat "$FAKE_BUCKET/generations.txt" ;;
  "gcloud sql instances")
    case "$3 $*" in
      describe*"value(state)"*) poll sql-state RUNNABLE PENDING_CREATE ;;
      describe*instanceType*) poll sql-type CLOUD_SQL_INSTANCE READ_REPLICA_INSTANCE ;;
      describe*pointInTimeRecoveryEnabled*) poll sql-pitr True False ;;
      describe*ipAddress*) echo 10.20.0.7 ;;
      *) : ;;
    esac ;;
  "gcloud redis instances") if [ "$3" = describe ]; then poll memorystore READY IMPORTING; fi ;;
  *) echo "fake $name: unexpected call: $*" >&2; exit 9 ;;
esac
`;
for (const name of ["aws", "gcloud", "docker"]) fs.writeFileSync(path.join(bin, name), FAKE, { mode: 0o755 });

/** The calls the stand-ins recorded since the last reset, as "tool arg arg ..." lines. */
const calls = (): string[] =>
  fs.existsSync(log)
    ? fs
        .readFileSync(log, "utf8")
        .split("\n\n")
        .filter((c) => c.trim() !== "")
        .map((c) => c.split("\n").join(" "))
    : [];

const reset = () => {
  fs.rmSync(log, { force: true });
  fs.rmSync(path.join(tmp, "state"), { recursive: true, force: true });
  fs.mkdirSync(path.join(tmp, "state"));
  fs.chmodSync(path.join(tmp, "state"), 0o777);
};

const restore = (args: string[], env: Record<string, string> = {}) => {
  reset();
  const r = spawnSync("bash", [SCRIPT, ...args], {
    encoding: "utf8",
    env: {
      PATH: `${bin}:${PG_BIN}:${process.env.PATH}`,
      HOME: tmp,
      FAKE_LOG: log,
      FAKE_STATE: path.join(tmp, "state"),
      FAKE_BUCKET: bucket,
      RESTORE_POLL_SECONDS: "0",
      ...env,
    },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const HERE = path.join(ROOT, "scripts", "restore");
const ARN = "arn:aws:rds:ca-west-1:123456789012:auto-backup:ab-0a1b2c3d4e5f";
const SG = "sg-0123456789abcdef0";

test("the restore scripts are shellcheck-clean", () => {
  const r = spawnSync(
    "shellcheck",
    ["-x", "restore.sh", "lib.sh", "pgbackrest-restore.sh", "redis-restore.sh", "storage-restore.sh"],
    {
      cwd: HERE,
      encoding: "utf8",
    },
  );
  if (r.error) throw new Error(`shellcheck is not installed (bash .ci/run installs it): ${r.error.message}`);
  expect(r.stdout).toBe("");
  expect(r.status).toBe(0);
});

test.each([
  "dev",
  "dump",
  "rds",
  "cloudsql-clone",
  "cloudsql-promote",
  "elasticache",
  "elasticache-dr",
  "memorystore",
  "redis",
  "storage",
])("restore.sh %s --help explains its options and runs nothing", (name) => {
  const r = restore([name, "--help"]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^usage: restore\\.sh ${name} `));
  expect(calls()).toEqual([]);
});

test.each<[string, string[], Record<string, string>, string]>([
  ["no case", [], {}, "usage: restore.sh [--dry-run] <case>"],
  ["an unknown case", ["mysql"], {}, "restore.sh: 'mysql' is not a restore case; use dev, dump, rds"],
  ["an unknown option", ["dev", "--container", "pg", "--force"], {}, "restore.sh: dev: unknown option '--force'"],
  ["an option without its value", ["dev", "--container"], {}, "restore.sh: --container needs a value"],
  [
    "an option whose value is the next option",
    ["rds", "--target", "--latest"],
    {},
    "restore.sh: --target needs a value",
  ],
  [
    "an unknown option of a case named with '-'",
    ["elasticache-dr", "--force"],
    {},
    "restore.sh: elasticache-dr: unknown option '--force'; see restore.sh elasticache-dr --help",
  ],
  ["dev without a container", ["dev"], {}, "restore.sh: --container is required; see restore.sh dev --help"],
  [
    "a time that is not UTC ISO 8601",
    ["dev", "--container", "pg", "--time", "2026-11-01 14:05"],
    {},
    "restore.sh: --time: '2026-11-01 14:05' is not allowed; use UTC in ISO 8601, e.g. 2026-11-01T14:05:00Z",
  ],
  [
    "--into outside the repository volume",
    ["dev", "--container", "pg", "--into", "/var/lib/postgresql/data"],
    {},
    "restore.sh: --into: '/var/lib/postgresql/data' is not allowed; use a new directory directly under /var/lib/pgbackrest",
  ],
  [
    "--into with writers to stop",
    ["dev", "--container", "pg", "--into", "/var/lib/pgbackrest/r1", "--stop", "api"],
    {},
    "restore.sh: --stop: writers keep running with --into",
  ],
  [
    "a dump restored over the dumped database's own name",
    ["dump", "--store", "s3", "--bucket", "ns-backups", "--target-db", "postgres"],
    { PGHOST: "db" },
    "restore.sh: --target-db: 'postgres' is the dumped database's own name",
  ],
  [
    "a dump without a target cluster",
    ["dump", "--store", "s3", "--bucket", "ns-backups", "--target-db", "restored"],
    {},
    "restore.sh: PGHOST is not set",
  ],
  [
    "an unknown object store",
    ["dump", "--store", "azure", "--bucket", "ns-backups", "--target-db", "restored"],
    { PGHOST: "db" },
    "restore.sh: --store: 'azure' is not allowed; use s3 or gcs",
  ],
  [
    "rds with two sources",
    ["rds", "--source", "a", "--source-backup-arn", ARN, "--target", "b", "--latest"],
    {},
    "restore.sh: --source, --source-backup-arn: give exactly one",
  ],
  [
    "rds with neither a time nor --latest",
    ["rds", "--source", "ns-db", "--target", "ns-db-r", "--subnet-group", "g", "--security-group", SG],
    {},
    "restore.sh: --time, --latest: give exactly one",
  ],
  [
    "rds outside Canada",
    [
      "rds",
      "--source",
      "ns-db",
      "--target",
      "ns-r",
      "--latest",
      "--subnet-group",
      "g",
      "--security-group",
      SG,
      "--region",
      "us-east-1",
    ],
    {},
    "restore.sh: --region: 'us-east-1' is not allowed; data stays in Canada: use ca-central-1 or ca-west-1",
  ],
  [
    "replicated backups restored outside their region",
    [
      "rds",
      "--source-backup-arn",
      ARN,
      "--target",
      "ns-r",
      "--latest",
      "--subnet-group",
      "g",
      "--security-group",
      SG,
      "--region",
      "ca-central-1",
    ],
    {},
    "restore.sh: --region: 'ca-central-1' is not where the replicated backups are; use ca-west-1",
  ],
  [
    "rds restored over its source",
    ["rds", "--source", "ns-db", "--target", "ns-db", "--latest", "--subnet-group", "g", "--security-group", SG],
    {},
    "restore.sh: --target: 'ns-db' is the source itself; restore into a new instance",
  ],
  [
    "a promotion with a retention Cloud SQL refuses",
    ["cloudsql-promote", "--replica", "ns-dr", "--dr-region", "northamerica-northeast2", "--retention", "3"],
    {},
    "restore.sh: --retention: '3' is not allowed; use 7 to 365 days",
  ],
  [
    "elasticache without the AUTH token",
    ["elasticache", "--snapshot", "s1", "--target", "ns-r", "--subnet-group", "g", "--security-group", SG],
    {},
    "restore.sh: REDIS_AUTH_TOKEN is not set",
  ],
  [
    "elasticache-dr with a KMS key outside ca-west-1",
    [
      "elasticache-dr",
      "--bucket",
      "ns-redis-dr",
      "--target",
      "ns-r",
      "--subnet-group",
      "g",
      "--security-group",
      SG,
      "--kms-key",
      "arn:aws:kms:ca-central-1:123456789012:key/k1",
    ],
    { REDIS_AUTH_TOKEN: "0123456789abcdefXYZ" },
    "restore.sh: --kms-key: 'arn:aws:kms:ca-central-1:123456789012:key/k1' is not allowed; use a KMS key ARN in ca-west-1",
  ],
  [
    "elasticache-dr without the AUTH token",
    ["elasticache-dr", "--bucket", "ns-redis-dr", "--target", "ns-r", "--subnet-group", "g", "--security-group", SG],
    {},
    "restore.sh: REDIS_AUTH_TOKEN is not set",
  ],
  [
    "memorystore from a file that is not in GCS",
    ["memorystore", "--instance", "ns-redis", "--region", "northamerica-northeast1", "--source", "s3://b/x.rdb"],
    {},
    "restore.sh: --source: 's3://b/x.rdb' is not allowed; use gs://bucket/path.rdb",
  ],
])("%s is refused before anything runs", (_name, args, env, message) => {
  const r = restore(args, env);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(message);
  expect(calls()).toEqual([]);
});

describe("--dry-run prints the exact commands and changes nothing", () => {
  test("dev, replacing the live database at a point in time", () => {
    const r = restore([
      "--dry-run",
      "dev",
      "--container",
      "northstack-dev-postgres",
      "--stop",
      "northstack-dev-api",
      "--time",
      "2026-11-01T14:05:00Z",
      "--work",
      "/tmp/w",
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(
      [
        "# looked up: docker inspect --format '{{.Config.Image}}' northstack-dev-postgres",
        "docker stop northstack-dev-api",
        "docker stop northstack-dev-postgres",
        "docker cp northstack-dev-postgres:/etc/pgbackrest/pgbackrest.conf /tmp/w/pgbackrest.conf",
        "chmod 0644 /tmp/w/pgbackrest.conf",
        `docker run --rm --user 999:999 --volumes-from northstack-dev-postgres -v /tmp/w/pgbackrest.conf:/etc/pgbackrest/pgbackrest.conf:ro -v ${HERE}/pgbackrest-restore.sh:/usr/local/bin/pgbackrest-restore.sh:ro -e PGBACKREST_CONFIG=/etc/pgbackrest/pgbackrest.conf --entrypoint /bin/bash northstack/dev-postgres-pgbackrest:0123abcd /usr/local/bin/pgbackrest-restore.sh time '2026-11-01 14:05:00+00'`,
        "docker start northstack-dev-postgres",
        "# wait until: docker exec northstack-dev-postgres psql -X -At -U postgres -c 'SELECT pg_is_in_recovery()' prints f",
        "docker start northstack-dev-api",
        "",
      ].join("\n"),
    );
    expect(r.code).toBe(0);
    // Only the read-only look-up ran.
    expect(calls()).toEqual(["docker inspect --format {{.Config.Image}} northstack-dev-postgres"]);
  });

  test("dev, latest point into a new directory, the live database untouched", () => {
    const r = restore([
      "--dry-run",
      "dev",
      "--container",
      "pg",
      "--image",
      "img:1",
      "--into",
      "/var/lib/pgbackrest/restore-1",
      "--work",
      "/tmp/w",
    ]);
    expect(r.stdout.split("\n")).toEqual([
      "docker cp pg:/etc/pgbackrest/pgbackrest.conf /tmp/w/pgbackrest.conf",
      "chmod 0644 /tmp/w/pgbackrest.conf",
      `docker run --rm --user 999:999 --volumes-from pg -v /tmp/w/pgbackrest.conf:/etc/pgbackrest/pgbackrest.conf:ro -v ${HERE}/pgbackrest-restore.sh:/usr/local/bin/pgbackrest-restore.sh:ro -e PGBACKREST_CONFIG=/etc/pgbackrest/pgbackrest.conf --entrypoint /bin/bash img:1 /usr/local/bin/pgbackrest-restore.sh latest --into /var/lib/pgbackrest/restore-1`,
      "",
    ]);
    expect(calls()).toEqual([]);
  });

  const VERIFY_SQL =
    "psql -X -At -v ON_ERROR_STOP=1 --dbname=restored -c 'SELECT count(*) || '\\'' tables, '\\'' || (SELECT count(*) FROM pg_policies) || '\\'' policies'\\'' FROM pg_tables WHERE schemaname NOT IN ('\\''pg_catalog'\\'', '\\''information_schema'\\'')'";

  test("dump from S3, a chosen version, the roles uploaded with it", () => {
    fs.writeFileSync(
      path.join(bucket, "versions.txt"),
      [
        "daily/postgres.dump\tv3\t2026-11-03T06:31:10.000Z",
        "daily/postgres.dump\tv2\t2026-11-02T06:31:10.000Z",
        "daily/postgres.roles.sql\tr3\t2026-11-03T06:31:05.000Z",
        "daily/postgres.roles.sql\tr2\t2026-11-02T06:31:05.000Z",
        "daily/postgres.roles.sql\tr1\t2026-11-01T06:31:05.000Z",
        "",
      ].join("\n"),
    );
    const r = restore(
      [
        "--dry-run",
        "dump",
        "--store",
        "s3",
        "--bucket",
        "ns-prod-backups",
        "--target-db",
        "restored",
        "--version",
        "v2",
        "--work",
        "/tmp/w",
        "--endpoint",
        "https://s3.ca-central-1.amazonaws.com",
      ],
      { PGHOST: "scratch-db" },
    );
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual([
      "# looked up: aws --endpoint-url https://s3.ca-central-1.amazonaws.com s3api list-object-versions --bucket ns-prod-backups --prefix daily/postgres. --query 'Versions[].[Key,VersionId,LastModified]' --output text",
      "aws --endpoint-url https://s3.ca-central-1.amazonaws.com s3api get-object --bucket ns-prod-backups --key daily/postgres.roles.sql --version-id r2 /tmp/w/postgres.roles.sql --output text --query VersionId",
      "aws --endpoint-url https://s3.ca-central-1.amazonaws.com s3api get-object --bucket ns-prod-backups --key daily/postgres.dump --version-id v2 /tmp/w/postgres.dump --output text --query VersionId",
      "psql -X -q -v ON_ERROR_STOP=1 --dbname=postgres -f /tmp/w/postgres.roles.sql",
      "createdb restored",
      "pg_restore --exit-on-error --no-owner --jobs=4 --dbname=restored /tmp/w/postgres.dump",
      VERIFY_SQL,
      "",
    ]);
    expect(calls()).toHaveLength(1);
    expect(calls()[0]).toMatch(/^aws --endpoint-url \S+ s3api list-object-versions /);
  });

  test("dump from S3, a version that does not exist, is refused", () => {
    const r = restore(
      [
        "--dry-run",
        "dump",
        "--store",
        "s3",
        "--bucket",
        "ns-prod-backups",
        "--target-db",
        "restored",
        "--version",
        "v9",
      ],
      { PGHOST: "scratch-db" },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      "restore.sh: --version: 'v9' is not a version of s3://ns-prod-backups/daily/postgres.dump",
    );
  });

  test("dump from GCS, the weekly copy, a chosen generation", () => {
    fs.writeFileSync(
      path.join(bucket, "generations.txt"),
      [
        "gs://ns-prod-backups/weekly/postgres.dump#1761980000000000",
        "gs://ns-prod-backups/weekly/postgres.dump#1762584800000000",
        "gs://ns-prod-backups/weekly/postgres.roles.sql#1761979990000000",
        "gs://ns-prod-backups/weekly/postgres.roles.sql#1762584790000000",
        "",
      ].join("\n"),
    );
    const r = restore(
      [
        "--dry-run",
        "dump",
        "--store",
        "gcs",
        "--bucket",
        "ns-prod-backups",
        "--weekly",
        "--target-db",
        "restored",
        "--version",
        "1761980000000000",
        "--jobs",
        "2",
        "--work",
        "/tmp/w",
      ],
      { PGHOST: "scratch-db" },
    );
    expect(r.stdout.split("\n")).toEqual([
      "# looked up: gcloud storage ls --all-versions gs://ns-prod-backups/weekly/postgres.dump gs://ns-prod-backups/weekly/postgres.roles.sql",
      "gcloud storage cp 'gs://ns-prod-backups/weekly/postgres.roles.sql#1761979990000000' /tmp/w/postgres.roles.sql",
      "gcloud storage cp 'gs://ns-prod-backups/weekly/postgres.dump#1761980000000000' /tmp/w/postgres.dump",
      "psql -X -q -v ON_ERROR_STOP=1 --dbname=postgres -f /tmp/w/postgres.roles.sql",
      "createdb restored",
      "pg_restore --exit-on-error --no-owner --jobs=2 --dbname=restored /tmp/w/postgres.dump",
      VERIFY_SQL,
      "",
    ]);
    expect(r.code).toBe(0);
  });

  test("rds from the ca-west-1 replicated backups to a point in time", () => {
    const r = restore([
      "--dry-run",
      "rds",
      "--source-backup-arn",
      ARN,
      "--target",
      "ns-prod-dr",
      "--time",
      "2026-11-01T14:05:00Z",
      "--subnet-group",
      "ns-prod-dr-subnets",
      "--security-group",
      SG,
      "--parameter-group",
      "ns-prod-pg15",
      "--multi-az",
      "--deletion-protection",
    ]);
    expect(r.stdout.split("\n")).toEqual([
      `aws rds restore-db-instance-to-point-in-time --region ca-west-1 --source-db-instance-automated-backups-arn ${ARN} --target-db-instance-identifier ns-prod-dr --restore-time 2026-11-01T14:05:00Z --db-subnet-group-name ns-prod-dr-subnets --vpc-security-group-ids ${SG} --no-publicly-accessible --copy-tags-to-snapshot --db-parameter-group-name ns-prod-pg15 --multi-az --deletion-protection --output text --query DBInstance.DBInstanceArn`,
      "# wait until: aws rds describe-db-instances --region ca-west-1 --db-instance-identifier ns-prod-dr --output text --query 'DBInstances[0].DBInstanceStatus' prints available",
      "aws rds describe-db-instances --region ca-west-1 --db-instance-identifier ns-prod-dr --output text --query 'DBInstances[0].[Endpoint.Address,Endpoint.Port]'",
      "",
    ]);
    expect(calls()).toEqual([]);
  });

  test("rds in the primary region to the latest restorable time", () => {
    const r = restore([
      "--dry-run",
      "rds",
      "--source",
      "ns-prod-db",
      "--target",
      "ns-prod-db-r",
      "--latest",
      "--subnet-group",
      "g1",
      "--security-group",
      SG,
    ]);
    expect(r.stdout.split("\n")[0]).toBe(
      `aws rds restore-db-instance-to-point-in-time --region ca-central-1 --source-db-instance-identifier ns-prod-db --target-db-instance-identifier ns-prod-db-r --use-latest-restorable-time --db-subnet-group-name g1 --vpc-security-group-ids ${SG} --no-publicly-accessible --copy-tags-to-snapshot --no-multi-az --no-deletion-protection --output text --query DBInstance.DBInstanceArn`,
    );
  });

  test("cloudsql-clone", () => {
    const r = restore([
      "--dry-run",
      "cloudsql-clone",
      "--source",
      "ns-prod-db",
      "--target",
      "ns-prod-db-pitr",
      "--time",
      "2026-11-01T14:05:00Z",
      "--project",
      "acme-prod",
    ]);
    expect(r.stdout.split("\n")).toEqual([
      "gcloud sql instances clone ns-prod-db ns-prod-db-pitr --point-in-time 2026-11-01T14:05:00Z --async --project acme-prod",
      "# wait until: gcloud sql instances describe ns-prod-db-pitr --format 'value(state)' --project acme-prod prints RUNNABLE",
      "gcloud sql instances describe ns-prod-db-pitr --format 'value(ipAddresses[0].ipAddress)' --project acme-prod",
      "",
    ]);
  });

  test("cloudsql-promote switches on the backups the stack declares (cloudSqlPromoteCommands)", () => {
    const r = restore([
      "--dry-run",
      "cloudsql-promote",
      "--replica",
      "ns-prod-dr",
      "--dr-region",
      "northamerica-northeast2",
      "--retention",
      "14",
    ]);
    const [promote, patch] = cloudSqlPromoteCommands("ns-prod-dr", "northamerica-northeast2", 14);
    expect(r.stdout.split("\n")).toEqual([
      `${promote} --quiet`,
      "# wait until: gcloud sql instances describe ns-prod-dr --format 'value(instanceType)' prints CLOUD_SQL_INSTANCE",
      `${patch} --quiet`,
      "# wait until: gcloud sql instances describe ns-prod-dr --format 'value(settings.backupConfiguration.pointInTimeRecoveryEnabled)' prints True",
      "",
    ]);
  });

  test("elasticache never prints the AUTH token", () => {
    const token = "s3cr3t-t0ken-abcdefgh";
    const r = restore(
      [
        "--dry-run",
        "elasticache",
        "--snapshot",
        "ns-prod-redis-2026-11-01",
        "--target",
        "ns-prod-redis-r",
        "--subnet-group",
        "ns-prod-redis",
        "--security-group",
        SG,
        "--nodes",
        "2",
      ],
      { REDIS_AUTH_TOKEN: token },
    );
    expect(r.stdout.split("\n")).toEqual([
      `aws elasticache create-replication-group --region ca-central-1 --replication-group-id ns-prod-redis-r --replication-group-description 'northstack Redis restored from ns-prod-redis-2026-11-01' --snapshot-name ns-prod-redis-2026-11-01 --engine redis --engine-version 7.1 --cache-node-type cache.t4g.small --num-cache-clusters 2 --cache-subnet-group-name ns-prod-redis --security-group-ids ${SG} --transit-encryption-enabled --transit-encryption-mode required --at-rest-encryption-enabled --auth-token [secret of 21 chars] --snapshot-retention-limit 7 --snapshot-window 06:00-07:00 --automatic-failover-enabled --multi-az-enabled --output text --query ReplicationGroup.Status`,
      "# wait until: aws elasticache describe-replication-groups --region ca-central-1 --replication-group-id ns-prod-redis-r --output text --query 'ReplicationGroups[0].Status' prints available",
      "aws elasticache describe-replication-groups --region ca-central-1 --replication-group-id ns-prod-redis-r --output text --query 'ReplicationGroups[0].NodeGroups[0].PrimaryEndpoint.[Address,Port]'",
      "",
    ]);
    expect(r.stdout + r.stderr).not.toContain(token);
  });

  test("memorystore", () => {
    const r = restore([
      "--dry-run",
      "memorystore",
      "--instance",
      "ns-prod-redis",
      "--region",
      "northamerica-northeast1",
      "--source",
      "gs://ns-prod-backups/redis/2026-11-01.rdb",
    ]);
    expect(r.stdout.split("\n")).toEqual([
      "gcloud redis instances import gs://ns-prod-backups/redis/2026-11-01.rdb ns-prod-redis --region northamerica-northeast1 --async --quiet",
      "# wait until: gcloud redis instances describe ns-prod-redis --region northamerica-northeast1 --format 'value(state)' prints READY",
      "",
    ]);
  });
});

describe("real mode runs the commands and waits for the services", () => {
  test("rds: restore, poll until available, print the endpoint", () => {
    const r = restore([
      "rds",
      "--source-backup-arn",
      ARN,
      "--target",
      "ns-prod-dr",
      "--latest",
      "--subnet-group",
      "g",
      "--security-group",
      SG,
    ]);
    expect(r.stderr).not.toContain("gave up");
    expect(r.code).toBe(0);
    expect(calls().map((c) => c.split(" ").slice(0, 3).join(" "))).toEqual([
      "aws rds restore-db-instance-to-point-in-time",
      "aws rds describe-db-instances",
      "aws rds describe-db-instances",
      "aws rds describe-db-instances",
    ]);
    expect(calls()[0]).toContain(
      `--source-db-instance-automated-backups-arn ${ARN} --target-db-instance-identifier ns-prod-dr --use-latest-restorable-time`,
    );
    expect(r.stdout).toContain("arn:aws:rds:ca-west-1:123456789012:db:ns-restored");
    expect(r.stdout).toContain("ns-restored.abc.ca-west-1.rds.amazonaws.com\t5432");
    expect(r.stderr).toMatch(
      /\+ aws rds restore-db-instance-to-point-in-time .*\nrestore\.sh: ns-prod-dr available in ca-west-1 after \d+ s/s,
    );
  });

  test("a wait that never sees its state gives up with the last answer", () => {
    const r = restore(
      [
        "cloudsql-clone",
        "--source",
        "ns-db",
        "--target",
        "ns-db-pitr",
        "--time",
        "2026-11-01T14:05:00Z",
        "--wait-seconds",
        "1",
      ],
      {
        RESTORE_POLL_SECONDS: "1",
        FAKE_NEVER: "1",
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "restore.sh: gave up after 1 s waiting for gcloud sql instances describe ns-db-pitr --format 'value(state)' to print RUNNABLE (last: PENDING_CREATE)",
    );
  });

  test("cloudsql-promote: promote, wait for a primary, patch the backups, wait for PITR", () => {
    const r = restore([
      "cloudsql-promote",
      "--replica",
      "ns-dr",
      "--dr-region",
      "northamerica-northeast2",
      "--retention",
      "7",
      "--project",
      "acme-prod",
    ]);
    expect(r.code).toBe(0);
    expect(calls()).toEqual([
      "gcloud sql instances promote-replica ns-dr --quiet --project acme-prod",
      "gcloud sql instances describe ns-dr --format value(instanceType) --project acme-prod",
      "gcloud sql instances describe ns-dr --format value(instanceType) --project acme-prod",
      "gcloud sql instances patch ns-dr --backup-start-time=07:00 --backup-location=northamerica-northeast2 --enable-point-in-time-recovery --retained-transaction-log-days=7 --retained-backups-count=7 --quiet --project acme-prod",
      "gcloud sql instances describe ns-dr --format value(settings.backupConfiguration.pointInTimeRecoveryEnabled) --project acme-prod",
      "gcloud sql instances describe ns-dr --format value(settings.backupConfiguration.pointInTimeRecoveryEnabled) --project acme-prod",
    ]);
  });

  test("elasticache passes the token to the CLI and waits", () => {
    const r = restore(
      ["elasticache", "--snapshot", "snap-1", "--target", "ns-r", "--subnet-group", "g", "--security-group", SG],
      {
        REDIS_AUTH_TOKEN: "0123456789abcdefXYZ",
      },
    );
    expect(r.code).toBe(0);
    expect(calls()[0]).toContain("--auth-token 0123456789abcdefXYZ --snapshot-retention-limit 7");
    expect(calls()).toHaveLength(4);
    expect(r.stderr).not.toContain("0123456789abcdefXYZ");
    expect(r.stdout).toContain("ns-redis-r.abc.cache.amazonaws.com\t6379");
  });

  test("elasticache-dr seeds a new group in ca-west-1 from the newest replicated copy, never printing the token", () => {
    const token = "s3cr3t-t0ken-abcdefgh";
    const r = restore(
      [
        "--dry-run",
        "elasticache-dr",
        "--bucket",
        "northstack-prod-redis-dr-123456789012",
        "--target",
        "ns-prod-redis-dr",
        "--subnet-group",
        "ns-prod-redis-dr",
        "--security-group",
        SG,
      ],
      { REDIS_AUTH_TOKEN: token, FAKE_VERSION: "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY" },
    );
    const bucket = "northstack-prod-redis-dr-123456789012";
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toEqual([
      `# looked up: aws s3api head-object --region ca-west-1 --bucket ${bucket} --key daily/redis.rdb --output text --query VersionId`,
      `aws s3api copy-object --region ca-west-1 --bucket ${bucket} --key restore/ns-prod-redis-dr.rdb --copy-source '${bucket}/daily/redis.rdb?versionId=3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' --server-side-encryption AES256 --output text --query VersionId`,
      `aws elasticache create-replication-group --region ca-west-1 --replication-group-id ns-prod-redis-dr --replication-group-description 'northstack Redis restored from s3://${bucket}/daily/redis.rdb version 3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY' --snapshot-arns arn:aws:s3:::${bucket}/restore/ns-prod-redis-dr.rdb --engine redis --engine-version 7.1 --cache-node-type cache.t4g.small --num-cache-clusters 1 --cache-subnet-group-name ns-prod-redis-dr --security-group-ids ${SG} --transit-encryption-enabled --transit-encryption-mode required --at-rest-encryption-enabled --auth-token [secret of 21 chars] --snapshot-retention-limit 7 --snapshot-window 06:00-07:00 --output text --query ReplicationGroup.Status`,
      "# wait until: aws elasticache describe-replication-groups --region ca-west-1 --replication-group-id ns-prod-redis-dr --output text --query 'ReplicationGroups[0].Status' prints available",
      "aws elasticache describe-replication-groups --region ca-west-1 --replication-group-id ns-prod-redis-dr --output text --query 'ReplicationGroups[0].NodeGroups[0].PrimaryEndpoint.[Address,Port]'",
      "",
    ]);
    expect(r.stdout + r.stderr).not.toContain(token);
  });

  test("elasticache-dr with a chosen version looks nothing up; without a replicated copy it stops before any change", () => {
    const args = [
      "elasticache-dr",
      "--bucket",
      "ns-redis-dr",
      "--target",
      "ns-r",
      "--subnet-group",
      "g",
      "--security-group",
      SG,
    ];
    const env = { REDIS_AUTH_TOKEN: "0123456789abcdefXYZ" };
    const chosen = restore([...args, "--version-id", "v7"], env);
    expect(chosen.code).toBe(0);
    expect(calls()[0]).toBe(
      "aws s3api copy-object --region ca-west-1 --bucket ns-redis-dr --key restore/ns-r.rdb --copy-source ns-redis-dr/daily/redis.rdb?versionId=v7 --server-side-encryption AES256 --output text --query VersionId",
    );
    expect(calls()[1]).toContain("--snapshot-arns arn:aws:s3:::ns-redis-dr/restore/ns-r.rdb");
    expect(calls()).toHaveLength(5);
    const none = restore(args, env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("found none; is this the DR bucket, and has the copy replicated?");
    expect(calls()).toEqual([
      "aws s3api head-object --region ca-west-1 --bucket ns-redis-dr --key daily/redis.rdb --output text --query VersionId",
    ]);
  });

  test("memorystore: import, then poll until READY", () => {
    const r = restore([
      "memorystore",
      "--instance",
      "ns-redis",
      "--region",
      "northamerica-northeast1",
      "--source",
      "gs://ns-backups/r.rdb",
    ]);
    expect(r.code).toBe(0);
    expect(calls()).toEqual([
      "gcloud redis instances import gs://ns-backups/r.rdb ns-redis --region northamerica-northeast1 --async --quiet",
      "gcloud redis instances describe ns-redis --region northamerica-northeast1 --format value(state)",
      "gcloud redis instances describe ns-redis --region northamerica-northeast1 --format value(state)",
    ]);
  });

  test("dev: writers stop first and start only after recovery has ended", () => {
    const r = restore(["dev", "--container", "pg", "--stop", "api", "--work", tmp]);
    expect(r.code).toBe(0);
    const docker = calls().map((c) => c.split(" ").slice(0, 3).join(" "));
    expect(docker).toEqual([
      "docker inspect --format",
      "docker stop api",
      "docker stop pg",
      `docker cp pg:/etc/pgbackrest/pgbackrest.conf`,
      "docker run --rm",
      "docker start pg",
      "docker exec pg",
      "docker exec pg",
      "docker start api",
    ]);
    expect(calls()[4]).toMatch(/ \/usr\/local\/bin\/pgbackrest-restore\.sh latest$/);
  });
});

describe("a bucket dump restores for real into an empty PostgreSQL 15 cluster", () => {
  let source: PgCluster;
  let target: PgCluster;
  const asRoot = typeof process.getuid === "function" && process.getuid() === 0;

  const query = queryRows;

  beforeAll(async () => {
    [source, target] = await Promise.all([startPgCluster(), startPgCluster()]);
    await query(
      source,
      `create role anon nologin; create role authenticated nologin; create role authenticator login password 'secret' noinherit;
       grant anon, authenticated to authenticator;
       create table public.notes (id serial primary key, body text not null);
       insert into public.notes (body) select 'note ' || g from generate_series(1, 300) g;
       create table public.profiles (id int primary key, owner text not null);
       insert into public.profiles select g, 'user' || g from generate_series(1, 40) g;
       alter table public.profiles enable row level security;
       create policy profiles_own on public.profiles for select to authenticated using (owner = current_user);
       grant usage on schema public to anon, authenticated;
       grant select on public.profiles to authenticated;
       grant select on public.notes to anon`,
    );
    // The very dump the cloud job uploads: `backup.sh dump`, verified on its own throwaway server.
    const backupScript = path.join(tmp, "backup.sh");
    fs.writeFileSync(backupScript, renderBackupScript());
    const dumps = path.join(tmp, "dumps");
    fs.mkdirSync(dumps);
    fs.chmodSync(dumps, 0o777);
    const env = { ...source.libpqEnv(), PATH: `${PG_BIN}:${process.env.PATH}`, BACKUP_DIR: dumps };
    const r = asRoot
      ? spawnSync(
          "runuser",
          [
            "-u",
            "postgres",
            "--",
            "env",
            ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
            "bash",
            backupScript,
            "dump",
          ],
          { encoding: "utf8" },
        )
      : spawnSync("bash", [backupScript, "dump"], { encoding: "utf8", env: { ...process.env, ...env } });
    if (r.status !== 0) throw new Error(`backup.sh dump failed: ${r.stdout}${r.stderr}`);
    const [dump] = fs.readdirSync(dumps).filter((f) => f.endsWith(".dump"));
    // The bucket as the upload step leaves it: the current objects and one older version of each.
    fs.mkdirSync(path.join(bucket, "daily"));
    for (const [suffix, key] of [
      [".dump", "postgres.dump"],
      [".dump.roles.sql", "postgres.roles.sql"],
    ]) {
      const file = path.join(dumps, dump.replace(/\.dump$/, suffix));
      fs.copyFileSync(file, path.join(bucket, "daily", key));
      fs.copyFileSync(file, path.join(bucket, "daily", `${key}@${key.endsWith(".dump") ? "v1" : "r1"}`));
      fs.copyFileSync(file, path.join(bucket, "daily", `${key}#1762000000000000`.replace("#", "@")));
    }
  }, 180000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  const expectRestored = async (database: string) => {
    const roles = await query(
      target,
      "select rolname from pg_roles where rolname in ('anon', 'authenticated', 'authenticator') order by 1",
    );
    expect(roles.map((r) => r.rolname)).toEqual(["anon", "authenticated", "authenticator"]);
    const policies = await query(target, "select tablename, policyname, roles::text from pg_policies", database);
    expect(policies).toEqual([{ tablename: "profiles", policyname: "profiles_own", roles: "{authenticated}" }]);
    const [rls] = await query(
      target,
      "select relrowsecurity from pg_class where oid = 'public.profiles'::regclass",
      database,
    );
    expect(rls.relrowsecurity).toBe(true);
    const grants = await query(
      target,
      "select has_table_privilege('authenticated', 'public.profiles', 'select') as a, has_table_privilege('anon', 'public.notes', 'select') as b, has_table_privilege('anon', 'public.profiles', 'select') as c",
      database,
    );
    expect(grants).toEqual([{ a: true, b: true, c: false }]);
    const [counts] = await query(
      target,
      "select (select count(*) from public.notes)::int as notes, (select count(*) from public.profiles)::int as profiles",
      database,
    );
    expect(counts).toEqual({ notes: 300, profiles: 40 });
  };

  test("from S3, the current version, into a cluster that has none of the roles", async () => {
    const before = await query(target, "select count(*)::int as n from pg_roles where rolname = 'authenticated'");
    expect(before).toEqual([{ n: 0 }]);
    const work = fs.mkdtempSync(path.join(tmp, "work-"));
    const started = Date.now();
    const r = restore(
      ["dump", "--store", "s3", "--bucket", "ns-dev-backups", "--target-db", "restored_s3", "--work", work],
      target.libpqEnv(),
    );
    const seconds = (Date.now() - started) / 1000;
    expect(r.stderr).not.toMatch(/ERROR:/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("2 tables, 1 policies\n");
    expect(calls()).toEqual([
      `aws s3 cp --only-show-errors s3://ns-dev-backups/daily/postgres.roles.sql ${work}/postgres.roles.sql`,
      `aws s3 cp --only-show-errors s3://ns-dev-backups/daily/postgres.dump ${work}/postgres.dump`,
    ]);
    await expectRestored("restored_s3");
    console.log(`bucket-dump restore (S3 stand-in, 340 rows): ${seconds.toFixed(1)} s`);
  });

  test("from GCS, a chosen generation, again: the roles file is re-runnable", async () => {
    fs.writeFileSync(
      path.join(bucket, "generations.txt"),
      "gs://ns-dev-backups/daily/postgres.dump#1762000000000000\ngs://ns-dev-backups/daily/postgres.roles.sql#1762000000000000\n",
    );
    const work = fs.mkdtempSync(path.join(tmp, "work-"));
    const r = restore(
      [
        "dump",
        "--store",
        "gcs",
        "--bucket",
        "ns-dev-backups",
        "--target-db",
        "restored_gcs",
        "--version",
        "1762000000000000",
        "--work",
        work,
      ],
      target.libpqEnv(),
    );
    expect(r.stderr).not.toMatch(/ERROR:/);
    expect(r.code).toBe(0);
    expect(calls()[1]).toBe(
      `gcloud storage cp gs://ns-dev-backups/daily/postgres.roles.sql#1762000000000000 ${work}/postgres.roles.sql`,
    );
    await expectRestored("restored_gcs");
  });

  test("a target database that already exists is never restored over", () => {
    const work = fs.mkdtempSync(path.join(tmp, "work-"));
    const r = restore(
      ["dump", "--store", "s3", "--bucket", "ns-dev-backups", "--target-db", "restored_s3", "--work", work],
      target.libpqEnv(),
    );
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('database "restored_s3" already exists');
  });
});

describe("redis and storage: the dev copies of the volume backup (components/volume-backup.ts)", () => {
  const VOLUME = "northstack-dev-volume-backup-backups";
  const IMAGE = "northstack/dev-postgres-pgbackrest:0123abcd";
  const ONE_OFF =
    "docker run --rm --network none --cap-drop ALL --security-opt no-new-privileges --read-only --tmpfs /tmp";

  test("redis: the writers and Redis stop, the copy replaces its AOF in a locked-down one-off container, then it answers", () => {
    const r = restore([
      "--dry-run",
      "redis",
      "--container",
      "northstack-dev-redis",
      "--backups-volume",
      VOLUME,
      "--copy",
      "weekly/redis-2026-11-01.rdb",
      "--stop",
      "northstack-dev-kong",
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual([
      "# looked up: docker inspect --format '{{.Config.Image}}' northstack-dev-redis",
      "docker stop northstack-dev-kong",
      "docker stop northstack-dev-redis",
      `${ONE_OFF.replace("--rm", "--rm --user 999:999")} --volumes-from northstack-dev-redis -v ${VOLUME}:/backups:ro -v ${HERE}/redis-restore.sh:/usr/local/bin/redis-restore.sh:ro --entrypoint /bin/bash ${IMAGE} /usr/local/bin/redis-restore.sh /backups/redis/weekly/redis-2026-11-01.rdb /data appendonlydir`,
      "docker start northstack-dev-redis",
      "# wait until: docker exec northstack-dev-redis redis-cli -e ping prints PONG",
      "docker exec northstack-dev-redis redis-cli -e dbsize",
      "docker start northstack-dev-kong",
      "",
    ]);
    expect(r.code).toBe(0);
    expect(calls()).toEqual(["docker inspect --format {{.Config.Image}} northstack-dev-redis"]);
  });

  test("storage: restores as the Storage container's own user, with its image's POSIX sh", () => {
    const r = restore([
      "--dry-run",
      "storage",
      "--container",
      "northstack-dev-supabase-storage",
      "--backups-volume",
      VOLUME,
      "--copy",
      "daily/storage-2026-11-01.tar.gz",
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")).toEqual([
      "# looked up: docker inspect --format '{{.Config.Image}}' northstack-dev-supabase-storage",
      "# looked up: docker inspect --format '{{.Config.User}}' northstack-dev-supabase-storage",
      "docker stop northstack-dev-supabase-storage",
      `${ONE_OFF.replace("--rm", "--rm --user 1000:1000")} --volumes-from northstack-dev-supabase-storage -v ${VOLUME}:/backups:ro -v ${HERE}/storage-restore.sh:/usr/local/bin/storage-restore.sh:ro --entrypoint /bin/sh ${IMAGE} /usr/local/bin/storage-restore.sh /backups/storage/daily/storage-2026-11-01.tar.gz /var/lib/storage`,
      "docker start northstack-dev-supabase-storage",
      "# wait until: docker inspect --format '{{.State.Health.Status}}' northstack-dev-supabase-storage prints healthy",
      "",
    ]);
    expect(r.code).toBe(0);
  });

  test.each<[string, string[], string]>([
    [
      "redis without a copy",
      ["redis", "--container", "r", "--backups-volume", VOLUME],
      "restore.sh: --copy is required",
    ],
    [
      "redis with a path out of the backups volume",
      ["redis", "--container", "r", "--backups-volume", VOLUME, "--copy", "daily/../../etc/redis-2026-11-01.rdb"],
      "restore.sh: --copy: 'daily/../../etc/redis-2026-11-01.rdb' is not allowed; use daily/ or weekly/",
    ],
    [
      "storage with a Redis copy",
      ["storage", "--container", "s", "--backups-volume", VOLUME, "--copy", "daily/redis-2026-11-01.rdb"],
      "restore.sh: --copy: 'daily/redis-2026-11-01.rdb' is not allowed",
    ],
  ])("%s is refused before anything runs", (_name, args, message) => {
    const r = restore(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(calls()).toEqual([]);
  });
});
