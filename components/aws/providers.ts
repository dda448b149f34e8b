import * as aws from "@pulumi/aws";
import { CANADIAN_REGIONS } from "../config/schema";
import { checkRegion } from "../config/checks";

export interface AwsProviders {
  /** Everything the stack stores lives here (ca-central-1 unless config says ca-west-1). */
  readonly primary: aws.Provider;
  /** Only disaster-recovery copies: RDS automated-backup replicas and the replicated backup bucket. */
  readonly dr: aws.Provider;
}

/** Tags every AWS resource of the stack carries, through the providers' default tags. */
export function awsDefaultTags(stack: string): Record<string, string> {
  return { "northstack:project": "northstack", "northstack:stack": stack, "northstack:managed-by": "pulumi" };
}

/** Throws unless both regions are Canadian and distinct; runs before any provider is registered. */
export function validateAwsRegions(region: string, drRegion: string): void {
  const problems = [
    ["region", region],
    ["drRegion", drRegion],
  ].flatMap(([key, value]) => {
    const problem = checkRegion("aws", value);
    return problem ? [`${key} ${JSON.stringify(value)} ${problem}`] : [];
  });
  if (region === drRegion)
    problems.push(`drRegion ${JSON.stringify(drRegion)} equals region; DR copies need the other Canadian region`);
  if (problems.length) throw new Error(`AWS providers: ${problems.join("; ")}`);
}

/**
 * Explicit providers, so that no resource silently follows an ambient AWS_REGION or `aws:region`
 * outside Canada.
 */
export function awsProviders(
  stack: string,
  region: string = CANADIAN_REGIONS.aws.primary,
  drRegion: string = CANADIAN_REGIONS.aws.dr,
): AwsProviders {
  validateAwsRegions(region, drRegion);
  const defaultTags = { tags: awsDefaultTags(stack) };
  return {
    primary: new aws.Provider("aws-primary", { region, defaultTags }),
    dr: new aws.Provider("aws-dr", { region: drRegion, defaultTags }),
  };
}
