/**
 * Validates every rendered Kubernetes object against the official Kubernetes OpenAPI schema, as
 * compiled into the `kubernetes-models` package (one validator per apiVersion/kind).
 *
 * The OpenAPI schema allows unknown fields (the API server drops them, or rejects them under strict
 * field validation), so the helper also reports fields the schema does not define: it traces which
 * properties the compiled validator reads, and any field it never looked at is unknown to it.
 */
import { PlannedResource, UNKNOWN_MARK } from "../../scripts/lib/mock-program";

export interface SchemaOptions {
  /** Kubernetes types without an official schema (CRDs, Helm releases) to skip, e.g. "kubernetes:cert-manager.io/v1:Certificate". */
  readonly ignoreTypes?: readonly string[];
}

type Validator = { prototype: { validate(this: unknown): void } };

/** `kubernetes:apps/v1:Deployment` -> the module path and export of its kubernetes-models class. */
export function modelPath(type: string): { module: string; kind: string } | undefined {
  const m = /^kubernetes:([^/]+)\/([^:]+):(\w+)$/.exec(type);
  if (!m) return undefined;
  const [, group, version, kind] = m;
  return { module: `kubernetes-models/${group === "core" ? "" : `${group}/`}${version}/${kind}`, kind };
}

function loadValidator(type: string): Validator | undefined {
  const where = modelPath(type);
  if (!where) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const module = require(where.module) as Record<string, Validator | undefined>;
    return module[where.kind];
  } catch {
    return undefined;
  }
}

/** Values unknown at plan time are left out rather than checked as the placeholder string. */
function withoutUnknowns(value: unknown): unknown {
  if (value === UNKNOWN_MARK) return undefined;
  if (Array.isArray(value)) return value.map(withoutUnknowns);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const kept = withoutUnknowns(v);
      if (kept !== undefined && kept !== null) out[k] = kept;
    }
    return out;
  }
  return value;
}

interface SchemaError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly message?: string;
}

/**
 * One message per failing field. Quantities and int-or-string fields are a `oneOf`, which fails
 * three ways at once (type, format, oneOf); the format message alone says what is wrong.
 */
function describe(errors: readonly SchemaError[]): string[] {
  const byPath = new Map<string, SchemaError[]>();
  for (const e of errors) byPath.set(e.instancePath, [...(byPath.get(e.instancePath) ?? []), e]);
  return [...byPath.entries()].flatMap(([at, group]) => {
    const chosen = group.some((e) => e.keyword === "oneOf")
      ? group.filter((e) => e.keyword === "format").slice(0, 1)
      : group;
    return (chosen.length ? chosen : group).map((e) => `${at || "/"} ${e.message ?? e.keyword}`);
  });
}

/** Runs `validate` on a proxy of `object` and returns the JSON-pointer paths of every field it read. */
function validateTracing(
  validator: Validator,
  object: Record<string, unknown>,
): { errors?: readonly SchemaError[]; read: Set<string> } {
  const read = new Set<string>();
  const wrap = (value: unknown, at: string): unknown => {
    if (!value || typeof value !== "object") return value;
    return new Proxy(value as object, {
      get(target, key) {
        const child = Reflect.get(target, key);
        if (typeof key !== "string" || !Object.prototype.hasOwnProperty.call(target, key)) return child;
        read.add(`${at}/${key}`);
        return wrap(child, `${at}/${key}`);
      },
    });
  };
  try {
    validator.prototype.validate.call(wrap(object, ""));
    return { read };
  } catch (e) {
    const errors = (e as { errors?: SchemaError[] }).errors;
    if (!errors) throw e;
    return { errors, read };
  }
}

function unknownFields(value: unknown, at: string, read: Set<string>, found: string[]): void {
  if (!value || typeof value !== "object") return;
  for (const [key, child] of Object.entries(value)) {
    const path = `${at}/${key}`;
    if (!read.has(path)) found.push(path);
    else unknownFields(child, path, read, found);
  }
}

/** Problems of one object, empty when it is valid. `type` is the Pulumi type token. */
export function validateObject(type: string, object: Record<string, unknown>): string[] {
  const validator = loadValidator(type);
  if (!validator) return [`no official schema for ${type}`];
  const cleaned = withoutUnknowns(object) as Record<string, unknown>;
  const { errors, read } = validateTracing(validator, cleaned);
  if (errors) return describe(errors);
  const unknown: string[] = [];
  unknownFields(cleaned, "", read, unknown);
  return unknown.map((path) => `${path} is not a field of ${type.split(":").pop()}`);
}

/**
 * Validates every Kubernetes resource in a planned stack. Returns one line per problem, naming the
 * resource and the field; values are never printed, so secret inputs stay safe.
 */
export function kubernetesSchemaProblems(resources: readonly PlannedResource[], options: SchemaOptions = {}): string[] {
  const ignored = new Set(options.ignoreTypes ?? []);
  const problems: string[] = [];
  for (const r of resources) {
    if (!r.custom || !r.type.startsWith("kubernetes:") || ignored.has(r.type)) continue;
    for (const p of validateObject(r.type, r.plainInputs)) problems.push(`${r.type} ${r.name}: ${p}`);
  }
  return problems;
}
