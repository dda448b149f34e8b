/**
 * The typed reader over the raw `namespace:key -> string` map Pulumi hands a program: it reports
 * unknown keys (with the nearest known one) and values of the wrong type or out of range, coerces
 * the rest, and answers `str/int/bool/list` with the schema's default for a key not given. Sections
 * read through it and never see raw strings.
 */

import { closestMatch } from "./checks";
import { CONFIG_NAMESPACE, CONFIG_SCHEMA, ConfigKey, ConfigKeySpec, SECRET_PLACEHOLDER } from "./schema";

export type Raw = Readonly<Record<string, string>>;
export type Value = string | number | boolean | readonly string[] | Readonly<Record<string, string>>;

/** Where sections report problems, in the order they find them; parseConfig throws them all at once. */
export type Problems = string[];

/** The longest value a message echoes whole; a longer one is cut there and its length given. */
export const SHOW_MAX = 60;

/** A value as a message echoes it: JSON, cut after SHOW_MAX characters with its full length appended. */
export const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  if (s.length <= SHOW_MAX + 2) return s;
  const length = typeof v === "string" ? v.length : s.length;
  return `${s.slice(0, SHOW_MAX + 1)}…${typeof v === "string" ? '"' : ""} (${length} characters)`;
};

/** A key as the user writes it: `northstack:<key>`. */
export const key = (k: string): string => `${CONFIG_NAMESPACE}:${k}`;

export interface ConfigReader {
  /** The value the stack gives, coerced; undefined when absent, invalid, or "" for a key whose default is "". */
  given(k: ConfigKey): Value | undefined;
  /**
   * True when the stack gives the key a value the reader rejected (and reported): get() then answers
   * the default, which the user did not choose, so rules that compare it with other keys skip it.
   */
  invalid(k: ConfigKey): boolean;
  /** The given value, or else the schema's default. */
  get(k: ConfigKey): Value | undefined;
  str(k: ConfigKey): string;
  int(k: ConfigKey): number;
  bool(k: ConfigKey): boolean;
  list(k: ConfigKey): readonly string[];
}

/** Reads every `northstack:` key of `raw`, pushing a problem for each unknown key or bad value. */
export function readConfig(raw: Raw, problems: Problems): ConfigReader {
  const values: Partial<Record<ConfigKey, Value>> = {};
  const rejected = new Set<ConfigKey>();
  const known = Object.keys(CONFIG_SCHEMA) as ConfigKey[];

  for (const [fullKey, rawValue] of Object.entries(raw)) {
    const [ns, ...rest] = fullKey.split(":");
    if (ns !== CONFIG_NAMESPACE) continue;
    const name = rest.join(":");
    if (!(name in CONFIG_SCHEMA)) {
      const hint = closestMatch(name, known, {
        ignoreCase: true,
        maxDistance: Math.max(2, Math.floor(name.length / 3)),
      });
      // With a near match, the match is the answer; the whole list (about 100 keys) only when there is none.
      const allowed = hint
        ? `did you mean ${key(hint)}? (every key is described under config: in Pulumi.yaml)`
        : `known keys: ${known.join(", ")}`;
      problems.push(`${fullKey}: unknown key (value ${show(rawValue)}); ${allowed}`);
      continue;
    }
    const spec: ConfigKeySpec = CONFIG_SCHEMA[name as ConfigKey];
    // Pulumi.yaml declares optional strings with the default "": the CLI passes it, and it means unset.
    if (rawValue === "" && spec.default === "") continue;
    const parsed = coerce(fullKey, rawValue, spec, problems);
    if (parsed !== undefined) values[name as ConfigKey] = parsed;
    else rejected.add(name as ConfigKey);
  }

  const get = (k: ConfigKey): Value | undefined => {
    if (values[k] !== undefined) return values[k];
    const spec: ConfigKeySpec = CONFIG_SCHEMA[k];
    return spec.default;
  };
  return {
    given: (k) => values[k],
    invalid: (k) => rejected.has(k),
    get,
    str: (k) => (get(k) as string | undefined) ?? "",
    int: (k) => get(k) as number,
    bool: (k) => get(k) as boolean,
    list: (k) => (get(k) as readonly string[] | undefined) ?? [],
  };
}

function coerce(fullKey: string, rawValue: string, spec: ConfigKeySpec, problems: Problems): Value | undefined {
  const shown = spec.secret ? "[secret]" : show(rawValue);
  switch (spec.type) {
    case "string": {
      if (spec.oneOf && !spec.oneOf.includes(rawValue)) {
        problems.push(`${fullKey}: ${shown} is not allowed; allowed values: ${spec.oneOf.join(", ")}`);
        return undefined;
      }
      return rawValue;
    }
    case "integer": {
      const range =
        spec.min !== undefined && spec.max !== undefined
          ? `; allowed: ${spec.min} to ${spec.max}`
          : spec.min !== undefined
            ? `; allowed: ${spec.min} or more`
            : "";
      if (!/^-?\d+$/.test(rawValue.trim())) {
        problems.push(`${fullKey}: ${shown} is not an integer${range || "; allowed: a whole number"}`);
        return undefined;
      }
      const n = Number(rawValue);
      if (spec.min !== undefined && n < spec.min) {
        problems.push(`${fullKey}: ${n} is below the minimum ${spec.min}${range}`);
        return undefined;
      }
      if (spec.max !== undefined && n > spec.max) {
        problems.push(`${fullKey}: ${n} is above the maximum ${spec.max}${range}`);
        return undefined;
      }
      return n;
    }
    case "boolean": {
      if (rawValue !== "true" && rawValue !== "false") {
        problems.push(`${fullKey}: ${shown} is not a boolean; use true or false`);
        return undefined;
      }
      return rawValue === "true";
    }
    case "array": {
      const parsed = parseJson(rawValue);
      if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === "string")) {
        problems.push(`${fullKey}: ${shown} is not a list of strings (YAML list, or JSON like ["a","b"])`);
        return undefined;
      }
      return parsed as string[];
    }
    case "object": {
      // The offline plan cannot decrypt a secure value: its keys are unknown, so it stands for none.
      if (rawValue.startsWith(SECRET_PLACEHOLDER)) return {};
      const parsed = parseJson(rawValue);
      if (
        typeof parsed !== "object" ||
        parsed === null ||
        Array.isArray(parsed) ||
        !Object.values(parsed).every((x) => typeof x === "string")
      ) {
        problems.push(`${fullKey}: ${shown} is not a JSON object of string values, like {"KEY":"value"}`);
        return undefined;
      }
      return parsed as Record<string, string>;
    }
  }
}

/** The parsed JSON, or undefined when `text` is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
