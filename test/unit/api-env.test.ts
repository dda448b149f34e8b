/**
 * The API's environment from config (northstack:apiEnv, apiSecretEnv): plain values reach the
 * container env, secret ones only as Pulumi secrets and a Kubernetes Secret, never in printable
 * inputs; names the platform sets cannot be overridden.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { ApiService, validateApiServiceArgs } from "../../components/api-service";
import { API_PLATFORM_ENV } from "../../components/config";
import { PostgresEndpoint, RedisEndpoint } from "../../components/endpoints";
import { DockerRuntime } from "../../components/runtime/docker";
import { KubernetesRuntime } from "../../components/runtime/kubernetes";
import { Runtime } from "../../components/runtime/types";
import { WorkloadSpec } from "../../components/workload";
import { MockRunResult, PlannedResource, SECRET_MARK, runUnderMocks } from "../../scripts/lib/mock-program";

const STRIPE_KEY = "sk_live_api-env-unit-canary-0123456789";
const env = { LOG_LEVEL: "debug", FEATURE_FLAGS: "a=1,b=2" };
const secretEnv = { STRIPE_API_KEY: STRIPE_KEY };

const endpoints = () => {
  const postgres: PostgresEndpoint = {
    host: pulumi.output("postgres"),
    port: pulumi.output(5432),
    database: "postgres",
    login: { user: "northstack_api", password: pulumi.secret("pg-password-api-env") },
    sslMode: "disable",
  };
  const redis: RedisEndpoint = {
    host: pulumi.output("redis"),
    port: pulumi.output(6379),
    password: pulumi.secret("redis-password-api-env"),
    tls: false,
  };
  return { postgres, redis };
};
const common = () => ({
  replicas: 1,
  maxReplicas: 2,
  cpuMillis: 250,
  memoryMb: 256,
  jwtSecret: pulumi.secret("jwt-secret-api-env-0123456789abcdef"),
  ...endpoints(),
});

const recorded: WorkloadSpec[] = [];
const recording: Runtime = {
  kind: "kubernetes",
  stack: "staging",
  scrapeDiscovery: () => {
    throw new Error("not scraped in this test");
  },
  deploy: (spec) => {
    recorded.push(spec);
    return { host: pulumi.output(`${spec.name}.svc`), resources: [] };
  },
};

let result: MockRunResult;
const secretFlags: Record<string, boolean> = {};

beforeAll(async () => {
  result = await runUnderMocks({
    stack: "staging",
    config: {},
    program: async () => {
      new ApiService("api", {
        ...common(),
        runtime: new DockerRuntime("docker", { stack: "dev" }),
        image: "ghcr.io/acme/api:1.2.3",
        env,
        secretEnv,
      });
      const provider = new k8s.Provider("k8s", { kubeconfig: "apiVersion: v1\nkind: Config\n" });
      const kubernetes = new KubernetesRuntime("k8s", { stack: "staging", provider, namespace: "northstack-staging" });
      new ApiService("api-k8s", { ...common(), runtime: kubernetes, image: "ghcr.io/acme/api:1.2.3", env, secretEnv });
      new ApiService("api-spec", { ...common(), runtime: recording, image: "ghcr.io/acme/api:1.2.3", env, secretEnv });
      new ApiService("api-plain", { ...common(), runtime: recording, image: "ghcr.io/acme/api:1.2.3" });
      for (const [name, value] of Object.entries(recorded[0].secretEnv ?? {}))
        secretFlags[name] = await pulumi.isSecret(pulumi.output(value));
      return {};
    },
  });
});

const ofType = (type: string) => result.resources.filter((r) => r.type === type);
const envOf = (r: PlannedResource) =>
  Object.fromEntries(
    (r.plainInputs.envs as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );

test("on Docker both reach the container env, and the env list is a secret", () => {
  const container = ofType("docker:index/container:Container").find((r) => r.name === "api");
  expect(container?.inputs.envs).toBe(SECRET_MARK);
  expect(envOf(container as PlannedResource)).toMatchObject({ ...env, STRIPE_API_KEY: STRIPE_KEY, PORT: "8080" });
});

test("the spec carries apiEnv as plain env and apiSecretEnv as secret env, each value a Pulumi secret", () => {
  const spec = recorded[0];
  expect(spec.env).toMatchObject(env);
  expect(Object.keys(spec.secretEnv ?? {})).toContain("STRIPE_API_KEY");
  expect(Object.keys(spec.env ?? {})).not.toContain("STRIPE_API_KEY");
  expect(secretFlags).toMatchObject({ STRIPE_API_KEY: true, DATABASE_URL: true, REDIS_URL: true, JWT_SECRET: true });
});

test("on Kubernetes the secret value lives in a Secret the pod reads by reference; the plain ones are literal env", () => {
  const secret = ofType("kubernetes:core/v1:Secret").find(
    (r) => (r.plainInputs.stringData as Record<string, string> | undefined)?.STRIPE_API_KEY !== undefined,
  );
  expect((secret?.plainInputs.stringData as Record<string, string>).STRIPE_API_KEY).toBe(STRIPE_KEY);
  const deployment = ofType("kubernetes:apps/v1:Deployment").find(
    (r) => (r.inputs.metadata as { name: string }).name === "api-k8s",
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const containerEnv = (deployment?.inputs.spec as any).template.spec.containers[0].env as {
    name: string;
    value?: string;
    valueFrom?: unknown;
  }[];
  expect(containerEnv.find((e) => e.name === "LOG_LEVEL")).toEqual({ name: "LOG_LEVEL", value: "debug" });
  const stripe = containerEnv.find((e) => e.name === "STRIPE_API_KEY");
  expect(stripe?.value).toBeUndefined();
  expect(stripe?.valueFrom).toEqual({ secretKeyRef: expect.objectContaining({ key: "STRIPE_API_KEY" }) });
});

test("the secret value appears in no printable input", () => {
  expect(JSON.stringify(result.resources.map((r) => r.inputs))).not.toContain(STRIPE_KEY);
});

test("without extra env, the platform sets only names listed in API_PLATFORM_ENV", () => {
  const spec = recorded[1];
  const names = [...Object.keys(spec.env ?? {}), ...Object.keys(spec.secretEnv ?? {})];
  expect(names.length).toBeGreaterThanOrEqual(5);
  for (const name of names) expect(API_PLATFORM_ENV).toContain(name);
});

describe("validateApiServiceArgs rejects env that would collide, naming the field, the name and what is allowed", () => {
  const good = { replicas: 1, maxReplicas: 1, cpuMillis: 250, memoryMb: 256, image: "ghcr.io/acme/api:1.2.3" };
  test.each([
    [
      "a platform name in env",
      { env: { DATABASE_URL: "postgres://elsewhere" } },
      ['env: "DATABASE_URL"', "which the platform sets", "PORT, NODE_ENV"],
    ],
    [
      "a platform name in secretEnv",
      { secretEnv: { JWT_SECRET: "x" } },
      ['secretEnv: "JWT_SECRET"', "which the platform sets"],
    ],
    ["a lower-case name", { env: { logLevel: "debug" } }, ['env: "logLevel"', "[A-Z_][A-Z0-9_]*"]],
    [
      "the same name plain and secret",
      { env: { TOKEN: "a" }, secretEnv: { TOKEN: "b" } },
      ['secretEnv: "TOKEN" is also in env'],
    ],
  ])("%s", (_label, extra, fragments) => {
    let message = "";
    try {
      validateApiServiceArgs("api", "kubernetes", { ...good, ...extra });
    } catch (e) {
      message = (e as Error).message;
    }
    for (const f of fragments) expect(message).toContain(f);
  });
});
