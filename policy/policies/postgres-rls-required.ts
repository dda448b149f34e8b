import { PolicyResource } from "@pulumi/policy";
import type { MigrationFile } from "../../components/migrations";
import { MIGRATIONS_LABEL } from "../../components/workload";
import {
  Finding,
  PolicyDefinition,
  Props,
  asArray,
  asRecord,
  cannotVerify,
  configOf,
  dockerLabels,
  finding,
  get,
  isUnknown,
} from "../lib/framework";
import { DOCKER_CONTAINER, containersOf, podSpecOf } from "../lib/resources";
import { analyzeMigrations } from "../rls";

export interface RlsConfig {
  readonly exposedSchemas: string[];
}

const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
const SECRET = "kubernetes:core/v1:Secret";
/** PostgREST's setting for the schemas it serves. */
export const SCHEMAS_ENV = "PGRST_DB_SCHEMAS";
const isSql = (name: string) => name.toLowerCase().endsWith(".sql");
const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

interface MigrationSet {
  readonly files: MigrationFile[];
  /** Files whose content cannot be read at preview, with why. */
  readonly unreadable: Finding[];
}

/** A Docker upload's text: `content`, or `contentBase64` decoded; undefined when unknown or from a host file. */
function uploadContent(upload: unknown): string | undefined {
  const content = get(upload, "content");
  if (typeof content === "string") return isUnknown(content) ? undefined : content;
  const base64 = get(upload, "contentBase64");
  if (typeof base64 === "string" && !isUnknown(base64)) return Buffer.from(base64, "base64").toString("utf8");
  return undefined;
}

/**
 * The migration set a resource delivers under the DESIGN.md contract, in the order it is applied,
 * or undefined when the resource is not a migration carrier.
 */
export function migrationSetOf(type: string, props: Props): MigrationSet | undefined {
  const files: MigrationFile[] = [];
  const unreadable: Finding[] = [];
  const fix =
    "deliver the migration as literal SQL text (ConfigMap data, or a Docker upload's content), not another resource's output or a host file";
  if (type === CONFIG_MAP) {
    if (get(props, "metadata", "labels", MIGRATIONS_LABEL) !== "true") return undefined;
    if (isUnknown(props.data)) unreadable.push(cannotVerify("data", "the migrations' row-level security"));
    for (const [name, sql] of Object.entries(asRecord(props.data) ?? {})) {
      if (!isSql(name)) continue;
      if (typeof sql === "string" && !isUnknown(sql)) files.push({ name, sql });
      else unreadable.push(finding(`migration ${name} is unknown at preview, so its tables cannot be verified`, fix));
    }
  } else if (type === DOCKER_CONTAINER) {
    if (dockerLabels(props)[MIGRATIONS_LABEL] !== "true") return undefined;
    if (isUnknown(props.uploads)) unreadable.push(cannotVerify("uploads", "the migrations' row-level security"));
    for (const u of asArray(props.uploads)) {
      const name = get(u, "file");
      if (isUnknown(u) || isUnknown(name)) {
        unreadable.push(
          finding("an upload's file name is unknown at preview, so whether it is a migration cannot be verified", fix),
        );
        continue;
      }
      if (typeof name !== "string" || !isSql(name)) continue;
      const sql = uploadContent(u);
      if (sql !== undefined) files.push({ name, sql });
      else
        unreadable.push(
          finding(
            `migration ${name} ${get(u, "source") !== undefined ? "is uploaded from a host file the policy cannot read" : "is unknown at preview"}, so its tables cannot be verified`,
            fix,
          ),
        );
    }
  } else {
    return undefined;
  }
  files.sort(byName);
  return { files, unreadable };
}

const schemaList = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** A ConfigMap or Secret value by key: `data` (base64 in a Secret) or `stringData`. */
function dataValue(resource: PolicyResource, key: string): unknown {
  const plain =
    get(resource.props, "stringData", key) ??
    (resource.type === CONFIG_MAP ? get(resource.props, "data", key) : undefined);
  if (plain !== undefined) return plain;
  const encoded = resource.type === SECRET ? get(resource.props, "data", key) : undefined;
  return typeof encoded === "string" && !isUnknown(encoded) ? Buffer.from(encoded, "base64").toString("utf8") : encoded;
}

/**
 * Schemas PostgREST serves in this stack: every PGRST_DB_SCHEMAS on a Docker container, a Kubernetes
 * workload's env (directly or through a ConfigMap/Secret key reference) or in a ConfigMap/Secret.
 */
export function exposedSchemasInStack(resources: readonly PolicyResource[]): {
  schemas: Set<string>;
  unknown: { resource: PolicyResource; finding: Finding }[];
} {
  const schemas = new Set<string>();
  const unknown: { resource: PolicyResource; finding: Finding }[] = [];
  const what = "which schemas the REST API exposes";
  const add = (resource: PolicyResource, where: string, value: unknown) => {
    if (typeof value === "string" && !isUnknown(value)) for (const s of schemaList(value)) schemas.add(s);
    else if (value !== undefined) unknown.push({ resource, finding: cannotVerify(where, what) });
  };
  const carriers = new Map<string, PolicyResource>();
  for (const r of resources) {
    if (r.type !== CONFIG_MAP && r.type !== SECRET) continue;
    const name = get(r.props, "metadata", "name");
    if (typeof name === "string") carriers.set(`${r.type}\u0000${name}`, r);
    add(r, `${SCHEMAS_ENV} in ${r.name}`, dataValue(r, SCHEMAS_ENV));
  }
  for (const r of resources) {
    if (r.type === DOCKER_CONTAINER) {
      const envs = asArray(r.props.envs);
      const set = envs.find((e) => typeof e === "string" && e.startsWith(`${SCHEMAS_ENV}=`)) as string | undefined;
      if (set !== undefined) add(r, SCHEMAS_ENV, set.slice(SCHEMAS_ENV.length + 1));
      else if ((isUnknown(r.props.envs) || envs.some(isUnknown)) && /postgrest/.test(String(r.props.image)))
        unknown.push({ resource: r, finding: cannotVerify("envs", what) });
      continue;
    }
    const pod = podSpecOf(r.type, r.props);
    if (!pod) continue;
    for (const { container, where } of containersOf(pod)) {
      for (const env of asArray(container.env)) {
        if (get(env, "name") !== SCHEMAS_ENV) continue;
        const path = `${where} env ${SCHEMAS_ENV}`;
        const value = get(env, "value");
        if (value !== undefined) {
          add(r, path, value);
          continue;
        }
        const fromConfigMap = get(env, "valueFrom", "configMapKeyRef");
        const ref =
          fromConfigMap !== undefined
            ? { type: CONFIG_MAP, ref: fromConfigMap }
            : { type: SECRET, ref: get(env, "valueFrom", "secretKeyRef") };
        const carrier = carriers.get(`${ref.type}\u0000${String(get(ref.ref, "name"))}`);
        const key = get(ref.ref, "key");
        if (carrier && typeof key === "string") add(r, path, dataValue(carrier, key));
        else
          unknown.push({
            resource: r,
            finding: finding(
              `${path} comes from ${ref.type.split(":").pop()} ${String(get(ref.ref, "name"))}, which is not in this stack, so ${what} cannot be verified`,
              `set ${SCHEMAS_ENV} as a literal value, or keep its ConfigMap in this stack`,
            ),
          });
      }
    }
  }
  return { schemas, unknown };
}

export const postgresRlsRequired: PolicyDefinition = {
  name: "postgres-rls-required",
  description:
    "Nothing in an API-exposed schema lets a client past row-level security once the migrations have run: every table ends with RLS enabled and a " +
    "policy of its own, no policy opens every row to anon, lets clients write any row or reads user_metadata, views are security_invoker and do not " +
    "read auth.users, materialized views and foreign tables are not granted to clients, no extension is installed there, SECURITY DEFINER functions " +
    "are not executable by clients without a reasoned exemption, and functions set their own search_path. The database guard (999_rls_guard.sql) " +
    "applies the same rules. Migrations are read per the DESIGN.md contract and parsed with the real PostgreSQL parser, PL/pgSQL included; exposed " +
    "schemas are the configured ones plus every schema PostgREST is told to serve (PGRST_DB_SCHEMAS) in the stack.",
  remediationSteps:
    "In the migration that creates the table (or a later one): ALTER TABLE <schema>.<table> ENABLE ROW LEVEL SECURITY; and CREATE POLICY ... ON " +
    "<schema>.<table> ... with a condition on the row; for each partition too. Do not DISABLE it again later. Create views in exposed schemas WITH " +
    "(security_invoker = true), REVOKE materialized views and foreign tables from PUBLIC, anon and authenticated (or keep them out of exposed schemas), " +
    "install extensions WITH SCHEMA extensions, give functions SET search_path = '' and REVOKE EXECUTE on SECURITY DEFINER ones from clients (or " +
    "COMMENT ON FUNCTION ... IS 'northstack:security-definer: <why>'), schema-qualify table names, write DDL as static SQL (not EXECUTE of run-time " +
    "strings or inside functions), and fix SQL the parser rejects (the message quotes its error and location).",
  severity: "critical",
  configSchema: {
    properties: {
      exposedSchemas: {
        type: "array",
        items: { type: "string" },
        default: ["public"],
        description:
          "Schemas the REST API (PostgREST) exposes, besides those PGRST_DB_SCHEMAS names in the stack; keep in step with northstack:exposedSchemas.",
      },
    },
  },
  validateStack: async (args, report) => {
    const { exposedSchemas } = configOf<RlsConfig>(postgresRlsRequired, args);
    const discovered = exposedSchemasInStack(args.resources);
    for (const u of discovered.unknown) report(`${u.resource.type} ${u.resource.name}`, u.finding, u.resource.urn);
    const exposed = [...new Set([...exposedSchemas, ...discovered.schemas])];
    for (const r of args.resources) {
      const set = migrationSetOf(r.type, r.props);
      if (!set) continue;
      const subject = `${r.type} ${r.name}`;
      if (set.files.length === 0 && set.unreadable.length === 0) {
        report(
          subject,
          finding(
            `is labelled ${MIGRATIONS_LABEL}=true but carries no .sql file`,
            `deliver the migrations as .sql files, or remove the ${MIGRATIONS_LABEL} label`,
          ),
          r.urn,
        );
        continue;
      }
      for (const f of set.unreadable) report(subject, f, r.urn);
      for (const f of await analyzeMigrations(set.files, exposed)) report(subject, f, r.urn);
    }
  },
};
