/**
 * Pure renderers for the monitoring stack's configuration files: prometheus.yml, alert rules,
 * alertmanager.yml, Loki, and Grafana provisioning (the dashboards themselves are in dashboards/).
 * Tests check their output with promtool and amtool.
 */
import * as YAML from "yaml";
import { AlertThresholds, COLLECTORS, Collector, RuleGroupSpec, WATCHDOG, alertRuleGroups } from "./alert-rules";
import { DATASOURCES } from "./dashboards";

export { SEVERITIES } from "./alert-rules";
export type { Severity } from "./alert-rules";

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
  logShipper: 12345,
  kubeStateMetrics: 8080,
  nodeExporter: 9100,
  cadvisor: 8080,
} as const;

/**
 * One Prometheus job with one target per replica, so that each replica's counters are a series of
 * their own and `up` sees a single replica fail. Give one of `targets` (each replica by name), `dns`
 * (a name whose A records are every replica) or `pods` (a daemon's pods, listed through the
 * Kubernetes API).
 */
export interface ScrapeJob {
  /** Prometheus job name, e.g. "api". */
  readonly job: string;
  /** host:port of each replica. Default: none. */
  readonly targets?: readonly string[];
  /** DNS names whose A records are the replicas (headless Services), scraped on `port`. Default: none. */
  readonly dns?: { readonly names: readonly string[]; readonly port: number };
  /**
   * The pods in `namespace` matching `selector`, found with kubernetes_sd (role pod, that namespace
   * alone) and scraped on `port`; `instance` and `node` are each pod's node name, so a daemon's
   * series read per host. Default: none.
   */
  readonly pods?: {
    readonly namespace: string;
    readonly selector: Readonly<Record<string, string>>;
    readonly port: number;
  };
  /** Default: /metrics. */
  readonly metricsPath?: string;
  /** Labels on every target of the job, e.g. `workload` and `namespace`. Default: none. */
  readonly labels?: Readonly<Record<string, string>>;
  /**
   * Keep the labels the target exposes where they clash with `labels` (kube-state-metrics reports
   * other pods' `namespace` and `pod`, which must not be renamed exported_*). Default: false.
   */
  readonly honorLabels?: boolean;
  /**
   * A file in Prometheus's container holding the bearer token the targets demand
   * (scrapeCredentialsFile); Prometheus reads it at each scrape, so the token never enters
   * prometheus.yml. Default: none, no Authorization header.
   */
  readonly bearerTokenFile?: string;
  /**
   * Rules applied to every scraped series before it is stored (`metric_relabel_configs`), in order:
   * e.g. cAdvisor's, which names Docker containers from their cgroup paths. Default: none.
   */
  readonly metricRelabel?: readonly MetricRelabelRule[];
}

/** One Prometheus relabel rule over a scraped series, in prometheus.yml's own words. */
export interface MetricRelabelRule {
  readonly source_labels?: readonly string[];
  /** RE2, anchored at both ends by Prometheus. */
  readonly regex?: string;
  readonly target_label?: string;
  readonly replacement?: string;
  /** Default (Prometheus's): replace. */
  readonly action?: "replace" | "keep" | "drop" | "labeldrop";
}

/** Where Prometheus's workload mounts the secret files of scrape credentials. */
export const SCRAPE_CREDENTIALS_DIR = "/etc/prometheus/scrape-credentials";

/** The bearer token file of `job` (a Prometheus job name, which is a file name too). */
export function scrapeCredentialsFile(job: string): string {
  return `${SCRAPE_CREDENTIALS_DIR}/${job}.token`;
}

/**
 * One job over every node's kubelet, reached through the API server's node proxy
 * (`/api/v1/nodes/<node>/proxy<path>`): Prometheus finds the nodes with kubernetes_sd (role node)
 * and authenticates with its ServiceAccount token. Only `namespace`'s series whose names match
 * `keepMetrics` are stored: the kubelet reports every pod on the node, and this stack watches its own.
 */
export interface KubeletScrapeJob {
  /** Prometheus job name, e.g. "cadvisor". */
  readonly job: string;
  /** Path on the kubelet, e.g. /metrics/cadvisor. */
  readonly path: string;
  /** The namespace whose series are kept. */
  readonly namespace: string;
  /** Regular expression over metric names to keep, e.g. "container_.+". */
  readonly keepMetrics: string;
}

/** Where the API server's address and a pod's ServiceAccount credentials are, in every pod that mounts its token. */
export const IN_CLUSTER_API = {
  address: "kubernetes.default.svc:443",
  caFile: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
  tokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
} as const;

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
  /** Kubelet jobs through the API server (Kubernetes). Default: none. */
  readonly kubeletJobs?: readonly KubeletScrapeJob[];
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
  const sources = [targets.length > 0, dnsNames.length > 0, j.pods !== undefined].filter(Boolean).length;
  if (sources === 0) return [`${at} has no targets; give targets, dns names or pods`];
  if (sources > 1) return [`${at} has more than one of targets, dns names and pods; give one`];
  if (j.pods && Object.keys(j.pods.selector).length === 0)
    return [`${at} pods.selector is empty; select the workload's pods by label`];
  if (new Set(targets).size !== targets.length) return [`${at} lists a target twice`];
  if (j.bearerTokenFile !== undefined && !j.bearerTokenFile.startsWith("/"))
    return [`${at} bearerTokenFile ${JSON.stringify(j.bearerTokenFile)} is relative; give an absolute path`];
  return [];
}

function renderScrapeJob(j: ScrapeJob): Record<string, unknown> {
  const labels = j.labels ?? {};
  const base = {
    job_name: j.job,
    metrics_path: j.metricsPath ?? "/metrics",
    ...(j.honorLabels ? { honor_labels: true } : {}),
    ...(j.bearerTokenFile ? { authorization: { type: "Bearer", credentials_file: j.bearerTokenFile } } : {}),
    ...(j.metricRelabel?.length
      ? {
          metric_relabel_configs: j.metricRelabel.map((r) => ({
            ...r,
            ...(r.source_labels ? { source_labels: [...r.source_labels] } : {}),
          })),
        }
      : {}),
  };
  if (j.pods) {
    const selector = Object.entries(j.pods.selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(",");
    return {
      ...base,
      kubernetes_sd_configs: [
        {
          role: "pod",
          namespaces: { names: [j.pods.namespace] },
          selectors: [{ role: "pod", label: selector }],
        },
      ],
      relabel_configs: [
        // One target per pod: the container port that serves metrics, not every declared port.
        { source_labels: ["__meta_kubernetes_pod_container_port_number"], regex: String(j.pods.port), action: "keep" },
        { source_labels: ["__meta_kubernetes_pod_node_name"], target_label: "instance" },
        { source_labels: ["__meta_kubernetes_pod_node_name"], target_label: "node" },
        { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
        ...Object.entries(labels).map(([label, value]) => ({ target_label: label, replacement: value })),
      ],
    };
  }
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

/**
 * `instance` stays the node's own address (the kubelet's host:port, as discovered) and `node` names
 * it, before `__address__` is pointed at the API server; without that every node's series would
 * share the API server's address as their instance.
 */
function renderKubeletJob(j: KubeletScrapeJob): Record<string, unknown> {
  return {
    job_name: j.job,
    scheme: "https",
    kubernetes_sd_configs: [{ role: "node" }],
    tls_config: { ca_file: IN_CLUSTER_API.caFile },
    authorization: { credentials_file: IN_CLUSTER_API.tokenFile },
    relabel_configs: [
      { source_labels: ["__address__"], target_label: "instance" },
      { source_labels: ["__meta_kubernetes_node_name"], target_label: "node" },
      { target_label: "__address__", replacement: IN_CLUSTER_API.address },
      {
        source_labels: ["__meta_kubernetes_node_name"],
        regex: "(.+)",
        target_label: "__metrics_path__",
        replacement: `/api/v1/nodes/$1/proxy${j.path}`,
      },
    ],
    metric_relabel_configs: [
      { source_labels: ["__name__"], regex: j.keepMetrics, action: "keep" },
      // A namespace is a DNS label: no regex metacharacters to escape.
      { source_labels: ["namespace"], regex: j.namespace, action: "keep" },
    ],
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
  for (const j of [...args.jobs, ...(args.kubeletJobs ?? []), ...(args.probes ?? [])]) {
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
      ...(args.kubeletJobs ?? []).map(renderKubeletJob),
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

export interface AlertRulesArgs extends AlertThresholds {
  /** Page or URL of the runbooks; each alert links to `<runbookBase>#<its name, lower-cased>`. Default: docs/runbooks.md. */
  readonly runbookBase?: string;
  /** Groups besides alertRuleGroups' (another capability's rules). Default: none. */
  readonly extraGroups?: readonly RuleGroupSpec[];
  /** The collectors the stack runs; an alert `collectedBy` another is left out. Default: all of COLLECTORS. */
  readonly collectors?: readonly Collector[];
}

/** The runbook anchor of an alert: its name, lower-cased (a markdown heading `#### <alert>`). */
export function runbookAnchor(alert: string): string {
  return alert.toLowerCase();
}

/** The Prometheus rules file: each group's recording rules, then its alerts, each with severity and runbook_url. */
export function renderAlertRules(args: AlertRulesArgs = {}): string {
  const base = args.runbookBase ?? "docs/runbooks.md";
  const collectors = new Set<Collector>(args.collectors ?? COLLECTORS);
  const collected = (a: { collectedBy?: readonly Collector[] }) =>
    (a.collectedBy ?? []).every((c) => collectors.has(c));
  const groups = [...alertRuleGroups(args), ...(args.extraGroups ?? [])].map((g) => ({
    ...g,
    alerts: g.alerts.filter(collected),
  }));
  const seen = new Set<string>();
  for (const name of [...groups.map((g) => g.name), ...groups.flatMap((g) => g.alerts.map((a) => a.alert))]) {
    if (seen.has(name)) throw new Error(`alert rules: ${JSON.stringify(name)} is defined twice; names must be unique`);
    seen.add(name);
  }
  for (const a of groups.flatMap((g) => g.alerts))
    if (a.inhibits && !seen.has(a.inhibits.alert))
      throw new Error(
        `alert rules: ${a.alert} inhibits ${JSON.stringify(a.inhibits.alert)}, which is no alert; name an alert it explains`,
      );
  return YAML.stringify({
    groups: groups.map((g) => ({
      name: g.name,
      rules: [
        ...(g.recording ?? []).map((r) => ({ record: r.record, expr: r.expr })),
        ...g.alerts.map((a) => ({
          alert: a.alert,
          expr: a.expr,
          for: a.for,
          labels: { severity: a.severity },
          annotations: {
            summary: a.summary,
            description: a.description,
            runbook_url: `${base}#${runbookAnchor(a.alert)}`,
          },
        })),
      ],
    })),
  });
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
  /**
   * A dead man's switch (e.g. a healthchecks.io or Dead Man's Snitch URL) that receives the always-firing
   * Watchdog alone, every 5 minutes, and alarms when it stops.
   */
  readonly deadMansSwitchUrl?: string;
  /** Where renderAlertmanagerTemplates' text is. Default: ALERTMANAGER_TEMPLATES_PATH. */
  readonly templatesPath?: string;
}

/** Where Alertmanager reads renderAlertmanagerTemplates' text; alertmanager.yml names it under `templates`. */
export const ALERTMANAGER_TEMPLATES_PATH = "/etc/alertmanager/northstack.tmpl";

/** The named templates the receivers use, defined by renderAlertmanagerTemplates. */
export const NOTIFICATION_TEMPLATES = {
  /** One line: status, firing count, alert name and stack. */
  title: "northstack.title",
  /** Per alert: summary, description and runbook URL, as plain text. */
  text: "northstack.text",
  /** The same as HTML, the runbook a link when it is an https URL. */
  html: "northstack.html",
  /** The group's runbook URL when it is an https URL, else empty (PagerDuty drops a link whose href is empty). */
  runbookLink: "northstack.runbook_link",
} as const;

const use = (name: string) => `{{ template "${name}" . }}`;

/**
 * The notification templates. Alerts are grouped by alertname and stack, so a group shares one
 * runbook_url; summary and description carry each alert's labels and are listed per alert. A runbook
 * that is a repository path (northstack:runbookBase unset) is shown as text and never made a link,
 * which Slack and PagerDuty would reject or break.
 */
export function renderAlertmanagerTemplates(): string {
  const https = (field: string) => `match "^https://" ${field}`;
  const t = NOTIFICATION_TEMPLATES;
  return [
    `{{ define "${t.title}" }}[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} ({{ .CommonLabels.stack }}){{ end }}`,
    `{{ define "${t.runbookLink}" }}{{ if ${https(".CommonAnnotations.runbook_url")} }}{{ .CommonAnnotations.runbook_url }}{{ end }}{{ end }}`,
    `{{ define "${t.text}" }}{{ range .Alerts }}{{ if eq .Status "resolved" }}[resolved] {{ end }}{{ .Annotations.summary }}
` +
      `{{ .Annotations.description }}
Runbook: {{ .Annotations.runbook_url }}

{{ end }}{{ end }}`,
    `{{ define "${t.html}" }}<h3>{{ template "${t.title}" . }}</h3>
{{ range .Alerts }}<p>{{ if eq .Status "resolved" }}[resolved] {{ end }}<b>{{ .Annotations.summary }}</b><br>
` +
      `{{ .Annotations.description }}<br>
Runbook: {{ if ${https(".Annotations.runbook_url")} }}<a href="{{ .Annotations.runbook_url }}">{{ .Annotations.runbook_url }}</a>{{ else }}{{ .Annotations.runbook_url }}{{ end }}</p>
{{ end }}{{ end }}`,
    "",
  ].join("\n");
}

/** Receiver names, as `amtool config routes test` prints them. */
export const RECEIVERS = {
  pagerduty: "pagerduty",
  slack: "slack",
  email: "email",
  webhook: "webhook",
  deadMansSwitch: "deadmansswitch",
  none: "none",
} as const;

/**
 * alertmanager.yml. `critical` pages PagerDuty, or without it goes to Slack and email; `warning` goes
 * to Slack and email, or without them to PagerDuty at warning severity; the generic webhook gets
 * everything. Every route names a receiver that has a config: only with no receiver at all (dev) is
 * there one, `none`, that keeps alerts in Alertmanager.
 *
 * The Watchdog goes to the dead man's switch alone when there is one. Without one it must still reach
 * a person, never a receiver that drops it: once a day to chat or mail, whose daily message going
 * missing is the signal; else to the webhook; else to PagerDuty as a standing warning.
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
          description: use(NOTIFICATION_TEMPLATES.title),
          details: {
            alerts: use(NOTIFICATION_TEMPLATES.text),
            runbook_url: "{{ .CommonAnnotations.runbook_url }}",
            firing: "{{ .Alerts.Firing | len }}",
            resolved: "{{ .Alerts.Resolved | len }}",
          },
          links: [{ href: use(NOTIFICATION_TEMPLATES.runbookLink), text: "Runbook: {{ .CommonLabels.alertname }}" }],
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
          title: use(NOTIFICATION_TEMPLATES.title),
          title_link: use(NOTIFICATION_TEMPLATES.runbookLink),
          text: use(NOTIFICATION_TEMPLATES.text),
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
          headers: { Subject: use(NOTIFICATION_TEMPLATES.title) },
          html: use(NOTIFICATION_TEMPLATES.html),
          text: use(NOTIFICATION_TEMPLATES.text),
          ...(password ? { auth_username: from, auth_password: password } : {}),
        },
      ],
    });
  }
  if (args.webhookUrl)
    receivers.push({ name: RECEIVERS.webhook, webhook_configs: [{ url: args.webhookUrl, send_resolved: true }] });
  if (args.deadMansSwitchUrl)
    receivers.push({
      name: RECEIVERS.deadMansSwitch,
      webhook_configs: [{ url: args.deadMansSwitchUrl, send_resolved: false }],
    });

  const chat = [args.slack && RECEIVERS.slack, args.email && RECEIVERS.email].filter((n): n is "slack" | "email" =>
    Boolean(n),
  );
  const pager = args.pagerduty ? [RECEIVERS.pagerduty] : [];
  const critical = pager.length ? pager : chat;
  const warning = chat.length ? chat : pager;
  const watchdog = args.deadMansSwitchUrl
    ? { receiver: RECEIVERS.deadMansSwitch, group_wait: "0s", group_interval: "1m", repeat_interval: "5m" }
    : {
        receiver: chat[0] ?? (args.webhookUrl ? RECEIVERS.webhook : pager[0]) ?? RECEIVERS.none,
        repeat_interval: "24h",
      };
  // Every matching route notifies (continue): one alert can reach several receivers. The Watchdog's
  // route comes first and stops there, so it never pages.
  const routes = [
    { matchers: [`alertname="${WATCHDOG}"`], ...watchdog },
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
    templates: [args.templatesPath ?? ALERTMANAGER_TEMPLATES_PATH],
    route: {
      receiver: root ?? RECEIVERS.none,
      group_by: ["alertname", "stack"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
      routes,
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
      // A critical alert explains the warning that comes before it about the same thing.
      ...alertRuleGroups()
        .flatMap((g) => g.alerts)
        .flatMap((a) =>
          a.inhibits
            ? [
                {
                  source_matchers: [`alertname="${a.alert}"`],
                  target_matchers: [`alertname="${a.inhibits.alert}"`],
                  equal: [...a.inhibits.equal, "stack"],
                },
              ]
            : [],
        ),
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
        uid: DATASOURCES.prometheus.uid,
        type: DATASOURCES.prometheus.type,
        access: "proxy",
        url: args.prometheusUrl,
        isDefault: true,
        editable: false,
      },
      {
        name: "Loki",
        uid: DATASOURCES.loki.uid,
        type: DATASOURCES.loki.type,
        access: "proxy",
        url: args.lokiUrl,
        editable: false,
      },
    ],
  });
}

/** Where Grafana's file provider reads the dashboards (dashboards/renderDashboards), one JSON file each. */
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
