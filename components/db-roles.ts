/**
 * Every Postgres role northstack manages, as data: who logs in as it, what it is made of and what it
 * may do. The migrations (ROLES_SQL), the job's password script, the generated passwords and the
 * wiring of each workload all read this table, so a role is declared once. Pure: no Pulumi here.
 *
 * The rules it encodes:
 * - one login role and one password per database client; the admin runs the migration job alone;
 * - tables in the exposed schemas belong to `northstack_owner`, which nobody logs in as;
 * - a role that switches to the API roles is NOINHERIT (it holds nothing until it switches); a role
 *   that works through a predefined role (pg_monitor, pg_read_all_data, service_role's grants)
 *   INHERITs it and holds nothing else.
 */

/** The workloads that log in to Postgres, each with a password of its own. */
export const DB_CLIENTS = [
  "api",
  "rest",
  "auth",
  "storage",
  "realtime",
  "meta",
  "studio",
  "exporter",
  "backup",
  "recorder",
] as const;
export type DbClient = (typeof DB_CLIENTS)[number];

/** Attributes PostgreSQL 15 lets only a superuser grant; on RDS and Cloud SQL they are reached otherwise or not at all. */
export type SuperuserAttribute = "BYPASSRLS" | "REPLICATION";

export interface DbRole {
  readonly name: string;
  /** The workload that logs in as this role, with its own password. Default: none, the role cannot log in. */
  readonly client?: DbClient;
  /** Whether it uses the privileges of the roles it is a member of without SET ROLE. Required. */
  readonly inherit: boolean;
  /** Roles granted to it; any other membership is revoked on every deploy. Default: none. */
  readonly memberOf?: readonly string[];
  /**
   * Superuser-only attributes it must have. A superuser admin sets them; on RDS / Cloud SQL the
   * migrations use the service's own route (rds_replication, Cloud SQL's REPLICATION) or fall back
   * (BYPASSRLS: policies). Every role without an attribute here is made to lack it. Default: none.
   */
  readonly superuserAttributes?: readonly SuperuserAttribute[];
  /** Session defaults (ALTER ROLE ... SET). Default: none. */
  readonly settings?: Readonly<Record<string, string>>;
  /** What it is for and what it may do, one sentence. Required. */
  readonly purpose: string;
}

/** Owns every table, view, sequence and function in the exposed schemas; no client logs in as it. */
export const TABLE_OWNER_ROLE = "northstack_owner";
/** The role the backup job dumps as. */
export const BACKUP_ROLE = "northstack_backup";
/**
 * The role of every job that only records backup runs (the Redis and Storage copies, restore drills,
 * any later job that reports a run): it may add rows to northstack_ops.backup_runs and nothing else.
 */
export const RECORDER_ROLE = "northstack_recorder";
/**
 * Where the admin is not a superuser, the backup role cannot bypass RLS: a read-all policy of this
 * name on each RLS table lets it read every row, and it dumps with row security on.
 */
export const BACKUP_POLICY = "northstack_backup_read";

export const DB_ROLES: readonly DbRole[] = [
  {
    name: "anon",
    inherit: false,
    settings: { statement_timeout: "3s" },
    purpose: "Requests without a user: only what grants and policies for anon allow.",
  },
  {
    name: "authenticated",
    inherit: false,
    settings: { statement_timeout: "8s" },
    purpose: "Requests of a signed-in user: only the rows that user's policies admit.",
  },
  {
    name: "service_role",
    inherit: false,
    superuserAttributes: ["BYPASSRLS"],
    purpose: "The trusted back end: every row of the exposed schemas (BYPASSRLS, or a policy per table).",
  },
  {
    name: TABLE_OWNER_ROLE,
    inherit: false,
    purpose:
      "Owns the exposed schemas' objects; cannot log in, and FORCE ROW LEVEL SECURITY holds its own queries (definer functions, views) to the policies.",
  },
  {
    name: "authenticator",
    client: "rest",
    inherit: false,
    memberOf: ["anon", "authenticated", "service_role"],
    settings: { statement_timeout: "8s" },
    purpose: "PostgREST: no privileges of its own; switches to anon, authenticated or service_role per request.",
  },
  {
    name: "northstack_api",
    client: "api",
    inherit: false,
    memberOf: ["anon", "authenticated"],
    settings: { statement_timeout: "8s" },
    purpose: "The API and extra services: no privileges of its own; switches to anon or authenticated per request.",
  },
  {
    name: "supabase_auth_admin",
    client: "auth",
    inherit: false,
    settings: { search_path: "auth" },
    purpose: "GoTrue: owns and migrates schema auth; nothing elsewhere, no role creation.",
  },
  {
    name: "supabase_storage_admin",
    client: "storage",
    inherit: false,
    memberOf: ["anon", "authenticated", "service_role"],
    settings: { search_path: "storage" },
    purpose: "Storage: owns and migrates schema storage; switches to the caller's role for RLS-checked object access.",
  },
  {
    name: "supabase_realtime_admin",
    client: "realtime",
    inherit: false,
    memberOf: ["anon", "authenticated", "service_role"],
    superuserAttributes: ["REPLICATION"],
    settings: { search_path: "_realtime" },
    purpose:
      "Realtime: owns schemas realtime and _realtime, streams changes through a replication slot, switches to the subscriber's role to apply RLS.",
  },
  {
    name: "northstack_meta",
    client: "meta",
    inherit: true,
    memberOf: ["service_role"],
    purpose: "postgres-meta: service_role's rows and grants in the exposed schemas; no DDL, no other schema's data.",
  },
  {
    name: "northstack_studio",
    client: "studio",
    inherit: true,
    memberOf: ["service_role"],
    purpose:
      "Studio (through postgres-meta): service_role's rows and grants in the exposed schemas; no DDL, no other schema's data.",
  },
  {
    name: "northstack_exporter",
    client: "exporter",
    inherit: true,
    memberOf: ["pg_monitor"],
    purpose: "The postgres exporter: statistics views (pg_monitor) only, no table data.",
  },
  {
    name: BACKUP_ROLE,
    client: "backup",
    inherit: true,
    memberOf: ["pg_read_all_data"],
    superuserAttributes: ["BYPASSRLS"],
    settings: { default_transaction_read_only: "on" },
    purpose:
      "The backup job: reads every table (pg_read_all_data, past RLS) and writes nothing; dumps the role list without passwords.",
  },
  {
    name: RECORDER_ROLE,
    client: "recorder",
    inherit: false,
    purpose:
      "Jobs that record backup runs (volume copies, restore drills): may insert rows into northstack_ops.backup_runs, and read or write nothing else.",
  },
];

/** The login role of each client. */
export const CLIENT_ROLES: Readonly<Record<DbClient, string>> = Object.fromEntries(
  DB_CLIENTS.map((client) => {
    const role = DB_ROLES.find((r) => r.client === client);
    if (!role) throw new Error(`DB_ROLES has no role for client ${client}`);
    return [client, role.name];
  }),
) as Record<DbClient, string>;

/** The environment variable through which the migration job receives a client's password. */
export const dbPasswordEnv = (client: DbClient): string => `NORTHSTACK_DB_PASSWORD_${client.toUpperCase()}`;
