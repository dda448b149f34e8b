/**
 * The log shipper as data: the rendered Alloy configs, component by component and label by label;
 * the Role and RoleBinding `kubernetesApi` turns into; the API token on the shipper's pods alone; its
 * egress to the API server; on Docker, the GELF intake the daemon sends every container's output to.
 *
 * No Alloy binary exists on this machine (nor a Docker engine), so nothing here proves that Alloy
 * runs the config or that the daemon delivers: the config is checked as text, and structurally by
 * test/helpers/alloy-syntax.ts against the components and arguments documented for Alloy, and the
 * objects against the official Kubernetes schema.
 */
import {
  DOCKER_LOG_STREAM_LABELS,
  GELF_PORT,
  LOG_SHIPPER_API_RULES,
  LOG_STREAM_LABELS,
  dockerLogShipperSpec,
  logShipperSpec,
  renderAlloyConfig,
  renderDockerAlloyConfig,
} from "../../components/log-shipper";
import { dockerLogging } from "../../components/runtime/docker";
import { validateForKubernetes } from "../../components/runtime/kubernetes/pod";
import { alloyProblems, parseAlloy } from "../helpers/alloy-syntax";
import { MONITORING_PORTS } from "../../components/monitoring-config";
import { lokiSpec } from "../../components/monitoring-specs";
import { validateForDocker } from "../../components/runtime/docker";
import { apiAccessManifests } from "../../components/runtime/kubernetes/config-objects";
import { workloadEgressRules, wideEgressReason } from "../../components/runtime/kubernetes/network-policy";
import { podSpecFor } from "../../components/runtime/kubernetes/pod";
import { WorkloadSpec, validateWorkload } from "../../components/workload";
import { validateObject } from "../helpers/k8s-schema";

const shipper = logShipperSpec("monitoring-log-shipper", "// config\n");
const meta = { namespace: "northstack-prod", labels: { "app.kubernetes.io/name": "monitoring-log-shipper" } };
const plain: WorkloadSpec = {
  name: "web",
  component: "app",
  image: "nginx:1.27",
  health: { exec: ["true"] },
  resources: { cpuMillis: 100, memoryMb: 64 },
  user: { uid: 101, gid: 101 },
};

test("the Alloy config discovers the namespace's pods, labels each stream and pushes to Loki with the stack", () => {
  const config = renderAlloyConfig({
    stack: "prod",
    lokiPushUrl: "http://loki.ns.svc.cluster.local:3100/loki/api/v1/push",
  });
  expect(config).toBe(
    [
      "// Rendered by northstack (components/log-shipper.ts); edits are overwritten.",
      "",
      'discovery.kubernetes "pods" {',
      '  role = "pod"',
      "  namespaces {",
      "    own_namespace = true",
      "  }",
      "}",
      "",
      'discovery.relabel "pods" {',
      "  targets = discovery.kubernetes.pods.targets",
      "  rule {",
      '    source_labels = ["__meta_kubernetes_namespace"]',
      '    target_label  = "namespace"',
      "  }",
      "  rule {",
      '    source_labels = ["__meta_kubernetes_pod_name"]',
      '    target_label  = "pod"',
      "  }",
      "  rule {",
      '    source_labels = ["__meta_kubernetes_pod_container_name"]',
      '    target_label  = "container"',
      "  }",
      "  rule {",
      '    source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]',
      '    target_label  = "workload"',
      "  }",
      "}",
      "",
      'loki.source.kubernetes "pods" {',
      "  targets    = discovery.relabel.pods.output",
      "  forward_to = [loki.write.loki.receiver]",
      "}",
      "",
      'loki.write "loki" {',
      "  endpoint {",
      '    url = "http://loki.ns.svc.cluster.local:3100/loki/api/v1/push"',
      "  }",
      "  external_labels = {",
      '    stack = "prod",',
      "  }",
      "}",
      "",
    ].join("\n"),
  );
});

test("string values are quoted, so a stack name cannot break out of its literal", () => {
  expect(renderAlloyConfig({ stack: 'a"b', lokiPushUrl: "http://l" })).toContain('stack = "a\\"b",');
});

test("the shipper is a valid non-root service with probes, limits, its own account and read-only API rules", () => {
  expect(() => validateWorkload(shipper)).not.toThrow();
  expect(shipper.user.uid).toBeGreaterThan(0);
  expect(shipper.replicas ?? 1).toBe(1);
  expect(shipper.health?.httpGet).toEqual({ path: "/-/ready", port: MONITORING_PORTS.logShipper });
  expect(shipper.args).toContain(`--server.http.listen-addr=0.0.0.0:${MONITORING_PORTS.logShipper}`);
  expect(shipper.serviceAccount).toEqual({ name: "monitoring-log-shipper" });
  expect(shipper.kubernetesApi?.rules).toEqual([
    { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
    { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
  ]);
  expect(shipper.addCapabilities ?? []).toEqual([]);
  expect(shipper.readOnlyRootFilesystem ?? true).toBe(true);
});

test("Loki admits the shipper", () => {
  expect(lokiSpec("monitoring").allowFrom).toContain("monitoring-log-shipper");
});

test("the Role grants exactly the shipper's rules in its namespace, bound to its ServiceAccount alone", () => {
  const access = apiAccessManifests(shipper, meta, "northstack-prod")!;
  expect(access.role).toEqual({
    metadata: {
      name: "monitoring-log-shipper",
      namespace: "northstack-prod",
      labels: meta.labels,
      annotations: { "northstack.io/api-access-reason": shipper.kubernetesApi!.reason },
    },
    rules: [
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
    ],
  });
  expect(access.binding).toEqual({
    metadata: { name: "monitoring-log-shipper", namespace: "northstack-prod", labels: meta.labels },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "monitoring-log-shipper" },
    subjects: [{ kind: "ServiceAccount", name: "monitoring-log-shipper", namespace: "northstack-prod" }],
  });
  // Namespaced rules only: nothing cluster-wide.
  expect(access.clusterRole).toBeUndefined();
  expect(access.clusterBinding).toBeUndefined();
  expect(
    validateObject("kubernetes:rbac.authorization.k8s.io/v1:Role", {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      ...access.role,
    }),
  ).toEqual([]);
  expect(
    validateObject("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      ...access.binding,
    }),
  ).toEqual([]);
  expect(apiAccessManifests(plain, meta, "northstack-prod")).toBeUndefined();
});

test("only a workload with kubernetesApi mounts the API token", () => {
  expect(podSpecFor(shipper, {}).automountServiceAccountToken).toBe(true);
  expect(podSpecFor(shipper, {}).serviceAccountName).toBe("monitoring-log-shipper");
  expect(podSpecFor(plain, {}).automountServiceAccountToken).toBe(false);
  expect(podSpecFor({ ...plain, serviceAccount: { name: "web" } }, {}).automountServiceAccountToken).toBe(false);
});

test("the shipper may leave for the API server on 443 only, and its policy says why that is wide", () => {
  const rules = { namespace: "northstack-prod" };
  expect(workloadEgressRules(shipper, rules)).toEqual([
    { to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [{ protocol: "TCP", port: 443 }] },
  ]);
  expect(wideEgressReason(shipper, rules)).toMatch(
    /^any address on TCP 443: the Kubernetes API server .* not known at plan time$/,
  );
  expect(workloadEgressRules(plain, rules)).toEqual([]);
  expect(wideEgressReason(plain, rules)).toBeUndefined();
});

test.each<[string, Partial<WorkloadSpec>, RegExp]>([
  [
    "no ServiceAccount",
    { kubernetesApi: { rules: LOG_SHIPPER_API_RULES, reason: "r" } },
    /kubernetesApi needs a serviceAccount/,
  ],
  [
    "an empty reason",
    { serviceAccount: { name: "web" }, kubernetesApi: { rules: LOG_SHIPPER_API_RULES, reason: " " } },
    /kubernetesApi.reason is empty/,
  ],
  [
    "no rules",
    { serviceAccount: { name: "web" }, kubernetesApi: { rules: [], reason: "r" } },
    /kubernetesApi.rules is empty/,
  ],
  [
    "a wildcard resource",
    {
      serviceAccount: { name: "web" },
      kubernetesApi: { rules: [{ apiGroups: [""], resources: ["*"], verbs: ["get"] }], reason: "r" },
    },
    /kubernetesApi.rules\[0\]: "\*" is a wildcard/,
  ],
  [
    "a verb that widens access",
    {
      serviceAccount: { name: "web" },
      kubernetesApi: {
        rules: [{ apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles"], verbs: ["escalate"] }],
        reason: "r",
      },
    },
    /verb "escalate" is not allowed; allowed: get, list, watch/,
  ],
])("kubernetesApi with %s is refused", (_, change, message) => {
  expect(() => validateWorkload({ ...plain, ...change })).toThrow(message);
});

test("Docker refuses kubernetesApi, saying there is no API there", () => {
  expect(() => validateForDocker(shipper)).toThrow(
    'workload "monitoring-log-shipper" on docker: kubernetesApi is not supported; there is no Kubernetes API on Docker',
  );
  expect(() => validateForDocker(plain)).not.toThrow();
});

describe("on Docker", () => {
  const pushUrl = "http://monitoring-loki:3100/loki/api/v1/push";
  const config = renderDockerAlloyConfig({ stack: "dev", lokiPushUrl: pushUrl });
  const dockerShipper = dockerLogShipperSpec("monitoring-log-shipper", config, 12201);

  test("the Alloy config takes GELF, labels each line from the daemon's fields, keeps the line itself and pushes it with the stack", () => {
    expect(config).toBe(
      [
        "// Rendered by northstack (components/log-shipper.ts); edits are overwritten.",
        "",
        'loki.source.gelf "docker" {',
        '  listen_address         = "0.0.0.0:12201"',
        "  use_incoming_timestamp = true",
        "  forward_to             = [loki.process.docker.receiver]",
        "}",
        "",
        'loki.process "docker" {',
        "  stage.json {",
        "    expressions = {",
        '      gelf_container_name = "_container_name",',
        '      gelf_tag = "_tag",',
        '      message = "short_message",',
        "    }",
        "  }",
        "",
        "  stage.labels {",
        "    values = {",
        '      pod = "gelf_container_name",',
        '      container = "gelf_tag",',
        '      workload = "gelf_tag",',
        "    }",
        "  }",
        "",
        "  stage.output {",
        '    source = "message"',
        "  }",
        "",
        "  forward_to = [loki.write.loki.receiver]",
        "}",
        "",
        'loki.write "loki" {',
        "  endpoint {",
        `    url = "${pushUrl}"`,
        "  }",
        "  external_labels = {",
        '    stack = "dev",',
        "  }",
        "}",
        "",
      ].join("\n"),
    );
  });

  test("both configs hold together: known components and arguments only, every reference defined", () => {
    expect(alloyProblems(config)).toEqual([]);
    expect(alloyProblems(renderAlloyConfig({ stack: "prod", lokiPushUrl: pushUrl }))).toEqual([]);
    expect(parseAlloy(config).map((b) => `${b.name}.${b.label}`)).toEqual([
      "loki.source.gelf.docker",
      "loki.process.docker",
      "loki.write.loki",
    ]);
  });

  test.each([
    [
      "a dangling reference",
      (c: string) => c.replace("loki.process.docker.receiver", "loki.process.dockr.receiver"),
      /names no component/,
    ],
    [
      "an unknown argument",
      (c: string) => c.replace("use_incoming_timestamp", "use_incoming_timestmp"),
      /unknown argument use_incoming_timestmp/,
    ],
    [
      "a missing forward_to",
      (c: string) => c.replace(/ {2}forward_to {13}= \[loki\.process\.docker\.receiver\]\n/, ""),
      /missing argument forward_to/,
    ],
    [
      "an export the component lacks",
      (c: string) => c.replace("loki.write.loki.receiver", "loki.write.loki.output"),
      /exports no output/,
    ],
  ])("the structural check catches %s", (_, broken, problem) => {
    expect(alloyProblems(broken(config)).join("; ")).toMatch(problem);
  });

  test("the structural check refuses broken syntax", () => {
    expect(() => parseAlloy(config.replace('stack = "dev",\n  }', 'stack = "dev",\n'))).toThrow(/expected/);
    expect(() => parseAlloy('loki.write "x" { endpoint { url = "u } }')).toThrow();
  });

  test("streams carry the Kubernetes shipper's labels; only namespace, which Docker lacks, is missing, as on Docker's metrics", () => {
    expect(Object.keys(DOCKER_LOG_STREAM_LABELS).sort()).toEqual(
      Object.keys(LOG_STREAM_LABELS)
        .filter((l) => l !== "namespace")
        .sort(),
    );
  });

  test("string values are quoted here too", () => {
    expect(renderDockerAlloyConfig({ stack: 'a"b', lokiPushUrl: "http://l" })).toContain('stack = "a\\"b",');
  });

  test("the shipper is a valid non-root service with no host access: no API rules, no socket, only a UDP port on 127.0.0.1", () => {
    expect(() => validateWorkload(dockerShipper)).not.toThrow();
    expect(() => validateForDocker(dockerShipper)).not.toThrow();
    expect(dockerShipper.user.uid).toBeGreaterThan(0);
    expect(dockerShipper.kubernetesApi).toBeUndefined();
    expect(dockerShipper.serviceAccount).toBeUndefined();
    expect(dockerShipper.volumes ?? []).toEqual([]);
    expect(dockerShipper.addCapabilities ?? []).toEqual([]);
    expect(dockerShipper.annotations ?? {}).toEqual({});
    expect(dockerShipper.ports).toEqual([
      { name: "http", port: MONITORING_PORTS.logShipper },
      { name: "gelf", port: GELF_PORT, hostPort: 12201, protocol: "udp" },
    ]);
    expect(dockerShipper.health?.exec).toEqual(["/bin/alloy", "fmt", "/etc/alloy/config.alloy"]);
  });

  test("a UDP port is Docker's alone: the Kubernetes runtime refuses it rather than serve it as TCP", () => {
    expect(() => validateForKubernetes(dockerShipper, "ingress")).toThrow(
      /port gelf=12201 is udp; Kubernetes workloads here serve TCP only/,
    );
    expect(() => validateForKubernetes(shipper, "ingress")).not.toThrow();
  });

  test("with an intake, the daemon sends each container's output there as GELF, tagged with its workload, never blocking it; without, json-file as before", () => {
    expect(dockerLogging({ name: "api" }, 12201)).toEqual({
      logDriver: "gelf",
      logOpts: {
        "gelf-address": "udp://127.0.0.1:12201",
        tag: "api",
        mode: "non-blocking",
        "max-buffer-size": "4m",
        "cache-max-size": "10m",
        "cache-max-file": "3",
      },
    });
    expect(dockerLogging({ name: "api" })).toEqual({
      logDriver: "json-file",
      logOpts: { "max-size": "10m", "max-file": "3" },
    });
  });
});
