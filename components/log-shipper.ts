/**
 * The log shipper: Grafana Alloy pushing every container's output to Loki with the same labels on
 * both runtimes (`stack`, `workload`, `pod`, `container`; `namespace` on Kubernetes only, as with
 * metrics), so one LogQL query or dashboard works on dev and in a cluster.
 *
 * Kubernetes: Alloy tails every pod's logs in the stack's namespace through the API (`pods/log`).
 * That needs no host path, no root and no DaemonSet, so it runs unchanged on GKE Autopilot; its one
 * privilege is a namespaced Role to list and watch pods and read their logs, declared as the
 * workload's `kubernetesApi` with its reason.
 *
 * Docker: the Docker daemon itself delivers each container's output to Alloy, as GELF over UDP to a
 * port Alloy publishes on 127.0.0.1 (the runtime sets every container's `gelf` log driver, see
 * runtime/docker.ts dockerLogging). Alloy gets no host access at all, so it needs no policy
 * exemption. The options weighed, least privilege first:
 * - GELF from the daemon (chosen): a logging driver built into every Docker engine, set per
 *   container by this program; no socket, no host path, no root. Costs: lines written while Alloy is
 *   down are missing from Loki (they stay in `docker logs`), and any process on the host's loopback
 *   can send the intake a line, as it can already reach every other published port on dev.
 * - Alloy's `loki.source.docker` on the Docker socket: the socket is full control of the host (start
 *   a privileged container, mount `/`), so it would need a `containers-least-privilege` exemption,
 *   and a uid in the socket's group.
 * - A read-only socket proxy allowing only GET /containers: still a socket mount, in a proxy that
 *   runs as root or the docker group; and `loki.source.docker` inspects each container
 *   (GET /containers/{id}/json), which returns every container's environment, secrets included.
 * - Alloy reading /var/lib/docker/containers/<id>/<id>-json.log: the directory is root-only, so
 *   Alloy would run as root or with CAP_DAC_READ_SEARCH, and beside each log lies config.v2.json with
 *   that container's environment, secrets included.
 * - Docker's `loki` logging driver: a plugin installed on the host with `docker plugin install`,
 *   outside this program and not reviewable in a plan.
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

/** The UDP port Alloy takes GELF on inside its container, on Docker. */
export const GELF_PORT = 12201;

/**
 * The labels every log stream carries on Docker, and the GELF field each comes from: Docker's
 * gelf driver adds `_container_name` (one replica, as a pod is) and `_tag`, which the runtime sets
 * to the workload's name. On Kubernetes a pod's container is named after its workload too.
 */
export const DOCKER_LOG_STREAM_LABELS = {
  pod: "_container_name",
  container: "_tag",
  workload: "_tag",
} as const;

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
    lokiWrite(args),
  ].join("\n");
}

/**
 * config.alloy on Docker: take GELF on GELF_PORT, label each line from its GELF fields
 * (DOCKER_LOG_STREAM_LABELS), keep the line itself as the log line, and push it to `lokiPushUrl`
 * with the `stack` label. A pure function of its arguments.
 */
export function renderDockerAlloyConfig(args: { stack: string; lokiPushUrl: string }): string {
  const fields = [...new Set(Object.values(DOCKER_LOG_STREAM_LABELS))];
  const extracted = (field: string) => `gelf${field}`;
  const expressions = [
    ...fields.map((f) => `      ${extracted(f)} = ${str(f)},\n`),
    `      message = "short_message",\n`,
  ];
  const labels = Object.entries(DOCKER_LOG_STREAM_LABELS).map(
    ([label, field]) => `      ${label} = ${str(extracted(field))},\n`,
  );
  return [
    `// Rendered by northstack (components/log-shipper.ts); edits are overwritten.\n`,
    // The Docker daemon sends from the host; the runtime publishes this port on 127.0.0.1 only.
    `loki.source.gelf "docker" {\n  listen_address         = ${str(`0.0.0.0:${GELF_PORT}`)}\n  use_incoming_timestamp = true\n  forward_to             = [loki.process.docker.receiver]\n}\n`,
    `loki.process "docker" {\n` +
      `  stage.json {\n    expressions = {\n${expressions.join("")}    }\n  }\n\n` +
      `  stage.labels {\n    values = {\n${labels.join("")}    }\n  }\n\n` +
      `  stage.output {\n    source = "message"\n  }\n\n` +
      `  forward_to = [loki.write.loki.receiver]\n}\n`,
    lokiWrite(args),
  ].join("\n");
}

/** The shared tail of both configs: push to Loki with the `stack` label on every stream. */
function lokiWrite(args: { stack: string; lokiPushUrl: string }): string {
  return `loki.write "loki" {\n  endpoint {\n    url = ${str(args.lokiPushUrl)}\n  }\n  external_labels = {\n    stack = ${str(args.stack)},\n  }\n}\n`;
}

/** What the shipper is on either runtime: one replica (two would ship every line twice), Alloy as its image's user. */
function shipperBase(workloadName: string, config: pulumi.Input<string>) {
  const port = MONITORING_PORTS.logShipper;
  return {
    name: workloadName,
    component: "monitoring",
    image: IMAGES.alloy.image,
    args: [
      "run",
      ALLOY_CONFIG_PATH,
      `--storage.path=${ALLOY_STORAGE_PATH}`,
      // Alloy listens on loopback by default; probes and Prometheus come from outside.
      `--server.http.listen-addr=0.0.0.0:${port}`,
    ],
    files: [{ path: ALLOY_CONFIG_PATH, content: config }],
    scratch: [{ mountPath: ALLOY_STORAGE_PATH }, { mountPath: "/tmp" }],
    resources: { cpuMillis: 200, memoryMb: 256 },
    user: { uid: IMAGES.alloy.uid, gid: IMAGES.alloy.gid },
    metrics: { port, path: "/metrics" },
  } satisfies Partial<WorkloadSpec>;
}

/**
 * The shipper on Docker: `config` from renderDockerAlloyConfig, GELF_PORT published on
 * 127.0.0.1:`intakePort` (UDP) for the Docker daemon, and nothing of the host mounted.
 */
export function dockerLogShipperSpec(
  workloadName: string,
  config: pulumi.Input<string>,
  intakePort: number,
): WorkloadSpec {
  const base = shipperBase(workloadName, config);
  return {
    ...base,
    ports: [
      { name: "http", port: base.metrics.port },
      { name: "gelf", port: GELF_PORT, hostPort: intakePort, protocol: "udp" },
    ],
    // The image has neither wget nor curl, and Docker can only exec: the check re-parses the config.
    health: { exec: ["/bin/alloy", "fmt", ALLOY_CONFIG_PATH], startSeconds: 30 },
  };
}

/**
 * The shipper on Kubernetes: its own ServiceAccount with LOG_SHIPPER_API_RULES, and `config` from
 * renderAlloyConfig. The Docker runtime refuses `kubernetesApi`; dockerLogShipperSpec is Docker's.
 */
export function logShipperSpec(workloadName: string, config: pulumi.Input<string>): WorkloadSpec {
  const base = shipperBase(workloadName, config);
  const port = base.metrics.port;
  return {
    ...base,
    ports: [{ name: "http", port }],
    // The image has neither wget nor curl. Kubernetes probes /-/ready over HTTP; the exec check only
    // re-parses the config.
    health: { exec: ["/bin/alloy", "fmt", ALLOY_CONFIG_PATH], httpGet: { path: "/-/ready", port }, startSeconds: 30 },
    serviceAccount: { name: workloadName },
    kubernetesApi: {
      rules: LOG_SHIPPER_API_RULES,
      reason:
        "Grafana Alloy lists the namespace's pods and tails their logs through the API (pods/log) to ship them to Loki",
    },
  };
}
