/**
 * The verdict on a migration set once every file has been followed, by the rules the database guard
 * (components/rls-guard.ts) applies to the catalog: each table in an exposed schema ends with row-level
 * security enabled and at least one policy whose content does not open every row; each exposed view is
 * security_invoker and does not read auth.users; materialized views and foreign tables there are not
 * granted to clients; no extension lives there; SECURITY DEFINER functions there are not executable by
 * clients without a reasoned exemption; functions set their own search_path. Problems met on the way
 * (files that do not parse, what cannot be verified) come first.
 */
import { EXEMPTIONS, SERVICE_SCHEMAS, exempts } from "../../components/rls-guard";
import { Finding } from "../lib/framework";
import { Catalog, clientsMayTouch } from "./catalog";
import { qualified, where } from "./parse";
import { exemptionNotice, policyFindings } from "./policy-content";
import { Routines } from "./routines";

const REVOKE_FIX = (kind: string, name: string) =>
  `REVOKE ALL ON ${name} FROM PUBLIC, anon, authenticated; or create the ${kind} in a schema the API does not expose`;

export function verdict(catalog: Catalog, routines: Routines, problems: readonly Finding[]): Finding[] {
  const out = [...problems];
  for (const t of catalog.tables.values()) {
    if (!catalog.exposed.has(t.schema)) continue;
    const name = qualified(t.schema, t.name);
    if (t.foreign) {
      if (clientsMayTouch(t.grants))
        out.push({
          problem: `foreign table ${name} created at ${where(t.created)} is granted to anon or authenticated, and a foreign table cannot have row-level security (ENABLE ROW LEVEL SECURITY fails on it)`,
          fix: REVOKE_FIX("foreign table", name),
        });
      continue;
    }
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
    for (const [policyName, policy] of t.policies) out.push(...policyFindings(policyName, name, policy));
  }
  for (const v of catalog.views.values()) {
    if (!catalog.exposed.has(v.schema)) continue;
    const name = qualified(v.schema, v.name);
    if (v.readsAuthUsers) {
      out.push({
        problem: `${v.materialized ? "materialized view" : "view"} ${name} created at ${where(v.created)} reads auth.users, putting every user's e-mail address and metadata in the API`,
        fix: "copy what clients may see into a table of your own (e.g. public.profiles, with RLS), or create the view in a schema the API does not expose",
      });
    }
    if (v.materialized) {
      if (clientsMayTouch(v.grants))
        out.push({
          problem: `materialized view ${name} created at ${where(v.created)} is granted to anon or authenticated, and a materialized view cannot have row-level security`,
          fix: REVOKE_FIX("materialized view", name),
        });
    } else if (!v.securityInvoker) {
      out.push({
        problem: `view ${name} created at ${where(v.created)} is not security_invoker, so it bypasses the row-level security of its tables`,
        fix: `create it WITH (security_invoker = true), or ALTER VIEW ${name} SET (security_invoker = true)`,
      });
    }
  }
  for (const e of routines.extensions.values()) {
    if (!catalog.exposed.has(e.schema)) continue;
    out.push({
      problem: `extension ${e.name} created at ${where(e.created)} is installed in exposed schema ${e.schema}, so its functions and tables are part of the API`,
      fix: `CREATE EXTENSION ${e.name} WITH SCHEMA extensions (or ALTER EXTENSION ${e.name} SET SCHEMA extensions)`,
    });
  }
  for (const fn of routines.functions.values()) {
    const name = qualified(fn.schema, fn.name);
    const exposed = catalog.exposed.has(fn.schema);
    const what = `function ${name} created at ${where(fn.created)}`;
    const who = [...fn.executors].map((r) => (r === "public" ? "PUBLIC (so anon)" : r)).join(", ");
    if (exposed && fn.securityDefiner && fn.executors.size > 0 && exempts(fn.comment, EXEMPTIONS.securityDefiner)) {
      out.push(exemptionNotice(`${what} is SECURITY DEFINER and ${who} may execute it`, fn.comment ?? ""));
    } else if (exposed && fn.securityDefiner && fn.executors.size > 0) {
      out.push({
        problem: `${what} is SECURITY DEFINER, so it runs past row-level security with its owner's rights, and ${who} may execute it through the API`,
        fix: `REVOKE EXECUTE ON FUNCTION ${name} FROM PUBLIC, anon, authenticated; or make it SECURITY INVOKER; or, if clients must call it, COMMENT ON FUNCTION ${name} IS 'northstack:${EXEMPTIONS.securityDefiner}: <why it is safe>'`,
      });
    }
    const system = fn.schema.startsWith("pg_") || SERVICE_SCHEMAS.includes(fn.schema);
    if (!fn.compiled && !fn.setsSearchPath && (exposed || (fn.securityDefiner && !system))) {
      out.push({
        problem: `${what} ${fn.securityDefiner ? "is SECURITY DEFINER and" : "is in an exposed schema and"} has no search_path of its own, so the caller's search_path decides what its unqualified names mean`,
        fix: `add SET search_path = '' to ${name} (and schema-qualify the names in its body), or SET search_path = <schemas>`,
      });
    }
  }
  return out;
}
