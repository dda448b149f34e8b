import * as pulumi from "@pulumi/pulumi";
import { RedisEndpoint } from "./endpoints";
import { IMAGES } from "./images";
import { Runtime } from "./runtime/types";

export const REDIS_PORT = 6379;
const CONF_PATH = "/usr/local/etc/redis/redis.conf";
/** Where the server keeps its AOF directory and dump.rdb (scripts/restore/redis-restore.sh writes both). */
export const REDIS_DATA_DIR = "/data";
/** The AOF directory's name under the data directory. */
export const REDIS_AOF_DIR = "appendonlydir";
/**
 * When the server writes dump.rdb: after an hour with any change, 5 minutes with 100, or a minute
 * with 10000 (Redis's own defaults). The scheduled copy (volume-backup.ts) does not rely on it: it
 * asks for a fresh RDB over the network.
 */
export const REDIS_RDB_SAVE = "3600 1 300 100 60 10000";

export const EVICTION_POLICIES = [
  "noeviction",
  "allkeys-lru",
  "allkeys-lfu",
  "allkeys-random",
  "volatile-lru",
  "volatile-lfu",
  "volatile-random",
  "volatile-ttl",
] as const;
export type EvictionPolicy = (typeof EVICTION_POLICIES)[number];

/**
 * The stack keeps only expiring data in Redis: Kong's rate-limit counters (each expires with its
 * window) and API cache entries (written with a TTL). `volatile-lru` evicts among exactly those keys,
 * least recently used first, so the counters of clients that are active right now survive memory
 * pressure while stale cache entries go; a key written without a TTL is never evicted.
 */
export const DEFAULT_EVICTION_POLICY: EvictionPolicy = "volatile-lru";

/**
 * Commands no client of this stack needs and that can destroy or leak data: wiping databases,
 * turning the server into a replica of another host (which discards the data set), pushing keys to
 * another server, loading native modules, debugging internals, stopping the server, and the
 * blocking full-keyspace KEYS (clients use SCAN). CONFIG stays so that operators can read settings;
 * the settings that matter for file-system attacks (dir, dbfilename) are protected configs and
 * cannot be changed at runtime.
 */
export const DISABLED_COMMANDS = [
  "FLUSHALL",
  "FLUSHDB",
  "REPLICAOF",
  "SLAVEOF",
  "MIGRATE",
  "MODULE",
  "DEBUG",
  "SHUTDOWN",
  "KEYS",
] as const;

export interface RedisConfInput {
  /** AUTH password for the default user. */
  readonly password: string;
  /** `maxmemory` in MiB. */
  readonly maxmemoryMb: number;
  /** Default: volatile-lru (see DEFAULT_EVICTION_POLICY). */
  readonly evictionPolicy?: EvictionPolicy;
  /** Default: 6379. */
  readonly port?: number;
  /** Listen addresses. Default: every interface of the container ("* -::*"). */
  readonly bind?: string;
  /** Working directory for the append-only files and dump.rdb. Default: /data. */
  readonly dir?: string;
}

/** Checks the renderer's input; throws naming the argument, its value and what is allowed. */
export function validateRedisConf(input: RedisConfInput): void {
  const problems: string[] = [];
  if (!input.password) problems.push("password: must not be empty");
  else if (/[\s"'\\]/.test(input.password))
    problems.push("password: must not contain whitespace, quotes or backslashes");
  if (!Number.isInteger(input.maxmemoryMb) || input.maxmemoryMb < 16) {
    problems.push(`maxmemoryMb: ${input.maxmemoryMb} is not allowed; use an integer of at least 16`);
  }
  const policy = input.evictionPolicy ?? DEFAULT_EVICTION_POLICY;
  if (!EVICTION_POLICIES.includes(policy)) {
    problems.push(`evictionPolicy: ${JSON.stringify(policy)} is not allowed; allowed: ${EVICTION_POLICIES.join(", ")}`);
  }
  const port = input.port ?? REDIS_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`port: ${port} is not a TCP port (1-65535)`);
  if (input.dir !== undefined && !input.dir.startsWith("/"))
    problems.push(`dir: ${JSON.stringify(input.dir)} must be an absolute path`);
  if (problems.length) throw new Error(`redis.conf: ${problems.join("; ")}`);
}

/** Renders redis.conf. Pure: the same input always gives the same text. The text holds the password. */
export function renderRedisConf(input: RedisConfInput): string {
  validateRedisConf(input);
  const lines = [
    "# Rendered by northstack (components/redis.ts). Holds the AUTH password: deliver as a secret.",
    `bind ${input.bind ?? "* -::*"}`,
    `port ${input.port ?? REDIS_PORT}`,
    "protected-mode yes",
    `requirepass ${input.password}`,
    "daemonize no",
    'logfile ""',
    "loglevel notice",
    "tcp-keepalive 60",
    "",
    "# Memory: a budget below the container limit, evicting only keys that carry a TTL.",
    `maxmemory ${input.maxmemoryMb}mb`,
    `maxmemory-policy ${input.evictionPolicy ?? DEFAULT_EVICTION_POLICY}`,
    "lazyfree-lazy-eviction yes",
    "",
    "# Durability: the append-only file, fsynced once a second, is what the server loads at start.",
    "# Beside it, RDB snapshots: a compact point-in-time dump.rdb on the same volume.",
    `dir ${input.dir ?? REDIS_DATA_DIR}`,
    "appendonly yes",
    "appendfsync everysec",
    `appenddirname "${REDIS_AOF_DIR}"`,
    "aof-use-rdb-preamble yes",
    `save ${REDIS_RDB_SAVE}`,
    "dbfilename dump.rdb",
    "# No replicas: the one client that syncs is the backup's copy (redis-cli --rdb), which need not wait for others.",
    "repl-diskless-sync-delay 0",
    "",
    "# Attack surface.",
    "enable-protected-configs no",
    "enable-debug-command no",
    "enable-module-command no",
    ...DISABLED_COMMANDS.map((c) => `rename-command ${c} ""`),
  ];
  return `${lines.join("\n")}\n`;
}

/**
 * Container memory limit for a given maxmemory: half as much again (at least 64 MiB) for the
 * copy-on-write pages of an AOF rewrite fork, client buffers and allocator fragmentation.
 */
export function redisContainerMemoryMb(maxmemoryMb: number): number {
  return maxmemoryMb + Math.max(64, Math.ceil(maxmemoryMb / 2));
}

export interface RedisArgs {
  /** Where the container runs. */
  readonly runtime: Runtime;
  /** `maxmemory` in MiB, the data budget; the container limit adds headroom (redisContainerMemoryMb). */
  readonly memoryMb: number;
  /** AUTH password; kept a Pulumi secret. */
  readonly password: pulumi.Input<string>;
  /** What to evict when maxmemory is reached. Default: volatile-lru. */
  readonly evictionPolicy?: EvictionPolicy;
  /** CPU limit in millicores. Default: 250. */
  readonly cpuMillis?: number;
  /** Size of the /data volume in GiB. Default: three times maxmemory (room for AOF growth before a rewrite), at least 1. */
  readonly storageGb?: number;
  /** Workloads allowed to connect. Default: kong and api. */
  readonly allowFrom?: string[];
}

/** Checks the component's arguments before any resource is registered. */
export function validateRedisArgs(name: string, args: Omit<RedisArgs, "runtime" | "password">): void {
  const problems: string[] = [];
  if (!Number.isInteger(args.memoryMb) || args.memoryMb < 16)
    problems.push(`memoryMb: ${args.memoryMb} is not allowed; use an integer of at least 16`);
  if (args.evictionPolicy !== undefined && !EVICTION_POLICIES.includes(args.evictionPolicy)) {
    problems.push(
      `evictionPolicy: ${JSON.stringify(args.evictionPolicy)} is not allowed; allowed: ${EVICTION_POLICIES.join(", ")}`,
    );
  }
  if (args.cpuMillis !== undefined && (!Number.isInteger(args.cpuMillis) || args.cpuMillis < 50)) {
    problems.push(`cpuMillis: ${args.cpuMillis} is not allowed; use an integer of at least 50`);
  }
  if (args.storageGb !== undefined && (!Number.isInteger(args.storageGb) || args.storageGb < 1)) {
    problems.push(`storageGb: ${args.storageGb} is not allowed; use an integer of at least 1`);
  }
  if (problems.length) throw new Error(`Redis ${JSON.stringify(name)}: ${problems.join("; ")}`);
}

/**
 * Redis 7 in a container: the dev twin of ElastiCache and Memorystore. Non-root (the image's redis
 * user), read-only root file system, password auth, AOF persistence and RDB snapshots on a volume,
 * bounded memory.
 */
export class Redis extends pulumi.ComponentResource {
  readonly endpoint: RedisEndpoint;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    validateRedisArgs(name, args);
    super("northstack:data:Redis", name, {}, opts);

    const password = pulumi.secret(args.password);
    const conf = pulumi.secret(
      pulumi
        .output(password)
        .apply((p) =>
          renderRedisConf({ password: p, maxmemoryMb: args.memoryMb, evictionPolicy: args.evictionPolicy }),
        ),
    );
    const { image, uid, gid } = IMAGES.redis;
    const deployed = args.runtime.deploy(
      {
        name,
        component: "cache",
        image,
        args: ["redis-server", CONF_PATH],
        ports: [{ name: "redis", port: REDIS_PORT }],
        files: [{ path: CONF_PATH, content: conf, secret: true }],
        // redis-cli reads the password from here, so it never shows on a command line or in `ps`.
        secretEnv: { REDISCLI_AUTH: password },
        volumes: [
          {
            name: "data",
            mountPath: REDIS_DATA_DIR,
            sizeGb: args.storageGb ?? Math.max(1, Math.ceil((args.memoryMb * 3) / 1024)),
          },
        ],
        health: { exec: ["redis-cli", "-e", "ping"], tcp: { port: REDIS_PORT }, intervalSeconds: 10, startSeconds: 10 },
        resources: { cpuMillis: args.cpuMillis ?? 250, memoryMb: redisContainerMemoryMb(args.memoryMb) },
        user: { uid, gid },
        readOnlyRootFilesystem: true,
        allowFrom: args.allowFrom ?? ["kong", "api"],
      },
      this,
    );

    this.endpoint = { host: deployed.host, port: pulumi.output(REDIS_PORT), password, tls: false };
    this.registerOutputs({ host: this.endpoint.host, port: this.endpoint.port });
  }
}
