/**
 * PostgreSQL's own parser (libpg_query, WASM) and what the analyser reads from its output: node values,
 * statement options, and source lines for messages.
 */
import { Node } from "libpg-query";
import * as pg from "libpg-query";

/** Where a statement starts: file name and 1-based line. */
export interface Location {
  readonly file: string;
  readonly line: number;
}

let loading: Promise<void> | undefined;
/** The parser is WASM: load it once, before the first parse. */
export function loadParser(): Promise<void> {
  loading ??= pg.loadModule();
  return loading;
}

/** An identifier as it would be written in SQL. */
export function quoteIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}
export const qualified = (schema: string, name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;
export const where = (l: Location) => `${l.file}:${l.line}`;

/** The text of a string constant or String node. */
export const sval = (node: Node | undefined): string | undefined => {
  const n = node as { A_Const?: { sval?: { sval?: string } }; String?: { sval?: string } } | undefined;
  return n?.A_Const?.sval?.sval ?? n?.String?.sval;
};

/** The boolean a reloption DefElem sets: `security_invoker`, `= true`, `= on`, `= 1`. */
function optionIsTrue(arg: Node | undefined): boolean {
  if (arg === undefined) return true;
  const a = arg as { String?: { sval?: string }; Integer?: { ival?: number }; Boolean?: { boolval?: boolean } };
  if (a.String?.sval !== undefined) return ["true", "on", "yes", "1"].includes(a.String.sval.toLowerCase());
  if (a.Integer) return (a.Integer.ival ?? 0) !== 0;
  if (a.Boolean) return a.Boolean.boolval === true;
  return false;
}

export function securityInvokerOption(options: Node[] | undefined): boolean | undefined {
  for (const o of options ?? []) {
    const def = (o as { DefElem?: { defname?: string; arg?: Node } }).DefElem;
    if (def?.defname === "security_invoker") return optionIsTrue(def.arg);
  }
  return undefined;
}

export function option(options: unknown, name: string): Node | undefined {
  for (const o of (options as Node[] | undefined) ?? []) {
    const def = (o as { DefElem?: { defname?: string; arg?: Node } }).DefElem;
    if (def?.defname === name) return def.arg;
  }
  return undefined;
}

export function constBool(node: Node | undefined): boolean | undefined {
  const c = node as { A_Const?: { boolval?: { boolval?: boolean } }; TypeCast?: { arg?: Node } } | undefined;
  if (c?.A_Const?.boolval) return c.A_Const.boolval.boolval === true;
  const text = sval(node) ?? sval(c?.TypeCast?.arg);
  if (text === undefined) return undefined;
  if (["true", "t", "on", "yes", "1"].includes(text.toLowerCase())) return true;
  if (["false", "f", "off", "no", "0"].includes(text.toLowerCase())) return false;
  return undefined;
}

export function nameParts(o: Node): string[] {
  const items = (o as { List?: { items?: Node[] } }).List?.items ?? [o];
  return items.map(sval).filter((s): s is string => s !== undefined);
}
