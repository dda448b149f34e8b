import { ResourceValidationPolicy } from "@pulumi/policy";
import { MIGRATIONS_LABEL } from "../../components/workload";
import { Props, asArray, asRecord, configOf, dockerLabels, get, isUnknown } from "./framework";
import { DOCKER_CONTAINER } from "./resources";
import { MigrationFile, analyzeMigrations } from "./rls-analysis";

export interface RlsConfig {
  readonly exposedSchemas: string[];
}

const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const isSql = (name: string) => name.toLowerCase().endsWith(".sql");
const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The migration set a resource delivers under the DESIGN.md contract, in the order it is applied,
 * or undefined when the resource is not a migration carrier. Files whose content is unknown at
 * preview are listed in `unknown`.
 */
export function migrationSetOf(type: string, props: Props): { files: MigrationFile[]; unknown: string[] } | undefined {
  const files: { name: string; sql: unknown }[] = [];
  if (type === CONFIG_MAP) {
    if (get(props, "metadata", "labels", MIGRATIONS_LABEL) !== "true") return undefined;
    for (const [name, sql] of Object.entries(asRecord(props.data) ?? {})) if (isSql(name)) files.push({ name, sql });
  } else if (type === DOCKER_CONTAINER) {
    if (dockerLabels(props)[MIGRATIONS_LABEL] !== "true") return undefined;
    for (const u of asArray(props.uploads)) {
      const name = get(u, "file");
      if (typeof name === "string" && isSql(name)) files.push({ name, sql: get(u, "content") });
    }
  } else {
    return undefined;
  }
  files.sort(byName);
  return {
    files: files.filter((f): f is MigrationFile => typeof f.sql === "string" && !isUnknown(f.sql)),
    unknown: files.filter((f) => typeof f.sql !== "string" || isUnknown(f.sql)).map((f) => f.name),
  };
}

export const postgresRlsRequired: ResourceValidationPolicy = {
  name: "postgres-rls-required",
  description:
    "Every table an API-exposed schema gets from the migrations ends the migration set with row-level security enabled and at least one policy, and every " +
    "exposed view is security_invoker. Migrations are read per the DESIGN.md contract and parsed with the real PostgreSQL parser.",
  remediationSteps:
    "In the migration that creates the table (or a later one): ALTER TABLE <schema>.<table> ENABLE ROW LEVEL SECURITY; and CREATE POLICY ... ON " +
    "<schema>.<table> ...; for each partition too. Do not DISABLE it again later. Create views in exposed schemas WITH (security_invoker = true), keep " +
    "materialized views out of exposed schemas, and fix SQL the parser rejects (the message quotes its error and location).",
  severity: "critical",
  configSchema: {
    properties: {
      exposedSchemas: {
        type: "array",
        items: { type: "string" },
        default: ["public"],
        description: "Schemas the REST API (PostgREST) exposes; keep in step with northstack:exposedSchemas.",
      },
    },
  },
  validateResource: async (args, report) => {
    const set = migrationSetOf(args.type, args.props);
    if (!set) return;
    const where = `${args.type} ${args.name}`;
    if (set.files.length === 0 && set.unknown.length === 0) {
      report(`${where} is labelled ${MIGRATIONS_LABEL}=true but carries no .sql file.`);
      return;
    }
    for (const name of set.unknown) report(`${where}: migration ${name} is unknown at preview, so its tables cannot be verified.`);
    const { exposedSchemas } = configOf<RlsConfig>(postgresRlsRequired, args);
    for (const problem of await analyzeMigrations(set.files, exposedSchemas)) report(`${where}: ${problem}.`);
  },
};
