import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PostgresEndpoint, REDIS_CA_PATH, RedisEndpoint, postgresUrl, redisCaFiles } from "./endpoints";
import { IMAGES } from "./images";
import {
  DASHBOARDS_DIR,
  RULES_FILE,
  renderAlertRules,
  renderAlertmanagerConfig,
  renderGrafanaDashboardProvider,
  renderGrafanaDatasources,
  renderLokiConfig,
  renderOverviewDashboard,
  renderPrometheusConfig,
} from "./monitoring-config";
import { Runtime } from "./runtime/types";
import { SCRAPER_LABEL, WorkloadSpec } from "./workload";

export interface ScrapeTarget {
  /** Prometheus job name. */
  readonly job: string;
  /** Host of the workload (a runtime's `DeployedWorkload.host`). */
  readonly host: pulumi.Input<string>;
  readonly port: number;
  /** Default: /metrics. */
  readonly path?: string;
}

export interface MonitoringArgs {
  readonly runtime: Runtime;
  /** Workloads to scrape besides the monitoring stack and its exporters. Default: none. */
  readonly targets?: readonly ScrapeTarget[];
  /** Database the postgres exporter reads. */
  readonly postgres: PostgresEndpoint;
  /** Redis the redis exporter reads. */
  readonly redis: RedisEndpoint;
  /** Host port for Grafana on Docker (127.0.0.1 only). Default: not published. */
  readonly grafanaHostPort?: number;
  /** Webhook for Alertmanager notifications, a secret. Default: none (alerts stay in Alertmanager). */
  readonly alertWebhookUrl?: pulumi.Input<string>;
  /** Days of logs Loki keeps. Default: 14. */
  readonly logRetentionDays?: number;
  /** Days of metrics Prometheus keeps. Default: 15. */
  readonly metricsRetentionDays?: number;
}

/**
 * Prometheus, Alertmanager, Grafana (provisioned with both data sources and an overview dashboard),
 * Loki, and the Postgres and Redis exporters, described as WorkloadSpecs so the same monitoring runs
 * on Docker and Kubernetes.
 */
export class Monitoring extends pulumi.ComponentResource {
  /** Grafana's admin password (user `admin`), a secret. */
  readonly grafanaAdminPassword: pulumi.Output<string>;
  /** In-network URL of Grafana. */
  readonly grafanaUrl: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("northstack:observability:Monitoring", name, {}, opts);
    const { runtime } = args;
    const n = (suffix: string) => `${name}-${suffix}`;
    const hostPort = (host: pulumi.Input<string>, port: number) => pulumi.interpolate`${host}:${port}`;

    this.grafanaAdminPassword = pulumi.secret(new random.RandomPassword(n("grafana-admin"), { length: 24, special: false }, { parent: this }).result);

    const exporterSpecs: WorkloadSpec[] = [
      {
        name: n("postgres-exporter"),
        component: "monitoring",
        image: IMAGES.postgresExporter.image,
        ports: [{ name: "metrics", port: 9187 }],
        secretEnv: { DATA_SOURCE_NAME: postgresUrl(args.postgres) },
        env: { PG_EXPORTER_AUTO_DISCOVER_DATABASES: "false" },
        health: { exec: ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9187/metrics"], httpGet: { path: "/metrics", port: 9187 } },
        resources: { cpuMillis: 100, memoryMb: 64 },
        user: { uid: IMAGES.postgresExporter.uid, gid: IMAGES.postgresExporter.gid },
        allowFrom: [n("prometheus")],
        metrics: { port: 9187, path: "/metrics" },
      },
      {
        name: n("redis-exporter"),
        component: "monitoring",
        image: IMAGES.redisExporter.image,
        ports: [{ name: "metrics", port: 9121 }],
        env: {
          REDIS_ADDR: pulumi.interpolate`${args.redis.tls ? "rediss" : "redis"}://${args.redis.host}:${args.redis.port}`,
          ...(args.redis.caCert ? { REDIS_EXPORTER_TLS_CA_CERT_FILE: REDIS_CA_PATH } : {}),
        },
        secretEnv: { REDIS_PASSWORD: args.redis.password },
        files: redisCaFiles(args.redis),
        health: { exec: ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9121/health"], httpGet: { path: "/health", port: 9121 } },
        resources: { cpuMillis: 100, memoryMb: 64 },
        user: { uid: IMAGES.redisExporter.uid, gid: IMAGES.redisExporter.gid },
        allowFrom: [n("prometheus")],
        metrics: { port: 9121, path: "/metrics" },
      },
    ];
    const exporters = exporterSpecs.map((spec) => ({ spec, deployed: runtime.deploy(spec, this) }));

    const alertmanager = runtime.deploy(
      {
        name: n("alertmanager"),
        component: "monitoring",
        image: IMAGES.alertmanager.image,
        args: ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"],
        ports: [{ name: "http", port: 9093 }],
        files: [
          {
            path: "/etc/alertmanager/alertmanager.yml",
            content: args.alertWebhookUrl
              ? pulumi.output(args.alertWebhookUrl).apply((webhookUrl) => renderAlertmanagerConfig({ webhookUrl }))
              : renderAlertmanagerConfig(),
            secret: args.alertWebhookUrl !== undefined,
          },
        ],
        volumes: [{ name: "data", mountPath: "/alertmanager", sizeGb: 1 }],
        health: { exec: ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9093/-/healthy"], httpGet: { path: "/-/healthy", port: 9093 } },
        resources: { cpuMillis: 100, memoryMb: 128 },
        user: { uid: IMAGES.alertmanager.uid, gid: IMAGES.alertmanager.gid },
        allowFrom: [n("prometheus"), n("grafana")],
        metrics: { port: 9093, path: "/metrics" },
      },
      this,
    );

    const loki = runtime.deploy(
      {
        name: n("loki"),
        component: "monitoring",
        image: IMAGES.loki.image,
        args: ["-config.file=/etc/loki/loki.yml"],
        ports: [{ name: "http", port: 3100 }],
        files: [{ path: "/etc/loki/loki.yml", content: renderLokiConfig({ retentionDays: args.logRetentionDays }) }],
        volumes: [{ name: "data", mountPath: "/loki", sizeGb: 10 }],
        // The Loki image has no shell or HTTP client: Docker can only re-verify the config;
        // Kubernetes probes /ready over HTTP.
        health: { exec: ["/usr/bin/loki", "-config.file=/etc/loki/loki.yml", "-verify-config"], httpGet: { path: "/ready", port: 3100 }, startSeconds: 30 },
        resources: { cpuMillis: 250, memoryMb: 256 },
        user: { uid: IMAGES.loki.uid, gid: IMAGES.loki.gid },
        allowFrom: [n("grafana"), n("prometheus")],
        metrics: { port: 3100, path: "/metrics" },
      },
      this,
    );

    const scrapeTargets: ScrapeTarget[] = [
      ...(args.targets ?? []),
      ...exporters.map(({ spec, deployed }) => ({ job: spec.name.slice(name.length + 1), host: deployed.host, port: spec.ports![0].port })),
      { job: "alertmanager", host: alertmanager.host, port: 9093 },
      { job: "loki", host: loki.host, port: 3100 },
    ];
    const prometheusConfig = pulumi
      .all([pulumi.all(scrapeTargets.map((t) => pulumi.all([t.job, hostPort(t.host, t.port), t.path ?? "/metrics"]))), alertmanager.host])
      .apply(([targets, alertmanagerHost]) =>
        renderPrometheusConfig({
          stack: runtime.stack,
          jobs: targets.map(([job, target, metricsPath]) => ({ job, targets: [target], metricsPath })),
          alertmanager: `${alertmanagerHost}:9093`,
        }),
      );

    const prometheus = runtime.deploy(
      {
        name: n("prometheus"),
        component: "monitoring",
        image: IMAGES.prometheus.image,
        args: [
          "--config.file=/etc/prometheus/prometheus.yml",
          "--storage.tsdb.path=/prometheus",
          `--storage.tsdb.retention.time=${args.metricsRetentionDays ?? 15}d`,
        ],
        ports: [{ name: "http", port: 9090 }],
        files: [
          { path: "/etc/prometheus/prometheus.yml", content: prometheusConfig },
          { path: RULES_FILE, content: renderAlertRules() },
        ],
        volumes: [{ name: "data", mountPath: "/prometheus", sizeGb: 20 }],
        health: { exec: ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:9090/-/healthy"], httpGet: { path: "/-/healthy", port: 9090 } },
        resources: { cpuMillis: 500, memoryMb: 512 },
        user: { uid: IMAGES.prometheus.uid, gid: IMAGES.prometheus.gid },
        allowFrom: [n("grafana")],
        labels: { [SCRAPER_LABEL]: "metrics-scraper" },
        metrics: { port: 9090, path: "/metrics" },
      },
      this,
      { dependsOn: [...alertmanager.resources] },
    );

    const grafana = runtime.deploy(
      {
        name: n("grafana"),
        component: "monitoring",
        image: IMAGES.grafana.image,
        ports: [{ name: "http", port: 3000, hostPort: args.grafanaHostPort }],
        env: {
          GF_SECURITY_ADMIN_USER: "admin",
          GF_USERS_ALLOW_SIGN_UP: "false",
          GF_AUTH_ANONYMOUS_ENABLED: "false",
          GF_ANALYTICS_REPORTING_ENABLED: "false",
          GF_ANALYTICS_CHECK_FOR_UPDATES: "false",
          GF_PATHS_PROVISIONING: "/etc/grafana/provisioning",
        },
        secretEnv: { GF_SECURITY_ADMIN_PASSWORD: this.grafanaAdminPassword },
        files: [
          {
            path: "/etc/grafana/provisioning/datasources/datasources.yml",
            content: pulumi
              .all([prometheus.host, loki.host])
              .apply(([p, l]) => renderGrafanaDatasources({ prometheusUrl: `http://${p}:9090`, lokiUrl: `http://${l}:3100` })),
          },
          { path: "/etc/grafana/provisioning/dashboards/dashboards.yml", content: renderGrafanaDashboardProvider() },
          { path: `${DASHBOARDS_DIR}/overview.json`, content: renderOverviewDashboard(runtime.stack) },
        ],
        volumes: [{ name: "data", mountPath: "/var/lib/grafana", sizeGb: 1 }],
        scratch: [{ mountPath: "/tmp" }],
        health: { exec: ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3000/api/health"], httpGet: { path: "/api/health", port: 3000 }, startSeconds: 30 },
        resources: { cpuMillis: 250, memoryMb: 256 },
        user: { uid: IMAGES.grafana.uid, gid: IMAGES.grafana.gid },
        metrics: { port: 3000, path: "/metrics" },
      },
      this,
      { dependsOn: [...prometheus.resources, ...loki.resources] },
    );
    this.grafanaUrl = pulumi.interpolate`http://${grafana.host}:3000`;

    this.registerOutputs({ grafanaUrl: this.grafanaUrl, grafanaAdminPassword: this.grafanaAdminPassword });
  }
}
