import { Finding, PolicyDefinition, finding, isUnknown } from "../lib/framework";
import { visitImages } from "./images-pinned";

/** A local image ID (what docker.RemoteImage.imageId resolves to) is content-addressed. */
const IMAGE_ID = /^sha256:[a-f0-9]{64}$/;

/**
 * Why an image reference is not bound to a digest, or undefined. A tag can be moved to other
 * content after review; a digest cannot. References unknown at preview come from images this program
 * builds or pulls, which resolve to digests, and are not reported. A missing or malformed reference
 * is images-pinned's finding, not this one's.
 */
export function digestProblem(image: unknown): Finding | undefined {
  if (isUnknown(image) || typeof image !== "string" || image === "") return undefined;
  if (IMAGE_ID.test(image) || /@sha256:[a-f0-9]{64}$/.test(image)) return undefined;
  return finding(
    `image ${JSON.stringify(image)} is referenced by tag only, which its registry can move to other content`,
    `deploy it by digest (name@sha256:...): CI passes the built API image's digest as northstack:apiImage`,
  );
}

export const imagesByDigest: PolicyDefinition = {
  name: "images-by-digest",
  description:
    "Every container image is referenced by sha256 digest, so what runs is exactly what was reviewed and scanned.",
  remediationSteps:
    "Reference images as name@sha256:... (a tag may stay in front of the digest). The deploy workflows pass the API image by digest; " +
    "third-party images in components/images.ts can add their digests. Advisory in every shipped pack config: pinned tags remain allowed.",
  severity: "low",
  validateResource: (args, report) => visitImages(args, report, digestProblem),
};
