import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { CONFIG_SCHEMA, ConfigError, checkCidr, checkPinnedImage, parseConfig } from "../../components/config";

const root = path.resolve(__dirname, "..", "..");
const ns = (o: Record<string, string>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k.includes(":") ? k : `northstack:${k}`, v]));
const cloudBase = { cloud: "aws", apiImage: "ghcr.io/northstack/api:0.1.0", cluster: "managed" };
const prodBase = { ...cloudBase, postgresHa: "true", redisHa: "true", deletionProtection: "true" };

function problemsOf(raw: Record<string, string>, stack = "dev"): string[] {
  try {
    parseConfig(ns(raw), stack);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  return [];
}

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
  test("an existing cluster with a kubeconfig", () => {
    const cfg = parseConfig(ns({ ...cloudBase, cluster: "existing", kubeconfig: "apiVersion: v1\nclusters: []", eksClusterName: "team-eks" }), "staging");
    expect(cfg.kubernetes.cluster).toBe("existing");
    expect(cfg.secrets.kubeconfig).toContain("apiVersion");
  });
});

// Each case: the raw config, the stack, and fragments the single message must contain: the key,
// the value and what is allowed.
const badInputs: [string, Record<string, string>, string, string[]][] = [
  ["region outside Canada", { ...cloudBase, region: "us-east-1" }, "staging", ["northstack:region", '"us-east-1"', "ca-central-1, ca-west-1"]],
  ["GCS multi-region as region", { ...cloudBase, cloud: "gcp", region: "NAM4" }, "staging", ["northstack:region", '"NAM4"', "northamerica-northeast1"]],
  ["DR region outside Canada", { ...cloudBase, drRegion: "us-west-2" }, "staging", ["northstack:drRegion", '"us-west-2"', "allowed aws regions"]],
  ["unknown cloud", { cloud: "azure" }, "dev", ["northstack:cloud", '"azure"', "local, aws, gcp"]],
  ["replicas 0", { apiReplicas: "0" }, "dev", ["northstack:apiReplicas", "0", "minimum 1"]],
  ["negative size", { postgresStorageGb: "-5" }, "dev", ["northstack:postgresStorageGb", "-5", "minimum 10"]],
  ["negative memory", { redisMemoryMb: "-1" }, "dev", ["northstack:redisMemoryMb", "-1", "minimum 32"]],
  ["malformed CIDR", { adminAllowCidrs: '["10.0.0.0/33"]' }, "dev", ["northstack:adminAllowCidrs", "10.0.0.0/33", "prefix length above 32"]],
  ["CIDR with host bits", { vpcCidr: "10.40.0.1/16" }, "dev", ["northstack:vpcCidr", "10.40.0.1/16", "host bits"]],
  ["image tagged latest", { ...cloudBase, apiImage: "ghcr.io/northstack/api:latest" }, "staging", ["northstack:apiImage", "api:latest", "pin a version tag"]],
  ["untagged image", { ...cloudBase, apiImage: "ghcr.io/northstack/api" }, "staging", ["northstack:apiImage", "has no tag"]],
  ["missing kubeconfig on a cloud stack", { ...cloudBase, cluster: "existing" }, "staging", ["northstack:kubeconfig", "missing", "pulumi config set --secret"]],
  ["unknown key", { apiReplica: "2" }, "dev", ["northstack:apiReplica", '"2"', "did you mean northstack:apiReplicas"]],
  ["wrong type", { apiReplicas: "three" }, "dev", ["northstack:apiReplicas", '"three"', "not an integer"]],
  ["wrong boolean", { supabaseAuth: "yes" }, "dev", ["northstack:supabaseAuth", '"yes"', "true or false"]],
  ["list given as a string", { corsOrigins: "https://app.example.ca" }, "dev", ["northstack:corsOrigins", "not a list of strings"]],
  ["wildcard CORS", { corsOrigins: '["*"]' }, "dev", ["northstack:corsOrigins", '"*"', "list the origins"]],
  ["admin route open to the world", { adminAllowCidrs: '["0.0.0.0/0"]' }, "dev", ["northstack:adminAllowCidrs", "0.0.0.0/0", "narrower"]],
  ["cluster API open to the world", { clusterApiAllowCidrs: '["0.0.0.0/0"]' }, "dev", ["northstack:clusterApiAllowCidrs", "0.0.0.0/0", "narrower"]],
  ["malformed cluster API CIDR", { clusterApiAllowCidrs: '["198.51.100.0"]' }, "dev", ["northstack:clusterApiAllowCidrs", "198.51.100.0"]],
  ["HA off in prod", { ...prodBase, postgresHa: "false" }, "prod", ["northstack:postgresHa", "false", "prod"]],
  ["short retention in prod", { ...prodBase, backupRetentionDays: "3" }, "prod", ["northstack:backupRetentionDays", "3", "7"]],
  ["cloud services on dev", { cloud: "aws" }, "dev", ["northstack:cloud", '"aws"', '"local"']],
  ["local on staging", { cloud: "local", apiImage: "a/b:1" }, "staging", ["northstack:cloud", '"local"', '"aws" or "gcp"']],
  ["max below min replicas", { apiReplicas: "4", apiMaxReplicas: "2" }, "dev", ["northstack:apiMaxReplicas", "2", "at least"]],
  ["short JWT secret", { jwtSecret: "tooshort" }, "dev", ["northstack:jwtSecret", "at least 32"]],
  ["kubeconfig path instead of content", { ...cloudBase, cluster: "existing", kubeconfig: "~/.kube/config" }, "staging", ["northstack:kubeconfig", "not its path"]],
  ["unknown environment name", {}, "qa", ["northstack:environment", '"qa"', "dev, staging, prod"]],
  ["exposing an internal schema", { exposedSchemas: '["public","auth"]' }, "dev", ["northstack:exposedSchemas", '"auth"', "internal"]],
  ["host port clash", { apiPort: "8000" }, "dev", ["northstack:apiPort", "8000", "northstack:gatewayPort"]],
  ["extra service with an unpinned image", { services: '["billing=ghcr.io/acme/billing"]' }, "dev", ["northstack:services", "billing", "has no tag"]],
  ["extra service with a reserved name", { services: '["kong-2=ghcr.io/acme/x:1.0.0"]' }, "dev", ["northstack:services", '"kong-2"', "reserved"]],
  ["unknown exposure", { ...cloudBase, exposure: "nodeport" }, "staging", ["northstack:exposure", '"nodeport"', "loadbalancer, ingress"]],
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
    const problems = problemsOf({ jwtSecret: "hunter2-very-secret" });
    expect(problems.join("\n")).not.toContain("hunter2");
  });
});

describe("pure validators", () => {
  test.each([
    ["postgres:15.8-bookworm", undefined],
    ["ghcr.io/org/app@sha256:" + "a".repeat(64), undefined],
    ["localhost:5000/app:1.2.3", undefined],
    ["redis", "has no tag"],
    ["redis:latest", "latest"],
    ["Bad Image:1", "not a valid image reference"],
  ])("checkPinnedImage(%s)", (ref, fragment) => {
    const problem = checkPinnedImage(ref);
    if (fragment === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(fragment);
  });

  test.each([
    ["10.0.0.0/8", undefined],
    ["0.0.0.0/0", undefined],
    ["192.168.1.0/24", undefined],
    ["256.0.0.0/8", "octet"],
    ["10.0.0.0", "not an IPv4 CIDR"],
    ["10.0.0.5/24", "host bits"],
  ])("checkCidr(%s)", (cidr, fragment) => {
    const problem = checkCidr(cidr);
    if (fragment === undefined) expect(problem).toBeUndefined();
    else expect(problem).toContain(fragment);
  });
});

test("Pulumi.yaml declares exactly the schema's keys, types, defaults and secrets", () => {
  const project = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8"));
  expect(project.name).toBe("northstack");
  expect(project.runtime.name).toBe("nodejs");
  const declared = project.config as Record<string, { type: string; default?: unknown; secret?: boolean }>;
  expect(Object.keys(declared).sort()).toEqual(Object.keys(CONFIG_SCHEMA).sort());
  for (const [key, spec] of Object.entries(CONFIG_SCHEMA)) {
    expect({ key, type: declared[key].type }).toEqual({ key, type: spec.type });
    expect({ key, default: declared[key].default }).toEqual({ key, default: "default" in spec ? spec.default : undefined });
    expect({ key, secret: declared[key].secret ?? false }).toEqual({ key, secret: "secret" in spec ? spec.secret : false });
  }
});
