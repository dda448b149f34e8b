import { imagesByDigest as policy } from "../../policy/policies";
import { container, deployment, dockerContainer, messages, podSpec } from "./fixtures";

const digest = `sha256:${"a".repeat(64)}`;

test.each([`ghcr.io/northstack/api@${digest}`, `ghcr.io/northstack/api:0.1.0@${digest}`, digest])(
  "an image bound to its digest passes: %s",
  async (image) => {
    expect(await messages(policy, dockerContainer({ image }))).toEqual([]);
  },
);

test("a tag without a digest is reported, with the fix", async () => {
  expect(await messages(policy, dockerContainer({ image: "ghcr.io/northstack/api:0.1.0" }))).toEqual([
    expect.stringMatching(/"ghcr\.io\/northstack\/api:0\.1\.0" is referenced by tag only.*; fix: deploy it by digest/),
  ]);
});

test("every Kubernetes container list is read: an init container by tag is reported", async () => {
  const spec = podSpec({
    initContainers: [container("init", { image: "busybox:1.36" })],
    containers: [container("api", { image: `api@${digest}` })],
  });
  expect(await messages(policy, deployment(spec))).toEqual([expect.stringContaining('"busybox:1.36"')]);
});

test("a missing image is images-pinned's finding, not this policy's", async () => {
  expect(await messages(policy, dockerContainer({ image: "" }))).toEqual([]);
});
