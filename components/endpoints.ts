import * as pulumi from "@pulumi/pulumi";
import { FileSpec, ServiceAccountSpec } from "./workload";

/** One login role and its password, a Pulumi secret. */
export interface PostgresLogin {
  readonly user: string;
  readonly password: pulumi.Output<string>;
}

/**
 * A Postgres as one holder sees it: where it is, and the one login that holder connects as. The
 * database components (`Postgres`, RDS, Cloud SQL) give the admin's, which only the migration job
 * uses; a stack hands every other client the endpoint with its own login (`withLogin`), so no
 * workload can reach a password that is not its own.
 */
export interface PostgresEndpoint {
  /** Host name or address reachable from the workloads. */
  readonly host: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;
  /** Database the application uses. */
  readonly database: string;
  /** The holder's login: the admin (postgres, or the RDS/Cloud SQL master user) on a database component's endpoint. */
  readonly login: PostgresLogin;
  /** libpq sslmode the clients must use: disable on the local network, verify-full or require on managed services. */
  readonly sslMode: "disable" | "require";
}

/** The same server, reached with another login. */
export function withLogin(endpoint: PostgresEndpoint, login: PostgresLogin): PostgresEndpoint {
  return { ...endpoint, login };
}

/** The outputs a Redis provides, whether it is the dev container, ElastiCache or Memorystore. */
export interface RedisEndpoint {
  readonly host: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;
  /** AUTH password or token, a Pulumi secret. */
  readonly password: pulumi.Output<string>;
  /** Whether clients must connect with TLS (rediss://). */
  readonly tls: boolean;
  /**
   * PEM bundle of the private CA that signs the server certificate, when no public CA does
   * (Memorystore). Default: none, the server's certificate chains to the system trust store.
   */
  readonly caCert?: pulumi.Output<string>;
}

/** Where a workload that talks TLS to Redis finds the server's private CA bundle. */
export const REDIS_CA_PATH = "/etc/northstack/redis-ca.pem";

/** The CA bundle file a Redis client workload mounts: one file when the endpoint has a private CA, else none. */
export function redisCaFiles(endpoint: RedisEndpoint): FileSpec[] {
  return endpoint.caCert ? [{ path: REDIS_CA_PATH, content: endpoint.caCert }] : [];
}

/** The outputs an object store provides (S3 or GCS on cloud stacks; a local volume on dev). */
export interface ObjectStoreEndpoint {
  readonly kind: "s3" | "gcs" | "file";
  readonly bucket: pulumi.Output<string>;
  readonly region: string;
  /** How the one workload that uses this bucket reaches it through the S3 API. Default: none (kind "file"). */
  readonly access?: ObjectStoreAccess;
}

/**
 * S3-API access to one bucket for one workload: AWS S3 with the credentials of the workload's
 * ServiceAccount (EKS Pod Identity), or GCS's XML API with a service account's HMAC key (Workload
 * Identity cannot sign SigV4 requests).
 */
export interface ObjectStoreAccess {
  /** S3 API endpoint. Default: AWS's regional endpoint. */
  readonly endpoint?: string;
  /** Path-style requests (https://host/bucket/key). Default: false. */
  readonly forcePathStyle?: boolean;
  /** Static S3 credentials (a GCS HMAC key), Pulumi secrets. Default: none, the ServiceAccount's cloud identity. */
  readonly credentials?: {
    readonly accessKeyId: pulumi.Output<string>;
    readonly secretAccessKey: pulumi.Output<string>;
  };
  /** ServiceAccount the workload must run as to get its cloud identity. Default: none. */
  readonly serviceAccount?: ServiceAccountSpec;
  /** What must exist before the workload's pods start, such as the Pod Identity association. Default: none. */
  readonly dependsOn?: pulumi.Resource[];
}

/**
 * The standard AWS SDK / CLI environment for a bucket's access: region, plus the static credentials
 * as secret env when there are any (the SDKs' default credential chains read both).
 */
export function s3ClientEnv(store: ObjectStoreEndpoint): {
  env: Record<string, string>;
  secretEnv: Record<string, pulumi.Output<string>>;
} {
  const credentials = store.access?.credentials;
  return {
    env: { AWS_REGION: store.region, AWS_DEFAULT_REGION: store.region },
    secretEnv: credentials
      ? {
          AWS_ACCESS_KEY_ID: pulumi.secret(credentials.accessKeyId),
          AWS_SECRET_ACCESS_KEY: pulumi.secret(credentials.secretAccessKey),
        }
      : {},
  };
}

/** postgres://user:password@host:port/db?sslmode=... with the endpoint's login, as a secret. */
export function postgresUrl(endpoint: PostgresEndpoint): pulumi.Output<string> {
  const { user, password } = endpoint.login;
  return pulumi.secret(
    pulumi.interpolate`postgres://${encodeURIComponent(user)}:${password.apply(encodeURIComponent)}@${endpoint.host}:${endpoint.port}/${endpoint.database}?sslmode=${endpoint.sslMode}`,
  );
}

/** redis[s]://:password@host:port, as a secret. */
export function redisUrl(endpoint: RedisEndpoint): pulumi.Output<string> {
  const scheme = endpoint.tls ? "rediss" : "redis";
  return pulumi.secret(
    pulumi.interpolate`${scheme}://:${endpoint.password.apply(encodeURIComponent)}@${endpoint.host}:${endpoint.port}`,
  );
}
