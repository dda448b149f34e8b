/**
 * Follows one migration set through the real PostgreSQL parser, the way the migration job applies it
 * (components/migrations.ts: `psql --single-transaction -f` per file, so each file is a new session
 * inside one transaction), and reports every table in an API-exposed schema that does not end the set
 * with row-level security enabled and at least one policy, every exposed view that is not
 * security_invoker, every file that does not parse, and everything it cannot verify.
 *
 * Names resolve like PostgreSQL resolves them: quoted identifiers keep their case; unqualified names go
 * through the search_path in effect (SET [LOCAL], set_config, reset per session, SET LOCAL ending with
 * its transaction) to the first schema on it that exists (created by the migrations or built in; a
 * schema the migrations never create may or may not exist, and a table is then taken to land in the
 * exposed candidate). PL/pgSQL bodies of DO blocks are parsed and their static SQL followed; EXECUTE of
 * a constant string is parsed and followed; EXECUTE of format()/quote_ident()/|| over a constant
 * template is followed with its run-time identifiers as unknowns; anything else that could create,
 * alter or drop tables or change row-level security at run time (other dynamic SQL, DDL inside
 * functions, DO blocks in other languages) is reported as "cannot verify". Conditional PL/pgSQL
 * branches are followed as if taken, so idempotent guards (IF NOT EXISTS ... THEN CREATE ...) count.
 */
import { Node, RangeVar } from "libpg-query";
import * as pg from "libpg-query";
import type { MigrationFile } from "../../components/migrations";
import { Finding } from "../lib/framework";

interface Location {
  readonly file: string;
  readonly line: number;
}

interface Table {
  readonly schema: string;
  readonly name: string;
  readonly created: Location;
  readonly partitionOf?: string;
  /** Why an unqualified name was placed in this schema, when the search_path left a choice. */
  readonly placement?: string;
  rls: boolean;
  disabledAt?: Location;
  readonly policies: Set<string>;
}

interface View {
  readonly schema: string;
  readonly name: string;
  readonly created: Location;
  readonly materialized: boolean;
  securityInvoker: boolean;
}

/** A search_path, or null when it was set from a value known only at run time. */
type SearchPath = readonly string[] | null;

/** A function or procedure body: its DDL runs whenever it is called, not when it is created. */
interface FunctionScope {
  readonly name: string;
  readonly at: Location;
  searchPath: SearchPath;
}

interface Scope {
  /** SQL built at run time (EXECUTE format(...)): names containing DYNAMIC are unknown. */
  readonly dynamic?: string;
  readonly fn?: FunctionScope;
}

/** A relation (or a whole schema, name "*") a statement creates, changes or drops. */
interface Target {
  readonly schema?: string;
  readonly name: string;
  readonly what: string;
}

const DEFAULT_SEARCH_PATH = ["$user", "public"];
/** Schemas every PostgreSQL 15 database has. */
const BUILTIN_SCHEMAS = ["public", "pg_catalog", "information_schema"];
/** Stands in for an identifier or literal that EXECUTE only knows at run time. */
const DYNAMIC = "northstack_run_time_value_";
const hasMarker = (s: string | undefined) => s !== undefined && s.includes(DYNAMIC);
const TRUSTED_BODY_LANGUAGES = new Set(["c", "internal"]);

const STATIC_DDL_FIX = "write the DDL as static SQL in the migration, with every schema and table name spelled out";

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
const qualified = (schema: string, name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;
const keyOf = (schema: string, name: string) => `${schema}\u0000${name}`;
const where = (l: Location) => `${l.file}:${l.line}`;
const display = (s: string) => s.replace(new RegExp(`${DYNAMIC}\\d*`, "g"), "<run-time value>");
const describe = (t: Target) => display(t.name === "*" ? `schema ${t.schema}` : t.schema ? `${t.schema}.${t.name}` : t.name);
const showPath = (path: readonly string[]) => path.join(", ");

/** search_path text as set_config takes it: 'a, "B", $user'. */
function parseSearchPathText(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s.toLowerCase()));
}

const sval = (node: Node | undefined): string | undefined => {
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

function securityInvokerOption(options: Node[] | undefined): boolean | undefined {
  for (const o of options ?? []) {
    const def = (o as { DefElem?: { defname?: string; arg?: Node } }).DefElem;
    if (def?.defname === "security_invoker") return optionIsTrue(def.arg);
  }
  return undefined;
}

/** Offsets of line starts, to turn parser byte locations into line numbers. */
function lineStarts(sql: string): { bytes: Buffer; starts: number[] } {
  const bytes = Buffer.from(sql, "utf8");
  const starts = [0];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) starts.push(i + 1);
  return { bytes, starts };
}
function lineOf(starts: number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}

/** Statement locations include the blank lines and comments before the statement; skip them. */
function firstToken(bytes: Buffer, offset: number): number {
  let i = offset;
  while (i < bytes.length) {
    if (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d) i++;
    else if (bytes[i] === 0x2d && bytes[i + 1] === 0x2d) while (i < bytes.length && bytes[i] !== 0x0a) i++;
    else if (bytes[i] === 0x2f && bytes[i + 1] === 0x2a) {
      const end = bytes.indexOf("*/", i + 2);
      i = end < 0 ? bytes.length : end + 2;
    } else break;
  }
  return i;
}

// ---------------------------------------------------------------------------------------------
// EXECUTE expressions: the SQL text they build, where its shape is fixed by constants.

type Piece = { readonly text: string } | { readonly ident: true } | { readonly literal: true };

const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

function constText(pieces: Piece[] | undefined): string | undefined {
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
function evalExpression(node: Node | undefined): Piece[] | undefined {
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
  const sql = pieces.map((p) => ("text" in p ? p.text : "ident" in p ? `${DYNAMIC}${++n}` : `'${DYNAMIC}${++n}'`)).join("");
  return { sql, dynamic: n > 0 };
}

// ---------------------------------------------------------------------------------------------
// What a statement touches, for DDL whose effect cannot be followed (functions, run-time names).

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
function onlyAddsProtection(kind: string, body: Record<string, unknown>): boolean {
  if (kind === "CreatePolicyStmt") return true;
  if (kind !== "AlterTableStmt") return false;
  const subtypes = ((body.cmds as Node[] | undefined) ?? []).map((c) => String((c as { AlterTableCmd?: { subtype?: string } }).AlterTableCmd?.subtype));
  const rls = subtypes.filter((t) => t in RLS_SUBTYPES);
  return rls.length > 0 && rls.every((t) => PROTECTIVE_RLS_SUBTYPES.has(t));
}

function nameParts(o: Node): string[] {
  const items = (o as { List?: { items?: Node[] } }).List?.items ?? [o];
  return items.map(sval).filter((s): s is string => s !== undefined);
}

function relationTargets(kind: string, body: Record<string, unknown>): Target[] {
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
      return rv((body.into as { rel?: RangeVar } | undefined)?.rel, body.objtype === "OBJECT_MATVIEW" ? "CREATE MATERIALIZED VIEW" : "CREATE TABLE AS");
    case "SelectStmt":
      return rv((body.intoClause as { rel?: RangeVar } | undefined)?.rel, "SELECT INTO");
    case "ViewStmt":
      return rv(body.view, "CREATE VIEW");
    case "AlterTableStmt": {
      const subtypes = ((body.cmds as Node[] | undefined) ?? []).map((c) => RLS_SUBTYPES[String((c as { AlterTableCmd?: { subtype?: string } }).AlterTableCmd?.subtype)]).filter(Boolean);
      return subtypes.length ? rv(body.relation, `ALTER TABLE ... ${subtypes.join(", ")}`) : [];
    }
    case "CreatePolicyStmt":
      return rv(body.table, "CREATE POLICY");
    case "AlterPolicyStmt":
      return rv(body.table, "ALTER POLICY");
    case "RenameStmt":
      if (body.renameType === "OBJECT_SCHEMA") return [{ schema: String(body.subname), name: "*", what: "ALTER SCHEMA ... RENAME" }, { schema: String(body.newname), name: "*", what: "ALTER SCHEMA ... RENAME" }];
      return RELATION_OBJECTS[String(body.renameType)] ? rv(body.relation, `ALTER ${RELATION_OBJECTS[String(body.renameType)]} ... RENAME`) : [];
    case "AlterObjectSchemaStmt": {
      const rel = body.relation as RangeVar | undefined;
      return rel ? [...rv(rel, "ALTER ... SET SCHEMA"), { schema: String(body.newschema), name: rel.relname ?? "", what: "ALTER ... SET SCHEMA" }] : [];
    }
    case "DropStmt": {
      const objects = ((body.objects as Node[] | undefined) ?? []).map(nameParts);
      if (body.removeType === "OBJECT_SCHEMA") return objects.map(([schema]) => ({ schema, name: "*", what: "DROP SCHEMA" }));
      const type = RELATION_OBJECTS[String(body.removeType)];
      if (!type) return [];
      return objects.map((parts) => {
        const rel = body.removeType === "OBJECT_POLICY" ? parts.slice(0, -1) : parts;
        return { schema: rel.length > 1 ? rel[rel.length - 2] : undefined, name: rel[rel.length - 1] ?? "", what: `DROP ${type}` };
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

function option(options: unknown, name: string): Node | undefined {
  for (const o of (options as Node[] | undefined) ?? []) {
    const def = (o as { DefElem?: { defname?: string; arg?: Node } }).DefElem;
    if (def?.defname === name) return def.arg;
  }
  return undefined;
}

function constBool(node: Node | undefined): boolean | undefined {
  const c = (node as { A_Const?: { boolval?: { boolval?: boolean } }; TypeCast?: { arg?: Node } } | undefined);
  if (c?.A_Const?.boolval) return c.A_Const.boolval.boolval === true;
  const text = sval(node) ?? sval(c?.TypeCast?.arg);
  if (text === undefined) return undefined;
  if (["true", "t", "on", "yes", "1"].includes(text.toLowerCase())) return true;
  if (["false", "f", "off", "no", "0"].includes(text.toLowerCase())) return false;
  return undefined;
}

// ---------------------------------------------------------------------------------------------

class MigrationState {
  readonly tables = new Map<string, Table>();
  readonly views = new Map<string, View>();
  readonly problems: Finding[] = [];
  /** Schemas known to exist (created, built in) or not (dropped); others may or may not. */
  private readonly schemas = new Map<string, boolean>(BUILTIN_SCHEMAS.map((s) => [s, true]));
  private session: SearchPath = DEFAULT_SEARCH_PATH;
  private local: SearchPath | undefined;
  private inTransaction = false;
  private sessionAtBegin: SearchPath = DEFAULT_SEARCH_PATH;
  /** CREATE SCHEMA x CREATE TABLE t ...: elements land in x. */
  private elementSchema: string | undefined;

  constructor(private readonly exposed: ReadonlySet<string>) {}

  /** Each file is its own psql session, wrapped in one transaction (--single-transaction). */
  startFile(): void {
    this.session = DEFAULT_SEARCH_PATH;
    this.local = undefined;
    this.inTransaction = true;
    this.sessionAtBegin = DEFAULT_SEARCH_PATH;
  }

  private get searchPath(): SearchPath {
    if (this.elementSchema !== undefined) return [this.elementSchema];
    return this.local !== undefined ? this.local : this.session;
  }

  private problem(problem: string, fix: string): void {
    this.problems.push({ problem, fix });
  }

  /** Schemas an unqualified CREATE may land in: up to the first on the path known to exist. */
  private creationCandidates(path: readonly string[]): string[] {
    const candidates: string[] = [];
    for (const schema of path) {
      if (schema === "$user" || schema.startsWith("pg_temp")) continue;
      const exists = this.schemas.get(schema);
      if (exists === false) continue;
      candidates.push(schema);
      if (exists === true) break;
    }
    return candidates;
  }

  /** Where CREATE puts `rel`, or undefined when PostgreSQL would not create it (or we cannot tell). */
  private creationTarget(rel: RangeVar, at: Location): { key: string; placement?: string } | undefined {
    const name = rel.relname ?? "";
    if (rel.schemaname) return { key: keyOf(rel.schemaname, name) };
    const path = this.searchPath;
    if (path === null) {
      this.problem(
        `${where(at)} creates ${quoteIdent(name)} without a schema while search_path was set from a run-time value, so which schema it lands in cannot be verified`,
        `schema-qualify the name (e.g. public.${quoteIdent(name)}) or set search_path to a constant`,
      );
      return undefined;
    }
    const candidates = this.creationCandidates(path);
    if (candidates.length === 0) return undefined;
    const schema = candidates.find((s) => this.exposed.has(s)) ?? candidates[candidates.length - 1];
    if (candidates.length === 1) return { key: keyOf(schema, name) };
    const unsure = candidates.filter((s) => this.schemas.get(s) !== true);
    return {
      key: keyOf(schema, name),
      placement: `search_path ${showPath(path)}; ${unsure.join(", ")} ${unsure.length > 1 ? "are" : "is"} not created by these migrations, so it is taken to land in ${schema}`,
    };
  }

  /** The table or view an unqualified name refers to: the first schema on the path that has it. */
  private lookup(rel: RangeVar): string | undefined {
    const name = rel.relname ?? "";
    if (rel.schemaname) return keyOf(rel.schemaname, name);
    for (const schema of this.searchPath ?? []) {
      const key = keyOf(schema, name);
      if (this.tables.has(key) || this.views.has(key)) return key;
    }
    return undefined;
  }

  private createTable(rel: RangeVar | undefined, at: Location, ifNotExists: boolean, partitionOf?: RangeVar): void {
    if (!rel || rel.relpersistence === "t") return;
    const target = this.creationTarget(rel, at);
    if (!target) return;
    if (ifNotExists && this.tables.has(target.key)) return;
    const [schema, name] = target.key.split("\u0000");
    const parentKey = partitionOf && this.lookup(partitionOf);
    const parent = parentKey ? this.tables.get(parentKey) : undefined;
    this.tables.set(target.key, {
      schema,
      name,
      created: at,
      rls: false,
      policies: new Set(),
      partitionOf: parent ? qualified(parent.schema, parent.name) : undefined,
      placement: target.placement,
    });
  }

  private createView(rel: RangeVar | undefined, at: Location, materialized: boolean, securityInvoker: boolean): void {
    if (!rel || rel.relpersistence === "t") return;
    const target = this.creationTarget(rel, at);
    if (!target) return;
    const [schema, name] = target.key.split("\u0000");
    this.views.set(target.key, { schema, name, created: at, materialized, securityInvoker });
  }

  private move(fromKey: string, toSchema: string, toName: string): void {
    const table = this.tables.get(fromKey);
    if (table) {
      this.tables.delete(fromKey);
      this.tables.set(keyOf(toSchema, toName), { ...table, schema: toSchema, name: toName });
    }
    const view = this.views.get(fromKey);
    if (view) {
      this.views.delete(fromKey);
      this.views.set(keyOf(toSchema, toName), { ...view, schema: toSchema, name: toName });
    }
  }

  /** A list of name parts (DROP objects) resolved like a RangeVar. */
  private lookupNames(parts: string[]): string | undefined {
    const name = parts[parts.length - 1];
    return this.lookup(parts.length > 1 ? { schemaname: parts[parts.length - 2], relname: name } : { relname: name });
  }

  private setSearchPath(value: SearchPath, isLocal: boolean, scope: Scope): void {
    if (value?.some(hasMarker)) value = null;
    if (scope.fn) {
      scope.fn.searchPath = value;
    } else if (isLocal) {
      // SET LOCAL outside a transaction block only warns.
      if (this.inTransaction) this.local = value;
    } else {
      this.session = value;
      this.local = undefined;
    }
  }

  private variableSet(body: Record<string, unknown>, scope: Scope): void {
    if (body.name !== "search_path" && body.kind !== "VAR_RESET_ALL") return;
    const isLocal = body.is_local === true;
    if (body.kind === "VAR_SET_VALUE") this.setSearchPath(((body.args as Node[] | undefined) ?? []).map((a) => sval(a) ?? DYNAMIC), isLocal, scope);
    else if (body.kind === "VAR_SET_DEFAULT" || body.kind === "VAR_RESET" || body.kind === "VAR_RESET_ALL") this.setSearchPath(DEFAULT_SEARCH_PATH, isLocal, scope);
  }

  /** SELECT set_config('search_path', '...', is_local) in a select list. */
  private setConfigCalls(select: { targetList?: Node[] }, scope: Scope): void {
    for (const target of select.targetList ?? []) {
      const call = (target as { ResTarget?: { val?: { FuncCall?: { funcname?: Node[]; args?: Node[] } } } }).ResTarget?.val?.FuncCall;
      const fname = call?.funcname?.map(sval).pop();
      if (fname !== "set_config" || sval(call?.args?.[0]) !== "search_path") continue;
      const text = constText(evalExpression(call?.args?.[1]));
      const isLocal = constBool(call?.args?.[2]);
      this.setSearchPath(text === undefined || isLocal === undefined ? null : parseSearchPathText(text), isLocal ?? false, scope);
    }
  }

  private transaction(body: Record<string, unknown>): void {
    switch (body.kind) {
      case "TRANS_STMT_BEGIN":
      case "TRANS_STMT_START":
        if (!this.inTransaction) {
          this.inTransaction = true;
          this.sessionAtBegin = this.session;
        }
        break;
      case "TRANS_STMT_COMMIT":
      case "TRANS_STMT_PREPARE":
        this.local = undefined;
        this.inTransaction = body.chain === true;
        this.sessionAtBegin = this.session;
        break;
      case "TRANS_STMT_ROLLBACK":
        this.session = this.sessionAtBegin;
        this.local = undefined;
        this.inTransaction = body.chain === true;
        break;
      default:
        break;
    }
  }

  /** Could `t` be (or become) a relation in an exposed schema? */
  private mayBeExposed(t: Target, scope: Scope): boolean {
    if (t.schema !== undefined) return hasMarker(t.schema) || this.exposed.has(t.schema);
    const path = scope.fn ? scope.fn.searchPath : this.searchPath;
    return path === null || path.some((s) => hasMarker(s) || this.exposed.has(s));
  }

  /**
   * DDL that cannot be followed: inside a function (runs when called) or on a name built at run time.
   * Returns true when the statement was dealt with here.
   */
  private unfollowable(kind: string, body: Record<string, unknown>, at: Location, scope: Scope): boolean {
    if (!scope.fn && scope.dynamic === undefined) return false;
    // A policy, or RLS switched on, can only add protection: it is not credited to any table (each
    // table still needs its own, followable policy) and is no reason to doubt the migration set.
    if (onlyAddsProtection(kind, body)) return true;
    const targets = relationTargets(kind, body);
    const risky = targets.filter((t) => this.mayBeExposed(t, scope) && (scope.fn !== undefined || hasMarker(t.schema) || hasMarker(t.name)));
    const first = risky[0];
    if (first && scope.fn) {
      this.problem(
        `function ${scope.fn.name} created at ${where(scope.fn.at)} runs ${first.what} on ${describe(first)} (line ${at.line}) whenever it is called, so row-level security on what it creates or changes cannot be verified`,
        `create tables, views, policies and row-level security in the migrations as static SQL, not inside functions (or schema-qualify the DDL into a schema the API does not expose)`,
      );
    } else if (first) {
      this.problem(
        `EXECUTE at ${where(at)} runs ${first.what} on ${describe(first)}, a name known only at run time (${display(scope.dynamic ?? "")}), so row-level security on it cannot be verified`,
        STATIC_DDL_FIX,
      );
    }
    return risky.length > 0 || (scope.fn !== undefined && targets.length > 0);
  }

  /**
   * Parses SQL and applies its statements; `at` is where the SQL text starts. `what` names nested SQL
   * (a PL/pgSQL statement, an EXECUTE string) in messages; a top-level file has none.
   */
  applySql(sql: string, at: Location, scope: Scope, what?: string): void {
    const { bytes, starts } = lineStarts(sql);
    let statements;
    try {
      statements = pg.parseSync(sql).stmts ?? [];
    } catch (e) {
      const err = e as pg.SqlError;
      const offset = err.sqlDetails?.cursorPosition;
      let location = "";
      if (offset !== undefined && offset >= 0) {
        const line = lineOf(starts, offset);
        const column = bytes.subarray(starts[line - 1], offset).toString("utf8").length + 1;
        // The source line is not quoted: migrations may hold secrets (role passwords).
        location = ` at line ${at.line + line - 1}, column ${column}`;
      }
      this.problem(
        `${what ? `the ${what} at ${where(at)}` : at.file} does not parse: ${err.message}${location}, so what it creates cannot be verified`,
        "fix the SQL so that PostgreSQL's parser accepts it (psql reports the same error)",
      );
      return;
    }
    for (const s of statements) {
      if (!s.stmt) continue;
      const start = firstToken(bytes, s.stmt_location ?? 0);
      const end = s.stmt_len ? (s.stmt_location ?? 0) + s.stmt_len : bytes.length;
      this.apply(s.stmt, { file: at.file, line: at.line + lineOf(starts, start) - 1 }, scope, bytes.subarray(start, end).toString("utf8"));
    }
  }

  private apply(node: Node, at: Location, scope: Scope, text: string): void {
    const [kind, body] = Object.entries(node)[0] as [string, Record<string, unknown>];
    if (this.unfollowable(kind, body, at, scope)) return;
    if (scope.fn && !["VariableSetStmt", "SelectStmt", "DoStmt", "CreateFunctionStmt"].includes(kind)) return;
    switch (kind) {
      case "VariableSetStmt":
        this.variableSet(body, scope);
        break;
      case "TransactionStmt":
        this.transaction(body);
        break;
      case "SelectStmt":
        this.setConfigCalls(body, scope);
        if (!scope.fn && body.intoClause) this.createTable((body.intoClause as { rel?: RangeVar }).rel, at, false);
        break;
      case "CreateStmt": {
        const inherits = body.partbound ? ((body.inhRelations as Node[] | undefined)?.[0] as { RangeVar?: RangeVar } | undefined)?.RangeVar : undefined;
        this.createTable(body.relation as RangeVar, at, body.if_not_exists === true, inherits);
        break;
      }
      case "CreateForeignTableStmt":
        this.createTable((body.base as { relation?: RangeVar }).relation, at, false);
        break;
      case "CreateTableAsStmt": {
        const rel = (body.into as { rel?: RangeVar } | undefined)?.rel;
        if (body.objtype === "OBJECT_MATVIEW") this.createView(rel, at, true, false);
        else this.createTable(rel, at, body.if_not_exists === true);
        break;
      }
      case "ViewStmt":
        this.createView(body.view as RangeVar, at, false, securityInvokerOption(body.options as Node[]) ?? false);
        break;
      case "CreateSchemaStmt": {
        const schema = String(body.schemaname);
        if (hasMarker(schema)) break;
        this.schemas.set(schema, true);
        this.elementSchema = schema;
        try {
          for (const element of (body.schemaElts as Node[] | undefined) ?? []) this.apply(element, at, scope, text);
        } finally {
          this.elementSchema = undefined;
        }
        break;
      }
      case "AlterTableStmt":
        this.alterTable(body, at);
        break;
      case "CreatePolicyStmt": {
        const key = this.lookup(body.table as RangeVar);
        if (key) this.tables.get(key)?.policies.add(String(body.policy_name));
        break;
      }
      case "RenameStmt":
        this.rename(body);
        break;
      case "AlterObjectSchemaStmt":
        if (body.relation) {
          const rel = body.relation as RangeVar;
          const key = this.lookup(rel);
          if (key) this.move(key, String(body.newschema), rel.relname ?? "");
        }
        break;
      case "DropStmt":
        this.drop(body);
        break;
      case "DoStmt":
        this.doBlock(body, at, scope, text);
        break;
      case "CreateFunctionStmt":
        this.createFunction(body, at, scope, text);
        break;
      default:
        break;
    }
  }

  private alterTable(body: Record<string, unknown>, at: Location): void {
    const key = this.lookup(body.relation as RangeVar);
    const table = key ? this.tables.get(key) : undefined;
    const view = key ? this.views.get(key) : undefined;
    for (const c of (body.cmds as Node[] | undefined) ?? []) {
      const cmd = (c as { AlterTableCmd?: { subtype?: string; def?: Node } }).AlterTableCmd;
      if (!cmd) continue;
      if (table && cmd.subtype === "AT_EnableRowSecurity") table.rls = true;
      if (table && cmd.subtype === "AT_DisableRowSecurity") {
        table.rls = false;
        table.disabledAt = at;
      }
      if (view && (cmd.subtype === "AT_SetRelOptions" || cmd.subtype === "AT_ResetRelOptions")) {
        const items = (cmd.def as { List?: { items?: Node[] } } | undefined)?.List?.items;
        const setting = securityInvokerOption(items);
        if (setting !== undefined) view.securityInvoker = cmd.subtype === "AT_SetRelOptions" && setting;
      }
    }
  }

  private rename(body: Record<string, unknown>): void {
    if (body.renameType === "OBJECT_SCHEMA") {
      const from = String(body.subname);
      const to = String(body.newname);
      this.schemas.set(from, false);
      this.schemas.set(to, true);
      for (const [k, t] of [...this.tables]) if (t.schema === from) this.move(k, to, t.name);
      for (const [k, v] of [...this.views]) if (v.schema === from) this.move(k, to, v.name);
      return;
    }
    const rel = body.relation as RangeVar | undefined;
    const key = rel && this.lookup(rel);
    if (!key) return;
    if (body.renameType === "OBJECT_POLICY") {
      const policies = this.tables.get(key)?.policies;
      if (policies?.delete(String(body.subname))) policies.add(String(body.newname));
    } else if (["OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"].includes(String(body.renameType))) {
      this.move(key, key.split("\u0000")[0], String(body.newname));
    }
  }

  private drop(body: Record<string, unknown>): void {
    const objects = ((body.objects as Node[] | undefined) ?? []).map(nameParts);
    switch (body.removeType) {
      case "OBJECT_POLICY":
        for (const parts of objects) {
          const key = this.lookupNames(parts.slice(0, -1));
          if (key) this.tables.get(key)?.policies.delete(parts[parts.length - 1]);
        }
        break;
      case "OBJECT_TABLE":
      case "OBJECT_FOREIGN_TABLE":
        for (const parts of objects) {
          const key = this.lookupNames(parts);
          const table = key ? this.tables.get(key) : undefined;
          if (!key || !table) continue;
          this.tables.delete(key);
          const name = qualified(table.schema, table.name);
          for (const [k, t] of this.tables) if (t.partitionOf === name) this.tables.delete(k);
        }
        break;
      case "OBJECT_VIEW":
      case "OBJECT_MATVIEW":
        for (const parts of objects) {
          const key = this.lookupNames(parts);
          if (key) this.views.delete(key);
        }
        break;
      case "OBJECT_SCHEMA":
        for (const [schema] of objects) {
          this.schemas.set(schema, false);
          for (const [k, t] of this.tables) if (t.schema === schema) this.tables.delete(k);
          for (const [k, v] of this.views) if (v.schema === schema) this.views.delete(k);
        }
        break;
      default:
        break;
    }
  }

  private doBlock(body: Record<string, unknown>, at: Location, scope: Scope, text: string): void {
    const language = (sval(option(body.args, "language")) ?? "plpgsql").toLowerCase();
    if (language !== "plpgsql") {
      this.problem(
        `the DO block in language ${language} at ${where(at)} cannot be analysed, so what it creates or changes cannot be verified`,
        "write the migration as static SQL (or a PL/pgSQL DO block)",
      );
      return;
    }
    this.plpgsql(text, at, scope, "DO block");
  }

  private createFunction(body: Record<string, unknown>, at: Location, scope: Scope, text: string): void {
    const language = (sval(option(body.options, "language")) ?? (body.sql_body ? "sql" : "")).toLowerCase();
    const name = ((body.funcname as Node[] | undefined) ?? []).map(sval).join(".");
    const set = (option(body.options, "set") as { VariableSetStmt?: { name?: string; args?: Node[] } } | undefined)?.VariableSetStmt;
    const fn: FunctionScope = { name, at: scope.fn?.at ?? at, searchPath: set?.name === "search_path" ? (set.args ?? []).map((a) => sval(a) ?? DYNAMIC) : null };
    const inner: Scope = { ...scope, fn };
    if (language === "plpgsql") {
      this.plpgsql(text, at, inner, `function ${name}`);
    } else if (language === "sql") {
      const sqlBody = (body.sql_body as { List?: { items?: Node[] } } | undefined)?.List?.items;
      if (sqlBody) {
        for (const group of sqlBody) for (const stmt of (group as { List?: { items?: Node[] } }).List?.items ?? [group]) this.apply(stmt, at, inner, text);
      } else {
        const source = sval(((option(body.options, "as") as { List?: { items?: Node[] } } | undefined)?.List?.items ?? [])[0]);
        if (source !== undefined) this.applySql(source, at, inner, `body of function ${name}`);
      }
    } else if (!TRUSTED_BODY_LANGUAGES.has(language)) {
      this.problem(
        `function ${name} at ${where(at)} is written in ${language || "an unknown language"}, whose body cannot be analysed, so whether it creates tables or changes row-level security when called cannot be verified`,
        "write it in SQL or PL/pgSQL, and keep table DDL in the migrations as static SQL",
      );
    }
  }

  /** Parses a DO block or CREATE FUNCTION as PL/pgSQL and follows its statements. */
  private plpgsql(text: string, at: Location, scope: Scope, what: string): void {
    let functions: unknown[];
    try {
      functions = (pg.parsePlPgSQLSync(text) as { plpgsql_funcs?: unknown[] }).plpgsql_funcs ?? [];
    } catch (e) {
      this.problem(`the ${what} at ${where(at)} does not parse as PL/pgSQL (${(e as Error).message}), so what it creates cannot be verified`, "fix the PL/pgSQL so that PostgreSQL accepts it");
      return;
    }
    // PL/pgSQL line numbers count from the line the body's opening quote is on.
    const bodyStart = text.search(/\$[A-Za-z_0-9]*\$|'/);
    const bodyLine = at.line + (bodyStart > 0 ? text.slice(0, bodyStart).split("\n").length - 1 : 0);
    for (const f of functions) this.walkPlpgsql((f as { PLpgSQL_function?: { action?: unknown } }).PLpgSQL_function?.action, bodyLine, at.file, scope);
  }

  private walkPlpgsql(node: unknown, bodyLine: number, file: string, scope: Scope): void {
    if (Array.isArray(node)) {
      for (const n of node) this.walkPlpgsql(n, bodyLine, file, scope);
      return;
    }
    if (!node || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      const s = value as Record<string, unknown>;
      const at = { file, line: bodyLine + Number(s?.lineno ?? 1) - 1 };
      const query = (expr: unknown) => (expr as { PLpgSQL_expr?: { query?: string } } | undefined)?.PLpgSQL_expr?.query;
      switch (key) {
        case "PLpgSQL_stmt_execsql":
        case "PLpgSQL_stmt_perform": {
          const sql = query(s.sqlstmt ?? s.expr);
          if (sql !== undefined) this.applySql(sql, at, scope, "statement");
          break;
        }
        case "PLpgSQL_stmt_dynexecute":
        case "PLpgSQL_stmt_dynfors":
          this.execute(query(s.query), at, scope);
          break;
        case "PLpgSQL_stmt_open":
        case "PLpgSQL_stmt_return_query":
          if (s.dynquery) this.execute(query(s.dynquery), at, scope);
          break;
        default:
          break;
      }
      this.walkPlpgsql(value, bodyLine, file, scope);
    }
  }

  /** EXECUTE <expression>: follow the SQL it builds where its shape is constant. */
  private execute(expression: string | undefined, at: Location, scope: Scope): void {
    const built = expression === undefined ? undefined : executedSql(expression);
    if (!built) {
      const shown = (expression ?? "").replace(/\s+/g, " ").slice(0, 80);
      this.problem(
        `EXECUTE at ${where(at)} runs SQL built at run time (${shown}), so whether it creates, alters or drops tables or changes row-level security cannot be verified`,
        `${STATIC_DDL_FIX}; if it must be dynamic, build it with format() from a constant template using only %I and %L`,
      );
      return;
    }
    this.applySql(built.sql, at, built.dynamic ? { ...scope, dynamic: expression } : scope, "EXECUTE string");
  }

  findings(): Finding[] {
    const out = [...this.problems];
    for (const t of this.tables.values()) {
      if (!this.exposed.has(t.schema)) continue;
      const name = qualified(t.schema, t.name);
      const what = `table ${name}${t.partitionOf ? ` (partition of ${t.partitionOf})` : ""} created at ${where(t.created)}${t.placement ? ` (${t.placement})` : ""}`;
      if (!t.rls && t.disabledAt) {
        out.push({ problem: `${what} has row-level security disabled again at ${where(t.disabledAt)}`, fix: `remove the DISABLE ROW LEVEL SECURITY at ${where(t.disabledAt)}` });
      } else if (!t.rls) {
        out.push({ problem: `${what} never gets ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY`, fix: `add ALTER TABLE ${name} ENABLE ROW LEVEL SECURITY; after it is created` });
      }
      if (t.policies.size === 0) {
        out.push({
          problem: `${what} has no policy (CREATE POLICY ... ON ${name}), so the API can read none or all of it`,
          fix: `add a policy, e.g. CREATE POLICY owner_reads ON ${name} FOR SELECT TO authenticated USING (owner_id = (SELECT auth.uid()))`,
        });
      }
    }
    for (const v of this.views.values()) {
      if (!this.exposed.has(v.schema)) continue;
      const name = qualified(v.schema, v.name);
      if (v.materialized) {
        out.push({ problem: `materialized view ${name} created at ${where(v.created)} is in an exposed schema; materialized views cannot have row-level security`, fix: "create it in a schema the API does not expose and expose a security_invoker view or a function instead" });
      } else if (!v.securityInvoker) {
        out.push({ problem: `view ${name} created at ${where(v.created)} is not security_invoker, so it bypasses the row-level security of its tables`, fix: `create it WITH (security_invoker = true), or ALTER VIEW ${name} SET (security_invoker = true)` });
      }
    }
    return out;
  }
}

/**
 * Problems with one migration set, in file order. Call `loadParser()` first (analyzeMigrations does).
 * A file that does not parse is reported with the parser's message and location; later files are
 * still followed.
 */
export function analyzeMigrationsSync(files: readonly MigrationFile[], exposedSchemas: readonly string[]): Finding[] {
  const state = new MigrationState(new Set(exposedSchemas));
  for (const file of files) {
    state.startFile();
    state.applySql(file.sql, { file: file.name, line: 1 }, {});
  }
  return state.findings();
}

export async function analyzeMigrations(files: readonly MigrationFile[], exposedSchemas: readonly string[]): Promise<Finding[]> {
  await loadParser();
  return analyzeMigrationsSync(files, exposedSchemas);
}
