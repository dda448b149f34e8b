/**
 * The GCP managed data services, cluster and network, composed the way prod composes them (HA, DR)
 * and the way staging does, under mocks. Every data resource must be in northamerica-northeast1
 * (DR copies in northamerica-northeast2 only), encrypted, and reachable only privately.
 */
import * as pulumi from "@pulumi/pulumi";
import { BACKUP_RETENTION } from "../../components/retention";
import {
  GcsBackupBucket,
  gcsLifecycleRules,
  gcsLocation,
  validateGcsBackupBucketArgs,
} from "../../components/gcp/backup-bucket";
import { GkeAutopilot, gkeKubeconfig, validateGkeAutopilotArgs } from "../../components/gcp/cluster";
import { GcpEncryptionKey } from "../../components/gcp/kms";
import { GcpNetwork, gcpSubnetLayout } from "../../components/gcp/network";
import {
  CloudSqlPostgres,
  cloudSqlBackupWindow,
  cloudSqlPitrNotice,
  cloudSqlPromoteCommands,
  validateCloudSqlPostgresArgs,
} from "../../components/gcp/postgres";
import { gcpContext, validateGcpRegions } from "../../components/gcp/providers";
import { MemorystoreRedis, memorystoreSizeGb } from "../../components/gcp/redis";
import { MockRunResult, PlannedResource, SECRET_MARK, runUnderMocks } from "../../scripts/lib/mock-program";

type Obj = Record<string, unknown>;

/** Logical decoding for Supabase realtime, and pg_cron loaded with its jobs in the migrations' database. */
const FLAGS = [
  { name: "cloudsql.logical_decoding", value: "on" },
  { name: "cloudsql.enable_pg_cron", value: "on" },
  { name: "cron.database_name", value: "postgres" },
];

/** Composes the GCP layer like stacks/gcp.ts does, with or without the prod settings. */
function composeGcp(prodLike: boolean) {
  const gcp = gcpContext(prodLike ? "prod" : "staging");
  const primary = { provider: gcp.provider };
  const network = new GcpNetwork("network", { region: gcp.region, vpcCidr: "10.40.0.0/16" }, primary);
  const key = new GcpEncryptionKey(
    "kms",
    {
      location: gcp.region,
      projectNumber: gcp.projectNumber,
      users: ["sqladmin.googleapis.com", "redis.googleapis.com", "container.googleapis.com"],
    },
    primary,
  );
  const ready = [...network.privateServicesAccess, ...key.grants];
  const postgres = new CloudSqlPostgres(
    "postgres",
    {
      region: gcp.region,
      networkId: network.networkId,
      password: pulumi.secret("postgres-password-for-tests"),
      kmsKeyId: key.id,
      ha: prodLike,
      deletionProtection: prodLike,
      backupRetentionDays: prodLike ? 14 : 7,
      dependsOn: ready,
    },
    primary,
  );
  const redis = new MemorystoreRedis(
    "redis",
    {
      region: gcp.region,
      networkId: network.networkId,
      memoryMb: 1500,
      ha: prodLike,
      kmsKeyId: key.id,
      deletionProtection: prodLike,
      dependsOn: ready,
    },
    primary,
  );
  const backups = new GcsBackupBucket(
    "backups",
    {
      region: gcp.region,
      drRegion: prodLike ? gcp.drRegion : undefined,
      projectId: gcp.projectId,
      projectNumber: gcp.projectNumber,
    },
    primary,
  );
  const cluster = new GkeAutopilot(
    "cluster",
    {
      region: gcp.region,
      networkId: network.networkId,
      subnetworkId: network.subnetworkId ?? "",
      kmsKeyId: key.id,
      deletionProtection: prodLike,
      dependsOn: key.grants,
    },
    primary,
  );
  return {
    postgresHost: postgres.endpoint.host,
    postgresPassword: postgres.endpoint.login.password,
    sslMode: postgres.endpoint.sslMode,
    redisPassword: redis.endpoint.password,
    redisTls: redis.endpoint.tls,
    redisPort: redis.endpoint.port,
    bucket: backups.endpoint.bucket,
    storageKind: backups.endpoint.kind,
    kubeconfig: cluster.kubeconfig,
    dataCidr: network.privateServicesCidr,
  };
}

let prod: MockRunResult;
let staging: MockRunResult;

beforeAll(async () => {
  const config = { "gcp:project": "northstack-test" };
  await jest.isolateModulesAsync(async () => {
    prod = await runUnderMocks({ stack: "prod", config, program: () => composeGcp(true) });
  });
  await jest.isolateModulesAsync(async () => {
    staging = await runUnderMocks({ stack: "staging", config, program: () => composeGcp(false) });
  });
});

const ofType = (run: MockRunResult, type: string) => run.resources.filter((r) => r.type === type);
const one = (run: MockRunResult, type: string) => {
  const found = ofType(run, type);
  expect({ type, count: found.length }).toEqual({ type, count: 1 });
  return found[0];
};
function providerOf(run: MockRunResult, r: PlannedResource): PlannedResource | undefined {
  if (!r.provider) return undefined;
  const urn = r.provider.slice(0, r.provider.lastIndexOf("::"));
  return run.resources.find((p) => p.urn === urn);
}
const settingsOf = (db: PlannedResource) => db.inputs.settings as Obj;

describe("provider and regions", () => {
  test("every GCP resource uses the explicit provider pinned to northamerica-northeast1 and the configured project", () => {
    for (const run of [prod, staging]) {
      const resources = run.resources.filter((r) => r.custom && r.type.startsWith("gcp:"));
      expect(resources.length).toBeGreaterThan(15);
      for (const r of resources) {
        expect({ r: r.name, provider: providerOf(run, r)?.inputs }).toEqual({
          r: r.name,
          provider: expect.objectContaining({ region: "northamerica-northeast1", project: "northstack-test" }),
        });
      }
    }
  });

  test("every resource that names a region or location names a Canadian one; only DR copies use -northeast2", () => {
    const placed = (run: MockRunResult) =>
      run.resources
        .filter((r) => r.custom && r.type.startsWith("gcp:"))
        .flatMap((r) =>
          [r.inputs.region, r.inputs.location]
            .filter((v) => v !== undefined)
            .map((where) => ({ type: r.type, where: String(where).toLowerCase() })),
        );
    for (const run of [prod, staging]) {
      const all = placed(run);
      expect(all.length).toBeGreaterThan(6);
      for (const p of all)
        expect(p).toEqual({ type: p.type, where: expect.stringMatching(/^northamerica-northeast[12]$/) });
    }
    expect(placed(prod).filter((p) => p.where === "northamerica-northeast2")).toEqual([
      { type: "gcp:storage/bucket:Bucket", where: "northamerica-northeast2" },
    ]);
    expect(placed(staging).filter((p) => p.where === "northamerica-northeast2")).toEqual([]);
  });

  test("regions outside Canada and GCS multi-regions are refused", () => {
    expect(() => validateGcpRegions("us-central1", "northamerica-northeast2")).toThrow(
      /region "us-central1" is outside Canada; allowed gcp regions: northamerica-northeast1, northamerica-northeast2/,
    );
    for (const multiRegion of ["US", "NAM4", "nam4", "northamerica"]) {
      expect(() => gcsLocation(multiRegion)).toThrow(
        new RegExp(`region "${multiRegion}" is not allowed; allowed: northamerica-northeast1, northamerica-northeast2`),
      );
    }
    expect(gcsLocation("northamerica-northeast1")).toBe("NORTHAMERICA-NORTHEAST1");
  });
});

describe("network", () => {
  test("a custom-mode VPC, Cloud NAT for private nodes, and private services access on a known range", () => {
    expect(one(staging, "gcp:compute/network:Network").inputs.autoCreateSubnetworks).toBe(false);
    const subnet = one(staging, "gcp:compute/subnetwork:Subnetwork").inputs;
    expect(subnet).toEqual(
      expect.objectContaining({
        ipCidrRange: "10.40.0.0/20",
        privateIpGoogleAccess: true,
        region: "northamerica-northeast1",
      }),
    );
    expect(one(staging, "gcp:compute/routerNat:RouterNat").inputs.natIpAllocateOption).toBe("AUTO_ONLY");
    const range = one(staging, "gcp:compute/globalAddress:GlobalAddress").inputs;
    expect(range).toEqual(
      expect.objectContaining({
        purpose: "VPC_PEERING",
        addressType: "INTERNAL",
        address: "10.40.64.0",
        prefixLength: 20,
      }),
    );
    expect(one(staging, "gcp:servicenetworking/connection:Connection").inputs.service).toBe(
      "servicenetworking.googleapis.com",
    );
    expect(staging.outputs.dataCidr).toBe("10.40.64.0/20");
  });

  test("the layout's ranges do not overlap", () => {
    expect(gcpSubnetLayout("10.40.0.0/16")).toEqual({
      nodes: "10.40.0.0/20",
      services: "10.40.16.0/20",
      privateServices: "10.40.64.0/20",
      pods: "10.40.128.0/17",
    });
    expect(() => gcpSubnetLayout("10.40.0.0/24")).toThrow(
      /vpcCidr "10.40.0.0\/24" is not allowed; allowed: an IPv4 CIDR from \/8 to \/20/,
    );
  });
});

describe("CMEK", () => {
  test("one rotating key, usable by exactly the Cloud SQL, Memorystore and GKE service agents", () => {
    expect(one(prod, "gcp:kms/cryptoKey:CryptoKey").inputs).toEqual(
      expect.objectContaining({ purpose: "ENCRYPT_DECRYPT", rotationPeriod: "7776000s" }),
    );
    expect(one(prod, "gcp:kms/keyRing:KeyRing").inputs.location).toBe("northamerica-northeast1");
    const members = ofType(prod, "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember").map((m) => m.inputs.member);
    expect(members.sort()).toEqual([
      "serviceAccount:service-123456789012@cloud-redis.iam.gserviceaccount.com",
      "serviceAccount:service-123456789012@container-engine-robot.iam.gserviceaccount.com",
      "serviceAccount:service-123456789012@gcp-sa-cloud-sql.iam.gserviceaccount.com",
    ]);
    // Cloud SQL's agent is created on request, before the grant; the others come with their API.
    expect(ofType(prod, "gcp:projects/serviceIdentity:ServiceIdentity").map((s) => s.inputs.service)).toEqual([
      "sqladmin.googleapis.com",
    ]);
  });
});

describe("Cloud SQL", () => {
  test("prod: REGIONAL, private IP only, TLS required, PITR with backups kept in Canada, protected, CMEK", () => {
    const db = one(prod, "gcp:sql/databaseInstance:DatabaseInstance");
    expect(db.inputs).toEqual(
      expect.objectContaining({
        databaseVersion: "POSTGRES_15",
        region: "northamerica-northeast1",
        deletionProtection: true,
        rootPassword: SECRET_MARK,
      }),
    );
    expect(String(db.inputs.encryptionKeyName)).toContain("kms-key");
    const settings = settingsOf(db);
    expect(settings).toEqual(
      expect.objectContaining({ availabilityType: "REGIONAL", deletionProtectionEnabled: true }),
    );
    expect(settings.ipConfiguration).toEqual(
      expect.objectContaining({ ipv4Enabled: false, sslMode: "ENCRYPTED_ONLY" }),
    );
    expect(String((settings.ipConfiguration as Obj).privateNetwork)).toContain("network-vpc");
    expect(settings.backupConfiguration).toEqual(
      expect.objectContaining({
        enabled: true,
        pointInTimeRecoveryEnabled: true,
        location: "northamerica-northeast1",
        backupRetentionSettings: { retainedBackups: 14, retentionUnit: "COUNT" },
      }),
    );
    expect(settings.databaseFlags).toEqual(FLAGS);
  });

  test("the instance waits for the services peering and the key grants", () => {
    const db = one(prod, "gcp:sql/databaseInstance:DatabaseInstance");
    const waitedFor = db.dependencies.map((urn) => prod.resources.find((r) => r.urn === urn)?.type);
    expect(waitedFor).toEqual(
      expect.arrayContaining([
        "gcp:servicenetworking/connection:Connection",
        "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember",
      ]),
    );
  });

  test("staging: ZONAL and unprotected, but still private, TLS-only, PITR", () => {
    const db = one(staging, "gcp:sql/databaseInstance:DatabaseInstance");
    const settings = settingsOf(db);
    expect(db.inputs.deletionProtection).toBe(false);
    expect(settings.availabilityType).toBe("ZONAL");
    expect(settings.ipConfiguration).toEqual(
      expect.objectContaining({ ipv4Enabled: false, sslMode: "ENCRYPTED_ONLY" }),
    );
    expect((settings.backupConfiguration as Obj).pointInTimeRecoveryEnabled).toBe(true);
  });

  test("the endpoint uses the private IP, TLS and a secret password", () => {
    expect(prod.outputs).toEqual(
      expect.objectContaining({ postgresHost: "10.50.0.3", sslMode: "require", postgresPassword: SECRET_MARK }),
    );
  });

  test("prod's 14 configured days are all kept as daily backups; PITR is the 7 days Cloud SQL allows, not silently less", () => {
    const backup = settingsOf(one(prod, "gcp:sql/databaseInstance:DatabaseInstance")).backupConfiguration as Obj;
    expect(backup.transactionLogRetentionDays).toBe(7);
    expect(backup.backupRetentionSettings).toEqual({ retainedBackups: 14, retentionUnit: "COUNT" });
    expect(cloudSqlBackupWindow(14)).toEqual({ retainedBackups: 14, pitrDays: 7, pitrCapped: true });
    expect(cloudSqlBackupWindow(7)).toEqual({ retainedBackups: 7, pitrDays: 7, pitrCapped: false });
    const staged = settingsOf(one(staging, "gcp:sql/databaseInstance:DatabaseInstance")).backupConfiguration as Obj;
    expect(staged.transactionLogRetentionDays).toBe(7);
  });

  test("a PITR window shorter than configured is announced at plan time and exported", () => {
    expect(cloudSqlPitrNotice(14)).toBe(
      "backupRetentionDays: 14 exceeds Cloud SQL's 7-day PITR window; 14 daily backups are kept, point-in-time recovery covers the last 7 days",
    );
    expect(cloudSqlPitrNotice(7)).toBeUndefined();
  });

  test("the DR replica runs with the primary's flags, and its promotion switches on backups and PITR in the DR region", async () => {
    let run: MockRunResult | undefined;
    await jest.isolateModulesAsync(async () => {
      run = await runUnderMocks({
        stack: "prod",
        config: { "gcp:project": "northstack-test" },
        program: () => {
          const db = new CloudSqlPostgres("postgres", {
            region: "northamerica-northeast1",
            networkId: "net",
            password: pulumi.secret("p"),
            backupRetentionDays: 14,
            drReplica: { region: "northamerica-northeast2" },
          });
          return { replica: db.drReplicaConnectionName, pitr: db.pitrWindowDays };
        },
      });
    });
    expect(run!.outputs.pitr).toBe(7);
    const instances = ofType(run!, "gcp:sql/databaseInstance:DatabaseInstance");
    const primary = instances.find((i) => i.inputs.masterInstanceName === undefined)!;
    const replica = instances.find((i) => i.inputs.masterInstanceName !== undefined)!;
    expect(replica.inputs.region).toBe("northamerica-northeast2");
    expect(settingsOf(replica).databaseFlags).toEqual(settingsOf(primary).databaseFlags);
    expect(settingsOf(replica).databaseFlags).toEqual(FLAGS);
    // Cloud SQL rejects backupConfiguration.enabled on a read replica; promotion enables it instead.
    expect(settingsOf(replica).backupConfiguration).toBeUndefined();
    const [promote, patch] = cloudSqlPromoteCommands("postgres-dr", "northamerica-northeast2", 14);
    expect(promote).toBe("gcloud sql instances promote-replica postgres-dr");
    expect(patch).toContain("--backup-location=northamerica-northeast2");
    expect(patch).toContain("--enable-point-in-time-recovery");
    expect(patch).toContain("--retained-transaction-log-days=7");
    expect(patch).toContain("--retained-backups-count=14");
  });

  test("less than 7 days of backups is refused", () => {
    expect(() =>
      validateCloudSqlPostgresArgs({
        region: "northamerica-northeast1",
        networkId: "n",
        password: "p",
        backupRetentionDays: 2,
      }),
    ).toThrow(/backupRetentionDays 2 is not allowed; allowed: 7 to 365/);
  });
});

describe("Memorystore", () => {
  test("prod: STANDARD_HA with TLS, AUTH, private services access and CMEK", () => {
    const redis = one(prod, "gcp:redis/instance:Instance");
    expect(redis.inputs).toEqual(
      expect.objectContaining({
        tier: "STANDARD_HA",
        transitEncryptionMode: "SERVER_AUTHENTICATION",
        authEnabled: true,
        connectMode: "PRIVATE_SERVICE_ACCESS",
        memorySizeGb: 2,
        region: "northamerica-northeast1",
        deletionProtection: true,
      }),
    );
    expect(String(redis.inputs.customerManagedKey)).toContain("kms-key");
  });

  test("every stack persists Redis with hourly RDB snapshots", () => {
    for (const run of [prod, staging]) {
      expect(one(run, "gcp:redis/instance:Instance").inputs.persistenceConfig).toEqual({
        persistenceMode: "RDB",
        rdbSnapshotPeriod: "ONE_HOUR",
      });
    }
  });

  test("staging: BASIC, still TLS and AUTH", () => {
    expect(one(staging, "gcp:redis/instance:Instance").inputs).toEqual(
      expect.objectContaining({ tier: "BASIC", transitEncryptionMode: "SERVER_AUTHENTICATION", authEnabled: true }),
    );
  });

  test("the endpoint's password is the instance's AUTH string, as a secret, over TLS", () => {
    expect(prod.outputs.redisPassword).toBe(SECRET_MARK);
    expect(prod.outputs.redisTls).toBe(true);
  });

  test("the endpoint's port is the one the instance reports: Memorystore serves TLS on 6378 (as the mock does)", () => {
    expect(prod.outputs.redisPort).toBe(6378);
  });

  test("sizes round up to whole GiB and stay in range", () => {
    expect(memorystoreSizeGb(1)).toBe(1);
    expect(memorystoreSizeGb(1025)).toBe(2);
    expect(() => memorystoreSizeGb(400 * 1024)).toThrow(/memoryMb 409600 is not allowed; allowed: 1 to 307200/);
  });
});

describe("GCS backups", () => {
  test("every bucket is single-region Canadian, uniform access, public access prevention enforced, versioned", () => {
    const buckets = ofType(prod, "gcp:storage/bucket:Bucket");
    expect(buckets.map((b) => b.inputs.location).sort()).toEqual([
      "NORTHAMERICA-NORTHEAST1",
      "NORTHAMERICA-NORTHEAST2",
    ]);
    for (const b of buckets) {
      expect(b.inputs).toEqual(
        expect.objectContaining({
          uniformBucketLevelAccess: true,
          publicAccessPrevention: "enforced",
          versioning: { enabled: true },
        }),
      );
    }
    expect(ofType(staging, "gcp:storage/bucket:Bucket").map((b) => b.inputs.location)).toEqual([
      "NORTHAMERICA-NORTHEAST1",
    ]);
    expect(prod.outputs.storageKind).toBe("gcs");
  });

  test("the lifecycle keeps the last 7 daily and 4 weekly versions, like S3's, and never deletes by age", () => {
    for (const bucket of [
      ...ofType(prod, "gcp:storage/bucket:Bucket"),
      ...ofType(staging, "gcp:storage/bucket:Bucket"),
    ]) {
      const rules = bucket.inputs.lifecycleRules as { action: Obj; condition: Obj }[];
      const byPrefix = Object.fromEntries(
        rules
          .filter((r) => r.condition.matchesPrefixes)
          .map((r) => [(r.condition.matchesPrefixes as string[])[0], r.condition]),
      );
      expect(byPrefix).toEqual(
        Object.fromEntries(
          BACKUP_RETENTION.prefixes.map((p) => [
            p.prefix,
            { numNewerVersions: p.keep, matchesPrefixes: [p.prefix], withState: "ARCHIVED" },
          ]),
        ),
      );
      expect(byPrefix["daily/"].numNewerVersions).toBe(7);
      expect(byPrefix["weekly/"].numNewerVersions).toBe(4);
      // GCS deletes when any rule matches: an age or noncurrent-time Delete rule would undo the count.
      const deletes = rules.filter((r) => r.action.type === "Delete");
      expect(
        deletes.every((r) => r.condition.age === undefined && r.condition.daysSinceNoncurrentTime === undefined),
      ).toBe(true);
    }
    expect(JSON.stringify(gcsLifecycleRules())).toContain(
      '{"action":{"type":"AbortIncompleteMultipartUpload"},"condition":{"age":1}}',
    );
  });

  test("prod copies daily to the northamerica-northeast2 bucket and nowhere else", () => {
    const job = one(prod, "gcp:storage/transferJob:TransferJob");
    const spec = job.inputs.transferSpec as { gcsDataSource: Obj; gcsDataSink: Obj; transferOptions: Obj };
    const dr = ofType(prod, "gcp:storage/bucket:Bucket").find((b) => b.inputs.location === "NORTHAMERICA-NORTHEAST2");
    expect(spec.gcsDataSink.bucketName).toBe("northstack-test-prod-backups-dr");
    expect(dr?.inputs.name).toBe("northstack-test-prod-backups-dr");
    expect(spec.gcsDataSource.bucketName).toBe("northstack-test-prod-backups");
    expect((job.inputs.schedule as Obj).repeatInterval).toBe("86400s");
    expect(spec.transferOptions.deleteObjectsUniqueInSink).toBe(false);
    const grants = ofType(prod, "gcp:storage/bucketIAMMember:BucketIAMMember");
    expect(new Set(grants.map((g) => g.inputs.member))).toEqual(
      new Set(["serviceAccount:project-123456789012@storage-transfer-service.iam.gserviceaccount.com"]),
    );
    expect(ofType(staging, "gcp:storage/transferJob:TransferJob")).toEqual([]);
  });

  test("a DR copy in the primary region, or in a multi-region, is refused", () => {
    const base = { region: "northamerica-northeast1", projectId: "p", projectNumber: "1" };
    expect(() => validateGcsBackupBucketArgs({ ...base, drRegion: "northamerica-northeast1" })).toThrow(
      /drRegion "northamerica-northeast1" equals region/,
    );
    expect(() => validateGcsBackupBucketArgs({ ...base, drRegion: "NAM4" })).toThrow(/region "NAM4" is not allowed/);
    expect(validateGcsBackupBucketArgs({ ...base, drRegion: "northamerica-northeast2" })).toEqual({
      location: "NORTHAMERICA-NORTHEAST1",
      drLocation: "NORTHAMERICA-NORTHEAST2",
    });
  });
});

describe("GKE Autopilot", () => {
  test("regional Autopilot with private nodes, a private endpoint and Secrets encrypted with the CMEK key", () => {
    const cluster = one(prod, "gcp:container/cluster:Cluster");
    expect(cluster.inputs).toEqual(
      expect.objectContaining({
        enableAutopilot: true,
        location: "northamerica-northeast1",
        deletionProtection: true,
        name: "northstack-prod",
      }),
    );
    expect(cluster.inputs.privateClusterConfig).toEqual({ enablePrivateNodes: true, enablePrivateEndpoint: true });
    expect((cluster.inputs.databaseEncryption as Obj).state).toBe("ENCRYPTED");
    expect(cluster.inputs.ipAllocationPolicy).toEqual({
      clusterSecondaryRangeName: "pods",
      servicesSecondaryRangeName: "services",
    });
  });

  test("the kubeconfig is a secret that authenticates through gke-gcloud-auth-plugin", () => {
    expect(prod.outputs.kubeconfig).toBe(SECRET_MARK);
    const config = JSON.parse(gkeKubeconfig("c", "10.0.0.2", "Q0E="));
    expect(config.clusters[0].cluster.server).toBe("https://10.0.0.2");
    expect(Object.keys(config.users[0].user)).toEqual(["exec"]);
    expect(config.users[0].user.exec.command).toBe("gke-gcloud-auth-plugin");
  });

  test("a control plane open to the world is refused", () => {
    expect(() =>
      validateGkeAutopilotArgs({
        region: "northamerica-northeast1",
        networkId: "n",
        subnetworkId: "s",
        publicAccessCidrs: ["0.0.0.0/0"],
      }),
    ).toThrow(/publicAccessCidrs "0.0.0.0\/0" opens the control plane to every address/);
  });
});
