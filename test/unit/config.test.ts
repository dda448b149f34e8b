import * as fs from "fs";
import { configProblems, ns } from "../helpers/config";
import * as path from "path";
import * as YAML from "yaml";
import { CONFIG_SCHEMA, ConfigKeySpec, parseConfig } from "../../components/config";
import { renderPulumiYaml } from "../../scripts/gen-pulumi-yaml";
import { readStackConfig } from "../../scripts/lib/stack-config";

const root = path.resolve(__dirname, "..", "..");
const cloudBase = {
  cloud: "aws",
  apiImage: "ghcr.io/northstack/api:0.1.0",
  cluster: "managed",
  publicUrl: "https://api.example.ca",
  tlsSecretName: "gateway-tls",
  alertEmailTo: "oncall@example.ca",
  alertSmtpSmarthost: "smtp.example.ca:587",
};
const prodBase = { ...cloudBase, postgresHa: "true", redisHa: "true", deletionProtection: "true" };

const problemsOf = (raw: Record<string, string>, stack = "dev") => configProblems(raw, stack);

describe("parseConfig accepts good stacks", () => {
  test("dev with defaults", () => {
    const cfg = parseConfig({}, "dev");
    expect(cfg.environment).toBe("dev");
    expect(cfg.cloud).toBe("local");
    expect(cfg.gateway.rateLimitRequests).toBe(100);
    expect(cfg.gateway.rateLimitWindowMinutes).toBe(15);
    expect(cfg.postgres.exposedSchemas).toEqual(["public"]);
    expect(cfg.kubernetes.namespace).toBe("northstack-dev");
    expect(cfg.services).toEqual([]);
  });
  test("additional services as name=image", () => {
    const cfg = parseConfig(ns({ services: '["billing=ghcr.io/acme/billing:1.4.2"]' }), "dev");
    expect(cfg.services).toEqual([{ name: "billing", image: "ghcr.io/acme/billing:1.4.2" }]);
  });
  test("prod on gcp gets the Canadian primary and DR regions", () => {
    const cfg = parseConfig(ns({ ...prodBase, cloud: "gcp" }), "prod");
    expect(cfg.region).toBe("northamerica-northeast1");
    expect(cfg.drRegion).toBe("northamerica-northeast2");
    expect(cfg.postgres.ha).toBe(true);
  });
  test("every shipped stack parses as the CLI hands it over, Pulumi.yaml defaults included", () => {
    for (const stack of ["dev", "staging", "prod"]) {
      const cfg = parseConfig(readStackConfig(root, stack).config, stack);
      expect({ stack, environment: cfg.environment, namespace: cfg.kubernetes.namespace }).toEqual({
        stack,
        environment: stack,
        namespace: `northstack-${stack}`,
      });
      expect(cfg.network.vpcCidr).toBe("10.40.0.0/16");
      expect(cfg.api.env).toEqual({});
    }
  });
  test('"" from a Pulumi.yaml default means unset', () => {
    const cfg = parseConfig(
      ns({ ...cloudBase, environment: "", region: "", drRegion: "", namespace: "", vpcCidr: "" }),
      "staging",
    );
    expect(cfg.environment).toBe("staging");
    expect([cfg.region, cfg.drRegion]).toEqual(["ca-central-1", "ca-west-1"]);
    expect(cfg.kubernetes.namespace).toBe("northstack-staging");
    expect(parseConfig(ns({ region: "", drRegion: "" }), "dev").region).toBe("");
  });
  test("an existing VPC with its CIDR", () => {
    const cfg = parseConfig(
      ns({ ...cloudBase, vpcId: "vpc-0123", privateSubnetIds: '["subnet-a","subnet-b"]', vpcCidr: "10.8.0.0/16" }),
      "staging",
    );
    expect(cfg.network).toEqual({
      vpcId: "vpc-0123",
      vpcCidr: "10.8.0.0/16",
      privateSubnetIds: ["subnet-a", "subnet-b"],
    });
  });
  test("API env as KEY=value and secret API env as a JSON object", () => {
    const cfg = parseConfig(
      ns({ apiEnv: '["LOG_LEVEL=info","GREETING=a=b","EMPTY="]', apiSecretEnv: '{"STRIPE_API_KEY":"sk_test_1"}' }),
      "dev",
    );
    expect(cfg.api.env).toEqual({ LOG_LEVEL: "info", GREETING: "a=b", EMPTY: "" });
    expect(cfg.api.secretEnv).toEqual({ STRIPE_API_KEY: "sk_test_1" });
  });
  test("passwords within the ElastiCache and RDS rules", () => {
    const cfg = parseConfig(
      ns({ redisPassword: "Abc!#$%&()*+,-.:;<=>?[]^_`{|}~9", postgresPassword: "pa$$_w0rd!" }),
      "dev",
    );
    expect(cfg.secrets.redisPassword).toBe("Abc!#$%&()*+,-.:;<=>?[]^_`{|}~9");
    expect(cfg.secrets.postgresPassword).toBe("pa$$_w0rd!");
  });
  test("an existing cluster with a kubeconfig", () => {
    const cfg = parseConfig(
      ns({ ...cloudBase, cluster: "existing", kubeconfig: "apiVersion: v1\nclusters: []", eksClusterName: "team-eks" }),
      "staging",
    );
    expect(cfg.kubernetes.cluster).toBe("existing");
    expect(cfg.secrets.kubeconfig).toContain("apiVersion");
  });
});

// Each case: the raw config, the stack, and fragments the single message must contain: the key,
// the value and what is allowed.
const badInputs: [string, Record<string, string>, string, string[]][] = [
  [
    "region outside Canada",
    { ...cloudBase, region: "us-east-1" },
    "staging",
    ["northstack:region", '"us-east-1"', "ca-central-1, ca-west-1"],
  ],
  [
    "GCS multi-region as region",
    { ...cloudBase, cloud: "gcp", region: "NAM4" },
    "staging",
    ["northstack:region", '"NAM4"', "northamerica-northeast1"],
  ],
  [
    "DR region outside Canada",
    { ...cloudBase, drRegion: "us-west-2" },
    "staging",
    ["northstack:drRegion", '"us-west-2"', "allowed aws regions"],
  ],
  ["unknown cloud", { cloud: "azure" }, "dev", ["northstack:cloud", '"azure"', "local, aws, gcp"]],
  ["replicas 0", { apiReplicas: "0" }, "dev", ["northstack:apiReplicas", "0", "minimum 1"]],
  ["negative size", { postgresStorageGb: "-5" }, "dev", ["northstack:postgresStorageGb", "-5", "minimum 10"]],
  ["negative memory", { redisMemoryMb: "-1" }, "dev", ["northstack:redisMemoryMb", "-1", "minimum 32"]],
  [
    "malformed CIDR",
    { adminAllowCidrs: '["10.0.0.0/33"]' },
    "dev",
    ["northstack:adminAllowCidrs", "10.0.0.0/33", "prefix length above 32"],
  ],
  ["CIDR with host bits", { vpcCidr: "10.40.0.1/16" }, "dev", ["northstack:vpcCidr", "10.40.0.1/16", "host bits"]],
  [
    "image tagged latest",
    { ...cloudBase, apiImage: "ghcr.io/northstack/api:latest" },
    "staging",
    ["northstack:apiImage", "api:latest", "pin a version tag"],
  ],
  [
    "untagged image",
    { ...cloudBase, apiImage: "ghcr.io/northstack/api" },
    "staging",
    ["northstack:apiImage", "has no tag"],
  ],
  [
    "missing kubeconfig on a cloud stack",
    { ...cloudBase, cluster: "existing" },
    "staging",
    ["northstack:kubeconfig", "missing", "pulumi config set --secret"],
  ],
  ["unknown key", { apiReplica: "2" }, "dev", ["northstack:apiReplica", '"2"', "did you mean northstack:apiReplicas"]],
  ["wrong type", { apiReplicas: "three" }, "dev", ["northstack:apiReplicas", '"three"', "not an integer"]],
  ["wrong boolean", { supabaseAuth: "yes" }, "dev", ["northstack:supabaseAuth", '"yes"', "true or false"]],
  [
    "list given as a string",
    { corsOrigins: "https://app.example.ca" },
    "dev",
    ["northstack:corsOrigins", "not a list of strings"],
  ],
  ["wildcard CORS", { corsOrigins: '["*"]' }, "dev", ["northstack:corsOrigins", '"*"', "list the origins"]],
  [
    "admin route open to the world",
    { adminAllowCidrs: '["0.0.0.0/0"]' },
    "dev",
    ["northstack:adminAllowCidrs", "0.0.0.0/0", "narrower"],
  ],
  [
    "cluster API open to the world",
    { clusterApiAllowCidrs: '["0.0.0.0/0"]' },
    "dev",
    ["northstack:clusterApiAllowCidrs", "0.0.0.0/0", "narrower"],
  ],
  [
    "malformed cluster API CIDR",
    { clusterApiAllowCidrs: '["198.51.100.0"]' },
    "dev",
    ["northstack:clusterApiAllowCidrs", "198.51.100.0"],
  ],
  ["HA off in prod", { ...prodBase, postgresHa: "false" }, "prod", ["northstack:postgresHa", "false", "prod"]],
  [
    "short retention in prod",
    { ...prodBase, backupRetentionDays: "3" },
    "prod",
    ["northstack:backupRetentionDays", "3", "7"],
  ],
  ["cloud services on dev", { cloud: "aws" }, "dev", ["northstack:cloud", '"aws"', '"local"']],
  [
    "local on staging",
    { cloud: "local", apiImage: "a/b:1" },
    "staging",
    ["northstack:cloud", '"local"', '"aws" or "gcp"'],
  ],
  [
    "max below min replicas",
    { apiReplicas: "4", apiMaxReplicas: "2" },
    "dev",
    ["northstack:apiMaxReplicas", "2", "at least"],
  ],
  ["short JWT secret", { jwtSecret: "tooshort" }, "dev", ["northstack:jwtSecret", "at least 32"]],
  [
    "kubeconfig path instead of content",
    { ...cloudBase, cluster: "existing", kubeconfig: "~/.kube/config" },
    "staging",
    ["northstack:kubeconfig", "not its path"],
  ],
  ["unknown environment name", {}, "qa", ["northstack:environment", '"qa"', "dev, staging, prod"]],
  [
    "exposing an internal schema",
    { exposedSchemas: '["public","auth"]' },
    "dev",
    ["northstack:exposedSchemas", '"auth"', "internal"],
  ],
  ["host port clash", { apiPort: "8000" }, "dev", ["northstack:apiPort", "8000", "northstack:gatewayPort"]],
  [
    "extra service with an unpinned image",
    { services: '["billing=ghcr.io/acme/billing"]' },
    "dev",
    ["northstack:services", "billing", "has no tag"],
  ],
  [
    "extra service with a reserved name",
    { services: '["kong-2=ghcr.io/acme/x:1.0.0"]' },
    "dev",
    ["northstack:services", '"kong-2"', "reserved"],
  ],
  [
    "unknown exposure",
    { ...cloudBase, exposure: "nodeport" },
    "staging",
    ["northstack:exposure", '"nodeport"', "loadbalancer, ingress"],
  ],
  [
    "an existing VPC without its CIDR",
    { ...cloudBase, vpcId: "vpc-0123", privateSubnetIds: '["a","b"]' },
    "staging",
    ["northstack:vpcCidr", "not set", '"vpc-0123"', "CIDR"],
  ],
  [
    "an existing VPC with an empty CIDR",
    { ...cloudBase, vpcId: "vpc-0123", privateSubnetIds: '["a","b"]', vpcCidr: "" },
    "staging",
    ["northstack:vpcCidr", "not set"],
  ],
  [
    "a short Redis password",
    { redisPassword: "short-but-15chr" },
    "dev",
    ["northstack:redisPassword", "15 chars", "16 to 128"],
  ],
  [
    "a Redis password with @",
    { redisPassword: "sixteen-chars-@-long" },
    "dev",
    ["northstack:redisPassword", '/, " or @', "ElastiCache"],
  ],
  [
    "a Redis password with /",
    { redisPassword: "sixteen-chars-/-long" },
    "dev",
    ["northstack:redisPassword", '/, " or @'],
  ],
  [
    "a Redis password with a space",
    { redisPassword: "sixteen chars long!" },
    "dev",
    ["northstack:redisPassword", "without spaces"],
  ],
  [
    "a Redis password with a quote",
    { redisPassword: "sixteen-chars-'-long" },
    "dev",
    ["northstack:redisPassword", "redis.conf"],
  ],
  [
    "a long Redis password",
    { redisPassword: "x".repeat(129) },
    "dev",
    ["northstack:redisPassword", "129 chars", "16 to 128"],
  ],
  [
    "a short Postgres password",
    { postgresPassword: "7-chars" },
    "dev",
    ["northstack:postgresPassword", "7 chars", "8 to 128"],
  ],
  [
    "a Postgres password with /",
    { postgresPassword: "pass/word" },
    "dev",
    ["northstack:postgresPassword", '/, ", @ or a space', "RDS"],
  ],
  [
    "a Postgres password with a space",
    { postgresPassword: "pass word" },
    "dev",
    ["northstack:postgresPassword", "a space"],
  ],
  [
    "a Postgres password with non-ASCII",
    { postgresPassword: "passwörter" },
    "dev",
    ["northstack:postgresPassword", "printable ASCII"],
  ],
  ["API env without =", { apiEnv: '["LOG_LEVEL"]' }, "dev", ["northstack:apiEnv", '"LOG_LEVEL"', "KEY=value"]],
  [
    "API env with a lower-case name",
    { apiEnv: '["log_level=info"]' },
    "dev",
    ["northstack:apiEnv", '"log_level"', "[A-Z_][A-Z0-9_]*"],
  ],
  ["API env starting with a digit", { apiEnv: '["1X=y"]' }, "dev", ["northstack:apiEnv", '"1X"', "POSIX"]],
  [
    "API env overriding the platform",
    { apiEnv: '["DATABASE_URL=postgres://elsewhere"]' },
    "dev",
    ["northstack:apiEnv", '"DATABASE_URL"', "platform sets", "REDIS_URL, JWT_SECRET"],
  ],
  ["API env listed twice", { apiEnv: '["A=1","A=2"]' }, "dev", ["northstack:apiEnv", '"A"', "listed twice"]],
  [
    "secret API env not a JSON object",
    { apiSecretEnv: '["A=1"]' },
    "dev",
    ["northstack:apiSecretEnv", "[secret]", 'JSON object of string values, like {"KEY":"value"}'],
  ],
  [
    "secret API env with a non-string value",
    { apiSecretEnv: '{"A":1}' },
    "dev",
    ["northstack:apiSecretEnv", "JSON object of string values"],
  ],
  [
    "secret API env overriding the platform",
    { apiSecretEnv: '{"JWT_SECRET":"x"}' },
    "dev",
    ["northstack:apiSecretEnv", '"JWT_SECRET"', "platform sets"],
  ],
  [
    "secret API env with a bad name",
    { apiSecretEnv: '{"my-key":"x"}' },
    "dev",
    ["northstack:apiSecretEnv", '"my-key"', "[A-Z_][A-Z0-9_]*"],
  ],
  [
    "secret API env repeating plain API env",
    { apiEnv: '["LOG_LEVEL=a"]', apiSecretEnv: '{"LOG_LEVEL":"b"}' },
    "dev",
    ["northstack:apiSecretEnv", '"LOG_LEVEL"', "also set in northstack:apiEnv"],
  ],
];

describe("parseConfig rejects bad input with a message naming key, value and what is allowed", () => {
  test.each(badInputs)("%s", (_label, raw, stack, fragments) => {
    const problems = problemsOf(raw, stack);
    const match = problems.find((p) => fragments.every((f) => p.includes(f)));
    expect({ problems, match: match !== undefined }).toEqual({ problems, match: true });
  });

  test("every problem is reported at once", () => {
    const problems = problemsOf({ apiReplicas: "0", cloud: "azure", vpcCidr: "nope" });
    expect(problems.length).toBeGreaterThanOrEqual(3);
  });

  test("secret values are never echoed in messages", () => {
    const problems = problemsOf({
      jwtSecret: "hunter2-very-secret",
      redisPassword: "hunter2/redis",
      postgresPassword: "hunter2 pg",
      apiSecretEnv: '{"PORT":"hunter2-env"}',
      alertWebhookUrl: "http://hunter2.example",
    });
    expect(problems.length).toBe(5);
    expect(problems.join("\n")).not.toContain("hunter2");
    expect(problemsOf({ apiSecretEnv: "{hunter2" }).join("\n")).not.toContain("hunter2");
  });
});

describe("Pulumi.yaml", () => {
  const text = fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8");
  const project = YAML.parse(text);
  const schema = Object.entries(CONFIG_SCHEMA) as [string, ConfigKeySpec][];
  const plainKeys = schema.filter(([, s]) => !s.secret).map(([k]) => k);
  const secretKeys = schema.filter(([, s]) => s.secret).map(([k]) => k);

  test("is what scripts/gen-pulumi-yaml.ts renders from CONFIG_SCHEMA", () => {
    expect(text).toBe(renderPulumiYaml());
  });

  test("types every plain key with its default, so the CLI never finds one missing", () => {
    expect(project.name).toBe("northstack");
    expect(project.runtime.name).toBe("nodejs");
    const declared = project.config as Record<
      string,
      { type: string; items?: { type: string }; default?: unknown; secret?: boolean }
    >;
    expect(Object.keys(declared).sort()).toEqual([...plainKeys].sort());
    for (const [key, spec] of schema.filter(([, s]) => !s.secret)) {
      expect({ key, type: declared[key].type, secret: declared[key].secret }).toEqual({
        key,
        type: spec.type,
        secret: undefined,
      });
      expect({ key, default: declared[key].default }).toEqual({ key, default: spec.default });
      expect({ key, hasDefault: declared[key].default !== undefined && declared[key].default !== null }).toEqual({
        key,
        hasDefault: true,
      });
      if (spec.type === "array")
        expect({ key, items: declared[key].items }).toEqual({ key, items: { type: "string" } });
    }
  });

  test("lists every secret under template.config, secret and without a default (the CLI would refuse one in plain text)", () => {
    expect(secretKeys.sort()).toEqual([
      "alertPagerdutyRoutingKey",
      "alertSlackWebhookUrl",
      "alertSmtpPassword",
      "alertWebhookUrl",
      "apiSecretEnv",
      "backupOffsiteAccessKeyId",
      "backupOffsiteSecretAccessKey",
      "deadMansSwitchUrl",
      "jwtSecret",
      "kubeconfig",
      "postgresPassword",
      "redisPassword",
    ]);
    const template = project.template.config as Record<
      string,
      { description?: string; default?: unknown; secret?: boolean }
    >;
    expect(Object.keys(template).sort()).toEqual(secretKeys.sort());
    for (const key of secretKeys) {
      expect({ key, secret: template[key].secret, default: template[key].default }).toEqual({
        key,
        secret: true,
        default: undefined,
      });
      expect({ key, described: (template[key].description ?? "").length > 10 }).toEqual({ key, described: true });
    }
    // The template section takes only what the project schema allows there.
    expect(Object.keys(project.template).sort()).toEqual(["config", "description"]);
  });
});
