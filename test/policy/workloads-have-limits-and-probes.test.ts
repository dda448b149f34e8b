import { workloadsHaveLimitsAndProbes as policy } from "../../policy/policies";
import { container, cronJob, deployment, dockerContainer, messages, podSpec } from "./fixtures";

test("passes a hardened Docker service and a Kubernetes Deployment with requests, limits and probes", async () => {
  expect(await messages(policy, dockerContainer())).toEqual([]);
  expect(await messages(policy, deployment())).toEqual([]);
});

test("does not require probes from run-to-completion workloads", async () => {
  expect(await messages(policy, dockerContainer({ restart: "no", healthcheck: undefined }))).toEqual([]);
  expect(
    await messages(
      policy,
      cronJob(podSpec({ containers: [container("backup", { readinessProbe: undefined, livenessProbe: undefined })] })),
    ),
  ).toEqual([]);
});

test.each([
  [{ memory: undefined }, /no memory limit/],
  [{ cpus: undefined }, /no CPU limit/],
  [{ healthcheck: undefined }, /no health check/],
  [{ healthcheck: { tests: ["NONE"] } }, /no health check/],
])("rejects a Docker service with %j", async (override, expected) => {
  expect(await messages(policy, dockerContainer(override))).toEqual([expect.stringMatching(expected)]);
});

test("rejects missing requests, limits and probes on Kubernetes containers", async () => {
  const spec = podSpec({
    containers: [container("api", { resources: { limits: { memory: "256Mi" } }, livenessProbe: undefined })],
  });
  expect(await messages(policy, deployment(spec))).toEqual([
    expect.stringContaining("resources.requests.cpu is not set"),
    expect.stringContaining("resources.requests.memory is not set"),
    expect.stringContaining("resources.limits.cpu is not set"),
    expect.stringContaining("livenessProbe is not set"),
  ]);
});

test("init containers need limits but not probes; sidecars (restartPolicy Always) need probes", async () => {
  const plainInit = container("init", { readinessProbe: undefined, livenessProbe: undefined });
  expect(await messages(policy, deployment(podSpec({ initContainers: [plainInit] })))).toEqual([]);
  const noLimits = container("init", { resources: {}, readinessProbe: undefined, livenessProbe: undefined });
  expect(await messages(policy, deployment(podSpec({ initContainers: [noLimits] })))).toHaveLength(4);
  const sidecar = container("proxy", { restartPolicy: "Always", readinessProbe: undefined });
  expect(await messages(policy, deployment(podSpec({ initContainers: [sidecar] })))).toEqual([
    expect.stringContaining('initContainers[0] "proxy": readinessProbe is not set'),
  ]);
});

test("rejects an ECS container without a memory limit or health check", async () => {
  const found = await messages(policy, {
    type: "aws:ecs/taskDefinition:TaskDefinition",
    name: "api",
    props: { containerDefinitions: JSON.stringify([{ name: "api", image: "api:1.0.0", user: "1000" }]) },
  });
  expect(found).toEqual([expect.stringMatching(/no memory limit/), expect.stringMatching(/no healthCheck/)]);
});

test("reports limits, health checks, probes and container lists unknown at preview as cannot verify", async () => {
  expect(await messages(policy, dockerContainer({ memory: "[unknown]" }))).toEqual([
    expect.stringMatching(
      /^Docker container api: memory is unknown at preview, so its limits and health checks cannot be verified; fix: /,
    ),
  ]);
  expect(await messages(policy, dockerContainer({ healthcheck: "[unknown]" }))).toEqual([
    expect.stringContaining("healthcheck is unknown at preview"),
  ]);
  expect(
    await messages(policy, deployment(podSpec({ containers: [container("api", { readinessProbe: "[unknown]" })] }))),
  ).toEqual([expect.stringContaining("readinessProbe is unknown at preview")]);
  expect(await messages(policy, deployment(podSpec({ containers: "[unknown]" })))).toEqual([
    expect.stringContaining("spec.template.spec.containers is unknown at preview"),
  ]);
});
