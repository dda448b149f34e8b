import { PolicyResource, ReportViolation, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { CANADIAN_REGIONS } from "../../components/config";
import { Props, UNKNOWN, asArray, configOf, get, isUnknown, show } from "./framework";

export type Cloud = "aws" | "gcp";

export interface ResidencyConfig {
  readonly allowedAwsRegions: string[];
  readonly allowedGcpRegions: string[];
}

/** A zone names its region: ca-central-1a (aws), northamerica-northeast1-b (gcp). */
function regionOfZone(cloud: Cloud, location: string): string {
  if (cloud === "aws") return /^([a-z]{2}(?:-[a-z]+)+-\d+)[a-z]$/.exec(location)?.[1] ?? location;
  return /^([a-z]+-[a-z]+\d+)-[a-z]$/.exec(location)?.[1] ?? location;
}

/**
 * Why a region, zone or location is not allowed, or undefined. Unknown values are reported as
 * "cannot verify"; undefined means the field is not set (the caller knows whether it must be).
 */
export function locationProblem(cloud: Cloud, field: string, value: unknown, allowed: readonly string[]): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (isUnknown(value)) return `${field} is unknown at preview: cannot verify that it is in Canada`;
  if (typeof value !== "string") return `${field} ${show(value)} is not a region`;
  const region = regionOfZone(cloud, value.toLowerCase());
  if (allowed.includes(region)) return undefined;
  return `${field} ${show(value)} is outside the allowed ${cloud} locations (${allowed.join(", ")})`;
}

/** The region inside an ARN (arn:partition:service:region:account:resource), if it has one. */
function arnRegion(arn: string): string | undefined {
  const parts = arn.split(":");
  return parts[0] === "arn" && parts.length > 4 && parts[3] ? parts[3] : undefined;
}

const allowedFor = (cloud: Cloud, cfg: ResidencyConfig) => (cloud === "aws" ? cfg.allowedAwsRegions : cfg.allowedGcpRegions);

/** [field path, value] pairs that place this resource's data somewhere. */
function locatedFields(cloud: Cloud, type: string, props: Props): [string, unknown][] {
  const fields: [string, unknown][] = [];
  const add = (path: string, value: unknown) => fields.push([path, value]);
  const each = (path: string, values: unknown) => asArray(values).forEach((v, i) => add(`${path}[${i}]`, v));
  add("region", props.region);
  if (cloud === "aws") {
    add("availabilityZone", props.availabilityZone);
    add("destinationRegion", props.destinationRegion);
    each("availabilityZones", props.availabilityZones);
    each("preferredCacheClusterAzs", props.preferredCacheClusterAzs);
    asArray(props.replicas).forEach((r, i) => add(`replicas[${i}].regionName`, get(r, "regionName")));
    if (type === "aws:backup/plan:Plan") {
      asArray(props.rules).forEach((rule, i) =>
        asArray(get(rule, "copyActions")).forEach((copy, j) => {
          const arn = get(copy, "destinationVaultArn");
          add(`rules[${i}].copyActions[${j}].destinationVaultArn`, typeof arn === "string" && !isUnknown(arn) ? arnRegion(arn) ?? arn : arn);
        }),
      );
    }
  } else {
    add("location", props.location);
    add("zone", props.zone);
    add("locationId", props.locationId);
    add("alternativeLocationId", props.alternativeLocationId);
    add("settings.locationPreference.zone", get(props, "settings", "locationPreference", "zone"));
    add("settings.locationPreference.secondaryZone", get(props, "settings", "locationPreference", "secondaryZone"));
    add("settings.backupConfiguration.location", get(props, "settings", "backupConfiguration", "location"));
    each("customPlacementConfig.dataLocations", get(props, "customPlacementConfig", "dataLocations"));
    each("nodeLocations", props.nodeLocations);
    asArray(get(props, "replication", "userManaged", "replicas")).forEach((r, i) => add(`replication.userManaged.replicas[${i}].location`, get(r, "location")));
  }
  return fields;
}

const PROVIDER_TYPES: Record<string, Cloud> = { "pulumi:providers:aws": "aws", "pulumi:providers:gcp": "gcp" };
const S3_BUCKETS = new Set(["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"]);
const S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig";

function checkProvider(cloud: Cloud, name: string, props: Props, cfg: ResidencyConfig, report: ReportViolation): void {
  const allowed = allowedFor(cloud, cfg);
  const located = cloud === "aws" ? [["region", props.region]] : [["region", props.region], ["zone", props.zone]];
  if (located.every(([, v]) => v === undefined || v === "")) {
    report(`${cloud} provider ${name} has no region configured: cannot verify that its resources stay in Canada; set ${cloud}:region (one of ${allowed.join(", ")}).`);
    return;
  }
  for (const [field, value] of located) {
    const problem = locationProblem(cloud, String(field), value, allowed);
    if (problem) report(`${cloud} provider ${name}: ${problem}.`);
  }
}

/** Where a bucket lives: its own region (aws v7), else its provider's. */
function bucketRegion(bucket: PolicyResource): unknown {
  return bucket.props.region ?? bucket.provider?.props.region;
}

/** S3 replication destinations are ARNs without a region; find the destination bucket in the stack. */
function checkReplicationDestinations(resources: PolicyResource[], cfg: ResidencyConfig, report: ReportViolation): void {
  const buckets = resources.filter((r) => S3_BUCKETS.has(r.type));
  const byName = new Map<string, PolicyResource>();
  for (const b of buckets) {
    const name = typeof b.props.bucket === "string" && !isUnknown(b.props.bucket) ? b.props.bucket : b.name;
    byName.set(name, b);
  }
  for (const config of resources.filter((r) => r.type === S3_REPLICATION)) {
    asArray(config.props.rules).forEach((rule, i) => {
      const arn = get(rule, "destination", "bucket");
      const where = `S3 replication ${config.name} rules[${i}].destination.bucket`;
      let destination: PolicyResource | undefined;
      if (typeof arn === "string" && !isUnknown(arn)) {
        destination = byName.get(arn.split(":").pop() ?? arn);
      } else {
        // Unknown at preview: the destination is a bucket this replication depends on, other than its source.
        const source = config.props.bucket;
        const candidates = (config.dependencies ?? []).filter((d) => S3_BUCKETS.has(d.type) && d.props.bucket !== source && d.name !== source);
        destination = candidates.length === 1 ? candidates[0] : undefined;
      }
      if (!destination) {
        report(`${where} ${show(arn === UNKNOWN ? "unknown at preview" : arn)} is not a bucket managed by this stack: cannot verify that the copy stays in Canada.`, config.urn);
        return;
      }
      const problem = locationProblem("aws", "region", bucketRegion(destination), cfg.allowedAwsRegions);
      if (problem) report(`${where} replicates to bucket ${destination.name}, whose ${problem}.`, config.urn);
      else if (bucketRegion(destination) === undefined) report(`${where}: the region of destination bucket ${destination.name} is not known: cannot verify that the copy stays in Canada.`, config.urn);
    });
  }
}

const configSchema = {
  properties: {
    allowedAwsRegions: {
      type: "array" as const,
      items: { type: "string" as const },
      default: [...CANADIAN_REGIONS.aws.allowed],
      description: "AWS regions where data may be stored or copied (zones are checked by their region).",
    },
    allowedGcpRegions: {
      type: "array" as const,
      items: { type: "string" as const },
      default: [...CANADIAN_REGIONS.gcp.allowed],
      description: "GCP regions where data may be stored or copied; multi-regions such as US or NAM4 are never allowed.",
    },
  },
};

export const dataResidencyCanada: ResourceValidationPolicy & StackValidationPolicy = {
  name: "data-residency-canada",
  description:
    "All data stays in Canada (PIPEDA): every AWS and GCP provider, including default providers, every resource region/location/zone, and every " +
    "copy or replication destination (S3 replication, RDS backup replication, AWS Backup copy actions, Cloud SQL replicas) is in an allowed region.",
  remediationSteps:
    "Set aws:region / gcp:region in the stack config to a Canadian region (AWS ca-central-1, DR ca-west-1; GCP northamerica-northeast1, DR " +
    "northamerica-northeast2) and pass explicit providers only for those regions. Replace multi-region GCS locations (US, NAM4, ...) with a Canadian " +
    "region, point copies and replicas at Canadian regions, and make values that are unknown at preview known (plain config rather than outputs).",
  severity: "critical",
  configSchema,
  validateResource: (args, report) => {
    const cfg = configOf<ResidencyConfig>(dataResidencyCanada, args);
    const providerCloud = PROVIDER_TYPES[args.type];
    if (providerCloud) {
      checkProvider(providerCloud, args.name, args.props, cfg, report);
      return;
    }
    const cloud = args.type.split(":")[0];
    if (cloud !== "aws" && cloud !== "gcp") return;
    for (const [field, value] of locatedFields(cloud, args.type, args.props)) {
      const problem = locationProblem(cloud, field, value, allowedFor(cloud, cfg));
      if (problem) report(`${args.type} ${args.name}: ${problem}.`);
    }
    if (args.type === "gcp:secretmanager/secret:Secret" && get(args.props, "replication", "auto") !== undefined) {
      report(`${args.type} ${args.name}: replication.auto lets Google store the secret in any region; use replication.userManaged with Canadian locations.`);
    }
  },
  validateStack: (args, report) => {
    checkReplicationDestinations(args.resources, configOf<ResidencyConfig>(dataResidencyCanada, args), report);
  },
};
