/**
 * Follows a migration's statements through the parser: plain SQL, CREATE SCHEMA elements, DO blocks and
 * function bodies parsed as PL/pgSQL, and EXECUTE strings whose shape is constant. What it can follow
 * changes the session and the catalog; what it cannot is a problem ("cannot verify").
 */
import { Node, RangeVar } from "libpg-query";
import * as pg from "libpg-query";
import { firstToken, lineOf, lineStarts } from "../../components/sql-lines";
import { Finding } from "../lib/framework";
import { Catalog, roleName } from "./catalog";
import { DYNAMIC, display, executedSql, hasMarker } from "./execute";
import { Location, nameParts, option, securityInvokerOption, sval, where } from "./parse";
import { Routines } from "./routines";
import { FunctionScope, Scope, Session } from "./session";
import { describe, onlyAddsProtection, relationTargets } from "./targets";

const TRUSTED_BODY_LANGUAGES = new Set(["c", "internal"]);

const STATIC_DDL_FIX = "write the DDL as static SQL in the migration, with every schema and table name spelled out";

export class MigrationWalk {
  readonly problems: Finding[] = [];
  readonly session = new Session();
  readonly catalog: Catalog;
  readonly routines: Routines;

  constructor(exposed: ReadonlySet<string>) {
    this.catalog = new Catalog(exposed, this.session, (problem, fix) => this.problem(problem, fix));
    this.routines = new Routines(this.catalog, this.session);
  }

  private problem(problem: string, fix: string): void {
    this.problems.push({ problem, fix });
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
    const risky = targets.filter(
      (t) =>
        this.catalog.mayBeExposed(t, scope) && (scope.fn !== undefined || hasMarker(t.schema) || hasMarker(t.name)),
    );
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
      this.apply(
        s.stmt,
        { file: at.file, line: at.line + lineOf(starts, start) - 1 },
        scope,
        bytes.subarray(start, end).toString("utf8"),
      );
    }
  }

  private apply(node: Node, at: Location, scope: Scope, text: string): void {
    const [kind, body] = Object.entries(node)[0] as [string, Record<string, unknown>];
    if (this.unfollowable(kind, body, at, scope)) return;
    if (scope.fn && !["VariableSetStmt", "SelectStmt", "DoStmt", "CreateFunctionStmt"].includes(kind)) return;
    switch (kind) {
      case "VariableSetStmt":
        this.session.variableSet(body, scope);
        break;
      case "TransactionStmt":
        this.session.transaction(body);
        break;
      case "SelectStmt":
        this.session.setConfigCalls(body, scope);
        if (!scope.fn && body.intoClause)
          this.catalog.createTable((body.intoClause as { rel?: RangeVar }).rel, at, false);
        break;
      case "CreateStmt": {
        const inherits = body.partbound
          ? ((body.inhRelations as Node[] | undefined)?.[0] as { RangeVar?: RangeVar } | undefined)?.RangeVar
          : undefined;
        this.catalog.createTable(body.relation as RangeVar, at, body.if_not_exists === true, inherits);
        break;
      }
      case "CreateForeignTableStmt":
        this.catalog.createTable((body.base as { relation?: RangeVar }).relation, at, false, undefined, true);
        break;
      case "CreateTableAsStmt": {
        const rel = (body.into as { rel?: RangeVar } | undefined)?.rel;
        if (body.objtype === "OBJECT_MATVIEW") this.catalog.createView(rel, at, true, false, body.query);
        else this.catalog.createTable(rel, at, body.if_not_exists === true);
        break;
      }
      case "ViewStmt":
        this.catalog.createView(
          body.view as RangeVar,
          at,
          false,
          securityInvokerOption(body.options as Node[]) ?? false,
          body.query,
          body.replace === true,
        );
        break;
      case "CreateSchemaStmt": {
        const schema = String(body.schemaname);
        if (hasMarker(schema)) break;
        this.catalog.createSchema(schema);
        this.session.inSchema(schema, () => {
          for (const element of (body.schemaElts as Node[] | undefined) ?? []) this.apply(element, at, scope, text);
        });
        break;
      }
      case "AlterTableStmt":
        this.catalog.alterTable(body, at);
        break;
      case "CreatePolicyStmt":
        this.catalog.addPolicy(body.table as RangeVar, String(body.policy_name), {
          at,
          permissive: body.permissive === true,
          cmd: String(body.cmd_name ?? "all"),
          roles: body.roles ? (body.roles as Node[]).map(roleName) : ["public"],
          qual: body.qual as Node | undefined,
          withCheck: body.with_check as Node | undefined,
        });
        break;
      case "AlterPolicyStmt":
        this.catalog.alterPolicy(body);
        break;
      case "GrantStmt":
        if (body.objtype === "OBJECT_TABLE") this.catalog.grant(body);
        else this.routines.grant(body);
        break;
      case "AlterDefaultPrivilegesStmt": {
        const schemas = nameParts(option(body.options, "schemas") ?? { List: { items: [] } });
        const action = body.action as Record<string, unknown>;
        if (action.objtype === "OBJECT_TABLE") this.catalog.defaultPrivileges(schemas, action);
        else if (action.objtype === "OBJECT_FUNCTION" || action.objtype === "OBJECT_ROUTINE")
          this.routines.defaultPrivileges(schemas, action);
        break;
      }
      case "CommentStmt":
        if (body.objtype === "OBJECT_POLICY")
          this.catalog.commentPolicy(nameParts(body.object as Node), body.comment as string | undefined);
        else this.routines.comment(body);
        break;
      case "CreateExtensionStmt":
        this.routines.createExtension(body, at);
        break;
      case "AlterFunctionStmt":
        this.routines.alter(body);
        break;
      case "RenameStmt":
        this.catalog.rename(body);
        if (body.renameType === "OBJECT_FUNCTION") this.routines.rename(body);
        break;
      case "AlterObjectSchemaStmt":
        if (body.relation) this.catalog.setSchema(body.relation as RangeVar, String(body.newschema));
        else this.routines.setSchema(body);
        break;
      case "DropStmt":
        this.catalog.drop(body);
        this.routines.drop(body);
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
    const set = (option(body.options, "set") as { VariableSetStmt?: { name?: string; args?: Node[] } } | undefined)
      ?.VariableSetStmt;
    const fn: FunctionScope = {
      name,
      at: scope.fn?.at ?? at,
      searchPath: set?.name === "search_path" ? (set.args ?? []).map((a) => sval(a) ?? DYNAMIC) : null,
    };
    if (!scope.fn && scope.dynamic === undefined) this.routines.create(body, at, language);
    const inner: Scope = { ...scope, fn };
    if (language === "plpgsql") {
      this.plpgsql(text, at, inner, `function ${name}`);
    } else if (language === "sql") {
      const sqlBody = (body.sql_body as { List?: { items?: Node[] } } | undefined)?.List?.items;
      if (sqlBody) {
        for (const group of sqlBody)
          for (const stmt of (group as { List?: { items?: Node[] } }).List?.items ?? [group])
            this.apply(stmt, at, inner, text);
      } else {
        const source = sval(
          ((option(body.options, "as") as { List?: { items?: Node[] } } | undefined)?.List?.items ?? [])[0],
        );
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
      this.problem(
        `the ${what} at ${where(at)} does not parse as PL/pgSQL (${(e as Error).message}), so what it creates cannot be verified`,
        "fix the PL/pgSQL so that PostgreSQL accepts it",
      );
      return;
    }
    // PL/pgSQL line numbers count from the line the body's opening quote is on.
    const bodyStart = text.search(/\$[A-Za-z_0-9]*\$|'/);
    const bodyLine = at.line + (bodyStart > 0 ? text.slice(0, bodyStart).split("\n").length - 1 : 0);
    for (const f of functions)
      this.walkPlpgsql(
        (f as { PLpgSQL_function?: { action?: unknown } }).PLpgSQL_function?.action,
        bodyLine,
        at.file,
        scope,
      );
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
}
