/**
 * Database: Postgres (postgres_exporter v0.16) and Redis (redis_exporter v1.66), the same series
 * the northstack-postgres and northstack-redis alerts judge, with the exporters' own logs beside
 * them (an exporter that cannot connect or read a view says so there).
 */
import { graph, labelVariable, logLines, row, single, stackDashboard, streams, walArchiverQueries } from "./panels";

const pg = 'instance=~"$instance"';
const rd = 'instance=~"$redis_instance"';

const upDown: [number | null, string][] = [
  [null, "red"],
  [1, "green"],
];

export function databaseDashboard(stack: string) {
  return stackDashboard(
    stack,
    "database",
    "database",
    "Postgres and Redis: availability, load, limits, replication and WAL.",
  )
    .withVariable(labelVariable("instance", "instance", "pg_up", { title: "Postgres exporter" }))
    .withVariable(labelVariable("redis_instance", "instance", "redis_up", { title: "Redis exporter" }))
    .withVariable(labelVariable("exporter", "workload", '{__name__=~"pg_up|redis_up"}', { hidden: true }))
    .withRow(row("Postgres"))
    .withPanel(single("Postgres up", "short", { expr: `min(pg_up{${pg}})` }, { thresholds: upDown }))
    .withPanel(
      single(
        "Connections used",
        "percentunit",
        {
          expr: `max(sum by (instance) (pg_stat_activity_count{${pg}}) / on (instance) max by (instance) (pg_settings_max_connections{${pg}}))`,
        },
        {
          thresholds: [
            [null, "green"],
            [0.8, "orange"],
            [0.95, "red"],
          ],
        },
      ),
    )
    .withPanel(
      single(
        "Exporter query errors",
        "short",
        { expr: `max(pg_exporter_last_scrape_error{${pg}})` },
        {
          description: "1 when a statistics query fails, usually a missing grant: the panels below go blind.",
          thresholds: [
            [null, "green"],
            [1, "red"],
          ],
        },
      ),
    )
    .withPanel(
      single(
        "Longest open transaction",
        "s",
        {
          expr: `max(pg_stat_activity_max_tx_duration{state!="idle", ${pg}})`,
        },
        {
          thresholds: [
            [null, "green"],
            [900, "orange"],
          ],
        },
      ),
    )
    .withPanel(
      graph("Connections vs max_connections", "short", [
        { expr: `sum by (instance) (pg_stat_activity_count{${pg}})`, legend: "in use {{instance}}" },
        { expr: `max by (instance) (pg_settings_max_connections{${pg}})`, legend: "max_connections {{instance}}" },
      ]),
    )
    .withPanel(
      graph("Connections by state", "short", [
        { expr: `sum by (state) (pg_stat_activity_count{${pg}})`, legend: "{{state}}" },
      ]),
    )
    .withPanel(
      graph(
        "Transactions",
        "ops",
        [
          {
            expr: `sum by (datname) (rate(pg_stat_database_xact_commit{${pg}}[$__rate_interval]))`,
            legend: "commit {{datname}}",
          },
          {
            expr: `sum by (datname) (rate(pg_stat_database_xact_rollback{${pg}}[$__rate_interval]))`,
            legend: "rollback {{datname}}",
          },
        ],
        { width: 8 },
      ),
    )
    .withPanel(
      graph(
        "Deadlocks",
        "short",
        [
          {
            expr: `sum by (datname) (increase(pg_stat_database_deadlocks{${pg}}[$__rate_interval]))`,
            legend: "{{datname}}",
          },
        ],
        { width: 8, description: "PostgresDeadlocks warns past 5 in 10 minutes." },
      ),
    )
    .withPanel(
      graph(
        "Cache hit ratio",
        "percentunit",
        [
          {
            expr:
              `sum by (datname) (rate(pg_stat_database_blks_hit{${pg}}[$__rate_interval]))` +
              ` / (sum by (datname) (rate(pg_stat_database_blks_hit{${pg}}[$__rate_interval])) + sum by (datname) (rate(pg_stat_database_blks_read{${pg}}[$__rate_interval])))`,
            legend: "{{datname}}",
          },
        ],
        {
          width: 8,
          min: 0,
          max: 1,
          description: "Blocks found in shared buffers; under about 0.99 the working set outgrows memory.",
        },
      ),
    )
    .withPanel(
      graph(
        "Replication lag",
        "bytes",
        [
          {
            expr: `max by (application_name) (pg_stat_replication_pg_wal_lsn_diff{${pg}})`,
            legend: "{{application_name}}",
          },
        ],
        {
          width: 8,
          description:
            "WAL not yet replayed by each replica or logical client (Supabase Realtime); PostgresReplicationLag warns past 256 MiB.",
        },
      ),
    )
    .withPanel(
      graph(
        "Longest transaction by client",
        "s",
        [
          {
            expr: `max by (datname, usename, application_name) (pg_stat_activity_max_tx_duration{state!="idle", ${pg}})`,
            legend: "{{usename}} {{application_name}} ({{datname}})",
          },
        ],
        { width: 8, description: "PostgresLongRunningTransaction warns past 15 minutes." },
      ),
    )
    .withPanel(graph("WAL archiver", "short", walArchiverQueries(pg), { width: 8 }))
    .withRow(row("Redis"))
    .withPanel(single("Redis up", "short", { expr: `min(redis_up{${rd}})` }, { thresholds: upDown }))
    .withPanel(
      single(
        "Memory used of maxmemory",
        "percentunit",
        {
          expr: `max(redis_memory_used_bytes{${rd}} / (redis_memory_max_bytes{${rd}} > 0))`,
        },
        {
          thresholds: [
            [null, "green"],
            [0.9, "orange"],
          ],
        },
      ),
    )
    .withPanel(
      single(
        "Rejected connections (1h)",
        "short",
        {
          expr: `sum(increase(redis_rejected_connections_total{${rd}}[1h]))`,
        },
        {
          thresholds: [
            [null, "green"],
            [1, "red"],
          ],
        },
      ),
    )
    .withPanel(
      single(
        "Evicted keys (1h)",
        "short",
        { expr: `sum(increase(redis_evicted_keys_total{${rd}}[1h]))` },
        {
          thresholds: [
            [null, "green"],
            [1, "orange"],
          ],
        },
      ),
    )
    .withPanel(
      graph(
        "Redis memory",
        "bytes",
        [
          { expr: `redis_memory_used_bytes{${rd}}`, legend: "used {{instance}}" },
          { expr: `redis_memory_max_bytes{${rd}} > 0`, legend: "maxmemory {{instance}}" },
        ],
        { width: 8 },
      ),
    )
    .withPanel(
      graph(
        "Redis clients",
        "short",
        [
          { expr: `redis_connected_clients{${rd}}`, legend: "connected {{instance}}" },
          {
            expr: `sum by (instance) (increase(redis_rejected_connections_total{${rd}}[$__rate_interval]))`,
            legend: "rejected {{instance}}",
          },
        ],
        { width: 8 },
      ),
    )
    .withPanel(
      graph(
        "Redis evictions and commands",
        "ops",
        [
          {
            expr: `sum by (instance) (rate(redis_evicted_keys_total{${rd}}[$__rate_interval]))`,
            legend: "evicted {{instance}}",
          },
          {
            expr: `sum by (instance) (rate(redis_commands_processed_total{${rd}}[$__rate_interval]))`,
            legend: "commands {{instance}}",
          },
        ],
        { width: 8 },
      ),
    )
    .withRow(row("Logs"))
    .withPanel(
      logLines("Exporter logs", streams('workload=~"$exporter"'), {
        width: 24,
        description: "The Postgres and Redis exporters: failed connections and statistics queries show here first.",
      }),
    );
}
