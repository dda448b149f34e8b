import { StackResourceInput } from "../../policy/evaluate";
import { noPublicDataServices as policy } from "../../policy/policies";
import { dockerContainer, messages, stackViolations } from "./fixtures";

const cloudSql = (ipConfiguration: Record<string, unknown>) => ({
  type: "gcp:sql/databaseInstance:DatabaseInstance",
  name: "db",
  props: { settings: { tier: "db-f1", ipConfiguration } },
});
const pab = (props: Record<string, unknown>) => ({
  type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  name: "b",
  props: { bucket: "b", ...props },
});
const allBlocked = {
  blockPublicAcls: true,
  blockPublicPolicy: true,
  ignorePublicAcls: true,
  restrictPublicBuckets: true,
};

test("passes private RDS and Cloud SQL, blocked S3, locked-down GCS and loopback-only Postgres", async () => {
  expect(
    await messages(policy, { type: "aws:rds/instance:Instance", name: "db", props: { publiclyAccessible: false } }),
  ).toEqual([]);
  expect(
    await messages(policy, cloudSql({ ipv4Enabled: false, privateNetwork: "projects/p/global/networks/n" })),
  ).toEqual([]);
  expect(await messages(policy, pab(allBlocked))).toEqual([]);
  expect(
    await messages(policy, {
      type: "gcp:storage/bucket:Bucket",
      name: "media",
      props: { uniformBucketLevelAccess: true, publicAccessPrevention: "enforced" },
    }),
  ).toEqual([]);
  expect(
    await messages(
      policy,
      dockerContainer({ image: "postgres:15.8-alpine", ports: [{ internal: 5432, external: 5432, ip: "127.0.0.1" }] }),
    ),
  ).toEqual([]);
  expect(await messages(policy, dockerContainer({ image: "redis:7.4.1-alpine", ports: [] }))).toEqual([]);
});

test("rejects a publicly accessible RDS instance", async () => {
  expect(
    await messages(policy, { type: "aws:rds/instance:Instance", name: "db", props: { publiclyAccessible: true } }),
  ).toEqual([expect.stringContaining("publiclyAccessible is true")]);
});

test("rejects Cloud SQL with a public IP (including by default) or 0.0.0.0/0", async () => {
  expect(await messages(policy, cloudSql({}))).toEqual([
    expect.stringContaining("ipv4Enabled is unset: the instance gets a public IP"),
  ]);
  const open = await messages(policy, cloudSql({ ipv4Enabled: true, authorizedNetworks: [{ value: "0.0.0.0/0" }] }));
  expect(open).toEqual([
    expect.stringContaining("ipv4Enabled is true"),
    expect.stringContaining("authorizedNetworks allows 0.0.0.0/0"),
  ]);
});

test("rejects an incomplete S3 public access block and public ACLs", async () => {
  expect(await messages(policy, pab({ ...allBlocked, restrictPublicBuckets: false }))).toEqual([
    expect.stringContaining("restrictPublicBuckets is false, must be true"),
  ]);
  expect(
    await messages(policy, { type: "aws:s3/bucket:Bucket", name: "b", props: { acl: "public-read" } }),
  ).toHaveLength(1);
});

test("a bucket ACL (aws v7 BucketAcl, v6 BucketAclV2) may grant a named account's canonical user, never everyone", async () => {
  const grant = (grantee: Record<string, string>, permission = "READ") => ({ grantee, permission });
  const acl = (type: string, grants: unknown[], extra: Record<string, unknown> = {}) => ({
    type,
    name: "b-acl",
    props: { bucket: "b", accessControlPolicy: { owner: { id: "owner" }, grants }, ...extra },
  });
  const named = grant({
    type: "CanonicalUser",
    id: "540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353",
  });
  for (const type of ["aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2"]) {
    expect(await messages(policy, acl(type, [named]))).toEqual([]);
    expect(
      await messages(
        policy,
        acl(type, [named, grant({ type: "Group", uri: "http://acs.amazonaws.com/groups/global/AllUsers" }, "WRITE")]),
      ),
    ).toEqual([
      expect.stringContaining(
        'accessControlPolicy grants "WRITE" to "http://acs.amazonaws.com/groups/global/AllUsers", which is public; fix: grant only to the canonical user of a named account',
      ),
    ]);
    expect(
      await messages(
        policy,
        acl(type, [grant({ type: "Group", uri: "http://acs.amazonaws.com/groups/global/AuthenticatedUsers" })]),
      ),
    ).toHaveLength(1);
    expect(await messages(policy, acl(type, [], { acl: "public-read" }))).toEqual([
      expect.stringContaining('acl "public-read" makes objects public'),
    ]);
  }
});

test("rejects GCS without uniform access or public-access prevention", async () => {
  expect(
    await messages(policy, {
      type: "gcp:storage/bucket:Bucket",
      name: "media",
      props: { publicAccessPrevention: "inherited" },
    }),
  ).toHaveLength(2);
});

test("rejects Postgres and Redis published beyond 127.0.0.1 on Docker", async () => {
  expect(
    await messages(
      policy,
      dockerContainer({ image: "postgres:15.8-alpine", ports: [{ internal: 5432, external: 5432, ip: "0.0.0.0" }] }),
    ),
  ).toEqual([expect.stringContaining('publishes port 5432 on "0.0.0.0"')]);
  expect(
    await messages(
      policy,
      dockerContainer({ image: "redis:7.4.1-alpine", ports: [{ internal: 6379, external: 6379 }] }),
    ),
  ).toEqual([expect.stringContaining('publishes port 6379 on "0.0.0.0"')]);
  expect(
    await messages(
      policy,
      dockerContainer({ image: "ghcr.io/acme/db:1", ports: [{ internal: 5432, external: 15432, ip: "192.168.1.5" }] }),
    ),
  ).toHaveLength(1);
});

test("every S3 bucket needs a public access block in the stack: by name, or by its bucket property's dependency only while the name is unknown", async () => {
  const media: StackResourceInput = {
    type: "aws:s3/bucket:Bucket",
    name: "media",
    urn: "urn:media",
    props: { bucket: "media" },
  };
  const other: StackResourceInput = {
    type: "aws:s3/bucket:Bucket",
    name: "other",
    urn: "urn:other",
    props: { bucket: "other" },
  };
  const run = (extra: StackResourceInput[]) => stackViolations(policy, [media, ...extra]);
  expect(await run([])).toEqual([
    {
      message:
        "S3 bucket media: has no BucketPublicAccessBlock in this stack; fix: add a BucketPublicAccessBlock for it with all four flags true.",
      urn: "urn:media",
    },
  ]);
  expect(await run([{ ...pab(allBlocked), props: { ...allBlocked, bucket: "media" } }])).toEqual([]);
  expect(
    await run([
      {
        ...pab(allBlocked),
        props: { ...allBlocked, bucket: "[unknown]" },
        propertyDependencies: { bucket: ["urn:media"] },
      },
    ]),
  ).toEqual([]);
  // A block for another bucket that merely depends on this one (or names it elsewhere) does not cover it.
  const forOther = {
    ...pab(allBlocked),
    props: { ...allBlocked, bucket: "other" },
    dependencies: ["urn:media", "urn:other"],
  };
  expect(await run([other, forOther])).toEqual([expect.objectContaining({ urn: "urn:media" })]);
  const unknownForOther = {
    ...pab(allBlocked),
    props: { ...allBlocked, bucket: "[unknown]" },
    dependencies: ["urn:media", "urn:other"],
    propertyDependencies: { bucket: ["urn:other"] },
  };
  expect(await run([other, unknownForOther])).toEqual([expect.objectContaining({ urn: "urn:media" })]);
});

test("values unknown at preview are cannot verify, never a pass", async () => {
  expect(
    await messages(policy, {
      type: "aws:rds/instance:Instance",
      name: "db",
      props: { publiclyAccessible: "[unknown]" },
    }),
  ).toEqual([
    "aws:rds/instance:Instance db: publiclyAccessible is unknown at preview, so that it is not reachable from the internet cannot be verified; fix: make publiclyAccessible known at preview: set it from a literal or plain stack config rather than another resource's output.",
  ]);
  expect(await messages(policy, dockerContainer({ image: "postgres:15.8-alpine", ports: "[unknown]" }))).toEqual([
    expect.stringContaining("ports is unknown at preview"),
  ]);
  // An image this program builds is unknown at preview; its ports still tell whether it is a data service.
  expect(
    await messages(
      policy,
      dockerContainer({ image: "[unknown]", ports: [{ internal: 8080, external: 8080, ip: "127.0.0.1" }] }),
    ),
  ).toEqual([]);
  expect(
    await messages(policy, dockerContainer({ image: "[unknown]", ports: [{ internal: 5432, external: 5432 }] })),
  ).toEqual([expect.stringContaining("publishes port 5432")]);
  expect(await messages(policy, pab({ ...allBlocked, blockPublicPolicy: "[unknown]" }))).toEqual([
    expect.stringContaining("blockPublicPolicy is unknown at preview"),
  ]);
});
