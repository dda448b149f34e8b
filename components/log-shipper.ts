/**
 * The log shipper: Grafana Alloy tailing every pod's logs in the stack's namespace through the
 * Kubernetes API (`pods/log`) and pushing them to Loki. Reading through the API needs no host path,
 * no root and no DaemonSet, so it runs unchanged on GKE Autopilot; its one privilege is a namespaced
 * Role to list and watch pods and read their logs.
 *
 * On Docker there is no shipper: Alloy's Docker source needs the Docker socket, which is root on the
 * host in all but name. Monitoring says so loudly when it deploys Loki on Docker.
 */
import * as pulumi from "@pulumi/pulumi";
import { IMAGES } from "./images";
import { MONITORING_PORTS } from "./monitoring-config";
import { KubernetesApiRule, WorkloadSpec } from "./workload";

/** Where Alloy reads its configuration. */
export const ALLOY_CONFIG_PATH = "/etc/alloy/config.alloy";
/** Alloy's storage path: positions of each tailed stream, so a restart resumes instead of re-reading. */
const ALLOY_STORAGE_PATH = "/var/lib/alloy/data";

/** Loki's push endpoint under its base URL. */
export const LOKI_PUSH_PATH = "/loki/api/v1/push";

/**
 * The labels every log stream carries, and the pod metadata each comes from (discovery.kubernetes
 * names a pod label `app.kubernetes.io/name` as `__meta_kubernetes_pod_label_app_kubernetes_io_name`).
 * `stack` is added to every stream by loki.write.
 */
export const LOG_STREAM_LABELS = {
  namespace: "__meta_kubernetes_namespace",
  pod: "__meta_kubernetes_pod_name",
  container: "__meta_kubernetes_pod_container_name",
  workload: "__meta_kubernetes_pod_label_app_kubernetes_io_name",
} as const;

/** What the shipper may do in the namespace: find the pods, and read their logs. Nothing else. */
export const LOG_SHIPPER_API_RULES: readonly KubernetesApiRule[] = [
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
  { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
];

/** An Alloy string literal (its syntax escapes like JSON). */
const str = (value: string) => JSON.stringify(value);

/**
 * config.alloy: discover the pods of the shipper's own namespace, label each container's stream,
 * tail it through the API and push it to `lokiPushUrl` with the `stack` label. A pure function of
 * its arguments.
 */
export function renderAlloyConfig(args: { stack: string; lokiPushUrl: string }): string {
  const rules = Object.entries(LOG_STREAM_LABELS).map(
    ([target, source]) => `  rule {\n    source_labels = [${str(source)}]\n    target_label  = ${str(target)}\n  }\n`,
  );
  return [
    `// Rendered by northstack (components/log-shipper.ts); edits are overwritten.\n`,
    // own_namespace: the pod list is namespaced, like the Role that allows it.
    `discovery.kubernetes "pods" {\n  role = "pod"\n  namespaces {\n    own_namespace = true\n  }\n}\n`,
    `discovery.relabel "pods" {\n  targets = discovery.kubernetes.pods.targets\n${rules.join("")}}\n`,
    `loki.source.kubernetes "pods" {\n  targets    = discovery.relabel.pods.output\n  forward_to = [loki.write.loki.receiver]\n}\n`,
    `loki.write "loki" {\n  endpoint {\n    url = ${str(args.lokiPushUrl)}\n  }\n  external_labels = {\n    stack = ${str(args.stack)},\n  }\n}\n`,
  ].join("\n");
}

/**
 * The shipper's WorkloadSpec: one replica (two would ship every line twice), its own ServiceAccount
 * with LOG_SHIPPER_API_RULES, and `config` from renderAlloyConfig. Kubernetes only: the Docker
 * runtime refuses `kubernetesApi`.
 */
export function logShipperSpec(workloadName: string, config: pulumi.Input<string>): WorkloadSpec {
  const port = MONITORING_PORTS.logShipper;
  return {
    name: workloadName,
    component: "monitoring",
    image: IMAGES.alloy.image,
    args: [
      "run",
      ALLOY_CONFIG_PATH,
      `--storage.path=${ALLOY_STORAGE_PATH}`,
      // Alloy listens on loopback by default; the kubelet's probes and Prometheus come from outside.
      `--server.http.listen-addr=0.0.0.0:${port}`,
    ],
    ports: [{ name: "http", port }],
    files: [{ path: ALLOY_CONFIG_PATH, content: config }],
    scratch: [{ mountPath: ALLOY_STORAGE_PATH }, { mountPath: "/tmp" }],
    // The image has neither wget nor curl. Kubernetes, the shipper's only runtime, probes /-/ready
    // over HTTP; the exec check only re-parses the config.
    health: { exec: ["/bin/alloy", "fmt", ALLOY_CONFIG_PATH], httpGet: { path: "/-/ready", port }, startSeconds: 30 },
    resources: { cpuMillis: 200, memoryMb: 256 },
    user: { uid: IMAGES.alloy.uid, gid: IMAGES.alloy.gid },
    serviceAccount: { name: workloadName },
    kubernetesApi: {
      rules: LOG_SHIPPER_API_RULES,
      reason:
        "Grafana Alloy lists the namespace's pods and tails their logs through the API (pods/log) to ship them to Loki",
    },
    metrics: { port, path: "/metrics" },
  };
}
