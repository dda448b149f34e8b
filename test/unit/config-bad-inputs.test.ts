/**
 * One bad input per row, on every environment and both clouds, through parseConfig: each must fail
 * as a ConfigError whose problems blame exactly the keys the row expects (the key the user set, not
 * keys a cascade would drag in), echo the bad value (cut when long) and say what is allowed.
 */

import { ConfigError, parseConfig } from "../../components/config";
import { ns } from "../helpers/config";

const image = "ghcr.io/northstack/api:0.1.0";
const dev: Record<string, string> = {};
const staging = {
  cloud: "aws",
  cluster: "managed",
  apiImage: image,
  publicUrl: "https://api.example.ca",
  tlsSecretName: "gateway-tls",
  // A cloud stack needs an alert receiver; email is the one that needs no secret.
  alertEmailTo: "oncall@example.ca",
  alertSmtpSmarthost: "smtp.example.ca:587",
};
const prodAws = { ...staging, postgresHa: "true", redisHa: "true", deletionProtection: "true" };
const prodGcp = { ...prodAws, cloud: "gcp" };

/** A complete off-host copy to MinIO on the LAN, which dev accepts; rows break one field at a time. */
const offsite = {
  backupOffsiteBucket: "northstack-dev-backups",
  backupOffsiteEndpoint: "minio.lan:9000",
  backupOffsiteRegion: "us-east-1",
  backupOffsiteUriStyle: "path",
  backupOffsiteAccessKeyId: "dev-access-key",
  backupOffsiteSecretAccessKey: "dev-secret-key-value",
};
const offsiteAws = {
  ...offsite,
  backupOffsiteEndpoint: "s3.ca-central-1.amazonaws.com",
  backupOffsiteRegion: "ca-central-1",
  backupOffsiteUriStyle: "host",
};

const longHost = `https://${"a".repeat(5000)}.example.ca`;

interface Row {
  /** The stack name parseConfig receives. */
  readonly stack: string;
  readonly raw: Record<string, string>;
  /** Exactly the keys the problems may start with. */
  readonly blamed: readonly string[];
  /** The bad value as the message echoes it (or what stands for a missing one). */
  readonly value: string;
  /** Words that say what is allowed. */
  readonly allowed: string;
}

const rows: Record<string, Row> = {
  // dev
  "dev: a cloud stack's cloud": {
    stack: "dev",
    raw: { ...dev, cloud: "aws" },
    blamed: ["northstack:cloud"],
    value: '"aws"',
    allowed: 'use "local"',
  },
  "dev: an unknown cloud": {
    stack: "dev",
    raw: { cloud: "azure" },
    blamed: ["northstack:cloud"],
    value: '"azure"',
    allowed: "allowed values: local, aws, gcp",
  },
  "dev: a cgroup driver Docker does not have": {
    stack: "dev",
    raw: { dockerCgroupDriver: "cgroupv2" },
    blamed: ["northstack:dockerCgroupDriver"],
    value: '"cgroupv2"',
    allowed: "allowed values: systemd, cgroupfs",
  },
  "dev: gatewayPort on studio's default": {
    stack: "dev",
    raw: { gatewayPort: "3000" },
    blamed: ["northstack:gatewayPort"],
    value: "3000",
    allowed: "host ports must differ",
  },
  "dev: apiPort on the gateway's default": {
    stack: "dev",
    raw: { apiPort: "8000" },
    blamed: ["northstack:apiPort"],
    value: "8000",
    allowed: "host ports must differ",
  },
  "dev: a privileged host port": {
    stack: "dev",
    raw: { gatewayPort: "80" },
    blamed: ["northstack:gatewayPort"],
    value: "80",
    allowed: "allowed: 1024 to 65535",
  },
  "dev: a port that is not a number": {
    stack: "dev",
    raw: { grafanaPort: "http" },
    blamed: ["northstack:grafanaPort"],
    value: '"http"',
    allowed: "allowed: 1024 to 65535",
  },
  "dev: a boolean spelt yes": {
    stack: "dev",
    raw: { monitoring: "yes" },
    blamed: ["northstack:monitoring"],
    value: '"yes"',
    allowed: "use true or false",
  },
  "dev: a wildcard CORS origin": {
    stack: "dev",
    raw: { corsOrigins: '["*"]' },
    blamed: ["northstack:corsOrigins"],
    value: '"*"',
    allowed: "list the origins",
  },
  "dev: a CORS origin with a path": {
    stack: "dev",
    raw: { corsOrigins: '["https://app.example.ca/x"]' },
    blamed: ["northstack:corsOrigins"],
    value: '"https://app.example.ca/x"',
    allowed: "give the origin only",
  },
  "dev: a CORS origin with a user name and password": {
    stack: "dev",
    raw: { corsOrigins: '["https://user:pw@app.example.ca"]' },
    blamed: ["northstack:corsOrigins"],
    value: '"https://[credentials]@app.example.ca"',
    allowed: "give the origin only, like https://app.example.ca",
  },
  "prod aws: a CORS origin with a query": {
    stack: "prod",
    raw: { ...prodAws, corsOrigins: '["https://app.example.ca/?from=mail"]' },
    blamed: ["northstack:corsOrigins"],
    value: '"https://app.example.ca/?from=mail"',
    allowed: "scheme, host and port only",
  },
  "dev: a password in plain apiEnv": {
    stack: "dev",
    raw: { apiEnv: '["DB_PASSWORD=hunter2"]' },
    blamed: ["northstack:apiEnv"],
    value: '"DB_PASSWORD=[secret of 7 chars]"',
    allowed: "set it in northstack:apiSecretEnv instead",
  },
  "staging: a token in plain apiEnv, in lower case": {
    stack: "staging",
    raw: { ...staging, apiEnv: '["github_token=ghp_x"]' },
    blamed: ["northstack:apiEnv"],
    value: '"github_token=[secret of 5 chars]"',
    allowed: "[A-Z_][A-Z0-9_]*",
  },
  "prod gcp: a URL with a password in plain apiEnv": {
    stack: "prod",
    raw: { ...prodGcp, apiEnv: '["DW_URL=postgres://app:hunter2@dw.example.ca/db"]' },
    blamed: ["northstack:apiEnv"],
    value: '"DW_URL=postgres://[credentials]@dw.example.ca/db"',
    allowed: "pulumi config set --secret --path 'northstack:apiSecretEnv.DW_URL' <value>",
  },
  "dev: admin routes open to all": {
    stack: "dev",
    raw: { adminAllowCidrs: '["0.0.0.0/0"]' },
    blamed: ["northstack:adminAllowCidrs"],
    value: '"0.0.0.0/0"',
    allowed: "list narrower CIDRs",
  },
  "dev: a CIDR list that is not a list": {
    stack: "dev",
    raw: { adminAllowCidrs: "10.0.0.0/8" },
    blamed: ["northstack:adminAllowCidrs"],
    value: '"10.0.0.0/8"',
    allowed: 'JSON like ["a","b"]',
  },
  "dev: a docker subnet without a prefix": {
    stack: "dev",
    raw: { dockerSubnet: "172.30.0.0" },
    blamed: ["northstack:dockerSubnet"],
    value: '"172.30.0.0"',
    allowed: "like 10.0.0.0/16",
  },
  "dev: an ftp public URL": {
    stack: "dev",
    raw: { publicUrl: "ftp://api.example.ca" },
    blamed: ["northstack:publicUrl"],
    value: '"ftp://api.example.ca"',
    allowed: "http(s) URL",
  },
  "dev: a region without a cloud": {
    stack: "dev",
    raw: { region: "ca-central-1" },
    blamed: ["northstack:region"],
    value: '"ca-central-1"',
    allowed: "remove it",
  },
  "dev stack: an unknown environment beside a cloud": {
    stack: "dev",
    raw: { ...staging, environment: "qa" },
    blamed: ["northstack:environment"],
    value: '"qa"',
    allowed: "dev, staging, prod",
  },
  "dev: an unknown environment": {
    stack: "dev",
    raw: { environment: "qa" },
    blamed: ["northstack:environment"],
    value: '"qa"',
    allowed: "allowed values: dev, staging, prod",
  },
  "dev: a misspelt key": {
    stack: "dev",
    raw: { gatwayPort: "9000" },
    blamed: ["northstack:gatwayPort"],
    value: '"9000"',
    allowed: "did you mean northstack:gatewayPort?",
  },
  "dev: an image on latest": {
    stack: "dev",
    raw: { apiImage: "ghcr.io/northstack/api:latest" },
    blamed: ["northstack:apiImage"],
    value: '"ghcr.io/northstack/api:latest"',
    allowed: "pin a version tag or a sha256 digest",
  },
  "dev: aws provider region outside Canada": {
    stack: "dev",
    raw: { "aws:region": "us-east-1" },
    blamed: ["aws:region"],
    value: '"us-east-1"',
    allowed: "ca-central-1, ca-west-1",
  },
  "dev config on an unknown stack name": {
    stack: "alice",
    raw: {},
    blamed: ["northstack:environment"],
    value: '"alice"',
    allowed: "dev, staging, prod",
  },

  // staging (aws)
  "staging: an unknown cloud": {
    stack: "staging",
    raw: { ...staging, cloud: "azure" },
    blamed: ["northstack:cloud"],
    value: '"azure"',
    allowed: "local, aws, gcp",
  },
  "staging: the local cloud": {
    stack: "staging",
    raw: { ...staging, cloud: "local" },
    blamed: ["northstack:cloud"],
    value: '"local"',
    allowed: 'use "aws" or "gcp"',
  },
  "staging: cluster in the wrong case": {
    stack: "staging",
    raw: { ...staging, cluster: "Managed" },
    blamed: ["northstack:cluster"],
    value: '"Managed"',
    allowed: "existing, managed",
  },
  "staging: a region outside Canada": {
    stack: "staging",
    raw: { ...staging, region: "us-east-1" },
    blamed: ["northstack:region"],
    value: '"us-east-1"',
    allowed: "ca-central-1, ca-west-1",
  },
  "staging: DR region equal to the default primary": {
    stack: "staging",
    raw: { ...staging, drRegion: "ca-central-1" },
    blamed: ["northstack:drRegion"],
    value: '"ca-central-1"',
    allowed: "other Canadian region",
  },
  "staging: both regions the same": {
    stack: "staging",
    raw: { ...staging, region: "ca-west-1", drRegion: "ca-west-1" },
    blamed: ["northstack:drRegion"],
    value: '"ca-west-1"',
    allowed: "other Canadian region",
  },
  "staging: plain HTTP": {
    stack: "staging",
    raw: { ...staging, publicUrl: "http://api.example.ca" },
    blamed: ["northstack:publicUrl"],
    value: '"http://api.example.ca"',
    allowed: "use an https:// URL",
  },
  "staging: no API image": {
    stack: "staging",
    raw: { ...staging, apiImage: "" },
    blamed: ["northstack:apiImage"],
    value: "required",
    allowed: "a pinned image",
  },
  "staging: an untagged image": {
    stack: "staging",
    raw: { ...staging, apiImage: "ghcr.io/northstack/api" },
    blamed: ["northstack:apiImage"],
    value: '"ghcr.io/northstack/api"',
    allowed: "pin a version tag",
  },
  "staging: fractional replicas": {
    stack: "staging",
    raw: { ...staging, apiReplicas: "1.5" },
    blamed: ["northstack:apiReplicas"],
    value: '"1.5"',
    allowed: "allowed: 1 to 100",
  },
  "staging: max replicas below replicas": {
    stack: "staging",
    raw: { ...staging, apiReplicas: "5", apiMaxReplicas: "3" },
    blamed: ["northstack:apiMaxReplicas"],
    value: "3",
    allowed: "at least that",
  },
  "staging: bad replicas beside a low max": {
    stack: "staging",
    raw: { ...staging, apiReplicas: "many", apiMaxReplicas: "1" },
    blamed: ["northstack:apiReplicas"],
    value: '"many"',
    allowed: "allowed: 1 to 100",
  },
  "staging: an unknown exposure": {
    stack: "staging",
    raw: { ...staging, exposure: "nodeport" },
    blamed: ["northstack:exposure"],
    value: '"nodeport"',
    allowed: "allowed values:",
  },
  "staging: a namespace in capitals": {
    stack: "staging",
    raw: { ...staging, namespace: "NorthStack" },
    blamed: ["northstack:namespace"],
    value: '"NorthStack"',
    allowed: "lower-case letters, digits and '-', at most 63",
  },
  "staging: short backups": {
    stack: "staging",
    raw: { ...staging, backupRetentionDays: "3" },
    blamed: ["northstack:backupRetentionDays"],
    value: "3",
    allowed: "at least 7 days",
  },
  "staging: backups beyond the maximum": {
    stack: "staging",
    raw: { ...staging, backupRetentionDays: "60" },
    blamed: ["northstack:backupRetentionDays"],
    value: "60",
    allowed: "allowed: 1 to 35",
  },
  "staging: an EKS name on a managed cluster": {
    stack: "staging",
    raw: { ...staging, eksClusterName: "ops" },
    blamed: ["northstack:eksClusterName"],
    value: '"ops"',
    allowed: "remove it",
  },
  "staging: two certificate sources": {
    stack: "staging",
    raw: { ...staging, certManagerIssuer: "letsencrypt" },
    blamed: ["northstack:tlsSecretName"],
    value: '"gateway-tls"',
    allowed: "give one",
  },
  "staging: a public URL with credentials, path and query": {
    stack: "staging",
    raw: { ...staging, publicUrl: "https://user:pw@api.example.ca/path?q=1" },
    blamed: ["northstack:publicUrl"],
    value: "api.example.ca/path?q=1",
    allowed: "give the origin only",
  },
  "staging: aws provider region outside Canada": {
    stack: "staging",
    raw: { ...staging, "aws:region": "us-east-1" },
    blamed: ["aws:region"],
    value: '"us-east-1"',
    allowed: "ca-central-1, ca-west-1",
  },
  "staging config on an unknown stack name": {
    stack: "alice",
    raw: staging,
    blamed: ["northstack:environment"],
    value: '"alice"',
    allowed: "dev, staging, prod",
  },

  // prod (aws)
  "prod aws: no Postgres HA": {
    stack: "prod",
    raw: { ...prodAws, postgresHa: "false" },
    blamed: ["northstack:postgresHa"],
    value: "false",
    allowed: "must be highly available",
  },
  "prod aws: HA spelt yes": {
    stack: "prod",
    raw: { ...prodAws, redisHa: "yes" },
    blamed: ["northstack:redisHa"],
    value: '"yes"',
    allowed: "use true or false",
  },
  "prod aws: no deletion protection": {
    stack: "prod",
    raw: { ...prodAws, deletionProtection: "false" },
    blamed: ["northstack:deletionProtection"],
    value: "false",
    allowed: "protected from deletion",
  },
  "prod aws: one Supabase replica": {
    stack: "prod",
    raw: { ...prodAws, supabaseReplicas: "1" },
    blamed: ["northstack:supabaseReplicas"],
    value: "1",
    allowed: "at least 2 replicas",
  },
  "prod aws: an unknown cloud": {
    stack: "prod",
    raw: { ...prodAws, cloud: "azure" },
    blamed: ["northstack:cloud"],
    value: '"azure"',
    allowed: "local, aws, gcp",
  },
  "prod aws: a public URL with a query": {
    stack: "prod",
    raw: { ...prodAws, publicUrl: "https://api.example.ca/?x=1" },
    blamed: ["northstack:publicUrl"],
    value: '"https://api.example.ca/?x=1"',
    allowed: "give the origin only",
  },
  "prod aws: an existing cluster without its kubeconfig or EKS name": {
    stack: "prod",
    raw: { ...prodAws, cluster: "existing" },
    blamed: ["northstack:kubeconfig", "northstack:eksClusterName"],
    value: "missing",
    allowed: "pulumi config set --secret northstack:kubeconfig",
  },

  // prod (gcp)
  "prod gcp: an aws region": {
    stack: "prod",
    raw: { ...prodGcp, region: "ca-central-1" },
    blamed: ["northstack:region"],
    value: '"ca-central-1"',
    allowed: "northamerica-northeast1, northamerica-northeast2",
  },
  "prod gcp: DR region equal to the primary": {
    stack: "prod",
    raw: { ...prodGcp, drRegion: "northamerica-northeast1" },
    blamed: ["northstack:drRegion"],
    value: '"northamerica-northeast1"',
    allowed: "other Canadian region",
  },
  "prod gcp: gcp provider region outside Canada": {
    stack: "prod",
    raw: { ...prodGcp, "gcp:region": "us-central1" },
    blamed: ["gcp:region"],
    value: '"us-central1"',
    allowed: "northamerica-northeast1, northamerica-northeast2",
  },
  "prod gcp: an EKS name": {
    stack: "prod",
    raw: { ...prodGcp, eksClusterName: "ops" },
    blamed: ["northstack:eksClusterName"],
    value: '"ops"',
    allowed: "remove it",
  },
  "prod gcp: a host label over 63 characters": {
    stack: "prod",
    raw: { ...prodGcp, publicUrl: longHost },
    blamed: ["northstack:publicUrl"],
    value: `…" (${longHost.length} characters)`,
    allowed: "1 to 63",
  },
  "dev: a privileged log intake port": {
    stack: "dev",
    raw: { ...dev, logIntakePort: "514" },
    blamed: ["northstack:logIntakePort"],
    value: "514",
    allowed: "1024 to 65535",
  },
  "staging: a dead man's switch over http": {
    stack: "staging",
    raw: { ...staging, deadMansSwitchUrl: "http://hc-ping.example.ca/abc" },
    blamed: ["northstack:deadMansSwitchUrl"],
    value: "[secret] is not an https:// URL",
    allowed: "use the check's ping URL",
  },
  "prod aws: a dead man's switch with a password in it": {
    stack: "prod",
    raw: { ...prodAws, deadMansSwitchUrl: "https://ops:hunter2@hc-ping.example.ca/abc" },
    blamed: ["northstack:deadMansSwitchUrl"],
    value: "[secret] has a user name or password in it",
    allowed: "use the check's ping URL",
  },
  "dev: a dead man's switch that is no URL": {
    stack: "dev",
    raw: { ...dev, deadMansSwitchUrl: "hc-ping.example.ca/abc" },
    blamed: ["northstack:deadMansSwitchUrl"],
    value: "[secret] is not an https:// URL",
    allowed: "https://hc-ping.com/<uuid>",
  },
  "staging: a relative runbookBase": {
    stack: "staging",
    raw: { ...staging, runbookBase: "docs/runbooks.md" },
    blamed: ["northstack:runbookBase"],
    value: '"docs/runbooks.md" is not an https:// URL',
    allowed: "the https URL of docs/runbooks.md",
  },
  "prod gcp: a runbookBase with a fragment": {
    stack: "prod",
    raw: { ...prodGcp, runbookBase: "https://git.example.ca/team/northstack/blob/main/docs/runbooks.md#top" },
    blamed: ["northstack:runbookBase"],
    value: "has a #fragment",
    allowed: "without #",
  },
  "dev: a runbookBase with credentials": {
    stack: "dev",
    raw: { ...dev, runbookBase: "https://bot:tok@git.example.ca/runbooks.md" },
    blamed: ["northstack:runbookBase"],
    value: '"https://[credentials]@git.example.ca/runbooks.md" has a user name or password in it',
    allowed: "on the repository's hosting",
  },
  "dev: an off-host bucket name with capitals and two dots": {
    stack: "dev",
    raw: { ...offsite, backupOffsiteBucket: "Backups..Dev" },
    blamed: ["northstack:backupOffsiteBucket"],
    value: '"Backups..Dev"',
    allowed: "lower-case letters, digits",
  },
  "dev: an off-host bucket named like an IP address": {
    stack: "dev",
    raw: { ...offsite, backupOffsiteBucket: "192.168.1.10" },
    blamed: ["northstack:backupOffsiteBucket"],
    value: '"192.168.1.10"',
    allowed: "S3 refuses",
  },
  "dev: an off-host endpoint with a scheme": {
    stack: "dev",
    raw: { ...offsite, backupOffsiteEndpoint: "https://minio.lan:9000" },
    blamed: ["northstack:backupOffsiteEndpoint"],
    value: '"https://minio.lan:9000"',
    allowed: "give host[:port] only",
  },
  "dev: an off-host endpoint carrying credentials": {
    stack: "dev",
    raw: { ...offsite, backupOffsiteEndpoint: "admin@minio.lan:9000" },
    blamed: ["northstack:backupOffsiteEndpoint"],
    value: '"admin@minio.lan:9000"',
    allowed: "credentials go in their own secret keys",
  },
  "dev: an off-host endpoint with a port above 65535": {
    stack: "dev",
    raw: { ...offsite, backupOffsiteEndpoint: "minio.lan:70000" },
    blamed: ["northstack:backupOffsiteEndpoint"],
    value: '"minio.lan:70000"',
    allowed: "outside 1-65535",
  },
  "dev: an off-host uriStyle that is neither host nor path": {
    stack: "dev",
    raw: { ...offsite, backupOffsiteUriStyle: "virtual" },
    blamed: ["northstack:backupOffsiteUriStyle"],
    value: '"virtual"',
    allowed: "allowed values: host, path",
  },
  "dev: an off-host bucket without its region": {
    stack: "dev",
    raw: { ...offsite, backupOffsiteRegion: "" },
    blamed: ["northstack:backupOffsiteRegion"],
    value: '""',
    allowed: "is required with northstack:backupOffsiteBucket",
  },
  "dev: an off-host bucket without its endpoint": {
    stack: "dev",
    raw: { ...offsite, backupOffsiteEndpoint: "" },
    blamed: ["northstack:backupOffsiteEndpoint"],
    value: '""',
    allowed: "give host[:port]",
  },
  "dev: an off-host bucket with one credential of two": {
    stack: "dev",
    raw: { ...offsite, backupOffsiteSecretAccessKey: "" },
    blamed: ["northstack:backupOffsiteSecretAccessKey"],
    value: "not set",
    allowed: "pulumi config set --secret northstack:backupOffsiteSecretAccessKey",
  },
  "dev: off-host credentials without a bucket": {
    stack: "dev",
    raw: { backupOffsiteAccessKeyId: "dev-access-key", backupOffsiteSecretAccessKey: "dev-secret-key-value" },
    blamed: ["northstack:backupOffsiteAccessKeyId", "northstack:backupOffsiteSecretAccessKey"],
    value: "[secret]",
    allowed: "without northstack:backupOffsiteBucket",
  },
  "dev: an AWS off-host endpoint in a US region": {
    stack: "dev",
    raw: { ...offsiteAws, backupOffsiteEndpoint: "s3.us-east-1.amazonaws.com" },
    blamed: ["northstack:backupOffsiteEndpoint"],
    value: '"s3.us-east-1.amazonaws.com"',
    allowed: "ca-central-1, ca-west-1",
  },
  "dev: an AWS off-host bucket whose region field is American": {
    stack: "dev",
    raw: { ...offsiteAws, backupOffsiteRegion: "us-west-2" },
    blamed: ["northstack:backupOffsiteRegion"],
    value: '"us-west-2"',
    allowed: "ca-central-1, ca-west-1",
  },
  "dev: the global AWS endpoint, which is us-east-1": {
    stack: "dev",
    raw: { ...offsiteAws, backupOffsiteEndpoint: "s3.amazonaws.com" },
    blamed: ["northstack:backupOffsiteEndpoint"],
    value: '"s3.amazonaws.com"',
    allowed: "ca-central-1, ca-west-1",
  },
  "dev: an AWS off-host endpoint and region that disagree": {
    stack: "dev",
    raw: { ...offsiteAws, backupOffsiteRegion: "ca-west-1" },
    blamed: ["northstack:backupOffsiteRegion"],
    value: '"ca-west-1"',
    allowed: "use ca-central-1",
  },
  "dev: an off-host path that could break pgbackrest.conf": {
    stack: "dev",
    raw: { ...offsite, backupOffsitePath: "pg backups\nrepo2-type=posix" },
    blamed: ["northstack:backupOffsitePath"],
    value: '"pg backups\\nrepo2-type=posix"',
    allowed: "absolute path",
  },
  "staging: an off-host copy of a managed Postgres": {
    stack: "staging",
    raw: { ...staging, backupOffsiteBucket: "northstack-dev-backups" },
    blamed: ["northstack:backupOffsiteBucket"],
    value: '"northstack-dev-backups"',
    allowed: "managed backups go to the stack's backup bucket",
  },
  "prod gcp: off-host credentials on a managed Postgres": {
    stack: "prod",
    raw: { ...prodGcp, backupOffsiteAccessKeyId: "k", backupOffsiteSecretAccessKey: "s" },
    blamed: ["northstack:backupOffsiteAccessKeyId", "northstack:backupOffsiteSecretAccessKey"],
    value: "[secret]",
    allowed: "managed backups go to the stack's backup bucket",
  },
  "prod gcp: node metrics on GKE Autopilot": {
    stack: "prod",
    raw: { ...prodGcp, nodeMetrics: "true" },
    blamed: ["northstack:nodeMetrics"],
    value: '"true"',
    allowed: "refuses the host paths node_exporter reads. Set it to auto or false",
  },
  "staging: node metrics as yes": {
    stack: "staging",
    raw: { ...staging, nodeMetrics: "yes" },
    blamed: ["northstack:nodeMetrics"],
    value: '"yes"',
    allowed: "auto, true, false",
  },
  "prod gcp: cluster in capitals": {
    stack: "prod",
    raw: { ...prodGcp, cluster: "EXISTING" },
    blamed: ["northstack:cluster"],
    value: '"EXISTING"',
    allowed: "existing, managed",
  },
};

/** The key a problem blames: what comes before its first ": ". */
const blamedKey = (problem: string): string => problem.slice(0, problem.indexOf(": "));

function problemsOf(raw: Record<string, string>, stack: string): readonly string[] {
  let error: unknown;
  try {
    parseConfig(ns(raw), stack);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  return (error as ConfigError).problems;
}

describe("parseConfig refuses each bad input with one precise message", () => {
  test("the table covers every environment and both clouds with at least 40 inputs", () => {
    const all = Object.values(rows);
    expect(all.length).toBeGreaterThanOrEqual(40);
    for (const stack of ["dev", "staging", "prod"]) expect(all.some((r) => r.stack === stack)).toBe(true);
    for (const cloud of ["aws", "gcp"]) expect(all.some((r) => r.stack === "prod" && r.raw.cloud === cloud)).toBe(true);
  });

  test.each([
    ["dev", dev],
    ["staging", staging],
    ["prod", prodAws],
    ["prod", prodGcp],
    ["dev", offsite],
    ["dev", offsiteAws],
  ])("the %s base the rows start from is accepted", (stack, raw) => {
    expect(() => parseConfig(ns(raw), stack)).not.toThrow();
  });

  test.each(Object.entries(rows))("%s", (_name, { stack, raw, blamed, value, allowed }) => {
    const problems = problemsOf(raw, stack);
    expect([...new Set(problems.map(blamedKey))].sort()).toEqual([...blamed].sort());
    const precise = problems.find((p) => p.startsWith(`${blamed[0]}: `) && p.includes(value) && p.includes(allowed));
    expect(precise).toBeDefined();
    // A long value is cut, so no message runs to thousands of characters.
    for (const p of problems) expect(p.length).toBeLessThan(1500);
  });
});

test("the off-host keys at the defaults the Pulumi CLI passes from Pulumi.yaml are not refused on a managed stack", () => {
  const defaults = {
    backupOffsiteBucket: "",
    backupOffsiteEndpoint: "",
    backupOffsiteRegion: "",
    backupOffsitePath: "",
    backupOffsiteUriStyle: "host",
    backupOffsiteVerifyTls: "true",
  };
  expect(() => parseConfig(ns({ ...staging, ...defaults }), "staging")).not.toThrow();
  expect(parseConfig(ns({ ...dev, ...defaults }), "dev").postgres.offsite).toBeUndefined();
});

describe("the dead man's switch URL", () => {
  test("its password never appears in a message", () => {
    const problems = problemsOf(
      { ...staging, deadMansSwitchUrl: "https://ops:hunter2@hc-ping.example.ca/abc" },
      "staging",
    );
    expect(problems.join("\n")).not.toContain("hunter2");
  });

  test("an https ping URL is accepted and reaches the config's secrets; runbookBase defaults to the repository path", () => {
    const cfg = parseConfig(ns({ ...staging, deadMansSwitchUrl: "https://hc-ping.example.ca/0f1e" }), "staging");
    expect(cfg.secrets.deadMansSwitchUrl).toBe("https://hc-ping.example.ca/0f1e");
    expect(cfg.monitoring.alerts.runbookBase).toBe("docs/runbooks.md");
    const base = "https://git.example.ca/team/northstack/blob/main/docs/runbooks.md";
    expect(parseConfig(ns({ ...staging, runbookBase: base }), "staging").monitoring.alerts.runbookBase).toBe(base);
  });
});

describe("the root cause is reported once", () => {
  test("a public URL's password is never echoed", () => {
    const problems = problemsOf({ ...staging, publicUrl: "https://user:s3cr3t-pw@api.example.ca/" }, "staging");
    expect(problems.join("\n")).not.toContain("s3cr3t-pw");
    expect(problems).toEqual([
      expect.stringMatching(
        /^northstack:publicUrl: "https:\/\/\[credentials\]@api\.example\.ca\/" contains a user name or password/,
      ),
    ]);
  });

  test.each([
    ["aws", staging, "ca-west-1", "ca-central-1"],
    ["gcp", { ...staging, cloud: "gcp" }, "northamerica-northeast2", "northamerica-northeast1"],
  ])(
    "on %s, a primary region in the default DR region moves the unset DR region to the other Canadian region",
    (_cloud, base, region, dr) => {
      const cfg = parseConfig(ns({ ...base, region }), "staging");
      expect([cfg.region, cfg.drRegion]).toEqual([region, dr]);
    },
  );

  test("a port set to another's default blames the port the stack sets, whichever comes first", () => {
    expect(problemsOf({ studioPort: "8000" }, "dev").map(blamedKey)).toEqual(["northstack:studioPort"]);
    expect(problemsOf({ gatewayPort: "9000", apiPort: "9000" }, "dev").map(blamedKey)).toEqual(["northstack:apiPort"]);
  });

  test("an invalid environment on an unknown stack name is one problem", () => {
    expect(problemsOf({ ...staging, environment: "qa" }, "alice")).toEqual([
      'northstack:environment: "qa" is not allowed; allowed values: dev, staging, prod',
    ]);
  });

  test("a stack named for no environment but setting one is judged by that environment", () => {
    expect(() => parseConfig(ns({ ...staging, environment: "staging" }), "alice")).not.toThrow();
  });
});

describe("credentials and origins are refused in the words the user reads", () => {
  const movePointer = (name: string) =>
    `and plain values are stored and shown in clear text; set it in northstack:apiSecretEnv instead: pulumi config set --secret --path 'northstack:apiSecretEnv.${name}' <value>`;
  const credentialName = (name: string, chars: number) =>
    `northstack:apiEnv: "${name}=[secret of ${chars} chars]" looks like a credential (its name ends in PASSWORD, SECRET, TOKEN, KEY or CREDENTIALS), ${movePointer(name)}`;

  test.each([
    ["DB_PASSWORD=hunter2", "DB_PASSWORD", 7],
    ["PASSWORD=hunter2", "PASSWORD", 7],
    ["SECRET=s3q", "SECRET", 3],
    ["STRIPE_API_KEY=sk_live_1", "STRIPE_API_KEY", 9],
    ["GITHUB_TOKEN=ghp_1", "GITHUB_TOKEN", 5],
    ["SESSION_SECRET=abc", "SESSION_SECRET", 3],
    ["API_KEYS=a,b", "API_KEYS", 3],
    ["SMTP_PASSWD=qz9", "SMTP_PASSWD", 3],
    ["GCP_CREDENTIALS={}", "GCP_CREDENTIALS", 2],
  ])("plain apiEnv %s is refused without echoing its value", (entry, name, chars) => {
    const problems = problemsOf({ apiEnv: JSON.stringify([entry]) }, "dev");
    expect(problems).toEqual([credentialName(name, chars)]);
    expect(problems.join("\n")).not.toContain(entry.slice(name.length + 1));
  });

  test("a credential-looking name in lower case is refused for its case and still not echoed", () => {
    expect(problemsOf({ apiEnv: '["db_password=hunter2"]' }, "dev")).toEqual([
      'northstack:apiEnv: "db_password=[secret of 7 chars]": the name "db_password" is not a POSIX environment variable name; allowed: [A-Z_][A-Z0-9_]*',
    ]);
  });

  test.each([
    [
      "DW_URL=postgres://app:hunter2@dw.example.ca/db",
      "DW_URL",
      "postgres://[credentials]@dw.example.ca/db",
      "hunter2",
    ],
    ["HOOK=https://tok3n@hooks.example.ca/", "HOOK", "https://[credentials]@hooks.example.ca/", "tok3n"],
    // Not a WHATWG URL ('/' in the password), judged by its authority.
    ["DSN=postgres://app:pa/ss@db/app", "DSN", "postgres://[credentials]@db/app", "pa/ss"],
  ])("plain apiEnv %s, a URL carrying credentials, is refused with them hidden", (entry, name, shown, secret) => {
    const problems = problemsOf({ apiEnv: JSON.stringify([entry]) }, "dev");
    expect(problems).toEqual([
      `northstack:apiEnv: "${name}=${shown}" carries a user name or password in its URL, ${movePointer(name)}`,
    ]);
    expect(problems.join("\n")).not.toContain(secret);
  });

  test("names that only contain a credential word, and URLs without credentials, stay plain", () => {
    const cfg = parseConfig(
      ns({
        apiEnv: JSON.stringify([
          "AWS_ACCESS_KEY_ID=AKIAEXAMPLE",
          "MONKEY=1",
          "KEYBOARD_LAYOUT=us",
          "TOKEN_TTL_SECONDS=60",
          "UPSTREAM_URL=https://svc.example.ca/a@b",
        ]),
      }),
      "dev",
    );
    expect(Object.keys(cfg.api.env)).toEqual([
      "AWS_ACCESS_KEY_ID",
      "MONKEY",
      "KEYBOARD_LAYOUT",
      "TOKEN_TTL_SECONDS",
      "UPSTREAM_URL",
    ]);
  });

  test("the same names are accepted as secret env", () => {
    const cfg = parseConfig(ns({ apiSecretEnv: '{"DB_PASSWORD":"hunter2","SECRET":"s3"}' }), "dev");
    expect(cfg.api.secretEnv).toEqual({ DB_PASSWORD: "hunter2", SECRET: "s3" });
  });

  test.each([
    [
      "https://user:pw@app.example.ca",
      '"https://[credentials]@app.example.ca" contains a user name or password; give the origin only, like https://app.example.ca (a browser\'s Origin header never carries credentials, so this would match nothing)',
    ],
    [
      "https://app.example.ca/#top",
      '"https://app.example.ca/#top" has a path, query or fragment; give the origin only, like https://app.example.ca (a browser\'s Origin header is scheme, host and port only)',
    ],
    [
      "https://app.example.ca/?a=1",
      '"https://app.example.ca/?a=1" has a path, query or fragment; give the origin only, like https://app.example.ca (a browser\'s Origin header is scheme, host and port only)',
    ],
    ["app.example.ca", '"app.example.ca" is not a URL; use an origin like https://app.example.ca'],
  ])("corsOrigins %s is refused", (origin, message) => {
    expect(problemsOf({ corsOrigins: JSON.stringify([origin]) }, "dev")).toEqual([
      `northstack:corsOrigins: ${message}`,
    ]);
  });

  test("origins with a port, an IP address or localhost stay allowed in corsOrigins", () => {
    const origins = [
      "https://app.example.ca:8443",
      "http://localhost:3000",
      "http://127.0.0.1:5173",
      "https://app.example.ca/",
    ];
    expect(parseConfig(ns({ corsOrigins: JSON.stringify(origins) }), "dev").gateway.corsOrigins).toEqual(origins);
  });

  test.each([
    [
      "https://api.example.ca/?x=1",
      '"https://api.example.ca/?x=1" has a path, query or fragment; give the origin only, like https://api.example.ca (the gateway serves its routes at the root)',
    ],
    [
      "https://api.example.ca/#x",
      '"https://api.example.ca/#x" has a path, query or fragment; give the origin only, like https://api.example.ca (the gateway serves its routes at the root)',
    ],
    [
      "https://u@api.example.ca",
      '"https://[credentials]@api.example.ca" contains a user name or password; give the origin only, like https://api.example.ca (credentials do not belong in a public URL)',
    ],
  ])("publicUrl %s is refused", (url, message) => {
    expect(problemsOf({ ...staging, publicUrl: url }, "staging")).toEqual([`northstack:publicUrl: ${message}`]);
  });

  test("a publicUrl host label of 64 characters fails in config, naming the key, with the value cut", () => {
    const url = `https://${"b".repeat(64)}.example.ca`;
    expect(problemsOf({ ...staging, publicUrl: url }, "staging")).toEqual([
      `northstack:publicUrl: "https://${"b".repeat(52)}…" (83 characters) has a host label of 64 characters; a host name is labels of 1 to 63 lower-case letters, digits and '-', at most 253 characters in all`,
    ]);
    expect(() =>
      parseConfig(ns({ ...staging, publicUrl: `https://${"b".repeat(63)}.example.ca` }), "staging"),
    ).not.toThrow();
  });
});
