/**
 * Every database client logs in to a real PostgreSQL 15 with its own password (scram-sha-256 over
 * TCP on 127.0.0.1) and is shown what it cannot do, on both kinds of admin: a superuser (the dev
 * container) and a NOSUPERUSER CREATEROLE admin as RDS and Cloud SQL have. Then a rotation: after
 * the job reruns with new secrets, the old passwords stop working.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { renderBackupScript } from "../../components/backup-script";
import { BACKUP_RECORD_SQL } from "../../components/backup-shell";
import { Client } from "pg";
import { BACKUP_POLICY, CLIENT_ROLES, DB_CLIENTS, DbClient, TABLE_OWNER_ROLE } from "../../components/db-roles";
import { renderMigrations } from "../../components/migrations";
import { ClientPasswords, clientPasswords, passwordEnv } from "../helpers/db-logins";
import { requestAs, runMigrationJobOn, seedNotes } from "../helpers/migration-db";
import { PG_BIN, PgCluster, startPgCluster } from "../helpers/pg-cluster";

const USER_A = "c1b2c3d4-0000-4000-8000-00000000000a";
const USER_B = "c1b2c3d4-0000-4000-8000-00000000000b";
const DATABASE = "app";

/**
 * A team's migration: a table with RLS and a policy, and a SECURITY DEFINER function that reads it
 * all, granted to anon, as issue 9 shows. The guard refuses such a function unless it carries a
 * reasoned exemption; this one has one, so the test shows the second line of defence: its owner's
 * queries answer to the policies too (FORCE ROW LEVEL SECURITY).
 */
const PROJECT = {
  name: "100_items.sql",
  sql: `CREATE TABLE IF NOT EXISTS public.items (id int PRIMARY KEY, owner_id uuid NOT NULL);
ALTER TABLE public.items ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON public.items TO authenticated;
DROP POLICY IF EXISTS items_select_own ON public.items;
CREATE POLICY items_select_own ON public.items FOR SELECT TO authenticated USING (owner_id = (SELECT auth.uid()));
INSERT INTO public.items VALUES (1, '${USER_A}'), (2, '${USER_B}') ON CONFLICT DO NOTHING;
CREATE OR REPLACE FUNCTION public.all_items() RETURNS SETOF public.items
  LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$ SELECT * FROM public.items $$;
GRANT EXECUTE ON FUNCTION public.all_items() TO anon;
COMMENT ON FUNCTION public.all_items() IS 'northstack:security-definer: shows that FORCE ROW LEVEL SECURITY holds the owner to the policies';
`,
};

interface Setup {
  readonly kind: "superuser admin (dev)" | "CREATEROLE admin (RDS, Cloud SQL)";
  readonly admin: string;
  readonly adminPassword: (cluster: PgCluster) => string;
  /** Makes the admin and the application database, as the service would. */
  readonly prepare: (superuser: Client) => Promise<void>;
}

const SETUPS: Setup[] = [
  {
    kind: "superuser admin (dev)",
    admin: "postgres",
    adminPassword: (cluster) => cluster.password,
    prepare: async (superuser) => {
      await superuser.query(`CREATE DATABASE ${DATABASE}`);
    },
  },
  {
    kind: "CREATEROLE admin (RDS, Cloud SQL)",
    admin: "dbadmin",
    adminPassword: () => "managed-admin-password",
    prepare: async (superuser) => {
      await superuser.query("CREATE ROLE rds_superuser NOLOGIN");
      await superuser.query("GRANT pg_monitor, pg_signal_backend, pg_checkpoint TO rds_superuser");
      await superuser.query("CREATE ROLE rds_replication NOLOGIN");
      await superuser.query(
        "CREATE ROLE dbadmin LOGIN CREATEROLE CREATEDB NOSUPERUSER NOREPLICATION NOBYPASSRLS PASSWORD 'managed-admin-password' IN ROLE rds_superuser",
      );
      await superuser.query(`CREATE DATABASE ${DATABASE} OWNER dbadmin`);
    },
  },
];

describe.each(SETUPS)("with a $kind", (setup) => {
  let cluster: PgCluster;
  let passwords: ClientPasswords = clientPasswords("first");

  const runJob = () =>
    runMigrationJobOn(cluster, renderMigrations({ project: [PROJECT] }), {
      PGUSER: setup.admin,
      PGPASSWORD: setup.adminPassword(cluster),
      PGDATABASE: DATABASE,
      ...passwordEnv(passwords),
    });
  const config = (user: string, password: string) => ({ ...cluster.connection(user, password), database: DATABASE });
  const configOf = (client: DbClient) => config(CLIENT_ROLES[client], passwords[client]);
  /** Runs `fn` on a fresh session logged in as the client, with its password. */
  async function as<T>(client: DbClient, fn: (c: Client) => Promise<T>): Promise<T> {
    const c = new Client(configOf(client));
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  }
  // The backup role's read-only default is a session setting it could drop; its privileges are what stop it.
  const denied = (client: DbClient, sql: string) =>
    expect(
      as(client, async (c) => {
        await c.query("SET default_transaction_read_only = off");
        return c.query(sql);
      }),
    ).rejects.toThrow(/permission denied|must have CREATEROLE|must be owner/);
  const adminSql = async (sql: string) => {
    const c = new Client(config(setup.admin, setup.adminPassword(cluster)));
    await c.connect();
    try {
      return (await c.query(sql)).rows;
    } finally {
      await c.end();
    }
  };
  const pgTool = (tool: string, client: DbClient, args: string[]) =>
    spawnSync(`${PG_BIN}/${tool}`, args, {
      env: {
        PATH: process.env.PATH,
        ...cluster.libpqEnv(),
        PGUSER: CLIENT_ROLES[client],
        PGPASSWORD: passwords[client],
        PGDATABASE: DATABASE,
      },
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });

  beforeAll(async () => {
    cluster = await startPgCluster();
    const superuser = new Client(cluster.connection());
    await superuser.connect();
    await setup.prepare(superuser);
    await superuser.end();
    const first = runJob();
    expect(first).toMatchObject({ status: 0 });
    // What GoTrue and Storage do on start: their own tables, in their own schemas, as their own roles.
    await as("auth", async (c) => {
      await c.query("CREATE TABLE auth.users (id uuid PRIMARY KEY, email text NOT NULL)");
      await c.query(`INSERT INTO auth.users VALUES ('${USER_A}', 'a@example.test'), ('${USER_B}', 'b@example.test')`);
    });
    await as("storage", async (c) => {
      await c.query("CREATE TABLE storage.objects (name text PRIMARY KEY, owner uuid)");
      await c.query("ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY");
      await c.query(
        "CREATE POLICY objects_own ON storage.objects FOR SELECT TO authenticated USING (owner = (SELECT auth.uid()))",
      );
      await c.query("GRANT SELECT ON storage.objects TO authenticated");
      await c.query(`INSERT INTO storage.objects VALUES ('a.png', '${USER_A}'), ('b.png', '${USER_B}')`);
    });
    // The next deploy's job, which now sees the services' tables.
    expect(runJob()).toMatchObject({ status: 0 });
    await seedNotes(configOf("rest"), USER_A, USER_B);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test("every client logs in with its own password only, and none is a superuser or bypasses RLS", async () => {
    for (const client of DB_CLIENTS) {
      expect(await as(client, async (c) => (await c.query("SELECT current_user AS u")).rows[0].u)).toBe(
        CLIENT_ROLES[client],
      );
      const other = client === "api" ? "rest" : "api";
      for (const wrong of [passwords[other], setup.adminPassword(cluster)]) {
        const c = new Client(config(CLIENT_ROLES[client], wrong));
        await expect(c.connect()).rejects.toThrow(/password authentication failed/);
      }
    }
    const roles = await adminSql(
      `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles WHERE rolname IN (${DB_CLIENTS.map((c) => `'${CLIENT_ROLES[c]}'`).join(", ")}) ORDER BY 1`,
    );
    for (const r of roles) {
      const bypass = r.rolname === "northstack_backup" && setup.admin === "postgres";
      expect(r).toEqual({ ...r, rolsuper: false, rolcreaterole: false, rolcreatedb: false, rolbypassrls: bypass });
    }
  });

  test("tables belong to a role nobody logs in as, with FORCE ROW LEVEL SECURITY", async () => {
    expect(
      await adminSql(
        "SELECT c.relname, pg_get_userbyid(c.relowner) AS owner, c.relforcerowsecurity AS forced FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1",
      ),
    ).toEqual(["items", "notes"].map((relname) => ({ relname, owner: TABLE_OWNER_ROLE, forced: true })));
    expect(
      await adminSql(
        `SELECT rolcanlogin, shobj_description(oid, 'pg_authid') LIKE 'Owns the exposed schemas%' AS described FROM pg_roles WHERE rolname = '${TABLE_OWNER_ROLE}'`,
      ),
    ).toEqual([{ rolcanlogin: false, described: true }]);
    for (const client of DB_CLIENTS) await denied(client, `SET ROLE ${TABLE_OWNER_ROLE}`);
  });

  test("the owner's SECURITY DEFINER function answers to the policies: anon gets no row through it", async () => {
    const viaAnon = await requestAs(configOf("rest"), "anon", { role: "anon" }, (c) =>
      c.query("SELECT * FROM public.all_items()"),
    );
    expect(viaAnon.rows).toEqual([]);
  });

  test("no client creates roles, tables in the exposed schema, or turns RLS off", async () => {
    for (const client of DB_CLIENTS) {
      await denied(client, "CREATE ROLE intruder");
      await denied(client, "CREATE TABLE public.intruder (id int)");
      await denied(client, "ALTER TABLE public.notes DISABLE ROW LEVEL SECURITY");
    }
  });

  test("the API and PostgREST hold nothing until they switch role, then see only the caller's rows", async () => {
    for (const client of ["api", "rest"] as const) {
      await denied(client, "SELECT * FROM public.notes");
      await denied(client, "SELECT * FROM auth.users");
      const own = await requestAs(configOf(client), "authenticated", { sub: USER_A, role: "authenticated" }, (c) =>
        c.query("SELECT body FROM public.notes ORDER BY body"),
      );
      expect(own.rows.map((r) => r.body)).toEqual(["a1", "a2"]);
      const anonymous = requestAs(configOf(client), "anon", { role: "anon" }, (c) =>
        c.query("SELECT * FROM public.notes"),
      );
      await expect(anonymous).rejects.toThrow(/permission denied/);
    }
    // The API never needs the trusted back end's role.
    await denied("api", "SET ROLE service_role");
  });

  test("each Supabase service reads its own schema and not another's", async () => {
    expect((await as("auth", (c) => c.query("SELECT count(*)::int AS n FROM auth.users"))).rows).toEqual([{ n: 2 }]);
    await denied("auth", "SELECT * FROM storage.objects");
    await denied("auth", "SELECT * FROM public.notes");
    for (const client of ["storage", "realtime", "meta", "studio", "exporter"] as const)
      await denied(client, "SELECT * FROM auth.users");
    for (const client of ["storage", "realtime", "exporter"] as const)
      await denied(client, "SELECT * FROM public.notes");
    await denied("realtime", "SELECT * FROM storage.objects");
    // Storage's own RLS applies to the caller it switches to.
    const objects = await requestAs(configOf("storage"), "authenticated", { sub: USER_B, role: "authenticated" }, (c) =>
      c.query("SELECT name FROM storage.objects"),
    );
    expect(objects.rows).toEqual([{ name: "b.png" }]);
  });

  test("Realtime may stream changes; the schemas realtime and _realtime are its own", async () => {
    const [r] = await adminSql(
      "SELECT rolreplication OR pg_has_role('supabase_realtime_admin', 'rds_replication', 'MEMBER') AS replication FROM pg_roles WHERE rolname = 'supabase_realtime_admin'",
    );
    expect(r).toEqual({ replication: true });
    expect(
      await adminSql(
        "SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname IN ('realtime', '_realtime') ORDER BY 1",
      ),
    ).toEqual([
      { nspname: "_realtime", owner: "supabase_realtime_admin" },
      { nspname: "realtime", owner: "supabase_realtime_admin" },
    ]);
  });

  test("meta and Studio edit the exposed schema's rows as service_role would, but no schema", async () => {
    for (const client of ["meta", "studio"] as const) {
      expect((await as(client, (c) => c.query("SELECT count(*)::int AS n FROM public.notes"))).rows).toEqual([
        { n: 3 },
      ]);
      await denied(client, "ALTER TABLE public.notes ADD COLUMN intruder int");
    }
  });

  test("the exporter reads statistics of every session but no table data", async () => {
    const stats = await as("exporter", async (c) => {
      await c.query("SELECT * FROM pg_stat_database, pg_stat_bgwriter, pg_stat_user_tables");
      return (
        await c.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query IS NULL OR query = '<insufficient privilege>'",
        )
      ).rows;
    });
    expect(stats).toEqual([{ n: 0 }]);
    for (const table of ["public.notes", "public.items", "auth.users", "storage.objects"])
      await denied("exporter", `SELECT * FROM ${table}`);
  });

  test("the backup role dumps every row, RLS tables included, and writes nothing", async () => {
    const bypasses = setup.admin === "postgres";
    // pg_dump turns row security off and refuses a table RLS would filter; without BYPASSRLS the
    // backup role reads through its read-all policies, with row security on.
    const plain = pgTool("pg_dump", "backup", ["--format=plain", "--data-only"]);
    if (bypasses) expect(plain.status).toBe(0);
    else expect(plain.stderr).toContain("query would be affected by row-level security policy");
    const dump = bypasses
      ? plain
      : pgTool("pg_dump", "backup", ["--format=plain", "--data-only", "--enable-row-security"]);
    expect({ status: dump.status, stderr: dump.stderr }).toEqual({ status: 0, stderr: "" });
    for (const row of ["a1", "a2", "b1", "a@example.test", "b@example.test", "a.png", "b.png", USER_B])
      expect(dump.stdout).toContain(row);
    if (!bypasses) {
      const policies = await adminSql(
        `SELECT schemaname || '.' || tablename AS t FROM pg_policies WHERE policyname = '${BACKUP_POLICY}' ORDER BY 1`,
      );
      expect(policies.map((p) => p.t)).toEqual(["public.items", "public.notes", "storage.objects"]);
    }
    const roles = pgTool("pg_dumpall", "backup", ["--roles-only", "--no-role-passwords"]);
    expect(roles.status).toBe(0);
    expect(roles.stdout).toContain("CREATE ROLE northstack_api");
    for (const write of [
      "INSERT INTO public.notes (owner_id, body) VALUES (gen_random_uuid(), 'x')",
      "UPDATE auth.users SET email = 'x'",
      "DELETE FROM storage.objects",
    ]) {
      await expect(
        as("backup", async (c) => {
          await c.query("SET default_transaction_read_only = off");
          return c.query(write);
        }),
      ).rejects.toThrow(/permission denied/);
    }
  });

  test("the backup job's own script dumps as the backup role and its restore check passes", () => {
    const dir = fs.mkdtempSync(path.join(cluster.dir, "backup-"));
    const script = path.join(dir, "backup.sh");
    fs.writeFileSync(script, renderBackupScript());
    const env: Record<string, string> = {
      ...cluster.libpqEnv(),
      PGUSER: CLIENT_ROLES.backup,
      PGPASSWORD: passwords.backup,
      PGDATABASE: DATABASE,
      PATH: `${PG_BIN}:${process.env.PATH}`,
      BACKUP_DIR: path.join(dir, "out"),
    };
    // initdb, for the restore check, refuses root: run as the postgres OS user, as in the pod.
    const asRoot = typeof process.getuid === "function" && process.getuid() === 0;
    if (asRoot) execFileSync("chown", ["-R", "postgres:postgres", dir]);
    const r = asRoot
      ? spawnSync(
          "runuser",
          ["-u", "postgres", "--", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), "bash", script, "dump"],
          {
            encoding: "utf8",
          },
        )
      : spawnSync("bash", [script, "dump"], { encoding: "utf8", env: { ...process.env, ...env } });
    const out = `${r.stdout}${r.stderr}`;
    expect({ status: r.status, out }).toEqual({
      status: 0,
      out: expect.stringMatching(/restore check passed .*row counts equal/),
    });
    expect(out).not.toContain("FAILED");
  });

  test("the recorder role records a backup run as the jobs do, and reads or writes nothing else", async () => {
    const sql = path.join(fs.mkdtempSync(path.join(cluster.dir, "record-")), "record.sql");
    fs.writeFileSync(sql, BACKUP_RECORD_SQL);
    const vars = {
      kind: "redis-offsite",
      duration: "3",
      size: "1024",
      object: "x/redis-2026-12-03.rdb",
      succeeded: "false",
    };
    const r = pgTool("psql", "recorder", [
      "-X",
      "-q",
      "-v",
      "ON_ERROR_STOP=1",
      ...Object.entries(vars).flatMap(([k, v]) => ["-v", `${k}=${v}`]),
      "-f",
      sql,
    ]);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    expect(
      await adminSql(
        "SELECT kind, duration_seconds, size_bytes::int AS size, object, succeeded FROM northstack_ops.backup_runs WHERE kind = 'redis-offsite'",
      ),
    ).toEqual([{ kind: "redis-offsite", duration_seconds: 3, size: 1024, object: vars.object, succeeded: false }]);

    // Every privilege it holds on any table, view or sequence outside the system catalogs: one.
    const held = await adminSql(`SELECT n.nspname || '.' || c.relname AS object, p.privilege
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(privilege)
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        AND (has_table_privilege('${CLIENT_ROLES.recorder}', c.oid, p.privilege)
          OR (p.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES') AND has_any_column_privilege('${CLIENT_ROLES.recorder}', c.oid, p.privilege)))
      UNION ALL
      SELECT n.nspname || '.' || c.relname, 'sequence ' || p.privilege
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      CROSS JOIN unnest(ARRAY['USAGE', 'SELECT', 'UPDATE']) AS p(privilege)
      WHERE c.relkind = 'S' AND has_sequence_privilege('${CLIENT_ROLES.recorder}', c.oid, p.privilege)
      ORDER BY 1, 2`);
    expect(held).toEqual([{ object: "northstack_ops.backup_runs", privilege: "INSERT" }]);
    expect(
      await adminSql(
        `SELECT rolinherit, (SELECT count(*)::int FROM pg_auth_members WHERE member = r.oid) AS memberships FROM pg_roles r WHERE rolname = '${CLIENT_ROLES.recorder}'`,
      ),
    ).toEqual([{ rolinherit: false, memberships: 0 }]);

    // And the server says no to each attempt, its own record included.
    for (const sql of [
      "SELECT * FROM northstack_ops.backup_runs",
      "UPDATE northstack_ops.backup_runs SET succeeded = true",
      "DELETE FROM northstack_ops.backup_runs",
      "INSERT INTO northstack_ops.backup_runs (kind, duration_seconds, size_bytes, object) VALUES ('x', 0, 0, 'x') RETURNING *",
      "SELECT * FROM public.notes",
      "SELECT * FROM public.items",
      "SELECT * FROM auth.users",
      "SELECT * FROM storage.objects",
      "INSERT INTO public.notes (owner_id, body) VALUES (gen_random_uuid(), 'x')",
      "CREATE TABLE public.recorder_was_here (id int)",
      "CREATE TABLE northstack_ops.recorder_was_here (id int)",
    ])
      await denied("recorder", sql);
  });

  test("rotation: after the job reruns with new secrets the old passwords stop working", async () => {
    const old = passwords;
    passwords = clientPasswords("second");
    expect(runJob()).toMatchObject({ status: 0 });
    for (const client of DB_CLIENTS) {
      await expect(new Client(config(CLIENT_ROLES[client], old[client])).connect()).rejects.toThrow(
        /password authentication failed/,
      );
      expect(await as(client, async (c) => (await c.query("SELECT 1 AS one")).rows)).toEqual([{ one: 1 }]);
    }
    // One client's rotation leaves the others' passwords alone.
    const before = passwords;
    passwords = { ...before, backup: "third-backup" };
    expect(runJob()).toMatchObject({ status: 0 });
    await expect(new Client(config(CLIENT_ROLES.backup, before.backup)).connect()).rejects.toThrow(
      /password authentication failed/,
    );
    for (const client of DB_CLIENTS)
      expect(await as(client, async (c) => (await c.query("SELECT 1 AS one")).rows)).toEqual([{ one: 1 }]);
  });
});
