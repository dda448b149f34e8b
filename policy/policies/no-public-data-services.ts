import { PolicyResource } from "@pulumi/policy";
import {
  Finding,
  PolicyDefinition,
  Props,
  asArray,
  asBool,
  cannotVerify,
  finding,
  get,
  isUnknown,
  show,
  unknownFindings,
} from "../lib/framework";
import { DOCKER_CONTAINER } from "../lib/resources";

const PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
const PUBLIC_ACCESS_BLOCK_FIELDS = [
  "blockPublicAcls",
  "blockPublicPolicy",
  "ignorePublicAcls",
  "restrictPublicBuckets",
];
const S3_BUCKETS = new Set(["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"]);
const PUBLIC_ACLS = new Set(["public-read", "public-read-write", "authenticated-read"]);
/** The ACL groups of everyone and of every AWS account. */
const PUBLIC_GRANTEES = /\/groups\/global\/(AllUsers|AuthenticatedUsers)$/;
/** Ports and images that identify a Postgres or Redis container on Docker. */
const DATA_PORTS = new Set([5432, 6379, 6543]);
const DATA_IMAGE = /(^|\/)(postgres|redis|valkey|supabase\/postgres|pgbouncer|supavisor)[:@/]/;
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
const OPEN_CIDRS = new Set(["0.0.0.0/0", "::/0"]);

const WHAT = "that it is not reachable from the internet";
const PRIVATE_RDS = "set publiclyAccessible: false and keep the instance in private subnets";

function dockerDataServiceProblems(props: Props): Finding[] {
  // An image unknown at preview is one this program builds (pinned data-service images are literals): judge it by its ports.
  const image = typeof props.image === "string" && !isUnknown(props.image) ? props.image : "";
  if (isUnknown(props.ports)) return [cannotVerify("ports", WHAT)];
  const ports = asArray(props.ports);
  const isDataService = DATA_IMAGE.test(image) || ports.some((p) => DATA_PORTS.has(Number(get(p, "internal"))));
  if (!isDataService) return [];
  return [
    ...unknownFindings(props, ["ports[].ip", "ports[].external", "ports[].internal"], WHAT),
    ...ports
      .filter(
        (p) =>
          !isUnknown(p) &&
          !isUnknown(get(p, "ip")) &&
          (get(p, "external") !== undefined || DATA_PORTS.has(Number(get(p, "internal")))),
      )
      .filter((p) => !LOOPBACK.has(String(get(p, "ip"))))
      .map((p) =>
        finding(
          `publishes port ${show(get(p, "internal"))} on ${show(get(p, "ip") ?? "0.0.0.0")} (every interface unless 127.0.0.1)`,
          'bind it to 127.0.0.1 (ports[].ip: "127.0.0.1"), or do not publish it',
        ),
      ),
  ];
}

/** A bucket ACL's canned ACL and its explicit grants: a grant to everyone, or to any AWS user, is public. */
function bucketAclProblems(p: Props): Finding[] {
  const grants = asArray(get(p, "accessControlPolicy", "grants"));
  return [
    ...unknownFindings(p, ["acl", "accessControlPolicy.grants[].grantee.uri"], WHAT),
    ...(PUBLIC_ACLS.has(String(p.acl))
      ? [finding(`acl ${show(p.acl)} makes objects public`, 'remove the acl (or use "private")')]
      : []),
    ...grants
      .filter((g) => PUBLIC_GRANTEES.test(String(get(g, "grantee", "uri") ?? "")))
      .map((g) =>
        finding(
          `accessControlPolicy grants ${show(get(g, "permission"))} to ${show(get(g, "grantee", "uri"))}, which is public`,
          "grant only to the canonical user of a named account",
        ),
      ),
  ];
}

function publiclyAccessible(p: Props): Finding[] {
  if (isUnknown(p.publiclyAccessible)) return [cannotVerify("publiclyAccessible", WHAT)];
  return asBool(p.publiclyAccessible) === true
    ? [finding("publiclyAccessible is true; the database gets a public endpoint", PRIVATE_RDS)]
    : [];
}

const CHECKS: Record<string, (p: Props) => Finding[]> = {
  "aws:rds/instance:Instance": publiclyAccessible,
  "aws:rds/clusterInstance:ClusterInstance": publiclyAccessible,
  "gcp:sql/databaseInstance:DatabaseInstance": (p) => {
    const problems = unknownFindings(
      p,
      ["settings.ipConfiguration.ipv4Enabled", "settings.ipConfiguration.authorizedNetworks[].value"],
      WHAT,
    );
    const ip = get(p, "settings", "ipConfiguration");
    const ipv4 = get(ip, "ipv4Enabled");
    // Cloud SQL gets a public IPv4 address unless ipv4Enabled is false.
    if (
      !isUnknown(ipv4) &&
      unknownFindings(p, ["settings.ipConfiguration"], WHAT).length === 0 &&
      asBool(ipv4) !== false
    ) {
      problems.push(
        finding(
          `settings.ipConfiguration.ipv4Enabled is ${show(ipv4)}: the instance gets a public IP`,
          "set settings.ipConfiguration.ipv4Enabled: false and use privateNetwork",
        ),
      );
    }
    for (const n of asArray(get(ip, "authorizedNetworks"))) {
      if (OPEN_CIDRS.has(String(get(n, "value"))))
        problems.push(
          finding(
            `authorizedNetworks allows ${get(n, "value")} (the whole internet)`,
            "remove the open authorized network",
          ),
        );
    }
    return problems;
  },
  [PUBLIC_ACCESS_BLOCK]: (p) => [
    ...unknownFindings(p, PUBLIC_ACCESS_BLOCK_FIELDS, WHAT),
    ...PUBLIC_ACCESS_BLOCK_FIELDS.filter((f) => !isUnknown(p[f]) && asBool(p[f]) !== true).map((f) =>
      finding(`${f} is ${show(p[f])}, must be true`, `set ${f}: true`),
    ),
  ],
  "aws:s3/bucket:Bucket": (p) => [
    ...unknownFindings(p, ["acl"], WHAT),
    ...(PUBLIC_ACLS.has(String(p.acl))
      ? [finding(`acl ${show(p.acl)} makes objects public`, 'remove the acl (or use "private")')]
      : []),
  ],
  // BucketAcl is aws v7's name for v6's BucketAclV2.
  "aws:s3/bucketAcl:BucketAcl": bucketAclProblems,
  "aws:s3/bucketAclV2:BucketAclV2": bucketAclProblems,
  "gcp:storage/bucket:Bucket": (p) => {
    const problems = unknownFindings(p, ["uniformBucketLevelAccess", "publicAccessPrevention"], WHAT);
    if (!isUnknown(p.uniformBucketLevelAccess) && asBool(p.uniformBucketLevelAccess) !== true) {
      problems.push(
        finding(
          `uniformBucketLevelAccess is ${show(p.uniformBucketLevelAccess)}; object ACLs can make objects public`,
          "set uniformBucketLevelAccess: true",
        ),
      );
    }
    if (!isUnknown(p.publicAccessPrevention) && p.publicAccessPrevention !== "enforced") {
      problems.push(
        finding(
          `publicAccessPrevention is ${show(p.publicAccessPrevention)}, must be "enforced"`,
          'set publicAccessPrevention: "enforced"',
        ),
      );
    }
    return problems;
  },
  [DOCKER_CONTAINER]: dockerDataServiceProblems,
};

/**
 * The buckets a per-bucket resource (public access block, encryption configuration, policy) applies
 * to: the bucket it names, or, only while that name is unknown at preview, the buckets its `bucket`
 * property depends on.
 */
export function bucketsCovered(resource: PolicyResource, buckets: readonly PolicyResource[]): PolicyResource[] {
  const named = resource.props.bucket;
  if (typeof named === "string" && !isUnknown(named))
    return buckets.filter((b) => b.props.bucket === named || b.name === named);
  if (!isUnknown(named)) return [];
  const urns = new Set((resource.propertyDependencies?.bucket ?? []).map((d) => d.urn));
  return buckets.filter((b) => urns.has(b.urn));
}

export const noPublicDataServices: PolicyDefinition = {
  name: "no-public-data-services",
  description:
    "Data services are never reachable from the internet: RDS not publicly accessible, Cloud SQL without a public IP or 0.0.0.0/0, every S3 bucket behind " +
    "a full public access block, GCS with uniform access and public-access prevention enforced, and Postgres/Redis on Docker bound to 127.0.0.1 only.",
  remediationSteps:
    "RDS: publiclyAccessible: false in private subnets. Cloud SQL: settings.ipConfiguration { ipv4Enabled: false, privateNetwork } and no 0.0.0.0/0 " +
    "authorized network. S3: a BucketPublicAccessBlock with all four flags true for every bucket, no public ACLs. GCS: uniformBucketLevelAccess: true and " +
    'publicAccessPrevention: "enforced". Docker: publish data ports with ip 127.0.0.1, or not at all (PortSpec without hostPort).',
  severity: "critical",
  validateResource: (args, report) => {
    const check = CHECKS[args.type];
    if (!check) return;
    for (const problem of check(args.props)) report(`${args.type} ${args.name}`, problem);
  },
  validateStack: (args, report) => {
    const buckets = args.resources.filter((r) => S3_BUCKETS.has(r.type));
    const blocked = new Set(
      args.resources.filter((r) => r.type === PUBLIC_ACCESS_BLOCK).flatMap((r) => bucketsCovered(r, buckets)),
    );
    for (const bucket of buckets) {
      if (!blocked.has(bucket))
        report(
          `S3 bucket ${bucket.name}`,
          finding(
            "has no BucketPublicAccessBlock in this stack",
            "add a BucketPublicAccessBlock for it with all four flags true",
          ),
          bucket.urn,
        );
    }
  },
};
