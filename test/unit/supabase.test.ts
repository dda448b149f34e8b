import { parse } from "libpg-query";
import { CLIENT_ROLES, DB_CLIENTS, DbClient, dbPasswordEnv } from "../../components/db-roles";
import type { PostgresLogin } from "../../components/endpoints";
import { SUPABASE_PORTS, SupabaseServices } from "../../components/supabase";
import { verifyHs256, signHs256, SUPABASE_KEY_LIFETIME_SECONDS } from "../../components/jwt";
import { FILES_HOLDER_LABEL } from "../../components/runtime/docker";
import type { MockRunResult, PlannedResource } from "../../scripts/lib/mock-program";

const JWT_SECRET = "unit-test-jwt-secret-that-is-long-enough-0123456789";
const ALL_ON: SupabaseServices = {
  auth: true,
  rest: true,
  realtime: true,
  storage: true,
  meta: true,
  studio: true,
  studioHostPort: 3000,
};

/** Runs a dev-like program (DockerRuntime, Postgres, Supabase) under mocks in its own module registry. */
async function planSupabase(services: SupabaseServices, replicas?: number): Promise<MockRunResult> {
  let result: MockRunResult | undefined;
  await jest.isolateModulesAsync(async () => {
    const pulumi = await import("@pulumi/pulumi");
    const { runUnderMocks } = await import("../../scripts/lib/mock-program");
    const { DockerRuntime } = await import("../../components/runtime/docker");
    const { Postgres } = await import("../../components/postgres");
    const { Supabase } = await import("../../components/supabase");
    result = await runUnderMocks({
      stack: "dev",
      config: {},
      program: () => {
        const runtime = new DockerRuntime("docker", { stack: "dev" });
        const postgres = new Postgres("postgres", {
          runtime,
          memoryMb: 1024,
          storageGb: 20,
          password: pulumi.secret("pg-admin-password"),
        });
        const supabase = new Supabase("supabase", {
          runtime,
          postgres: postgres.endpoint,
          logins: Object.fromEntries(
            DB_CLIENTS.map((c) => [c, { user: CLIENT_ROLES[c], password: pulumi.secret(`pw-of-${c}`) }]),
          ) as Record<DbClient, PostgresLogin>,
          jwtSecret: pulumi.secret(JWT_SECRET),
          services,
          exposedSchemas: ["public"],
          publicUrl: "http://localhost:8000",
          storage: { kind: "file", bucket: pulumi.output("supabase-storage"), region: "local" },
          replicas,
        });
        return {
          anonKey: supabase.anonKey,
          serviceRoleKey: supabase.serviceRoleKey,
          metricsWorkloads: supabase.metricsTargets.map((t) => t.workload).join(","),
          ...Object.fromEntries(
            supabase.metricsTargets
              .filter((t) => t.bearerToken !== undefined)
              .map((t) => [`bearerToken:${t.workload}`, t.bearerToken]),
          ),
          ...supabase.upstreams,
        };
      },
    });
  });
  if (!result) throw new Error("program did not run");
  return result;
}

const allContainers = (r: MockRunResult) => r.resources.filter((x) => x.type === "docker:index/container:Container");
/** The containers that run; the never-started holders of their files are left out. */
const containers = (r: MockRunResult) => allContainers(r).filter((c) => labelsOf(c)[FILES_HOLDER_LABEL] === undefined);
const container = (r: MockRunResult, name: string): PlannedResource => {
  const found = allContainers(r).find((c) => c.name === name);
  if (!found)
    throw new Error(
      `no container ${name}; have ${containers(r)
        .map((c) => c.name)
        .join(", ")}`,
    );
  return found;
};
const envOf = (c: PlannedResource): Record<string, string> =>
  Object.fromEntries(
    (c.plainInputs.envs as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
const labelsOf = (c: PlannedResource) =>
  Object.fromEntries((c.inputs.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));

describe("Supabase with every service on", () => {
  let plan: MockRunResult;
  beforeAll(async () => {
    plan = await planSupabase(ALL_ON);
  });

  test("runs Postgres, the migration job and all six services, each non-root and hardened", () => {
    expect(
      containers(plan)
        .map((c) => c.name)
        .sort(),
    ).toEqual(
      [
        "postgres",
        "supabase-auth",
        "supabase-meta",
        "supabase-migrate",
        "supabase-realtime",
        "supabase-rest",
        "supabase-storage",
        "supabase-studio",
      ].sort(),
    );
    for (const c of containers(plan)) {
      expect(c.inputs.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      expect(c.inputs.capabilities).toEqual({ drops: ["ALL"], adds: [] });
      expect(c.inputs.image).not.toMatch(/:latest$/);
      expect(Number(c.inputs.memory)).toBeGreaterThan(0);
      if (c.name !== "supabase-migrate") expect(c.inputs.healthcheck).toBeDefined();
    }
    expect(container(plan, "postgres").inputs.user).toBe("999:999");
    expect(container(plan, "postgres").inputs.readOnly).toBe(true);
  });

  test("the component types are the contract's", () => {
    const types = plan.resources.map((r) => r.type);
    expect(types).toEqual(expect.arrayContaining(["northstack:data:Postgres", "northstack:data:Supabase"]));
    const supabase = plan.resources.find((r) => r.type === "northstack:data:Supabase");
    for (const c of containers(plan).filter((x) => x.name.startsWith("supabase-")))
      expect(c.parent).toBe(supabase?.urn);
  });

  test("Postgres reads the rendered postgresql.conf, keeps data on a volume and checks health with pg_isready", () => {
    const pg = container(plan, "postgres");
    const uploads = container(plan, "postgres-files").plainInputs.uploads as { file: string; content: string }[];
    expect(uploads.map((u) => u.file)).toEqual(["/etc/postgresql/postgresql.conf"]);
    expect(uploads[0].content).toContain("shared_buffers = '256MB'");
    expect(uploads[0].content).toContain("wal_level = 'logical'");
    expect(pg.inputs.command).toEqual(["postgres", "-c", "config_file=/etc/postgresql/postgresql.conf"]);
    expect(pg.inputs.volumes).toEqual([
      { volumeName: "northstack-dev-postgres-data", containerPath: "/var/lib/postgresql/data" },
      { fromContainer: "postgres-files-id:ro" },
    ]);
    expect(Object.keys(pg.inputs.tmpfs as object).sort()).toEqual(["/tmp", "/var/run/postgresql"]);
    expect((pg.inputs.healthcheck as { tests: string[] }).tests.slice(0, 2)).toEqual(["CMD", "pg_isready"]);
    expect(pg.secretPaths.some((p) => p.startsWith("envs"))).toBe(true);
    expect(JSON.stringify(pg.inputs)).not.toContain("pg-admin-password");
  });

  test("the migration container carries the label and the .sql uploads, with passwords only in secret env", async () => {
    const job = container(plan, "supabase-migrate");
    const files = container(plan, "supabase-migrate-files");
    expect(labelsOf(files)["northstack.io/migrations"]).toBe("true");
    const uploads = files.plainInputs.uploads as { file: string; content: string }[];
    expect(uploads.map((u) => u.file)).toEqual(
      expect.arrayContaining([
        "/migrations/001_roles.sql",
        "/migrations/010_notes.sql",
        "/migrations/999_rls_guard.sql",
      ]),
    );
    for (const u of uploads) {
      expect(u.file).toMatch(/^\/migrations\/\d{3}_[a-z0-9_]+\.sql$/);
      await expect(parse(u.content)).resolves.toHaveProperty("stmts");
      expect(u.content).not.toContain("pg-admin-password");
    }
    expect(job.inputs.restart).toBe("no");
    expect(envOf(job)).toMatchObject({
      PGHOST: "postgres",
      PGUSER: "postgres",
      PGPASSWORD: "pg-admin-password",
      ...Object.fromEntries(DB_CLIENTS.map((c) => [dbPasswordEnv(c), `pw-of-${c}`])),
    });
    expect(JSON.stringify(job.inputs)).not.toContain("pg-admin-password");
    expect((job.inputs.entrypoints as string[]).join(" ")).toContain("ON_ERROR_STOP=1");
  });

  test("each service holds its own database password and no other's; only the job holds the admin's", () => {
    const holders = (secret: string) =>
      containers(plan)
        .filter((c) => JSON.stringify(c.plainInputs).includes(secret))
        .map((c) => c.name)
        .sort();
    expect(holders("pg-admin-password")).toEqual(["postgres", "supabase-migrate"]);
    const own: Partial<Record<DbClient, string>> = {
      rest: "supabase-rest",
      auth: "supabase-auth",
      storage: "supabase-storage",
      realtime: "supabase-realtime",
      meta: "supabase-meta",
      studio: "supabase-studio",
    };
    for (const client of DB_CLIENTS) {
      const workload = own[client];
      expect({ client, holders: holders(`pw-of-${client}`) }).toEqual({
        client,
        holders: workload ? [workload, "supabase-migrate"].sort() : ["supabase-migrate"],
      });
    }
  });

  test("the migration job waits for the Postgres container, and every service for the migration job", () => {
    const job = container(plan, "supabase-migrate");
    expect(job.dependencies).toContain(container(plan, "postgres").urn);
    for (const c of containers(plan).filter((x) => x.name.startsWith("supabase-") && x.name !== "supabase-migrate")) {
      expect(c.dependencies).toContain(job.urn);
    }
  });

  test("services get the env their images expect", () => {
    const rest = envOf(container(plan, "supabase-rest"));
    expect(rest).toMatchObject({
      PGRST_DB_SCHEMAS: "public",
      PGRST_DB_ANON_ROLE: "anon",
      PGRST_JWT_SECRET: JWT_SECRET,
    });
    expect(rest.PGRST_DB_URI).toBe("postgres://authenticator:pw-of-rest@postgres:5432/postgres?sslmode=disable");
    expect(envOf(container(plan, "supabase-auth")).GOTRUE_DB_DATABASE_URL).toBe(
      "postgres://supabase_auth_admin:pw-of-auth@postgres:5432/postgres?sslmode=disable",
    );
    const storage = envOf(container(plan, "supabase-storage"));
    expect(storage).toMatchObject({
      STORAGE_BACKEND: "file",
      FILE_STORAGE_BACKEND_PATH: "/var/lib/storage",
      POSTGREST_URL: "http://supabase-rest:3000",
    });
    expect(storage.DATABASE_URL).toBe(
      "postgres://supabase_storage_admin:pw-of-storage@postgres:5432/postgres?sslmode=disable",
    );
    expect(envOf(container(plan, "supabase-realtime"))).toMatchObject({
      DB_USER: "supabase_realtime_admin",
      DB_PASSWORD: "pw-of-realtime",
    });
    expect(envOf(container(plan, "supabase-meta"))).toMatchObject({
      PG_META_DB_USER: "northstack_meta",
      PG_META_DB_PASSWORD: "pw-of-meta",
    });
    expect(envOf(container(plan, "supabase-studio"))).toMatchObject({
      POSTGRES_USER_READ_WRITE: "northstack_studio",
      POSTGRES_PASSWORD: "pw-of-studio",
    });
    expect(envOf(container(plan, "supabase-realtime")).SECRET_KEY_BASE).toMatch(/^[0-9a-f]{64}$/);
    expect(envOf(container(plan, "supabase-studio")).STUDIO_PG_META_URL).toBe("http://supabase-meta:8080");
    const studioPorts = container(plan, "supabase-studio").inputs.ports as { external: number; ip: string }[];
    expect(studioPorts).toEqual([expect.objectContaining({ external: 3000, ip: "127.0.0.1" })]);
  });

  test("GoTrue serves Prometheus metrics on the port it declares, PostgREST on its admin server", () => {
    expect(envOf(container(plan, "supabase-auth"))).toMatchObject({
      GOTRUE_METRICS_ENABLED: "true",
      GOTRUE_METRICS_EXPORTER: "prometheus",
      OTEL_EXPORTER_PROMETHEUS_HOST: "0.0.0.0",
      OTEL_EXPORTER_PROMETHEUS_PORT: String(SUPABASE_PORTS.authMetrics),
    });
    expect(envOf(container(plan, "supabase-rest")).PGRST_ADMIN_SERVER_PORT).toBe(String(SUPABASE_PORTS.restAdmin));
  });

  test("Storage is scraped on its API port, where single-tenant storage-api serves /metrics, with its default metrics left on", () => {
    expect(String(plan.outputs.metricsWorkloads).split(",")).toEqual(
      expect.arrayContaining(["supabase-auth", "supabase-rest", "supabase-storage"]),
    );
    const storage = envOf(container(plan, "supabase-storage"));
    expect(storage.DEFAULT_METRICS_ENABLED ?? storage.ENABLE_DEFAULT_METRICS).not.toBe("false");
  });

  test("Realtime is scraped with a bearer token, a secret, and holds the generated METRICS_JWT_SECRET in secret env alone", () => {
    expect(String(plan.outputs.metricsWorkloads).split(",")).toContain("supabase-realtime");
    // Only Realtime's endpoint demands a token.
    expect(Object.keys(plan.outputs).filter((k) => k.startsWith("bearerToken:"))).toEqual([
      "bearerToken:supabase-realtime",
    ]);
    expect(plan.outputs["bearerToken:supabase-realtime"]).toBe("[secret]");
    const generated = plan.resources.filter(
      (r) => r.type === "random:index/randomPassword:RandomPassword" && r.name === "supabase-realtime-metrics-jwt",
    );
    expect(generated.map((r) => r.inputs)).toEqual([expect.objectContaining({ length: 64, special: false })]);
    const realtime = container(plan, "supabase-realtime");
    const secret = envOf(realtime).METRICS_JWT_SECRET;
    expect(secret).toBe("plan-random-supabase-realtime-metrics-jwt".padEnd(64, "x"));
    expect(realtime.secretPaths.some((p) => p.startsWith("envs"))).toBe(true);
    // Realtime also checks the metrics token against these; unset, the signature and `exp` decide.
    expect(Object.keys(envOf(realtime)).filter((k) => /CLAIM_VALIDATORS|TOKEN_BLOCKLIST/.test(k))).toEqual([]);
    // Every container's printable inputs, and every other container's revealed ones, lack it.
    expect(JSON.stringify(allContainers(plan).map((c) => c.inputs))).not.toContain(secret);
    expect(
      allContainers(plan)
        .filter((c) => JSON.stringify(c.plainInputs).includes(secret))
        .map((c) => c.name),
    ).toEqual(["supabase-realtime"]);
  });

  test("the anon and service_role keys are secrets, signed HS256 from the JWT secret with the right claims", () => {
    expect(plan.outputs.anonKey).toBe("[secret]");
    expect(plan.outputs.serviceRoleKey).toBe("[secret]");
    const storage = envOf(container(plan, "supabase-storage"));
    const anon = verifyHs256(storage.ANON_KEY, JWT_SECRET);
    const service = verifyHs256(storage.SERVICE_KEY, JWT_SECRET);
    expect(anon).toMatchObject({ iss: "supabase", role: "anon" });
    expect(service).toMatchObject({ iss: "supabase", role: "service_role" });
    expect(Number(anon.exp) - Number(anon.iat)).toBe(SUPABASE_KEY_LIFETIME_SECONDS);
    expect(() => verifyHs256(storage.ANON_KEY, `${JWT_SECRET}-other`)).toThrow(/signature/);
    expect(container(plan, "supabase-storage").secretPaths.length).toBeGreaterThan(0);
  });

  test("upstreams name every enabled service", () => {
    expect(plan.outputs).toMatchObject({
      auth: "http://supabase-auth:9999",
      rest: "http://supabase-rest:3000",
      realtime: "http://supabase-realtime:4000",
      storage: "http://supabase-storage:5000",
      meta: "http://supabase-meta:8080",
      studio: "http://supabase-studio:3000",
    });
  });

  test("each upstream URL names the port its service listens on and health-checks", () => {
    const listenEnv: Record<string, string> = { auth: "GOTRUE_API_PORT", realtime: "PORT", meta: "PG_META_PORT" };
    for (const service of ["auth", "realtime", "storage", "meta", "studio"]) {
      const c = container(plan, `supabase-${service}`);
      const port = new URL(String(plan.outputs[service])).port;
      const check = (c.inputs.healthcheck as { tests: string[] }).tests.find(
        (t) => t.startsWith("http://127.0.0.1:") || t.includes("'http://127.0.0.1:"),
      );
      expect({ service, check }).toEqual({ service, check: expect.stringContaining(`http://127.0.0.1:${port}/`) });
      if (listenEnv[service])
        expect({ service, listens: envOf(c)[listenEnv[service]] }).toEqual({ service, listens: port });
    }
  });
});

describe("realtime, storage access and replicas", () => {
  test("realtime seeds its tenant under its own service name, the first label of the Host the gateway sends", async () => {
    const plan = await planSupabase(ALL_ON);
    const realtime = envOf(container(plan, "supabase-realtime"));
    expect(realtime).toMatchObject({ SEED_SELF_HOST: "true", SELF_HOST_TENANT_NAME: "supabase-realtime" });
    expect(new URL(String(plan.outputs.realtime)).hostname.split(".")[0]).toBe(realtime.SELF_HOST_TENANT_NAME);
  });

  test("auth and rest run the configured replicas; storage on a volume and realtime stay single", async () => {
    const plan = await planSupabase(ALL_ON, 2);
    const names = containers(plan).map((c) => c.name);
    for (const service of ["supabase-auth", "supabase-rest"])
      expect(names).toEqual(expect.arrayContaining([`${service}-1`, `${service}-2`]));
    for (const service of ["supabase-storage", "supabase-realtime"])
      expect(names.filter((n) => n.startsWith(service))).toEqual([service]);
  });

  test("a bucket without access, or a replica count below 1, is refused before anything is registered", async () => {
    const pulumi = await import("@pulumi/pulumi");
    const { validateSupabaseArgs } = await import("../../components/supabase");
    const bucket = { kind: "s3" as const, bucket: pulumi.output("files"), region: "ca-central-1" };
    expect(() => validateSupabaseArgs({ services: ALL_ON, publicUrl: "http://x", storage: bucket })).toThrow(
      /storage: a s3 bucket needs access .*every upload fails/,
    );
    expect(() =>
      validateSupabaseArgs({ services: { ...ALL_ON, storage: false }, publicUrl: "http://x", storage: bucket }),
    ).not.toThrow();
    expect(() =>
      validateSupabaseArgs({
        services: ALL_ON,
        publicUrl: "http://x",
        storage: { ...bucket, access: { serviceAccount: { name: "supabase-storage" } } },
      }),
    ).not.toThrow();
    expect(() => validateSupabaseArgs({ services: ALL_ON, publicUrl: "http://x", replicas: 0 })).toThrow(
      /replicas 0 is not allowed; use an integer >= 1/,
    );
  });
});

describe("toggles", () => {
  test("turning services off removes their containers and upstreams, never the migrations", async () => {
    const plan = await planSupabase({
      auth: true,
      rest: true,
      realtime: false,
      storage: false,
      meta: false,
      studio: false,
    });
    expect(
      containers(plan)
        .map((c) => c.name)
        .sort(),
    ).toEqual(["postgres", "supabase-auth", "supabase-migrate", "supabase-rest"]);
    expect(Object.keys(plan.outputs).sort()).toEqual(["anonKey", "auth", "metricsWorkloads", "rest", "serviceRoleKey"]);
    // Without Realtime no metrics secret is generated for it.
    expect(plan.resources.filter((r) => r.name === "supabase-realtime-metrics-jwt")).toEqual([]);
  });

  test("Studio without meta is rejected before anything is registered", async () => {
    const { validateSupabaseArgs } = await import("../../components/supabase");
    expect(() =>
      validateSupabaseArgs({ services: { ...ALL_ON, meta: false }, publicUrl: "http://localhost:8000" }),
    ).toThrow(/services.studio is true but services.meta is false/);
    expect(() => validateSupabaseArgs({ services: ALL_ON, publicUrl: "ftp://x" })).toThrow(
      /publicUrl "ftp:\/\/x" is not allowed/,
    );
    expect(() => validateSupabaseArgs({ services: ALL_ON, publicUrl: "http://x", exposedSchemas: ["auth"] })).toThrow(
      /"auth" is not allowed/,
    );
  });
});

describe("HS256", () => {
  test("verifies a token signed by another implementation (the RFC 7519 / jwt.io example)", () => {
    const token =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    expect(verifyHs256(token, "your-256-bit-secret")).toEqual({ sub: "1234567890", name: "John Doe", iat: 1516239022 });
  });

  test("round-trips, and rejects tampering, expiry, other algorithms and short secrets", () => {
    const token = signHs256({ sub: "u1", role: "authenticated", exp: 2000 }, JWT_SECRET);
    expect(verifyHs256(token, JWT_SECRET, 1000)).toEqual({ sub: "u1", role: "authenticated", exp: 2000 });
    expect(() => verifyHs256(token, JWT_SECRET, 2000)).toThrow(/expired/);
    const [h, , s] = token.split(".");
    const forged = `${h}.${Buffer.from(JSON.stringify({ sub: "u2", role: "service_role", exp: 2000 })).toString("base64url")}.${s}`;
    expect(() => verifyHs256(forged, JWT_SECRET, 1000)).toThrow(/signature/);
    const none = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${token.split(".")[1]}.`;
    expect(() => verifyHs256(none, JWT_SECRET, 1000)).toThrow(/not HS256/);
    expect(() => signHs256({}, "short")).toThrow(/at least 32/);
  });
});
