import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { API_PLATFORM_ENV, checkApiEnvName, checkPinnedImage } from "./config/checks";
import { PostgresEndpoint, REDIS_CA_PATH, RedisEndpoint, postgresUrl, redisCaFiles, redisUrl } from "./endpoints";
import { IMAGES } from "./images";
import { Runtime, buildLocally } from "./runtime/types";

export const API_PORT = 8080;
/** The role the API logs in as; it switches to anon/authenticated per request (contracts in the brief). */
export const API_DB_USER = "authenticator";
const DEFAULT_BUILD_CONTEXT = path.resolve(__dirname, "..", "app");

type PlatformEnv = Partial<Record<(typeof API_PLATFORM_ENV)[number], pulumi.Input<string>>>;

export interface ApiServiceArgs {
  /** Where the containers run. */
  readonly runtime: Runtime;
  /** Pinned image (tag or digest). Default: build app/ locally, which only the docker runtime can do. */
  readonly image?: string;
  /** Replicas, and the autoscaling minimum. */
  readonly replicas: number;
  /** Autoscaling maximum (Kubernetes). */
  readonly maxReplicas: number;
  /** CPU limit in millicores. */
  readonly cpuMillis: number;
  /** Memory limit in MiB. */
  readonly memoryMb: number;
  /** Host port published on 127.0.0.1 (Docker only). Default: not published. */
  readonly hostPort?: number;
  /** The database; the API connects as `authenticator` with the admin password. */
  readonly postgres: PostgresEndpoint;
  /** Cache and health dependency. */
  readonly redis: RedisEndpoint;
  /** Secret that verifies the callers' Supabase JWTs. */
  readonly jwtSecret: pulumi.Input<string>;
  /** Extra plain environment (northstack:apiEnv); must not set a name in API_PLATFORM_ENV. Default: none. */
  readonly env?: Readonly<Record<string, pulumi.Input<string>>>;
  /**
   * Extra secret environment (northstack:apiSecretEnv): every value becomes a Pulumi secret and reaches
   * the container as secret env (a Kubernetes Secret). Same name rules as `env`. Default: none.
   */
  readonly secretEnv?: Readonly<Record<string, pulumi.Input<string>>>;
  /** Resources that must exist first (the migration job). Default: none. */
  readonly dependsOn?: pulumi.Resource[];
  /** Workloads allowed to call the API. Default: ["kong"]. */
  readonly allowFrom?: string[];
  /** Directory with the API's Dockerfile, built when no image is given. Default: app/ at the repository root. */
  readonly buildContext?: string;
}

/** Checks the plain arguments before any resource is registered. */
export function validateApiServiceArgs(
  name: string,
  runtimeKind: Runtime["kind"],
  args: Pick<
    ApiServiceArgs,
    "image" | "replicas" | "maxReplicas" | "cpuMillis" | "memoryMb" | "hostPort" | "env" | "secretEnv"
  >,
): void {
  const problems: string[] = [];
  if (args.image !== undefined) {
    const p = checkPinnedImage(args.image);
    if (p) problems.push(`image: ${JSON.stringify(args.image)} ${p}`);
  } else if (runtimeKind !== "docker") {
    problems.push(
      `image: none given, but the ${runtimeKind} runtime cannot build app/; set northstack:apiImage to a pinned image pushed to a registry`,
    );
  }
  if (!Number.isInteger(args.replicas) || args.replicas < 1)
    problems.push(`replicas: ${args.replicas} must be an integer >= 1`);
  if (!Number.isInteger(args.maxReplicas) || args.maxReplicas < args.replicas) {
    problems.push(`maxReplicas: ${args.maxReplicas} must be an integer >= replicas (${args.replicas})`);
  }
  if (!Number.isInteger(args.cpuMillis) || args.cpuMillis < 50)
    problems.push(`cpuMillis: ${args.cpuMillis} must be an integer >= 50`);
  if (!Number.isInteger(args.memoryMb) || args.memoryMb < 64)
    problems.push(`memoryMb: ${args.memoryMb} must be an integer >= 64`);
  if (
    args.hostPort !== undefined &&
    (!Number.isInteger(args.hostPort) || args.hostPort < 1024 || args.hostPort > 65535)
  ) {
    problems.push(`hostPort: ${args.hostPort} must be an unprivileged port (1024-65535)`);
  }
  for (const [field, env] of [
    ["env", args.env],
    ["secretEnv", args.secretEnv],
  ] as const) {
    for (const envName of Object.keys(env ?? {})) {
      const p = checkApiEnvName(envName);
      if (p) problems.push(`${field}: ${JSON.stringify(envName)} ${p}`);
    }
  }
  for (const envName of Object.keys(args.secretEnv ?? {})) {
    if (args.env && envName in args.env)
      problems.push(`secretEnv: ${JSON.stringify(envName)} is also in env; give each name once`);
  }
  if (problems.length) throw new Error(`ApiService ${JSON.stringify(name)}: ${problems.join("; ")}`);
}

/**
 * The HTTP API: the reference API in app/ (built locally on Docker) or a given image. Runs as uid
 * 1000 with a read-only root, connects to Postgres as `authenticator` and to Redis, with every
 * credential passed as secret environment. Reachable only from the gateway.
 */
export class ApiService extends pulumi.ComponentResource {
  /** In-network base URL, e.g. http://api:8080. */
  readonly url: pulumi.Output<string>;
  /** In-network host name. */
  readonly host: pulumi.Output<string>;
  /** Port of GET /metrics on `host`, for Prometheus. */
  readonly metricsPort = API_PORT;

  constructor(name: string, args: ApiServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    validateApiServiceArgs(name, args.runtime.kind, args);
    const buildContext = args.buildContext ?? DEFAULT_BUILD_CONTEXT;
    if (args.image === undefined && !fs.existsSync(path.join(buildContext, "Dockerfile"))) {
      throw new Error(
        `ApiService ${JSON.stringify(name)}: buildContext ${JSON.stringify(buildContext)} has no Dockerfile; give an image or a directory with one`,
      );
    }
    super("northstack:app:ApiService", name, {}, opts);

    const image = args.image ?? buildLocally(args.runtime, name, `northstack/${name}`, buildContext, this);
    const { uid, gid } = IMAGES.node;
    // Typed by API_PLATFORM_ENV, so a name the platform sets is always one callers may not override.
    const platformEnv: PlatformEnv = {
      PORT: String(API_PORT),
      NODE_ENV: "production",
      ...(args.redis.caCert ? { NODE_EXTRA_CA_CERTS: REDIS_CA_PATH } : {}),
    };
    const platformSecretEnv: PlatformEnv = {
      DATABASE_URL: postgresUrl(args.postgres, API_DB_USER, args.postgres.adminPassword),
      REDIS_URL: redisUrl(args.redis),
      JWT_SECRET: pulumi.secret(args.jwtSecret),
    };
    const deployed = args.runtime.deploy(
      {
        name,
        component: "api",
        image,
        ports: [{ name: "http", port: API_PORT, ...(args.hostPort !== undefined ? { hostPort: args.hostPort } : {}) }],
        env: { ...args.env, ...platformEnv },
        files: redisCaFiles(args.redis),
        secretEnv: {
          ...Object.fromEntries(Object.entries(args.secretEnv ?? {}).map(([k, v]) => [k, pulumi.secret(v)])),
          ...platformSecretEnv,
        },
        scratch: [{ mountPath: "/tmp", sizeMb: 64 }],
        health: {
          // The image is Node-based; fetch avoids shipping curl just for the probe.
          exec: [
            "node",
            "-e",
            `fetch("http://127.0.0.1:${API_PORT}/health").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
          ],
          httpGet: { path: "/health", port: API_PORT },
          intervalSeconds: 10,
          startSeconds: 10,
        },
        resources: { cpuMillis: args.cpuMillis, memoryMb: args.memoryMb },
        user: { uid, gid },
        readOnlyRootFilesystem: true,
        replicas: args.replicas,
        autoscale: { min: args.replicas, max: args.maxReplicas, cpuPercent: 70 },
        allowFrom: args.allowFrom ?? ["kong"],
        metrics: { port: this.metricsPort, path: "/metrics" },
      },
      this,
      { dependsOn: args.dependsOn },
    );

    this.host = deployed.host;
    this.url = pulumi.interpolate`http://${deployed.host}:${API_PORT}`;
    this.registerOutputs({ url: this.url, host: this.host, metricsPort: this.metricsPort });
  }
}
