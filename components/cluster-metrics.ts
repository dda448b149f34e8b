/**
 * The signals of the platform under the services, which the platform alert rules read
 * (alert-rules/platform.ts):
 *
 * - kube-state-metrics (Kubernetes): the state of the stack's pods, controllers, volume claims and
 *   jobs, and of the nodes. It lists and watches those kinds in the stack's namespace through a Role,
 *   and nodes (cluster-scoped) through a ClusterRole, reading nothing else.
 * - the kubelet's cAdvisor and volume stats (Kubernetes), scraped by Prometheus itself through the API
 *   server's node proxy. See KUBELET_SCRAPE_API_RULES for why this way.
 * - node_exporter: the host's memory, CPU and filesystems, through read-only host paths under a named
 *   policy exemption. On Docker one container; on Kubernetes a DaemonSet on every node, in a namespace
 *   of its own (`<stack namespace>-node-metrics`) whose Pod Security level is "privileged", the least
 *   that admits host paths, so the stack's namespace stays "restricted". Prometheus finds its pods
 *   through the API (list and watch pods in that namespace alone) and labels each with its node. Not
 *   on GKE Autopilot, which refuses host paths (northstack:nodeMetrics).
 * - cAdvisor (Docker): every dev container's CPU and memory (container_*), the series the kubelet's
 *   cAdvisor gives on Kubernetes, labelled the same way (`namespace`, `pod`, `container`). See
 *   cadvisorSpec for what it is granted and why; runtime/docker-cgroups.ts for how containers are named.
 *
 * Each is a pure spec or job list; monitoring.ts places them.
 */
import { Collector } from "./alert-rules";
import { IMAGES } from "./images";
import { KubeletScrapeJob, MONITORING_PORTS, MetricRelabelRule } from "./monitoring-config";
import { containerNameOf, dockerNetworkName } from "./runtime/docker-names";
import { DockerCgroupDriver, containerCgroupPatterns, stackCgroupPrefix } from "./runtime/docker-cgroups";
import { KubernetesApiRule, WorkloadSpec } from "./workload";

/**
 * What kube-state-metrics reports (its `--resources`), each with its API group: the kinds the
 * platform alerts read (pods, deployments, statefulsets, nodes), and the volume claims, jobs and
 * cron jobs the stack runs. The RBAC below is derived from this list, so the two cannot drift.
 */
export const KUBE_STATE_METRICS_RESOURCES = {
  pods: "",
  persistentvolumeclaims: "",
  deployments: "apps",
  statefulsets: "apps",
  jobs: "batch",
  cronjobs: "batch",
} as const;
/** The cluster-scoped kinds it reports. */
export const KUBE_STATE_METRICS_CLUSTER_RESOURCES = { nodes: "" } as const;

/** One list/watch rule per API group, over the given kinds. */
function listWatch(resources: Readonly<Record<string, string>>): KubernetesApiRule[] {
  const groups = [...new Set(Object.values(resources))];
  return groups.map((group) => ({
    apiGroups: [group],
    resources: Object.keys(resources).filter((r) => resources[r] === group),
    verbs: ["list", "watch"],
  }));
}

/** kube-state-metrics in the stack's namespace: list and watch the reported kinds there, nothing else. */
export const KUBE_STATE_METRICS_API_RULES: readonly KubernetesApiRule[] = listWatch(KUBE_STATE_METRICS_RESOURCES);
/** kube-state-metrics across the cluster: list and watch nodes. */
export const KUBE_STATE_METRICS_CLUSTER_API_RULES: readonly KubernetesApiRule[] = listWatch(
  KUBE_STATE_METRICS_CLUSTER_RESOURCES,
);

/**
 * What Prometheus may do to scrape the kubelets: find the nodes (list, watch) and GET through the API
 * server's node proxy. Chosen over scraping each kubelet on :10250 directly with `nodes/metrics`:
 * that RBAC is narrower, but it needs egress to every node's address on 10250, which the plan cannot
 * name (nodes come and go), and it trusts the kubelets' serving certificates, which are self-signed
 * on EKS. Through the proxy Prometheus talks only to the API server, on the egress its API access
 * opens anyway, verified with the cluster CA. The price: `nodes/proxy` reaches every kubelet
 * endpoint, not only metrics, so it is granted GET alone and the token is mounted in Prometheus's
 * pods alone. (Older GKE Autopilot versions refuse `nodes/proxy`; there the kubelet jobs show as down.)
 */
export const KUBELET_SCRAPE_API_RULES: readonly KubernetesApiRule[] = [
  { apiGroups: [""], resources: ["nodes"], verbs: ["list", "watch"] },
  { apiGroups: [""], resources: ["nodes/proxy"], verbs: ["get"] },
];

/** The jobs over every kubelet: cAdvisor's container series, and the kubelet's own volume stats. */
export function kubeletScrapeJobs(namespace: string): KubeletScrapeJob[] {
  return [
    { job: "cadvisor", path: "/metrics/cadvisor", namespace, keepMetrics: "container_.+" },
    { job: "kubelet", path: "/metrics", namespace, keepMetrics: "kubelet_volume_stats_.+" },
  ];
}

/** The alert collectors the Kubernetes pieces here provide. */
export const KUBERNETES_COLLECTORS: readonly Collector[] = ["kube-state-metrics", "cadvisor", "kubelet"];

/**
 * kube-state-metrics for `namespace` (and the cluster's nodes): one replica (two would report every
 * series twice), its own ServiceAccount with exactly the rules above, scraped by Prometheus.
 */
export function kubeStateMetricsSpec(workloadName: string, namespace: string, scraper: string): WorkloadSpec {
  const port = MONITORING_PORTS.kubeStateMetrics;
  return {
    name: workloadName,
    component: "monitoring",
    image: IMAGES.kubeStateMetrics.image,
    args: [
      `--port=${port}`,
      `--telemetry-port=${port + 1}`,
      `--resources=${[...Object.keys(KUBE_STATE_METRICS_RESOURCES), ...Object.keys(KUBE_STATE_METRICS_CLUSTER_RESOURCES)].sort().join(",")}`,
      // Namespaced kinds are listed in this namespace alone, which is all its Role allows.
      `--namespaces=${namespace}`,
    ],
    ports: [{ name: "metrics", port }],
    // Distroless: no shell or HTTP client. Kubernetes, its only runtime, probes /healthz over HTTP.
    health: { exec: ["/kube-state-metrics", "--version"], httpGet: { path: "/healthz", port } },
    resources: { cpuMillis: 100, memoryMb: 128 },
    user: { uid: IMAGES.kubeStateMetrics.uid, gid: IMAGES.kubeStateMetrics.gid },
    serviceAccount: { name: workloadName },
    kubernetesApi: {
      rules: KUBE_STATE_METRICS_API_RULES,
      clusterRules: KUBE_STATE_METRICS_CLUSTER_API_RULES,
      reason:
        "kube-state-metrics lists and watches the namespace's pods, controllers, volume claims and jobs, and the cluster's nodes, to report their state as metrics",
    },
    allowFrom: [scraper],
    metrics: { port, path: "/metrics" },
  };
}

/** Where node_exporter finds the host's /proc, /sys and root filesystem (read-only host paths). */
const HOST_ROOT = "/host";

/** The suffix of node_exporter's own Kubernetes namespace: `<stack namespace>-node-metrics`. */
export const NODE_METRICS_NAMESPACE = "node-metrics";

/**
 * node_exporter's collectors that read /proc/net or /proc/sys/net. Those files follow the reading
 * process's network namespace, not the mounted /proc's, so without the host's network (which it does
 * not share) they would report the pod's or container's own interfaces, sockets and conntrack table
 * as if they were the host's. They are turned off rather than mislabelled; no alert reads them.
 */
export const NODE_EXPORTER_NETNS_COLLECTORS = [
  "arp",
  "conntrack",
  "ipvs",
  "netdev",
  "netstat",
  "nfs",
  "nfsd",
  "sockstat",
  "softnet",
  "udp_queues",
] as const;

/**
 * node_exporter: the host's memory, CPU and filesystems, read from the host's /proc, /sys and root
 * mounted read-only, as nobody without capabilities. Those host paths are its named exemption from
 * containers-least-privilege (WorkloadSpec.hostPaths). A daemon: on Kubernetes one pod on every
 * node, in its own namespace (NODE_METRICS_NAMESPACE), since the stack's namespace refuses host
 * paths; on Docker one container. Its own network namespace suffices (no hostNetwork, no hostPID):
 * no alert reads the host's network, and the collectors that would read the pod's network as the
 * host's are off (NODE_EXPORTER_NETNS_COLLECTORS).
 */
export function nodeExporterSpec(workloadName: string, scraper: string): WorkloadSpec {
  const port = MONITORING_PORTS.nodeExporter;
  return {
    name: workloadName,
    component: "monitoring",
    image: IMAGES.nodeExporter.image,
    kind: "daemon",
    ownNamespace: NODE_METRICS_NAMESPACE,
    args: [
      `--path.procfs=${HOST_ROOT}/proc`,
      `--path.sysfs=${HOST_ROOT}/sys`,
      `--path.rootfs=${HOST_ROOT}/root`,
      `--web.listen-address=:${port}`,
      ...NODE_EXPORTER_NETNS_COLLECTORS.map((c) => `--no-collector.${c}`),
    ],
    ports: [{ name: "metrics", port }],
    hostPaths: {
      mounts: [
        { hostPath: "/proc", mountPath: `${HOST_ROOT}/proc` },
        { hostPath: "/sys", mountPath: `${HOST_ROOT}/sys` },
        { hostPath: "/", mountPath: `${HOST_ROOT}/root` },
      ],
      reason:
        "node_exporter reports the host's memory and filesystems (NodeMemoryLow, NodeFilesystemAlmostFull) from the host's /proc, /sys and root, mounted read-only; it runs as nobody with no capabilities",
    },
    health: {
      exec: ["wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${port}/metrics`],
      httpGet: { path: "/metrics", port },
    },
    resources: { cpuMillis: 100, memoryMb: 64 },
    user: { uid: IMAGES.nodeExporter.uid, gid: IMAGES.nodeExporter.gid },
    allowFrom: [scraper],
    metrics: { port, path: "/metrics" },
  };
}

/** The container metrics the alerts and dashboards read: the same family the kubelet's cAdvisor job keeps. */
const CONTAINER_METRICS = "container_.+";

/**
 * cAdvisor (Docker), granted the least that yields the stack's containers' CPU and memory:
 *
 * - The host's /sys/fs/cgroup, read-only, at /sys/fs/cgroup (cgroup v2's fixed mount point, where
 *   cAdvisor also finds v1's controllers): the only host path, and its named exemption
 *   (WorkloadSpec.hostPaths). The files it reads (cpu.stat, memory.current / memory.usage_in_bytes,
 *   memory.stat) are world-readable, so it runs as nobody with no capability. The container keeps its
 *   private cgroup namespace: the bind mount shows the host's tree without sharing the namespace.
 * - No Docker socket (root on the host) and no /var/lib/docker (root-only, and it holds containers'
 *   environments, secrets included). Without them cAdvisor's Docker factory does not register and its
 *   raw cgroup factory reports the containers by cgroup path alone; the runtime names those paths
 *   after each container's workload and replica (runtime/docker-cgroups.ts), and the scrape job's
 *   relabelling (cadvisorMetricRelabel) turns them into the Kubernetes labels.
 * - No /rootfs, /var/run, /dev/disk or /dev/kmsg, and no host PID or network namespace: only the
 *   `cpu` and `memory` metric kinds are enabled; filesystem, disk, network, process and OOM-event
 *   metrics, which need those, are off. (OOMs show as restarts in `docker ps`; no dev alert reads them.)
 * - `--raw_cgroup_prefix_whitelist` limits it to this stack's cgroups (and the root, which it always
 *   reads and the job drops), so it tracks no other container or service on the host.
 */
export function cadvisorSpec(
  workloadName: string,
  scraper: string,
  stack: string,
  driver: DockerCgroupDriver,
): WorkloadSpec {
  const port = MONITORING_PORTS.cadvisor;
  return {
    name: workloadName,
    component: "monitoring",
    image: IMAGES.cadvisor.image,
    args: [
      `--port=${port}`,
      "--docker_only=false",
      `--raw_cgroup_prefix_whitelist=${stackCgroupPrefix(stack, driver)}`,
      "--enable_metrics=cpu,memory",
      "--store_container_labels=false",
      // Once per scrape interval (cAdvisor's default is every second), at a fixed pace.
      "--housekeeping_interval=15s",
      "--allow_dynamic_housekeeping=false",
      // Container events are kept for its own UI and API, which nothing here reads.
      "--event_storage_event_limit=default=0",
      "--event_storage_age_limit=default=0",
    ],
    ports: [{ name: "metrics", port }],
    hostPaths: {
      mounts: [{ hostPath: "/sys/fs/cgroup", mountPath: "/sys/fs/cgroup" }],
      reason:
        "cAdvisor reports the stack's containers' CPU and memory (ContainerCpuThrottled, the System dashboard) from the host's cgroup files, mounted read-only; it runs as nobody with no capabilities, without the Docker socket or /var/lib/docker",
    },
    health: { exec: cadvisorHealthCommand(stack, driver), httpGet: { path: "/healthz", port }, startSeconds: 30 },
    resources: { cpuMillis: 200, memoryMb: 128 },
    user: { uid: IMAGES.cadvisor.uid, gid: IMAGES.cadvisor.gid },
    allowFrom: [scraper],
    metrics: { port, path: "/metrics" },
  };
}

/**
 * Healthy only while cAdvisor reports a container of this stack, which includes its own: with
 * northstack:dockerCgroupDriver set to another driver than the engine's, the containers' cgroups lie
 * outside the stack's prefix, cAdvisor reports none of them, and `pulumi up` fails waiting for it to
 * become healthy instead of leaving the container panels silently empty. (The opposite mismatch
 * fails earlier: the systemd driver refuses a cgroup parent that is not a slice.) Busybox sh, wget
 * and grep are in the image.
 */
export function cadvisorHealthCommand(stack: string, driver: DockerCgroupDriver): string[] {
  const ours = `id="${stackCgroupPrefix(stack, driver)}`;
  return ["sh", "-c", `wget -q -O - http://127.0.0.1:${MONITORING_PORTS.cadvisor}/metrics | grep -qF '${ours}'`];
}

/**
 * What the cAdvisor job stores, and how it names each series the way the kubelet's cAdvisor does on
 * Kubernetes: only container_* series of the stack's containers (the root and nesting cgroups are
 * dropped), with `container` the workload, `pod` the Docker container (the replica), and `namespace`
 * the stack's Docker network, all taken from the cgroup path (`id`) the runtime chose. `workload`,
 * which every Docker job carries, becomes the container's workload rather than cAdvisor's own.
 */
export function cadvisorMetricRelabel(stack: string, driver: DockerCgroupDriver): MetricRelabelRule[] {
  const { single, replica } = containerCgroupPatterns(stack, driver);
  return [
    { source_labels: ["__name__"], regex: CONTAINER_METRICS, action: "keep" },
    { source_labels: ["id"], regex: `${single}|${replica}`, action: "keep" },
    { source_labels: ["id"], regex: single, target_label: "container", replacement: "$1" },
    { source_labels: ["id"], regex: single, target_label: "pod", replacement: containerNameOf(stack, "$1") },
    { source_labels: ["id"], regex: replica, target_label: "container", replacement: "$1" },
    { source_labels: ["id"], regex: replica, target_label: "pod", replacement: containerNameOf(stack, "$1", "$2") },
    { source_labels: ["container"], target_label: "workload" },
    { target_label: "namespace", replacement: dockerNetworkName(stack) },
  ];
}
