/**
 * The verdict on a migration set once every file has been followed: each table in an exposed schema
 * ends with row-level security enabled and at least one policy, and each exposed view is
 * security_invoker. Problems met on the way (files that do not parse, what cannot be verified) come first.
 */
import { Finding } from "../lib/framework";
import { Catalog } from "./catalog";
import { qualified, where } from "./parse";

export function verdict(catalog: Catalog, problems: readonly Finding[]): Finding[] {
  const out = [...problems];
  for (const t of catalog.tables.values()) {
    if (!catalog.exposed.has(t.schema)) continue;
    const name = qualified(t.schema, t.name);
    const what = `table ${name}${t.partitionOf ? ` (partition of ${t.partitionOf})` : ""} created at ${where(t.created)}${t.placement ? ` (${t.placement})` : ""}`;
    if (!t.rls && t.disabledAt) {
      out.push({
        problem: `${what} has row-level security disabled again at ${where(t.disabledAt)}`,
        fix: `remove the DISABLE ROW LEVEL SECURITY at ${where(t.disabledAt)}`,
      });
    } else if (!t.rls) {
      out.push({
        problem: `${what} never gets ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY`,
        fix: `add ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY; after it is created`,
      });
    }
    if (t.policies.size === 0) {
      out.push({
        problem: `${what} has no policy (CREATE POLICY ... ON ${name}), so the API can read none or all of it`,
        fix: `add a policy, e.g. CREATE POLICY owner_reads ON ${name} FOR SELECT TO authenticated USING (owner_id = (SELECT auth.uid()))`,
      });
    }
  }
  for (const v of catalog.views.values()) {
    if (!catalog.exposed.has(v.schema)) continue;
    const name = qualified(v.schema, v.name);
    if (v.materialized) {
      out.push({
        problem: `materialized view ${name} created at ${where(v.created)} is in an exposed schema; materialized views cannot have row-level security`,
        fix: "create it in a schema the API does not expose and expose a security_invoker view or a function instead",
      });
    } else if (!v.securityInvoker) {
      out.push({
        problem: `view ${name} created at ${where(v.created)} is not security_invoker, so it bypasses the row-level security of its tables`,
        fix: `create it WITH (security_invoker = true), or ALTER VIEW ${name} SET (security_invoker = true)`,
      });
    }
  }
  return out;
}
