import { backupsAndDeletionProtection as policy } from "../../policy/policies";
import { messages } from "./fixtures";

const rds = (props: Record<string, unknown>) => ({ type: "aws:rds/instance:Instance", name: "db", props: { engine: "postgres", backupRetentionPeriod: 7, ...props } });
const prodRds = { deletionProtection: true, skipFinalSnapshot: false, finalSnapshotIdentifier: "db-final" };
const cloudSql = (settings: Record<string, unknown>, props: Record<string, unknown> = {}) => ({
  type: "gcp:sql/databaseInstance:DatabaseInstance",
  name: "db",
  props: { ...props, settings: { tier: "db-f1", backupConfiguration: { enabled: true, pointInTimeRecoveryEnabled: true, backupRetentionSettings: { retainedBackups: 7 } }, ...settings } },
});
const prod = { config: { requireDeletionProtection: true } };

test("passes 7 days of backups off prod, and the full set on prod", async () => {
  expect(await messages(policy, rds({}))).toEqual([]);
  expect(await messages(policy, rds(prodRds), prod)).toEqual([]);
  expect(await messages(policy, cloudSql({}))).toEqual([]);
  expect(await messages(policy, cloudSql({ deletionProtectionEnabled: true, finalBackupConfig: { enabled: true } }, { deletionProtection: true }), prod)).toEqual([]);
});

test("rejects short or missing retention, and honours the configured minimum", async () => {
  expect(await messages(policy, rds({ backupRetentionPeriod: 3 }))).toEqual([expect.stringContaining("backupRetentionPeriod is 3; keep at least 7 days")]);
  expect(await messages(policy, rds({ backupRetentionPeriod: undefined }))).toHaveLength(1);
  expect(await messages(policy, rds({ backupRetentionPeriod: 7 }), { config: { minimumRetentionDays: 14 } })).toEqual([expect.stringContaining("at least 14 days")]);
  expect(await messages(policy, rds({ backupRetentionPeriod: "[unknown]" }))).toEqual([expect.stringMatching(/unknown at preview/)]);
});

test("rejects Cloud SQL without backups or PITR", async () => {
  const found = await messages(policy, cloudSql({ backupConfiguration: { enabled: false, backupRetentionSettings: { retainedBackups: 3 } } }));
  expect(found).toEqual([expect.stringContaining("enabled is not true"), expect.stringContaining("pointInTimeRecoveryEnabled is not true"), expect.stringContaining("retainedBackups is 3")]);
});

test("on prod (config or stack tag) requires deletion protection and final snapshots", async () => {
  const found = await messages(policy, rds({ deletionProtection: false, skipFinalSnapshot: true }), prod);
  expect(found).toEqual([expect.stringContaining("deletionProtection is false"), expect.stringContaining("skipFinalSnapshot is true")]);
  expect(await messages(policy, rds({ deletionProtection: true, skipFinalSnapshot: false }), { stackTags: { environment: "prod" } })).toEqual([expect.stringContaining("finalSnapshotIdentifier is not set")]);
  expect(await messages(policy, rds({}), { stackTags: { environment: "staging" } })).toEqual([]);
  expect(await messages(policy, cloudSql({}, { deletionProtection: false }), prod)).toHaveLength(3);
});

test("read replicas carry no backups of their own", async () => {
  expect(await messages(policy, rds({ backupRetentionPeriod: 0, replicateSourceDb: "db" }))).toEqual([]);
  expect(await messages(policy, cloudSql({ backupConfiguration: {} }, { masterInstanceName: "db" }))).toEqual([]);
});
