/**
 * EXECUTE expressions: the SQL text they build, where its shape is fixed by constants. Identifiers and
 * literals known only at run time become markers, so the built SQL still parses and the statements
 * that follow it can tell a run-time name from a known one.
 */
import { Node } from "libpg-query";
import * as pg from "libpg-query";
import { quoteIdent, sval } from "./parse";

/** Stands in for an identifier or literal that EXECUTE only knows at run time. */
export const DYNAMIC = "northstack_run_time_value_";
export const hasMarker = (s: string | undefined) => s !== undefined && s.includes(DYNAMIC);
/** Text with its run-time markers shown as such, for messages. */
export const display = (s: string) => s.replace(new RegExp(`${DYNAMIC}\\d*`, "g"), "<run-time value>");

/** Constant text, or an identifier or literal known only at run time. */
export type Piece = { readonly text: string } | { readonly ident: true } | { readonly literal: true };

const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

export function constText(pieces: Piece[] | undefined): string | undefined {
  if (!pieces || !pieces.every((p) => "text" in p)) return undefined;
  return pieces.map((p) => (p as { text: string }).text).join("");
}

/** format()'s %[n$][-][width]{s,I,L,%} over constant or placeholder arguments. */
function evalFormat(template: string, args: (Piece[] | undefined)[]): Piece[] | undefined {
  const out: Piece[] = [];
  let next = 0;
  const spec = /%(?:(\d+)\$)?-?(?:\d+|\*)?([sIL%])/g;
  let last = 0;
  for (let m = spec.exec(template); m; m = spec.exec(template)) {
    out.push({ text: template.slice(last, m.index) });
    last = m.index + m[0].length;
    if (m[2] === "%") {
      out.push({ text: "%" });
      continue;
    }
    const index = m[1] !== undefined ? Number(m[1]) - 1 : next;
    next = index + 1;
    const arg = args[index];
    const text = constText(arg);
    if (m[2] === "I") out.push(text !== undefined ? { text: quoteIdent(text) } : { ident: true });
    else if (m[2] === "L") out.push(text !== undefined ? { text: quoteLiteral(text) } : { literal: true });
    else if (arg) out.push(...arg);
    else return undefined;
  }
  out.push({ text: template.slice(last) });
  return out;
}

/** The pieces an expression evaluates to, or undefined when any part is arbitrary run-time text. */
export function evalExpression(node: Node | undefined): Piece[] | undefined {
  const n = node as Record<string, Record<string, unknown>> | undefined;
  if (!n) return undefined;
  if (n.A_Const) {
    const c = n.A_Const as { sval?: { sval?: string }; ival?: { ival?: number }; fval?: { fval?: string } };
    if (c.sval) return [{ text: c.sval.sval ?? "" }];
    if (c.ival) return [{ text: String(c.ival.ival ?? 0) }];
    if (c.fval) return [{ text: String(c.fval.fval) }];
    return undefined;
  }
  if (n.TypeCast) return evalExpression(n.TypeCast.arg as Node);
  if (n.A_Expr) {
    const e = n.A_Expr as { kind?: string; name?: Node[]; lexpr?: Node; rexpr?: Node };
    if (e.kind !== "AEXPR_OP" || sval(e.name?.[e.name.length - 1]) !== "||") return undefined;
    const l = evalExpression(e.lexpr);
    const r = evalExpression(e.rexpr);
    return l && r ? [...l, ...r] : undefined;
  }
  if (n.FuncCall) {
    const f = n.FuncCall as { funcname?: Node[]; args?: Node[] };
    const name = sval(f.funcname?.[f.funcname.length - 1]);
    const args = (f.args ?? []).map(evalExpression);
    switch (name) {
      case "quote_ident": {
        const text = constText(args[0]);
        return text !== undefined ? [{ text: quoteIdent(text) }] : [{ ident: true }];
      }
      case "quote_literal":
      case "quote_nullable": {
        const text = constText(args[0]);
        return text !== undefined ? [{ text: quoteLiteral(text) }] : [{ literal: true }];
      }
      case "concat":
        return args.every((a) => a !== undefined) ? args.flatMap((a) => a as Piece[]) : undefined;
      case "format": {
        const template = constText(args[0]);
        return template === undefined ? undefined : evalFormat(template, args.slice(1));
      }
      default:
        return undefined;
    }
  }
  return undefined;
}

/** The SQL an EXECUTE expression runs, with run-time identifiers and literals replaced by markers. */
export function executedSql(expression: string): { sql: string; dynamic: boolean } | undefined {
  let parsed;
  try {
    parsed = pg.parseSync(`SELECT ${expression}`);
  } catch {
    return undefined;
  }
  const select = parsed.stmts?.[0]?.stmt as { SelectStmt?: { targetList?: Node[] } } | undefined;
  const target = select?.SelectStmt?.targetList;
  if (parsed.stmts?.length !== 1 || target?.length !== 1) return undefined;
  const pieces = evalExpression((target[0] as { ResTarget?: { val?: Node } }).ResTarget?.val);
  if (!pieces) return undefined;
  let n = 0;
  const sql = pieces
    .map((p) => ("text" in p ? p.text : "ident" in p ? `${DYNAMIC}${++n}` : `'${DYNAMIC}${++n}'`))
    .join("");
  return { sql, dynamic: n > 0 };
}
