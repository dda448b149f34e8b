import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { NorthstackConfig } from "../../components/config";
import { Kong, KONG_PROXY_PORT, KONG_STATUS_PORT, statusReadyCheck, validateKongArgs } from "../../components/kong";
import { KongConfigInput, kongRateLimit, renderKongConfig } from "../../components/kong-config";
import { DockerRuntime } from "../../components/runtime/docker";
import { MockRunResult, PlannedResource, SECRET_MARK, runUnderMocks } from "../../scripts/lib/mock-program";

const gateway: NorthstackConfig["gateway"] = {
  publicUrl: "http://localhost:8000",
  corsOrigins: ["http://localhost:3000", "https://app.example.ca"],
  rateLimitRequests: 100,
  rateLimitWindowMinutes: 15,
  adminAllowCidrs: ["10.20.0.0/16"],
  maxRequestSizeMb: 10,
  hostPort: 8000,
};
const ANON = "anon-key-5e2c1d7f9a";
const SERVICE = "service-role-key-8b4d0c6e13";
const REDIS_PASSWORD = "redis-pass-a91f3e7c";

const input: KongConfigInput = {
  upstreams: {
    api: "http://api:8080",
    auth: "http://supabase-auth:9999",
    rest: "http://supabase-rest:3000/",
    realtime: "http://supabase-realtime:4000",
    storage: "http://supabase-storage:5000",
    meta: "http://supabase-meta:8080",
  },
  anonKey: ANON,
  serviceRoleKey: SERVICE,
  redis: { host: "redis", port: 6379, password: REDIS_PASSWORD, tls: false },
  gateway,
  trustedAdminCidrs: ["172.28.0.1/32"],
};

interface Plugin {
  name: string;
  config: Record<string, unknown>;
}
interface Route {
  name: string;
  paths: string[];
  strip_path: boolean;
  plugins?: Plugin[];
}
interface Service {
  name: string;
  url: string;
  routes: Route[];
  plugins?: Plugin[];
}
interface KongYml {
  _format_version: string;
  services: Service[];
  consumers: { username: string; keyauth_credentials: { key: string }[]; acls: { group: string }[] }[];
  plugins: Plugin[];
}

const render = (overrides: Partial<KongConfigInput> = {}): KongYml =>
  parse(renderKongConfig({ ...input, ...overrides })) as KongYml;
const serviceFor = (yml: KongYml, path: string): Service => {
  const found = yml.services.find((s) => s.routes.some((r) => r.paths.includes(path)));
  if (!found) throw new Error(`no route for ${path}`);
  return found;
};
const pluginOf = (plugins: Plugin[] | undefined, name: string): Plugin | undefined =>
  plugins?.find((p) => p.name === name);

describe("renderKongConfig", () => {
  const yml = render();

  test("declarative format 3.0 with one route per enabled service, each stripping its prefix", () => {
    expect(yml._format_version).toBe("3.0");
    // Plain YAML without anchors/aliases, so the file reads the same as the parsed object.
    expect(renderKongConfig(input)).not.toMatch(/(^|\s)[&*]a\d+\b/m);
    const routes = yml.services.flatMap((s) => s.routes.map((r) => [r.paths[0], s.url] as const));
    expect(Object.fromEntries(routes)).toEqual({
      "/api/v1/": "http://api:8080/",
      "/auth/v1/verify": "http://supabase-auth:9999/verify",
      "/auth/v1/callback": "http://supabase-auth:9999/callback",
      "/auth/v1/authorize": "http://supabase-auth:9999/authorize",
      "/auth/v1/": "http://supabase-auth:9999/",
      "/rest/v1/": "http://supabase-rest:3000/",
      "/realtime/v1/": "http://supabase-realtime:4000/socket",
      "/realtime/v1/api": "http://supabase-realtime:4000/api",
      "/storage/v1/object/public/": "http://supabase-storage:5000/object/public",
      "/storage/v1/metrics": "http://supabase-storage:5000/metrics",
      "/storage/v1/": "http://supabase-storage:5000/",
      "/pg/": "http://supabase-meta:8080/",
    });
    for (const r of yml.services.flatMap((s) => s.routes))
      expect({ route: r.name, strip: r.strip_path }).toEqual({ route: r.name, strip: true });
    const routeNames = yml.services.flatMap((s) => s.routes.map((r) => r.name));
    expect(new Set(routeNames).size).toBe(routeNames.length);
    expect(new Set(yml.services.map((s) => s.name)).size).toBe(yml.services.length);
  });

  test("API and Supabase routes need an apikey of anon or admin; only the realtime socket reads it from the query", () => {
    for (const path of ["/api/v1/", "/auth/v1/", "/rest/v1/", "/realtime/v1/", "/realtime/v1/api", "/storage/v1/"]) {
      const s = serviceFor(yml, path);
      expect({ path, keyNames: pluginOf(s.plugins, "key-auth")?.config.key_names }).toEqual({
        path,
        keyNames: ["apikey"],
      });
      expect({ path, allow: pluginOf(s.plugins, "acl")?.config.allow }).toEqual({ path, allow: ["anon", "admin"] });
      expect({ path, inQuery: pluginOf(s.plugins, "key-auth")?.config.key_in_query }).toEqual({
        path,
        inQuery: path === "/realtime/v1/",
      });
    }
  });

  test("e-mail links, OAuth redirects and public objects pass without a key", () => {
    for (const path of ["/auth/v1/verify", "/auth/v1/callback", "/auth/v1/authorize", "/storage/v1/object/public/"]) {
      expect({ path, plugins: serviceFor(yml, path).plugins }).toEqual({ path, plugins: undefined });
    }
  });

  test("Storage's metrics, served on its API port, are answered 404 by the gateway: the longer prefix wins over /storage/v1/", () => {
    const s = serviceFor(yml, "/storage/v1/metrics");
    expect(pluginOf(s.plugins, "request-termination")?.config).toEqual({ status_code: 404, message: "Not Found" });
    const prefixes = yml.services.flatMap((x) => x.routes.flatMap((r) => r.paths));
    const matching = prefixes.filter((p) => "/storage/v1/metrics".startsWith(p));
    expect(matching.sort((a, b) => b.length - a.length)[0]).toBe("/storage/v1/metrics");
  });

  test("/pg admits only the service_role consumer, and only from the allowed networks", () => {
    const pg = serviceFor(yml, "/pg/");
    expect(pluginOf(pg.plugins, "acl")?.config.allow).toEqual(["admin"]);
    expect(pluginOf(pg.plugins, "ip-restriction")?.config.allow).toEqual(["10.20.0.0/16", "172.28.0.1/32"]);
    const admins = yml.consumers.filter((c) => c.acls.some((a) => a.group === "admin")).map((c) => c.username);
    expect(admins).toEqual(["service_role"]);
    const restricted = yml.services.filter((s) => pluginOf(s.plugins, "ip-restriction")).map((s) => s.name);
    expect(restricted).toEqual(["pg-meta"]);
  });

  test("consumers anon and service_role carry their keys and groups", () => {
    expect(yml.consumers).toEqual([
      { username: "anon", keyauth_credentials: [{ key: ANON }], acls: [{ group: "anon" }] },
      { username: "service_role", keyauth_credentials: [{ key: SERVICE }], acls: [{ group: "admin" }] },
    ]);
  });

  test("global plugins: cors, rate limits in Redis per client, request size, prometheus with every metric", () => {
    expect(yml.plugins.map((p) => p.name).sort()).toEqual([
      "cors",
      "prometheus",
      "rate-limiting",
      "request-size-limiting",
    ]);
    expect(pluginOf(yml.plugins, "cors")?.config).toMatchObject({
      origins: ["http://localhost:3000", "https://app.example.ca"],
      credentials: true,
      headers: expect.arrayContaining(["apikey", "Authorization"]),
    });
    expect(pluginOf(yml.plugins, "rate-limiting")?.config).toEqual({
      minute: 6,
      limit_by: "ip",
      policy: "redis",
      redis: {
        host: "redis",
        port: 6379,
        password: REDIS_PASSWORD,
        database: 0,
        timeout: 2000,
        ssl: false,
        ssl_verify: false,
      },
      fault_tolerant: true,
      hide_client_headers: false,
      error_code: 429,
    });
    expect(pluginOf(yml.plugins, "request-size-limiting")?.config).toEqual({
      allowed_payload_size: 10,
      size_unit: "megabytes",
      require_content_length: false,
    });
    expect(pluginOf(yml.plugins, "prometheus")?.config).toEqual({
      per_consumer: true,
      status_code_metrics: true,
      latency_metrics: true,
      bandwidth_metrics: true,
      upstream_health_metrics: true,
    });
  });

  test("a TLS Redis is reached with verified TLS", () => {
    const tls = render({
      redis: { host: "master.cache.ca-central-1.example", port: 6379, password: REDIS_PASSWORD, tls: true },
    });
    expect(pluginOf(tls.plugins, "rate-limiting")?.config.redis as Record<string, unknown>).toMatchObject({
      ssl: true,
      ssl_verify: true,
      server_name: "master.cache.ca-central-1.example",
    });
  });

  test("a wildcard origin turns credentials off", () => {
    expect(pluginOf(render({ gateway: { ...gateway, corsOrigins: ["*"] } }).plugins, "cors")?.config.credentials).toBe(
      false,
    );
  });

  test("disabled services produce no routes; extra services get /<name>/v1/", () => {
    const minimal = render({
      upstreams: { api: "http://api:8080" },
      extraServices: [{ name: "billing", url: "http://billing:8080" }],
    });
    expect(minimal.services.flatMap((s) => s.routes.flatMap((r) => r.paths))).toEqual(["/api/v1/", "/billing/v1/"]);
    expect(serviceFor(minimal, "/billing/v1/").url).toBe("http://billing:8080/");
    const noMeta = render({ upstreams: { ...input.upstreams, meta: undefined } });
    expect(noMeta.services.some((s) => s.name === "pg-meta")).toBe(false);
  });

  test.each([
    [{ gateway: { ...gateway, adminAllowCidrs: ["10.0.0.0/33"] } }, ["gateway.adminAllowCidrs", "10.0.0.0/33"]],
    [{ trustedAdminCidrs: ["172.28.0.1"] }, ["trustedAdminCidrs", "172.28.0.1"]],
    [{ gateway: { ...gateway, corsOrigins: ["localhost:3000"] } }, ["gateway.corsOrigins", "localhost:3000"]],
    [{ upstreams: { api: "api:8080" } }, ["upstreams.api", "api:8080"]],
    [{ serviceRoleKey: ANON }, ["serviceRoleKey", "must differ"]],
    [{ gateway: { ...gateway, rateLimitRequests: 0 } }, ["gateway.rateLimitRequests", "0"]],
  ] as [Partial<KongConfigInput>, string[]][])("rejects bad input %#", (overrides, fragments) => {
    let message = "";
    try {
      renderKongConfig({ ...input, ...overrides });
    } catch (e) {
      message = (e as Error).message;
    }
    for (const f of fragments) expect(message).toContain(f);
  });
});

describe("kongRateLimit maps N per W minutes onto Kong's fixed windows", () => {
  test.each([
    [100, 15, { window: "minute", limit: 6, exact: false }],
    [100, 1, { window: "minute", limit: 100, exact: true }],
    [1000, 60, { window: "hour", limit: 1000, exact: true }],
    [5000, 1440, { window: "day", limit: 5000, exact: true }],
    [600, 120, { window: "hour", limit: 300, exact: false }],
    [10, 15, { window: "hour", limit: 10, exact: false }],
  ])("%d per %d minutes", (requests, minutes, expected) => {
    expect(kongRateLimit(requests, minutes)).toEqual(expected);
  });

  test("never admits more than N in a W-minute span of whole native windows", () => {
    const perMinutes = { minute: 1, hour: 60, day: 1440 } as Record<string, number>;
    for (const [requests, minutes] of [
      [100, 15],
      [7, 30],
      [1000, 90],
      [50, 720],
      [3, 45],
    ]) {
      const { window, limit } = kongRateLimit(requests, minutes);
      // A span covers W/u whole windows when u divides W, or lies inside one window when u > W.
      const windowsPerSpan = Math.max(1, minutes / perMinutes[window]);
      expect(Number.isInteger(windowsPerSpan)).toBe(true);
      expect({ requests, minutes, withinBudget: limit * windowsPerSpan <= requests }).toEqual({
        requests,
        minutes,
        withinBudget: true,
      });
    }
  });
});

describe("Kong under mocks", () => {
  let result: MockRunResult;
  let validationError = "";
  const containers = () =>
    result.resources.filter((r) => r.type === "docker:index/container:Container" && /^kong-\d+$/.test(r.name));
  const holder = () =>
    result.resources.find((r) => r.type === "docker:index/container:Container" && r.name === "kong-files")!;
  const envOf = (r: PlannedResource) =>
    Object.fromEntries(
      (r.inputs.envs as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );

  beforeAll(async () => {
    try {
      validateKongArgs("kong", { gateway: { ...gateway, adminAllowCidrs: ["300.1.1.1/32"] } });
    } catch (e) {
      validationError = (e as Error).message;
    }
    result = await runUnderMocks({
      stack: "dev",
      config: {},
      program: () => {
        const runtime = new DockerRuntime("docker", { stack: "dev", subnet: "172.28.0.0/16" });
        const kong = new Kong("kong", {
          runtime,
          upstreams: {
            api: pulumi.output("http://api:8080"),
            rest: pulumi.output("http://supabase-rest:3000"),
            studio: pulumi.output("http://supabase-studio:3000"),
          },
          anonKey: pulumi.secret(ANON),
          serviceRoleKey: pulumi.secret(SERVICE),
          redis: {
            host: pulumi.output("redis"),
            port: pulumi.output(6379),
            password: pulumi.secret(REDIS_PASSWORD),
            tls: false,
          },
          gateway,
          trustedAdminCidrs: [`${runtime.gatewayAddress}/32`],
          replicas: 2,
        });
        return { url: kong.url, host: kong.host };
      },
    });
  });

  test("a bad argument is rejected before registration, naming it", () => {
    expect(validationError).toContain("gateway.adminAllowCidrs");
    expect(validationError).toContain("300.1.1.1/32");
  });

  test("registers the component with its token and reports the host URL", () => {
    expect(result.resources.filter((r) => r.type === "northstack:edge:Kong").map((r) => r.name)).toEqual(["kong"]);
    expect(result.outputs).toEqual({ url: "http://127.0.0.1:8000", host: "kong" });
    const component = result.resources.find((r) => r.type === "northstack:edge:Kong")!;
    for (const c of containers()) expect(c.parent).toBe(component.urn);
  });

  test("DB-less, Admin API off, status listener, prefix on scratch, read-only root as uid 1000", () => {
    expect(containers()).toHaveLength(2);
    for (const c of containers()) {
      const env = envOf(c);
      expect(env).toMatchObject({
        KONG_DATABASE: "off",
        KONG_DECLARATIVE_CONFIG: "/etc/kong/declarative/kong.yml",
        KONG_ADMIN_LISTEN: "off",
        KONG_ADMIN_GUI_LISTEN: "off",
        KONG_STATUS_LISTEN: `0.0.0.0:${KONG_STATUS_PORT}`,
        KONG_PREFIX: "/var/run/kong",
      });
      expect(c.inputs.user).toBe("1000:1000");
      expect(c.inputs.readOnly).toBe(true);
      expect(Object.keys(c.inputs.tmpfs as object).sort()).toEqual(["/tmp", "/var/run/kong"]);
      expect((c.inputs.healthcheck as { tests: string[] }).tests).toEqual([
        "CMD",
        "bash",
        "-c",
        statusReadyCheck(KONG_STATUS_PORT),
      ]);
      expect(c.inputs.volumes).toEqual([{ fromContainer: "kong-files-id:ro" }]);
      expect(String(c.inputs.image)).toMatch(/^kong:\d+\.\d+\.\d+$/);
    }
  });

  test("only the first replica publishes the proxy, on 127.0.0.1", () => {
    const published = containers().flatMap(
      (c) => (c.inputs.ports as { internal: number; external: number; ip: string }[]) ?? [],
    );
    expect(published).toEqual([{ internal: KONG_PROXY_PORT, external: 8000, ip: "127.0.0.1", protocol: "tcp" }]);
  });

  test("kong.yml is a secret upload: keys and the Redis password never appear in plain inputs", () => {
    const printable = JSON.stringify(result.resources.map((r) => r.inputs));
    for (const secret of [ANON, SERVICE, REDIS_PASSWORD]) expect(printable).not.toContain(secret);
    const c = holder();
    expect(c.inputs.uploads).toEqual([
      {
        file: "/etc/kong/declarative/kong.yml",
        content: SECRET_MARK,
        owner: "1000",
        group: "1000",
        permissions: "0440",
      },
    ]);
    const yml = parse((c.plainInputs.uploads as { content: string }[])[0].content) as KongYml;
    expect(yml.consumers.map((x) => x.keyauth_credentials[0].key)).toEqual([ANON, SERVICE]);
    expect(yml.services.flatMap((s) => s.routes.flatMap((r) => r.paths))).toEqual(["/api/v1/", "/rest/v1/"]);
    expect(pluginOf(yml.services.find((s) => s.name === "api-v1")?.plugins, "acl")).toBeDefined();
  });
});
