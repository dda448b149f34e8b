/**
 * npx ts-node --transpile-only scripts/stack-cloud.ts <stack>
 *
 * Prints `cloud=aws` or `cloud=gcp` for a cloud stack, read from Pulumi.<stack>.yaml with the
 * defaults of Pulumi.yaml, the way the Pulumi CLI hands config to the program. The workflows append
 * it to $GITHUB_OUTPUT to pick the cloud's OIDC login. Exit 2 for a stack that is not on a cloud.
 */
import { PROJECT_ROOT } from "./lib/plan";
import { readStackConfig } from "./lib/stack-config";

export const CLOUDS = ["aws", "gcp"] as const;

export function stackCloud(root: string, stack: string): (typeof CLOUDS)[number] {
  const cloud = readStackConfig(root, stack).config["northstack:cloud"];
  const known = CLOUDS.find((c) => c === cloud);
  if (!known) {
    throw new Error(
      `northstack:cloud: ${JSON.stringify(cloud)} on stack ${stack} is not a cloud CI can log in to; set ${CLOUDS.join(" or ")} in Pulumi.${stack}.yaml`,
    );
  }
  return known;
}

if (require.main === module) {
  const stack = process.argv[2];
  try {
    if (!stack) throw new Error("usage: npx ts-node --transpile-only scripts/stack-cloud.ts <stack>");
    console.log(`cloud=${stackCloud(PROJECT_ROOT, stack)}`);
  } catch (e) {
    console.error(`stack-cloud: ${(e as Error).message}`);
    process.exit(2);
  }
}
