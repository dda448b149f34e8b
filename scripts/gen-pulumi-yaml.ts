/** Writes Pulumi.yaml from CONFIG_SCHEMA: `npx ts-node --transpile-only scripts/gen-pulumi-yaml.ts > Pulumi.yaml`. */
import { CONFIG_SCHEMA } from "../components/config";
import * as YAML from "yaml";
const config: Record<string, unknown> = {};
for (const [k, s] of Object.entries(CONFIG_SCHEMA)) {
  const e: Record<string, unknown> = { type: s.type, description: s.description };
  if (s.type === "array") e.items = { type: "string" };
  if ("default" in s) e.default = s.default;
  if ("secret" in s && s.secret) e.secret = true;
  config[k] = e;
}
const doc = {
  name: "northstack",
  description: "One backend per environment: API, Postgres with Supabase, Redis, Kong; Docker on dev, Kubernetes with managed data services in Canada on staging and prod.",
  runtime: { name: "nodejs", options: { typescript: true, packagemanager: "npm" } },
  main: "index.ts",
  config,
};
process.stdout.write(YAML.stringify(doc, { lineWidth: 0 }));
