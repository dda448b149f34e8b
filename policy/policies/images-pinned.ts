import { ResourceValidationArgs } from "@pulumi/policy";
import { checkPinnedImage } from "../../components/config/checks";
import {
  Finding,
  PolicyDefinition,
  UNKNOWN,
  cannotVerify,
  finding,
  get,
  isUnknown,
  show,
  unknownFindings,
} from "../lib/framework";
import {
  DOCKER_CONTAINER,
  ECS_TASK_DEFINITION,
  containerListPaths,
  containersOf,
  ecsContainers,
  ecsWhere,
  podSpecOf,
} from "../lib/resources";

const PIN = "pin it to an exact version tag (postgres:15.8-alpine) or a digest (name@sha256:...)";

/** A local image ID (what docker.RemoteImage.imageId resolves to) is content-addressed, hence pinned. */
const IMAGE_ID = /^sha256:[a-f0-9]{64}$/;

/**
 * Why an image reference is not pinned, or undefined. A reference unknown at preview comes from an
 * image this program builds or pulls (docker.Image / RemoteImage outputs), which is digest-bound
 * when it resolves, so it is not reported.
 */
export function imageProblem(image: unknown): Finding | undefined {
  if (isUnknown(image)) return undefined;
  if (typeof image !== "string" || image === "")
    return finding(`image ${show(image)} is missing`, `set the image and ${PIN}`);
  if (IMAGE_ID.test(image)) return undefined;
  const problem = checkPinnedImage(image);
  return problem ? finding(`image ${show(image)} ${problem}`, PIN) : undefined;
}

/**
 * Applies `check` to every image reference a resource declares: Docker containers and remote images,
 * ECS task definitions, and every container list of every pod-bearing Kubernetes kind. Shared by the
 * policies that judge images.
 */
export function visitImages(
  args: ResourceValidationArgs,
  report: (where: string, finding: Finding) => void,
  check: (image: unknown) => Finding | undefined,
): void {
  const props = args.props;
  if (args.type === DOCKER_CONTAINER || args.type === "docker:index/remoteImage:RemoteImage") {
    const problem = check(args.type === DOCKER_CONTAINER ? props.image : props.name);
    if (problem) report(`${args.type} ${args.name}`, problem);
    return;
  }
  if (args.type === ECS_TASK_DEFINITION) {
    const { containers, problem } = ecsContainers(props, "its images");
    if (problem) report(`ECS task definition ${args.name}`, problem);
    containers.forEach((c, i) => {
      const p = check(c.image);
      if (p) report(`ECS task definition ${args.name} ${ecsWhere(c, i)}`, p);
    });
    return;
  }
  const pod = podSpecOf(args.type, props);
  if (!pod) return;
  if (pod.spec === UNKNOWN) {
    report(`${args.type} ${args.name}`, cannotVerify(pod.path, "its images"));
    return;
  }
  for (const f of unknownFindings(pod.spec, containerListPaths(), "its images", pod.path))
    report(`${args.type} ${args.name}`, f);
  for (const { container, where } of containersOf(pod)) {
    const problem = check(get(container, "image"));
    if (problem) report(`${args.type} ${args.name} ${where}`, problem);
  }
}

export const imagesPinned: PolicyDefinition = {
  name: "images-pinned",
  description:
    "Every container image is pinned to a version tag or a sha256 digest: no `latest`, no untagged references.",
  remediationSteps:
    "Use an exact version tag (postgres:15.8-alpine) or, better, a digest (name@sha256:...). Third-party images are pinned in components/images.ts; " +
    "set northstack:apiImage to a released tag. Renovate or Dependabot can bump pinned tags.",
  severity: "medium",
  validateResource: (args, report) => visitImages(args, report, imageProblem),
};
