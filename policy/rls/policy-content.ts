/**
 * What a row-level security policy admits, read from its expressions as the parser gives them: a
 * policy that opens every row to anon, a write policy that lets clients write or delete any row, and a
 * policy that trusts user_metadata, which every user edits about themselves. The database guard
 * (components/rls-guard.ts) applies the same rules to pg_policy.
 */
import { Node } from "libpg-query";
import { EXEMPTIONS, exempts } from "../../components/rls-guard";
import { Finding } from "../lib/framework";
import { Policy } from "./catalog";
import { quoteIdent, sval, where } from "./parse";

const TRUE_TEXT = new Set(["t", "true", "y", "yes", "on", "1"]);

/** An expression that is true whatever the row: `true`, `'t'::boolean`, `1 = 1`. A missing one admits nothing. */
export function alwaysTrue(node: Node | undefined): boolean {
  const n = node as Record<string, Record<string, unknown>> | undefined;
  if (!n) return false;
  if (n.A_Const) return (n.A_Const.boolval as { boolval?: boolean } | undefined)?.boolval === true;
  if (n.TypeCast) {
    const names = ((n.TypeCast.typeName as { names?: Node[] } | undefined)?.names ?? []).map(sval);
    const text = sval(n.TypeCast.arg as Node);
    return (
      ["bool", "boolean"].includes(names[names.length - 1] ?? "") &&
      text !== undefined &&
      TRUE_TEXT.has(text.toLowerCase())
    );
  }
  if (n.A_Expr) {
    const e = n.A_Expr as { kind?: string; name?: Node[]; lexpr?: Node; rexpr?: Node };
    const constant = (c: Node | undefined) =>
      JSON.stringify(
        (c as { A_Const?: { ival?: unknown; sval?: unknown } })?.A_Const?.ival ??
          (c as { A_Const?: { sval?: unknown } })?.A_Const?.sval ??
          null,
      );
    return (
      e.kind === "AEXPR_OP" &&
      sval(e.name?.[0]) === "=" &&
      constant(e.lexpr) !== "null" &&
      constant(e.lexpr) === constant(e.rexpr)
    );
  }
  if (n.BoolExpr) {
    const b = n.BoolExpr as { boolop?: string; args?: Node[] };
    if (b.boolop === "OR_EXPR") return (b.args ?? []).some(alwaysTrue);
    if (b.boolop === "AND_EXPR") return (b.args ?? []).every(alwaysTrue);
  }
  return false;
}

/** The expression mentions user_metadata (auth.jwt() -> 'user_metadata', #>> '{user_metadata,...}', raw_user_meta_data). */
export function readsUserMetadata(node: unknown): boolean {
  if (typeof node === "string") return node.includes("user_meta");
  if (Array.isArray(node)) return node.some(readsUserMetadata);
  return !!node && typeof node === "object" && Object.values(node).some(readsUserMetadata);
}

/** An exemption the rules honour, reported as advisory so that it is never silent. */
export const exemptionNotice = (what: string, comment: string): Finding => ({
  problem: `${what}, exempted by its comment ${JSON.stringify(comment)}`,
  fix: "keep the reason true; when it no longer holds, fix the object and drop the comment",
  advisory: true,
});

const appliesTo = (policy: Policy, roles: string[]) => policy.roles.some((r) => r === "public" || roles.includes(r));

/** Findings about one policy's content; `table` is already quoted. */
export function policyFindings(name: string, table: string, policy: Policy): Finding[] {
  const what = `policy ${quoteIdent(name)} on ${table} created at ${where(policy.at)}`;
  const out: Finding[] = [];
  const { cmd, qual, withCheck } = policy;
  const opensReads =
    policy.permissive && ["all", "select"].includes(cmd) && appliesTo(policy, ["anon"]) && alwaysTrue(qual);
  if (opensReads && exempts(policy.comment, EXEMPTIONS.publicRead)) {
    out.push(exemptionNotice(`${what} lets anon read every row`, policy.comment ?? ""));
  } else if (opensReads) {
    out.push({
      problem: `${what} lets anon read every row (permissive, ${policy.roles.includes("anon") ? "TO anon" : "for PUBLIC"}, USING is always true)`,
      fix: `USING (<a condition on the row>), or TO authenticated with an owner check such as USING (owner_id = (SELECT auth.uid())); for data meant to be public, COMMENT ON POLICY ${quoteIdent(name)} ON ${table} IS 'northstack:${EXEMPTIONS.publicRead}: <why>'`,
    });
  }
  // A missing WITH CHECK admits nothing on INSERT; UPDATE and ALL check new rows with USING instead.
  const writesAny =
    (["all", "insert", "update"].includes(cmd) &&
      (alwaysTrue(withCheck) || (!withCheck && cmd !== "insert" && alwaysTrue(qual)))) ||
    (["all", "update", "delete"].includes(cmd) && alwaysTrue(qual));
  const opensWrites = policy.permissive && writesAny && appliesTo(policy, ["anon", "authenticated"]);
  if (opensWrites && exempts(policy.comment, EXEMPTIONS.openWrite)) {
    out.push(exemptionNotice(`${what} lets anon or authenticated write or delete any row`, policy.comment ?? ""));
  } else if (opensWrites) {
    out.push({
      problem: `${what} lets anon or authenticated write or delete any row (permissive ${cmd.toUpperCase()} policy whose WITH CHECK or USING is always true)`,
      fix: `USING (owner_id = (SELECT auth.uid())) WITH CHECK (owner_id = (SELECT auth.uid())), or, if anyone may write anything, COMMENT ON POLICY ${quoteIdent(name)} ON ${table} IS 'northstack:${EXEMPTIONS.openWrite}: <why>'`,
    });
  }
  if (readsUserMetadata(qual) || readsUserMetadata(withCheck)) {
    out.push({
      problem: `${what} reads user_metadata, which every user can edit about themselves`,
      fix: "decide on app_metadata (only the server sets it), or on a table of your own, not on user_metadata",
    });
  }
  return out;
}
