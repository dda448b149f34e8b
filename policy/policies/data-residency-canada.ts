import { PolicyResource } from "@pulumi/policy";
import { CANADIAN_REGIONS } from "../../components/config/schema";
import {
  Finding,
  PolicyDefinition,
  Props,
  asArray,
  cannotVerify,
  configOf,
  finding,
  get,
  isUnknown,
  show,
} from "../lib/framework";

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

const WHAT = "that the data stays in Canada";
const REGION_FIX = (cloud: Cloud, allowed: readonly string[]) =>
  `use a Canadian ${cloud} location (${allowed.join(", ")})`;

/**
 * Why a region, zone or location is not allowed, or undefined. Unknown values are reported as
 * "cannot verify"; undefined means the field is not set (the caller knows whether it must be).
 */
export function locationProblem(
  cloud: Cloud,
  field: string,
  value: unknown,
  allowed: readonly string[],
): Finding | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (isUnknown(value)) return cannotVerify(field, WHAT);
  if (typeof value !== "string") return finding(`${field} ${show(value)} is not a region`, REGION_FIX(cloud, allowed));
  const region = regionOfZone(cloud, value.toLowerCase());
  if (allowed.includes(region)) return undefined;
  return finding(
    `${field} ${show(value)} is outside the allowed ${cloud} locations (${allowed.join(", ")})`,
    REGION_FIX(cloud, allowed),
  );
}

/** The region inside an ARN (arn:partition:service:region:account:resource), if it has one. */
function arnRegion(arn: string): string | undefined {
  const parts = arn.split(":");
  return parts[0] === "arn" && parts.length > 4 && parts[3] ? parts[3] : undefined;
}

const allowedFor = (cloud: Cloud, cfg: ResidencyConfig) =>
  cloud === "aws" ? cfg.allowedAwsRegions : cfg.allowedGcpRegions;

/** [field path, value] pairs that place this resource's data somewhere; an unknown list is one unknown value. */
function locatedFields(cloud: Cloud, type: string, props: Props): [string, unknown][] {
  const fields: [string, unknown][] = [];
  const add = (path: string, value: unknown) => fields.push([path, value]);
  const each = (path: string, values: unknown, read: (v: unknown) => unknown = (v) => v, field = "") =>
    isUnknown(values)
      ? add(path, values)
      : asArray(values).forEach((v, i) => add(`${path}[${i}]${field}`, isUnknown(v) ? v : read(v)));
  add("region", props.region);
  if (cloud === "aws") {
    add("availabilityZone", props.availabilityZone);
    add("destinationRegion", props.destinationRegion);
    each("availabilityZones", props.availabilityZones);
    each("preferredCacheClusterAzs", props.preferredCacheClusterAzs);
    each("replicas", props.replicas, (r) => get(r, "regionName"), ".regionName");
    if (type === "aws:backup/plan:Plan") {
      each("rules", props.rules, () => undefined);
      asArray(props.rules).forEach((rule, i) =>
        each(
          `rules[${i}].copyActions`,
          get(rule, "copyActions"),
          (copy) => {
            const arn = get(copy, "destinationVaultArn");
            return typeof arn === "string" && !isUnknown(arn) ? (arnRegion(arn) ?? arn) : arn;
          },
          ".destinationVaultArn",
        ),
      );
    }
    if (type === "aws:ecr/replicationConfiguration:ReplicationConfiguration") {
      const rules = get(props, "replicationConfiguration", "rules");
      each("replicationConfiguration.rules", rules, () => undefined);
      asArray(rules).forEach((rule, i) =>
        each(
          `replicationConfiguration.rules[${i}].destinations`,
          get(rule, "destinations"),
          (d) => get(d, "region"),
          ".region",
        ),
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
    each(
      "replication.userManaged.replicas",
      get(props, "replication", "userManaged", "replicas"),
      (r) => get(r, "location"),
      ".location",
    );
  }
  return fields;
}

const PROVIDER_TYPES: Record<string, Cloud> = { "pulumi:providers:aws": "aws", "pulumi:providers:gcp": "gcp" };
const S3_BUCKETS = new Set(["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"]);
const S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig";
const GCS_BUCKET = "gcp:storage/bucket:Bucket";
const TRANSFER_JOB = "gcp:storage/transferJob:TransferJob";

function checkProvider(
  cloud: Cloud,
  name: string,
  props: Props,
  cfg: ResidencyConfig,
  report: (subject: string, f: Finding) => void,
): void {
  const allowed = allowedFor(cloud, cfg);
  const located =
    cloud === "aws"
      ? [["region", props.region]]
      : [
          ["region", props.region],
          ["zone", props.zone],
        ];
  if (located.every(([, v]) => v === undefined || v === "")) {
    report(
      `${cloud} provider ${name}`,
      finding(
        `has no region configured, so ${WHAT} cannot be verified`,
        `set ${cloud}:region to one of ${allowed.join(", ")}`,
      ),
    );
    return;
  }
  for (const [field, value] of located) {
    const problem = locationProblem(cloud, String(field), value, allowed);
    if (problem) report(`${cloud} provider ${name}`, problem);
  }
}

/** Where a bucket lives: its own region (aws v7), else its provider's. */
function bucketRegion(bucket: PolicyResource): unknown {
  return bucket.props.region ?? bucket.provider?.props.region;
}

const known = (v: unknown): v is string => typeof v === "string" && !isUnknown(v);

/**
 * The buckets a copy may go to when its destination name is unknown at preview: the buckets the
 * destination property depends on (or, without property dependencies, the whole resource does),
 * other than the source.
 */
function destinationCandidates(
  copy: PolicyResource,
  property: string,
  types: ReadonlySet<string>,
  isSource: (b: PolicyResource) => boolean,
): PolicyResource[] {
  const byProperty = copy.propertyDependencies?.[property];
  const pool = byProperty && byProperty.length > 0 ? byProperty : (copy.dependencies ?? []);
  return pool.filter((d) => types.has(d.type) && !isSource(d));
}

/** Reports each destination that is outside Canada, or the copy as unverifiable when there is none to check. */
function checkDestinations(
  subject: string,
  copy: PolicyResource,
  destinations: PolicyResource[],
  regionOf: (b: PolicyResource) => unknown,
  cloud: Cloud,
  cfg: ResidencyConfig,
  report: (subject: string, f: Finding, urn: string) => void,
): void {
  const allowed = allowedFor(cloud, cfg);
  if (destinations.length === 0) {
    report(
      subject,
      finding(
        `the destination is not a bucket managed by this stack, so ${WHAT} cannot be verified`,
        "copy only to a bucket this stack creates in a Canadian region",
      ),
      copy.urn,
    );
    return;
  }
  for (const destination of destinations) {
    const region = regionOf(destination);
    const problem = locationProblem(cloud, "region", region, allowed);
    if (problem)
      report(subject, finding(`copies to bucket ${destination.name}, whose ${problem.problem}`, problem.fix), copy.urn);
    else if (region === undefined)
      report(
        subject,
        finding(
          `the region of destination bucket ${destination.name} is not known, so ${WHAT} cannot be verified`,
          "give the destination bucket (or its provider) a Canadian region",
        ),
        copy.urn,
      );
  }
}

/** S3 replication: destinations are ARNs without a region; find the destination bucket in the stack. */
function checkS3Replication(
  resources: readonly PolicyResource[],
  cfg: ResidencyConfig,
  report: (subject: string, f: Finding, urn: string) => void,
): void {
  const byName = new Map<string, PolicyResource>();
  for (const b of resources.filter((r) => S3_BUCKETS.has(r.type))) {
    byName.set(b.name, b);
    if (known(b.props.bucket)) byName.set(b.props.bucket, b);
  }
  for (const config of resources.filter((r) => r.type === S3_REPLICATION)) {
    const subject = `S3 replication ${config.name}`;
    if (isUnknown(config.props.rules)) {
      report(subject, cannotVerify("rules", WHAT), config.urn);
      continue;
    }
    const source = config.props.bucket;
    const sources = new Set((config.propertyDependencies?.bucket ?? []).map((d) => d.urn));
    const isSource = (b: PolicyResource) =>
      sources.has(b.urn) || (known(source) && (b.props.bucket === source || b.name === source));
    asArray(config.props.rules).forEach((rule, i) => {
      const arn = get(rule, "destination", "bucket");
      const where = `${subject} rules[${i}].destination.bucket`;
      const named = known(arn) ? byName.get(arn.split(":").pop() ?? arn) : undefined;
      const destinations = named
        ? [named]
        : known(arn)
          ? []
          : destinationCandidates(config, "rules", S3_BUCKETS, isSource);
      checkDestinations(where, config, destinations, bucketRegion, "aws", cfg, report);
    });
  }
}

/** GCS Transfer Service jobs: the sink bucket must be a Canadian bucket of this stack. */
function checkTransferJobs(
  resources: readonly PolicyResource[],
  cfg: ResidencyConfig,
  report: (subject: string, f: Finding, urn: string) => void,
): void {
  const buckets = resources.filter((r) => r.type === GCS_BUCKET);
  const byName = new Map<string, PolicyResource>();
  for (const b of buckets) {
    byName.set(b.name, b);
    if (known(b.props.name)) byName.set(b.props.name, b);
  }
  for (const job of resources.filter((r) => r.type === TRANSFER_JOB)) {
    const subject = `GCS transfer job ${job.name}`;
    const spec = job.props.transferSpec;
    if (isUnknown(spec)) {
      report(subject, cannotVerify("transferSpec", WHAT), job.urn);
      continue;
    }
    if (get(spec, "posixDataSink") !== undefined) {
      report(
        subject,
        finding(
          `transferSpec.posixDataSink copies to a file system outside the stack, so ${WHAT} cannot be verified`,
          "copy to a Canadian GCS bucket of this stack",
        ),
        job.urn,
      );
    }
    const sink = get(spec, "gcsDataSink", "bucketName");
    if (sink === undefined) continue;
    const sourceName = get(spec, "gcsDataSource", "bucketName");
    const isSource = (b: PolicyResource) => known(sourceName) && (b.props.name === sourceName || b.name === sourceName);
    const named = known(sink) ? byName.get(sink) : undefined;
    const destinations = named
      ? [named]
      : known(sink)
        ? []
        : destinationCandidates(job, "transferSpec", new Set([GCS_BUCKET]), isSource);
    checkDestinations(
      `${subject} transferSpec.gcsDataSink.bucketName`,
      job,
      destinations,
      (b) => b.props.location,
      "gcp",
      cfg,
      report,
    );
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
      description:
        "GCP regions where data may be stored or copied; multi-regions such as US or NAM4 are never allowed.",
    },
  },
};

export const dataResidencyCanada: PolicyDefinition = {
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
      if (problem) report(`${args.type} ${args.name}`, problem);
    }
    if (args.type === "gcp:secretmanager/secret:Secret" && get(args.props, "replication", "auto") !== undefined) {
      report(
        `${args.type} ${args.name}`,
        finding(
          "replication.auto lets Google store the secret in any region",
          "use replication.userManaged with Canadian replica locations",
        ),
      );
    }
  },
  validateStack: (args, report) => {
    const cfg = configOf<ResidencyConfig>(dataResidencyCanada, args);
    checkS3Replication(args.resources, cfg, report);
    checkTransferJobs(args.resources, cfg, report);
  },
};
