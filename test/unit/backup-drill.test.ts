/**
 * The restore drill's workload, as a pure spec: what each step runs, which step holds which secret,
 * and that it is a valid workload. The rendered CronJob, its IAM and network policy on both clouds are
 * in cloud-stacks.test.ts; the script itself runs against a real PostgreSQL in
 * test/integration/backup.test.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import { Backup, BackupArgs, bucketDrillSpec, drillWorkloadName } from "../../components/backup";
import { renderBackupScript } from "../../components/backup-script";
import { ObjectStoreEndpoint } from "../../components/endpoints";
import { Runtime } from "../../components/runtime/types";
import { validateWorkload } from "../../components/workload";

const postgres: BackupArgs["postgres"] = {
  host: pulumi.output("db.internal"),
  port: pulumi.output(5432),
  database: "postgres",
  login: { user: "northstack_backup", password: pulumi.secret("pw") },
  sslMode: "require",
};
const reader: ObjectStoreEndpoint = {
  kind: "s3",
  bucket: pulumi.output("ns-backups"),
  region: "ca-central-1",
  access: { serviceAccount: { name: "backup-drill", eksPodIdentity: true } },
};
const args = { runtime: {} as Runtime, postgres, bucket: reader, drillBucket: reader };

test("the drill is a CronJob of its own: fetch with the AWS CLI, then drill with the postgres image", () => {
  const spec = bucketDrillSpec("backup", args);
  expect(() => validateWorkload(spec)).not.toThrow();
  expect([spec.name, spec.kind, spec.schedule]).toEqual([drillWorkloadName("backup"), "cron", "30 9 * * *"]);
  expect(bucketDrillSpec("backup", { ...args, drillSchedule: "0 12 * * *" }).schedule).toBe("0 12 * * *");
  const [fetch, ...rest] = spec.init ?? [];
  expect(rest).toEqual([]);
  expect([fetch.name, fetch.args]).toEqual(["backup-drill-fetch", ["fetch"]]);
  expect(spec.args).toEqual(["drill"]);
  // Only the drill step logs in to Postgres; the fetch step holds no database secret.
  expect(Object.keys(spec.secretEnv ?? {})).toEqual(["PGPASSWORD"]);
  expect(Object.keys(fetch.secretEnv ?? {})).toEqual([]);
  expect(spec.serviceAccount).toEqual({ name: "backup-drill", eksPodIdentity: true });
  // Room for the dump and the restored copy.
  expect(spec.scratch?.find((s) => s.mountPath === "/drill")?.sizeMb).toBe(2 * 10 * 1024);
  expect(spec.files?.find((f) => f.path.endsWith("backup.sh"))?.content).toBe(renderBackupScript());
});

test("a drill without the bucket it restores from is refused before any resource", () => {
  expect(() => new Backup("backup", { runtime: {} as Runtime, postgres, drillBucket: reader })).toThrow(
    "backup drillBucket: set without bucket; the drill restores what the backup uploads, so give both or neither",
  );
});
