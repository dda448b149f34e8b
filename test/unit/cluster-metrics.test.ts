/**
 * The cluster's own signals as data: kube-state-metrics reports exactly the kinds its RBAC lets it
 * list and watch, in the stack's namespace (and the nodes), as a restricted pod; Prometheus reads
 * the kubelets through the API server's node proxy with nodes/proxy GET and nodes list/watch alone;
 * and an alert is rendered only where the collectors its metrics come from run.
 */
import * as YAML from "yaml";
import {
  KUBELET_SCRAPE_API_RULES,
  KUBERNETES_COLLECTORS,
  kubeStateMetricsSpec,
  kubeletScrapeJobs,
  nodeExporterSpec,
} from "../../components/cluster-metrics";
import { IMAGES } from "../../components/images";
import { MONITORING_PORTS, renderAlertRules, renderPrometheusConfig } from "../../components/monitoring-config";
import { prometheusSpec } from "../../components/monitoring-specs";
import { validateForDocker } from "../../components/runtime/docker";
import { apiAccessManifests } from "../../components/runtime/kubernetes/config-objects";
import { podSpecFor, validateForKubernetes } from "../../components/runtime/kubernetes/pod";
import { validateWorkload } from "../../components/workload";
import { restrictedProblemsOfPod } from "../helpers/pod-security";

const NAMESPACE = "northstack-prod";
const ksm = kubeStateMetricsSpec("monitoring-kube-state-metrics", NAMESPACE, "monitoring-prometheus");
const meta = { namespace: NAMESPACE, labels: { "app.kubernetes.io/name": ksm.name } };

test("kube-state-metrics reports exactly the kinds its Role and ClusterRole let it list and watch, in its namespace", () => {
  expect(() => validateWorkload(ksm)).not.toThrow();
  expect(ksm.args).toContain("--resources=cronjobs,deployments,jobs,nodes,persistentvolumeclaims,pods,statefulsets");
  expect(ksm.args).toContain(`--namespaces=${NAMESPACE}`);
  const access = apiAccessManifests(ksm, meta, NAMESPACE)!;
  expect(access.role?.rules).toEqual([
    { apiGroups: [""], resources: ["pods", "persistentvolumeclaims"], verbs: ["list", "watch"] },
    { apiGroups: ["apps"], resources: ["deployments", "statefulsets"], verbs: ["list", "watch"] },
    { apiGroups: ["batch"], resources: ["jobs", "cronjobs"], verbs: ["list", "watch"] },
  ]);
  expect(access.clusterRole?.rules).toEqual([{ apiGroups: [""], resources: ["nodes"], verbs: ["list", "watch"] }]);
  // Every kind in --resources is granted, and nothing else.
  const granted = [...access.role!.rules, ...access.clusterRole!.rules].flatMap((r) => r.resources).sort();
  const reported = ksm
    .args!.find((a) => a.startsWith("--resources="))!
    .split("=")[1]
    .split(",");
  expect(granted).toEqual(reported);
});

test("kube-state-metrics runs as nobody, one replica, scraped by Prometheus alone, and its pod meets Pod Security 'restricted'", () => {
  expect(ksm.user).toEqual({ uid: IMAGES.kubeStateMetrics.uid, gid: IMAGES.kubeStateMetrics.gid });
  expect(ksm.user.uid).toBe(65534);
  expect(ksm.replicas ?? 1).toBe(1);
  expect(ksm.addCapabilities ?? []).toEqual([]);
  expect(ksm.readOnlyRootFilesystem ?? true).toBe(true);
  expect(ksm.allowFrom).toEqual(["monitoring-prometheus"]);
  expect(ksm.metrics).toEqual({ port: MONITORING_PORTS.kubeStateMetrics, path: "/metrics" });
  const spec = podSpecFor(ksm, {});
  expect(spec.automountServiceAccountToken).toBe(true);
  expect(restrictedProblemsOfPod({ metadata: {}, spec: spec as unknown as Record<string, unknown> })).toEqual([]);
  expect(() => validateForDocker(ksm)).toThrow(/kubernetesApi is not supported/);
});

test("Prometheus may GET through the nodes' proxy and list and watch nodes, cluster-wide, and nothing else", () => {
  expect(KUBELET_SCRAPE_API_RULES).toEqual([
    { apiGroups: [""], resources: ["nodes"], verbs: ["list", "watch"] },
    { apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] },
  ]);
  const prometheus = prometheusSpec("monitoring", "global: {}\n", {}, {}, { kubelets: true });
  expect(() => validateWorkload(prometheus)).not.toThrow();
  expect(prometheus.serviceAccount).toEqual({ name: "monitoring-prometheus" });
  const access = apiAccessManifests(prometheus, { ...meta, labels: {} }, NAMESPACE)!;
  expect(access.role).toBeUndefined();
  expect(access.clusterRole?.rules).toEqual(KUBELET_SCRAPE_API_RULES);
  expect(access.clusterRole?.metadata.name).toBe(`${NAMESPACE}-monitoring-prometheus`);
  expect(
    restrictedProblemsOfPod({ metadata: {}, spec: podSpecFor(prometheus, {}) as unknown as Record<string, unknown> }),
  ).toEqual([]);
  // Without kubelet jobs (Docker) Prometheus has no account and no API access.
  const plain = prometheusSpec("monitoring", "global: {}\n");
  expect(plain.serviceAccount).toBeUndefined();
  expect(plain.kubernetesApi).toBeUndefined();
});

test("the kubelet jobs reach each node through the API server, keep the node's own instance, and keep the stack's namespace alone", () => {
  const config = YAML.parse(
    renderPrometheusConfig({
      stack: "prod",
      jobs: [],
      kubeletJobs: kubeletScrapeJobs(NAMESPACE),
      alertmanager: "alertmanager:9093",
    }),
  );
  const cadvisor = config.scrape_configs.find((j: { job_name: string }) => j.job_name === "cadvisor");
  expect(cadvisor).toEqual({
    job_name: "cadvisor",
    scheme: "https",
    kubernetes_sd_configs: [{ role: "node" }],
    tls_config: { ca_file: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt" },
    authorization: { credentials_file: "/var/run/secrets/kubernetes.io/serviceaccount/token" },
    relabel_configs: [
      { source_labels: ["__address__"], target_label: "instance" },
      { source_labels: ["__meta_kubernetes_node_name"], target_label: "node" },
      { target_label: "__address__", replacement: "kubernetes.default.svc:443" },
      {
        source_labels: ["__meta_kubernetes_node_name"],
        regex: "(.+)",
        target_label: "__metrics_path__",
        replacement: "/api/v1/nodes/$1/proxy/metrics/cadvisor",
      },
    ],
    metric_relabel_configs: [
      { source_labels: ["__name__"], regex: "container_.+", action: "keep" },
      { source_labels: ["namespace"], regex: NAMESPACE, action: "keep" },
    ],
  });
  const kubelet = config.scrape_configs.find((j: { job_name: string }) => j.job_name === "kubelet");
  expect(kubelet.relabel_configs[3].replacement).toBe("/api/v1/nodes/$1/proxy/metrics");
  expect(kubelet.metric_relabel_configs[0].regex).toBe("kubelet_volume_stats_.+");
});

test("kube-state-metrics' job keeps the namespace and pod labels it exposes", () => {
  const config = YAML.parse(
    renderPrometheusConfig({
      stack: "prod",
      jobs: [
        {
          job: "kube-state-metrics",
          dns: { names: ["ksm-metrics.northstack-prod.svc.cluster.local"], port: 8080 },
          labels: { workload: "ksm", namespace: NAMESPACE },
          honorLabels: true,
        },
        { job: "api", targets: ["api:8080"] },
      ],
      alertmanager: "alertmanager:9093",
    }),
  );
  const [ksmJob, api] = config.scrape_configs.slice(1);
  expect(ksmJob.honor_labels).toBe(true);
  expect(api.honor_labels).toBeUndefined();
});

const alertNames = (collectors?: Parameters<typeof renderAlertRules>[0]) =>
  (YAML.parse(renderAlertRules(collectors)).groups as { rules: { alert?: string; expr: string }[] }[]).flatMap((g) =>
    g.rules.filter((r) => r.alert !== undefined),
  );

test("an alert is rendered only where every collector its metrics come from runs", () => {
  const everything = alertNames();
  const kubernetes = alertNames({ collectors: KUBERNETES_COLLECTORS });
  const none = alertNames({ collectors: [] });
  const reads = (rules: { expr: string }[], prefix: RegExp) => rules.filter((r) => prefix.test(r.expr));
  // All collectors (the default, as the promtool tests render them): every platform alert.
  expect(reads(everything, /\bnode_/).length).toBeGreaterThan(0);
  expect(reads(everything, /\bkube_/).length).toBeGreaterThan(0);
  // Kubernetes without node_exporter: the kube_, container_ and kubelet_ alerts, no node_ one.
  expect(reads(kubernetes, /\bnode_/)).toEqual([]);
  expect(reads(kubernetes, /\bkube_/).length).toBe(reads(everything, /\bkube_/).length);
  expect(reads(kubernetes, /\bcontainer_/).length).toBeGreaterThan(0);
  expect(reads(kubernetes, /\bkubelet_volume_stats/).length).toBeGreaterThan(0);
  // Docker: none of them; the other alerts stay.
  expect(reads(none, /\b(kube|container|node|kubelet)_/)).toEqual([]);
  expect(none.map((r) => r.alert)).toEqual(expect.arrayContaining(["TargetDown", "PostgresDown", "Watchdog"]));
});

test("node_exporter runs as nobody on a read-only root, its host paths named with a reason, and Kubernetes refuses host paths", () => {
  const exporter = nodeExporterSpec("monitoring-node-exporter", "monitoring-prometheus");
  expect(() => validateWorkload(exporter)).not.toThrow();
  expect(exporter.user).toEqual({ uid: 65534, gid: 65534 });
  expect(exporter.addCapabilities ?? []).toEqual([]);
  expect(exporter.readOnlyRootFilesystem ?? true).toBe(true);
  expect(exporter.hostPaths?.mounts.map((m) => m.hostPath)).toEqual(["/proc", "/sys", "/"]);
  expect(exporter.args).toEqual(
    expect.arrayContaining(["--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root"]),
  );
  expect(() => validateForKubernetes(exporter, "loadbalancer")).toThrow(
    /hostPaths is not supported; the namespace enforces Pod Security "restricted"/,
  );
  expect(() =>
    validateWorkload({ ...exporter, hostPaths: { mounts: exporter.hostPaths!.mounts, reason: " " } }),
  ).toThrow(/hostPaths.reason is empty/);
  expect(() =>
    validateWorkload({ ...exporter, hostPaths: { mounts: [{ hostPath: "proc", mountPath: "/p" }], reason: "r" } }),
  ).toThrow(/host path "proc" -> "\/p": both must be absolute/);
});
