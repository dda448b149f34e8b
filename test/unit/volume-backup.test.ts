import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { IMAGES } from "../../components/images";
import { DockerRuntime } from "../../components/runtime/docker";
import { validateForKubernetes } from "../../components/runtime/kubernetes/pod";
import { offsitePrefix, validateVolumeBackupArgs, volumeBackupSpec } from "../../components/volume-backup";
import { PostgresEndpoint, RedisEndpoint } from "../../components/endpoints";
import { PlannedResource, runUnderMocks } from "../../scripts/lib/mock-program";
import { StackPlan } from "../../scripts/lib/plan";
import { sharedPlan } from "../helpers/shared-plan";

const postgres: PostgresEndpoint = {
  host: pulumi.output("postgres"),
  port: pulumi.output(5432),
  database: "postgres",
  login: { user: "northstack_recorder", password: pulumi.output("pg-secret") },
  sslMode: "disable",
};
const redis: RedisEndpoint = {
  host: pulumi.output("redis"),
  port: pulumi.output(6379),
  password: pulumi.output("redis-secret"),
  tls: false,
};
const storage = { workload: "supabase-storage", volume: "objects" };

describe("volumeBackupSpec", () => {
  const spec = volumeBackupSpec("volume-backup", { postgres, redis, storage }, "northstack/volume-backup:abc");

  test("runs non-root with a read-only root file system, and mounts Storage's objects read-only", () => {
    expect(spec.user).toEqual({ uid: IMAGES.postgres.uid, gid: IMAGES.postgres.gid });
    expect(spec.user.uid).toBeGreaterThan(0);
    expect(spec.readOnlyRootFilesystem).toBe(true);
    expect(spec.addCapabilities ?? []).toEqual([]);
    expect(spec.readOnlyVolumesOf).toEqual([{ ...storage, mountPath: "/mnt/storage-objects" }]);
    // Its own volume only: no share of Redis's data, which it copies over the network.
    expect(spec.volumes).toEqual([{ name: "backups", mountPath: "/backups", sizeGb: 10 }]);
  });

  test("is first checked within the runtime's 180 s wait for healthy, by the script's own check", () => {
    expect(spec.health?.exec).toEqual(["/bin/bash", "/opt/northstack/volume-backup.sh", "check"]);
    expect(spec.health?.intervalSeconds).toBeLessThan(180);
  });

  test("passwords travel as secrets, never as plain environment", () => {
    expect(Object.keys(spec.secretEnv ?? {}).sort()).toEqual(["PGPASSWORD", "REDISCLI_AUTH"]);
    expect(Object.keys(spec.env ?? {})).not.toEqual(expect.arrayContaining(["PGPASSWORD", "REDISCLI_AUTH"]));
    expect(spec.env).toEqual(expect.objectContaining({ STORAGE_DIR: "/mnt/storage-objects", BACKUP_DIR: "/backups" }));
  });

  test("the script copies only what it was given", () => {
    const script = (s: ReturnType<typeof volumeBackupSpec>) => String(s.files?.[0].content);
    expect(script(spec)).toContain("KINDS=(redis storage)");
    const redisOnly = volumeBackupSpec("vb", { postgres, redis }, "img:1");
    expect(script(redisOnly)).toContain("KINDS=(redis)");
    expect(redisOnly.readOnlyVolumesOf).toEqual([]);
    expect(redisOnly.env).not.toHaveProperty("STORAGE_DIR");
    const storageOnly = volumeBackupSpec("vb", { postgres, storage }, "img:1");
    expect(script(storageOnly)).toContain("KINDS=(storage)");
    expect(storageOnly.secretEnv).not.toHaveProperty("REDISCLI_AUTH");
  });

  test("bad arguments fail before any resource, every problem named", () => {
    expect(() => validateVolumeBackupArgs("vb", { keepDaily: 0, volumeGb: 1.5 })).toThrow(
      'VolumeBackup "vb": redis and storage are both absent; give at least one; keepDaily: 0 is not allowed; use an integer of at least 1; volumeGb: 1.5 is not allowed; use an integer of at least 1',
    );
  });

  test("the Kubernetes runtime refuses a read-only share of another workload's volume", () => {
    expect(() => validateForKubernetes(spec, "ingress")).toThrow(
      /readOnlyVolumesOf supabase-storage\/objects is not supported; a volume claim belongs to one pod/,
    );
  });
});

describe("with the off-host bucket", () => {
  const offsite = {
    bucket: "northstack-dev-backups",
    endpoint: "minio.lan:9000",
    region: "us-east-1",
    path: "/dev-laptop",
    uriStyle: "path" as const,
    verifyTls: false,
    accessKeyId: pulumi.output("offsite-key-id"),
    secretAccessKey: pulumi.output("offsite-secret"),
  };
  const spec = volumeBackupSpec("volume-backup", { postgres, redis, storage, offsite }, "img:1");

  test("the copies go beside pgBackRest's repository path, never inside it", () => {
    expect(offsitePrefix("/dev-laptop")).toBe("dev-laptop-volumes");
    expect(offsitePrefix()).toBe("pgbackrest-volumes");
    expect(offsitePrefix("/a/b/")).toBe("a/b-volumes");
    expect(offsitePrefix("/")).toBe("volumes");
  });

  test("the bucket, endpoint, region, uri style and TLS check reach the CLI; the keys only as secrets", () => {
    expect(spec.env).toEqual(
      expect.objectContaining({
        OFFSITE_BUCKET: "northstack-dev-backups",
        OFFSITE_ENDPOINT: "minio.lan:9000",
        OFFSITE_PREFIX: "dev-laptop-volumes",
        OFFSITE_VERIFY_TLS: "false",
        AWS_CONFIG_FILE: "/etc/northstack/aws-config",
      }),
    );
    const config = spec.files?.find((f) => f.path === "/etc/northstack/aws-config")?.content;
    expect(config).toMatch(/^region = us-east-1$/m);
    expect(config).toMatch(/^ {2}addressing_style = path$/m);
    expect(Object.keys(spec.secretEnv ?? {}).sort()).toEqual([
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "PGPASSWORD",
      "REDISCLI_AUTH",
    ]);
    expect(JSON.stringify(spec.env)).not.toMatch(/offsite-key-id|offsite-secret/);
    const hosted = volumeBackupSpec("vb", { postgres, redis, offsite: { ...offsite, uriStyle: "host" } }, "img:1");
    expect(hosted.files?.find((f) => f.path === "/etc/northstack/aws-config")?.content).toMatch(
      /^ {2}addressing_style = virtual$/m,
    );
  });

  test("without it, nothing about a bucket reaches the job", () => {
    const plain = volumeBackupSpec("vb", { postgres, redis, storage }, "img:1");
    expect(Object.keys(plain.env ?? {}).filter((k) => k.startsWith("OFFSITE_") || k.startsWith("AWS_"))).toEqual([]);
    expect(Object.keys(plain.secretEnv ?? {}).filter((k) => k.startsWith("AWS_"))).toEqual([]);
    expect(plain.files?.map((f) => f.path)).toEqual(["/opt/northstack/volume-backup.sh"]);
  });
});

test("the image's base images are the pinned Redis and Postgres images", () => {
  const dockerfile = fs.readFileSync(path.join(__dirname, "..", "..", "images", "volume-backup", "Dockerfile"), "utf8");
  const froms = dockerfile
    .split("\n")
    .filter((l) => l.startsWith("FROM "))
    .map((l) => l.split(/\s+/)[1]);
  expect(froms).toEqual([IMAGES.redis.image, IMAGES.postgres.image]);
  expect(dockerfile).toMatch(/^USER 999:999$/m);
  expect(IMAGES.postgres.uid).toBe(999);
});

describe("the dev stack's volume backup", () => {
  let plan: StackPlan;
  beforeAll(async () => {
    plan = await sharedPlan("dev");
  });
  const container = (): PlannedResource => {
    const found = plan.resources.find(
      (r) => r.type === "docker:index/container:Container" && r.name === "volume-backup",
    );
    if (!found) throw new Error("no volume-backup container");
    return found;
  };

  test("runs hardened: non-root, every capability dropped, no privilege escalation, read-only root", () => {
    const c = container().inputs;
    expect(c.user).toBe("999:999");
    expect(c.capabilities).toEqual({ adds: [], drops: ["ALL"] });
    expect(c.securityOpts).toEqual(["no-new-privileges:true"]);
    expect(c.readOnly).toBe(true);
    expect(c.privileged).toBe(false);
  });

  test("records as the recorder role, which may only insert the records, not as the backup role", () => {
    const envs = container().plainInputs.envs as string[];
    expect(envs).toContain("PGUSER=northstack_recorder");
    expect(envs.filter((e) => e.startsWith("PGUSER="))).toHaveLength(1);
  });

  test("mounts its own backups volume and Storage's objects read-only, and nothing of Redis", () => {
    const volumes = container().inputs.volumes as { volumeName?: string; containerPath?: string; readOnly?: boolean }[];
    const named = volumes.filter((v) => v.volumeName);
    expect(named).toEqual([
      { containerPath: "/backups", volumeName: "northstack-dev-volume-backup-backups" },
      { containerPath: "/mnt/storage-objects", readOnly: true, volumeName: "northstack-dev-supabase-storage-objects" },
    ]);
  });
});

test("Docker mounts another workload's volume only once that workload is deployed, and only read-only", async () => {
  const errors: string[] = [];
  const result = await runUnderMocks({
    stack: "dev",
    config: {},
    program: () => {
      const runtime = new DockerRuntime("docker", { stack: "dev" });
      const parent = new pulumi.ComponentResource("northstack:test:Holder", "holder");
      const reader = (name: string) =>
        volumeBackupSpec(name, { postgres, storage: { workload: "owner", volume: "objects" } }, "img:1");
      try {
        runtime.deploy(reader("too-early"), parent);
      } catch (e) {
        errors.push((e as Error).message);
      }
      runtime.deploy(
        {
          name: "owner",
          component: "test",
          image: "img:1",
          volumes: [{ name: "objects", mountPath: "/var/lib/objects", sizeGb: 1 }],
          health: { exec: ["true"] },
          resources: { cpuMillis: 100, memoryMb: 64 },
          user: { uid: 1000, gid: 1000 },
        },
        parent,
      );
      runtime.deploy(reader("reader"), parent);
    },
  });
  expect(errors).toEqual([
    'workload "too-early": readOnlyVolumesOf names volume "objects" of workload "owner", which is not deployed on stack dev; deploy that workload first',
  ]);
  const reader = result.resources.find((r) => r.type === "docker:index/container:Container" && r.name === "reader");
  expect(reader?.inputs.volumes).toEqual(
    expect.arrayContaining([
      { containerPath: "/mnt/storage-objects", readOnly: true, volumeName: "northstack-dev-owner-objects" },
    ]),
  );
  const owner = result.resources.find((r) => r.type === "docker:index/container:Container" && r.name === "owner");
  expect(owner?.inputs.volumes).toEqual([
    { containerPath: "/var/lib/objects", volumeName: "northstack-dev-owner-objects" },
  ]);
});
