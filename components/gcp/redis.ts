import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { RedisEndpoint } from "../endpoints";

export interface MemorystoreRedisArgs {
  /** Region of the instance. Required. */
  readonly region: string;
  /** VPC network (with private services access) the instance is reachable from. Required. */
  readonly networkId: pulumi.Input<string>;
  /** Memory in MiB, rounded up to whole GiB (Memorystore's unit). Default: 1024. */
  readonly memoryMb?: number;
  /** STANDARD_HA (replica in another zone, automatic failover) instead of BASIC. Default: false. */
  readonly ha?: boolean;
  /** CMEK key in the same region; Memorystore's service agent must be granted it. Default: Google-managed encryption. */
  readonly kmsKeyId?: pulumi.Input<string>;
  /** Refuse to delete the instance. Default: false. */
  readonly deletionProtection?: boolean;
  /** What the instance waits for: the services peering and the key grant. Default: nothing. */
  readonly dependsOn?: pulumi.Resource[];
}

/** How often Memorystore writes an RDB snapshot; the most data a restart can lose. */
export const MEMORYSTORE_RDB_PERIOD = "ONE_HOUR";

/** Memorystore sizes in whole GiB, 1 to 300. Pure. */
export function memorystoreSizeGb(memoryMb: number): number {
  const gb = Math.ceil(memoryMb / 1024);
  if (!Number.isFinite(gb) || gb < 1 || gb > 300)
    throw new Error(`Memorystore Redis: memoryMb ${memoryMb} is not allowed; allowed: 1 to 307200 (1-300 GiB)`);
  return gb;
}

/**
 * Memorystore for Redis 7.2, the managed twin of the dev Redis container: reached through private
 * services access only, TLS (server authentication) and AUTH on, RDB persistence, STANDARD_HA when `ha`. Memorystore
 * generates the AUTH string; the endpoint carries it as a secret.
 */
export class MemorystoreRedis extends pulumi.ComponentResource {
  readonly endpoint: RedisEndpoint;
  /** PEM of the CA that signs the server certificate; rediss:// clients must trust it. */
  readonly serverCaCert: pulumi.Output<string>;

  constructor(name: string, args: MemorystoreRedisArgs, opts?: pulumi.ComponentResourceOptions) {
    const memorySizeGb = memorystoreSizeGb(args.memoryMb ?? 1024);
    super("northstack:gcp:Redis", name, {}, opts);
    const instance = new gcp.redis.Instance(
      `${name}-redis`,
      {
        region: args.region,
        tier: args.ha ? "STANDARD_HA" : "BASIC",
        memorySizeGb,
        redisVersion: "REDIS_7_2",
        authorizedNetwork: args.networkId,
        connectMode: "PRIVATE_SERVICE_ACCESS",
        authEnabled: true,
        transitEncryptionMode: "SERVER_AUTHENTICATION",
        customerManagedKey: args.kmsKeyId,
        deletionProtection: args.deletionProtection ?? false,
        // Hourly RDB snapshots, kept by Memorystore: after a crash or a BASIC-tier restart the instance
        // reloads the newest one instead of starting empty.
        persistenceConfig: { persistenceMode: "RDB", rdbSnapshotPeriod: MEMORYSTORE_RDB_PERIOD },
        maintenancePolicy: { weeklyMaintenanceWindows: [{ day: "SUNDAY", startTime: { hours: 8, minutes: 0 } }] },
      },
      { parent: this, dependsOn: args.dependsOn },
    );

    // Every current CA: during a rotation Memorystore lists the old and the new one.
    this.serverCaCert = instance.serverCaCerts.apply((certs) =>
      (certs ?? [])
        .map((c) => c.cert ?? "")
        .filter((pem) => pem !== "")
        .join("\n"),
    );
    this.endpoint = {
      host: instance.host,
      port: instance.port,
      password: pulumi.secret(instance.authString),
      tls: true,
      caCert: this.serverCaCert,
    };
    this.registerOutputs({ host: this.endpoint.host, port: this.endpoint.port });
  }
}
