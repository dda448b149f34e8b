import { imagesPinned as policy } from "../../policy/policies";
import { container, cronJob, deployment, dockerContainer, messages, podSpec } from "./fixtures";

const digest = `sha256:${"a".repeat(64)}`;

test.each([
  "postgres:15.8-alpine",
  `ghcr.io/northstack/api@${digest}`,
  `ghcr.io/northstack/api:0.1.0@${digest}`,
  "localhost:5000/api:1.2.3",
  digest,
])("passes the pinned reference %s", async (image) => {
  expect(await messages(policy, dockerContainer({ image }))).toEqual([]);
});

test.each([
  ["postgres:latest", /mutable tag 'latest'/],
  ["postgres", /has no tag/],
  ["ghcr.io/northstack/api", /has no tag/],
  ["localhost:5000/api", /has no tag/],
  ["Not An Image!", /not a valid image reference/],
])("rejects %s on Docker", async (image, expected) => {
  expect(await messages(policy, dockerContainer({ image }))).toEqual([expect.stringMatching(expected)]);
});

test("rejects an unpinned docker.RemoteImage", async () => {
  expect(
    await messages(policy, {
      type: "docker:index/remoteImage:RemoteImage",
      name: "redis",
      props: { name: "redis:latest" },
    }),
  ).toEqual([expect.stringMatching(/latest/)]);
});

test("checks every Kubernetes container list, and CronJobs", async () => {
  const spec = podSpec({
    initContainers: [container("init", { image: "busybox" })],
    containers: [container("api", { image: "api:latest" })],
  });
  expect(await messages(policy, deployment(spec))).toEqual([
    expect.stringContaining('containers[0] "api": image "api:latest" uses the mutable tag'),
    expect.stringContaining('initContainers[0] "init": image "busybox" has no tag'),
  ]);
  expect(
    await messages(policy, cronJob(podSpec({ containers: [container("backup", { image: "postgres" })] }))),
  ).toHaveLength(1);
});

test("does not report an image unknown at preview (built or pulled by this program, digest-bound)", async () => {
  expect(await messages(policy, dockerContainer({ image: "[unknown]" }))).toEqual([]);
});

test("reports a pod spec or container list unknown at preview as cannot verify", async () => {
  const input = deployment();
  (input.props.spec as Record<string, unknown>).template = { spec: "[unknown]" };
  expect(await messages(policy, input)).toEqual([
    expect.stringMatching(/spec.template.spec is unknown at preview, so its images cannot be verified; fix: /),
  ]);
  expect(await messages(policy, deployment(podSpec({ initContainers: "[unknown]" })))).toEqual([
    expect.stringContaining("initContainers is unknown at preview"),
  ]);
});
