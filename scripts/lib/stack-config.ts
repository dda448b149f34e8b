/**
 * Reads a stack's configuration the way the Pulumi CLI hands it to the program: Pulumi.yaml
 * defaults, then Pulumi.<stack>.yaml, then overrides. Values the CLI would decrypt (`secure:`) become
 * placeholders: the offline plan never sees a real secret.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { CONFIG_NAMESPACE, SECRET_PLACEHOLDER } from "../../components/config";

export interface StackConfig {
  /** `namespace:key` -> string, as `pulumi.runtime.allConfig()` returns it. */
  readonly config: Record<string, string>;
  /** Keys whose values are secret. */
  readonly secretKeys: string[];
}

const stringify = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));
const qualify = (key: string): string => (key.includes(":") ? key : `${CONFIG_NAMESPACE}:${key}`);

export function readStackConfig(root: string, stack: string, overrides: Record<string, string> = {}): StackConfig {
  const projectFile = path.join(root, "Pulumi.yaml");
  const project = YAML.parse(fs.readFileSync(projectFile, "utf8")) as { config?: Record<string, { default?: unknown; secret?: boolean }> };
  const config: Record<string, string> = {};
  const secretKeys = new Set<string>();

  for (const [key, spec] of Object.entries(project.config ?? {})) {
    if (spec && typeof spec === "object" && "default" in spec) config[qualify(key)] = stringify(spec.default);
    if (spec?.secret) secretKeys.add(qualify(key));
  }

  const stackFile = path.join(root, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(stackFile)) {
    throw new Error(`stack ${JSON.stringify(stack)} has no ${path.basename(stackFile)}; known stacks: ${knownStacks(root).join(", ")}`);
  }
  const stackDoc = (YAML.parse(fs.readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  for (const [key, value] of Object.entries(stackDoc.config ?? {})) {
    const k = qualify(key);
    if (value && typeof value === "object" && "secure" in (value as object)) {
      config[k] = `${SECRET_PLACEHOLDER}${k}`;
      secretKeys.add(k);
    } else {
      config[k] = stringify(value);
    }
  }

  for (const [key, value] of Object.entries(overrides)) config[qualify(key)] = value;
  return { config, secretKeys: [...secretKeys] };
}

export function knownStacks(root: string): string[] {
  return fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined);
}
