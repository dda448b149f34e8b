/**
 * Reads a stack's configuration the way the Pulumi CLI hands it to the program, and refuses it where
 * the CLI would, with the CLI's messages, so the offline plan never passes a stack `pulumi up` would
 * reject. The rules follow the CLI's project and stack config merge (pulumi/pulumi,
 * sdk/go/common/workspace: `Project.Validate`, `mergeConfig`, `validateStackConfigValue`):
 *
 * - Pulumi.yaml: a key cannot have both `default` and `value`; a typed array needs `items`; a typed
 *   default must match its type; a key of another namespace (aws:region) takes only a `value`.
 * - A typed key of the project's namespace that the stack leaves unset and that has no default
 *   fails the whole stack: "Stack 'dev' is missing configuration value(s) ...".
 * - Defaults and values from Pulumi.yaml fill in what the stack leaves unset, as plain values.
 * - Every typed key's value must match its type, and a `secret: true` key must be encrypted: a
 *   plain value, including a default, fails "must be encrypted as it's secret".
 *
 * Values the CLI would decrypt (`secure:`) become placeholders: the offline plan never sees a real
 * secret. Overrides stand for `pulumi config set`: `--secret` for keys Pulumi.yaml declares secret
 * (typed or under `template.config`), `--json` for values that are JSON arrays or objects.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { CONFIG_NAMESPACE, CONFIG_SCHEMA, ConfigKeySpec, SECRET_PLACEHOLDER } from "../../components/config";

export interface StackConfig {
  /** `namespace:key` -> string, as `pulumi.runtime.allConfig()` returns it. */
  readonly config: Record<string, string>;
  /** Keys whose values are secret. */
  readonly secretKeys: string[];
}

/**
 * What the Pulumi CLI would refuse before running the program. Each problem keeps the CLI's own
 * wording and adds what the CLI leaves out: the file, the value given and what is allowed. Where
 * the CLI stops at the first problem, this reports every one.
 */
export class StackConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[]) {
    const list = typeof problems === "string" ? [problems] : problems;
    super(list.length === 1 ? list[0] : `invalid stack configuration:\n  - ${list.join("\n  - ")}`);
    this.problems = list;
    this.name = "StackConfigError";
  }
}

/** A value as shown in a message: JSON, cut to 60 characters. */
export function showValue(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}..." (${text.length} chars)` : text;
}

/** What a project key accepts, in words, with the schema's range or choices where it has them. */
function allowedFor(project: string, key: string, type: string, items?: ItemsType): string {
  const spec: ConfigKeySpec | undefined =
    project === CONFIG_NAMESPACE ? (CONFIG_SCHEMA as Record<string, ConfigKeySpec>)[key] : undefined;
  if (spec?.oneOf) return `one of ${spec.oneOf.join(", ")}`;
  switch (type) {
    case "integer": {
      const range =
        spec?.min !== undefined && spec.max !== undefined
          ? ` from ${spec.min} to ${spec.max}`
          : spec?.min !== undefined
            ? ` of at least ${spec.min}`
            : "";
      return `a whole number${range}`;
    }
    case "boolean":
      return "true or false";
    case "string":
      return "a single string (not a list or an object)";
    default:
      return items
        ? `a YAML list of ${typeName(items.type, items.items)} values (pulumi config set --path '${key}[0]' ...)`
        : `a value of type ${type}`;
  }
}

interface ItemsType {
  readonly type: string;
  readonly items?: ItemsType;
}

interface ProjectConfigType {
  readonly type?: string;
  readonly items?: ItemsType;
  readonly default?: unknown;
  readonly value?: unknown;
  readonly secret?: boolean;
}

interface Project {
  readonly name: string;
  readonly config: Record<string, ProjectConfigType>;
  /** Fully qualified keys declared `secret: true`, typed or under `template.config`. */
  readonly secretKeys: Set<string>;
}

interface StackValue {
  /** What the program receives. */
  readonly text: string;
  readonly object: boolean;
  readonly secure: boolean;
  /** A secure scalar the plan cannot decrypt: its content is unknown. */
  readonly opaque: boolean;
}

/** Go's `!= nil`: YAML null is absent. */
const present = (v: unknown): boolean => v !== undefined && v !== null;
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isSecureValue = (v: unknown): v is { secure: string } =>
  isPlainObject(v) && Object.keys(v).length === 1 && typeof v.secure === "string";
const hasSecureValue = (v: unknown): boolean =>
  isSecureValue(v) ||
  (Array.isArray(v) ? v.some(hasSecureValue) : isPlainObject(v) && Object.values(v).some(hasSecureValue));
/** Go's `isPrimitiveValue` (string, int, bool): formatted with %v; anything else is JSON. */
const isPrimitive = (v: unknown): boolean =>
  typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isInteger(v));

function withPlaceholders(v: unknown, key: string): unknown {
  if (isSecureValue(v)) return `${SECRET_PLACEHOLDER}${key}`;
  if (Array.isArray(v)) return v.map((x) => withPlaceholders(x, key));
  if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, withPlaceholders(x, key)]));
  return v;
}

/** `parseConfigKey`: keys without a namespace belong to the project. */
const qualify = (project: string, key: string): string => (key.includes(":") ? key : `${project}:${key}`);
const namespaceOf = (key: string): string => key.slice(0, key.indexOf(":"));

/** `InferFullTypeName`. */
const typeName = (type: string, items?: ItemsType): string =>
  items ? `array<${typeName(items.type, items.items)}>` : type;

/** `ValidateConfigValue`. */
export function matchesConfigType(type: string, items: ItemsType | undefined, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "integer":
      // Go's strconv.Atoi for strings; YAML numbers must be whole.
      return typeof value === "number"
        ? Number.isInteger(value)
        : typeof value === "string" && /^[+-]?\d+$/.test(value);
    case "boolean":
      return typeof value === "boolean" || value === "true" || value === "false";
    case "object":
      return isPlainObject(value);
    default:
      return (
        Array.isArray(value) && items !== undefined && value.every((v) => matchesConfigType(items.type, items.items, v))
      );
  }
}

function readProject(root: string): Project {
  const doc = (YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) ?? {}) as {
    name?: unknown;
    config?: Record<string, unknown>;
    template?: { config?: Record<string, { secret?: boolean }> };
  };
  if (typeof doc.name !== "string" || doc.name === "")
    throw new StackConfigError("project is missing a non-empty string 'name' attribute");
  const name = doc.name;
  const config: Record<string, ProjectConfigType> = {};
  for (const [key, raw] of Object.entries(doc.config ?? {})) {
    const ownedByProject = !key.includes(":") || key.startsWith(`${name}:`);
    // `RewriteShorthandConfigValues`: `key: value` is a default for the project's keys, a value for others.
    const spec: ProjectConfigType =
      isPrimitive(raw) || Array.isArray(raw)
        ? ownedByProject
          ? { default: raw }
          : { value: raw }
        : ((raw ?? {}) as ProjectConfigType);
    if (present(spec.default) && present(spec.value)) {
      throw new StackConfigError(`project config '${key}' cannot have both a 'default' and 'value' attribute`);
    }
    if (ownedByProject) {
      if (spec.type === "array" && spec.items === undefined) {
        throw new StackConfigError(
          `The configuration key '${key}' declares an array but does not specify the underlying type via the 'items' attribute`,
        );
      }
      if (spec.type !== undefined && present(spec.default) && !matchesConfigType(spec.type, spec.items, spec.default)) {
        throw new StackConfigError(
          `The default value specified for configuration key '${key}' is not of the expected type '${typeName(spec.type, spec.items)}'`,
        );
      }
    } else {
      if (spec.type !== undefined)
        throw new StackConfigError(
          `Configuration key '${key}' is not namespaced by the project and should not define a type`,
        );
      if (present(spec.default)) {
        throw new StackConfigError(
          `Configuration key '${key}' is not namespaced by the project and should not define a default value. Did you mean to use the 'value' attribute instead of 'default'?`,
        );
      }
      if (!present(spec.value))
        throw new StackConfigError(`Configuration key '${key}' is namespaced and must provide an attribute 'value'`);
    }
    config[key] = spec;
  }
  const secretKeys = new Set<string>();
  for (const [key, spec] of Object.entries(config)) if (spec.secret) secretKeys.add(qualify(name, key));
  for (const [key, spec] of Object.entries(doc.template?.config ?? {}))
    if (spec?.secret) secretKeys.add(qualify(name, key));
  return { name, config, secretKeys };
}

/** `config.ParseKey`: `namespace:name`, or the legacy `namespace:config:name`. */
function parseKey(written: string): string {
  const parts = written.split(":");
  if (parts.length === 2 && parts[0] && parts[1]) return written;
  if (parts.length === 3 && parts[0] && parts[1] === "config" && parts[2]) return `${parts[0]}:${parts[2]}`;
  throw new StackConfigError(
    `could not parse ${written} as a configuration key (configuration keys should be of the form \`<namespace>:<name>\`)`,
  );
}

/** The stack file's values: scalars as written (YAML failsafe schema, like Go's decode into a string), the rest as JSON. */
function readStackFile(file: string): Map<string, StackValue> {
  const source = fs.readFileSync(file, "utf8");
  const parse = (options?: YAML.ParseOptions & YAML.DocumentOptions & YAML.SchemaOptions): unknown => {
    try {
      return YAML.parse(source, options);
    } catch (e) {
      throw new StackConfigError(
        `${path.basename(file)}: ${(e as Error).message.split("\n")[0].replace(/:$/, "")}; fix the YAML syntax there`,
      );
    }
  };
  const asText = (parse({ schema: "failsafe" }) ?? {}) as { config?: Record<string, unknown> };
  const asData = (parse() ?? {}) as { config?: Record<string, unknown> };
  if (!isPlainObject(asData))
    throw new StackConfigError(
      `${path.basename(file)}: the file must be a YAML mapping with a 'config:' key; got ${Array.isArray(asData) ? "a list" : "a scalar"}`,
    );
  if (asData.config !== undefined && asData.config !== null && !isPlainObject(asData.config)) {
    throw new StackConfigError(
      `${path.basename(file)}: 'config:' must be a mapping of key: value (for example "northstack:apiReplicas: 2"), not ${Array.isArray(asData.config) ? "a list (remove the '- ' before each key)" : "a scalar"}`,
    );
  }
  const values = new Map<string, StackValue>();
  for (const [written, text] of Object.entries(asText.config ?? {})) {
    const key = parseKey(written);
    const data = asData.config?.[written];
    if (typeof text === "string" || text === null) {
      values.set(key, { text: text ?? "", object: false, secure: false, opaque: false });
    } else if (isSecureValue(data)) {
      values.set(key, { text: `${SECRET_PLACEHOLDER}${key}`, object: false, secure: true, opaque: true });
    } else {
      values.set(key, {
        text: JSON.stringify(withPlaceholders(data, key)),
        object: true,
        secure: hasSecureValue(data),
        opaque: false,
      });
    }
  }
  return values;
}

function override(project: Project, key: string, text: string): StackValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return {
    text,
    object: Array.isArray(parsed) || isPlainObject(parsed),
    secure: project.secretKeys.has(key),
    opaque: false,
  };
}

/** "'a'", "'a' and 'b'", "'a', 'b' and 'c'" (`formatMissingKeys`). */
function formatMissingKeys(keys: string[]): string {
  if (keys.length === 1) return `'${keys[0]}'`;
  const quoted = [...keys].sort().map((k) => `'${k}'`);
  return `${quoted.slice(0, -1).join(", ")} and ${quoted[quoted.length - 1]}`;
}

/** Pulumi's stack name rule: letters, digits, '-', '_' and '.', at most 100 characters. */
const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export function readStackConfig(root: string, stack: string, overrides: Record<string, string> = {}): StackConfig {
  if (!STACK_NAME.test(stack)) {
    const fromFile = /(?:^|\/)Pulumi\.([A-Za-z0-9_.-]+)\.ya?ml$/.exec(stack)?.[1];
    throw new StackConfigError(
      `stack ${showValue(stack)} is not a stack name (letters, digits, '-', '_' and '.'); ` +
        (fromFile
          ? `to plan the stack file ${stack}, pass its stack name: ${fromFile}`
          : `known stacks: ${knownStacks(root).join(", ")}`),
    );
  }
  const project = readProject(root);
  const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    throw new Error(
      `stack ${JSON.stringify(stack)} has no ${path.basename(stackFile)}; known stacks: ${knownStacks(root).join(", ")}`,
    );
  }
  const values = readStackFile(stackFile);
  for (const [key, text] of Object.entries(overrides)) {
    const k = qualify(project.name, key);
    values.set(k, override(project, k, text));
  }

  const projectKeys = Object.keys(project.config).sort();
  const missing: string[] = [];
  for (const key of projectKeys) {
    const spec = project.config[key];
    const k = qualify(project.name, key);
    if (values.has(k)) continue;
    const given = spec.value ?? spec.default ?? undefined;
    if (given === undefined) {
      if (namespaceOf(k) === project.name) missing.push(key);
      continue;
    }
    values.set(
      k,
      isPrimitive(given)
        ? { text: String(given), object: false, secure: false, opaque: false }
        : { text: JSON.stringify(given), object: true, secure: false, opaque: false },
    );
  }
  if (missing.length > 0) {
    throw new StackConfigError(
      `Stack '${stack}' is missing configuration value${missing.length > 1 ? "s" : ""} ${formatMissingKeys(missing)}`,
    );
  }

  const problems: string[] = [];
  for (const key of projectKeys) {
    const spec = project.config[key];
    if (spec.type === undefined) continue;
    const value = values.get(qualify(project.name, key));
    if (value === undefined) continue;
    if (spec.secret && !value.secure) {
      problems.push(
        `Stack '${stack}' with configuration key '${key}' must be encrypted as it's secret; set it with: pulumi config set --secret ${qualify(project.name, key)}`,
      );
      continue;
    }
    if (value.opaque) continue;
    const content: unknown = value.object ? JSON.parse(value.text) : value.text;
    if (!matchesConfigType(spec.type, spec.items, content)) {
      problems.push(
        `Stack '${stack}' with configuration key '${key}' must be of type '${typeName(spec.type, spec.items)}': ` +
          `got ${showValue(content)}; allowed: ${allowedFor(project.name, key, spec.type, spec.items)}`,
      );
    }
  }
  // Keys declared secret only under template.config: the CLI takes a plain value there, which would
  // leave a credential in clear text in the stack file. Refused here, with the command that fixes it.
  for (const key of project.secretKeys) {
    const value = values.get(key);
    const typed = project.config[key] ?? project.config[key.slice(project.name.length + 1)];
    if (value === undefined || value.secure || typed?.type !== undefined || value.text === "") continue;
    problems.push(
      `${key}: [secret of ${value.text.length} chars] is written in plain text in Pulumi.${stack}.yaml; it is a secret: remove it there and run pulumi config set --secret ${key}`,
    );
  }
  if (problems.length > 0) throw new StackConfigError(problems);

  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of values) {
    config[key] = value.text;
    if (value.secure) secretKeys.push(key);
  }
  return { config, secretKeys };
}

export function knownStacks(root: string): string[] {
  return fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined);
}
