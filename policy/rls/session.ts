/**
 * The psql session a migration file runs in: its search_path (SET, SET LOCAL, set_config, RESET) and
 * the transaction that SET LOCAL ends with. Each file is a new session inside one transaction.
 */
import { Node } from "libpg-query";
import { DYNAMIC, constText, evalExpression, hasMarker } from "./execute";
import { Location, constBool, sval } from "./parse";

/** A search_path, or null when it was set from a value known only at run time. */
export type SearchPath = readonly string[] | null;

/** A function or procedure body: its DDL runs whenever it is called, not when it is created. */
export interface FunctionScope {
  readonly name: string;
  readonly at: Location;
  searchPath: SearchPath;
}

/** Where a statement runs: at the top of a file, in a function body, or in SQL built at run time. */
export interface Scope {
  /** SQL built at run time (EXECUTE format(...)): names containing DYNAMIC are unknown. */
  readonly dynamic?: string;
  readonly fn?: FunctionScope;
}

const DEFAULT_SEARCH_PATH = ["$user", "public"];

/** search_path text as set_config takes it: 'a, "B", $user'. */
function parseSearchPathText(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s.toLowerCase()));
}

/** search_path as psql would have it: the session value (SET), the transaction-local one (SET LOCAL). */
export class Session {
  private session: SearchPath = DEFAULT_SEARCH_PATH;
  private local: SearchPath | undefined;
  private inTransaction = false;
  private sessionAtBegin: SearchPath = DEFAULT_SEARCH_PATH;
  /** CREATE SCHEMA x CREATE TABLE t ...: elements land in x. */
  private elementSchema: string | undefined;

  /** Each file is its own psql session, wrapped in one transaction (--single-transaction). */
  startFile(): void {
    this.session = DEFAULT_SEARCH_PATH;
    this.local = undefined;
    this.inTransaction = true;
    this.sessionAtBegin = DEFAULT_SEARCH_PATH;
  }

  /** The search_path in effect, or null when it was set from a run-time value. */
  get searchPath(): SearchPath {
    if (this.elementSchema !== undefined) return [this.elementSchema];
    return this.local !== undefined ? this.local : this.session;
  }

  /** CREATE SCHEMA x CREATE TABLE t ...: applies the elements with x as their only schema. */
  inSchema(schema: string, applyElements: () => void): void {
    this.elementSchema = schema;
    try {
      applyElements();
    } finally {
      this.elementSchema = undefined;
    }
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

  variableSet(body: Record<string, unknown>, scope: Scope): void {
    if (body.name !== "search_path" && body.kind !== "VAR_RESET_ALL") return;
    const isLocal = body.is_local === true;
    if (body.kind === "VAR_SET_VALUE")
      this.setSearchPath(
        ((body.args as Node[] | undefined) ?? []).map((a) => sval(a) ?? DYNAMIC),
        isLocal,
        scope,
      );
    else if (body.kind === "VAR_SET_DEFAULT" || body.kind === "VAR_RESET" || body.kind === "VAR_RESET_ALL")
      this.setSearchPath(DEFAULT_SEARCH_PATH, isLocal, scope);
  }

  /** SELECT set_config('search_path', '...', is_local) in a select list. */
  setConfigCalls(select: { targetList?: Node[] }, scope: Scope): void {
    for (const target of select.targetList ?? []) {
      const call = (target as { ResTarget?: { val?: { FuncCall?: { funcname?: Node[]; args?: Node[] } } } }).ResTarget
        ?.val?.FuncCall;
      const fname = call?.funcname?.map(sval).pop();
      if (fname !== "set_config" || sval(call?.args?.[0]) !== "search_path") continue;
      const text = constText(evalExpression(call?.args?.[1]));
      const isLocal = constBool(call?.args?.[2]);
      this.setSearchPath(
        text === undefined || isLocal === undefined ? null : parseSearchPathText(text),
        isLocal ?? false,
        scope,
      );
    }
  }

  transaction(body: Record<string, unknown>): void {
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
}
