import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { CANADIAN_REGIONS } from "../config/schema";
import { checkRegion } from "../config/checks";

export interface GcpContext {
  /** Explicit provider pinned to the primary Canadian region. */
  readonly provider: gcp.Provider;
  readonly region: string;
  readonly drRegion: string;
  readonly projectId: pulumi.Output<string>;
  /** Project number: names the Google service agents that need access to keys and buckets. */
  readonly projectNumber: pulumi.Output<string>;
}

/** Labels every GCP resource of the stack carries, through the provider's default labels. */
export function gcpDefaultLabels(stack: string): Record<string, string> {
  return {
    "northstack-project": "northstack",
    "northstack-stack": stack.toLowerCase().replace(/[^a-z0-9_-]/g, "-"),
    "northstack-managed-by": "pulumi",
  };
}

/** Throws unless both regions are Canadian and distinct. GCS multi-regions such as US or NAM4 are refused here too. */
export function validateGcpRegions(region: string, drRegion: string): void {
  const problems = [
    ["region", region],
    ["drRegion", drRegion],
  ].flatMap(([key, value]) => {
    const problem = checkRegion("gcp", value);
    return problem ? [`${key} ${JSON.stringify(value)} ${problem}`] : [];
  });
  if (region === drRegion)
    problems.push(`drRegion ${JSON.stringify(drRegion)} equals region; DR copies need the other Canadian region`);
  if (problems.length) throw new Error(`GCP provider: ${problems.join("; ")}`);
}

/**
 * An explicit provider in the primary region, so that nothing follows an ambient `gcp:region`. The
 * project is `gcp:project` when set, else the one the credentials default to.
 */
export function gcpContext(
  stack: string,
  region: string = CANADIAN_REGIONS.gcp.primary,
  drRegion: string = CANADIAN_REGIONS.gcp.dr,
): GcpContext {
  validateGcpRegions(region, drRegion);
  const project = new pulumi.Config("gcp").get("project");
  const provider = new gcp.Provider("gcp-primary", { region, project, defaultLabels: gcpDefaultLabels(stack) });
  const found = gcp.organizations.getProjectOutput(project ? { projectId: project } : {}, { provider });
  return {
    provider,
    region,
    drRegion,
    projectId: project ? pulumi.output(project) : found.apply((p) => p.projectId ?? ""),
    projectNumber: found.number,
  };
}
