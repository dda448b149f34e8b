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
  NODE_EXPORTER_NETNS_COLLECTORS,
  NODE_METRICS_NAMESPACE,
  kubeStateMetricsSpec,
  kubeletScrapeJobs,
  nodeExporterSpec,
} from "../../components/cluster-metrics";
import { dashboardQueries } from "../../components/dashboards";
import { controllerManifest } from "../../components/runtime/kubernetes/controllers";
import { namespaceManifest, workloadMeta } from "../../components/runtime/kubernetes/manifest";
import {
  calleeEgressPolicy,
  defaultDenyPolicy,
  scraperEgressPolicy,
  workloadNetworkPolicy,
} from "../../components/runtime/kubernetes/network-policy";
import { POD_DISCOVERY_RULES } from "../../components/runtime/kubernetes/runtime";
import { validateObject } from "../helpers/k8s-schema";
import { IMAGES } from "../../components/images";
import { MONITORING_PORTS, renderAlertRules, renderPrometheusConfig } from "../../components/monitoring-config";
import { prometheusSpec } from "../../components/monitoring-specs";
import { validateForDocker } from "../../components/runtime/docker";
import { apiAccessManifests } from "../../components/runtime/kubernetes/config-objects";
import { podSpecFor, validateForKubernetes } from "../../components/runtime/kubernetes/pod";
import { podSecurityLevelOf, validateWorkload } from "../../components/workload";
import { leastPodSecurityLevel, restrictedProblemsOfPod } from "../helpers/pod-security";

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

test("node_exporter runs as nobody on a read-only root, its host paths named with a reason, one pod per node in its own namespace", () => {
  const exporter = nodeExporterSpec("monitoring-node-exporter", "monitoring-prometheus");
  expect(() => validateWorkload(exporter)).not.toThrow();
  expect(exporter.kind).toBe("daemon");
  expect(exporter.ownNamespace).toBe(NODE_METRICS_NAMESPACE);
  expect(exporter.user).toEqual({ uid: 65534, gid: 65534 });
  expect(exporter.addCapabilities ?? []).toEqual([]);
  expect(exporter.readOnlyRootFilesystem ?? true).toBe(true);
  expect(exporter.hostPaths?.mounts.map((m) => m.hostPath)).toEqual(["/proc", "/sys", "/"]);
  expect(exporter.args).toEqual(
    expect.arrayContaining(["--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root"]),
  );
  // Kubernetes admits host paths only in a namespace of the workload's own.
  expect(() => validateForKubernetes(exporter, "loadbalancer")).not.toThrow();
  expect(() => validateForKubernetes({ ...exporter, ownNamespace: undefined }, "loadbalancer")).toThrow(
    /hostPaths needs ownNamespace; the stack's namespace enforces Pod Security "restricted"/,
  );
  expect(() => validateForDocker(exporter)).not.toThrow();
  expect(() =>
    validateWorkload({ ...exporter, hostPaths: { mounts: exporter.hostPaths!.mounts, reason: " " } }),
  ).toThrow(/hostPaths.reason is empty/);
  expect(() =>
    validateWorkload({ ...exporter, hostPaths: { mounts: [{ hostPath: "proc", mountPath: "/p" }], reason: "r" } }),
  ).toThrow(/host path "proc" -> "\/p": both must be absolute/);
  expect(() => validateWorkload({ ...exporter, replicas: 2, autoscale: { min: 1, max: 2 } })).toThrow(
    /replicas 2 is not allowed on a daemon; .*autoscale is not allowed on a daemon/,
  );
});

test("node_exporter turns off every collector that would read the pod's network namespace as the host's", () => {
  const exporter = nodeExporterSpec("monitoring-node-exporter", "monitoring-prometheus");
  const off = exporter
    .args!.filter((a) => a.startsWith("--no-collector."))
    .map((a) => a.slice("--no-collector.".length));
  expect(off).toEqual([...NODE_EXPORTER_NETNS_COLLECTORS]);
  // The collectors the node alerts and the System dashboard read stay on.
  for (const kept of ["meminfo", "filesystem", "cpu"]) expect(off).not.toContain(kept);
  // No alert or panel reads what is turned off.
  const read = [...alertNames().map((r) => r.expr), ...dashboardQueries({ stack: "prod" }).map((q) => q.expr)].join(
    "\n",
  );
  for (const metric of [
    "node_network_",
    "node_netstat_",
    "node_sockstat_",
    "node_arp_",
    "node_nf_conntrack_",
    "node_softnet_",
    "node_nfs",
  ])
    expect(read).not.toContain(metric);
});

test("node_exporter's DaemonSet lands on every node, shares no host namespace, mounts the host read-only and meets everything 'restricted' asks but host paths", () => {
  const exporter = nodeExporterSpec("monitoring-node-exporter", "monitoring-prometheus");
  const namespace = `${NAMESPACE}-${NODE_METRICS_NAMESPACE}`;
  const meta = workloadMeta(exporter, "prod", namespace);
  const controller = controllerManifest(exporter, meta, {}, {});
  expect(controller.kind).toBe("DaemonSet");
  const manifest = controller.manifest as unknown as {
    metadata: Record<string, unknown>;
    spec: Record<string, unknown>;
  };
  const template = manifest.spec.template as {
    metadata: { annotations: Record<string, string> };
    spec: Record<string, unknown>;
  };
  const pod = template.spec as Record<string, unknown> & {
    containers: { securityContext: Record<string, unknown>; volumeMounts: Record<string, unknown>[] }[];
    volumes: Record<string, unknown>[];
  };
  expect(pod.tolerations).toEqual([{ operator: "Exists" }]);
  expect(pod.hostNetwork).toBeUndefined();
  expect(pod.hostPID).toBeUndefined();
  expect(pod.hostIPC).toBeUndefined();
  expect(pod.automountServiceAccountToken).toBe(false);
  expect(pod.containers[0].securityContext).toMatchObject({
    runAsNonRoot: true,
    runAsUser: 65534,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"], add: [] },
    seccompProfile: { type: "RuntimeDefault" },
  });
  expect(pod.volumes).toEqual([
    { name: "host-0", hostPath: { path: "/proc", type: "Directory" } },
    { name: "host-1", hostPath: { path: "/sys", type: "Directory" } },
    { name: "host-2", hostPath: { path: "/", type: "Directory" } },
  ]);
  for (const mount of pod.containers[0].volumeMounts) expect(mount.readOnly).toBe(true);
  // The named exemption is on the DaemonSet and its pods.
  for (const annotations of [manifest.metadata.annotations as Record<string, string>, template.metadata.annotations])
    expect(annotations).toMatchObject({
      "northstack.io/policy-exempt": "containers-least-privilege/host-paths",
      "northstack.io/policy-exempt-reason": exporter.hostPaths!.reason,
    });
  // Only the host paths keep the pod from "restricted", and they keep it from "baseline" too.
  const problems = restrictedProblemsOfPod({ metadata: template.metadata, spec: pod });
  expect(problems).toEqual([
    "spec.volumes[host-0] uses hostPath, which is not allowed",
    "spec.volumes[host-1] uses hostPath, which is not allowed",
    "spec.volumes[host-2] uses hostPath, which is not allowed",
  ]);
  expect(leastPodSecurityLevel({ metadata: template.metadata, spec: pod })).toBe("privileged");
  expect(podSecurityLevelOf(exporter)).toBe("privileged");
  expect(podSecurityLevelOf(ksm)).toBe("restricted");
  expect(leastPodSecurityLevel({ metadata: {}, spec: podSpecFor(ksm, {}) as unknown as Record<string, unknown> })).toBe(
    "restricted",
  );
  // Its namespace, default-deny policy, DaemonSet and NetworkPolicy pass the Kubernetes OpenAPI schema.
  const objects: [string, Record<string, unknown>][] = [
    [
      "kubernetes:core/v1:Namespace",
      namespaceManifest(namespace, { "northstack.io/stack": "prod" }, podSecurityLevelOf(exporter), {
        "northstack.io/policy-exempt": "containers-least-privilege",
        "northstack.io/policy-exempt-reason": "r",
      }) as unknown as Record<string, unknown>,
    ],
    [
      "kubernetes:networking.k8s.io/v1:NetworkPolicy",
      defaultDenyPolicy(namespace, {}) as unknown as Record<string, unknown>,
    ],
    ["kubernetes:apps/v1:DaemonSet", manifest as unknown as Record<string, unknown>],
    [
      "kubernetes:networking.k8s.io/v1:NetworkPolicy",
      workloadNetworkPolicy(exporter, meta, {
        namespace: NAMESPACE,
        monitoringNamespace: NAMESPACE,
      }) as unknown as Record<string, unknown>,
    ],
  ];
  // The provider adds apiVersion and kind from the resource type, as the plan does.
  const typed = (type: string, object: Record<string, unknown>) => {
    const [, group, version, kind] = /^kubernetes:([^/]+)\/([^:]+):(\w+)$/.exec(type)!;
    return { apiVersion: group === "core" ? version : `${group}/${version}`, kind, ...object };
  };
  for (const [type, object] of objects)
    expect({ type, problems: validateObject(type, typed(type, object)) }).toEqual({ type, problems: [] });
  // The schema check is real: a toleration with an operator Kubernetes does not know fails.
  const broken = {
    ...manifest,
    spec: { ...manifest.spec, template: { ...template, spec: { ...pod, tolerations: [{ operator: 7 }] } } },
  };
  expect(validateObject("kubernetes:apps/v1:DaemonSet", typed("kubernetes:apps/v1:DaemonSet", broken))).not.toEqual([]);
});

test("node_exporter's namespace admits Prometheus from the stack's namespace on 9100 alone, and Prometheus's egress names that namespace", () => {
  const exporter = nodeExporterSpec("monitoring-node-exporter", "monitoring-prometheus");
  const namespace = `${NAMESPACE}-${NODE_METRICS_NAMESPACE}`;
  const rules = { namespace: NAMESPACE, monitoringNamespace: NAMESPACE };
  const own = workloadMeta(exporter, "prod", namespace);
  const policy = workloadNetworkPolicy(exporter, own, rules);
  expect(policy.metadata.namespace).toBe(namespace);
  expect(policy.spec.egress).toEqual([]);
  const stackNamespace = { matchLabels: { "kubernetes.io/metadata.name": NAMESPACE } };
  expect(policy.spec.ingress).toEqual([
    {
      from: [
        {
          namespaceSelector: stackNamespace,
          podSelector: {
            matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["monitoring-prometheus"] }],
          },
        },
      ],
      ports: [{ protocol: "TCP", port: MONITORING_PORTS.nodeExporter }],
    },
    {
      from: [
        {
          namespaceSelector: stackNamespace,
          podSelector: { matchLabels: { "northstack.io/role": "metrics-scraper" } },
        },
      ],
      ports: [{ protocol: "TCP", port: MONITORING_PORTS.nodeExporter }],
    },
  ]);
  const callerMeta = { ...own, namespace: NAMESPACE };
  const peer = {
    namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } },
    podSelector: { matchLabels: { "app.kubernetes.io/name": exporter.name } },
  };
  for (const egress of [
    calleeEgressPolicy(exporter, callerMeta, NAMESPACE),
    scraperEgressPolicy(exporter, callerMeta, rules),
  ]) {
    expect(egress?.metadata.namespace).toBe(NAMESPACE);
    expect(egress?.spec.egress).toEqual([
      { to: [peer], ports: [{ protocol: "TCP", port: MONITORING_PORTS.nodeExporter }] },
    ]);
  }
  expect(() => calleeEgressPolicy(exporter, callerMeta)).toThrow(
    /runs in its own namespace; name the runtime's namespace/,
  );
});

test("Prometheus finds node_exporter's pods through the API, in that namespace alone, each labelled with its node", () => {
  const config = YAML.parse(
    renderPrometheusConfig({
      stack: "prod",
      jobs: [
        {
          job: "node-exporter",
          pods: {
            namespace: `${NAMESPACE}-node-metrics`,
            selector: { "app.kubernetes.io/name": "monitoring-node-exporter" },
            port: MONITORING_PORTS.nodeExporter,
          },
          labels: { workload: "monitoring-node-exporter" },
        },
      ],
      alertmanager: "alertmanager:9093",
    }),
  );
  expect(config.scrape_configs[1]).toEqual({
    job_name: "node-exporter",
    metrics_path: "/metrics",
    kubernetes_sd_configs: [
      {
        role: "pod",
        namespaces: { names: [`${NAMESPACE}-node-metrics`] },
        selectors: [{ role: "pod", label: "app.kubernetes.io/name=monitoring-node-exporter" }],
      },
    ],
    relabel_configs: [
      { source_labels: ["__meta_kubernetes_pod_container_port_number"], regex: "9100", action: "keep" },
      { source_labels: ["__meta_kubernetes_pod_node_name"], target_label: "instance" },
      { source_labels: ["__meta_kubernetes_pod_node_name"], target_label: "node" },
      { source_labels: ["__meta_kubernetes_namespace"], target_label: "namespace" },
      { target_label: "workload", replacement: "monitoring-node-exporter" },
    ],
  });
  // What Prometheus is granted for it: list and watch pods in that namespace, a Role there bound to its account.
  const prometheus = prometheusSpec("monitoring", "global: {}\n", {}, {}, { kubelets: true });
  const withPods = {
    ...prometheus,
    kubernetesApi: {
      ...prometheus.kubernetesApi!,
      namespaceRules: [
        {
          namespace: `${NAMESPACE}-node-metrics`,
          rules: [...POD_DISCOVERY_RULES].map((r) => ({ ...r })),
          reason: "find the pods",
        },
      ],
    },
  };
  expect(() => validateWorkload(withPods)).not.toThrow();
  const access = apiAccessManifests(withPods, { namespace: NAMESPACE, labels: {} }, NAMESPACE)!;
  expect(access.namespaceRoles).toEqual([
    {
      namespace: `${NAMESPACE}-node-metrics`,
      role: {
        metadata: {
          name: "monitoring-prometheus",
          namespace: `${NAMESPACE}-node-metrics`,
          labels: {},
          annotations: { "northstack.io/api-access-reason": "find the pods" },
        },
        rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] }],
      },
      binding: {
        metadata: { name: "monitoring-prometheus", namespace: `${NAMESPACE}-node-metrics`, labels: {} },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "monitoring-prometheus" },
        subjects: [{ kind: "ServiceAccount", name: "monitoring-prometheus", namespace: NAMESPACE }],
      },
    },
  ]);
  // Reading only there: a write verb is refused.
  expect(() =>
    validateWorkload({
      ...withPods,
      kubernetesApi: {
        ...withPods.kubernetesApi,
        namespaceRules: [
          { namespace: "x", rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["delete"] }], reason: "r" },
        ],
      },
    }),
  ).toThrow(/namespaceRules\[0\].rules\[0\]: verb "delete" is not allowed/);
});

test("on Kubernetes node_exporter's collector renders the node alerts beside the cluster's", () => {
  const withNodes = alertNames({ collectors: [...KUBERNETES_COLLECTORS, "node-exporter"] });
  const without = alertNames({ collectors: KUBERNETES_COLLECTORS });
  expect(withNodes.length - without.length).toBe(2);
  expect(withNodes.map((r) => r.alert).filter((a) => !without.some((w) => w.alert === a))).toEqual([
    "NodeMemoryLow",
    "NodeFilesystemAlmostFull",
  ]);
});
