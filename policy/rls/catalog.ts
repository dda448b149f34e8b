/**
 * The relations the migrations leave behind: which schemas exist, which tables and views are in them,
 * and each table's row-level security and policies. Unqualified names resolve through the session's
 * search_path, as PostgreSQL resolves them.
 */
import { Node, RangeVar } from "libpg-query";
import { hasMarker } from "./execute";
import { Location, nameParts, qualified, quoteIdent, securityInvokerOption, sval, where } from "./parse";
import { Scope, Session } from "./session";
import { Target } from "./targets";

/** A row-level security policy as written: who it applies to and the expressions it admits rows by. */
export interface Policy {
  readonly at: Location;
  permissive: boolean;
  /** all, select, insert, update or delete. */
  readonly cmd: string;
  /** Role names; "public" for PUBLIC. */
  roles: string[];
  qual?: Node;
  withCheck?: Node;
  comment?: string;
}

/** Who may do what on a relation: `role:privilege` for the client roles (public, anon, authenticated). */
export type Grants = Set<string>;

export interface Table {
  readonly schema: string;
  readonly name: string;
  readonly created: Location;
  readonly partitionOf?: string;
  /** Why an unqualified name was placed in this schema, when the search_path left a choice. */
  readonly placement?: string;
  /** A foreign table: it cannot have row-level security, so only its grants keep the API out. */
  readonly foreign: boolean;
  rls: boolean;
  disabledAt?: Location;
  readonly policies: Map<string, Policy>;
  readonly grants: Grants;
}

export interface View {
  readonly schema: string;
  readonly name: string;
  readonly created: Location;
  readonly materialized: boolean;
  securityInvoker: boolean;
  /** The query reads auth.users. */
  readonly readsAuthUsers: boolean;
  readonly grants: Grants;
}

/** Privileges that let a client read or change rows. */
const ROW_PRIVILEGES = ["select", "insert", "update", "delete"];
/** Roles every request runs as, PUBLIC included (they are in it). */
export const CLIENT_GRANTEES = new Set(["public", "anon", "authenticated"]);

/** The `role:privilege` entries a GRANT or REVOKE names, for client roles and row privileges only. */
export function grantEntries(body: Record<string, unknown>): string[] {
  const privileges = body.privileges
    ? (body.privileges as { AccessPriv?: { priv_name?: string } }[]).map((p) => p.AccessPriv?.priv_name ?? "")
    : ROW_PRIVILEGES;
  const roles = ((body.grantees as Node[] | undefined) ?? []).map(roleName);
  return roles
    .filter((r) => CLIENT_GRANTEES.has(r))
    .flatMap((r) => privileges.filter((p) => ROW_PRIVILEGES.includes(p)).map((p) => `${r}:${p}`));
}

/** A RoleSpec as a role name: "public" for PUBLIC, "" for CURRENT_USER and the like. */
export function roleName(node: Node): string {
  const spec = (node as { RoleSpec?: { roletype?: string; rolename?: string } }).RoleSpec;
  if (spec?.roletype === "ROLESPEC_PUBLIC") return "public";
  return spec?.roletype === "ROLESPEC_CSTRING" ? (spec.rolename ?? "") : "";
}

/** Whether anon or authenticated (or PUBLIC) may read or change rows of a relation with these grants. */
export const clientsMayTouch = (grants: Grants) => [...grants].some((g) => CLIENT_GRANTEES.has(g.split(":")[0]));

/** Whether a view's or materialized view's query reads auth.users. */
function readsAuthUsers(query: unknown): boolean {
  if (Array.isArray(query)) return query.some(readsAuthUsers);
  if (!query || typeof query !== "object") return false;
  const rv = (query as { RangeVar?: RangeVar }).RangeVar;
  if (rv && rv.schemaname === "auth" && rv.relname === "users") return true;
  return Object.values(query).some(readsAuthUsers);
}

/** Schemas every PostgreSQL 15 database has. */
const BUILTIN_SCHEMAS = ["public", "pg_catalog", "information_schema"];
const keyOf = (schema: string, name: string) => `${schema}\u0000${name}`;
const showPath = (path: readonly string[]) => path.join(", ");

export class Catalog {
  readonly tables = new Map<string, Table>();
  readonly views = new Map<string, View>();
  /** Default privileges for new tables (ALTER DEFAULT PRIVILEGES), by schema; "" for every schema. */
  private readonly defaultGrants = new Map<string, Grants>();
  /** Schemas known to exist (created, built in) or not (dropped); others may or may not. */
  private readonly schemas = new Map<string, boolean>(BUILTIN_SCHEMAS.map((s) => [s, true]));

  constructor(
    readonly exposed: ReadonlySet<string>,
    private readonly session: Session,
    private readonly problem: (problem: string, fix: string) => void,
  ) {}

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
  creationTarget(rel: RangeVar, at: Location): { key: string; placement?: string } | undefined {
    const name = rel.relname ?? "";
    if (rel.schemaname) return { key: keyOf(rel.schemaname, name) };
    const path = this.session.searchPath;
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
    for (const schema of this.session.searchPath ?? []) {
      const key = keyOf(schema, name);
      if (this.tables.has(key) || this.views.has(key)) return key;
    }
    return undefined;
  }

  /** The grants a relation created now in `schema` starts with. */
  private initialGrants(schema: string): Grants {
    return new Set([...(this.defaultGrants.get("") ?? []), ...(this.defaultGrants.get(schema) ?? [])]);
  }

  createTable(
    rel: RangeVar | undefined,
    at: Location,
    ifNotExists: boolean,
    partitionOf?: RangeVar,
    foreign = false,
  ): void {
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
      foreign,
      rls: false,
      policies: new Map(),
      grants: this.initialGrants(schema),
      partitionOf: parent ? qualified(parent.schema, parent.name) : undefined,
      placement: target.placement,
    });
  }

  createView(
    rel: RangeVar | undefined,
    at: Location,
    materialized: boolean,
    securityInvoker: boolean,
    query: unknown,
    replace = false,
  ): void {
    if (!rel || rel.relpersistence === "t") return;
    const target = this.creationTarget(rel, at);
    if (!target) return;
    const [schema, name] = target.key.split("\u0000");
    // CREATE OR REPLACE VIEW keeps the view's privileges.
    const grants = (replace && this.views.get(target.key)?.grants) || this.initialGrants(schema);
    this.views.set(target.key, {
      schema,
      name,
      created: at,
      materialized,
      securityInvoker,
      readsAuthUsers: readsAuthUsers(query),
      grants,
    });
  }

  /** GRANT or REVOKE on tables (views, materialized views and foreign tables included). */
  grant(body: Record<string, unknown>): void {
    const entries = grantEntries(body);
    const apply = (grants: Grants | undefined) => {
      for (const e of entries) {
        if (body.is_grant === true) grants?.add(e);
        else grants?.delete(e);
      }
    };
    const objects = (body.objects as Node[] | undefined) ?? [];
    if (body.targtype === "ACL_TARGET_ALL_IN_SCHEMA") {
      const schemas = new Set(objects.map((o) => sval(o)));
      for (const r of [...this.tables.values(), ...this.views.values()]) if (schemas.has(r.schema)) apply(r.grants);
      return;
    }
    for (const o of objects) {
      const key = this.lookup((o as { RangeVar?: RangeVar }).RangeVar ?? {});
      if (key) apply(this.tables.get(key)?.grants ?? this.views.get(key)?.grants);
    }
  }

  /** ALTER DEFAULT PRIVILEGES [IN SCHEMA s] GRANT|REVOKE ... ON TABLES. */
  defaultPrivileges(schemas: string[], action: Record<string, unknown>): void {
    for (const schema of schemas.length ? schemas : [""]) {
      const grants = this.defaultGrants.get(schema) ?? new Set();
      for (const e of grantEntries(action)) {
        if (action.is_grant === true) grants.add(e);
        else grants.delete(e);
      }
      this.defaultGrants.set(schema, grants);
    }
  }

  /** Whether `schema` is known to exist. */
  schemaExists(schema: string): boolean {
    return this.schemas.get(schema) === true;
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

  /** CREATE SCHEMA: the schema exists from here on. */
  createSchema(schema: string): void {
    this.schemas.set(schema, true);
  }

  /** CREATE POLICY name ON rel. */
  addPolicy(rel: RangeVar, name: string, policy: Policy): void {
    const key = this.lookup(rel);
    if (key) this.tables.get(key)?.policies.set(name, policy);
  }

  /** ALTER POLICY name ON rel [TO roles] [USING (...)] [WITH CHECK (...)]. */
  alterPolicy(body: Record<string, unknown>): void {
    const key = this.lookup(body.table as RangeVar);
    const policy = key ? this.tables.get(key)?.policies.get(String(body.policy_name)) : undefined;
    if (!policy) return;
    if (body.roles) policy.roles = (body.roles as Node[]).map(roleName);
    if (body.qual) policy.qual = body.qual as Node;
    if (body.with_check) policy.withCheck = body.with_check as Node;
  }

  /** COMMENT ON POLICY name ON rel IS '...'. */
  commentPolicy(parts: string[], comment: string | undefined): void {
    const key = this.lookupNames(parts.slice(0, -1));
    const policy = key ? this.tables.get(key)?.policies.get(parts[parts.length - 1]) : undefined;
    if (policy) policy.comment = comment;
  }

  /** ALTER ... rel SET SCHEMA schema. */
  setSchema(rel: RangeVar, schema: string): void {
    const key = this.lookup(rel);
    if (key) this.move(key, schema, rel.relname ?? "");
  }

  alterTable(body: Record<string, unknown>, at: Location): void {
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

  rename(body: Record<string, unknown>): void {
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
      const policy = policies?.get(String(body.subname));
      if (policy && policies?.delete(String(body.subname))) policies.set(String(body.newname), policy);
    } else if (
      ["OBJECT_TABLE", "OBJECT_VIEW", "OBJECT_MATVIEW", "OBJECT_FOREIGN_TABLE"].includes(String(body.renameType))
    ) {
      this.move(key, key.split("\u0000")[0], String(body.newname));
    }
  }

  drop(body: Record<string, unknown>): void {
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

  /** Could `t` be (or become) a relation in an exposed schema? */
  mayBeExposed(t: Target, scope: Scope): boolean {
    if (t.schema !== undefined) return hasMarker(t.schema) || this.exposed.has(t.schema);
    const path = scope.fn ? scope.fn.searchPath : this.session.searchPath;
    return path === null || path.some((s) => hasMarker(s) || this.exposed.has(s));
  }
}
