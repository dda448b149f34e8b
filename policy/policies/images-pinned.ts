import { ResourceValidationPolicy } from "@pulumi/policy";
import { checkPinnedImage } from "../../components/config";
import { UNKNOWN, get, isUnknown, show } from "./framework";
import { DOCKER_CONTAINER, ECS_TASK_DEFINITION, containersOf, ecsContainers, ecsWhere, podSpecOf } from "./resources";

/** A local image ID (what docker.RemoteImage.imageId resolves to) is content-addressed, hence pinned. */
const IMAGE_ID = /^sha256:[a-f0-9]{64}$/;

/**
 * Why an image reference is not pinned, or undefined. A reference unknown at preview comes from an
 * image this program builds or pulls (docker.Image / RemoteImage outputs), which is digest-bound
 * when it resolves, so it is not reported.
 */
export function imageProblem(image: unknown): string | undefined {
  if (isUnknown(image)) return undefined;
  if (typeof image !== "string" || image === "") return `image ${show(image)} is missing`;
  if (IMAGE_ID.test(image)) return undefined;
  const problem = checkPinnedImage(image);
  return problem && `image ${show(image)} ${problem}`;
}

export const imagesPinned: ResourceValidationPolicy = {
  name: "images-pinned",
  description: "Every container image is pinned to a version tag or a sha256 digest: no `latest`, no untagged references.",
  remediationSteps:
    "Use an exact version tag (postgres:15.8-alpine) or, better, a digest (name@sha256:...). Third-party images are pinned in components/images.ts; " +
    "set northstack:apiImage to a released tag. Renovate or Dependabot can bump pinned tags.",
  severity: "medium",
  validateResource: (args, report) => {
    const props = args.props;
    if (args.type === DOCKER_CONTAINER || args.type === "docker:index/remoteImage:RemoteImage") {
      const problem = imageProblem(args.type === DOCKER_CONTAINER ? props.image : props.name);
      if (problem) report(`${args.type} ${args.name}: ${problem}.`);
      return;
    }
    if (args.type === ECS_TASK_DEFINITION) {
      const { containers, problem } = ecsContainers(props);
      if (problem) report(`ECS task definition ${args.name}: ${problem}; cannot verify its images.`);
      containers.forEach((c, i) => {
        const p = imageProblem(c.image);
        if (p) report(`ECS task definition ${args.name} ${ecsWhere(c, i)}: ${p}.`);
      });
      return;
    }
    const pod = podSpecOf(args.type, props);
    if (!pod || pod.spec === UNKNOWN) return;
    for (const { container, where } of containersOf(pod)) {
      const problem = imageProblem(get(container, "image"));
      if (problem) report(`${args.type} ${args.name} ${where}: ${problem}.`);
    }
  },
};
