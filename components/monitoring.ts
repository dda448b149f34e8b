import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { PostgresEndpoint, RedisEndpoint } from "./endpoints";
import {
  AlertReceivers,
  GatewayProbe,
  MetricsRetention,
  alertmanagerSpec,
  blackboxExporterSpec,
  grafanaDatasources,
  grafanaSpec,
  grafanaScrapeIdentity,
  httpUrl,
  lokiSpec,
  monitoringWorkloadName,
  portOf,
  postgresExporterSpec,
  prometheusConfig,
  prometheusSpec,
  redisExporterSpec,
  resolveDiscovery,
  scrapeJobFor,
} from "./monitoring-specs";
import { GATEWAY_PROBE_MODULE, MetricRelabelRule, scrapeCredentialsFile } from "./monitoring-config";
import {
  LOKI_PUSH_PATH,
  dockerLogShipperSpec,
  logShipperSpec,
  renderAlloyConfig,
  renderDockerAlloyConfig,
} from "./log-shipper";
import { DeployedWorkload, Runtime, ScrapeDiscovery } from "./runtime/types";
import { Collector } from "./alert-rules";
import {
  KUBERNETES_COLLECTORS,
  cadvisorMetricRelabel,
  cadvisorSpec,
  kubeStateMetricsSpec,
  kubeletScrapeJobs,
  nodeExporterSpec,
} from "./cluster-metrics";
import { WorkloadSpec } from "./workload";

/** The job of the public gateway probe: its series carry the probed URL as `instance`. */
export const GATEWAY_PROBE_JOB = "gateway-probe";

export interface ScrapeTarget {
  /** Prometheus job name. Required. */
  readonly job: string;
  /** A workload the runtime has already deployed, with a `metrics` endpoint; each replica is scraped. Required. */
  readonly workload: string;
  /**
   * The bearer token the workload's metrics endpoint demands (its `metrics.bearerToken`), a Pulumi
   * secret: Prometheus gets it as a secret file and sends it on every scrape of this job. Default: none.
   */
  readonly bearerToken?: pulumi.Input<string>;
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
  /** Where Alertmanager sends alerts; credentials as Pulumi secrets. Default: none (alerts stay in Alertmanager). */
  readonly alertReceivers?: AlertReceivers;
  /** Days of logs Loki keeps. Default: 14. */
  readonly logRetentionDays?: number;
  /** The public gateway URL the blackbox exporter probes (a 2xx answer, and the TLS certificate's expiry). Default: none, no probe. */
  readonly gatewayProbe?: GatewayProbe;
  /** How long and how much Prometheus keeps, and its volume. Default: prometheusSpec's. */
  readonly metricsRetention?: MetricsRetention;
  /** The runbooks page each alert's runbook_url starts with. Default: docs/runbooks.md (renderAlertRules'). */
  readonly runbookBase?: string;
  /**
   * Run node_exporter on every node (Kubernetes: a DaemonSet in its own "privileged" namespace) or
   * on the Docker host, for the node alerts and the System dashboard's host panels. The stack config
   * decides (northstack:nodeMetrics: off on GKE Autopilot, which refuses host paths). Default: true.
   */
  readonly nodeMetrics?: boolean;
}

/**
 * Prometheus, Alertmanager, Grafana (provisioned with both data sources and the six dashboards of
 * components/dashboards), Loki with its log shipper, the Postgres and Redis exporters, on Kubernetes
 * kube-state-metrics and the kubelets' cAdvisor and volume stats, node_exporter where the stack
 * allows host access (cluster-metrics.ts: a DaemonSet in its own namespace on Kubernetes), and on
 * Docker cAdvisor. Each is a WorkloadSpec from monitoring-specs.ts, so the same monitoring runs on
 * Docker and Kubernetes; this component only places them and wires addresses.
 */
export class Monitoring extends pulumi.ComponentResource {
  /** Grafana's admin password (user `admin`), a secret. */
  readonly grafanaAdminPassword: pulumi.Output<string>;
  /** In-network URL of Grafana. */
  readonly grafanaUrl: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("northstack:observability:Monitoring", name, {}, opts);
    const { runtime } = args;

    this.grafanaAdminPassword = pulumi.secret(
      new random.RandomPassword(`${name}-grafana-admin`, { length: 24, special: false }, { parent: this }).result,
    );

    // What Prometheus scrapes besides the stack's targets, keyed by job, in deployment order. None
    // of them needs another's address; Prometheus and Grafana, which do, come after.
    const scraped = {
      "postgres-exporter": postgresExporterSpec(name, args.postgres),
      "redis-exporter": redisExporterSpec(name, args.redis),
      alertmanager: alertmanagerSpec(name, args.alertReceivers),
      loki: lokiSpec(name, args.logRetentionDays),
    };
    const roles = Object.keys(scraped) as (keyof typeof scraped)[];
    const placed = {} as Record<keyof typeof scraped, DeployedWorkload>;
    for (const role of roles) placed[role] = runtime.deploy(scraped[role], this);
    const logShipper = this.placeLogShipper(name, runtime, scraped.loki, placed.loki);
    // The cluster's own signals, on Kubernetes: kube-state-metrics, and the kubelets through the API server.
    const namespace = runtime.kind === "kubernetes" ? runtime.namespaceName : undefined;
    const kubeStateMetrics =
      namespace !== undefined
        ? kubeStateMetricsSpec(
            monitoringWorkloadName(name, "kube-state-metrics"),
            namespace,
            monitoringWorkloadName(name, "prometheus"),
          )
        : undefined;
    if (kubeStateMetrics) runtime.deploy(kubeStateMetrics, this);
    const kubeletJobs = namespace !== undefined ? kubeletScrapeJobs(namespace) : [];
    // The hosts' signals, where the stack allows host paths (GKE Autopilot refuses them): on
    // Kubernetes a daemon in a namespace of its own, since the stack's namespace is "restricted".
    const nodeExporter =
      (args.nodeMetrics ?? true)
        ? nodeExporterSpec(monitoringWorkloadName(name, "node-exporter"), monitoringWorkloadName(name, "prometheus"))
        : undefined;
    if (nodeExporter) runtime.deploy(nodeExporter, this);
    // The containers' CPU and memory on Docker, named by the cgroups the runtime gave them.
    const cadvisor = runtime.kind === "docker" ? this.dockerCadvisor(name, runtime) : undefined;
    if (cadvisor) runtime.deploy(cadvisor.spec, this);
    const collectors: Collector[] = [
      ...(namespace !== undefined ? KUBERNETES_COLLECTORS : []),
      ...(nodeExporter ? (["node-exporter"] as const) : []),
      ...(cadvisor ? (["cadvisor"] as const) : []),
    ];
    const blackbox = args.gatewayProbe && blackboxExporterSpec(name, args.gatewayProbe);
    const blackboxPlaced = blackbox && runtime.deploy(blackbox, this);

    // Every replica is its own target, found the runtime's way (container names, or a headless
    // Service's DNS records); Grafana is scraped too, though deployed after Prometheus.
    const scrapeTargets: {
      job: string;
      workload: string;
      discovery: ScrapeDiscovery;
      honorLabels?: boolean;
      bearerToken?: pulumi.Input<string>;
      metricRelabel?: readonly MetricRelabelRule[];
    }[] = [
      ...(args.targets ?? []).map((t) => ({
        job: t.job,
        workload: t.workload,
        discovery: runtime.scrapeDiscovery(t.workload),
        bearerToken: t.bearerToken,
      })),
      ...roles.map((role) => ({
        job: role,
        workload: scraped[role].name,
        discovery: runtime.scrapeDiscovery(scraped[role]),
      })),
      ((grafana) => ({ job: "grafana", workload: grafana.name, discovery: runtime.scrapeDiscovery(grafana) }))(
        grafanaScrapeIdentity(name),
      ),
      ...(blackbox
        ? [{ job: "blackbox-exporter", workload: blackbox.name, discovery: runtime.scrapeDiscovery(blackbox) }]
        : []),
      { job: "log-shipper", workload: logShipper.name, discovery: runtime.scrapeDiscovery(logShipper) },
      ...(nodeExporter
        ? [{ job: "node-exporter", workload: nodeExporter.name, discovery: runtime.scrapeDiscovery(nodeExporter) }]
        : []),
      ...(cadvisor
        ? [
            {
              job: "cadvisor",
              workload: cadvisor.spec.name,
              discovery: runtime.scrapeDiscovery(cadvisor.spec),
              metricRelabel: cadvisor.metricRelabel,
            },
          ]
        : []),
      // Its series describe other pods: their `namespace` and `pod` labels are kept as exposed.
      ...(kubeStateMetrics
        ? [
            {
              job: "kube-state-metrics",
              workload: kubeStateMetrics.name,
              discovery: runtime.scrapeDiscovery(kubeStateMetrics),
              honorLabels: true,
            },
          ]
        : []),
    ];
    // The probe goes through the exporter's Service: any one exporter may probe.
    const probes =
      blackbox && blackboxPlaced && args.gatewayProbe
        ? pulumi.all([blackboxPlaced.host, pulumi.output(args.gatewayProbe.url)]).apply(([host, url]) => [
            {
              job: GATEWAY_PROBE_JOB,
              exporter: `${host}:${portOf(blackbox, "http")}`,
              module: GATEWAY_PROBE_MODULE,
              targets: [url],
            },
          ])
        : pulumi.output([]);
    const jobs = pulumi.all(
      scrapeTargets.map((t) =>
        resolveDiscovery(t.discovery).apply((d) => ({
          ...scrapeJobFor(t.job, t.workload, d, t.honorLabels ? { honorLabels: true } : {}),
          ...(t.bearerToken !== undefined ? { bearerTokenFile: scrapeCredentialsFile(t.job) } : {}),
          ...(t.metricRelabel ? { metricRelabel: t.metricRelabel } : {}),
        })),
      ),
    );
    // Each token reaches Prometheus as a secret file (a Kubernetes Secret, a 0440 upload on Docker).
    const credentialFiles = scrapeTargets.flatMap((t) =>
      t.bearerToken !== undefined
        ? [{ path: scrapeCredentialsFile(t.job), content: pulumi.secret(t.bearerToken), secret: true }]
        : [],
    );
    const config = pulumi
      .all([jobs, probes, placed.alertmanager.host])
      .apply(([resolved, resolvedProbes, alertmanagerHost]) =>
        prometheusConfig({
          stack: runtime.stack,
          jobs: resolved,
          kubeletJobs,
          probes: resolvedProbes,
          self: monitoringWorkloadName(name, "prometheus"),
          alertmanager: { spec: scraped.alertmanager, host: alertmanagerHost },
        }),
      );
    const prometheusBase = prometheusSpec(
      name,
      config,
      args.metricsRetention,
      { runbookBase: args.runbookBase },
      { collectors, kubelets: kubeletJobs.length > 0 },
    );
    // Pods found through the API (node_exporter's, in its own namespace): Prometheus may list them there.
    const podGrants = scrapeTargets.flatMap((t) =>
      t.discovery.kind === "pods"
        ? [
            {
              namespace: t.discovery.namespace,
              rules: t.discovery.rules,
              reason: `Prometheus lists the ${t.workload} pods to scrape each on its node (job ${t.job})`,
            },
          ]
        : [],
    );
    if (podGrants.length > 0 && !prometheusBase.kubernetesApi)
      throw new Error(
        `${name}: jobs ${scrapeTargets
          .filter((t) => t.discovery.kind === "pods")
          .map((t) => t.job)
          .join(", ")} find their pods through the Kubernetes API, but Prometheus has no API access on this runtime`,
      );
    const prometheus: WorkloadSpec = {
      ...prometheusBase,
      files: [...(prometheusBase.files ?? []), ...credentialFiles],
      ...(prometheusBase.kubernetesApi && podGrants.length > 0
        ? { kubernetesApi: { ...prometheusBase.kubernetesApi, namespaceRules: podGrants } }
        : {}),
    };
    const prometheusPlaced = runtime.deploy(prometheus, this, { dependsOn: [...placed.alertmanager.resources] });

    const grafana = grafanaSpec(name, {
      stack: runtime.stack,
      datasources: pulumi
        .all([prometheusPlaced.host, placed.loki.host])
        .apply(([p, l]) =>
          grafanaDatasources({ prometheus: { spec: prometheus, host: p }, loki: { spec: scraped.loki, host: l } }),
        ),
      adminPassword: this.grafanaAdminPassword,
      hostPort: args.grafanaHostPort,
    });
    const grafanaPlaced = runtime.deploy(grafana, this, {
      dependsOn: [...prometheusPlaced.resources, ...placed.loki.resources],
    });
    this.grafanaUrl = grafanaPlaced.host.apply((host) => httpUrl(grafana, host));

    this.registerOutputs({ grafanaUrl: this.grafanaUrl, grafanaAdminPassword: this.grafanaAdminPassword });
  }

  /** cAdvisor on Docker and its job's relabelling, both from the engine's cgroup driver. */
  private dockerCadvisor(
    name: string,
    runtime: Runtime,
  ): { spec: WorkloadSpec; metricRelabel: readonly MetricRelabelRule[] } {
    if (runtime.cgroupDriver === undefined)
      throw new Error(
        `stack ${runtime.stack}: the ${runtime.kind} runtime has no cgroupDriver, so cAdvisor could not name containers; give the runtime a cgroupDriver (northstack:dockerCgroupDriver)`,
      );
    return {
      spec: cadvisorSpec(
        monitoringWorkloadName(name, "cadvisor"),
        monitoringWorkloadName(name, "prometheus"),
        runtime.stack,
        runtime.cgroupDriver,
      ),
      metricRelabel: cadvisorMetricRelabel(runtime.stack, runtime.cgroupDriver),
    };
  }

  /**
   * The log shipper, pushing to Loki: on Kubernetes it reads the namespace's pods through the API; on
   * Docker it takes what the daemon sends to the runtime's log intake (components/log-shipper.ts).
   */
  private placeLogShipper(
    name: string,
    runtime: Runtime,
    loki: WorkloadSpec,
    lokiPlaced: DeployedWorkload,
  ): WorkloadSpec {
    const workloadName = monitoringWorkloadName(name, "log-shipper");
    const lokiPushUrl = lokiPlaced.host.apply((host) => `${httpUrl(loki, host)}${LOKI_PUSH_PATH}`);
    let shipper: WorkloadSpec;
    if (runtime.kind === "kubernetes") {
      shipper = logShipperSpec(
        workloadName,
        lokiPushUrl.apply((url) => renderAlloyConfig({ stack: runtime.stack, lokiPushUrl: url })),
      );
    } else {
      if (runtime.logIntakePort === undefined)
        throw new Error(
          `stack ${runtime.stack}: the ${runtime.kind} runtime has no logIntakePort, so no container output would reach Loki; give the runtime a logIntakePort (northstack:logIntakePort)`,
        );
      shipper = dockerLogShipperSpec(
        workloadName,
        lokiPushUrl.apply((url) => renderDockerAlloyConfig({ stack: runtime.stack, lokiPushUrl: url })),
        runtime.logIntakePort,
      );
    }
    runtime.deploy(shipper, this, { dependsOn: [...lokiPlaced.resources] });
    return shipper;
  }
}
