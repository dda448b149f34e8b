/**
 * Pure renderers for the monitoring stack's configuration files: prometheus.yml, alert rules,
 * alertmanager.yml, Loki, and Grafana provisioning with a dashboard. Tests check their output
 * with promtool and amtool.
 */
import * as YAML from "yaml";

/**
 * The port each monitoring service listens on, declared once. The WorkloadSpecs
 * (monitoring-specs.ts) declare their ports from here and every URL or scrape target is derived
 * from a spec; the renderers below read it where a config file itself names a port (Loki's server
 * block, Prometheus scraping itself).
 */
export const MONITORING_PORTS = {
  prometheus: 9090,
  alertmanager: 9093,
  grafana: 3000,
  loki: 3100,
  postgresExporter: 9187,
  redisExporter: 9121,
} as const;

export interface ScrapeJob {
  /** Prometheus job name, e.g. "api". */
  readonly job: string;
  /** host:port targets. */
  readonly targets: readonly string[];
  /** Default: /metrics. */
  readonly metricsPath?: string;
}

export interface PrometheusConfigArgs {
  readonly stack: string;
  readonly jobs: readonly ScrapeJob[];
  /** host:port of Alertmanager. */
  readonly alertmanager: string;
  /** Default: 15s. */
  readonly scrapeInterval?: string;
  /** Where the rules file is mounted. Default: RULES_FILE. */
  readonly ruleFile?: string;
}

export const RULES_FILE = "/etc/prometheus/rules/northstack.rules.yml";

export function renderPrometheusConfig(args: PrometheusConfigArgs): string {
  const jobs = new Set<string>();
  for (const j of args.jobs) {
    if (jobs.has(j.job)) throw new Error(`scrape job ${JSON.stringify(j.job)} is listed twice`);
    if (j.targets.length === 0) throw new Error(`scrape job ${JSON.stringify(j.job)} has no targets`);
    jobs.add(j.job);
  }
  const interval = args.scrapeInterval ?? "15s";
  return YAML.stringify({
    global: {
      scrape_interval: interval,
      evaluation_interval: interval,
      external_labels: { stack: args.stack, part_of: "northstack" },
    },
    alerting: { alertmanagers: [{ static_configs: [{ targets: [args.alertmanager] }] }] },
    rule_files: [args.ruleFile ?? RULES_FILE],
    scrape_configs: [
      { job_name: "prometheus", static_configs: [{ targets: [`localhost:${MONITORING_PORTS.prometheus}`] }] },
      ...args.jobs.map((j) => ({
        job_name: j.job,
        metrics_path: j.metricsPath ?? "/metrics",
        static_configs: [{ targets: [...j.targets] }],
      })),
    ],
  });
}

export interface AlertRulesArgs {
  /** Fraction of 5xx responses at the gateway that pages. Default: 0.05. */
  readonly errorRatio?: number;
  /** p95 latency at the gateway, in ms, that warns. Default: 1000. */
  readonly latencyP95Ms?: number;
  /** Fraction of max_connections in use that warns. Default: 0.8. */
  readonly postgresConnectionRatio?: number;
  /** Fraction of Redis maxmemory in use that warns. Default: 0.9. */
  readonly redisMemoryRatio?: number;
}

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: "page" | "warning" };
  annotations: { summary: string; description: string; runbook: string };
}

export function renderAlertRules(args: AlertRulesArgs = {}): string {
  const errorRatio = args.errorRatio ?? 0.05;
  const latency = args.latencyP95Ms ?? 1000;
  const pgRatio = args.postgresConnectionRatio ?? 0.8;
  const redisRatio = args.redisMemoryRatio ?? 0.9;
  const rule = (
    alert: string,
    expr: string,
    forDuration: string,
    severity: "page" | "warning",
    summary: string,
    description: string,
  ): Rule => ({
    alert,
    expr,
    for: forDuration,
    labels: { severity },
    annotations: { summary, description, runbook: `docs/runbooks.md#${alert.toLowerCase()}` },
  });
  const groups = [
    {
      name: "northstack-availability",
      rules: [
        rule(
          "TargetDown",
          "up == 0",
          "2m",
          "page",
          "{{ $labels.job }} target {{ $labels.instance }} is down",
          "Prometheus could not scrape {{ $labels.instance }} for 2 minutes.",
        ),
        rule(
          "PostgresDown",
          "pg_up == 0",
          "1m",
          "page",
          "Postgres is unreachable",
          "postgres-exporter cannot connect to the database.",
        ),
        rule(
          "RedisDown",
          "redis_up == 0",
          "1m",
          "page",
          "Redis is unreachable",
          "redis-exporter cannot connect to Redis.",
        ),
      ],
    },
    {
      name: "northstack-gateway",
      rules: [
        rule(
          "GatewayHighErrorRate",
          `sum(rate(kong_http_requests_total{code=~"5.."}[5m])) / clamp_min(sum(rate(kong_http_requests_total[5m])), 1e-9) > ${errorRatio}`,
          "5m",
          "page",
          "More than {{ $value | humanizePercentage }} of gateway requests fail",
          `Over ${errorRatio * 100}% of responses at Kong were 5xx for 5 minutes.`,
        ),
        rule(
          "GatewayHighLatency",
          `histogram_quantile(0.95, sum by (le) (rate(kong_request_latency_ms_bucket[5m]))) > ${latency}`,
          "10m",
          "warning",
          "Gateway p95 latency is {{ $value }} ms",
          `p95 request latency at Kong exceeded ${latency} ms for 10 minutes.`,
        ),
      ],
    },
    {
      name: "northstack-data",
      rules: [
        rule(
          "PostgresConnectionsNearLimit",
          `sum(pg_stat_database_numbackends) / max(pg_settings_max_connections) > ${pgRatio}`,
          "10m",
          "warning",
          "Postgres uses {{ $value | humanizePercentage }} of max_connections",
          "Connection slots are running out; look for leaks or raise max_connections.",
        ),
        rule(
          "RedisMemoryNearLimit",
          `redis_memory_used_bytes / (redis_memory_max_bytes > 0) > ${redisRatio}`,
          "10m",
          "warning",
          "Redis uses {{ $value | humanizePercentage }} of maxmemory",
          "Redis is close to maxmemory and evicting keys; rate limits may reset early.",
        ),
      ],
    },
  ];
  return YAML.stringify({ groups });
}

export interface AlertmanagerConfigArgs {
  /** Webhook that receives alerts (Slack, PagerDuty, ... bridges). Default: none: alerts are only visible in Alertmanager. */
  readonly webhookUrl?: string;
}

export function renderAlertmanagerConfig(args: AlertmanagerConfigArgs = {}): string {
  const receivers: Record<string, unknown>[] = [{ name: "default" }];
  if (args.webhookUrl)
    receivers[0] = { name: "default", webhook_configs: [{ url: args.webhookUrl, send_resolved: true }] };
  return YAML.stringify({
    route: {
      receiver: "default",
      group_by: ["alertname", "stack"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes: [{ matchers: ['severity="page"'], receiver: "default", repeat_interval: "1h" }],
    },
    // A database or cache that is down explains every alert about it; page once.
    inhibit_rules: [
      {
        source_matchers: ['alertname="PostgresDown"'],
        target_matchers: ['alertname=~"PostgresConnectionsNearLimit"'],
        equal: ["stack"],
      },
      {
        source_matchers: ['alertname="RedisDown"'],
        target_matchers: ['alertname="RedisMemoryNearLimit"'],
        equal: ["stack"],
      },
    ],
    receivers,
  });
}

export function renderLokiConfig(args: { retentionDays?: number } = {}): string {
  const retention = `${(args.retentionDays ?? 14) * 24}h`;
  return YAML.stringify({
    auth_enabled: false,
    server: { http_listen_port: MONITORING_PORTS.loki, grpc_listen_port: 9096 },
    common: {
      path_prefix: "/loki",
      replication_factor: 1,
      ring: { kvstore: { store: "inmemory" } },
      storage: { filesystem: { chunks_directory: "/loki/chunks", rules_directory: "/loki/rules" } },
    },
    schema_config: {
      configs: [
        {
          from: "2024-01-01",
          store: "tsdb",
          object_store: "filesystem",
          schema: "v13",
          index: { prefix: "index_", period: "24h" },
        },
      ],
    },
    limits_config: { retention_period: retention },
    compactor: { working_directory: "/loki/compactor", retention_enabled: true, delete_request_store: "filesystem" },
    analytics: { reporting_enabled: false },
  });
}

export function renderGrafanaDatasources(args: { prometheusUrl: string; lokiUrl: string }): string {
  return YAML.stringify({
    apiVersion: 1,
    datasources: [
      {
        name: "Prometheus",
        uid: "prometheus",
        type: "prometheus",
        access: "proxy",
        url: args.prometheusUrl,
        isDefault: true,
        editable: false,
      },
      { name: "Loki", uid: "loki", type: "loki", access: "proxy", url: args.lokiUrl, editable: false },
    ],
  });
}

export const DASHBOARDS_DIR = "/etc/grafana/dashboards";

export function renderGrafanaDashboardProvider(): string {
  return YAML.stringify({
    apiVersion: 1,
    providers: [
      {
        name: "northstack",
        folder: "northstack",
        type: "file",
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: DASHBOARDS_DIR },
      },
    ],
  });
}

const OVERVIEW_PANELS: readonly [string, string, string][] = [
  ["Gateway requests by status", "sum by (code) (rate(kong_http_requests_total[5m]))", "reqps"],
  ["Gateway p95 latency", "histogram_quantile(0.95, sum by (le) (rate(kong_request_latency_ms_bucket[5m])))", "ms"],
  ["Postgres connections", "sum(pg_stat_database_numbackends)", "short"],
  ["Redis memory used", "redis_memory_used_bytes", "bytes"],
  ["Targets up", "sum by (job) (up)", "short"],
];

/** The overview dashboard: gateway traffic and errors, latency, Postgres connections, Redis memory. */
export function renderOverviewDashboard(stack: string): string {
  const panel = (id: number, title: string, expr: string, unit: string, x: number, y: number) => ({
    id,
    title,
    type: "timeseries",
    datasource: { type: "prometheus", uid: "prometheus" },
    gridPos: { h: 8, w: 12, x, y },
    fieldConfig: { defaults: { unit }, overrides: [] },
    targets: [{ refId: "A", expr, datasource: { type: "prometheus", uid: "prometheus" } }],
  });
  return JSON.stringify(
    {
      uid: `northstack-${stack}`,
      title: `northstack ${stack}: overview`,
      schemaVersion: 39,
      tags: ["northstack", stack],
      time: { from: "now-6h", to: "now" },
      refresh: "30s",
      panels: OVERVIEW_PANELS.map(([title, expr, unit], i) =>
        panel(i + 1, title, expr, unit, (i % 2) * 12, Math.floor(i / 2) * 8),
      ),
    },
    null,
    2,
  );
}
