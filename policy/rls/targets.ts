/**
 * What a statement touches (relations, or whole schemas), for DDL whose effect cannot be followed:
 * DDL inside functions, which runs when they are called, and DDL on names known only at run time.
 */
import { Node, RangeVar } from "libpg-query";
import { display } from "./execute";
import { nameParts } from "./parse";

/** A relation (or a whole schema, name "*") a statement creates, changes or drops. */
export interface Target {
  readonly schema?: string;
  readonly name: string;
  readonly what: string;
}
export const describe = (t: Target) =>
  display(t.name === "*" ? `schema ${t.schema}` : t.schema ? `${t.schema}.${t.name}` : t.name);

const RLS_SUBTYPES: Record<string, string> = {
  AT_EnableRowSecurity: "ENABLE ROW LEVEL SECURITY",
  AT_DisableRowSecurity: "DISABLE ROW LEVEL SECURITY",
  AT_ForceRowSecurity: "FORCE ROW LEVEL SECURITY",
  AT_NoForceRowSecurity: "NO FORCE ROW LEVEL SECURITY",
  AT_SetRelOptions: "SET (...)",
  AT_ResetRelOptions: "RESET (...)",
};
const RELATION_OBJECTS: Record<string, string> = {
  OBJECT_TABLE: "TABLE",
  OBJECT_FOREIGN_TABLE: "FOREIGN TABLE",
  OBJECT_VIEW: "VIEW",
  OBJECT_MATVIEW: "MATERIALIZED VIEW",
  OBJECT_POLICY: "POLICY",
};

const PROTECTIVE_RLS_SUBTYPES = new Set(["AT_EnableRowSecurity", "AT_ForceRowSecurity"]);

/** CREATE POLICY, or ALTER TABLE whose row-security commands only enable or force it. */
export function onlyAddsProtection(kind: string, body: Record<string, unknown>): boolean {
  if (kind === "CreatePolicyStmt") return true;
  if (kind !== "AlterTableStmt") return false;
  const subtypes = ((body.cmds as Node[] | undefined) ?? []).map((c) =>
    String((c as { AlterTableCmd?: { subtype?: string } }).AlterTableCmd?.subtype),
  );
  const rls = subtypes.filter((t) => t in RLS_SUBTYPES);
  return rls.length > 0 && rls.every((t) => PROTECTIVE_RLS_SUBTYPES.has(t));
}

export function relationTargets(kind: string, body: Record<string, unknown>): Target[] {
  const rv = (rel: unknown, what: string): Target[] => {
    const r = rel as RangeVar | undefined;
    return r && r.relpersistence !== "t" ? [{ schema: r.schemaname, name: r.relname ?? "", what }] : [];
  };
  switch (kind) {
    case "CreateStmt":
      return rv(body.relation, "CREATE TABLE");
    case "CreateForeignTableStmt":
      return rv((body.base as { relation?: RangeVar }).relation, "CREATE FOREIGN TABLE");
    case "CreateTableAsStmt":
      return rv(
        (body.into as { rel?: RangeVar } | undefined)?.rel,
        body.objtype === "OBJECT_MATVIEW" ? "CREATE MATERIALIZED VIEW" : "CREATE TABLE AS",
      );
    case "SelectStmt":
      return rv((body.intoClause as { rel?: RangeVar } | undefined)?.rel, "SELECT INTO");
    case "ViewStmt":
      return rv(body.view, "CREATE VIEW");
    case "AlterTableStmt": {
      const subtypes = ((body.cmds as Node[] | undefined) ?? [])
        .map((c) => RLS_SUBTYPES[String((c as { AlterTableCmd?: { subtype?: string } }).AlterTableCmd?.subtype)])
        .filter(Boolean);
      return subtypes.length ? rv(body.relation, `ALTER TABLE ... ${subtypes.join(", ")}`) : [];
    }
    case "CreatePolicyStmt":
      return rv(body.table, "CREATE POLICY");
    case "AlterPolicyStmt":
      return rv(body.table, "ALTER POLICY");
    case "RenameStmt":
      if (body.renameType === "OBJECT_SCHEMA")
        return [
          { schema: String(body.subname), name: "*", what: "ALTER SCHEMA ... RENAME" },
          { schema: String(body.newname), name: "*", what: "ALTER SCHEMA ... RENAME" },
        ];
      return RELATION_OBJECTS[String(body.renameType)]
        ? rv(body.relation, `ALTER ${RELATION_OBJECTS[String(body.renameType)]} ... RENAME`)
        : [];
    case "AlterObjectSchemaStmt": {
      const rel = body.relation as RangeVar | undefined;
      return rel
        ? [
            ...rv(rel, "ALTER ... SET SCHEMA"),
            { schema: String(body.newschema), name: rel.relname ?? "", what: "ALTER ... SET SCHEMA" },
          ]
        : [];
    }
    case "DropStmt": {
      const objects = ((body.objects as Node[] | undefined) ?? []).map(nameParts);
      if (body.removeType === "OBJECT_SCHEMA")
        return objects.map(([schema]) => ({ schema, name: "*", what: "DROP SCHEMA" }));
      const type = RELATION_OBJECTS[String(body.removeType)];
      if (!type) return [];
      return objects.map((parts) => {
        const rel = body.removeType === "OBJECT_POLICY" ? parts.slice(0, -1) : parts;
        return {
          schema: rel.length > 1 ? rel[rel.length - 2] : undefined,
          name: rel[rel.length - 1] ?? "",
          what: `DROP ${type}`,
        };
      });
    }
    case "CreateSchemaStmt":
      return ((body.schemaElts as Node[] | undefined) ?? []).flatMap((element) => {
        const [k, b] = Object.entries(element)[0] as [string, Record<string, unknown>];
        return relationTargets(k, b).map((t) => ({ ...t, schema: t.schema ?? String(body.schemaname) }));
      });
    default:
      return [];
  }
}
