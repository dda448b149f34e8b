/**
 * Runs the pack without the Pulumi CLI: builds the same ResourceValidationArgs / StackValidationArgs
 * the CrossGuard server builds (props behind @pulumi/policy's unknown-checking proxy, provider,
 * stackTags, getConfig from a `--policy-pack-config` document, notApplicable) from plain data, and
 * evaluates every policy over the resources of an offline plan. Used by `npm run plan`, the
 * benchmark and the tests.
 */
import {
  EnforcementLevel,
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidationArgs,
  StackValidationArgs,
  UnknownValueError,
  unknownCheckingProxy,
} from "@pulumi/policy";
import type { PlannedResource } from "../scripts/lib/mock-program";
import { UNKNOWN } from "./lib/framework";
import { NorthstackPolicy, PACK_ENFORCEMENT_LEVEL, policies as packPolicies } from "./policies";

export interface PolicyViolation {
  readonly policy: string;
  readonly enforcementLevel: EnforcementLevel;
  /** The resource in violation, or null for the stack as a whole. */
  readonly urn: string | null;
  readonly message: string;
}

/** A `--policy-pack-config` document: `all` and per-policy levels, and per-policy properties. */
export type PolicyPackConfigDocument = Record<string, unknown>;

type ResourceClass = { new (...rest: never[]): unknown; __pulumiType?: string };
type Tags = ReadonlyMap<string, string> | Record<string, string>;

const ENFORCEMENT_LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];
/** The string @pulumi/policy uses for an unknown string; its proxy throws on reading one. */
const UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

class NotApplicableError extends Error {
  constructor(readonly reason?: string) {
    super(reason ?? "not applicable");
  }
}

const toMap = (tags: Tags | undefined): ReadonlyMap<string, string> =>
  tags instanceof Map ? tags : new Map(Object.entries((tags as Record<string, string> | undefined) ?? {}));

const emptyOptions = (parent?: string): PolicyResourceOptions => ({
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
  parent,
});

function toSentinels(value: unknown): unknown {
  if (value === UNKNOWN) return UNKNOWN_SENTINEL;
  if (Array.isArray(value)) return value.map(toSentinels);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toSentinels(v)]));
  return value;
}

/** Props as the CrossGuard server hands them over: unknowns as sentinels behind the checking proxy. */
export function asServerProps(props: Record<string, unknown>): Record<string, unknown> {
  return unknownCheckingProxy(toSentinels(props) as Record<string, unknown>);
}

const isTypeFn = (type: string) => (resourceClass: ResourceClass) => resourceClass.__pulumiType === type;

export interface ResourceInput {
  readonly type: string;
  /** Plain inputs; "[unknown]" marks a value unknown at preview. */
  readonly props: Record<string, unknown>;
  /** Default: the type's last segment. */
  readonly name?: string;
  /** Default: a URN built from the type and name on stack "test". */
  readonly urn?: string;
  readonly parent?: string;
  readonly provider?: PolicyProviderResource;
}

export interface ArgsContext {
  readonly stackTags?: Tags;
  /** This policy's config (the pack config's entry for it, without enforcementLevel). Default: {}. */
  readonly config?: Record<string, unknown>;
}

const defaultUrn = (type: string, name: string) => `urn:pulumi:test::northstack::${type}::${name}`;

export function resourceArgs(input: ResourceInput, context: ArgsContext = {}): ResourceValidationArgs {
  return argsFor(policyResources([input])[0], context);
}

/** The args of one resource of a stack, sharing its (already proxied) props. */
function argsFor(resource: PolicyResource, context: ArgsContext): ResourceValidationArgs {
  const isType = isTypeFn(resource.type);
  return {
    type: resource.type,
    props: resource.props,
    urn: resource.urn,
    name: resource.name,
    opts: resource.opts,
    provider: resource.provider,
    stackTags: toMap(context.stackTags),
    isType: isType as ResourceValidationArgs["isType"],
    asType: ((resourceClass: ResourceClass) =>
      isType(resourceClass) ? resource.props : undefined) as ResourceValidationArgs["asType"],
    getConfig: <T extends object>() => ({ ...(context.config ?? {}) }) as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicableError(reason);
    },
  };
}

export interface StackResourceInput extends ResourceInput {
  /** URNs of resources this one depends on. */
  readonly dependencies?: readonly string[];
  /** URNs each input property depends on (what a preview knows when the value itself is unknown). */
  readonly propertyDependencies?: Readonly<Record<string, readonly string[]>>;
}

/** PolicyResources with parents and dependencies linked, as validateStack sees them. */
export function policyResources(inputs: readonly StackResourceInput[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const resources = inputs.map((input) => {
    const name = input.name ?? input.type.split(":").pop() ?? input.type;
    const props = asServerProps(input.props);
    const isType = isTypeFn(input.type);
    const resource: PolicyResource = {
      type: input.type,
      props,
      urn: input.urn ?? defaultUrn(input.type, name),
      name,
      opts: emptyOptions(input.parent),
      provider: input.provider && { ...input.provider, props: asServerProps(input.provider.props) },
      dependencies: [],
      propertyDependencies: {},
      isType: isType as PolicyResource["isType"],
      asType: ((resourceClass: ResourceClass) =>
        isType(resourceClass) ? props : undefined) as PolicyResource["asType"],
    };
    byUrn.set(resource.urn, resource);
    return resource;
  });
  inputs.forEach((input, i) => {
    const resource = resources[i];
    if (input.parent) resource.parent = byUrn.get(input.parent);
    for (const d of input.dependencies ?? []) {
      const dependency = byUrn.get(d);
      if (dependency) resource.dependencies.push(dependency);
    }
    for (const [property, urns] of Object.entries(input.propertyDependencies ?? {})) {
      resource.propertyDependencies[property] = urns
        .map((u) => byUrn.get(u))
        .filter((d): d is PolicyResource => d !== undefined);
    }
  });
  return resources;
}

export function stackArgs(resources: PolicyResource[], context: ArgsContext = {}): StackValidationArgs {
  return {
    resources,
    stackTags: toMap(context.stackTags),
    getConfig: <T extends object>() => ({ ...(context.config ?? {}) }) as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicableError(reason);
    },
  };
}

export interface Reported {
  readonly message: string;
  /** Set when the policy reported at a level other than its own (exemptions). */
  readonly enforcementLevel?: EnforcementLevel;
  readonly urn?: string;
}

/** A reportViolation that records, accepting the string and the diagnostic-object forms like server.js. */
function collector(into: Reported[]): ReportViolation {
  return ((message: string | { message?: string; enforcementLevel?: EnforcementLevel; urn?: string }, urn?: string) => {
    if (typeof message === "string") into.push({ message, urn });
    else
      into.push({
        message: message.message ?? "",
        enforcementLevel: message.enforcementLevel,
        urn: message.urn ?? urn,
      });
  }) as ReportViolation;
}

/**
 * Runs one policy's validateResource; returns what it reported, or `notApplicable` with the reason.
 * An unknown value read through the proxy becomes one advisory finding, as in CrossGuard.
 */
export async function runResourcePolicy(
  policy: NorthstackPolicy,
  args: ResourceValidationArgs,
): Promise<Reported[] | { notApplicable: string | undefined }> {
  const reported: Reported[] = [];
  const validations =
    policy.validateResource === undefined
      ? []
      : Array.isArray(policy.validateResource)
        ? policy.validateResource
        : [policy.validateResource];
  for (const validate of validations) {
    try {
      await validate(args, collector(reported));
    } catch (e) {
      if (e instanceof NotApplicableError) return { notApplicable: e.reason };
      if (e instanceof UnknownValueError)
        reported.push({
          message: `can't run policy ${policy.name} during preview: ${(e as Error).message}`,
          enforcementLevel: "advisory",
        });
      else throw e;
    }
  }
  return reported;
}

export async function runStackPolicy(
  policy: NorthstackPolicy,
  args: StackValidationArgs,
): Promise<Reported[] | { notApplicable: string | undefined }> {
  const reported: Reported[] = [];
  if (!("validateStack" in policy)) return reported;
  try {
    await policy.validateStack(args, collector(reported));
  } catch (e) {
    if (e instanceof NotApplicableError) return { notApplicable: e.reason };
    if (e instanceof UnknownValueError)
      reported.push({
        message: `can't run policy ${policy.name} during preview: ${(e as Error).message}`,
        enforcementLevel: "advisory",
      });
    else throw e;
  }
  return reported;
}

/** Messages a policy reports for one resource (tests). */
export async function violationsOf(
  policy: NorthstackPolicy,
  input: ResourceInput,
  context: ArgsContext = {},
): Promise<Reported[]> {
  const result = await runResourcePolicy(policy, resourceArgs(input, context));
  return Array.isArray(result) ? result : [];
}

// ---------------------------------------------------------------------------------------------
// Pack config (`pulumi preview --policy-pack-config FILE`).

const levelOf = (entry: unknown): EnforcementLevel | undefined =>
  typeof entry === "string"
    ? (entry as EnforcementLevel)
    : ((entry as { enforcementLevel?: EnforcementLevel } | undefined)?.enforcementLevel ?? undefined);

/** A policy's level: its own config entry, else `all`, else its declared level, else the pack's. */
export function enforcementLevelOf(policy: NorthstackPolicy, document: PolicyPackConfigDocument): EnforcementLevel {
  return levelOf(document[policy.name]) ?? levelOf(document.all) ?? policy.enforcementLevel ?? PACK_ENFORCEMENT_LEVEL;
}

/** A policy's config properties (what args.getConfig() returns in CrossGuard). */
export function policyConfigOf(policy: NorthstackPolicy, document: PolicyPackConfigDocument): Record<string, unknown> {
  const entry = document[policy.name];
  if (!entry || typeof entry !== "object") return {};
  return Object.fromEntries(Object.entries(entry).filter(([key]) => key !== "enforcementLevel"));
}

function typeProblem(schema: { type?: string; items?: { type?: string } }, value: unknown): string | undefined {
  const is = (type: string | undefined, v: unknown): boolean => {
    switch (type) {
      case "array":
        return Array.isArray(v);
      case "integer":
        return Number.isInteger(v);
      case "number":
        return typeof v === "number";
      case "boolean":
      case "string":
      case "object":
        return typeof v === type;
      default:
        return true;
    }
  };
  if (!is(schema.type, value)) return `must be ${schema.type}`;
  if (schema.type === "array" && schema.items && !(value as unknown[]).every((v) => is(schema.items?.type, v)))
    return `must be an array of ${schema.items.type}`;
  return undefined;
}

/** Throws one error listing every problem in a pack config document: unknown policies, properties, levels, types. */
export function validatePolicyPackConfig(
  document: PolicyPackConfigDocument,
  policies: readonly NorthstackPolicy[] = packPolicies,
): void {
  const problems: string[] = [];
  const byName = new Map(policies.map((p) => [p.name, p]));
  const checkLevel = (key: string, level: unknown) => {
    if (level !== undefined && !ENFORCEMENT_LEVELS.includes(level as EnforcementLevel))
      problems.push(
        `${key}: enforcement level ${JSON.stringify(level)} is not one of ${ENFORCEMENT_LEVELS.join(", ")}`,
      );
  };
  for (const [key, entry] of Object.entries(document)) {
    const policy = byName.get(key);
    if (key !== "all" && !policy) {
      problems.push(`${key}: no such policy; known: all, ${[...byName.keys()].join(", ")}`);
      continue;
    }
    if (typeof entry === "string") {
      checkLevel(key, entry);
      continue;
    }
    if (!entry || typeof entry !== "object") {
      problems.push(`${key}: expected an enforcement level or an object`);
      continue;
    }
    for (const [property, value] of Object.entries(entry)) {
      if (property === "enforcementLevel") {
        checkLevel(key, value);
        continue;
      }
      const schema = policy?.configSchema?.properties[property];
      if (!schema) {
        const known = Object.keys(policy?.configSchema?.properties ?? {});
        problems.push(
          `${key}.${property}: unknown property; ${known.length ? `known: ${known.join(", ")}` : "this policy takes none"}`,
        );
        continue;
      }
      const problem = typeProblem(schema as { type?: string; items?: { type?: string } }, value);
      if (problem) problems.push(`${key}.${property}: ${JSON.stringify(value)} ${problem}`);
    }
  }
  if (problems.length > 0) throw new Error(`invalid policy pack config:\n  - ${problems.join("\n  - ")}`);
}

// ---------------------------------------------------------------------------------------------
// Whole plans.

export interface EvaluateOptions {
  readonly stack: string;
  /** Stack tags (`pulumi stack tag`). Default: pulumi:project and pulumi:runtime. */
  readonly stackTags?: Tags;
  /** The parsed `--policy-pack-config` document. Default: {} (every policy at its own level). */
  readonly policyConfig?: PolicyPackConfigDocument;
  /** Stack config (`aws:region` ...): the settings of the default providers, which mocks do not register. */
  readonly config?: Record<string, string>;
  /** Policies to run. Default: the whole pack. */
  readonly policies?: readonly NorthstackPolicy[];
}

const providerUrnOf = (reference: string) => reference.slice(0, reference.lastIndexOf("::"));

const packageOf = (type: string) => type.split(":")[0];
const usesDefaultProvider = (r: PlannedResource) => r.custom && r.provider === null && !r.type.startsWith("pulumi:");

/**
 * The default provider of each package the plan uses without an explicit provider, configured from
 * the stack config like the engine does (`aws:region` -> region); validated like any resource.
 */
function defaultProviders(
  resources: readonly PlannedResource[],
  stack: string,
  config: Record<string, string>,
): Map<string, StackResourceInput> {
  const project = resources[0]?.urn.split("::")[1] ?? "northstack";
  const byPackage = new Map<string, StackResourceInput>();
  for (const r of resources) {
    const pkg = packageOf(r.type);
    if (!usesDefaultProvider(r) || byPackage.has(pkg)) continue;
    byPackage.set(pkg, {
      type: `pulumi:providers:${pkg}`,
      name: "default",
      urn: `urn:pulumi:${stack}::${project}::pulumi:providers:${pkg}::default`,
      props: Object.fromEntries(
        Object.entries(config)
          .filter(([k]) => k.startsWith(`${pkg}:`))
          .map(([k, v]) => [k.slice(pkg.length + 1), v]),
      ),
    });
  }
  return byPackage;
}

const asProvider = (p: StackResourceInput): PolicyProviderResource => ({
  type: p.type,
  name: p.name ?? "default",
  urn: p.urn ?? "",
  props: p.props,
});

/** Name properties that providers fill by autonaming, for the types whose name other resources refer to. */
const AUTONAMED: Record<string, string> = {
  "aws:s3/bucket:Bucket": "bucket",
  "aws:s3/bucketV2:BucketV2": "bucket",
  "aws:rds/parameterGroup:ParameterGroup": "name",
};

/**
 * The inputs as CrossGuard sees them: the provider-checked ones, in which autonaming has set the name
 * that is also the resource's ID. The plan records the program's inputs, and its mocks give every
 * resource the ID `<name>-id` (scripts/lib/mock-program.ts), which is what references to it hold.
 */
function checkedInputs(r: PlannedResource): Record<string, unknown> {
  const field = AUTONAMED[r.type];
  if (!field || r.plainInputs[field] !== undefined) return r.plainInputs;
  return { ...r.plainInputs, [field]: `${r.name}-id` };
}

/** Evaluates every policy over a plan and returns each violation with its enforcement level. */
export async function evaluatePolicies(
  resources: readonly PlannedResource[],
  options: EvaluateOptions,
): Promise<PolicyViolation[]> {
  const document = options.policyConfig ?? {};
  const policies = options.policies ?? packPolicies;
  validatePolicyPackConfig(document, policies);
  const stackTags = toMap(options.stackTags ?? { "pulumi:project": "northstack", "pulumi:runtime": "nodejs" });

  const defaults = defaultProviders(resources, options.stack, options.config ?? {});
  const explicit = new Map<string, PolicyProviderResource>();
  for (const r of resources) {
    if (r.type.startsWith("pulumi:providers:"))
      explicit.set(r.urn, { type: r.type, name: r.name, urn: r.urn, props: r.plainInputs });
  }
  const providerOf = (r: PlannedResource): PolicyProviderResource | undefined => {
    if (r.provider) return explicit.get(providerUrnOf(r.provider));
    const fallback = usesDefaultProvider(r) ? defaults.get(packageOf(r.type)) : undefined;
    return fallback && asProvider(fallback);
  };
  // Components are analyzed too, as the engine does; they carry no provider.
  const inputs: StackResourceInput[] = [
    ...defaults.values(),
    ...resources.map((r) => ({
      type: r.type,
      name: r.name,
      urn: r.urn,
      parent: r.parent ?? undefined,
      props: checkedInputs(r),
      dependencies: r.dependencies,
      provider: providerOf(r),
    })),
  ];
  const stackResources = policyResources(inputs);

  const violations: PolicyViolation[] = [];
  const record = (
    policy: NorthstackPolicy,
    level: EnforcementLevel,
    reported: Reported[] | { notApplicable: string | undefined },
    urn: string | null,
  ) => {
    if (!Array.isArray(reported)) return;
    for (const r of reported)
      violations.push({
        policy: policy.name,
        enforcementLevel: r.enforcementLevel ?? level,
        urn: r.urn ?? urn,
        message: r.message,
      });
  };

  for (const policy of policies) {
    let level = enforcementLevelOf(policy, document);
    if (level === "disabled") continue;
    if (level === "remediate") level = "mandatory";
    const context = { stackTags, config: policyConfigOf(policy, document) };
    if (policy.validateResource) {
      for (const resource of stackResources) {
        record(policy, level, await runResourcePolicy(policy, argsFor(resource, context)), resource.urn);
      }
    }
    if ("validateStack" in policy) {
      record(policy, level, await runStackPolicy(policy, stackArgs(stackResources, context)), null);
    }
  }
  return violations;
}
