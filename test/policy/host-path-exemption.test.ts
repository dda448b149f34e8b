/**
 * node_exporter's host paths, on Docker and on Kubernetes: refused by containers-least-privilege
 * unless the container or the DaemonSet names that policy's host-paths control with a reason, which
 * the runtimes add from WorkloadSpec.hostPaths, and its "privileged" namespace the
 * namespace-pod-security control; then reported as advisory, naming the reason and each suppressed
 * finding. Each exemption covers its control alone: any other privilege is still refused.
 */
import { NODE_METRICS_NAMESPACE, nodeExporterSpec } from "../../components/cluster-metrics";
import { controllerManifest } from "../../components/runtime/kubernetes/controllers";
import { namespaceManifest, workloadMeta } from "../../components/runtime/kubernetes/manifest";
import {
  EXEMPT_ANNOTATION,
  EXEMPT_REASON_ANNOTATION,
  HOST_PATHS_CONTROL,
  LEAST_PRIVILEGE_POLICY,
  NAMESPACE_POD_SECURITY_CONTROL,
  hostPathExemption,
  podSecurityLevelOf,
} from "../../components/workload";
import { evaluatePolicies } from "../../policy/evaluate";
import { containersLeastPrivilege, containersRunAsNonRoot, workloadsHaveLimitsAndProbes } from "../../policy/policies";
import { PlannedResource } from "../../scripts/lib/mock-program";
import { plannedResource } from "../../scripts/lib/planned-resource";
import { dockerContainer } from "./fixtures";

const spec = nodeExporterSpec("monitoring-node-exporter", "monitoring-prometheus");
const reason = spec.hostPaths!.reason;
type Obj = Record<string, unknown>;

const planned = (type: string, name: string, inputs: Obj) => plannedResource("test", type, name, inputs);

/** A Docker container with node_exporter's read-only host mounts, as the Docker runtime renders them. */
function nodeExporterLike(labels: Record<string, string>): PlannedResource {
  return planned("docker:index/container:Container", "node-exporter", {
    ...dockerContainer().props,
    user: "65534:65534",
    volumes: spec.hostPaths!.mounts.map((m) => ({ hostPath: m.hostPath, containerPath: m.mountPath, readOnly: true })),
    labels: Object.entries(labels).map(([label, value]) => ({ label, value })),
  });
}

/** node_exporter's DaemonSet as the Kubernetes runtime renders it, with its annotations replaced by `annotations`. */
function daemonSet(annotations: Record<string, string>, changePod: (pod: Obj) => Obj = (pod) => pod): PlannedResource {
  const meta = workloadMeta(spec, "prod", `northstack-prod-${NODE_METRICS_NAMESPACE}`);
  const manifest = controllerManifest(spec, meta, {}, {}).manifest as unknown as {
    metadata: Obj;
    spec: { template: { metadata: { annotations: Record<string, string> }; spec: Obj } };
  };
  const clean = (a: Record<string, string>) =>
    Object.fromEntries(Object.entries(a).filter(([k]) => k !== EXEMPT_ANNOTATION && k !== EXEMPT_REASON_ANNOTATION));
  const template = manifest.spec.template;
  return planned("kubernetes:apps/v1:DaemonSet", "monitoring-node-exporter", {
    ...manifest,
    metadata: {
      ...manifest.metadata,
      annotations: { ...clean(manifest.metadata.annotations as Record<string, string>), ...annotations },
    },
    spec: {
      ...manifest.spec,
      template: {
        metadata: { ...template.metadata, annotations: { ...clean(template.metadata.annotations), ...annotations } },
        spec: changePod(template.spec),
      },
    },
  });
}

const evaluate = (resources: PlannedResource[]) =>
  evaluatePolicies(resources, {
    stack: "test",
    policyConfig: { all: "mandatory" },
    policies: [containersLeastPrivilege, containersRunAsNonRoot, workloadsHaveLimitsAndProbes],
  });
const levels = (found: { enforcementLevel: string; message: string }[]) =>
  found.map((v) => [v.enforcementLevel, v.message]);

test("the exemption the runtimes add names the host-paths control of containers-least-privilege, the pack's own policy", () => {
  expect(LEAST_PRIVILEGE_POLICY).toBe(containersLeastPrivilege.name);
  expect(hostPathExemption(spec)).toEqual({
    "northstack.io/policy-exempt": `containers-least-privilege/${HOST_PATHS_CONTROL}`,
    "northstack.io/policy-exempt-reason": reason,
  });
  expect(hostPathExemption({})).toEqual({});
});

test("a node_exporter-like container without the named exemption is refused for each host path", async () => {
  expect(levels(await evaluate([nodeExporterLike({})]))).toEqual([
    ["mandatory", expect.stringContaining('volumes[0] bind-mounts the host path "/proc"')],
    ["mandatory", expect.stringContaining('volumes[1] bind-mounts the host path "/sys"')],
    ["mandatory", expect.stringContaining('volumes[2] bind-mounts the host path "/"')],
  ]);
});

test("with the exemption the Docker runtime adds, each host path is reported as advisory, naming the reason", async () => {
  const found = await evaluate([nodeExporterLike(hostPathExemption(spec))]);
  expect(found).toHaveLength(3);
  for (const v of found) {
    expect(v.enforcementLevel).toBe("advisory");
    expect(v.message).toContain(`exempt from containers-least-privilege/host-paths (reason: "${reason}")`);
  }
});

test("an exemption naming another policy, or a control the policy does not have, exempts nothing", async () => {
  const other = await evaluate([
    nodeExporterLike({ [EXEMPT_ANNOTATION]: "containers-run-as-non-root", [EXEMPT_REASON_ANNOTATION]: "wrong policy" }),
  ]);
  expect(other.filter((v) => v.policy === "containers-least-privilege").map((v) => v.enforcementLevel)).toEqual([
    "mandatory",
    "mandatory",
    "mandatory",
  ]);
  const control = await evaluate([
    nodeExporterLike({
      [EXEMPT_ANNOTATION]: "containers-least-privilege/host-path",
      [EXEMPT_REASON_ANNOTATION]: "typo",
    }),
  ]);
  expect(levels(control)).toEqual([
    [
      "mandatory",
      "node-exporter: declares northstack.io/policy-exempt: containers-least-privilege/host-path, which is not a control of containers-least-privilege, so nothing is exempted; fix: name containers-least-privilege or one of containers-least-privilege/host-paths, containers-least-privilege/namespace-pod-security.",
    ],
    ["mandatory", expect.stringContaining('bind-mounts the host path "/proc"')],
    ["mandatory", expect.stringContaining('bind-mounts the host path "/sys"')],
    ["mandatory", expect.stringContaining('bind-mounts the host path "/"')],
  ]);
});

test("node_exporter's DaemonSet: its host paths are advisory with the runtime's exemption, and the same pod without it is refused", async () => {
  const exempted = await evaluate([daemonSet(hostPathExemption(spec))]);
  expect(levels(exempted)).toEqual(
    ["host-0", "host-1", "host-2"].map((volume) => [
      "advisory",
      expect.stringMatching(
        new RegExp(
          `^exempt from containers-least-privilege/host-paths \\(reason: "node_exporter .*"\\); suppressed finding: .*volume "${volume}" is a hostPath volume`,
        ),
      ),
    ]),
  );
  expect(levels(await evaluate([daemonSet({})]))).toEqual(
    ["host-0", "host-1", "host-2"].map((volume) => [
      "mandatory",
      expect.stringContaining(`volume "${volume}" is a hostPath volume`),
    ]),
  );
});

test("the host-paths exemption lets nothing else through: host namespaces, capabilities or root on the same pod are still refused", async () => {
  const widened = daemonSet(hostPathExemption(spec), (pod) => ({
    ...pod,
    hostNetwork: true,
    hostPID: true,
    containers: (pod.containers as Obj[]).map((c) => ({
      ...c,
      securityContext: {
        ...(c.securityContext as Obj),
        capabilities: { drop: ["ALL"], add: ["SYS_ADMIN"] },
        runAsUser: 0,
      },
    })),
  }));
  const found = await evaluate([widened]);
  const mandatory = found.filter((v) => v.enforcementLevel === "mandatory").map((v) => [v.policy, v.message]);
  expect(mandatory).toEqual(
    expect.arrayContaining([
      ["containers-least-privilege", expect.stringContaining("hostNetwork: true shares a host namespace")],
      ["containers-least-privilege", expect.stringContaining("hostPID: true shares a host namespace")],
      ["containers-least-privilege", expect.stringContaining("capabilities add SYS_ADMIN")],
      ["containers-run-as-non-root", expect.stringContaining("runAsUser")],
    ]),
  );
  // The host paths alone stay advisory.
  expect(found.filter((v) => v.enforcementLevel === "advisory").map((v) => v.message)).toEqual(
    ["host-0", "host-1", "host-2"].map((volume) => expect.stringContaining(`volume "${volume}" is a hostPath volume`)),
  );
});

test("node_exporter's 'privileged' namespace names its exemption of the namespace-pod-security control, reported as advisory, and is refused without it", async () => {
  const name = `northstack-prod-${NODE_METRICS_NAMESPACE}`;
  const namespace = (annotations?: Record<string, string>, level = podSecurityLevelOf(spec)) =>
    planned(
      "kubernetes:core/v1:Namespace",
      "node-metrics",
      namespaceManifest(name, {}, level, annotations) as unknown as Obj,
    );
  const exemption = {
    [EXEMPT_ANNOTATION]: `containers-least-privilege/${NAMESPACE_POD_SECURITY_CONTROL}`,
    [EXEMPT_REASON_ANNOTATION]: "node_exporter's host paths",
  };
  expect(levels(await evaluate([namespace(exemption)]))).toEqual([
    [
      "advisory",
      `exempt from containers-least-privilege/namespace-pod-security (reason: "node_exporter's host paths"); suppressed finding: Namespace node-metrics: pod-security.kubernetes.io/enforce is "privileged", which admits pods that Pod Security "restricted" refuses; fix: label it pod-security.kubernetes.io/enforce: restricted, or, for a host agent's own namespace, name the exemption containers-least-privilege/namespace-pod-security with a reason.`,
    ],
  ]);
  expect(levels(await evaluate([namespace()]))).toEqual([
    ["mandatory", expect.stringContaining('pod-security.kubernetes.io/enforce is "privileged"')],
  ]);
  // The pods' host-paths exemption does not cover the namespace: its notice, and the finding stands.
  expect(levels(await evaluate([namespace(hostPathExemption(spec))]))).toEqual([
    ["advisory", `exempt from containers-least-privilege/host-paths (reason: "${reason}")`],
    ["mandatory", expect.stringContaining('pod-security.kubernetes.io/enforce is "privileged"')],
  ]);
  // A restricted namespace is clean; one without the label is refused.
  expect(await evaluate([namespace(undefined, "restricted")])).toEqual([]);
  expect(
    levels(await evaluate([planned("kubernetes:core/v1:Namespace", "bare", { metadata: { name: "bare" } })])),
  ).toEqual([["mandatory", expect.stringContaining("has no pod-security.kubernetes.io/enforce label")]]);
});
