import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { Props, asArray, asBool, get, isUnknown, show } from "./framework";
import { DOCKER_CONTAINER } from "./resources";

const PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const PUBLIC_ACCESS_BLOCK_FIELDS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];
const S3_BUCKETS = new Set(["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"]);
const PUBLIC_ACLS = new Set(["public-read", "public-read-write", "authenticated-read"]);
/** Ports and images that identify a Postgres or Redis container on Docker. */
const DATA_PORTS = new Set([5432, 6379, 6543]);
const DATA_IMAGE = /(^|\/)(postgres|redis|valkey|supabase\/postgres|pgbouncer|supavisor)[:@/]/;
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
const OPEN_CIDRS = new Set(["0.0.0.0/0", "::/0"]);

function dockerDataServiceProblems(props: Props): string[] {
  const image = typeof props.image === "string" ? props.image : "";
  const ports = asArray(props.ports);
  const isDataService = DATA_IMAGE.test(image) || ports.some((p) => DATA_PORTS.has(Number(get(p, "internal"))));
  if (!isDataService) return [];
  return ports
    .filter((p) => get(p, "external") !== undefined || DATA_PORTS.has(Number(get(p, "internal"))))
    .filter((p) => !LOOPBACK.has(String(get(p, "ip"))))
    .map((p) => `publishes port ${show(get(p, "internal"))} on ${show(get(p, "ip") ?? "0.0.0.0")} (every interface unless 127.0.0.1); bind it to 127.0.0.1`);
}

const CHECKS: Record<string, (p: Props) => string[]> = {
  "aws:rds/instance:Instance": (p) => (asBool(p.publiclyAccessible) === true ? ["publiclyAccessible is true; the database gets a public endpoint"] : []),
  "aws:rds/clusterInstance:ClusterInstance": (p) => (asBool(p.publiclyAccessible) === true ? ["publiclyAccessible is true; the database gets a public endpoint"] : []),
  "gcp:sql/databaseInstance:DatabaseInstance": (p) => {
    const ip = get(p, "settings", "ipConfiguration");
    const problems: string[] = [];
    const ipv4 = get(ip, "ipv4Enabled");
    // Cloud SQL gets a public IPv4 address unless ipv4Enabled is false.
    if (isUnknown(ipv4)) problems.push("settings.ipConfiguration.ipv4Enabled is unknown at preview: cannot verify there is no public IP");
    else if (asBool(ipv4) !== false) problems.push(`settings.ipConfiguration.ipv4Enabled is ${show(ipv4)}: the instance gets a public IP; set it to false and use privateNetwork`);
    for (const n of asArray(get(ip, "authorizedNetworks"))) {
      if (OPEN_CIDRS.has(String(get(n, "value")))) problems.push(`authorizedNetworks allows ${get(n, "value")} (the whole internet)`);
    }
    return problems;
  },
  [PUBLIC_ACCESS_BLOCK]: (p) =>
    PUBLIC_ACCESS_BLOCK_FIELDS.filter((f) => asBool(p[f]) !== true).map((f) => `${f} is ${show(p[f])}, must be true`),
  "aws:s3/bucket:Bucket": (p) => (PUBLIC_ACLS.has(String(p.acl)) ? [`acl ${show(p.acl)} makes objects public`] : []),
  "aws:s3/bucketAclV2:BucketAclV2": (p) => (PUBLIC_ACLS.has(String(p.acl)) ? [`acl ${show(p.acl)} makes objects public`] : []),
  "gcp:storage/bucket:Bucket": (p) => {
    const problems: string[] = [];
    if (asBool(p.uniformBucketLevelAccess) !== true) problems.push(`uniformBucketLevelAccess is ${show(p.uniformBucketLevelAccess)}; object ACLs can make objects public`);
    if (p.publicAccessPrevention !== "enforced") problems.push(`publicAccessPrevention is ${show(p.publicAccessPrevention)}, must be "enforced"`);
    return problems;
  },
  [DOCKER_CONTAINER]: dockerDataServiceProblems,
};

export const noPublicDataServices: ResourceValidationPolicy & StackValidationPolicy = {
  name: "no-public-data-services",
  description:
    "Data services are never reachable from the internet: RDS not publicly accessible, Cloud SQL without a public IP or 0.0.0.0/0, every S3 bucket behind " +
    "a full public access block, GCS with uniform access and public-access prevention enforced, and Postgres/Redis on Docker bound to 127.0.0.1 only.",
  remediationSteps:
    "RDS: publiclyAccessible: false in private subnets. Cloud SQL: settings.ipConfiguration { ipv4Enabled: false, privateNetwork } and no 0.0.0.0/0 " +
    "authorized network. S3: a BucketPublicAccessBlock with all four flags true for every bucket, no public ACLs. GCS: uniformBucketLevelAccess: true and " +
    "publicAccessPrevention: \"enforced\". Docker: publish data ports with ip 127.0.0.1, or not at all (PortSpec without hostPort).",
  severity: "critical",
  validateResource: (args, report) => {
    const check = CHECKS[args.type];
    if (!check) return;
    for (const problem of check(args.props)) report(`${args.type} ${args.name}: ${problem}.`);
  },
  validateStack: (args, report) => {
    // A block names its bucket, or (while the name is unknown at preview) depends on the bucket resource.
    const blocked = new Set<string>();
    for (const r of args.resources) {
      if (r.type !== PUBLIC_ACCESS_BLOCK) continue;
      if (typeof r.props.bucket === "string") blocked.add(r.props.bucket);
      for (const d of r.dependencies ?? []) blocked.add(d.urn);
    }
    for (const bucket of args.resources.filter((r) => S3_BUCKETS.has(r.type))) {
      const keys = [bucket.urn, bucket.props.bucket, bucket.props.id, bucket.name].filter((n): n is string => typeof n === "string");
      if (!keys.some((k) => blocked.has(k))) {
        report(`S3 bucket ${bucket.name} has no BucketPublicAccessBlock in this stack; add one with all four flags true.`, bucket.urn);
      }
    }
  },
};
