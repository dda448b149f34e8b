/** The pack as a whole: its shape, its config files, exemptions, and the evaluation harness. */
import * as fs from "fs";
import * as path from "path";
import { ResourceValidationPolicy } from "@pulumi/policy";
import { CANADIAN_REGIONS } from "../../components/config";
import {
  enforcementLevelOf,
  evaluatePolicies,
  policyConfigOf,
  resourceArgs,
  runResourcePolicy,
  validatePolicyPackConfig,
} from "../../policy/evaluate";
import {
  PACK_ENFORCEMENT_LEVEL,
  POLICY_NAMES,
  containersRunAsNonRoot,
  dataResidencyCanada,
  policies,
} from "../../policy/policies";
import { UNKNOWN, finding, policyOwningUnknownName, withExemptions } from "../../policy/lib/framework";
import { UNKNOWN_MARK } from "../../scripts/lib/mock-program";
import { plannedResource } from "../../scripts/lib/planned-resource";
import { deployment, dockerContainer, podSpec } from "./fixtures";

const POLICY_DIR = path.resolve(__dirname, "..", "..", "policy");
const readConfig = (stack: string) =>
  JSON.parse(fs.readFileSync(path.join(POLICY_DIR, `config.${stack}.json`), "utf8")) as Record<string, unknown>;

const planned = (type: string, name: string, inputs: Record<string, unknown>, provider: string | null = null) =>
  plannedResource("test", type, name, inputs, { provider });

describe("the pack", () => {
  test("has exactly the ten policies of the issues, each described with remediation steps", () => {
    expect(policies.map((p) => p.name)).toEqual([
      "containers-run-as-non-root",
      "containers-least-privilege",
      "postgres-rls-required",
      "data-residency-canada",
      "images-pinned",
      "images-by-digest",
      "encryption-at-rest-and-in-transit",
      "no-public-data-services",
      "backups-and-deletion-protection",
      "workloads-have-limits-and-probes",
    ]);
    for (const p of policies) {
      expect({
        p: p.name,
        description: p.description.length > 40,
        remediation: (p.remediationSteps ?? "").length > 40,
      }).toEqual({ p: p.name, description: true, remediation: true });
    }
  });

  test("only policy/index.ts constructs the PolicyPack; the pack needs no second copy of @pulumi/pulumi", () => {
    const sources = (dir: string): string[] =>
      fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((e) =>
          e.isDirectory()
            ? e.name === "node_modules"
              ? []
              : sources(path.join(dir, e.name))
            : e.name.endsWith(".ts")
              ? [path.join(dir, e.name)]
              : [],
        );
    const constructing = sources(POLICY_DIR).filter((f) => fs.readFileSync(f, "utf8").includes("new PolicyPack("));
    expect(constructing.map((f) => path.relative(POLICY_DIR, f))).toEqual(["index.ts"]);
    const pkg = JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "package.json"), "utf8"));
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(fs.readFileSync(path.join(POLICY_DIR, "PulumiPolicy.yaml"), "utf8")).toMatch(/^runtime: nodejs$/m);
  });

  test("configSchema defaults carry the Canadian regions and the exposed schemas", () => {
    const residency = dataResidencyCanada.configSchema?.properties;
    expect(residency?.allowedAwsRegions.default).toEqual(CANADIAN_REGIONS.aws.allowed);
    expect(residency?.allowedGcpRegions.default).toEqual(CANADIAN_REGIONS.gcp.allowed);
    const rls = policies.find((p) => p.name === "postgres-rls-required");
    expect(rls?.configSchema?.properties.exposedSchemas.default).toEqual(["public"]);
  });

  test("policies spell unknown values the way the offline plan prints them", () => {
    expect(UNKNOWN).toBe(UNKNOWN_MARK);
  });
});

describe("per-stack config files", () => {
  test.each([
    ["dev", "advisory", false],
    ["staging", "mandatory", false],
    ["prod", "mandatory", true],
  ])("config.%s.json is valid, at level %s", (stack, level, production) => {
    const doc = readConfig(stack);
    expect(() => validatePolicyPackConfig(doc)).not.toThrow();
    // A tag without a digest is advice on every stack: pinned tags stay allowed.
    for (const p of policies)
      expect(enforcementLevelOf(p, doc)).toBe(p.name === "images-by-digest" ? "advisory" : level);
    expect(policyConfigOf(dataResidencyCanada, doc)).toEqual({
      allowedAwsRegions: CANADIAN_REGIONS.aws.allowed,
      allowedGcpRegions: CANADIAN_REGIONS.gcp.allowed,
    });
    const backups = policies.find((p) => p.name === "backups-and-deletion-protection");
    expect(backups && policyConfigOf(backups, doc).requireDeletionProtection).toBe(production);
  });

  test("validation names every problem: unknown policies and properties, bad levels and types", () => {
    const bad = {
      all: "strict",
      "no-such-policy": "advisory",
      "data-residency-canada": { allowedAwsRegions: "ca-central-1", colour: "red" },
    };
    expect(() => validatePolicyPackConfig(bad)).toThrow(
      /all: enforcement level "strict"[\s\S]*no-such-policy: no such policy[\s\S]*allowedAwsRegions: "ca-central-1" must be array[\s\S]*colour: unknown property/,
    );
  });

  test("levels resolve per policy, then all, then the pack default", () => {
    expect(enforcementLevelOf(containersRunAsNonRoot, {})).toBe(PACK_ENFORCEMENT_LEVEL);
    expect(enforcementLevelOf(containersRunAsNonRoot, { all: "advisory" })).toBe("advisory");
    expect(
      enforcementLevelOf(containersRunAsNonRoot, {
        all: "advisory",
        "containers-run-as-non-root": { enforcementLevel: "mandatory" },
      }),
    ).toBe("mandatory");
    expect(enforcementLevelOf(containersRunAsNonRoot, { "containers-run-as-non-root": "disabled" })).toBe("disabled");
  });
});

describe("exemptions", () => {
  const rootContainer = (labels: Record<string, string>) =>
    planned("docker:index/container:Container", "legacy", {
      ...dockerContainer().props,
      user: "0:0",
      labels: Object.entries(labels).map(([label, value]) => ({ label, value })),
    });
  const only = [containersRunAsNonRoot];

  test("an exemption with a reason turns the finding into an advisory violation naming the reason", async () => {
    const found = await evaluatePolicies(
      [
        rootContainer({
          "northstack.io/policy-exempt": "containers-run-as-non-root",
          "northstack.io/policy-exempt-reason": "vendor image needs root; ticket OPS-12",
        }),
      ],
      {
        stack: "test",
        policyConfig: { all: "mandatory" },
        policies: only,
      },
    );
    expect(found).toEqual([
      {
        policy: "containers-run-as-non-root",
        enforcementLevel: "advisory",
        urn: expect.stringContaining("legacy"),
        message: expect.stringMatching(
          /exempt from containers-run-as-non-root \(reason: "vendor image needs root; ticket OPS-12"\); suppressed finding: .*user "0:0" is root/,
        ),
      },
    ]);
  });

  test("an exemption without a reason is itself a violation at the policy's level, and the finding stands", async () => {
    const found = await evaluatePolicies(
      [rootContainer({ "northstack.io/policy-exempt": "containers-run-as-non-root" })],
      { stack: "test", policyConfig: { all: "mandatory" }, policies: only },
    );
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      [
        "mandatory",
        expect.stringContaining("without northstack.io/policy-exempt-reason, so the exemption is not honoured"),
      ],
      ["mandatory", expect.stringContaining('user "0:0" is root')],
    ]);
  });

  test("an exemption is never silent, even with nothing to suppress", async () => {
    const input = deployment(podSpec(), {
      name: "api",
      annotations: {
        "northstack.io/policy-exempt": "images-pinned, containers-run-as-non-root",
        "northstack.io/policy-exempt-reason": "migration window",
      },
    });
    const args = resourceArgs(input);
    const result = await runResourcePolicy(containersRunAsNonRoot, args);
    expect(result).toEqual([
      { message: 'exempt from containers-run-as-non-root (reason: "migration window")', enforcementLevel: "advisory" },
    ]);
  });

  test("an exemption may sit on the pod template", async () => {
    const spec = podSpec({ securityContext: { runAsNonRoot: true, runAsUser: 0 } });
    const input = deployment(spec);
    const template = (input.props.spec as { template: { metadata: Record<string, unknown> } }).template;
    template.metadata = {
      annotations: {
        "northstack.io/policy-exempt": "containers-run-as-non-root",
        "northstack.io/policy-exempt-reason": "init needs root",
      },
    };
    expect(await runResourcePolicy(containersRunAsNonRoot, resourceArgs(input))).toEqual([
      expect.objectContaining({ enforcementLevel: "advisory", message: expect.stringContaining("suppressed finding") }),
    ]);
  });

  test("an exemption naming no policy of the pack (a typo, or all) is itself a violation, reported once, naming the known policies", async () => {
    const typo = rootContainer({
      "northstack.io/policy-exempt": "containers-run-as-non-roo",
      "northstack.io/policy-exempt-reason": "vendor image",
    });
    const found = await evaluatePolicies([typo], { stack: "test", policyConfig: { all: "mandatory" } });
    expect(found.map((v) => [v.policy, v.enforcementLevel, v.message])).toEqual([
      [
        "containers-run-as-non-root",
        "mandatory",
        `legacy: declares northstack.io/policy-exempt: containers-run-as-non-roo, which is not a policy of this pack, so nothing is exempted; fix: name one or more of ${POLICY_NAMES.join(", ")}.`,
      ],
      ["containers-run-as-non-root", "mandatory", expect.stringContaining('user "0:0" is root')],
    ]);
    const all = await evaluatePolicies(
      [rootContainer({ "northstack.io/policy-exempt": "all", "northstack.io/policy-exempt-reason": "x" })],
      { stack: "test", policyConfig: { all: "mandatory" } },
    );
    expect(all.filter((v) => v.message.includes("not a policy of this pack"))).toHaveLength(1);
    expect(POLICY_NAMES).toContain(policyOwningUnknownName("all", POLICY_NAMES));
  });

  test("an exemption for another policy changes nothing", async () => {
    const found = await evaluatePolicies(
      [rootContainer({ "northstack.io/policy-exempt": "images-pinned", "northstack.io/policy-exempt-reason": "x" })],
      { stack: "test", policyConfig: { all: "mandatory" }, policies: only },
    );
    expect(found).toEqual([
      expect.objectContaining({ enforcementLevel: "mandatory", message: expect.stringContaining("is root") }),
    ]);
  });

  test("exemptions (here an AWS tag) apply to stack-level findings by URN too", async () => {
    const bucket = planned("aws:s3/bucket:Bucket", "public-site", {
      bucket: "site",
      region: "ca-central-1",
      tags: {
        "northstack.io/policy-exempt": "no-public-data-services",
        "northstack.io/policy-exempt-reason": "static website",
      },
    });
    const found = await evaluatePolicies([bucket], {
      stack: "test",
      config: { "aws:region": "ca-central-1" },
      policyConfig: { all: "mandatory" },
      policies: policies.filter((p) => p.name === "no-public-data-services"),
    });
    expect(found.map((v) => [v.enforcementLevel, v.message])).toEqual([
      ["advisory", 'exempt from no-public-data-services (reason: "static website")'],
      [
        "advisory",
        expect.stringContaining("suppressed finding: S3 bucket public-site: has no BucketPublicAccessBlock"),
      ],
    ]);
  });
});

describe("the harness", () => {
  test("default providers come from the stack config; none configured is cannot verify", async () => {
    const bucket = planned("aws:s3/bucket:Bucket", "b", { bucket: "b" });
    const run = (config: Record<string, string>) =>
      evaluatePolicies([bucket], { stack: "test", config, policies: [dataResidencyCanada] });
    expect(await run({ "aws:region": "ca-central-1" })).toEqual([]);
    expect(await run({ "aws:region": "us-east-1" })).toEqual([
      {
        policy: "data-residency-canada",
        enforcementLevel: "mandatory",
        urn: "urn:pulumi:test::northstack::pulumi:providers:aws::default",
        message: expect.stringContaining('region "us-east-1" is outside'),
      },
    ]);
    expect(await run({})).toEqual([
      expect.objectContaining({
        message: expect.stringContaining(
          "has no region configured, so that the data stays in Canada cannot be verified",
        ),
      }),
    ]);
  });

  test("explicit providers are resolved from urn::id references and handed to policies", async () => {
    const seen: unknown[] = [];
    const spy: ResourceValidationPolicy = withExemptions({
      name: "spy",
      description: "records providers",
      validateResource: (args) => void seen.push(args.provider?.props.region),
    });
    const provider = planned("pulumi:providers:aws", "dr", { region: "ca-west-1" });
    await evaluatePolicies([provider, planned("aws:s3/bucket:Bucket", "b", {}, `${provider.urn}::dr-id`)], {
      stack: "test",
      policies: [spy],
    });
    expect(seen).toEqual([undefined, "ca-west-1"]);
  });

  test("disabled policies do not run; remediate reports as mandatory", async () => {
    const root = planned("docker:index/container:Container", "c", { ...dockerContainer().props, user: "root" });
    expect(
      await evaluatePolicies([root], {
        stack: "test",
        policyConfig: { "containers-run-as-non-root": "disabled" },
        policies: [containersRunAsNonRoot],
      }),
    ).toEqual([]);
    const remediate = await evaluatePolicies([root], {
      stack: "test",
      policyConfig: { "containers-run-as-non-root": "remediate" },
      policies: [containersRunAsNonRoot],
    });
    expect(remediate.map((v) => v.enforcementLevel)).toEqual(["mandatory"]);
  });

  test("args carry notApplicable, stackTags, getConfig and isType like CrossGuard's", async () => {
    class Bucket {
      static __pulumiType = "aws:s3/bucket:Bucket";
    }
    const probe: ResourceValidationPolicy = {
      name: "probe",
      description: "inspects its args",
      validateResource: (args, report) => {
        if (!args.isType(Bucket as never)) args.notApplicable("only buckets");
        report(
          `${args.stackTags.get("environment")} ${JSON.stringify(args.getConfig())} ${JSON.stringify(args.asType(Bucket as never))}`,
        );
      },
    };
    expect(
      await runResourcePolicy(
        probe,
        resourceArgs(
          { type: "aws:s3/bucket:Bucket", props: { bucket: "x" } },
          { stackTags: { environment: "prod" }, config: { n: 1 } },
        ),
      ),
    ).toEqual([{ message: 'prod {"n":1} {"bucket":"x"}', urn: undefined }]);
    expect(await runResourcePolicy(probe, resourceArgs({ type: "aws:s3/bucketV2:BucketV2", props: {} }))).toEqual({
      notApplicable: "only buckets",
    });
  });

  test("props reach policies behind CrossGuard's unknown-checking proxy: a raw read of an unknown is an advisory 'can't run'", async () => {
    const raw: ResourceValidationPolicy = {
      name: "raw",
      description: "reads props directly",
      validateResource: (args) => void String(args.props.region),
    };
    expect(
      await runResourcePolicy(raw, resourceArgs({ type: "aws:s3/bucket:Bucket", props: { region: "[unknown]" } })),
    ).toEqual([
      {
        message: expect.stringMatching(
          /can't run policy raw during preview: string value at .region can't be known during preview/,
        ),
        enforcementLevel: "advisory",
      },
    ]);
    const wrapped = withExemptions({
      ...raw,
      validateResource: (args, report) => report("b", finding(String(args.props.region), "none")),
    });
    expect(
      await runResourcePolicy(wrapped, resourceArgs({ type: "aws:s3/bucket:Bucket", props: { region: "[unknown]" } })),
    ).toEqual([{ message: `b: ${UNKNOWN}; fix: none.`, urn: undefined }]);
  });
});
