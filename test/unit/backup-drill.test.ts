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
const recorder = { user: "northstack_recorder", password: pulumi.secret("recorder-pw") };
const args = { runtime: {} as Runtime, postgres, bucket: reader, drillBucket: reader, recorder };

/** A plain value of an Input, for specs built from literal outputs. */
const valueOf = (input: pulumi.Input<string> | undefined) =>
  new Promise<string>((resolve) => pulumi.output(input).apply((v) => resolve(String(v))));

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

test("the drill records as the recorder role, with its password, never the backup role's", async () => {
  const spec = bucketDrillSpec("backup", args);
  expect(await valueOf(spec.env?.PGUSER)).toBe("northstack_recorder");
  expect(await valueOf(spec.secretEnv?.PGPASSWORD)).toBe("recorder-pw");
  const all = [spec, ...(spec.init ?? [])].flatMap((s) => Object.values(s.secretEnv ?? {}));
  for (const value of all) expect(await valueOf(value)).not.toBe("pw");
});

test("a drill without the bucket it restores from, or without the recorder's login, is refused before any resource", () => {
  expect(() => new Backup("backup", { runtime: {} as Runtime, postgres, drillBucket: reader, recorder })).toThrow(
    "backup drillBucket: set without bucket; the drill restores what the backup uploads, so give both or neither",
  );
  expect(() => new Backup("backup", { runtime: {} as Runtime, postgres, bucket: reader, drillBucket: reader })).toThrow(
    "backup recorder: absent with drillBucket; the drill records its result as the recorder role, so give its login",
  );
});
