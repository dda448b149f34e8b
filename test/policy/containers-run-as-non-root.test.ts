import { containersRunAsNonRoot as policy } from "../../policy/policies";
import { container, cronJob, deployment, dockerContainer, messages, pod, podSpec } from "./fixtures";

describe("containers-run-as-non-root on Docker", () => {
  test("passes an explicit non-root uid:gid", async () => {
    expect(await messages(policy, dockerContainer())).toEqual([]);
  });

  test.each([
    ["root", /user "root" is root; fix: set user to a non-root uid:gid such as "1000:1000"/],
    ["0", /user "0" is root/],
    ["0:0", /user "0:0" is root/],
    ["0:1000", /user "0:1000" is root/],
    ["root:root", /is root/],
    ["", /no user is set/],
  ])("rejects user %j", async (user, expected) => {
    const found = await messages(policy, dockerContainer({ user }));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(expected);
    expect(found[0]).toContain("Docker container api");
  });

  test("rejects a container without a user", async () => {
    const input = dockerContainer();
    delete input.props.user;
    expect(await messages(policy, input)).toEqual([
      expect.stringMatching(/no user is set, so the image's default user/),
    ]);
  });

  test("reports a user unknown at preview as unverifiable, not as a pass", async () => {
    expect(await messages(policy, dockerContainer({ user: "[unknown]" }))).toEqual([
      expect.stringMatching(/unknown at preview/),
    ]);
  });
});

describe("containers-run-as-non-root on Kubernetes", () => {
  test("passes runAsNonRoot with a uid on the pod, inherited by every container", async () => {
    expect(await messages(policy, deployment())).toEqual([]);
  });

  test("passes runAsNonRoot: true on every container when the pod sets none", async () => {
    const spec = podSpec({
      securityContext: {},
      containers: [
        container("api", { securityContext: { runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false } }),
      ],
    });
    expect(await messages(policy, deployment(spec))).toEqual([]);
  });

  const withContainerSc = (
    sc: Record<string, unknown>,
    pod: Record<string, unknown> = podSpec().securityContext as Record<string, unknown>,
  ) =>
    podSpec({
      securityContext: pod,
      containers: [
        container("api"),
        container("sidecar", {
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, ...sc },
        }),
      ],
    });

  test.each([
    [
      "runAsUser: 1000 on the container, runAsNonRoot set nowhere",
      withContainerSc({ runAsUser: 1000 }, {}),
      /containers\[0\] "api": runAsNonRoot: true is not set[\s\S]*containers\[1\] "sidecar": runAsUser 1000 is set but runAsNonRoot: true is not/,
    ],
    [
      "runAsNonRoot: false on a container under the pod's true",
      withContainerSc({ runAsNonRoot: false }),
      /containers\[1\] "sidecar": securityContext.runAsNonRoot is false on the container, which overrides the pod/,
    ],
    [
      "runAsUser: 0 on a container under a non-root pod",
      withContainerSc({ runAsUser: 0 }),
      /containers\[1\] "sidecar": securityContext.runAsUser is 0 \(root\)/,
    ],
    [
      "runAsUser: 0 on the pod, although every container overrides it",
      withContainerSc({ runAsUser: 1000 }, { runAsNonRoot: true, runAsUser: 0 }),
      /spec.template.spec: securityContext.runAsUser is 0 \(root\)/,
    ],
    [
      "runAsNonRoot: false on the pod, although every container sets true",
      podSpec({
        securityContext: { runAsNonRoot: false },
        containers: [container("api", { securityContext: { runAsNonRoot: true } })],
      }),
      /spec.template.spec: securityContext.runAsNonRoot is false/,
    ],
  ])("rejects %s", async (_, spec, expected) => {
    const found = await messages(policy, deployment(spec));
    expect(found.join("\n")).toMatch(expected);
    expect(found.length).toBeGreaterThan(0);
  });

  test("rejects runAsNonRoot: true combined with runAsUser: 0", async () => {
    const spec = podSpec({ securityContext: { runAsNonRoot: true, runAsUser: 0 } });
    expect(await messages(policy, deployment(spec))).toEqual([
      expect.stringMatching(/spec.template.spec: securityContext.runAsUser is 0/),
    ]);
  });

  test("checks initContainers", async () => {
    const spec = podSpec({
      securityContext: {},
      containers: [container("api", { securityContext: { runAsNonRoot: true } })],
      initContainers: [container("migrate")],
    });
    expect(await messages(policy, deployment(spec))).toEqual([
      expect.stringContaining('initContainers[0] "migrate": runAsNonRoot: true is not set'),
    ]);
  });

  test("checks ephemeralContainers", async () => {
    const spec = podSpec({
      ephemeralContainers: [container("debug", { securityContext: { runAsNonRoot: false, runAsUser: 0 } })],
    });
    expect(await messages(policy, pod(spec))).toEqual([
      expect.stringContaining('ephemeralContainers[0] "debug": securityContext.runAsUser is 0'),
      expect.stringContaining('ephemeralContainers[0] "debug": securityContext.runAsNonRoot is false'),
    ]);
  });

  test("checks a CronJob through its jobTemplate", async () => {
    const found = await messages(policy, cronJob(podSpec({ securityContext: {} })));
    expect(found).toEqual([expect.stringContaining('spec.jobTemplate.spec.template.spec.containers[0] "api"')]);
  });

  test.each([
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:apps/v1:ReplicaSet",
    "kubernetes:core/v1:ReplicationController",
    "kubernetes:batch/v1:Job",
  ])("checks %s", async (type) => {
    const input = { ...deployment(podSpec({ securityContext: {} })), type };
    expect(await messages(policy, input)).toHaveLength(1);
  });

  test("reports runAsUser, a whole securityContext or a container list unknown at preview as cannot verify", async () => {
    const spec = podSpec({ securityContext: { runAsNonRoot: true, runAsUser: "[unknown]" } });
    expect(await messages(policy, deployment(spec))).toEqual([
      expect.stringMatching(
        /spec: pod.securityContext.runAsUser is unknown at preview, so a non-root user cannot be verified; fix: /,
      ),
    ]);
    expect(await messages(policy, deployment(podSpec({ securityContext: "[unknown]" })))).toEqual([
      expect.stringContaining("pod.securityContext is unknown at preview"),
    ]);
    expect(await messages(policy, deployment(podSpec({ initContainers: "[unknown]" })))).toEqual([
      expect.stringContaining("spec.template.spec.initContainers is unknown at preview"),
    ]);
    expect(await messages(policy, deployment(podSpec({ containers: [container("api"), "[unknown]"] })))).toEqual([
      expect.stringContaining("spec.template.spec.containers[1] is unknown at preview"),
    ]);
  });

  test("accepts runAsUser as a numeric string, as it may arrive after a round trip", async () => {
    expect(
      await messages(policy, deployment(podSpec({ securityContext: { runAsNonRoot: true, runAsUser: "1000" } }))),
    ).toEqual([]);
    expect(
      await messages(policy, deployment(podSpec({ securityContext: { runAsNonRoot: true, runAsUser: "0" } }))),
    ).toEqual([expect.stringContaining("securityContext.runAsUser is 0 (root); fix: ")]);
  });

  test("checks batch/v1beta1 CronJobs and PodTemplates", async () => {
    expect(
      await messages(policy, {
        ...cronJob(podSpec({ securityContext: {} })),
        type: "kubernetes:batch/v1beta1:CronJob",
      }),
    ).toHaveLength(1);
    expect(
      await messages(policy, {
        type: "kubernetes:core/v1:PodTemplate",
        name: "t",
        props: { template: { spec: podSpec({ securityContext: {} }) } },
      }),
    ).toEqual([expect.stringContaining('template.spec.containers[0] "api": runAsNonRoot: true is not set')]);
  });

  test("ignores kinds without pods", async () => {
    expect(await messages(policy, { type: "kubernetes:core/v1:Service", props: { spec: {} } })).toEqual([]);
  });
});

describe("containers-run-as-non-root on ECS", () => {
  const task = (definitions: unknown) => ({
    type: "aws:ecs/taskDefinition:TaskDefinition",
    name: "api",
    props: { family: "api", containerDefinitions: JSON.stringify(definitions) },
  });

  test("passes containers with a non-root user", async () => {
    expect(await messages(policy, task([{ name: "api", image: "api:1.0.0", user: "1000:1000" }]))).toEqual([]);
  });

  test("rejects a container definition without a user and one running as root", async () => {
    const found = await messages(
      policy,
      task([
        { name: "api", image: "api:1.0.0" },
        { name: "agent", image: "agent:1", user: "0" },
      ]),
    );
    expect(found).toEqual([
      expect.stringContaining('containerDefinitions[0] "api": no user'),
      expect.stringContaining('containerDefinitions[1] "agent": user "0" is root'),
    ]);
  });
});
