/**
 * The monitoring stack's workloads as pure WorkloadSpecs, one function per service, and the pure
 * glue that points them at each other. Every port comes from MONITORING_PORTS through the spec
 * that declares it: a URL, scrape target or health check never retypes a number.
 */
import * as pulumi from "@pulumi/pulumi";
import { retentionSizeProblem } from "./config/checks";
import { PostgresEndpoint, REDIS_CA_PATH, RedisEndpoint, postgresUrl, redisCaFiles } from "./endpoints";
import { IMAGES } from "./images";
import {
  ALERTMANAGER_TEMPLATES_PATH,
  DASHBOARDS_DIR,
  KubeletScrapeJob,
  MONITORING_PORTS,
  ProbeJob,
  RULES_FILE,
  ScrapeJob,
  AlertRulesArgs,
  renderAlertRules,
  renderAlertmanagerConfig,
  renderAlertmanagerTemplates,
  renderBlackboxConfig,
  renderGrafanaDashboardProvider,
  renderGrafanaDatasources,
  renderLokiConfig,
  renderPrometheusConfig,
} from "./monitoring-config";
import { PodsDiscovery, ScrapeDiscovery } from "./runtime/types";
import { HealthSpec, SCRAPER_LABEL, WorkloadSpec } from "./workload";
import { BACKUP_EXPORTER_QUERIES } from "./backup-alerts";
import { renderDashboards } from "./dashboards";
import { Collector } from "./alert-rules";
import { KUBELET_SCRAPE_API_RULES } from "./cluster-metrics";

/** The monitoring workloads; each is named `<component name>-<role>`, and a scraped one's Prometheus job is its role. */
export type MonitoringRole =
  | "prometheus"
  | "alertmanager"
  | "grafana"
  | "loki"
  | "log-shipper"
  | "postgres-exporter"
  | "redis-exporter"
  | "blackbox-exporter"
  | "kube-state-metrics"
  | "node-exporter"
  | "cadvisor";

export function monitoringWorkloadName(name: string, role: MonitoringRole): string {
  return `${name}-${role}`;
}

/** The port a spec declares under `portName`; throws when there is none, so a renamed port cannot leave a URL pointing nowhere. */
export function portOf(spec: Pick<WorkloadSpec, "name" | "ports">, portName: string): number {
  const port = (spec.ports ?? []).find((p) => p.name === portName);
  if (!port)
    throw new Error(`workload ${JSON.stringify(spec.name)} declares no port named ${JSON.stringify(portName)}`);
  return port.port;
}

/** In-network base URL of a workload's `http` port. */
export function httpUrl(spec: Pick<WorkloadSpec, "name" | "ports">, host: string): string {
  return `http://${host}:${portOf(spec, "http")}`;
}

/** Checked with wget inside the container on Docker and with an HTTP probe on Kubernetes, on the same port and path. */
function wgetHealth(port: number, path: string): HealthSpec {
  return { exec: ["wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${port}${path}`], httpGet: { path, port } };
}

/** The postgres exporter, logged in with the endpoint's login: the exporter's own pg_monitor role. */
/** Where the postgres exporter reads its extra queries. */
const BACKUP_QUERIES_PATH = "/etc/postgres-exporter/queries.yml";

export function postgresExporterSpec(name: string, postgres: PostgresEndpoint): WorkloadSpec {
  const port = MONITORING_PORTS.postgresExporter;
  return {
    name: monitoringWorkloadName(name, "postgres-exporter"),
    component: "monitoring",
    image: IMAGES.postgresExporter.image,
    ports: [{ name: "metrics", port }],
    secretEnv: { DATA_SOURCE_NAME: postgresUrl(postgres) },
    // The backup record (northstack_ops.backup_runs) as metrics, for the backup-age alerts.
    env: { PG_EXPORTER_AUTO_DISCOVER_DATABASES: "false", PG_EXPORTER_EXTEND_QUERY_PATH: BACKUP_QUERIES_PATH },
    files: [{ path: BACKUP_QUERIES_PATH, content: BACKUP_EXPORTER_QUERIES }],
    health: wgetHealth(port, "/metrics"),
    resources: { cpuMillis: 100, memoryMb: 64 },
    user: { uid: IMAGES.postgresExporter.uid, gid: IMAGES.postgresExporter.gid },
    allowFrom: [monitoringWorkloadName(name, "prometheus")],
    metrics: { port, path: "/metrics" },
  };
}

export function redisExporterSpec(name: string, redis: RedisEndpoint): WorkloadSpec {
  const port = MONITORING_PORTS.redisExporter;
  return {
    name: monitoringWorkloadName(name, "redis-exporter"),
    component: "monitoring",
    image: IMAGES.redisExporter.image,
    ports: [{ name: "metrics", port }],
    env: {
      REDIS_ADDR: pulumi.interpolate`${redis.tls ? "rediss" : "redis"}://${redis.host}:${redis.port}`,
      ...(redis.caCert ? { REDIS_EXPORTER_TLS_CA_CERT_FILE: REDIS_CA_PATH } : {}),
    },
    secretEnv: { REDIS_PASSWORD: redis.password },
    files: redisCaFiles(redis),
    health: wgetHealth(port, "/health"),
    resources: { cpuMillis: 100, memoryMb: 64 },
    user: { uid: IMAGES.redisExporter.uid, gid: IMAGES.redisExporter.gid },
    allowFrom: [monitoringWorkloadName(name, "prometheus")],
    metrics: { port, path: "/metrics" },
  };
}

/** What the blackbox exporter probes: the gateway, from outside where the runtime allows. */
export interface GatewayProbe {
  /** URL that answers 2xx when the gateway and what it routes to work. Required. */
  readonly url: pulumi.Input<string>;
  /** Request headers, e.g. the anon API key; a Pulumi secret makes the config a secret file. Default: none. */
  readonly headers?: Readonly<Record<string, pulumi.Input<string>>>;
}

/** The blackbox exporter, probing `probe.url` over TLS when it is https (and so watching the certificate's expiry). */
export function blackboxExporterSpec(name: string, probe: GatewayProbe): WorkloadSpec {
  const port = MONITORING_PORTS.blackboxExporter;
  const headers = probe.headers ?? {};
  const content = pulumi
    .all([pulumi.output(probe.url), pulumi.output(headers)])
    .apply(([url, resolved]) =>
      renderBlackboxConfig({ requireTls: url.startsWith("https://"), headers: resolved as Record<string, string> }),
    );
  return {
    name: monitoringWorkloadName(name, "blackbox-exporter"),
    component: "monitoring",
    image: IMAGES.blackboxExporter.image,
    args: ["--config.file=/etc/blackbox/blackbox.yml"],
    ports: [{ name: "http", port }],
    files: [{ path: "/etc/blackbox/blackbox.yml", content, secret: Object.keys(headers).length > 0 }],
    health: wgetHealth(port, "/-/healthy"),
    resources: { cpuMillis: 100, memoryMb: 64 },
    user: { uid: IMAGES.blackboxExporter.uid, gid: IMAGES.blackboxExporter.gid },
    allowFrom: [monitoringWorkloadName(name, "prometheus")],
    metrics: { port, path: "/metrics" },
  };
}

/** Alertmanager's receivers, as monitoring-config.ts renders them, with each credential an Input (a Pulumi secret). */
export interface AlertReceivers {
  readonly email?: {
    readonly to: string;
    readonly from: string;
    readonly smarthost: string;
    readonly password?: pulumi.Input<string>;
  };
  readonly slack?: { readonly webhookUrl: pulumi.Input<string>; readonly channel?: string };
  readonly pagerduty?: { readonly routingKey: pulumi.Input<string> };
  readonly webhookUrl?: pulumi.Input<string>;
  /** The dead man's switch's ping URL; its token is in the URL, so it is a credential too. */
  readonly deadMansSwitchUrl?: pulumi.Input<string>;
}

/** Whether the rendered config holds a credential, and so must be delivered as a secret. */
export function alertReceiversHoldSecrets(receivers: AlertReceivers): boolean {
  return (
    receivers.email?.password !== undefined ||
    receivers.slack !== undefined ||
    receivers.pagerduty !== undefined ||
    receivers.webhookUrl !== undefined ||
    receivers.deadMansSwitchUrl !== undefined
  );
}

/** Alertmanager with the notification templates; a config that holds a receiver's credential is delivered as a secret file. */
export function alertmanagerSpec(name: string, receivers: AlertReceivers = {}): WorkloadSpec {
  const port = MONITORING_PORTS.alertmanager;
  return {
    name: monitoringWorkloadName(name, "alertmanager"),
    component: "monitoring",
    image: IMAGES.alertmanager.image,
    args: ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"],
    ports: [{ name: "http", port }],
    files: [
      {
        path: "/etc/alertmanager/alertmanager.yml",
        content: pulumi.output(receivers).apply((resolved) => renderAlertmanagerConfig(resolved)),
        secret: alertReceiversHoldSecrets(receivers),
      },
      { path: ALERTMANAGER_TEMPLATES_PATH, content: renderAlertmanagerTemplates() },
    ],
    volumes: [{ name: "data", mountPath: "/alertmanager", sizeGb: 1 }],
    health: wgetHealth(port, "/-/healthy"),
    resources: { cpuMillis: 100, memoryMb: 128 },
    user: { uid: IMAGES.alertmanager.uid, gid: IMAGES.alertmanager.gid },
    allowFrom: [monitoringWorkloadName(name, "prometheus"), monitoringWorkloadName(name, "grafana")],
    metrics: { port, path: "/metrics" },
  };
}

/** Loki, keeping `retentionDays` of logs (default: renderLokiConfig's). */
export function lokiSpec(name: string, retentionDays?: number): WorkloadSpec {
  const port = MONITORING_PORTS.loki;
  return {
    name: monitoringWorkloadName(name, "loki"),
    component: "monitoring",
    image: IMAGES.loki.image,
    args: ["-config.file=/etc/loki/loki.yml"],
    ports: [{ name: "http", port }],
    files: [{ path: "/etc/loki/loki.yml", content: renderLokiConfig({ retentionDays }) }],
    volumes: [{ name: "data", mountPath: "/loki", sizeGb: 10 }],
    // The Loki image has no shell or HTTP client: Docker can only re-verify the config;
    // Kubernetes probes /ready over HTTP.
    health: {
      exec: ["/usr/bin/loki", "-config.file=/etc/loki/loki.yml", "-verify-config"],
      httpGet: { path: "/ready", port },
      startSeconds: 30,
    },
    resources: { cpuMillis: 250, memoryMb: 256 },
    user: { uid: IMAGES.loki.uid, gid: IMAGES.loki.gid },
    // The log shipper pushes; Grafana queries; Prometheus scrapes.
    allowFrom: [
      monitoringWorkloadName(name, "grafana"),
      monitoringWorkloadName(name, "prometheus"),
      monitoringWorkloadName(name, "log-shipper"),
    ],
    metrics: { port, path: "/metrics" },
  };
}

/** How much Prometheus keeps: the first limit reached (age or size) drops the oldest blocks. */
export interface MetricsRetention {
  /** Days of metrics kept. Default: 15. */
  readonly days?: number;
  /** Size cap of the stored blocks, WAL included, in GB; must leave the volume room to compact. Default: 16. */
  readonly sizeGb?: number;
  /** Size of Prometheus's volume, in GB. Default: 20. */
  readonly volumeGb?: number;
}

export const METRICS_RETENTION_DEFAULTS = { days: 15, sizeGb: 16, volumeGb: 20 } as const;

/** What Prometheus scrapes beyond workloads' metrics ports, which decides its rules and its API access. */
export interface PrometheusScope {
  /** Collectors the stack runs; alerts collected by others are left out. Default: none of COLLECTORS. */
  readonly collectors?: readonly Collector[];
  /** Scrape the kubelets through the API server (Kubernetes): its own ServiceAccount with KUBELET_SCRAPE_API_RULES. Default: false. */
  readonly kubelets?: boolean;
}

/** Prometheus with `config` as prometheus.yml (see prometheusConfig), the alert rules rendered with `rules` for `scope`, and `retention`. */
export function prometheusSpec(
  name: string,
  config: pulumi.Input<string>,
  retention: MetricsRetention = {},
  rules: AlertRulesArgs = {},
  scope: PrometheusScope = {},
): WorkloadSpec {
  const port = MONITORING_PORTS.prometheus;
  const { days, sizeGb, volumeGb } = { ...METRICS_RETENTION_DEFAULTS, ...retention };
  const problem = retentionSizeProblem(sizeGb, volumeGb);
  if (problem) throw new Error(`Prometheus retention size ${sizeGb} GB ${problem}`);
  return {
    name: monitoringWorkloadName(name, "prometheus"),
    component: "monitoring",
    image: IMAGES.prometheus.image,
    args: [
      "--config.file=/etc/prometheus/prometheus.yml",
      "--storage.tsdb.path=/prometheus",
      `--storage.tsdb.retention.time=${days}d`,
      `--storage.tsdb.retention.size=${sizeGb}GB`,
    ],
    ports: [{ name: "http", port }],
    files: [
      { path: "/etc/prometheus/prometheus.yml", content: config },
      { path: RULES_FILE, content: renderAlertRules({ ...rules, collectors: scope.collectors ?? [] }) },
    ],
    volumes: [{ name: "data", mountPath: "/prometheus", sizeGb: volumeGb }],
    health: wgetHealth(port, "/-/healthy"),
    resources: { cpuMillis: 500, memoryMb: 512 },
    user: { uid: IMAGES.prometheus.uid, gid: IMAGES.prometheus.gid },
    allowFrom: [monitoringWorkloadName(name, "grafana")],
    labels: { [SCRAPER_LABEL]: "metrics-scraper" },
    metrics: { port, path: "/metrics" },
    ...(scope.kubelets
      ? {
          serviceAccount: { name: monitoringWorkloadName(name, "prometheus") },
          kubernetesApi: {
            clusterRules: KUBELET_SCRAPE_API_RULES,
            reason:
              "Prometheus finds the nodes and scrapes each kubelet's cAdvisor and volume stats through the API server's node proxy",
          },
        }
      : {}),
  };
}

export interface GrafanaSpecArgs {
  /** Stack name, for the dashboards' titles, uids and `stack` variable. Required. */
  readonly stack: string;
  /** datasources.yml (see grafanaDatasources). Required. */
  readonly datasources: pulumi.Input<string>;
  /** Password of the `admin` user, a secret. Required. */
  readonly adminPassword: pulumi.Input<string>;
  /** Host port on Docker (127.0.0.1 only). Default: not published. */
  readonly hostPort?: number;
}

/**
 * What Prometheus needs of Grafana to scrape it (its name and metrics endpoint), known before Grafana
 * is deployed: Grafana is deployed after Prometheus, whose address its data source names.
 */
export function grafanaScrapeIdentity(name: string): Pick<WorkloadSpec, "name" | "metrics"> {
  return {
    name: monitoringWorkloadName(name, "grafana"),
    metrics: { port: MONITORING_PORTS.grafana, path: "/metrics" },
  };
}

export function grafanaSpec(name: string, args: GrafanaSpecArgs): WorkloadSpec {
  const port = MONITORING_PORTS.grafana;
  return {
    ...grafanaScrapeIdentity(name),
    component: "monitoring",
    image: IMAGES.grafana.image,
    ports: [{ name: "http", port, hostPort: args.hostPort }],
    env: {
      GF_SECURITY_ADMIN_USER: "admin",
      GF_USERS_ALLOW_SIGN_UP: "false",
      GF_AUTH_ANONYMOUS_ENABLED: "false",
      GF_ANALYTICS_REPORTING_ENABLED: "false",
      GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
      GF_PATHS_PROVISIONING: "/etc/grafana/provisioning",
    },
    secretEnv: { GF_SECURITY_ADMIN_PASSWORD: args.adminPassword },
    files: [
      { path: "/etc/grafana/provisioning/datasources/datasources.yml", content: args.datasources },
      { path: "/etc/grafana/provisioning/dashboards/dashboards.yml", content: renderGrafanaDashboardProvider() },
      ...Object.entries(renderDashboards({ stack: args.stack })).map(([file, content]) => ({
        path: `${DASHBOARDS_DIR}/${file}`,
        content,
      })),
    ],
    volumes: [{ name: "data", mountPath: "/var/lib/grafana", sizeGb: 1 }],
    scratch: [{ mountPath: "/tmp" }],
    health: { ...wgetHealth(port, "/api/health"), startSeconds: 30 },
    resources: { cpuMillis: 250, memoryMb: 256 },
    user: { uid: IMAGES.grafana.uid, gid: IMAGES.grafana.gid },
  };
}

/** A workload a runtime has placed: its spec and the host other workloads reach it at. */
export interface PlacedWorkload {
  readonly spec: WorkloadSpec;
  readonly host: string;
}

/** A runtime's ScrapeDiscovery with its Outputs resolved. */
export type ResolvedDiscovery =
  | { readonly kind: "static"; readonly targets: readonly string[]; readonly path: string }
  | PodsDiscovery
  | {
      readonly kind: "dns";
      readonly name: string;
      readonly port: number;
      readonly path: string;
      readonly namespace: string;
    };

/**
 * The Prometheus job over every replica of `workload`, as its runtime discovers them. `instance` stays
 * each replica's own address, except for a daemon's pods, where it is their node's name; `workload`
 * (and on Kubernetes `namespace`) are added.
 */
export function scrapeJobFor(
  job: string,
  workload: string,
  discovery: ResolvedDiscovery,
  options: Pick<ScrapeJob, "honorLabels"> = {},
): ScrapeJob {
  if (discovery.kind === "static")
    return { job, targets: discovery.targets, metricsPath: discovery.path, labels: { workload }, ...options };
  if (discovery.kind === "pods")
    return {
      job,
      pods: { namespace: discovery.namespace, selector: discovery.selector, port: discovery.port },
      metricsPath: discovery.path,
      labels: { workload },
      ...options,
    };
  return {
    job,
    dns: { names: [discovery.name], port: discovery.port },
    metricsPath: discovery.path,
    labels: { workload, namespace: discovery.namespace },
    ...options,
  };
}

/** Resolves a runtime's discovery into plain values. */
export function resolveDiscovery(discovery: ScrapeDiscovery): pulumi.Output<ResolvedDiscovery> {
  if (discovery.kind !== "dns") return pulumi.output(discovery as ResolvedDiscovery);
  return pulumi
    .all([discovery.name, discovery.namespace])
    .apply(([dnsName, namespace]) => ({ ...discovery, name: dnsName, namespace }));
}

/** prometheus.yml: the scrape jobs, and Alertmanager at the `http` port its spec declares. */
export function prometheusConfig(args: {
  stack: string;
  jobs: readonly ScrapeJob[];
  kubeletJobs?: readonly KubeletScrapeJob[];
  probes?: readonly ProbeJob[];
  /** Prometheus's own workload name, for the `workload` label of its scrape of itself. */
  self?: string;
  alertmanager: PlacedWorkload;
}): string {
  return renderPrometheusConfig({
    stack: args.stack,
    jobs: args.jobs,
    kubeletJobs: args.kubeletJobs,
    probes: args.probes,
    selfLabels: args.self ? { workload: args.self } : undefined,
    alertmanager: `${args.alertmanager.host}:${portOf(args.alertmanager.spec, "http")}`,
  });
}

/** Grafana's datasources.yml, each URL at the `http` port its workload's spec declares. */
export function grafanaDatasources(args: { prometheus: PlacedWorkload; loki: PlacedWorkload }): string {
  return renderGrafanaDatasources({
    prometheusUrl: httpUrl(args.prometheus.spec, args.prometheus.host),
    lokiUrl: httpUrl(args.loki.spec, args.loki.host),
  });
}
