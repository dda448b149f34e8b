/** Postgres (postgres_exporter v0.16 names) and Redis (redis_exporter v1.66 names). */
import { RuleGroupSpec, Thresholds } from "./types";

export function postgresRules(t: Thresholds): RuleGroupSpec {
  const connections =
    "sum by (instance) (pg_stat_activity_count) / on (instance) max by (instance) (pg_settings_max_connections)";
  return {
    name: "northstack-postgres",
    alerts: [
      {
        alert: "PostgresDown",
        expr: "pg_up == 0",
        for: "1m",
        severity: "critical",
        summary: "Postgres is unreachable",
        description: "postgres-exporter cannot connect to the database.",
      },
      {
        alert: "PostgresExporterErrors",
        expr: "pg_exporter_last_scrape_error == 1",
        for: "10m",
        severity: "warning",
        summary: "postgres-exporter fails to read some statistics",
        description:
          "The exporter connects but a query fails, usually a missing grant: Postgres dashboards and alerts go blind.",
      },
      {
        alert: "PostgresConnectionsNearLimit",
        expr: `${connections} > ${t.postgresConnectionRatio}`,
        for: "10m",
        severity: "warning",
        summary: "Postgres uses {{ $value | humanizePercentage }} of max_connections",
        description: "Connection slots are running out; look for leaks or raise max_connections.",
      },
      {
        alert: "PostgresConnectionsExhausted",
        expr: `${connections} > 0.95`,
        for: "5m",
        severity: "critical",
        inhibits: { alert: "PostgresConnectionsNearLimit", equal: ["instance"] },
        summary: "Postgres uses {{ $value | humanizePercentage }} of max_connections",
        description: "New connections are about to be refused: clients fail with 'too many clients already'.",
      },
      {
        alert: "PostgresDeadlocks",
        expr: "sum by (instance, datname) (increase(pg_stat_database_deadlocks[10m])) > 5",
        for: "0m",
        severity: "warning",
        summary: "{{ $value | humanize }} deadlocks in {{ $labels.datname }} in 10 minutes",
        description: "Transactions wait on each other in a cycle and Postgres aborts one of them each time.",
      },
      {
        alert: "PostgresLongRunningTransaction",
        expr: 'max by (instance, datname, usename, application_name) (pg_stat_activity_max_tx_duration{state!="idle", application_name!~"pg_dump|pg_basebackup|pgbackrest.*"}) > 900',
        for: "5m",
        severity: "warning",
        summary:
          "A transaction of {{ $labels.usename }} ({{ $labels.application_name }}) in {{ $labels.datname }} has run for {{ $value | humanizeDuration }}",
        description: "A transaction open for over 15 minutes holds locks and keeps vacuum from removing dead rows.",
      },
      {
        alert: "PostgresReplicationLag",
        expr: "max by (instance, application_name) (pg_stat_replication_pg_wal_lsn_diff) > 256 * 1024 * 1024",
        for: "5m",
        severity: "warning",
        summary: "{{ $labels.application_name }} is {{ $value | humanize1024 }}B of WAL behind",
        description:
          "A replica or logical replication client (Supabase Realtime) has not replayed 256 MiB of WAL for 5 minutes; the primary keeps that WAL on disk.",
      },
      {
        alert: "PostgresWalArchiveFailing",
        expr: "increase(pg_stat_archiver_failed_count[10m]) > 0",
        for: "0m",
        severity: "warning",
        summary: "Postgres failed to archive WAL {{ $value | humanize }} times in 10 minutes",
        description: "archive_command failed; point-in-time recovery loses whatever is not archived.",
      },
      {
        alert: "PostgresWalArchiverStuck",
        expr: "increase(pg_stat_archiver_failed_count[10m]) > 0 and increase(pg_stat_archiver_archived_count[10m]) == 0",
        for: "5m",
        severity: "critical",
        inhibits: { alert: "PostgresWalArchiveFailing", equal: ["instance"] },
        summary: "Postgres has archived no WAL for 15 minutes while archiving fails",
        description:
          "Every archive attempt fails: the recovery point objective is broken and WAL piles up on the database's disk.",
      },
    ],
  };
}

export function redisRules(t: Thresholds): RuleGroupSpec {
  return {
    name: "northstack-redis",
    alerts: [
      {
        alert: "RedisDown",
        expr: "redis_up == 0",
        for: "1m",
        severity: "critical",
        summary: "Redis is unreachable",
        description: "redis-exporter cannot connect to Redis.",
      },
      {
        alert: "RedisMemoryNearLimit",
        expr: `redis_memory_used_bytes / (redis_memory_max_bytes > 0) > ${t.redisMemoryRatio}`,
        for: "10m",
        severity: "warning",
        summary: "Redis uses {{ $value | humanizePercentage }} of maxmemory",
        description: "Redis is close to maxmemory and evicting keys; rate limits may reset early.",
      },
      {
        alert: "RedisEvictingKeys",
        expr: "increase(redis_evicted_keys_total[5m]) > 0",
        for: "5m",
        severity: "warning",
        summary: "Redis evicted {{ $value | humanize }} keys in 5 minutes",
        description: "Redis is full and drops keys to make room: rate-limit counters and cached data disappear early.",
      },
      {
        alert: "RedisRejectedConnections",
        expr: "increase(redis_rejected_connections_total[5m]) > 0",
        for: "0m",
        severity: "warning",
        summary: "Redis rejected {{ $value | humanize }} connections in 5 minutes",
        description: "Redis refused clients because maxclients was reached.",
      },
      {
        alert: "RedisConnectionsNearLimit",
        expr: "redis_connected_clients / on (instance, job) (redis_max_clients or redis_config_maxclients) > 0.8",
        for: "10m",
        severity: "warning",
        summary: "Redis has {{ $value | humanizePercentage }} of maxclients connected",
        description: "Connections are close to maxclients, past which Redis rejects new ones.",
      },
      {
        alert: "RedisPersistenceFailing",
        expr: "redis_rdb_last_bgsave_status == 0 or redis_aof_last_write_status == 0",
        for: "5m",
        severity: "warning",
        summary: "Redis cannot write its snapshot or append-only file",
        description: "The last RDB save or AOF write failed: a restart loses the data written since.",
      },
    ],
  };
}
