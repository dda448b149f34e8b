/**
 * The functions and extensions the migrations leave behind, and who may execute each function: what
 * PostgREST serves as /rpc and what a SECURITY DEFINER body reads past row-level security.
 *
 * Functions are told apart by schema and name only: GRANT, ALTER, COMMENT and DROP of one overload apply
 * to every overload of that name. That errs towards reporting (an exemption or REVOKE on one overload
 * covers the others) only where overloads differ in their security, which migrations rarely do.
 */
import { Node, RangeVar } from "libpg-query";
import { CLIENT_GRANTEES, Catalog, roleName } from "./catalog";
import { hasMarker } from "./execute";
import { Location, nameParts, option, sval } from "./parse";
import { Session } from "./session";

export interface Routine {
  readonly schema: string;
  readonly name: string;
  readonly created: Location;
  securityDefiner: boolean;
  /** The function sets its own search_path (SET search_path = ...). */
  setsSearchPath: boolean;
  /** Client roles (public, anon, authenticated) that may execute it. */
  readonly executors: Set<string>;
  comment?: string;
  /** Written in C or internal: no body whose names a search_path could redirect. */
  readonly compiled: boolean;
}

export interface Extension {
  readonly name: string;
  schema: string;
  readonly created: Location;
}

/** Extensions whose control file fixes their schema: CREATE EXTENSION ignores the search_path for them. */
const FIXED_SCHEMA_EXTENSIONS: Record<string, string> = { plpgsql: "pg_catalog", pg_cron: "pg_catalog" };

const keyOf = (schema: string, name: string) => `${schema}\u0000${name}`;
const objectName = (node: unknown): string[] =>
  (
    (node as { ObjectWithArgs?: { objname?: Node[] }; objname?: Node[] })?.ObjectWithArgs?.objname ??
    (node as { objname?: Node[] })?.objname ??
    []
  ).map((n) => sval(n) ?? "");

/** SECURITY DEFINER / INVOKER and SET / RESET search_path among CREATE or ALTER FUNCTION's options. */
function securityOptions(options: unknown): { securityDefiner?: boolean; setsSearchPath?: boolean } {
  const out: { securityDefiner?: boolean; setsSearchPath?: boolean } = {};
  for (const o of (options as Node[] | undefined) ?? []) {
    const def = (o as { DefElem?: { defname?: string; arg?: Node } }).DefElem;
    if (def?.defname === "security")
      out.securityDefiner = (def.arg as { Boolean?: { boolval?: boolean } }).Boolean?.boolval === true;
    const set = (def?.arg as { VariableSetStmt?: { kind?: string; name?: string } } | undefined)?.VariableSetStmt;
    if (def?.defname === "set" && set) {
      if (set.kind === "VAR_RESET_ALL") out.setsSearchPath = false;
      else if (set.name === "search_path")
        out.setsSearchPath = set.kind === "VAR_SET_VALUE" || set.kind === "VAR_SET_CURRENT";
    }
  }
  return out;
}

export class Routines {
  readonly functions = new Map<string, Routine>();
  readonly extensions = new Map<string, Extension>();
  /** PUBLIC may execute new functions until ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC. */
  private readonly defaultExecutors = new Map<string, Set<string>>([["", new Set(["public"])]]);

  constructor(
    private readonly catalog: Catalog,
    private readonly session: Session,
  ) {}

  /** The key of an existing function: the first schema on the search_path that has it. */
  private lookup(parts: string[]): string | undefined {
    const name = parts[parts.length - 1];
    if (parts.length > 1) return keyOf(parts[parts.length - 2], name);
    for (const schema of this.session.searchPath ?? [])
      if (this.functions.has(keyOf(schema, name))) return keyOf(schema, name);
    return undefined;
  }

  create(body: Record<string, unknown>, at: Location, language: string): void {
    const parts = ((body.funcname as Node[] | undefined) ?? []).map((n) => sval(n) ?? "");
    if (parts.some(hasMarker)) return;
    const name = parts[parts.length - 1];
    const rel: RangeVar = parts.length > 1 ? { schemaname: parts[parts.length - 2], relname: name } : { relname: name };
    const target = this.catalog.creationTarget(rel, at);
    if (!target) return;
    const options = securityOptions(body.options);
    const existing = this.functions.get(target.key);
    const [schema] = target.key.split("\u0000");
    // CREATE OR REPLACE keeps the function's privileges and comment; its options are the new ones.
    this.functions.set(target.key, {
      schema,
      name,
      created: existing?.created ?? at,
      securityDefiner: options.securityDefiner ?? false,
      setsSearchPath: options.setsSearchPath ?? false,
      executors:
        body.replace === true && existing
          ? existing.executors
          : new Set([...(this.defaultExecutors.get("") ?? []), ...(this.defaultExecutors.get(schema) ?? [])]),
      comment: body.replace === true ? existing?.comment : undefined,
      compiled: language === "c" || language === "internal",
    });
  }

  /** ALTER FUNCTION f SECURITY DEFINER | SET search_path ... | RESET ... */
  alter(body: Record<string, unknown>): void {
    const fn = this.functions.get(this.lookup(objectName(body.func)) ?? "");
    if (!fn) return;
    const options = securityOptions(body.actions);
    if (options.securityDefiner !== undefined) fn.securityDefiner = options.securityDefiner;
    if (options.setsSearchPath !== undefined) fn.setsSearchPath = options.setsSearchPath;
  }

  /** GRANT or REVOKE EXECUTE on functions, procedures or routines. */
  grant(body: Record<string, unknown>): void {
    const privileges = body.privileges
      ? (body.privileges as { AccessPriv?: { priv_name?: string } }[]).map((p) => p.AccessPriv?.priv_name)
      : ["execute"];
    if (!privileges.includes("execute")) return;
    const roles = ((body.grantees as Node[] | undefined) ?? []).map(roleName).filter((r) => CLIENT_GRANTEES.has(r));
    const apply = (fn: Routine | undefined) => {
      for (const r of roles) {
        if (body.is_grant === true) fn?.executors.add(r);
        else fn?.executors.delete(r);
      }
    };
    const objects = (body.objects as Node[] | undefined) ?? [];
    if (body.targtype === "ACL_TARGET_ALL_IN_SCHEMA") {
      const schemas = new Set(objects.map((o) => sval(o)));
      for (const fn of this.functions.values()) if (schemas.has(fn.schema)) apply(fn);
    } else {
      for (const o of objects) apply(this.functions.get(this.lookup(objectName(o)) ?? ""));
    }
  }

  /** ALTER DEFAULT PRIVILEGES [IN SCHEMA s] GRANT|REVOKE EXECUTE ON FUNCTIONS. */
  defaultPrivileges(schemas: string[], action: Record<string, unknown>): void {
    const privileges = action.privileges
      ? (action.privileges as { AccessPriv?: { priv_name?: string } }[]).map((p) => p.AccessPriv?.priv_name)
      : ["execute"];
    if (!privileges.includes("execute")) return;
    const roles = ((action.grantees as Node[] | undefined) ?? []).map(roleName).filter((r) => CLIENT_GRANTEES.has(r));
    for (const schema of schemas.length ? schemas : [""]) {
      const executors = this.defaultExecutors.get(schema) ?? new Set();
      for (const r of roles) {
        if (action.is_grant === true) executors.add(r);
        else executors.delete(r);
      }
      this.defaultExecutors.set(schema, executors);
    }
  }

  comment(body: Record<string, unknown>): void {
    const fn = this.functions.get(this.lookup(objectName(body.object)) ?? "");
    if (fn) fn.comment = typeof body.comment === "string" ? body.comment : undefined;
  }

  drop(body: Record<string, unknown>): void {
    const objects = (body.objects as Node[] | undefined) ?? [];
    if (["OBJECT_FUNCTION", "OBJECT_PROCEDURE", "OBJECT_ROUTINE"].includes(String(body.removeType))) {
      for (const o of objects) this.functions.delete(this.lookup(objectName(o)) ?? "");
    } else if (body.removeType === "OBJECT_EXTENSION") {
      for (const o of objects) this.extensions.delete(sval(o) ?? "");
    } else if (body.removeType === "OBJECT_SCHEMA") {
      const schemas = new Set(objects.map((o) => nameParts(o)[0]));
      for (const [k, fn] of this.functions) if (schemas.has(fn.schema)) this.functions.delete(k);
    }
  }

  /** ALTER FUNCTION f RENAME TO g. */
  rename(body: Record<string, unknown>): void {
    const key = this.lookup(objectName(body.object));
    const fn = key ? this.functions.get(key) : undefined;
    if (!key || !fn) return;
    this.functions.delete(key);
    this.functions.set(keyOf(fn.schema, String(body.newname)), { ...fn, name: String(body.newname) });
  }

  /** ALTER FUNCTION f SET SCHEMA s, ALTER EXTENSION e SET SCHEMA s. */
  setSchema(body: Record<string, unknown>): void {
    const schema = String(body.newschema);
    if (body.objectType === "OBJECT_EXTENSION") {
      const ext = this.extensions.get(sval(body.object as Node) ?? "");
      if (ext) ext.schema = schema;
      return;
    }
    const key = this.lookup(objectName(body.object));
    const fn = key ? this.functions.get(key) : undefined;
    if (!key || !fn) return;
    this.functions.delete(key);
    this.functions.set(keyOf(schema, fn.name), { ...fn, schema });
  }

  /** CREATE EXTENSION [IF NOT EXISTS] name [WITH SCHEMA s]: without a schema it lands where a table would. */
  createExtension(body: Record<string, unknown>, at: Location): void {
    const name = String(body.extname);
    if (body.if_not_exists === true && this.extensions.has(name)) return;
    const schema =
      sval(option(body.options, "schema")) ??
      FIXED_SCHEMA_EXTENSIONS[name] ??
      this.catalog.creationTarget({ relname: name }, at)?.key.split("\u0000")[0];
    if (schema !== undefined && !hasMarker(schema)) this.extensions.set(name, { name, schema, created: at });
  }
}
