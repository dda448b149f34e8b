import * as pulumi from "@pulumi/pulumi";
import { NorthstackConfig } from "./config";
import { WORKLOAD_NAME, checkCidr } from "./config/checks";
import { REDIS_CA_PATH, RedisEndpoint, redisCaFiles } from "./endpoints";
import { IMAGES } from "./images";
import { renderKongConfig, validateKongConfigInput } from "./kong-config";
import { Runtime } from "./runtime/types";

export const KONG_PROXY_PORT = 8000;
export const KONG_PROXY_TLS_PORT = 8443;
export const KONG_STATUS_PORT = 8100;
const DECLARATIVE_CONFIG = "/etc/kong/declarative/kong.yml";
/** Where the runtime mounts the public certificate (tls.crt, tls.key) when Kong serves TLS. */
const TLS_DIR = "/etc/kong/tls";
const PREFIX = "/var/run/kong";
/** Supabase services with routes; Studio has its own port and is not behind the gateway. */
const ROUTED_SUPABASE_SERVICES = ["auth", "rest", "realtime", "storage", "meta"] as const;
/** Only the plugins kong.yml uses are loaded. */
const PLUGINS = ["cors", "key-auth", "acl", "rate-limiting", "ip-restriction", "request-size-limiting", "prometheus"];

export interface KongArgs {
  /** Where the container runs. */
  readonly runtime: Runtime;
  /** Base URLs of the API and the enabled Supabase services; a missing service gets no route. Studio is not routed. */
  readonly upstreams: {
    readonly api: pulumi.Input<string>;
    readonly auth?: pulumi.Input<string>;
    readonly rest?: pulumi.Input<string>;
    readonly realtime?: pulumi.Input<string>;
    readonly storage?: pulumi.Input<string>;
    readonly meta?: pulumi.Input<string>;
    readonly studio?: pulumi.Input<string>;
  };
  /** More API services, each routed at /<name>/v1/. Default: none. */
  readonly extraServices?: readonly { readonly name: string; readonly url: pulumi.Input<string> }[];
  /** Key of the anon consumer (Supabase anon JWT). */
  readonly anonKey: pulumi.Input<string>;
  /** Key of the service_role consumer, the only one allowed on admin routes. */
  readonly serviceRoleKey: pulumi.Input<string>;
  /** Where rate-limit counters are kept, so that every replica enforces one limit. */
  readonly redis: RedisEndpoint;
  /** The gateway section of the stack config. */
  readonly gateway: NorthstackConfig["gateway"];
  /**
   * CIDRs allowed on admin routes besides gateway.adminAllowCidrs. Default: none. On Docker a request
   * from the host to 127.0.0.1:<hostPort> reaches Kong from the network's gateway address, never from
   * 127.0.0.1, so the dev stack passes `<runtime.gatewayAddress>/32` here to mean "this machine".
   */
  readonly trustedAdminCidrs?: readonly string[];
  /**
   * Proxies (ingress controller, load balancer) whose X-Forwarded-For Kong believes, so that rate
   * limits and the admin allow-list see the real client address. Default: none (the peer address counts).
   */
  readonly trustedProxyCidrs?: readonly string[];
  /**
   * Kong terminates TLS itself on its proxy SSL listener, with the public certificate the runtime
   * mounts, and that listener is the public port: for a Kubernetes load balancer, which passes TCP
   * through. Default: false (the public port is plain HTTP, behind an Ingress or on 127.0.0.1 in dev).
   */
  readonly servesTls?: boolean;
  /** Workloads that call the gateway from inside the cluster, on its plain proxy port (Studio). Default: none. */
  readonly allowFrom?: readonly string[];
  /** Kong replicas. Default: 1. */
  readonly replicas?: number;
  /** CPU limit in millicores; one nginx worker per started core. Default: 500. */
  readonly cpuMillis?: number;
  /** Memory limit in MiB. Default: 512. */
  readonly memoryMb?: number;
}

/** A bash command that exits 0 only when GET /status/ready on 127.0.0.1:`port` answers 200. */
export function statusReadyCheck(port: number): string {
  return (
    `exec 3<>/dev/tcp/127.0.0.1/${port} && ` +
    `printf 'GET /status/ready HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && ` +
    `read -r status <&3 && [[ "$status" == *" 200 "* ]]`
  );
}

/** Checks the plain arguments before any resource is registered. */
export function validateKongArgs(
  name: string,
  args: Pick<
    KongArgs,
    | "gateway"
    | "trustedAdminCidrs"
    | "trustedProxyCidrs"
    | "replicas"
    | "cpuMillis"
    | "memoryMb"
    | "servesTls"
    | "allowFrom"
  > & {
    readonly runtime?: Pick<Runtime, "kind">;
  },
): void {
  const problems: string[] = [];
  if (args.servesTls && args.runtime && args.runtime.kind !== "kubernetes") {
    problems.push(
      `servesTls: true is not allowed on the ${args.runtime.kind} runtime; only Kubernetes mounts the public certificate`,
    );
  }
  for (const workload of args.allowFrom ?? []) {
    if (!WORKLOAD_NAME.test(workload)) problems.push(`allowFrom: ${JSON.stringify(workload)} is not a workload name`);
  }
  const replicas = args.replicas ?? 1;
  if (!Number.isInteger(replicas) || replicas < 1) problems.push(`replicas: ${replicas} must be an integer >= 1`);
  if (args.cpuMillis !== undefined && (!Number.isInteger(args.cpuMillis) || args.cpuMillis < 100))
    problems.push(`cpuMillis: ${args.cpuMillis} must be an integer >= 100`);
  if (args.memoryMb !== undefined && (!Number.isInteger(args.memoryMb) || args.memoryMb < 256))
    problems.push(`memoryMb: ${args.memoryMb} must be an integer >= 256 (Kong's caches need it)`);
  const port = args.gateway.hostPort;
  if (!Number.isInteger(port) || port < 1024 || port > 65535)
    problems.push(`gateway.hostPort: ${port} must be an unprivileged port (1024-65535)`);
  for (const cidr of args.trustedProxyCidrs ?? []) {
    const p = checkCidr(cidr);
    if (p) problems.push(`trustedProxyCidrs: ${JSON.stringify(cidr)} ${p}`);
  }
  if (problems.length) throw new Error(`Kong ${JSON.stringify(name)}: ${problems.join("; ")}`);
  // The rest is the renderer's own check, run here on placeholder values so it fails before registration too.
  validateKongConfigInput({
    upstreams: { api: "http://placeholder:1" },
    anonKey: "a",
    serviceRoleKey: "b",
    redis: { host: "placeholder", port: 6379, password: "", tls: false },
    gateway: args.gateway,
    trustedAdminCidrs: args.trustedAdminCidrs,
  });
}

/**
 * Kong in DB-less mode: the single entry point of the stack. Routes, key-auth + ACL, CORS, rate
 * limits kept in Redis, request-size limits and Prometheus metrics all come from kong.yml, which is
 * rendered by `renderKongConfig` and mounted as a secret file. The Admin API is off; health and
 * metrics are served on the separate status listener.
 *
 * With `servesTls` the public port is the SSL listener. Kong reads its certificate when it starts:
 * after cert-manager renews it (30 days before expiry by default) the pods pick it up at their next
 * restart, so a deploy or a `kubectl rollout restart` must happen within that window.
 */
export class Kong extends pulumi.ComponentResource {
  /** How a user reaches the gateway. */
  readonly url: pulumi.Output<string>;
  /** Where DNS for the public URL must point: the load balancer or Ingress address (127.0.0.1 on Docker). */
  readonly address: pulumi.Output<string>;
  /** In-network host name of the gateway. */
  readonly host: pulumi.Output<string>;
  /** Port of GET /metrics on `host` (the status listener), for Prometheus. */
  readonly metricsPort = KONG_STATUS_PORT;

  constructor(name: string, args: KongArgs, opts?: pulumi.ComponentResourceOptions) {
    validateKongArgs(name, args);
    super("northstack:edge:Kong", name, {}, opts);

    const extras = args.extraServices ?? [];
    const optional = ROUTED_SUPABASE_SERVICES.map((service) => args.upstreams[service]);
    const kongYml = pulumi.secret(
      pulumi
        .all([
          args.upstreams.api,
          pulumi.all(optional),
          pulumi.all(extras.map((s) => s.url)),
          args.anonKey,
          args.serviceRoleKey,
          args.redis.host,
          args.redis.port,
          args.redis.password,
        ])
        .apply(([api, optionalUrls, extraUrls, anonKey, serviceRoleKey, redisHost, redisPort, redisPassword]) =>
          renderKongConfig({
            upstreams: {
              api,
              ...Object.fromEntries(
                ROUTED_SUPABASE_SERVICES.flatMap((service, i) => (optionalUrls[i] ? [[service, optionalUrls[i]]] : [])),
              ),
            },
            extraServices: extras.map((s, i) => ({ name: s.name, url: extraUrls[i] })),
            anonKey,
            serviceRoleKey,
            redis: { host: redisHost, port: redisPort, password: redisPassword, tls: args.redis.tls },
            gateway: args.gateway,
            trustedAdminCidrs: args.trustedAdminCidrs,
          }),
        ),
    );

    const cpuMillis = args.cpuMillis ?? 500;
    const trustedProxies = args.trustedProxyCidrs ?? [];
    const servesTls = args.servesTls ?? false;
    const { image, uid, gid } = IMAGES.kong;
    const deployed = args.runtime.deploy(
      {
        name,
        component: "gateway",
        image,
        ports: [
          { name: "proxy", port: KONG_PROXY_PORT, hostPort: args.gateway.hostPort, public: !servesTls },
          ...(servesTls
            ? [{ name: "proxy-tls", port: KONG_PROXY_TLS_PORT, public: true, tls: { certDir: TLS_DIR } }]
            : []),
          { name: "status", port: KONG_STATUS_PORT },
        ],
        env: {
          KONG_DATABASE: "off",
          KONG_DECLARATIVE_CONFIG: DECLARATIVE_CONFIG,
          KONG_PREFIX: PREFIX,
          KONG_PLUGINS: PLUGINS.join(","),
          KONG_PROXY_LISTEN: servesTls
            ? `0.0.0.0:${KONG_PROXY_PORT}, 0.0.0.0:${KONG_PROXY_TLS_PORT} http2 ssl`
            : `0.0.0.0:${KONG_PROXY_PORT}`,
          ...(servesTls ? { KONG_SSL_CERT: `${TLS_DIR}/tls.crt`, KONG_SSL_CERT_KEY: `${TLS_DIR}/tls.key` } : {}),
          KONG_ADMIN_LISTEN: "off",
          KONG_ADMIN_GUI_LISTEN: "off",
          KONG_STATUS_LISTEN: `0.0.0.0:${KONG_STATUS_PORT}`,
          KONG_PROXY_ACCESS_LOG: "/dev/stdout",
          KONG_PROXY_ERROR_LOG: "/dev/stderr",
          KONG_ADMIN_ERROR_LOG: "/dev/stderr",
          KONG_STATUS_ACCESS_LOG: "off",
          KONG_STATUS_ERROR_LOG: "/dev/stderr",
          KONG_NGINX_WORKER_PROCESSES: String(Math.max(1, Math.ceil(cpuMillis / 1000))),
          KONG_MEM_CACHE_SIZE: "64m",
          KONG_ANONYMOUS_REPORTS: "off",
          // No Server/Via headers naming the Kong version to clients.
          KONG_HEADERS: "latency_tokens",
          // Lets rate-limiting verify a TLS Redis: ElastiCache against the system bundle, Memorystore
          // against its own CA as well.
          KONG_LUA_SSL_TRUSTED_CERTIFICATE: args.redis.caCert ? `system,${REDIS_CA_PATH}` : "system",
          ...(trustedProxies.length
            ? {
                KONG_TRUSTED_IPS: trustedProxies.join(","),
                KONG_REAL_IP_HEADER: "X-Forwarded-For",
                KONG_REAL_IP_RECURSIVE: "on",
              }
            : {}),
        },
        files: [{ path: DECLARATIVE_CONFIG, content: kongYml, secret: true }, ...redisCaFiles(args.redis)],
        // Kong renders nginx.conf, sockets and temp bodies into its prefix; the kong CLI writes to /tmp.
        scratch: [
          { mountPath: PREFIX, sizeMb: 64 },
          { mountPath: "/tmp", sizeMb: 64 },
        ],
        health: {
          // The image purges curl after installing Kong, so bash asks the status listener itself:
          // ready only once the declarative config is loaded, like the Kubernetes probe.
          exec: ["bash", "-c", statusReadyCheck(KONG_STATUS_PORT)],
          httpGet: { path: "/status/ready", port: KONG_STATUS_PORT },
          intervalSeconds: 10,
          startSeconds: 15,
        },
        resources: { cpuMillis, memoryMb: args.memoryMb ?? 512 },
        user: { uid, gid },
        readOnlyRootFilesystem: true,
        replicas: args.replicas ?? 1,
        metrics: { port: this.metricsPort, path: "/metrics" },
        allowFrom: args.allowFrom ? [...args.allowFrom] : undefined,
      },
      this,
    );

    this.host = deployed.host;
    this.url =
      args.runtime.kind === "docker"
        ? pulumi.output(`http://127.0.0.1:${args.gateway.hostPort}`)
        : pulumi.output(args.gateway.publicUrl);
    // Docker publishes the proxy on the loopback address only.
    this.address = deployed.publicAddress ?? pulumi.output("127.0.0.1");
    this.registerOutputs({ url: this.url, address: this.address, host: this.host, metricsPort: this.metricsPort });
  }
}
