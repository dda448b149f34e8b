/**
 * kong.yml for Kong in DB-less mode: one pure function from plain values to the declarative
 * configuration text, so that tests can parse and check exactly what the gateway will load.
 */
import { stringify } from "yaml";
import { NorthstackConfig } from "./config";
import { SERVICE_NAME, checkCidr, checkUrl } from "./config/checks";

/** Base URLs of the services behind the gateway; a missing one means the service is disabled. */
export interface KongUpstreams {
  readonly api: string;
  readonly auth?: string;
  readonly rest?: string;
  readonly realtime?: string;
  readonly storage?: string;
  readonly meta?: string;
}

export interface KongConfigInput {
  readonly upstreams: KongUpstreams;
  /** More API services, each routed at /<name>/v1/. */
  readonly extraServices?: readonly { readonly name: string; readonly url: string }[];
  readonly anonKey: string;
  readonly serviceRoleKey: string;
  /** Where the rate-limiting counters live. */
  readonly redis: { readonly host: string; readonly port: number; readonly password: string; readonly tls: boolean };
  readonly gateway: Pick<
    NorthstackConfig["gateway"],
    "corsOrigins" | "rateLimitRequests" | "rateLimitWindowMinutes" | "adminAllowCidrs" | "maxRequestSizeMb"
  >;
  /** CIDRs allowed on admin routes in addition to gateway.adminAllowCidrs (e.g. the Docker network gateway). */
  readonly trustedAdminCidrs?: readonly string[];
}

/** Consumer groups the acl plugin checks. */
export const ACL_GROUPS = { anon: "anon", admin: "admin" } as const;

type KongWindow = "second" | "minute" | "hour" | "day";
const WINDOW_MINUTES: Record<Exclude<KongWindow, "second">, number> = { minute: 1, hour: 60, day: 1440 };

export interface KongRateLimit {
  readonly window: KongWindow;
  readonly limit: number;
  /** True when the configured window is one Kong counts natively. */
  readonly exact: boolean;
}

/**
 * Maps "N requests per W minutes" onto the open-source rate-limiting plugin, which only counts in
 * fixed second/minute/hour/day/month/year windows (arbitrary and sliding windows are the Enterprise
 * rate-limiting-advanced plugin). When W is a native window the limit is used as is. Otherwise the
 * largest native window that divides W gets the same average rate, rounded down, so that no W-minute
 * span aligned to that window ever admits more than N; the price is a smaller burst (100 per 15
 * minutes becomes 6 per minute: at most 90 in any 15 clock minutes). When N is too small to give
 * every such window at least one request, the next native window above W gets N, which is stricter.
 */
export function kongRateLimit(requests: number, windowMinutes: number): KongRateLimit {
  if (!Number.isInteger(requests) || requests < 1)
    throw new Error(`gateway.rateLimitRequests: ${requests} must be an integer >= 1`);
  if (!Number.isInteger(windowMinutes) || windowMinutes < 1 || windowMinutes > 1440) {
    throw new Error(`gateway.rateLimitWindowMinutes: ${windowMinutes} must be an integer from 1 to 1440`);
  }
  const windows = Object.entries(WINDOW_MINUTES) as [Exclude<KongWindow, "second">, number][];
  const native = windows.find(([, minutes]) => minutes === windowMinutes);
  if (native) return { window: native[0], limit: requests, exact: true };
  const divisors = windows.filter(([, minutes]) => minutes < windowMinutes && windowMinutes % minutes === 0).reverse();
  for (const [window, minutes] of divisors) {
    const limit = Math.floor((requests * minutes) / windowMinutes);
    if (limit >= 1) return { window, limit, exact: false };
  }
  // windowMinutes < 1440 here (1440 is native), so a day is always larger.
  const [window] = windows.find(([, minutes]) => minutes > windowMinutes) ?? ["day"];
  return { window, limit: requests, exact: false };
}

/** Checks the renderer's input; throws naming the argument, its value and what is allowed. */
export function validateKongConfigInput(input: KongConfigInput): void {
  const problems: string[] = [];
  const upstreams: [string, string | undefined][] = [
    ...Object.entries(input.upstreams),
    ...(input.extraServices ?? []).map((s): [string, string] => [s.name, s.url]),
  ];
  for (const [name, url] of upstreams) {
    if (url === undefined) continue;
    const p = checkUrl(url);
    if (p) problems.push(`upstreams.${name}: ${JSON.stringify(url)} ${p}`);
  }
  for (const s of input.extraServices ?? []) {
    if (!SERVICE_NAME.test(s.name)) problems.push(`extraServices: name ${JSON.stringify(s.name)} must be a DNS label`);
    if (s.name in input.upstreams)
      problems.push(`extraServices: name ${JSON.stringify(s.name)} clashes with a built-in route`);
  }
  if (!input.anonKey) problems.push("anonKey: must not be empty");
  if (!input.serviceRoleKey) problems.push("serviceRoleKey: must not be empty");
  if (input.anonKey && input.anonKey === input.serviceRoleKey)
    problems.push("serviceRoleKey: must differ from anonKey");
  for (const [key, cidrs] of [
    ["gateway.adminAllowCidrs", input.gateway.adminAllowCidrs],
    ["trustedAdminCidrs", input.trustedAdminCidrs ?? []],
  ] as const) {
    for (const cidr of cidrs) {
      const p = checkCidr(cidr);
      if (p) problems.push(`${key}: ${JSON.stringify(cidr)} ${p}`);
    }
  }
  for (const origin of input.gateway.corsOrigins) {
    if (origin !== "*" && checkUrl(origin))
      problems.push(`gateway.corsOrigins: ${JSON.stringify(origin)} must be an http(s) origin or "*"`);
  }
  if (!Number.isInteger(input.gateway.maxRequestSizeMb) || input.gateway.maxRequestSizeMb < 1) {
    problems.push(`gateway.maxRequestSizeMb: ${input.gateway.maxRequestSizeMb} must be an integer >= 1`);
  }
  if (!input.redis.host) problems.push("redis.host: must not be empty");
  if (problems.length) throw new Error(`kong.yml: ${problems.join("; ")}`);
  kongRateLimit(input.gateway.rateLimitRequests, input.gateway.rateLimitWindowMinutes);
}

type Plugin = { name: string; config?: Record<string, unknown> };
type Route = { name: string; paths: string[]; strip_path: boolean; protocols?: string[]; plugins?: Plugin[] };
type Service = { name: string; url: string; routes: Route[]; plugins?: Plugin[] };

const HTTP_PROTOCOLS = ["http", "https"];

/** Requires an apikey header of a consumer in one of `groups`. */
function keyAuth(groups: string[], options: { keyInQuery?: boolean; hideCredentials?: boolean } = {}): Plugin[] {
  return [
    {
      name: "key-auth",
      config: {
        key_names: ["apikey"],
        key_in_header: true,
        // Keys in URLs end up in logs and browser history; only browser WebSockets, which cannot
        // set headers, get to send the key as ?apikey=.
        key_in_query: options.keyInQuery ?? false,
        key_in_body: false,
        hide_credentials: options.hideCredentials ?? false,
        run_on_preflight: false,
      },
    },
    { name: "acl", config: { allow: groups, hide_groups_header: true } },
  ];
}

function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, "")}${path}`;
}

/** Renders kong.yml (declarative format 3.0). Pure. The text holds the consumer keys and the Redis password. */
export function renderKongConfig(input: KongConfigInput): string {
  validateKongConfigInput(input);
  const { upstreams, gateway } = input;
  const everyone = [ACL_GROUPS.anon, ACL_GROUPS.admin];
  const route = (name: string, paths: string[], plugins?: Plugin[]): Route => ({
    name,
    paths,
    strip_path: true,
    protocols: HTTP_PROTOCOLS,
    ...(plugins ? { plugins } : {}),
  });
  const services: Service[] = [];

  services.push({
    name: "api-v1",
    url: joinUrl(upstreams.api, "/"),
    routes: [route("api-v1", ["/api/v1/"])],
    plugins: keyAuth(everyone),
  });
  for (const extra of input.extraServices ?? []) {
    services.push({
      name: `${extra.name}-v1`,
      url: joinUrl(extra.url, "/"),
      routes: [route(`${extra.name}-v1`, [`/${extra.name}/v1/`])],
      plugins: keyAuth(everyone),
    });
  }

  if (upstreams.auth) {
    // Links in confirmation e-mails and OAuth redirects arrive from a plain browser navigation,
    // which carries no apikey header; GoTrue checks their tokens itself.
    for (const endpoint of ["verify", "callback", "authorize"]) {
      services.push({
        name: `auth-v1-open-${endpoint}`,
        url: joinUrl(upstreams.auth, `/${endpoint}`),
        routes: [route(`auth-v1-open-${endpoint}`, [`/auth/v1/${endpoint}`])],
      });
    }
    services.push({
      name: "auth-v1",
      url: joinUrl(upstreams.auth, "/"),
      routes: [route("auth-v1", ["/auth/v1/"])],
      plugins: keyAuth(everyone),
    });
  }
  if (upstreams.rest) {
    services.push({
      name: "rest-v1",
      url: joinUrl(upstreams.rest, "/"),
      routes: [route("rest-v1", ["/rest/v1/"])],
      plugins: keyAuth(everyone, { hideCredentials: true }),
    });
  }
  if (upstreams.realtime) {
    services.push({
      name: "realtime-v1-ws",
      url: joinUrl(upstreams.realtime, "/socket"),
      routes: [route("realtime-v1-ws", ["/realtime/v1/"])],
      plugins: keyAuth(everyone, { keyInQuery: true }),
    });
    services.push({
      name: "realtime-v1-api",
      url: joinUrl(upstreams.realtime, "/api"),
      routes: [route("realtime-v1-api", ["/realtime/v1/api"])],
      plugins: keyAuth(everyone),
    });
  }
  if (upstreams.storage) {
    // Objects in public buckets are fetched by <img src> and plain links, without headers.
    services.push({
      name: "storage-v1-public",
      url: joinUrl(upstreams.storage, "/object/public"),
      routes: [route("storage-v1-public", ["/storage/v1/object/public/"])],
    });
    // Storage serves its Prometheus metrics on the API port; only Prometheus, inside the network,
    // may read them. The longer path wins over /storage/v1/, so the gateway answers 404 itself.
    services.push({
      name: "storage-v1-metrics",
      url: joinUrl(upstreams.storage, "/metrics"),
      routes: [route("storage-v1-metrics", ["/storage/v1/metrics"])],
      plugins: [{ name: "request-termination", config: { status_code: 404, message: "Not Found" } }],
    });
    services.push({
      name: "storage-v1",
      url: joinUrl(upstreams.storage, "/"),
      routes: [route("storage-v1", ["/storage/v1/"])],
      plugins: keyAuth(everyone),
    });
  }
  if (upstreams.meta) {
    services.push({
      name: "pg-meta",
      url: joinUrl(upstreams.meta, "/"),
      routes: [route("pg-meta", ["/pg/"])],
      plugins: [
        ...keyAuth([ACL_GROUPS.admin], { hideCredentials: true }),
        {
          name: "ip-restriction",
          config: {
            allow: [...new Set([...gateway.adminAllowCidrs, ...(input.trustedAdminCidrs ?? [])])],
            status: 403,
            message: "Forbidden",
          },
        },
      ],
    });
  }

  const wildcard = gateway.corsOrigins.includes("*");
  const rateLimit = kongRateLimit(gateway.rateLimitRequests, gateway.rateLimitWindowMinutes);
  const plugins: Plugin[] = [
    {
      name: "cors",
      config: {
        origins: [...gateway.corsOrigins],
        methods: ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS"],
        headers: [
          "Accept",
          "Authorization",
          "Content-Type",
          "apikey",
          "x-client-info",
          "Prefer",
          "Range",
          "Accept-Profile",
          "Content-Profile",
          "x-upsert",
        ],
        exposed_headers: [
          "Content-Range",
          "Content-Location",
          "RateLimit-Limit",
          "RateLimit-Remaining",
          "RateLimit-Reset",
          "Retry-After",
        ],
        // Browsers refuse credentials with a wildcard origin.
        credentials: !wildcard,
        max_age: 3600,
        preflight_continue: false,
      },
    },
    {
      name: "rate-limiting",
      config: {
        [rateLimit.window]: rateLimit.limit,
        // Per client address: the anon key is shared by every browser, so per-consumer would mean one budget for all.
        limit_by: "ip",
        policy: "redis",
        redis: {
          host: input.redis.host,
          port: input.redis.port,
          password: input.redis.password,
          database: 0,
          timeout: 2000,
          ssl: input.redis.tls,
          ssl_verify: input.redis.tls,
          ...(input.redis.tls ? { server_name: input.redis.host } : {}),
        },
        // A Redis outage lets traffic through rather than taking the whole gateway down with it.
        fault_tolerant: true,
        hide_client_headers: false,
        error_code: 429,
      },
    },
    {
      name: "request-size-limiting",
      config: { allowed_payload_size: gateway.maxRequestSizeMb, size_unit: "megabytes", require_content_length: false },
    },
    {
      name: "prometheus",
      config: {
        per_consumer: true,
        status_code_metrics: true,
        latency_metrics: true,
        bandwidth_metrics: true,
        upstream_health_metrics: true,
      },
    },
  ];

  const consumers = [
    { username: "anon", keyauth_credentials: [{ key: input.anonKey }], acls: [{ group: ACL_GROUPS.anon }] },
    {
      username: "service_role",
      keyauth_credentials: [{ key: input.serviceRoleKey }],
      acls: [{ group: ACL_GROUPS.admin }],
    },
  ];

  const header =
    "# Rendered by northstack (components/kong-config.ts). Holds API keys and the Redis password: deliver as a secret.\n";
  return (
    header +
    stringify(
      { _format_version: "3.0", _transform: true, services, consumers, plugins },
      { lineWidth: 0, aliasDuplicateObjects: false },
    )
  );
}
