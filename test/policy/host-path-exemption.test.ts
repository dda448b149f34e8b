/**
 * node_exporter's host paths on Docker: refused by containers-least-privilege unless the container
 * names that policy's exemption with a reason, which the runtime adds from WorkloadSpec.hostPaths;
 * then reported as advisory, naming the reason and each suppressed finding.
 */
import { nodeExporterSpec } from "../../components/cluster-metrics";
import { LEAST_PRIVILEGE_POLICY, hostPathExemption } from "../../components/workload";
import { evaluatePolicies } from "../../policy/evaluate";
import { containersLeastPrivilege } from "../../policy/policies";
import { PlannedResource } from "../../scripts/lib/mock-program";
import { dockerContainer } from "./fixtures";

const spec = nodeExporterSpec("monitoring-node-exporter", "monitoring-prometheus");

/** A Docker container with node_exporter's read-only host mounts, as the Docker runtime renders them. */
function nodeExporterLike(labels: Record<string, string>): PlannedResource {
  const inputs = {
    ...dockerContainer().props,
    user: "65534:65534",
    volumes: spec.hostPaths!.mounts.map((m) => ({ hostPath: m.hostPath, containerPath: m.mountPath, readOnly: true })),
    labels: Object.entries(labels).map(([label, value]) => ({ label, value })),
  };
  const type = "docker:index/container:Container";
  return {
    urn: `urn:pulumi:test::northstack::${type}::node-exporter`,
    type,
    name: "node-exporter",
    parent: null,
    custom: true,
    provider: null,
    inputs,
    plainInputs: inputs,
    dependencies: [],
    secretPaths: [],
  };
}

const evaluate = (resource: PlannedResource) =>
  evaluatePolicies([resource], {
    stack: "test",
    policyConfig: { all: "mandatory" },
    policies: [containersLeastPrivilege],
  });

test("the exemption the runtime adds names containers-least-privilege, the pack's own policy", () => {
  expect(LEAST_PRIVILEGE_POLICY).toBe(containersLeastPrivilege.name);
  expect(hostPathExemption(spec)).toEqual({
    "northstack.io/policy-exempt": "containers-least-privilege",
    "northstack.io/policy-exempt-reason": spec.hostPaths!.reason,
  });
  expect(hostPathExemption({})).toEqual({});
});

test("a node_exporter-like container without the named exemption is refused for each host path", async () => {
  const found = await evaluate(nodeExporterLike({}));
  expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
    ["mandatory", expect.stringContaining('volumes[0] bind-mounts the host path "/proc"')],
    ["mandatory", expect.stringContaining('volumes[1] bind-mounts the host path "/sys"')],
    ["mandatory", expect.stringContaining('volumes[2] bind-mounts the host path "/"')],
  ]);
});

test("with the exemption the runtime adds, each host path is reported as advisory, naming the reason", async () => {
  const found = await evaluate(nodeExporterLike(hostPathExemption(spec)));
  expect(found).toHaveLength(3);
  for (const v of found) {
    expect(v.enforcementLevel).toBe("advisory");
    expect(v.message).toContain(`exempt from containers-least-privilege (reason: "${spec.hostPaths!.reason}")`);
  }
});

test("an exemption naming another policy exempts nothing here", async () => {
  const found = await evaluate(
    nodeExporterLike({
      "northstack.io/policy-exempt": "containers-run-as-non-root",
      "northstack.io/policy-exempt-reason": "wrong policy",
    }),
  );
  expect(found.map((v) => v.enforcementLevel)).toEqual(["mandatory", "mandatory", "mandatory"]);
});
