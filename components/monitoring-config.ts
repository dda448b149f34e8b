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
  blackboxExporter: 9115,
} as const;

/**
 * One Prometheus job with one target per replica, so that each replica's counters are a series of
 * their own and `up` sees a single replica fail. Give `targets` (each replica by name) or `dns` (a
 * name whose A records are every replica), not both.
 */
export interface ScrapeJob {
  /** Prometheus job name, e.g. "api". */
  readonly job: string;
  /** host:port of each replica. Default: none. */
  readonly targets?: readonly string[];
  /** DNS names whose A records are the replicas (headless Services), scraped on `port`. Default: none. */
  readonly dns?: { readonly names: readonly string[]; readonly port: number };
  /** Default: /metrics. */
  readonly metricsPath?: string;
  /** Labels on every target of the job, e.g. `workload` and `namespace`. Default: none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** A blackbox probe: the exporter at `exporter` (host:port) probes each URL with `module`. */
export interface ProbeJob {
  readonly job: string;
  /** host:port of the blackbox exporter. */
  readonly exporter: string;
  /** A module the exporter's config defines, e.g. "http_2xx". */
  readonly module: string;
  /** What to probe, e.g. https://api.example.ca/health. */
  readonly targets: readonly string[];
}

export interface PrometheusConfigArgs {
  readonly stack: string;
  readonly jobs: readonly ScrapeJob[];
  /** Blackbox probes. Default: none. */
  readonly probes?: readonly ProbeJob[];
  /** Labels on Prometheus's scrape of itself, e.g. its `workload`. Default: none. */
  readonly selfLabels?: Readonly<Record<string, string>>;
  /** host:port of Alertmanager. */
  readonly alertmanager: string;
  /** Default: 15s. */
  readonly scrapeInterval?: string;
  /** Where the rules file is mounted. Default: RULES_FILE. */
  readonly ruleFile?: string;
}

export const RULES_FILE = "/etc/prometheus/rules/northstack.rules.yml";
/** Prometheus scrapes itself under this job name. */
export const PROMETHEUS_SELF_JOB = "prometheus";
/** How often a DNS discovery looks up the replicas again: a new pod is scraped within this. */
const DNS_REFRESH = "30s";

function scrapeJobProblems(j: ScrapeJob): string[] {
  const at = `scrape job ${JSON.stringify(j.job)}`;
  const targets = j.targets ?? [];
  const dnsNames = j.dns?.names ?? [];
  if (targets.length === 0 && dnsNames.length === 0) return [`${at} has no targets; give targets or dns names`];
  if (targets.length > 0 && dnsNames.length > 0) return [`${at} has both targets and dns names; give one`];
  if (new Set(targets).size !== targets.length) return [`${at} lists a target twice`];
  return [];
}

function renderScrapeJob(j: ScrapeJob): Record<string, unknown> {
  const labels = j.labels ?? {};
  const base = { job_name: j.job, metrics_path: j.metricsPath ?? "/metrics" };
  if (j.dns) {
    return {
      ...base,
      dns_sd_configs: [{ names: [...j.dns.names], type: "A", port: j.dns.port, refresh_interval: DNS_REFRESH }],
      // DNS discovery carries no labels of its own; `instance` stays the pod's address:port.
      ...(Object.keys(labels).length
        ? {
            relabel_configs: Object.entries(labels).map(([label, value]) => ({
              target_label: label,
              replacement: value,
            })),
          }
        : {}),
    };
  }
  return {
    ...base,
    static_configs: [{ targets: [...(j.targets ?? [])], ...(Object.keys(labels).length ? { labels } : {}) }],
  };
}

/** The probed URL becomes the `instance` label; the exporter's address only says where to ask. */
function renderProbeJob(p: ProbeJob): Record<string, unknown> {
  return {
    job_name: p.job,
    metrics_path: "/probe",
    params: { module: [p.module] },
    static_configs: [{ targets: [...p.targets] }],
    relabel_configs: [
      { source_labels: ["__address__"], target_label: "__param_target" },
      { source_labels: ["__param_target"], target_label: "instance" },
      { target_label: "__address__", replacement: p.exporter },
    ],
  };
}

export function renderPrometheusConfig(args: PrometheusConfigArgs): string {
  const problems: string[] = [];
  const jobs = new Set<string>([PROMETHEUS_SELF_JOB]);
  for (const j of [...args.jobs, ...(args.probes ?? [])]) {
    if (jobs.has(j.job)) problems.push(`scrape job ${JSON.stringify(j.job)} is listed twice`);
    jobs.add(j.job);
  }
  for (const j of args.jobs) problems.push(...scrapeJobProblems(j));
  for (const p of args.probes ?? [])
    if (p.targets.length === 0) problems.push(`probe job ${JSON.stringify(p.job)} has no targets`);
  if (problems.length) throw new Error(problems.join("; "));
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
      {
        job_name: PROMETHEUS_SELF_JOB,
        static_configs: [
          {
            targets: [`localhost:${MONITORING_PORTS.prometheus}`],
            ...(args.selfLabels && Object.keys(args.selfLabels).length ? { labels: { ...args.selfLabels } } : {}),
          },
        ],
      },
      ...args.jobs.map(renderScrapeJob),
      ...(args.probes ?? []).map(renderProbeJob),
    ],
  });
}

/** The blackbox module that probes the public gateway: a 2xx answer, over TLS when the URL is https. */
export const GATEWAY_PROBE_MODULE = "http_2xx";

export interface BlackboxConfigArgs {
  /** Refuse a plain-HTTP answer (the public URL is https). Default: false. */
  readonly requireTls?: boolean;
  /** Request headers, e.g. the gateway's anon API key. Default: none. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * blackbox.yml with the gateway module. An https probe also reports the certificate's expiry
 * (probe_ssl_earliest_cert_expiry); redirects are not followed, so a redirect is not mistaken for success.
 */
export function renderBlackboxConfig(args: BlackboxConfigArgs = {}): string {
  return YAML.stringify({
    modules: {
      [GATEWAY_PROBE_MODULE]: {
        prober: "http",
        timeout: "10s",
        http: {
          method: "GET",
          preferred_ip_protocol: "ip4",
          follow_redirects: false,
          fail_if_not_ssl: args.requireTls ?? false,
          ...(args.headers && Object.keys(args.headers).length ? { headers: { ...args.headers } } : {}),
        },
      },
    },
  });
}

export interface AlertRulesArgs {
  /** Fraction of 5xx responses at the gateway that is critical. Default: 0.05. */
  readonly errorRatio?: number;
  /** p95 latency at the gateway, in ms, that warns. Default: 1000. */
  readonly latencyP95Ms?: number;
  /** Fraction of max_connections in use that warns. Default: 0.8. */
  readonly postgresConnectionRatio?: number;
  /** Fraction of Redis maxmemory in use that warns. Default: 0.9. */
  readonly redisMemoryRatio?: number;
}

/**
 * The only severities a rule carries, and what Alertmanager does with them: `critical` pages
 * (PagerDuty), `warning` goes to chat or mail.
 */
export const SEVERITIES = ["critical", "warning"] as const;
export type Severity = (typeof SEVERITIES)[number];

interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: Severity };
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
    severity: Severity,
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
          "critical",
          "{{ $labels.job }} target {{ $labels.instance }} is down",
          "Prometheus could not scrape {{ $labels.instance }} for 2 minutes.",
        ),
        rule(
          "PostgresDown",
          "pg_up == 0",
          "1m",
          "critical",
          "Postgres is unreachable",
          "postgres-exporter cannot connect to the database.",
        ),
        rule(
          "RedisDown",
          "redis_up == 0",
          "1m",
          "critical",
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
          "critical",
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

/** Alertmanager's receivers; each is optional, and only those given are rendered. */
export interface AlertmanagerConfigArgs {
  /** Alert email over SMTP (STARTTLS); the user name is `from`. */
  readonly email?: {
    readonly to: string;
    readonly from: string;
    readonly smarthost: string;
    readonly password?: string;
  };
  /** A Slack incoming webhook; channel empty or absent: the webhook's own. */
  readonly slack?: { readonly webhookUrl: string; readonly channel?: string };
  /** A PagerDuty Events API v2 routing key. */
  readonly pagerduty?: { readonly routingKey: string };
  /** A generic webhook that receives every alert. */
  readonly webhookUrl?: string;
}

/** Receiver names, as `amtool config routes test` prints them. */
export const RECEIVERS = {
  pagerduty: "pagerduty",
  slack: "slack",
  email: "email",
  webhook: "webhook",
  none: "none",
} as const;

/**
 * alertmanager.yml. `critical` pages PagerDuty, or without it goes to Slack and email; `warning` goes
 * to Slack and email, or without them to PagerDuty at warning severity; the generic webhook gets
 * everything. Every route names a receiver that has a config: only with no receiver at all (dev) is
 * there one, `none`, that keeps alerts in Alertmanager.
 */
export function renderAlertmanagerConfig(args: AlertmanagerConfigArgs = {}): string {
  const receivers: Record<string, unknown>[] = [];
  if (args.pagerduty) {
    receivers.push({
      name: RECEIVERS.pagerduty,
      pagerduty_configs: [
        {
          routing_key: args.pagerduty.routingKey,
          severity: '{{ if eq .CommonLabels.severity "critical" }}critical{{ else }}warning{{ end }}',
          send_resolved: true,
        },
      ],
    });
  }
  if (args.slack) {
    receivers.push({
      name: RECEIVERS.slack,
      slack_configs: [
        {
          api_url: args.slack.webhookUrl,
          ...(args.slack.channel ? { channel: args.slack.channel } : {}),
          send_resolved: true,
          title: "[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.stack }})",
          text: "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.runbook }}\n{{ end }}",
        },
      ],
    });
  }
  if (args.email) {
    const { to, from, smarthost, password } = args.email;
    receivers.push({
      name: RECEIVERS.email,
      email_configs: [
        {
          to,
          from,
          smarthost,
          require_tls: true,
          send_resolved: true,
          ...(password ? { auth_username: from, auth_password: password } : {}),
        },
      ],
    });
  }
  if (args.webhookUrl)
    receivers.push({ name: RECEIVERS.webhook, webhook_configs: [{ url: args.webhookUrl, send_resolved: true }] });

  const chat = [args.slack && RECEIVERS.slack, args.email && RECEIVERS.email].filter((n): n is "slack" | "email" =>
    Boolean(n),
  );
  const pager = args.pagerduty ? [RECEIVERS.pagerduty] : [];
  const critical = pager.length ? pager : chat;
  const warning = chat.length ? chat : pager;
  // Every matching route notifies (continue): one alert can reach several receivers.
  const routes = [
    ...critical.map((receiver) => ({
      matchers: ['severity="critical"'],
      receiver,
      repeat_interval: "1h",
      continue: true,
    })),
    ...warning.map((receiver) => ({ matchers: ['severity="warning"'], receiver, continue: true })),
    ...(args.webhookUrl ? [{ receiver: RECEIVERS.webhook, continue: true }] : []),
  ];
  // An alert no route matches (a severity outside SEVERITIES) still goes where warnings go.
  const root = warning[0] ?? critical[0] ?? (args.webhookUrl ? RECEIVERS.webhook : undefined);
  if (root === undefined) receivers.push({ name: RECEIVERS.none });

  return YAML.stringify({
    route: {
      receiver: root ?? RECEIVERS.none,
      group_by: ["alertname", "stack"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      ...(routes.length ? { routes } : {}),
    },
    inhibit_rules: [
      // The same alert at critical explains its warning.
      {
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ["alertname", "stack"],
      },
      // A database or cache that is down explains every warning about it.
      {
        source_matchers: ['alertname="PostgresDown"'],
        target_matchers: ['alertname=~"Postgres.+"', 'severity="warning"'],
        equal: ["stack"],
      },
      {
        source_matchers: ['alertname="RedisDown"'],
        target_matchers: ['alertname=~"Redis.+"', 'severity="warning"'],
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
