/**
 * The offline plan's config loader applies the Pulumi CLI's project/stack config rules with the
 * CLI's messages: every shipped stack passes them, and synthetic projects that `pulumi up` would
 * refuse fail here too.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CONFIG_SCHEMA, ConfigKeySpec, SECRET_PLACEHOLDER } from "../../components/config";
import { StackConfigError, matchesConfigType, readStackConfig } from "../../scripts/lib/stack-config";

const root = path.resolve(__dirname, "..", "..");

/** A throwaway project directory with the given Pulumi.yaml and stack files. */
const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

function project(pulumiYaml: string, stacks: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-config-"));
  tempDirs.push(dir);
  fs.writeFileSync(path.join(dir, "Pulumi.yaml"), pulumiYaml);
  for (const [stack, text] of Object.entries(stacks)) fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
  return dir;
}

function errorOf(fn: () => unknown): Error | undefined {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  return undefined;
}

const HEAD = "name: demo\nruntime: nodejs\n";

describe("the shipped stacks", () => {
  test.each(["dev", "staging", "prod"])("%s passes the CLI's rules and gets every Pulumi.yaml default", (stack) => {
    const { config, secretKeys } = readStackConfig(root, stack);
    expect(secretKeys).toEqual([]);
    expect(config["northstack:environment"]).toBe("");
    expect(config["northstack:exposedSchemas"]).toBe('["public"]');
    expect(config["northstack:postgresHa"]).toMatch(/^(true|false)$/);
    const plainKeys = (Object.entries(CONFIG_SCHEMA) as [string, ConfigKeySpec][])
      .filter(([, s]) => !s.secret)
      .map(([k]) => `northstack:${k}`);
    expect(
      Object.keys(config)
        .filter((k) => k.startsWith("northstack:"))
        .sort(),
    ).toEqual(plainKeys.sort());
  });

  test("every shipped stack also passes with each override the plan tests use", () => {
    expect(() =>
      readStackConfig(root, "staging", {
        "northstack:cloud": "gcp",
        "northstack:clusterApiAllowCidrs": '["198.51.100.0/24"]',
      }),
    ).not.toThrow();
  });
});

describe("what the Pulumi CLI refuses, the loader refuses with the CLI's message", () => {
  test("a typed key without a default that the stack leaves unset", () => {
    const dir = project(`${HEAD}config:\n  region:\n    type: string\n  size:\n    type: integer\n    default: 1\n`, {
      dev: "config: {}\n",
    });
    const error = errorOf(() => readStackConfig(dir, "dev"));
    expect(error).toBeInstanceOf(StackConfigError);
    expect(error?.message).toBe("Stack 'dev' is missing configuration value 'region'");
  });

  test("several missing keys are named together, sorted", () => {
    const dir = project(
      `${HEAD}config:\n  zeta:\n    type: string\n  alpha:\n    type: string\n  mid:\n    type: boolean\n`,
      { dev: "" },
    );
    expect(errorOf(() => readStackConfig(dir, "dev"))?.message).toBe(
      "Stack 'dev' is missing configuration values 'alpha', 'mid' and 'zeta'",
    );
  });

  test("a missing key passes once the stack sets it, or once it has a default", () => {
    const withValue = project(`${HEAD}config:\n  region:\n    type: string\n`, {
      dev: "config:\n  demo:region: ca-central-1\n",
    });
    expect(readStackConfig(withValue, "dev").config["demo:region"]).toBe("ca-central-1");
    const withDefault = project(`${HEAD}config:\n  region:\n    type: string\n    default: ""\n`, { dev: "" });
    expect(readStackConfig(withDefault, "dev").config["demo:region"]).toBe("");
  });

  test("a typed secret key given in plain text", () => {
    const dir = project(`${HEAD}config:\n  token:\n    type: string\n    secret: true\n`, {
      dev: "config:\n  demo:token: hunter2\n",
    });
    expect(errorOf(() => readStackConfig(dir, "dev"))?.message).toBe(
      "Stack 'dev' with configuration key 'token' must be encrypted as it's secret; set it with: pulumi config set --secret demo:token",
    );
  });

  test("a typed secret key with a default: the default is applied in plain text", () => {
    const dir = project(`${HEAD}config:\n  token:\n    type: string\n    secret: true\n    default: changeme\n`, {
      dev: "",
    });
    expect(errorOf(() => readStackConfig(dir, "dev"))?.message).toBe(
      "Stack 'dev' with configuration key 'token' must be encrypted as it's secret; set it with: pulumi config set --secret demo:token",
    );
  });

  test("a typed secret key given encrypted passes, as a placeholder", () => {
    const dir = project(`${HEAD}config:\n  token:\n    type: string\n    secret: true\n`, {
      dev: "config:\n  demo:token:\n    secure: v1:abc\n",
    });
    const { config, secretKeys } = readStackConfig(dir, "dev");
    expect(config["demo:token"]).toBe(`${SECRET_PLACEHOLDER}demo:token`);
    expect(secretKeys).toEqual(["demo:token"]);
  });

  test.each([
    ["integer", "two", "integer", '"two"', "a whole number"],
    ["boolean", "yes", "boolean", '"yes"', "true or false"],
    [
      "array\n    items:\n      type: string",
      "just-a-string",
      "array<string>",
      '"just-a-string"',
      "a YAML list of string values",
    ],
    [
      "array\n    items:\n      type: string",
      "\n    - 1\n    - 2",
      "array<string>",
      "[1,2]",
      "a YAML list of string values",
    ],
    ["string", "\n    - a", "string", '["a"]', "a single string"],
  ])(
    "a stack value of the wrong type (%s) keeps the CLI's words and adds the value and what is allowed",
    (type, value, typeName, shown, allowed) => {
      const dir = project(`${HEAD}config:\n  key:\n    type: ${type}\n`, { dev: `config:\n  demo:key: ${value}\n` });
      const message = errorOf(() => readStackConfig(dir, "dev"))?.message ?? "";
      expect(
        message.startsWith(
          `Stack 'dev' with configuration key 'key' must be of type '${typeName}': got ${shown}; allowed: ${allowed}`,
        ),
      ).toBe(true);
    },
  );

  test.each([
    [
      "both a default and a value",
      "key:\n    type: string\n    default: a\n    value: b",
      "project config 'key' cannot have both a 'default' and 'value' attribute",
    ],
    [
      "an array without items",
      "key:\n    type: array\n    default: []",
      "The configuration key 'key' declares an array but does not specify the underlying type via the 'items' attribute",
    ],
    [
      "a default of the wrong type",
      "key:\n    type: integer\n    default: many",
      "The default value specified for configuration key 'key' is not of the expected type 'integer'",
    ],
    [
      "a type on another namespace's key",
      "aws:region:\n    type: string\n    value: ca-central-1",
      "Configuration key 'aws:region' is not namespaced by the project and should not define a type",
    ],
    [
      "a default on another namespace's key",
      "aws:region:\n    default: ca-central-1",
      "Configuration key 'aws:region' is not namespaced by the project and should not define a default value. Did you mean to use the 'value' attribute instead of 'default'?",
    ],
  ])("Pulumi.yaml with %s", (_label, decl, message) => {
    const dir = project(`${HEAD}config:\n  ${decl}\n`, { dev: "" });
    expect(errorOf(() => readStackConfig(dir, "dev"))?.message).toBe(message);
  });

  test("a stack key without a namespace", () => {
    const dir = project(HEAD, { dev: "config:\n  region: ca-central-1\n" });
    expect(errorOf(() => readStackConfig(dir, "dev"))?.message).toContain(
      "could not parse region as a configuration key",
    );
  });
});

describe("what the CLI hands the program", () => {
  const pulumiYaml = `${HEAD}config:
  size:
    type: integer
    default: 2
  tags:
    type: array
    items:
      type: string
    default: [a, b]
  aws:region: ca-central-1
  label: shorthand
template:
  config:
    apiKey:
      description: optional secret
      secret: true
`;

  test("defaults, shorthand defaults and other namespaces' values fill what the stack leaves unset", () => {
    const { config } = readStackConfig(project(pulumiYaml, { dev: "" }), "dev");
    expect(config).toEqual({
      "demo:size": "2",
      "demo:tags": '["a","b"]',
      "aws:region": "ca-central-1",
      "demo:label": "shorthand",
    });
  });

  test("stack scalars are passed as written, lists as JSON, and stack values win over defaults", () => {
    const { config } = readStackConfig(
      project(pulumiYaml, { dev: "config:\n  demo:size: 05\n  demo:tags:\n    - x\n  aws:region: ca-west-1\n" }),
      "dev",
    );
    expect(config).toMatchObject({ "demo:size": "05", "demo:tags": '["x"]', "aws:region": "ca-west-1" });
  });

  test("untyped secrets (template.config) are optional; encrypted leaves of an object become placeholders", () => {
    const dir = project(pulumiYaml, {
      dev: "config:\n  demo:apiKey:\n    STRIPE:\n      secure: v1:xyz\n    PLAIN: visible\n",
    });
    const { config, secretKeys } = readStackConfig(dir, "dev");
    expect(JSON.parse(config["demo:apiKey"])).toEqual({ STRIPE: `${SECRET_PLACEHOLDER}demo:apiKey`, PLAIN: "visible" });
    expect(secretKeys).toEqual(["demo:apiKey"]);
    expect(readStackConfig(project(pulumiYaml, { dev: "" }), "dev").config["demo:apiKey"]).toBeUndefined();
  });

  test("an override of a key declared secret stands for `pulumi config set --secret`; a JSON list for `--json`", () => {
    const typedSecret = project(
      `${HEAD}config:\n  token:\n    type: string\n    secret: true\n  tags:\n    type: array\n    items:\n      type: string\n`,
      { dev: "" },
    );
    const { config, secretKeys } = readStackConfig(typedSecret, "dev", {
      token: "given-on-the-command-line",
      "demo:tags": '["x","y"]',
    });
    expect(config["demo:token"]).toBe("given-on-the-command-line");
    expect(secretKeys).toEqual(["demo:token"]);
    expect(readStackConfig(project(pulumiYaml, { dev: "" }), "dev", { apiKey: '{"A":"b"}' }).secretKeys).toEqual([
      "demo:apiKey",
    ]);
  });

  test("an unknown stack names the known ones", () => {
    expect(errorOf(() => readStackConfig(root, "qa"))?.message).toBe(
      'stack "qa" has no Pulumi.qa.yaml; known stacks: dev, prod, staging',
    );
  });
});

test.each([
  ["integer", undefined, "12", true],
  ["integer", undefined, "-3", true],
  ["integer", undefined, "1.5", false],
  ["integer", undefined, 4, true],
  ["boolean", undefined, "true", true],
  ["boolean", undefined, "True", false],
  ["array", { type: "string" }, ["a"], true],
  ["array", undefined, ["a"], false],
  ["object", undefined, { a: "b" }, true],
  ["object", undefined, ["a"], false],
])("matchesConfigType(%s, %j, %j) is %s", (type, items, value, expected) => {
  expect(matchesConfigType(type, items, value)).toBe(expected);
});

describe("stack-file mistakes are reported at once, naming the file, the key, the value and what is allowed", () => {
  test("three bad values in the real project: every one reported, each with its value and the schema's range", () => {
    const error = errorOf(() =>
      readStackConfig(root, "staging", {
        "northstack:apiReplicas": "1.5",
        "northstack:postgresHa": "yes",
        "northstack:apiMaxReplicas": "many",
      }),
    );
    expect(error).toBeInstanceOf(StackConfigError);
    const problems = (error as StackConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems).toContain(
      "Stack 'staging' with configuration key 'apiReplicas' must be of type 'integer': got \"1.5\"; allowed: a whole number from 1 to 100",
    );
    expect(problems).toContain(
      "Stack 'staging' with configuration key 'postgresHa' must be of type 'boolean': got \"yes\"; allowed: true or false",
    );
    expect(problems.some((p) => p.includes("'apiMaxReplicas'") && p.includes('"many"'))).toBe(true);
  });

  test("a long bad value is cut in the message", () => {
    const message =
      errorOf(() => readStackConfig(root, "staging", { "northstack:apiReplicas": "9".repeat(5000) + "x" }))?.message ??
      "";
    expect(message.length).toBeLessThan(300);
    expect(message).toContain("(5003 chars)");
  });

  test("a YAML syntax error names the stack file", () => {
    const dir = project(HEAD, { dev: "config:\n  demo:a: [unclosed\n" });
    expect(errorOf(() => readStackConfig(dir, "dev"))?.message).toMatch(
      /^Pulumi\.dev\.yaml: .*at line \d+, column \d+; fix the YAML syntax there$/,
    );
  });

  test("config written as a list says so, instead of 'could not parse 0 as a configuration key'", () => {
    const dir = project(HEAD, { dev: "config:\n  - demo:a: 1\n" });
    const message = errorOf(() => readStackConfig(dir, "dev"))?.message ?? "";
    expect(message).toContain("Pulumi.dev.yaml: 'config:' must be a mapping");
    expect(message).toContain("not a list");
    expect(message).not.toContain("could not parse 0");
  });

  test("a path instead of a stack name points at the stack name to use", () => {
    expect(errorOf(() => readStackConfig(root, "../Pulumi"))?.message).toMatch(
      /^stack "\.\.\/Pulumi" is not a stack name .*known stacks: .*dev/,
    );
    expect(errorOf(() => readStackConfig(root, "./Pulumi.prod.yaml"))?.message).toContain("pass its stack name: prod");
  });

  test("a secret declared under template.config but written in plain text is refused, without echoing it", () => {
    const dir = project(`${HEAD}template:\n  config:\n    demo:jwtSecret:\n      secret: true\n`, {
      dev: "config:\n  demo:jwtSecret: super-secret-value-of-32-characters\n",
    });
    const message = errorOf(() => readStackConfig(dir, "dev"))?.message ?? "";
    expect(message).toContain("demo:jwtSecret: [secret of 35 chars] is written in plain text in Pulumi.dev.yaml");
    expect(message).toContain("pulumi config set --secret demo:jwtSecret");
    expect(message).not.toContain("super-secret");
  });
});
