import { awsEndpointRegion, checkBucketName, checkEndpoint, checkRegion, endpointCloud } from "../checks";
import { BackupOffsite, CANADIAN_REGIONS, CONFIG_SCHEMA, ConfigKey, ConfigKeySpec } from "../schema";
import { ConfigReader, Problems, key, show } from "../reader";
import { Platform } from "./platform";

/** The plain keys of the off-host copy, bucket first. */
const PLAIN_KEYS = [
  "backupOffsiteBucket",
  "backupOffsiteEndpoint",
  "backupOffsiteRegion",
  "backupOffsitePath",
  "backupOffsiteUriStyle",
  "backupOffsiteVerifyTls",
] as const satisfies readonly ConfigKey[];
const SECRET_KEYS = [
  "backupOffsiteAccessKeyId",
  "backupOffsiteSecretAccessKey",
] as const satisfies readonly ConfigKey[];

/**
 * The off-host copy of a self-hosted Postgres's backups (pgBackRest repo2 in an S3-compatible
 * bucket), or undefined when no bucket is set. Only a stack whose Postgres runs in a container has
 * one; a managed Postgres backs up through its cloud into the stack's backup bucket, so there the keys
 * are refused. A bucket needs its endpoint, region and both credentials; a cloud endpoint must be in a
 * Canadian region, and any other store's location is the operator's responsibility (docs/runbooks.md).
 */
export function readBackupOffsite(r: ConfigReader, problems: Problems, platform: Platform): BackupOffsite | undefined {
  // The Pulumi CLI passes every default of Pulumi.yaml as a value, so a key at its default counts as
  // unset; so does a secret key set to "", as in readSecrets.
  const isSet = (k: ConfigKey) => {
    const v = r.given(k);
    const spec: ConfigKeySpec = CONFIG_SCHEMA[k];
    return r.invalid(k) || (v !== undefined && v !== "" && v !== spec.default);
  };
  const shown = (k: ConfigKey) => ((SECRET_KEYS as readonly string[]).includes(k) ? "[secret]" : show(r.given(k)));
  const given = [...PLAIN_KEYS, ...SECRET_KEYS].filter(isSet);
  if (given.length === 0) return undefined;
  if (platform.cloud !== "local") {
    // A rejected cloud is the root cause; its stack's Postgres is unknown.
    if (!platform.cloudKnown) return undefined;
    for (const k of given) {
      problems.push(
        `${key(k)}: ${shown(k)} is not allowed on a stack with managed Postgres (cloud ${show(platform.cloud)}); managed backups go to the stack's backup bucket in Canada; remove the key`,
      );
    }
    return undefined;
  }

  const bucket = r.str("backupOffsiteBucket");
  if (bucket === "") {
    if (!r.invalid("backupOffsiteBucket"))
      for (const k of given)
        problems.push(
          `${key(k)}: ${shown(k)} has no effect without ${key("backupOffsiteBucket")}; set the bucket, or remove the key`,
        );
    return undefined;
  }

  const before = problems.length;
  const bucketProblem = checkBucketName(bucket);
  if (bucketProblem) problems.push(`${key("backupOffsiteBucket")}: ${show(bucket)} ${bucketProblem}`);

  const endpoint = r.str("backupOffsiteEndpoint");
  const region = r.str("backupOffsiteRegion");
  const endpointProblem = endpoint === "" ? undefined : checkEndpoint(endpoint);
  if (endpoint === "")
    problems.push(
      `${key("backupOffsiteEndpoint")}: "" is required with ${key("backupOffsiteBucket")}; give host[:port], e.g. s3.ca-central-1.amazonaws.com or minio.lan:9000`,
    );
  else if (endpointProblem) problems.push(`${key("backupOffsiteEndpoint")}: ${show(endpoint)} ${endpointProblem}`);

  if (region === "")
    problems.push(
      `${key("backupOffsiteRegion")}: "" is required with ${key("backupOffsiteBucket")}; give the bucket's region (${CANADIAN_REGIONS.aws.allowed.join(" or ")} on AWS)`,
    );
  else if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(region))
    problems.push(
      `${key("backupOffsiteRegion")}: ${show(region)} is not a region name; use lower-case letters, digits and '-'`,
    );

  // Residency: a cloud endpoint's region, named in its host or in the region key, must be Canadian.
  const host = endpoint.split(":")[0];
  const cloud = endpointProblem || endpoint === "" ? undefined : endpointCloud(host);
  if (cloud) {
    if (region !== "") {
      const problem = checkRegion(cloud, region);
      if (problem) problems.push(`${key("backupOffsiteRegion")}: ${show(region)} ${problem}`);
    }
    const inHost = cloud === "aws" ? awsEndpointRegion(host) : undefined;
    if (cloud === "aws" && inHost === undefined)
      problems.push(
        `${key("backupOffsiteEndpoint")}: ${show(endpoint)} does not name its region; use s3.<region>.amazonaws.com with one of ${CANADIAN_REGIONS.aws.allowed.join(", ")}`,
      );
    else if (inHost !== undefined && checkRegion("aws", inHost))
      problems.push(`${key("backupOffsiteEndpoint")}: ${show(endpoint)} ${checkRegion("aws", inHost)}`);
    else if (inHost !== undefined && region !== "" && !checkRegion("aws", region) && inHost !== region)
      problems.push(
        `${key("backupOffsiteRegion")}: ${show(region)} differs from the endpoint's region ${inHost}; use ${inHost}, or the endpoint of ${region}`,
      );
  }

  const path = r.str("backupOffsitePath");
  if (path !== "" && !/^\/[A-Za-z0-9._/-]*$/.test(path))
    problems.push(
      `${key("backupOffsitePath")}: ${show(path)} is not allowed; use an absolute path of letters, digits, '.', '_', '-' and '/'`,
    );

  for (const k of SECRET_KEYS)
    if (!isSet(k))
      problems.push(
        `${key(k)}: not set but required with ${key("backupOffsiteBucket")}; pulumi config set --secret ${key(k)} <value>`,
      );

  if (problems.length > before) return undefined;
  return {
    bucket,
    endpoint,
    region,
    ...(path !== "" ? { path } : {}),
    uriStyle: r.str("backupOffsiteUriStyle") as "host" | "path",
    verifyTls: r.bool("backupOffsiteVerifyTls"),
  };
}
