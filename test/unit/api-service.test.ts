import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { API_PORT, ApiService, validateApiServiceArgs } from "../../components/api-service";
import { hashBuildContext } from "../../components/runtime/build-context";
import { PostgresEndpoint, RedisEndpoint } from "../../components/endpoints";
import { DockerRuntime } from "../../components/runtime/docker";
import { Runtime } from "../../components/runtime/types";
import { WorkloadSpec } from "../../components/workload";
import { MockRunResult, PlannedResource, SECRET_MARK, runUnderMocks } from "../../scripts/lib/mock-program";
import { scratchDir } from "../helpers/scratch";

const PG_PASSWORD = "pgAdminPassw0rdUnit";
const REDIS_PASSWORD = "redisPassw0rdUnit";
const JWT_SECRET = "jwt-secret-for-the-unit-test-0123456789abcdef";

function buildContext(files: Record<string, string>): string {
  const dir = scratchDir("build-context");
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

describe("hashBuildContext", () => {
  const files = { Dockerfile: "FROM node:20.18.1-bookworm-slim\n", "src/server.ts": "export {};\n" };

  test("is stable, follows source changes and ignores dependencies and build output", () => {
    const a = buildContext(files);
    const b = buildContext({ ...files, "node_modules/x/index.js": "1", "dist/server.js": "2" });
    const c = buildContext({ ...files, "src/server.ts": "export const changed = 1;\n" });
    expect(hashBuildContext(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(hashBuildContext(b)).toBe(hashBuildContext(a));
    expect(hashBuildContext(c)).not.toBe(hashBuildContext(a));
  });
});

describe("validateApiServiceArgs", () => {
  const good = { replicas: 2, maxReplicas: 4, cpuMillis: 250, memoryMb: 256 };
  test.each([
    ["kubernetes" as const, { ...good }, ["image", "kubernetes runtime cannot build app/", "northstack:apiImage"]],
    ["docker" as const, { ...good, image: "ghcr.io/acme/api:latest" }, ["image", "ghcr.io/acme/api:latest", "latest"]],
    ["docker" as const, { ...good, maxReplicas: 1 }, ["maxReplicas: 1", "replicas (2)"]],
    ["docker" as const, { ...good, replicas: 0, maxReplicas: 0 }, ["replicas: 0"]],
    ["docker" as const, { ...good, hostPort: 80 }, ["hostPort: 80"]],
  ])("%s %o is rejected", (kind, args, fragments) => {
    let message = "";
    try {
      validateApiServiceArgs("api", kind, args);
    } catch (e) {
      message = (e as Error).message;
    }
    for (const f of fragments) expect(message).toContain(f);
  });
  test("a pinned image on kubernetes is fine", () => {
    expect(() =>
      validateApiServiceArgs("api", "kubernetes", { ...good, image: "ghcr.io/acme/api:1.2.3" }),
    ).not.toThrow();
  });
});

describe("ApiService under mocks", () => {
  let result: MockRunResult;
  const context = buildContext({
    Dockerfile: "FROM node:20.18.1-bookworm-slim\nUSER 1000:1000\n",
    "src/server.ts": "export {};\n",
  });
  const recorded: WorkloadSpec[] = [];
  let kubernetesError = "";
  const apiContainers = () =>
    result.resources.filter((r) => r.type === "docker:index/container:Container" && r.name.startsWith("api"));
  const envOf = (r: PlannedResource) =>
    Object.fromEntries(
      (r.plainInputs.envs as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );

  beforeAll(async () => {
    result = await runUnderMocks({
      stack: "dev",
      config: {},
      program: () => {
        const postgres: PostgresEndpoint = {
          host: pulumi.output("postgres"),
          port: pulumi.output(5432),
          database: "postgres",
          login: { user: "northstack_api", password: pulumi.secret(PG_PASSWORD) },
          sslMode: "disable",
        };
        const redis: RedisEndpoint = {
          host: pulumi.output("redis"),
          port: pulumi.output(6379),
          password: pulumi.secret(REDIS_PASSWORD),
          tls: false,
        };
        const common = {
          replicas: 2,
          maxReplicas: 5,
          cpuMillis: 300,
          memoryMb: 256,
          postgres,
          redis,
          jwtSecret: pulumi.secret(JWT_SECRET),
        };

        const docker = new DockerRuntime("docker", { stack: "dev" });
        const api = new ApiService("api", { ...common, runtime: docker, hostPort: 8080, buildContext: context });
        new ApiService("billing", { ...common, runtime: docker, image: "ghcr.io/acme/billing:1.4.2", replicas: 1 });

        // Records the platform-neutral spec a Kubernetes runtime would receive.
        const recording: Runtime = {
          kind: "kubernetes",
          stack: "staging",
          scrapeDiscovery: () => {
            throw new Error("not scraped in this test");
          },
          deploy: (spec) => {
            recorded.push(spec);
            return { host: pulumi.output(`${spec.name}.northstack-staging.svc.cluster.local`), resources: [] };
          },
        };
        try {
          new ApiService("api-k8s-unbuilt", { ...common, runtime: recording });
        } catch (e) {
          kubernetesError = (e as Error).message;
        }
        new ApiService("api-k8s", {
          ...common,
          runtime: recording,
          image: "ghcr.io/acme/api:1.2.3",
          allowFrom: ["gateway"],
        });
        return { url: api.url, host: api.host };
      },
    });
  });

  test("without an image it builds app/ locally, tagged with the content hash, never pushed", () => {
    const images = result.resources.filter((r) => r.type === "docker:index/image:Image");
    expect(images.map((i) => i.name)).toEqual(["api-image"]);
    const image = images[0];
    expect(image.inputs).toMatchObject({
      imageName: `northstack/api:${hashBuildContext(context)}`,
      skipPush: true,
      build: { context, dockerfile: path.join(context, "Dockerfile") },
    });
    const component = result.resources.find((r) => r.type === "northstack:app:ApiService" && r.name === "api");
    expect(image.parent).toBe(component?.urn);
    for (const c of apiContainers()) expect(c.inputs.image).toBe(`northstack/api:${hashBuildContext(context)}`);
  });

  test("a given image is pulled, not built", () => {
    const billing = result.resources.find((r) => r.type === "docker:index/container:Container" && r.name === "billing");
    expect(billing?.inputs.image).toBe("ghcr.io/acme/billing:1.4.2");
    expect(
      result.resources.some(
        (r) => r.type === "docker:index/remoteImage:RemoteImage" && r.inputs.name === "ghcr.io/acme/billing:1.4.2",
      ),
    ).toBe(true);
  });

  test("on kubernetes without an image it fails before registering anything", () => {
    expect(kubernetesError).toContain("image");
    expect(kubernetesError).toContain("kubernetes");
    expect(result.resources.some((r) => r.name.startsWith("api-k8s-unbuilt"))).toBe(false);
  });

  test("replicas, non-root uid 1000, limits and a health check on /health", () => {
    const containers = apiContainers();
    expect(containers.map((c) => c.name).sort()).toEqual(["api-1", "api-2"]);
    for (const c of containers) {
      expect(c.inputs.user).toBe("1000:1000");
      expect(c.inputs.readOnly).toBe(true);
      expect(c.inputs.memory).toBe(256);
      expect(c.inputs.cpus).toBe("0.3");
      expect((c.inputs.healthcheck as { tests: string[] }).tests.join(" ")).toContain(
        `http://127.0.0.1:${API_PORT}/health`,
      );
    }
    expect(containers.flatMap((c) => (c.inputs.ports as { external: number; ip: string }[]) ?? [])).toEqual([
      { internal: API_PORT, external: 8080, ip: "127.0.0.1", protocol: "tcp" },
    ]);
  });

  test("connection settings are secret env; the database login is the endpoint's, the API's own role", () => {
    for (const c of apiContainers()) {
      expect(c.inputs.envs).toBe(SECRET_MARK);
      expect(envOf(c)).toEqual({
        PORT: String(API_PORT),
        NODE_ENV: "production",
        DATABASE_URL: `postgres://northstack_api:${PG_PASSWORD}@postgres:5432/postgres?sslmode=disable`,
        REDIS_URL: `redis://:${REDIS_PASSWORD}@redis:6379`,
        JWT_SECRET,
      });
    }
    const printable = JSON.stringify(result.resources.map((r) => r.inputs));
    for (const secret of [PG_PASSWORD, REDIS_PASSWORD, JWT_SECRET]) expect(printable).not.toContain(secret);
  });

  test("outputs the in-network URL", () => {
    expect(result.outputs).toEqual({ url: `http://api:${API_PORT}`, host: "api" });
  });

  test("the platform-neutral spec carries autoscaling, metrics, the HTTP probe and who may call it", async () => {
    expect(recorded.map((s) => s.name)).toEqual(["api-k8s"]);
    const spec = recorded[0];
    expect(spec).toMatchObject({
      image: "ghcr.io/acme/api:1.2.3",
      replicas: 2,
      autoscale: { min: 2, max: 5 },
      allowFrom: ["gateway"],
      metrics: { port: API_PORT, path: "/metrics" },
      health: { httpGet: { path: "/health", port: API_PORT } },
      user: { uid: 1000, gid: 1000 },
      resources: { cpuMillis: 300, memoryMb: 256 },
    });
    expect(Object.keys(spec.secretEnv ?? {}).sort()).toEqual(["DATABASE_URL", "JWT_SECRET", "REDIS_URL"]);
    expect(Object.keys(spec.env ?? {})).not.toEqual(expect.arrayContaining(["DATABASE_URL"]));
  });
});
