import { backupsAndDeletionProtection as policy } from "../../policy/policies";
import { messages } from "./fixtures";

const rds = (props: Record<string, unknown>) => ({
  type: "aws:rds/instance:Instance",
  name: "db",
  props: { engine: "postgres", backupRetentionPeriod: 7, ...props },
});
const prodRds = { deletionProtection: true, skipFinalSnapshot: false, finalSnapshotIdentifier: "db-final" };
const cloudSql = (settings: Record<string, unknown>, props: Record<string, unknown> = {}) => ({
  type: "gcp:sql/databaseInstance:DatabaseInstance",
  name: "db",
  props: {
    ...props,
    settings: {
      tier: "db-f1",
      backupConfiguration: {
        enabled: true,
        pointInTimeRecoveryEnabled: true,
        backupRetentionSettings: { retainedBackups: 7 },
      },
      ...settings,
    },
  },
});
const prod = { config: { requireDeletionProtection: true } };

test("passes 7 days of backups off prod, and the full set on prod", async () => {
  expect(await messages(policy, rds({}))).toEqual([]);
  expect(await messages(policy, rds(prodRds), prod)).toEqual([]);
  expect(await messages(policy, cloudSql({}))).toEqual([]);
  expect(
    await messages(
      policy,
      cloudSql({ deletionProtectionEnabled: true, finalBackupConfig: { enabled: true } }, { deletionProtection: true }),
      prod,
    ),
  ).toEqual([]);
});

test("rejects short or missing retention, and honours the configured minimum", async () => {
  expect(await messages(policy, rds({ backupRetentionPeriod: 3 }))).toEqual([
    expect.stringContaining("backupRetentionPeriod is 3; keep at least 7 days"),
  ]);
  expect(await messages(policy, rds({ backupRetentionPeriod: undefined }))).toHaveLength(1);
  expect(await messages(policy, rds({ backupRetentionPeriod: 7 }), { config: { minimumRetentionDays: 14 } })).toEqual([
    expect.stringContaining("at least 14 days"),
  ]);
  expect(await messages(policy, rds({ backupRetentionPeriod: "[unknown]" }))).toEqual([
    expect.stringMatching(/unknown at preview/),
  ]);
});

test("rejects Cloud SQL without backups or PITR", async () => {
  const found = await messages(
    policy,
    cloudSql({ backupConfiguration: { enabled: false, backupRetentionSettings: { retainedBackups: 3 } } }),
  );
  expect(found).toEqual([
    expect.stringContaining("enabled is false"),
    expect.stringContaining("pointInTimeRecoveryEnabled is unset"),
    expect.stringContaining("retainedBackups is 3"),
  ]);
});

test("on prod (config or stack tag) requires deletion protection and final snapshots", async () => {
  const found = await messages(policy, rds({ deletionProtection: false, skipFinalSnapshot: true }), prod);
  expect(found).toEqual([
    expect.stringContaining("deletionProtection is false"),
    expect.stringContaining("skipFinalSnapshot is true"),
  ]);
  expect(
    await messages(policy, rds({ deletionProtection: true, skipFinalSnapshot: false }), {
      stackTags: { environment: "prod" },
    }),
  ).toEqual([expect.stringContaining("finalSnapshotIdentifier is not set")]);
  expect(await messages(policy, rds({}), { stackTags: { environment: "staging" } })).toEqual([]);
  expect(await messages(policy, cloudSql({}, { deletionProtection: false }), prod)).toHaveLength(3);
});

test("read replicas carry no backups of their own, but on prod are protected from deletion too", async () => {
  expect(await messages(policy, rds({ backupRetentionPeriod: 0, replicateSourceDb: "db" }))).toEqual([]);
  expect(await messages(policy, cloudSql({ backupConfiguration: {} }, { masterInstanceName: "db" }))).toEqual([]);
  expect(
    await messages(policy, rds({ backupRetentionPeriod: 0, replicateSourceDb: "db", deletionProtection: false }), prod),
  ).toEqual([
    expect.stringMatching(
      /deletionProtection is false; production databases must be protected from deletion; fix: set deletionProtection: true/,
    ),
  ]);
  expect(
    await messages(policy, rds({ backupRetentionPeriod: 0, replicateSourceDb: "db", deletionProtection: true }), prod),
  ).toEqual([]);
});

test("the production stack tag is matched case-insensitively", async () => {
  for (const environment of ["Production", "prod", "PROD", " production "]) {
    expect(
      await messages(
        policy,
        rds({ deletionProtection: false, skipFinalSnapshot: false, finalSnapshotIdentifier: "f" }),
        { stackTags: { environment } },
      ),
    ).toHaveLength(1);
  }
  expect(await messages(policy, rds({ deletionProtection: false }), { stackTags: { environment: "preprod" } })).toEqual(
    [],
  );
});

test("Cloud SQL transaction logs reach back the configured PITR days (default 7; Enterprise keeps at most 7)", async () => {
  const logs = (days: unknown, extra: Record<string, unknown> = {}) =>
    cloudSql({
      ...extra,
      backupConfiguration: {
        enabled: true,
        pointInTimeRecoveryEnabled: true,
        backupRetentionSettings: { retainedBackups: 7 },
        transactionLogRetentionDays: days,
      },
    });
  expect(await messages(policy, logs(7))).toEqual([]);
  expect(await messages(policy, logs(undefined))).toEqual([]);
  expect(await messages(policy, logs(3))).toEqual([
    expect.stringMatching(
      /transactionLogRetentionDays is 3; point-in-time recovery must reach back 7 days; fix: set .* to 7 or more \(at most 7 on ENTERPRISE\)/,
    ),
  ]);
  expect(await messages(policy, logs("[unknown]"))).toEqual([
    expect.stringContaining("transactionLogRetentionDays is unknown at preview"),
  ]);
  expect(await messages(policy, logs(7), { config: { minimumPitrDays: 14 } })).toEqual([
    expect.stringContaining("use settings.edition ENTERPRISE_PLUS"),
  ]);
  expect(await messages(policy, logs(14, { edition: "ENTERPRISE_PLUS" }), { config: { minimumPitrDays: 14 } })).toEqual(
    [],
  );
  expect(
    await messages(policy, logs(undefined, { edition: "ENTERPRISE_PLUS" }), { config: { minimumPitrDays: 14 } }),
  ).toEqual([]);
});

test("deletion protection unknown at preview on prod is cannot verify", async () => {
  expect(await messages(policy, rds({ ...prodRds, deletionProtection: "[unknown]" }), prod)).toEqual([
    expect.stringContaining("deletionProtection is unknown at preview"),
  ]);
});
