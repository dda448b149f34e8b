/**
 * northstack:backupOffsite* on dev reaches the Postgres container and the volume backup: pgbackrest.conf
 * gains repo2 in the bucket, the volume backup uploads beside it, and the two credentials reach those
 * two containers only as secrets, never as plain inputs.
 */
import { PGBACKREST_CONF_PATH } from "../../components/pgbackrest";
import { PlannedResource, SECRET_MARK } from "../../scripts/lib/mock-program";
import type { StackPlan } from "../../scripts/lib/plan";
import {
  DEV_VARIANT,
  OFFSITE_ACCESS_KEY_ID as ACCESS_KEY_ID,
  OFFSITE_SECRET_ACCESS_KEY as SECRET_ACCESS_KEY,
  sharedPlan,
} from "../helpers/shared-plan";

let plan: StackPlan;
let withoutOffsite: StackPlan;
beforeAll(async () => {
  [withoutOffsite, plan] = await Promise.all([sharedPlan("dev"), sharedPlan("dev", DEV_VARIANT)]);
});

const containers = (p: StackPlan) => p.resources.filter((r) => r.type === "docker:index/container:Container");

/** The pgbackrest.conf uploaded for the Postgres container. */
function pgbackrestConf(p: StackPlan): string {
  const uploads = containers(p).flatMap((c) => (c.inputs.uploads ?? []) as { file: string; content: unknown }[]);
  const conf = uploads.filter((u) => u.file === PGBACKREST_CONF_PATH);
  expect(conf).toHaveLength(1);
  return String(conf[0].content);
}

/** The Postgres container: the one whose (revealed) environment points pgBackRest at its conf. */
function postgres(p: StackPlan): PlannedResource {
  const found = containers(p).find((c) =>
    ((c.plainInputs.envs ?? []) as string[]).some((e) => e === `PGBACKREST_CONFIG=${PGBACKREST_CONF_PATH}`),
  );
  if (!found) throw new Error("no Postgres container with pgBackRest");
  return found;
}
const revealedEnvs = (p: StackPlan) => postgres(p).plainInputs.envs as string[];

test("with an off-host bucket, pgbackrest.conf names it as repo2 with every setting given", () => {
  const lines = pgbackrestConf(plan).split("\n");
  expect(lines).toEqual(
    expect.arrayContaining([
      "repo2-type=s3",
      "repo2-path=/dev-laptop",
      "repo2-s3-bucket=northstack-dev-backups",
      "repo2-s3-endpoint=minio.lan:9000",
      "repo2-s3-region=us-east-1",
      "repo2-s3-uri-style=path",
      "repo2-storage-verify-tls=n",
    ]),
  );
  // repo1 stays: the off-host copy is a second repository, not a move.
  expect(lines).toContain("repo1-path=/var/lib/pgbackrest");
});

test("without the key nothing leaves the host: pgbackrest.conf has no repo2 and no S3 keys reach Postgres", () => {
  expect(pgbackrestConf(withoutOffsite)).not.toMatch(/repo2/);
  expect(revealedEnvs(withoutOffsite).filter((e) => e.startsWith("PGBACKREST_REPO2"))).toEqual([]);
});

test("the off-host credentials reach Postgres only as secret environment, never in a plain input", () => {
  expect(revealedEnvs(plan)).toEqual(
    expect.arrayContaining([
      `PGBACKREST_REPO2_S3_KEY=${ACCESS_KEY_ID}`,
      `PGBACKREST_REPO2_S3_KEY_SECRET=${SECRET_ACCESS_KEY}`,
    ]),
  );
  expect(postgres(plan).inputs.envs).toBe(SECRET_MARK);
  expect(postgres(plan).secretPaths).toContain("envs");
  const printable = JSON.stringify(plan.resources.map((r) => r.inputs));
  expect(printable).not.toContain(ACCESS_KEY_ID);
  expect(printable).not.toContain(SECRET_ACCESS_KEY);
  expect(JSON.stringify(plan.outputs)).not.toContain(SECRET_ACCESS_KEY);
});

test("the volume backup uploads to the same bucket, and the keys reach only it and Postgres", () => {
  const volumeBackup = containers(plan).find((c) => c.name === "volume-backup");
  if (!volumeBackup) throw new Error("no volume-backup container");
  const envs = volumeBackup.plainInputs.envs as string[];
  expect(envs).toEqual(
    expect.arrayContaining([
      "OFFSITE_BUCKET=northstack-dev-backups",
      "OFFSITE_ENDPOINT=minio.lan:9000",
      "OFFSITE_PREFIX=dev-laptop-volumes",
      "OFFSITE_VERIFY_TLS=false",
      `AWS_ACCESS_KEY_ID=${ACCESS_KEY_ID}`,
      `AWS_SECRET_ACCESS_KEY=${SECRET_ACCESS_KEY}`,
    ]),
  );
  expect(volumeBackup.inputs.envs).toBe(SECRET_MARK);
  const holders = containers(plan)
    .filter((c) => JSON.stringify(c.plainInputs).includes(SECRET_ACCESS_KEY))
    .map((c) => c.name)
    .sort();
  expect(holders).toEqual([postgres(plan).name, "volume-backup"].sort());
  const without = containers(withoutOffsite).find((c) => c.name === "volume-backup");
  expect(((without?.plainInputs.envs ?? []) as string[]).filter((e) => /^(OFFSITE_|AWS_)/.test(e))).toEqual([]);
});
