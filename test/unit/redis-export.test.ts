/**
 * The ElastiCache DR copy: its pure pieces (the job's IAM policy, the ACL, the lifecycles, the
 * seed statements, the CronJob spec), then the prod and staging plans on AWS: where the buckets are,
 * how the export bucket admits ElastiCache, what replicates, what the job may do, and that the
 * policy pack finds nothing on them. The job's script runs in test/integration/redis-export.test.ts.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import type { PlannedResource } from "../../scripts/lib/mock-program";
import type { StackPlan } from "../../scripts/lib/plan";
import { evaluatePlan } from "../../scripts/lib/plan-policies";
import {
  ELASTICACHE_EXPORT_CANONICAL_ID,
  elastiCacheExportAcl,
  elastiCacheSeedStatements,
  redisDrLifecycleRules,
  redisExportJobPolicy,
  redisExportLifecycleRules,
  validateRedisExportBucketsArgs,
} from "../../components/aws/redis-export";
import { BACKUP_ALERT_GROUP } from "../../components/backup-alerts";
import { REDIS_DR_KEY, REDIS_DR_KIND, redisExportSpec, renderRedisExportScript } from "../../components/redis-export";
import { validateWorkload } from "../../components/workload";
import { Runtime } from "../../components/runtime/types";
import { sharedPlan } from "../helpers/shared-plan";

type Obj = Record<string, unknown>;
type Statement = { Sid: string; Action: string | string[]; Resource: string | string[]; Condition?: Obj };
const ROOT = path.resolve(__dirname, "..", "..");
const BUCKET = "arn:aws:s3:::northstack-prod-redis-export-111122223333";
const scope = {
  region: "ca-central-1",
  accountId: "111122223333",
  replicationGroupId: "ns-redis",
  bucketArn: BUCKET,
  kmsKeyArn: "arn:aws:kms:ca-central-1:111122223333:key/k1",
};
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

describe("the export job's IAM policy", () => {
  const statements = redisExportJobPolicy(scope).Statement as unknown as Statement[];

  test("no wildcard action, and the one '*' resource is s3:ListAllMyBuckets, which has no narrower one", () => {
    for (const s of statements) for (const a of list(s.Action)) expect(a).not.toContain("*");
    const anyResource = statements.filter((s) => list(s.Resource).includes("*"));
    expect(anyResource.map((s) => s.Action)).toEqual(["s3:ListAllMyBuckets"]);
  });

  test("ElastiCache rights name this group's snapshots; S3 rights name the export bucket", () => {
    const of = (sid: string) => statements.find((s) => s.Sid === sid) as Statement;
    const snapshot = "arn:aws:elasticache:ca-central-1:111122223333:snapshot:";
    expect(of("ExportAutomaticSnapshots").Resource).toEqual([
      `${snapshot}automatic.ns-redis-*`,
      `${snapshot}export-ns-redis-*`,
    ]);
    expect(of("DeleteExportCopies").Resource).toBe(`${snapshot}export-ns-redis-*`);
    expect(of("DescribeSnapshots").Resource).toBe(`${snapshot}*`);
    for (const s of statements.filter((x) => list(x.Action).some((a) => a.startsWith("s3:")) && x.Resource !== "*"))
      for (const r of list(s.Resource)) expect(r.startsWith(BUCKET)).toBe(true);
    expect(of("ListExports").Condition).toEqual({ StringLike: { "s3:prefix": ["export-ns-redis-*"] } });
  });

  test("the job may delete only transient exports, and write only the kept key: the lifecycle does retention", () => {
    const grants = statements.flatMap((s) => list(s.Action).flatMap((a) => list(s.Resource).map((r) => `${a} ${r}`)));
    expect(grants.filter((g) => /s3:Delete/.test(g))).toEqual([`s3:DeleteObjectVersion ${BUCKET}/export-ns-redis-*`]);
    expect(grants.filter((g) => g.startsWith("s3:PutObject "))).toEqual([`s3:PutObject ${BUCKET}/${REDIS_DR_KEY}`]);
    expect(grants.some((g) => /s3:DeleteObject |s3:PutLifecycle|s3:PutBucket/.test(g))).toBe(false);
  });
});

test("ElastiCache's canonical user gets list, write and read-ACL on the export bucket; the owner keeps full control", () => {
  const acl = elastiCacheExportAcl("owner-id");
  expect(acl.owner).toEqual({ id: "owner-id" });
  expect(acl.grants).toEqual([
    { grantee: { type: "CanonicalUser", id: "owner-id" }, permission: "FULL_CONTROL" },
    ...["READ", "WRITE", "READ_ACP"].map((permission) => ({
      grantee: { type: "CanonicalUser", id: ELASTICACHE_EXPORT_CANONICAL_ID },
      permission,
    })),
  ]);
});

test("in ca-west-1 only ElastiCache acting for this account may read, and only restore copies", () => {
  const dr = "arn:aws:s3:::northstack-prod-redis-dr-111122223333";
  const statements = elastiCacheSeedStatements(dr, "ca-west-1", "111122223333") as Statement[];
  for (const s of statements) {
    expect((s as unknown as Obj).Principal).toEqual({ Service: "ca-west-1.elasticache-snapshot.amazonaws.com" });
    expect(s.Condition).toEqual({ StringEquals: { "aws:SourceAccount": "111122223333" } });
  }
  expect(statements.map((s) => [s.Action, s.Resource])).toEqual([
    [["s3:ListBucket", "s3:GetBucketAcl"], dr],
    ["s3:GetObject", `${dr}/restore/*`],
  ]);
});

test("both buckets keep the newest 7 versions of the kept key, by count: no rule expires it by age", () => {
  for (const rules of [redisExportLifecycleRules(), redisDrLifecycleRules()]) {
    const daily = rules.filter((r) => (r.filter as Obj | undefined)?.prefix === "daily/");
    expect(daily).toEqual([
      {
        id: "keep-7-daily",
        status: "Enabled",
        filter: { prefix: "daily/" },
        noncurrentVersionExpiration: { noncurrentDays: 1, newerNoncurrentVersions: 6 },
      },
    ]);
    // Rules that expire current objects cover only the transient prefixes, never daily/.
    const expiring = rules.filter((r) => r.expiration !== undefined).map((r) => (r.filter as Obj).prefix);
    for (const prefix of expiring) expect(REDIS_DR_KEY.startsWith(String(prefix))).toBe(false);
    expect(rules.some((r) => JSON.stringify(r.filter) === "{}" && r.noncurrentVersionExpiration)).toBe(false);
  }
  expect(redisExportLifecycleRules().find((r) => r.id === "expire-transient-exports")?.filter).toEqual({
    prefix: "export-",
  });
});

test("the replica must be in the other region", () => {
  expect(() => validateRedisExportBucketsArgs({ region: "ca-central-1", drRegion: "ca-central-1" })).toThrow(
    'Redis export buckets: drRegion "ca-central-1" equals region; the replica must be in the other Canadian region',
  );
});

test("the job is a CronJob after the snapshot window: the AWS CLI exports, the postgres image records", () => {
  const spec = redisExportSpec("redis-dr-export", {
    runtime: {} as Runtime,
    replicationGroupId: pulumi.output("ns-redis"),
    kmsKeyArn: pulumi.output(scope.kmsKeyArn),
    bucket: {
      kind: "s3",
      bucket: pulumi.output("ns-export"),
      region: "ca-central-1",
      access: { serviceAccount: { name: "redis-dr-export", eksPodIdentity: true } },
    },
    postgres: {
      host: pulumi.output("db"),
      port: pulumi.output(5432),
      database: "postgres",
      login: { user: "northstack_backup", password: pulumi.secret("pw") },
      sslMode: "require",
    },
  });
  expect(() => validateWorkload(spec)).not.toThrow();
  // ElastiCache's snapshot window is 06:00-07:00 UTC (aws/redis.ts).
  expect([spec.kind, spec.schedule, spec.args]).toEqual(["cron", "15 8 * * *", ["record"]]);
  const [exportStep, ...rest] = spec.init ?? [];
  expect(rest).toEqual([]);
  expect(exportStep.args).toEqual(["export"]);
  expect(exportStep.image).toMatch(/^amazon\/aws-cli:/);
  // Only the record step holds the database password; the export step uses the Pod Identity.
  expect(Object.keys(spec.secretEnv ?? {})).toEqual(["PGPASSWORD"]);
  expect(Object.keys(exportStep.secretEnv ?? {})).toEqual([]);
  expect(spec.serviceAccount).toEqual({ name: "redis-dr-export", eksPodIdentity: true });
  expect(spec.files?.[0].content).toBe(renderRedisExportScript());
});

test("BackupTooOld covers the redis-dr kind: its query excludes only drills", () => {
  const rule = BACKUP_ALERT_GROUP.alerts.find((a) => a.alert === "BackupTooOld");
  expect(rule?.expr).toContain('{kind!="drill"}');
  expect(REDIS_DR_KIND).not.toBe("drill");
  expect(renderRedisExportScript()).toContain(`-v kind=${REDIS_DR_KIND}`);
});

describe("the prod plan on AWS", () => {
  let plan: StackPlan;
  beforeAll(async () => {
    plan = await sharedPlan("prod", { "northstack:cloud": "aws" });
  }, 120_000);
  const named = (type: string, name: string) =>
    plan.resources.find((r) => r.type === type && r.name === name) as PlannedResource;
  const regionOf = (r: PlannedResource) =>
    plan.resources.find((x) => x.urn === r.provider?.slice(0, r.provider.lastIndexOf("::")))?.inputs.region;

  test("the export bucket is in ca-central-1, its replica in ca-west-1", () => {
    expect(regionOf(named("aws:s3/bucket:Bucket", "redis-dr"))).toBe("ca-central-1");
    expect(regionOf(named("aws:s3/bucket:Bucket", "redis-dr-dr"))).toBe("ca-west-1");
    expect(plan.outputs.redisDrBucket).toBe("northstack-prod-redis-dr-111122223333");
  });

  test("ACLs are enabled on the export bucket only, with ElastiCache's grant; both stay private", () => {
    const ownership = (name: string) =>
      (named("aws:s3/bucketOwnershipControls:BucketOwnershipControls", name).inputs.rule as Obj).objectOwnership;
    expect(ownership("redis-dr-ownership")).toBe("BucketOwnerPreferred");
    expect(ownership("redis-dr-dr-ownership")).toBe("BucketOwnerEnforced");
    const acls = plan.resources.filter((r) => r.type === "aws:s3/bucketAcl:BucketAcl");
    expect(acls.map((a) => a.name)).toEqual(["redis-dr-elasticache-grant"]);
    expect(JSON.stringify(acls[0].inputs.accessControlPolicy)).toContain(ELASTICACHE_EXPORT_CANONICAL_ID);
    for (const name of ["redis-dr-public-access", "redis-dr-dr-public-access"]) {
      const block = named("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", name).inputs;
      expect([
        block.blockPublicAcls,
        block.ignorePublicAcls,
        block.blockPublicPolicy,
        block.restrictPublicBuckets,
      ]).toEqual([true, true, true, true]);
    }
  });

  test("the export bucket is SSE-S3 (ElastiCache writes it), the replica SSE-KMS; both versioned", () => {
    const sse = (name: string) =>
      (
        (
          named("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", name).inputs
            .rules as Obj[]
        )[0].applyServerSideEncryptionByDefault as Obj
      ).sseAlgorithm;
    expect(sse("redis-dr-sse")).toBe("AES256");
    expect(sse("redis-dr-dr-sse")).toBe("aws:kms");
    for (const name of ["redis-dr-versioning", "redis-dr-dr-versioning"])
      expect(named("aws:s3/bucketVersioning:BucketVersioning", name).inputs.versioningConfiguration).toEqual({
        status: "Enabled",
      });
  });

  test("only daily/ replicates, to the ca-west-1 bucket, re-encrypted with the DR key", () => {
    const replication = named("aws:s3/bucketReplicationConfig:BucketReplicationConfig", "redis-dr-replication");
    expect(replication.inputs.bucket).toBe("northstack-prod-redis-export-111122223333");
    const [rule, ...others] = replication.inputs.rules as Obj[];
    expect(others).toEqual([]);
    expect(rule.filter).toEqual({ prefix: "daily/" });
    expect((rule.destination as Obj).bucket).toBe("arn:aws:s3:::northstack-prod-redis-dr-111122223333");
    expect(regionOf(replication)).toBe("ca-central-1");
  });

  test("the job's role is its own, with the policy for this group and bucket", () => {
    const policy = JSON.parse(String(named("aws:iam/rolePolicy:RolePolicy", "redis-dr-identity-policy").inputs.policy));
    expect(JSON.stringify(policy)).toContain("snapshot:automatic.redis-rg-id-*");
    expect(JSON.stringify(policy)).toContain("arn:aws:s3:::northstack-prod-redis-export-111122223333/daily/redis.rdb");
    expect(JSON.stringify(policy)).not.toContain("-backups-");
    const association = named("aws:eks/podIdentityAssociation:PodIdentityAssociation", "redis-dr-identity-association");
    expect(association.inputs.serviceAccount).toBe("redis-dr-export");
  });

  test("the policy pack finds nothing on the new buckets, not even advisories", async () => {
    const results = await evaluatePlan(plan, path.join(ROOT, "policy", "config.prod.json"));
    // The pack did report on this plan (tag-only images are advisories), so an empty filter means something.
    expect(results.length).toBeGreaterThan(0);
    expect(results.filter((r) => /redis-dr(?!-export)/.test(JSON.stringify(r)))).toEqual([]);
  });
});

test("staging keeps no DR copy of Redis: no export buckets, no job", async () => {
  const plan = await sharedPlan("staging", { "northstack:cloud": "aws" });
  expect(plan.resources.filter((r) => r.name.startsWith("redis-dr"))).toEqual([]);
  expect(plan.outputs.redisDrBucket).toBe("none");
}, 120_000);
