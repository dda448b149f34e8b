/**
 * Follows one migration set (files applied in order) through the real PostgreSQL parser and reports
 * every table in an API-exposed schema that does not end the set with row-level security enabled and
 * at least one policy, every exposed view that is not security_invoker, and every file that does not
 * parse. Names are resolved like Postgres does: quoted identifiers keep their case, unqualified names
 * go through the search_path in effect (SET search_path / set_config).
 */
import { Node, RangeVar } from "libpg-query";
import * as pg from "libpg-query";

export interface MigrationFile {
  readonly name: string;
  readonly sql: string;
}

interface Location {
  readonly file: string;
  readonly line: number;
}

interface Table {
  readonly schema: string;
  readonly name: string;
  readonly created: Location;
  readonly partitionOf?: string;
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

const DEFAULT_SEARCH_PATH = ["$user", "public"];

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

class MigrationState {
  searchPath = DEFAULT_SEARCH_PATH;
  readonly tables = new Map<string, Table>();
  readonly views = new Map<string, View>();
  readonly problems: string[] = [];

  /** Schema an unqualified CREATE lands in: the first search_path entry ($user has no schema here). */
  private creationSchema(): string {
    return this.searchPath.find((s) => s !== "$user" && s !== "pg_temp") ?? "public";
  }

  private resolve(rel: RangeVar, creating = false): string {
    if (rel.schemaname) return keyOf(rel.schemaname, rel.relname ?? "");
    if (!creating) {
      for (const schema of this.searchPath) {
        const key = keyOf(schema, rel.relname ?? "");
        if (this.tables.has(key) || this.views.has(key)) return key;
      }
    }
    return keyOf(this.creationSchema(), rel.relname ?? "");
  }

  private createTable(rel: RangeVar | undefined, at: Location, ifNotExists: boolean, partitionOf?: RangeVar): void {
    if (!rel || rel.relpersistence === "t") return;
    const key = this.resolve(rel, true);
    if (ifNotExists && this.tables.has(key)) return;
    const [schema, name] = key.split("\u0000");
    const parent = partitionOf && this.tables.get(this.resolve(partitionOf));
    this.tables.set(key, { schema, name, created: at, rls: false, policies: new Set(), partitionOf: parent ? qualified(parent.schema, parent.name) : undefined });
  }

  private createView(rel: RangeVar | undefined, at: Location, materialized: boolean, securityInvoker: boolean): void {
    if (!rel || rel.relpersistence === "t") return;
    const key = this.resolve(rel, true);
    const [schema, name] = key.split("\u0000");
    this.views.set(key, { schema, name, created: at, materialized, securityInvoker });
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
  private resolveNames(parts: string[]): string {
    const name = parts[parts.length - 1];
    return this.resolve(parts.length > 1 ? { schemaname: parts[parts.length - 2], relname: name } : { relname: name });
  }

  private setSearchPath(stmt: { kind?: string; args?: Node[] }): void {
    if (stmt.kind === "VAR_SET_VALUE") this.searchPath = (stmt.args ?? []).map(sval).filter((s): s is string => s !== undefined);
    else if (stmt.kind === "VAR_SET_DEFAULT" || stmt.kind === "VAR_RESET" || stmt.kind === "VAR_RESET_ALL") this.searchPath = DEFAULT_SEARCH_PATH;
  }

  /** SELECT set_config('search_path', '...', is_local) anywhere in a select list. */
  private setConfigCalls(select: { targetList?: Node[] }): void {
    for (const target of select.targetList ?? []) {
      const call = (target as { ResTarget?: { val?: { FuncCall?: { funcname?: Node[]; args?: Node[] } } } }).ResTarget?.val?.FuncCall;
      const fname = call?.funcname?.map(sval).pop();
      if (fname === "set_config" && sval(call?.args?.[0]) === "search_path") {
        const text = sval(call?.args?.[1]);
        if (text !== undefined) this.searchPath = parseSearchPathText(text);
      }
    }
  }

  apply(node: Node, at: Location): void {
    const [kind, body] = Object.entries(node)[0] as [string, Record<string, unknown>];
    switch (kind) {
      case "VariableSetStmt":
        if (body.name === "search_path" || body.kind === "VAR_RESET_ALL") this.setSearchPath(body);
        break;
      case "SelectStmt":
        this.setConfigCalls(body);
        if (body.intoClause) this.createTable((body.intoClause as { rel?: RangeVar }).rel, at, false);
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
        const saved = this.searchPath;
        this.searchPath = [String(body.schemaname)];
        for (const element of (body.schemaElts as Node[] | undefined) ?? []) this.apply(element, at);
        this.searchPath = saved;
        break;
      }
      case "AlterTableStmt":
        this.alterTable(body, at);
        break;
      case "CreatePolicyStmt":
        this.tables.get(this.resolve(body.table as RangeVar))?.policies.add(String(body.policy_name));
        break;
      case "RenameStmt":
        this.rename(body);
        break;
      case "AlterObjectSchemaStmt":
        if (body.relation) {
          const rel = body.relation as RangeVar;
          this.move(this.resolve(rel), String(body.newschema), rel.relname ?? "");
        }
        break;
      case "DropStmt":
        this.drop(body);
        break;
      // DoStmt: PL/pgSQL bodies are opaque here; tables created or altered inside a DO block are not seen.
      default:
        break;
    }
  }

  private alterTable(body: Record<string, unknown>, at: Location): void {
    const key = this.resolve(body.relation as RangeVar);
    const table = this.tables.get(key);
    const view = this.views.get(key);
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
    const rel = body.relation as RangeVar | undefined;
    if (!rel) return;
    const key = this.resolve(rel);
    if (body.renameType === "OBJECT_POLICY") {
      const policies = this.tables.get(key)?.policies;
      if (policies?.delete(String(body.subname))) policies.add(String(body.newname));
    } else if (["OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"].includes(String(body.renameType))) {
      this.move(key, key.split("\u0000")[0], String(body.newname));
    }
  }

  private drop(body: Record<string, unknown>): void {
    const objects = ((body.objects as Node[] | undefined) ?? []).map((o) => {
      const items = (o as { List?: { items?: Node[] } }).List?.items ?? [o];
      return items.map(sval).filter((s): s is string => s !== undefined);
    });
    switch (body.removeType) {
      case "OBJECT_POLICY":
        for (const parts of objects) this.tables.get(this.resolveNames(parts.slice(0, -1)))?.policies.delete(parts[parts.length - 1]);
        break;
      case "OBJECT_TABLE":
      case "OBJECT_FOREIGN_TABLE":
        for (const parts of objects) {
          const key = this.resolveNames(parts);
          const table = this.tables.get(key);
          this.tables.delete(key);
          if (table) {
            const name = qualified(table.schema, table.name);
            for (const [k, t] of this.tables) if (t.partitionOf === name) this.tables.delete(k);
          }
        }
        break;
      case "OBJECT_VIEW":
      case "OBJECT_MATVIEW":
        for (const parts of objects) this.views.delete(this.resolveNames(parts));
        break;
      case "OBJECT_SCHEMA":
        for (const [schema] of objects) {
          for (const [k, t] of this.tables) if (t.schema === schema) this.tables.delete(k);
          for (const [k, v] of this.views) if (v.schema === schema) this.views.delete(k);
        }
        break;
      default:
        break;
    }
  }

  findings(exposed: ReadonlySet<string>): string[] {
    const out = [...this.problems];
    const where = (l: Location) => `${l.file}:${l.line}`;
    for (const t of this.tables.values()) {
      if (!exposed.has(t.schema)) continue;
      const what = `table ${qualified(t.schema, t.name)}${t.partitionOf ? ` (partition of ${t.partitionOf})` : ""} created at ${where(t.created)}`;
      if (!t.rls) {
        out.push(
          t.disabledAt
            ? `${what} has row-level security disabled again at ${where(t.disabledAt)}`
            : `${what} never gets ALTER TABLE ${qualified(t.schema, t.name)} ENABLE ROW LEVEL SECURITY`,
        );
      }
      if (t.policies.size === 0) out.push(`${what} has no policy (CREATE POLICY ... ON ${qualified(t.schema, t.name)}), so the API can read none or all of it`);
    }
    for (const v of this.views.values()) {
      if (!exposed.has(v.schema)) continue;
      const name = qualified(v.schema, v.name);
      if (v.materialized) out.push(`materialized view ${name} created at ${where(v.created)} is in an exposed schema; materialized views cannot have row-level security`);
      else if (!v.securityInvoker) out.push(`view ${name} created at ${where(v.created)} is not security_invoker, so it bypasses the row-level security of its tables`);
    }
    return out;
  }
}

/**
 * Problems with one migration set, in file order. Call `loadParser()` first (analyzeMigrations does).
 * A file that does not parse is reported with the parser's message and location; later files are
 * still followed.
 */
export function analyzeMigrationsSync(files: readonly MigrationFile[], exposedSchemas: readonly string[]): string[] {
  const state = new MigrationState();
  for (const file of files) {
    const { bytes, starts } = lineStarts(file.sql);
    let statements;
    try {
      statements = pg.parseSync(file.sql).stmts ?? [];
    } catch (e) {
      const err = e as pg.SqlError;
      const offset = err.sqlDetails?.cursorPosition;
      let location = "";
      if (offset !== undefined && offset >= 0) {
        const line = lineOf(starts, offset);
        const column = bytes.subarray(starts[line - 1], offset).toString("utf8").length + 1;
        // The source line is not quoted: migrations may hold secrets (role passwords).
        location = ` at line ${line}, column ${column}`;
      }
      state.problems.push(`${file.name} does not parse: ${err.message}${location}`);
      continue;
    }
    for (const s of statements) {
      if (s.stmt) state.apply(s.stmt, { file: file.name, line: lineOf(starts, firstToken(bytes, s.stmt_location ?? 0)) });
    }
  }
  return state.findings(new Set(exposedSchemas));
}

export async function analyzeMigrations(files: readonly MigrationFile[], exposedSchemas: readonly string[]): Promise<string[]> {
  await loadParser();
  return analyzeMigrationsSync(files, exposedSchemas);
}
