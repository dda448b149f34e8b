/**
 * Writes Pulumi.yaml from CONFIG_SCHEMA: `npx ts-node --transpile-only scripts/gen-pulumi-yaml.ts > Pulumi.yaml`.
 *
 * Non-secret keys go to the typed `config:` block, each with its default, so that the Pulumi CLI
 * never reports a stack "missing configuration value(s)". Secret keys cannot live there: the CLI
 * requires a typed `secret: true` key to be set, encrypted, on every stack (a default would be
 * plain text). They are optional here, so they go to `template.config`, where `pulumi new` prompts
 * for them as secrets and `pulumi up` does not require them.
 */
import * as YAML from "yaml";
import { CONFIG_SCHEMA, ConfigKeySpec } from "../components/config";

const HEADER = `# Generated from CONFIG_SCHEMA in components/config.ts; edit that, then run
#   npx ts-node --transpile-only scripts/gen-pulumi-yaml.ts > Pulumi.yaml
`;

export function renderPulumiYaml(): string {
  const config: Record<string, unknown> = {};
  const templateConfig: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(CONFIG_SCHEMA) as [string, ConfigKeySpec][]) {
    if (spec.secret) {
      templateConfig[key] = { description: spec.description, secret: true };
      continue;
    }
    if (spec.default === undefined)
      throw new Error(
        `CONFIG_SCHEMA.${key}: a non-secret key needs a default, or the Pulumi CLI requires it on every stack`,
      );
    config[key] = {
      type: spec.type,
      description: spec.description,
      ...(spec.type === "array" ? { items: { type: "string" } } : {}),
      default: spec.default,
    };
  }
  const doc = {
    name: "northstack",
    description:
      "One backend per environment: API, Postgres with Supabase, Redis, Kong; Docker on dev, Kubernetes with managed data services in Canada on staging and prod.",
    runtime: { name: "nodejs", options: { typescript: true, packagemanager: "npm" } },
    main: "index.ts",
    config,
    template: {
      description:
        "Secret config, set with `pulumi config set --secret`; none is required by the CLI, and unset passwords are generated.",
      config: templateConfig,
    },
  };
  return HEADER + YAML.stringify(doc, { lineWidth: 0 });
}

if (require.main === module) process.stdout.write(renderPulumiYaml());
