/**
 * What every northstack policy shares: plain-data props with one spelling for "unknown at preview" and
 * one finding for it, violation messages that always end with a concrete fix, policy config with
 * schema defaults, and the exemption contract of DESIGN.md, applied once by `withExemptions` to every
 * policy in the pack.
 */
import {
  EnforcementLevel,
  PolicyConfigSchema,
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { closestMatch } from "../../components/config/checks";
import { EXEMPT_ANNOTATION, EXEMPT_REASON_ANNOTATION } from "../../components/workload";

/** How policies see a value that is unknown at preview (the offline plan prints the same mark). */
export const UNKNOWN = "[unknown]";

/**
 * The sentinels @pulumi/policy deserializes unknowns to (policy/proxy.js). Its props proxy throws on
 * reading one, which CrossGuard turns into an advisory "can't run during preview": a mandatory check
 * would pass silently. Policies read the proxy's target instead and see UNKNOWN.
 */
const UNKNOWN_SENTINELS = new Set([
  UNKNOWN,
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
  "030794c1-ac77-496b-92df-f27374a8bd58",
  "e48ece36-62e2-4504-bad9-02848725956a",
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);
const PROXY_TARGET = "__getSpecialProxyTarget";

export type Props = Record<string, unknown>;

export function isUnknown(value: unknown): boolean {
  return typeof value === "string" && UNKNOWN_SENTINELS.has(value);
}

function normalizeValue(value: unknown): unknown {
  if (typeof value === "string") return UNKNOWN_SENTINELS.has(value) ? UNKNOWN : value;
  if (Array.isArray(value)) return value.map(normalizeValue);
  if (value && typeof value === "object") {
    const out: Props = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalizeValue(v);
    return out;
  }
  return value;
}

const normalized = new WeakMap<object, Props>();

/** Plain, proxy-free props with every unknown spelled UNKNOWN. Cached per props object. */
export function normalizeProps(props: Props | undefined): Props {
  if (!props) return {};
  const target = ((props as Record<string, unknown>)[PROXY_TARGET] as Props | undefined) ?? props;
  let result = normalized.get(target);
  if (!result) {
    result = normalizeValue(target) as Props;
    normalized.set(target, result);
    normalized.set(result, result);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Reading plain data.

export function get(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object" || isUnknown(current)) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

export function asRecord(value: unknown): Props | undefined {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Props) : undefined;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** A boolean that Pulumi may carry as a string ("true") after a round trip. */
export function asBool(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  if (value === "true") return true;
  if (value === "false") return false;
  return undefined;
}

export const show = (value: unknown): string => (value === undefined ? "unset" : JSON.stringify(value));

/** Labels of a Docker container (`[{label, value}]`) as a map. */
export function dockerLabels(props: Props): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const l of asArray(props.labels)) {
    const label = get(l, "label");
    const value = get(l, "value");
    if (typeof label === "string" && typeof value === "string") labels[label] = value;
  }
  return labels;
}

// ---------------------------------------------------------------------------------------------
// Findings. `pulumi preview` shows a violation's message but not the policy's remediationSteps, so
// every message carries its own fix: "<subject>: <problem>; fix: <fix>.".

/** What is wrong, and the concrete change that fixes it. */
export interface Finding {
  readonly problem: string;
  readonly fix: string;
  /** Reported as advisory whatever the policy's level: an exemption the policy honours, named so that it is never silent. */
  readonly advisory?: boolean;
  /**
   * The control of the policy the finding is about (one of its `controls`), which an exemption may
   * name alone as `<policy>/<control>`, leaving the policy's other findings in force. Default: none.
   */
  readonly control?: string;
}

export const finding = (problem: string, fix: string, control?: string): Finding =>
  control === undefined ? { problem, fix } : { problem, fix, control };

/** Separates a violation's problem from its fix; every message the pack reports contains it. */
export const FIX_CLAUSE = "; fix: ";

/** Reports one finding about the resource under validation (or, in validateStack, about `urn`). */
export type Report = (subject: string, finding: Finding, urn?: string) => void;

const sentence = (text: string) => text.trim().replace(/[.;\s]+$/, "");

export function messageOf(subject: string, f: Finding): string {
  return `${subject}: ${sentence(f.problem)}${FIX_CLAUSE}${sentence(f.fix)}.`;
}

/** The one "cannot verify" finding for a value that is unknown at preview. */
export function cannotVerify(path: string, what: string): Finding {
  return finding(
    `${path} is unknown at preview, so ${what} cannot be verified`,
    `make ${path} known at preview: set it from a literal or plain stack config rather than another resource's output`,
  );
}

/**
 * Paths at which `value` is unknown at preview, following `path` ("a.b", "list[]" for each element,
 * "list[].field"): the first unknown on each way down, so a whole unknown list is one finding.
 */
export function unknownAt(value: unknown, path: string, shown = ""): string[] {
  const found: string[] = [];
  const segments = path.split(".").filter(Boolean);
  const join = (a: string, b: string) => (a ? `${a}.${b}` : b);
  const walk = (current: unknown, i: number, at: string) => {
    if (isUnknown(current)) {
      found.push(at || "the value");
      return;
    }
    if (i === segments.length || current === null || typeof current !== "object") return;
    const segment = segments[i];
    const list = segment.endsWith("[]");
    const key = list ? segment.slice(0, -2) : segment;
    const next = key ? (current as Props)[key] : current;
    const nextAt = key ? join(at, key) : at;
    if (!list) return walk(next, i + 1, nextAt);
    if (isUnknown(next)) return walk(next, i + 1, nextAt);
    asArray(next).forEach((element, j) => walk(element, i + 1, `${nextAt}[${j}]`));
  };
  walk(value, 0, shown);
  return found;
}

/** One cannotVerify finding for each unknown along any of `paths` under `value`. */
export function unknownFindings(value: unknown, paths: readonly string[], what: string, prefix = ""): Finding[] {
  return [...new Set(paths.flatMap((p) => unknownAt(value, p, prefix)))].map((p) => cannotVerify(p, what));
}

// ---------------------------------------------------------------------------------------------
// Policy config.

/** The policy's config with the defaults of its schema filled in (the CLI may or may not have). */
export function configOf<T extends object>(
  policy: { configSchema?: PolicyConfigSchema },
  args: { getConfig<C extends object>(): C },
): T {
  const defaults: Props = {};
  for (const [key, schema] of Object.entries(policy.configSchema?.properties ?? {})) {
    if (schema.default !== undefined) defaults[key] = schema.default;
  }
  return { ...defaults, ...args.getConfig<Props>() } as T;
}

// ---------------------------------------------------------------------------------------------
// Exemptions (DESIGN.md, "Policy exemptions").

export interface Exemption {
  /** What the resource names: whole policies (`<policy>`) or single controls (`<policy>/<control>`). */
  readonly policies: readonly string[];
  readonly reason?: string;
}

/** The policy part of an exemption name (`<policy>` or `<policy>/<control>`). */
export const exemptedPolicy = (name: string): string => name.split("/")[0];

/** What an exemption exempts from one policy: all of it, the named controls, or nothing. */
export function exemptionScope(
  exemption: Exemption | undefined,
  policy: string,
): { readonly whole: boolean; readonly controls: readonly string[] } {
  const names = (exemption?.policies ?? []).filter((n) => exemptedPolicy(n) === policy);
  return {
    whole: names.includes(policy),
    // The same name on the controller and its pod template counts once.
    controls: [...new Set(names.filter((n) => n !== policy).map((n) => n.slice(policy.length + 1)))],
  };
}

/** Where a resource may carry exemption annotations or labels. */
function exemptionMaps(type: string, props: Props): Props[] {
  if (type === "docker:index/container:Container") return [dockerLabels(props)];
  if (type.startsWith("kubernetes:")) {
    const metadatas = [
      get(props, "metadata"),
      get(props, "spec", "template", "metadata"),
      get(props, "spec", "jobTemplate", "metadata"),
      get(props, "spec", "jobTemplate", "spec", "template", "metadata"),
    ];
    return metadatas
      .flatMap((m) => [get(m, "annotations"), get(m, "labels")])
      .filter((m): m is Props => asRecord(m) !== undefined);
  }
  if (type.startsWith("aws:")) return [asRecord(props.tags) ?? {}];
  return [];
}

const exemptions = new WeakMap<Props, Exemption | null>();

/**
 * The exemption a resource declares, if any. The value may list several names, comma-separated, each
 * a whole policy or one of its controls (`containers-least-privilege/host-paths`).
 */
export function exemptionOf(type: string, props: Props): Exemption | undefined {
  let exemption = exemptions.get(props);
  if (exemption === undefined) {
    exemption = readExemption(type, props) ?? null;
    exemptions.set(props, exemption);
  }
  return exemption ?? undefined;
}

function readExemption(type: string, props: Props): Exemption | undefined {
  let policies: string[] = [];
  let reason: string | undefined;
  for (const map of exemptionMaps(type, props)) {
    const named = map[EXEMPT_ANNOTATION];
    if (typeof named === "string")
      policies = policies.concat(
        named
          .split(",")
          .map((p) => p.trim())
          .filter(Boolean),
      );
    const why = map[EXEMPT_REASON_ANNOTATION];
    if (typeof why === "string" && why.trim()) reason = why.trim();
  }
  return policies.length > 0 ? { policies, reason } : undefined;
}

/**
 * Reports at a level other than the policy's. @pulumi/policy's reportViolation (server.js) accepts a
 * diagnostic object whose enforcementLevel overrides the policy's; the typings only admit a string.
 */
export function reportAtLevel(
  report: ReportViolation,
  message: string,
  enforcementLevel: EnforcementLevel,
  urn?: string,
): void {
  (report as unknown as (d: { message: string; enforcementLevel: EnforcementLevel; urn?: string }) => void)({
    message,
    enforcementLevel,
    urn,
  });
}

const exemptionMissingReason = (policy: string) =>
  finding(
    `declares ${EXEMPT_ANNOTATION}: ${policy} without ${EXEMPT_REASON_ANNOTATION}, so the exemption is not honoured`,
    `add a ${EXEMPT_REASON_ANNOTATION} that says why, or remove the exemption`,
  );

const exemptedFinding = (policy: string, reason: string, message: string) =>
  `exempt from ${policy} (reason: "${reason}"); suppressed finding: ${message}`;

/** The known policy an unknown exemption name is reported under: the nearest by spelling, ties to the first. */
export const policyOwningUnknownName = (name: string, known: readonly string[]): string | undefined =>
  closestMatch(name, known);

/** A northstack policy: validators report findings (problem and fix), which the wrapper turns into messages. */
export interface PolicyDefinition extends Omit<ResourceValidationPolicy, "validateResource"> {
  /** Controls an exemption may name alone (`<policy>/<control>`); findings carry theirs. Default: none. */
  readonly controls?: readonly string[];
  readonly validateResource?: (
    args: ResourceValidationArgs,
    report: (subject: string, finding: Finding) => void,
  ) => Promise<void> | void;
  readonly validateStack?: (
    args: StackValidationArgs,
    report: (subject: string, finding: Finding, urn: string) => void,
  ) => Promise<void> | void;
}

export type NorthstackPolicy = ResourceValidationPolicy | (ResourceValidationPolicy & StackValidationPolicy);

/**
 * Builds the CrossGuard policy: every finding becomes "<subject>: <problem>; fix: <fix>." and
 * validators see normalized props. A resource that names the policy in `northstack.io/policy-exempt`
 * with a reason gets its findings reported as advisory, naming the reason (and one advisory notice
 * even when nothing was found, so that no exemption is silent); one that names a control of it
 * (`<policy>/<control>`) gets only that control's findings reported so, and the rest stand. Without a
 * reason, the findings stand and the missing reason is reported too. An exemption naming no known
 * policy (a typo, or `all`) is a violation, reported once, by the known policy nearest in spelling;
 * one naming a control the policy does not have is a violation of that policy.
 */
export function withExemptions(
  policy: PolicyDefinition,
  knownPolicies: readonly string[] = [policy.name],
): NorthstackPolicy {
  const { validateResource, validateStack, ...rest } = policy;
  const wrapped: ResourceValidationPolicy & Partial<StackValidationPolicy> = { ...rest };
  wrapped.validateResource = async (args: ResourceValidationArgs, report: ReportViolation) => {
    const props = normalizeProps(args.props);
    const exemption = exemptionOf(args.type, props);
    for (const name of exemption?.policies ?? []) {
      const named = exemptedPolicy(name);
      if (named === policy.name && name !== named && !(policy.controls ?? []).includes(name.slice(named.length + 1))) {
        report(
          messageOf(
            args.name,
            finding(
              `declares ${EXEMPT_ANNOTATION}: ${name}, which is not a control of ${policy.name}, so nothing is exempted`,
              (policy.controls ?? []).length > 0
                ? `name ${policy.name} or one of ${(policy.controls ?? []).map((c) => `${policy.name}/${c}`).join(", ")}`
                : `name ${policy.name}, which has no controls to name alone`,
            ),
          ),
        );
        continue;
      }
      if (knownPolicies.includes(named) || policyOwningUnknownName(named, knownPolicies) !== policy.name) continue;
      report(
        messageOf(
          args.name,
          finding(
            `declares ${EXEMPT_ANNOTATION}: ${name}, which is not a policy of this pack, so nothing is exempted`,
            `name one or more of ${knownPolicies.join(", ")}`,
          ),
        ),
      );
    }
    const findings: { message: string; control?: string }[] = [];
    if (validateResource) {
      const plainArgs: ResourceValidationArgs = {
        ...args,
        props,
        provider: args.provider && { ...args.provider, props: normalizeProps(args.provider.props) },
        asType: ((resourceClass: never) =>
          args.isType(resourceClass) ? props : undefined) as ResourceValidationArgs["asType"],
      };
      await validateResource(plainArgs, (subject, f) =>
        findings.push({ message: messageOf(subject, f), control: f.control }),
      );
    }
    const scope = exemptionScope(exemption, policy.name);
    const controls = scope.controls.filter((c) => (policy.controls ?? []).includes(c));
    const label = scope.whole ? policy.name : controls.map((c) => `${policy.name}/${c}`).join(", ");
    const exempted = (f: { control?: string }) =>
      scope.whole || (f.control !== undefined && controls.includes(f.control));
    if (!scope.whole && controls.length === 0) {
      for (const f of findings) report(f.message);
    } else if (exemption?.reason) {
      if (!findings.some(exempted))
        reportAtLevel(report, `exempt from ${label} (reason: "${exemption.reason}")`, "advisory");
      for (const f of findings) {
        if (exempted(f)) reportAtLevel(report, exemptedFinding(label, exemption.reason, f.message), "advisory");
        else report(f.message);
      }
    } else {
      report(messageOf(args.name, exemptionMissingReason(label)));
      for (const f of findings) report(f.message);
    }
  };
  if (validateStack) {
    wrapped.validateStack = async (args: StackValidationArgs, report: ReportViolation) => {
      const byUrn = new Map<string, PolicyResource>();
      const resources = args.resources.map((r) => {
        const plain: PolicyResource = {
          ...r,
          props: normalizeProps(r.props),
          provider: r.provider && { ...r.provider, props: normalizeProps(r.provider.props) },
        };
        byUrn.set(r.urn, plain);
        return plain;
      });
      for (const plain of resources) {
        plain.parent = plain.parent && (byUrn.get(plain.parent.urn) ?? plain.parent);
        plain.dependencies = plain.dependencies.map((d) => byUrn.get(d.urn) ?? d);
        plain.propertyDependencies = Object.fromEntries(
          Object.entries(plain.propertyDependencies ?? {}).map(([k, ds]) => [k, ds.map((d) => byUrn.get(d.urn) ?? d)]),
        );
      }
      await validateStack({ ...args, resources }, (subject, f, urn) => {
        const resource = byUrn.get(urn);
        const exemption = resource && exemptionOf(resource.type, resource.props);
        const text = messageOf(subject, f);
        const scope = exemptionScope(exemption, policy.name);
        const control = scope.whole ? undefined : scope.controls.find((c) => c === f.control);
        if ((scope.whole || control !== undefined) && exemption?.reason) {
          const label = control === undefined ? policy.name : `${policy.name}/${control}`;
          reportAtLevel(report, exemptedFinding(label, exemption.reason, text), "advisory", urn);
        } else if (f.advisory) {
          reportAtLevel(report, text, "advisory", urn);
        } else {
          report(text, urn);
        }
      });
    };
  }
  return wrapped as NorthstackPolicy;
}
