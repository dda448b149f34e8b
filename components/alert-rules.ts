/**
 * The alerting and recording rules, as data grouped by component; monitoring-config.ts renders them
 * into the Prometheus rules file. Every alert has a firing case in test/integration/promtool/ and a
 * runbook section in docs/runbooks.md named after it (lower-cased).
 *
 * Metric names are those of the exporters the stacks run: kube-state-metrics and the kubelet's
 * cAdvisor (Kubernetes), node_exporter, the blackbox exporter, Kong 3.8's prometheus plugin,
 * postgres_exporter v0.16, redis_exporter v1.66, the reference API (app/src/metrics.ts), and
 * Prometheus, Alertmanager and Loki themselves. A rule whose metrics a runtime does not collect
 * (kube-state-metrics on Docker) has no series there and stays silent.
 *
 * Counters come from one scrape target per pod, so every ratio takes rate() per series first and
 * sums afterwards: a restarted pod's counter reset stays inside its own series.
 */

/**
 * The only severities a rule carries, and what Alertmanager does with them: `critical` pages
 * (PagerDuty), `warning` goes to chat or mail.
 */
export const SEVERITIES = ["critical", "warning"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The always-firing alert that proves the pipeline works; Alertmanager routes it apart. */
export const WATCHDOG = "Watchdog";

export interface AlertRuleSpec {
  /** Alert name, unique across groups; its runbook section is headed by it. Required. */
  readonly alert: string;
  /** PromQL; an alert fires for each series it returns. Required. */
  readonly expr: string;
  /** How long expr must hold before the alert fires. Required. */
  readonly for: string;
  /** Required. */
  readonly severity: Severity;
  /** One line for the notification title; may use $labels and $value. Required. */
  readonly summary: string;
  /** What is wrong and why it matters. Required. */
  readonly description: string;
}

export interface RecordingRuleSpec {
  /** `level:metric:operations`, e.g. northstack:kong_request_error_ratio:rate5m. Required. */
  readonly record: string;
  /** Required. */
  readonly expr: string;
}

export interface RuleGroupSpec {
  /** `northstack-<component>`. Required. */
  readonly name: string;
  /** Evaluated before the group's alerts, which may read them in the same evaluation. Default: none. */
  readonly recording?: readonly RecordingRuleSpec[];
  /** Required. */
  readonly alerts: readonly AlertRuleSpec[];
}

export interface AlertThresholds {
  /** Fraction of 5xx responses on one route (gateway or API) that pages. Default: 0.05. */
  readonly errorRatio?: number;
  /** Requests per second a route needs before its error ratio can page. Default: 0.05 (3 a minute). */
  readonly minRequestRate?: number;
  /** p95 latency of one route, in ms, that warns. Default: 1000. */
  readonly latencyP95Ms?: number;
  /** Fraction of max_connections in use that warns. Default: 0.8. */
  readonly postgresConnectionRatio?: number;
  /** Fraction of Redis maxmemory in use that warns. Default: 0.9. */
  readonly redisMemoryRatio?: number;
  /** Days before a certificate expires that warn. Default: 21. */
  readonly certificateWarningDays?: number;
  /** Days before a certificate expires that page. Default: 7. */
  readonly certificateCriticalDays?: number;
}

/**
 * Recorded series shared by alerts and dashboards, so a panel shows exactly what an alert judges.
 * The ratios are 0 rather than absent for a route without errors.
 */
export const RECORDED = {
  /** Kong requests per second, by service, route and status code. */
  kongRequests: "northstack:kong_http_requests:rate5m",
  /** Fraction of Kong responses that are 5xx, by service and route. */
  kongErrorRatio: "northstack:kong_request_error_ratio:rate5m",
  /** Kong's total request latency histogram (ms), by service, route and le. */
  kongLatencyBuckets: "northstack:kong_request_latency_ms_bucket:rate5m",
  /** API requests per second, by job, route and status. */
  apiRequests: "northstack:http_requests:rate5m",
  /** Fraction of API responses that are 5xx, by job and route. */
  apiErrorRatio: "northstack:http_request_error_ratio:rate5m",
  /** API request duration histogram (seconds), by job, route and le. */
  apiLatencyBuckets: "northstack:http_request_duration_seconds_bucket:rate5m",
} as const;

/** 5xx over all of a recorded per-status rate, by `by`; 0 for a series with traffic and no errors. */
function errorRatio(requests: string, statusLabel: string, by: string): string {
  const all = `sum by (${by}) (${requests})`;
  return `(sum by (${by}) (${requests}{${statusLabel}=~"5.."}) or ${all} * 0) / ${all}`;
}

function platformRules(t: Required<AlertThresholds>): RuleGroupSpec {
  const pvcRatio =
    "max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_available_bytes) / max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes)";
  const certDays = "(probe_ssl_earliest_cert_expiry - time()) / 86400";
  return {
    name: "northstack-platform",
    alerts: [
      {
        alert: "TargetDown",
        expr: "up == 0",
        for: "5m",
        severity: "warning",
        summary: "{{ $labels.job }} target {{ $labels.instance }} is down",
        description:
          "Prometheus could not scrape {{ $labels.instance }} for 5 minutes; the job's other targets still answer.",
      },
      {
        alert: "JobDown",
        expr: "sum by (job) (up) == 0",
        for: "2m",
        severity: "critical",
        summary: "Every {{ $labels.job }} target is down",
        description: "Prometheus has not scraped a single {{ $labels.job }} target for 2 minutes.",
      },
      {
        alert: "ServiceRestarting",
        expr: "changes(process_start_time_seconds[30m]) > 2",
        for: "0m",
        severity: "warning",
        summary: "{{ $labels.job }} at {{ $labels.instance }} restarted {{ $value }} times in 30 minutes",
        description: "The process behind this target keeps restarting (on Docker and Kubernetes alike).",
      },
      {
        alert: "PodCrashLooping",
        expr:
          "sum by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total[15m])) > 2" +
          ' or max by (namespace, pod, container) (max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m])) >= 1',
        for: "5m",
        severity: "warning",
        summary: "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is crash-looping",
        description:
          "The container restarted more than twice in 15 minutes, or Kubernetes is backing off its restarts.",
      },
      {
        alert: "PodNotScheduled",
        expr: "max by (namespace, pod) (kube_pod_status_unschedulable) == 1",
        for: "10m",
        severity: "warning",
        summary: "{{ $labels.namespace }}/{{ $labels.pod }} cannot be scheduled",
        description:
          "The scheduler has found no node for this pod for 10 minutes; the workload runs short of replicas.",
      },
      {
        alert: "PodStuckPending",
        expr: 'sum by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Unknown"}) > 0',
        for: "15m",
        severity: "warning",
        summary: "{{ $labels.namespace }}/{{ $labels.pod }} has not started for 15 minutes",
        description: "The pod is Pending or Unknown: not scheduled, its image not pulled, or its node unreachable.",
      },
      {
        alert: "DeploymentReplicasUnavailable",
        expr: "kube_deployment_status_replicas_available < kube_deployment_spec_replicas",
        for: "15m",
        severity: "warning",
        summary: "{{ $labels.namespace }}/{{ $labels.deployment }} has {{ $value }} of its replicas available",
        description: "Fewer replicas are available than the Deployment asks for, for 15 minutes.",
      },
      {
        alert: "StatefulSetReplicasUnavailable",
        expr: "kube_statefulset_status_replicas_ready < kube_statefulset_replicas",
        for: "15m",
        severity: "warning",
        summary: "{{ $labels.namespace }}/{{ $labels.statefulset }} has {{ $value }} of its replicas ready",
        description: "Fewer replicas are ready than the StatefulSet asks for, for 15 minutes.",
      },
      {
        alert: "ContainerOOMKilled",
        expr:
          "sum by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total[10m])) >= 1" +
          ' and on (namespace, pod, container) max by (namespace, pod, container) (kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}) == 1',
        for: "0m",
        severity: "warning",
        summary:
          "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) was killed for running out of memory",
        description: "The container restarted in the last 10 minutes after exceeding its memory limit.",
      },
      {
        alert: "ContainerMemoryNearLimit",
        expr:
          'max by (namespace, pod, container) (container_memory_working_set_bytes{container!=""})' +
          ' / max by (namespace, pod, container) (kube_pod_container_resource_limits{resource="memory"}) > 0.9',
        for: "15m",
        severity: "warning",
        summary:
          "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) uses {{ $value | humanizePercentage }} of its memory limit",
        description: "Above 90% of the memory limit for 15 minutes; the next spike gets the container OOM-killed.",
      },
      {
        alert: "ContainerCpuThrottled",
        expr:
          'sum by (namespace, pod, container) (increase(container_cpu_cfs_throttled_periods_total{container!=""}[5m]))' +
          ' / sum by (namespace, pod, container) (increase(container_cpu_cfs_periods_total{container!=""}[5m])) > 0.25',
        for: "15m",
        severity: "warning",
        summary:
          "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is CPU-throttled in {{ $value | humanizePercentage }} of periods",
        description:
          "The container hits its CPU limit in over 25% of scheduling periods for 15 minutes, which shows as latency.",
      },
      {
        alert: "PersistentVolumeFillingUp",
        expr: `${pvcRatio} < 0.15 and max by (namespace, persistentvolumeclaim) (predict_linear(kubelet_volume_stats_available_bytes[6h], 4 * 24 * 3600)) < 0`,
        for: "1h",
        severity: "warning",
        summary:
          "Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free and fills within 4 days",
        description: "Under 15% free, and at the last 6 hours' rate the volume is full within 4 days.",
      },
      {
        alert: "PersistentVolumeFull",
        expr: `${pvcRatio} < 0.03`,
        for: "5m",
        severity: "critical",
        summary:
          "Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free",
        description: "Under 3% free: writes on this volume fail soon.",
      },
      {
        alert: "NodeNotReady",
        expr: 'kube_node_status_condition{condition="Ready",status="true"} == 0',
        for: "15m",
        severity: "warning",
        summary: "Node {{ $labels.node }} is not ready",
        description: "The node has not been Ready for 15 minutes; its pods are being evicted or cannot start.",
      },
      {
        alert: "NodeMemoryLow",
        expr: "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.1",
        for: "15m",
        severity: "warning",
        summary: "Host {{ $labels.instance }} has {{ $value | humanizePercentage }} of its memory available",
        description: "Under 10% of memory available for 15 minutes; the kernel or kubelet starts killing processes.",
      },
      {
        alert: "NodeFilesystemAlmostFull",
        expr:
          'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"} < 0.1' +
          ' and node_filesystem_readonly{fstype!~"tmpfs|overlay|squashfs"} == 0',
        for: "30m",
        severity: "warning",
        summary: "Host {{ $labels.instance }} has {{ $value | humanizePercentage }} free on {{ $labels.mountpoint }}",
        description: "Under 10% free on a writable host filesystem for 30 minutes (on Docker, the volumes live here).",
      },
      {
        alert: "CertificateExpiringSoon",
        expr: `${certDays} < ${t.certificateWarningDays}`,
        for: "10m",
        severity: "warning",
        summary: "The certificate of {{ $labels.instance }} expires in {{ $value | humanize }} days",
        description: `The TLS certificate served at this URL expires within ${t.certificateWarningDays} days; automatic renewal should have replaced it by now.`,
      },
      {
        alert: "CertificateExpiryImminent",
        expr: `${certDays} < ${t.certificateCriticalDays}`,
        for: "10m",
        severity: "critical",
        summary: "The certificate of {{ $labels.instance }} expires in {{ $value | humanize }} days",
        description: `The TLS certificate served at this URL expires within ${t.certificateCriticalDays} days; clients will then refuse the connection.`,
      },
    ],
  };
}

function gatewayRules(t: Required<AlertThresholds>): RuleGroupSpec {
  const busy = `sum by (service, route) (${RECORDED.kongRequests}) > ${t.minRequestRate}`;
  return {
    name: "northstack-gateway",
    recording: [
      { record: RECORDED.kongRequests, expr: "sum by (service, route, code) (rate(kong_http_requests_total[5m]))" },
      { record: RECORDED.kongErrorRatio, expr: errorRatio(RECORDED.kongRequests, "code", "service, route") },
      {
        record: RECORDED.kongLatencyBuckets,
        expr: "sum by (service, route, le) (rate(kong_request_latency_ms_bucket[5m]))",
      },
    ],
    alerts: [
      {
        alert: "GatewayUnreachable",
        expr: "probe_success == 0",
        for: "5m",
        severity: "critical",
        summary: "{{ $labels.instance }} does not answer the blackbox probe",
        description: "The public gateway URL has failed its HTTPS probe for 5 minutes: users cannot reach the API.",
      },
      {
        alert: "GatewayHighErrorRatio",
        expr: `${RECORDED.kongErrorRatio} > ${t.errorRatio} and on (service, route) ${busy}`,
        for: "5m",
        severity: "critical",
        summary:
          "{{ $value | humanizePercentage }} of requests to {{ $labels.service }} ({{ $labels.route }}) fail at the gateway",
        description: `Over ${t.errorRatio * 100}% of the route's responses at Kong were 5xx for 5 minutes, summed over every Kong pod.`,
      },
      {
        alert: "GatewayHighLatency",
        expr: `histogram_quantile(0.95, ${RECORDED.kongLatencyBuckets}) > ${t.latencyP95Ms}`,
        for: "10m",
        severity: "warning",
        summary:
          'p95 latency of {{ $labels.service }} ({{ $labels.route }}) at the gateway is {{ printf "%.0f" $value }} ms',
        description: `p95 request latency at Kong exceeded ${t.latencyP95Ms} ms on this route for 10 minutes.`,
      },
      {
        alert: "GatewayUpstreamErrors",
        expr:
          'sum by (service) (rate(kong_http_requests_total{source="kong", code=~"502|504"}[5m]))' +
          " / sum by (service) (rate(kong_http_requests_total[5m])) > 0.01",
        for: "5m",
        severity: "warning",
        summary: "Kong cannot reach {{ $labels.service }} for {{ $value | humanizePercentage }} of its requests",
        description:
          "Over 1% of the service's requests ended in a 502 or 504 that Kong produced itself: the upstream refused, reset or timed out.",
      },
      {
        alert: "GatewayUpstreamTargetUnhealthy",
        expr: 'max by (upstream, target) (kong_upstream_target_health{state=~"unhealthy|dns_error"}) == 1',
        for: "5m",
        severity: "warning",
        summary: "Kong marks target {{ $labels.target }} of upstream {{ $labels.upstream }} unhealthy",
        description: "Kong's health checks (or DNS) take this target out of its upstream's load balancing.",
      },
    ],
  };
}

function apiRules(t: Required<AlertThresholds>): RuleGroupSpec {
  return {
    name: "northstack-api",
    recording: [
      { record: RECORDED.apiRequests, expr: "sum by (job, route, status) (rate(http_requests_total[5m]))" },
      { record: RECORDED.apiErrorRatio, expr: errorRatio(RECORDED.apiRequests, "status", "job, route") },
      {
        record: RECORDED.apiLatencyBuckets,
        expr: "sum by (job, route, le) (rate(http_request_duration_seconds_bucket[5m]))",
      },
    ],
    alerts: [
      {
        alert: "ApiHighErrorRatio",
        expr: `${RECORDED.apiErrorRatio} > ${t.errorRatio} and on (job, route) sum by (job, route) (${RECORDED.apiRequests}) > ${t.minRequestRate}`,
        for: "5m",
        severity: "critical",
        summary: "{{ $value | humanizePercentage }} of {{ $labels.job }} requests to {{ $labels.route }} fail",
        description: `Over ${t.errorRatio * 100}% of the route's responses were 5xx for 5 minutes, summed over every pod.`,
      },
      {
        alert: "ApiHighLatency",
        expr: `histogram_quantile(0.95, ${RECORDED.apiLatencyBuckets}) > ${t.latencyP95Ms / 1000}`,
        for: "10m",
        severity: "warning",
        summary: "p95 latency of {{ $labels.job }} {{ $labels.route }} is {{ $value | humanizeDuration }}",
        description: `p95 latency measured by the service itself exceeded ${t.latencyP95Ms} ms on this route for 10 minutes.`,
      },
      {
        alert: "ApiDependencyDown",
        expr: "northstack_dependency_up == 0",
        for: "2m",
        severity: "warning",
        summary: "{{ $labels.job }} at {{ $labels.instance }} cannot reach {{ $labels.dependency }}",
        description: "The service's own health check has failed to reach this dependency for 2 minutes.",
      },
    ],
  };
}

function postgresRules(t: Required<AlertThresholds>): RuleGroupSpec {
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
        summary: "Postgres has archived no WAL for 15 minutes while archiving fails",
        description:
          "Every archive attempt fails: the recovery point objective is broken and WAL piles up on the database's disk.",
      },
    ],
  };
}

function redisRules(t: Required<AlertThresholds>): RuleGroupSpec {
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

function monitoringRules(): RuleGroupSpec {
  return {
    name: "northstack-monitoring",
    alerts: [
      {
        alert: WATCHDOG,
        expr: "vector(1)",
        for: "0m",
        severity: "warning",
        summary: "The alerting pipeline works",
        description:
          "Always firing, on purpose: a dead man's switch outside this stack raises the alarm when it stops arriving.",
      },
      {
        alert: "PrometheusRuleEvaluationFailures",
        expr: "sum by (rule_group) (increase(prometheus_rule_evaluation_failures_total[5m])) > 0",
        for: "5m",
        severity: "critical",
        summary: "Prometheus fails to evaluate rules in {{ $labels.rule_group }}",
        description: "Rules that fail to evaluate cannot fire: alerts in this group are blind.",
      },
      {
        alert: "PrometheusConfigReloadFailed",
        expr: "max_over_time(prometheus_config_last_reload_successful[5m]) == 0",
        for: "10m",
        severity: "warning",
        summary: "Prometheus could not load its configuration",
        description: "Prometheus keeps running on the previous configuration; the new one has an error.",
      },
      {
        alert: "PrometheusTsdbCompactionsFailing",
        expr: "increase(prometheus_tsdb_compactions_failed_total[3h]) > 0",
        for: "0m",
        severity: "warning",
        summary: "Prometheus failed {{ $value | humanize }} TSDB compactions in 3 hours",
        description:
          "Failed compactions grow the head block and the disk until Prometheus runs out of memory or space.",
      },
      {
        alert: "PrometheusNotConnectedToAlertmanagers",
        expr: "max_over_time(prometheus_notifications_alertmanagers_discovered[5m]) < 1",
        for: "10m",
        severity: "warning",
        summary: "Prometheus has no Alertmanager to send alerts to",
        description: "Alerts are evaluated but reach nobody; only the external dead man's switch notices.",
      },
      {
        alert: "AlertmanagerNotificationsFailing",
        expr:
          "sum by (integration) (rate(alertmanager_notifications_failed_total[5m]))" +
          " / sum by (integration) (rate(alertmanager_notifications_total[5m])) > 0.01",
        for: "5m",
        severity: "critical",
        summary:
          "Alertmanager fails to deliver {{ $value | humanizePercentage }} of {{ $labels.integration }} notifications",
        description: "Notifications through this integration do not arrive; the other receivers still get them.",
      },
      {
        alert: "LokiIngestionErrors",
        expr:
          'sum by (job) (rate(loki_request_duration_seconds_count{route=~"loki_api_v1_push|api_prom_push", status_code=~"5.."}[5m]))' +
          ' / sum by (job) (rate(loki_request_duration_seconds_count{route=~"loki_api_v1_push|api_prom_push"}[5m])) > 0.01',
        for: "10m",
        severity: "warning",
        summary: "Loki rejects {{ $value | humanizePercentage }} of log pushes",
        description: "Over 1% of pushes to Loki fail with a server error: logs are being lost.",
      },
    ],
  };
}

/** Every rule group, platform first; thresholds fall back to their documented defaults. */
export function alertRuleGroups(thresholds: AlertThresholds = {}): RuleGroupSpec[] {
  const t: Required<AlertThresholds> = {
    errorRatio: thresholds.errorRatio ?? 0.05,
    minRequestRate: thresholds.minRequestRate ?? 0.05,
    latencyP95Ms: thresholds.latencyP95Ms ?? 1000,
    postgresConnectionRatio: thresholds.postgresConnectionRatio ?? 0.8,
    redisMemoryRatio: thresholds.redisMemoryRatio ?? 0.9,
    certificateWarningDays: thresholds.certificateWarningDays ?? 21,
    certificateCriticalDays: thresholds.certificateCriticalDays ?? 7,
  };
  return [platformRules(t), gatewayRules(t), apiRules(t), postgresRules(t), redisRules(t), monitoringRules()];
}
