/**
 * The migrations as RDS and Cloud SQL run them: the admin user is not a superuser but a
 * `LOGIN CREATEROLE CREATEDB` role that owns the database, as the RDS master user (rds_superuser)
 * and the Cloud SQL `postgres` user (cloudsqlsuperuser) are. PostgreSQL 15 then refuses anything
 * that mentions BYPASSRLS, so service_role reaches every row through policies instead, and the
 * RLS guarantees must hold all the same.
 */
import { Client, ClientConfig } from "pg";
import { ROLE_PASSWORD_ENV, SERVICE_ROLE_POLICY, renderMigrations } from "../../components/migrations";
import { requestAs, runMigrationJobOn, seedNotes } from "../helpers/migration-db";
import { PgCluster, startPgCluster } from "../helpers/pg-cluster";

const ADMIN = "dbadmin";
const ADMIN_PASSWORD = "managed-admin-password";
const DATABASE = "app";
const ROLE_PASSWORD = "managed-role-password";
const USER_A = "b1b2c3d4-0000-4000-8000-00000000000a";
const USER_B = "b1b2c3d4-0000-4000-8000-00000000000b";

/** A project migration as a team would write it: RLS and a policy for users, nothing for service_role. */
const ITEMS = {
  name: "100_items.sql",
  sql: `CREATE TABLE IF NOT EXISTS public.items (id int PRIMARY KEY, owner_id uuid NOT NULL);
ALTER TABLE public.items ENABLE ROW LEVEL SECURITY;
GRANT SELECT ON public.items TO authenticated;
DROP POLICY IF EXISTS items_select_own ON public.items;
CREATE POLICY items_select_own ON public.items FOR SELECT TO authenticated USING (owner_id = (SELECT auth.uid()));
INSERT INTO public.items VALUES (1, '${USER_A}'), (2, '${USER_B}') ON CONFLICT DO NOTHING;
`,
};
const files = () => renderMigrations({ project: [ITEMS] });

let cluster: PgCluster;
let superuser: Client;

const connection = (user: string, password: string): ClientConfig => ({
  ...cluster.connection(user, password),
  database: DATABASE,
});

/** Runs the job's own script as the managed-service admin, on the application database. */
const runMigrationJob = () =>
  runMigrationJobOn(cluster, files(), {
    PGUSER: ADMIN,
    PGPASSWORD: ADMIN_PASSWORD,
    PGDATABASE: DATABASE,
    [ROLE_PASSWORD_ENV]: ROLE_PASSWORD,
  });
const asRequest = <T>(role: string, claims: Record<string, unknown>, fn: (c: Client) => Promise<T>) =>
  requestAs(connection("authenticator", ROLE_PASSWORD), role, claims, fn);
const user = (sub: string) => ({ sub, role: "authenticated" });
const rows = async (c: Client, sql: string) => (await c.query(sql)).rows;

beforeAll(async () => {
  cluster = await startPgCluster();
  superuser = new Client(cluster.connection());
  await superuser.connect();
  // What vanilla PostgreSQL can show of RDS: rds_superuser's predefined roles, an rds_replication
  // role the admin may take, and a NOSUPERUSER CREATEROLE CREATEDB master user owning the database.
  await superuser.query("CREATE ROLE rds_superuser NOLOGIN");
  await superuser.query("GRANT pg_monitor, pg_signal_backend, pg_checkpoint TO rds_superuser");
  await superuser.query("CREATE ROLE rds_replication NOLOGIN");
  await superuser.query(
    `CREATE ROLE ${ADMIN} LOGIN CREATEROLE CREATEDB NOSUPERUSER NOREPLICATION NOBYPASSRLS PASSWORD '${ADMIN_PASSWORD}' IN ROLE rds_superuser`,
  );
  await superuser.query(`CREATE DATABASE ${DATABASE} OWNER ${ADMIN}`);
});
afterAll(async () => {
  await superuser?.end();
  await cluster?.stop();
});

describe("applied by a CREATEROLE admin that is not a superuser", () => {
  test("applies cleanly twice in a row, role passwords included", () => {
    for (let run = 1; run <= 2; run++) {
      const { status, output } = runMigrationJob();
      expect({ run, status, output }).toEqual({
        run,
        status: 0,
        output: expect.stringContaining("migrations applied"),
      });
      expect(output).not.toContain(ROLE_PASSWORD);
      expect(output).not.toMatch(/must be superuser/);
    }
  });

  test("no role bypasses RLS: service_role gets a policy on every exposed table instead", async () => {
    const roles = await rows(
      superuser,
      "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname IN ('dbadmin', 'anon', 'authenticated', 'authenticator', 'service_role') ORDER BY 1",
    );
    expect(roles).toEqual(
      ["anon", "authenticated", "authenticator", "dbadmin", "service_role"].map((rolname) => ({
        rolname,
        rolsuper: false,
        rolbypassrls: false,
      })),
    );
    const app = new Client(connection(ADMIN, ADMIN_PASSWORD));
    await app.connect();
    const policies = await rows(
      app,
      `SELECT tablename, cmd, roles::text[] AS roles, qual, with_check FROM pg_policies WHERE policyname = '${SERVICE_ROLE_POLICY}' ORDER BY 1`,
    );
    await app.end();
    expect(policies).toEqual(
      ["items", "notes"].map((tablename) => ({
        tablename,
        cmd: "ALL",
        roles: ["service_role"],
        qual: "true",
        with_check: "true",
      })),
    );
  });

  test("the admin took rds_replication for Realtime's replication slot", async () => {
    const { rows: member } = await superuser.query("SELECT pg_has_role($1, 'rds_replication', 'MEMBER') AS yes", [
      ADMIN,
    ]);
    expect(member[0].yes).toBe(true);
  });
});

describe("row-level security without BYPASSRLS", () => {
  // Written as service_role through its policy: rows for two owners in one statement.
  beforeAll(() => seedNotes(connection("authenticator", ROLE_PASSWORD), USER_A, USER_B));

  test("service_role reads and changes every row of notes and of a project table", async () => {
    await asRequest("service_role", { role: "service_role" }, async (c) => {
      expect(await rows(c, "SELECT count(*)::int AS n FROM public.notes")).toEqual([{ n: 3 }]);
      expect(await rows(c, "SELECT id FROM public.items ORDER BY id")).toEqual([{ id: 1 }, { id: 2 }]);
      expect((await c.query("UPDATE public.notes SET body = body || '!'")).rowCount).toBe(3);
    });
  });

  test("anon reads nothing", async () => {
    await expect(
      asRequest("anon", { role: "anon" }, (c) => c.query("SELECT * FROM public.notes")),
    ).rejects.toMatchObject({ code: "42501" });
  });

  test("users see only their own rows, in notes and in the project table", async () => {
    const a = await asRequest("authenticated", user(USER_A), async (c) => ({
      notes: (await rows(c, "SELECT body FROM public.notes ORDER BY body")).map((r) => r.body),
      items: await rows(c, "SELECT id FROM public.items"),
    }));
    expect(a).toEqual({ notes: ["a1", "a2"], items: [{ id: 1 }] });
    const b = await asRequest("authenticated", user(USER_B), async (c) =>
      (await rows(c, "SELECT body FROM public.notes")).map((r) => r.body),
    );
    expect(b).toEqual(["b1"]);
    await expect(
      asRequest("authenticated", user(USER_A), (c) =>
        c.query("INSERT INTO public.notes (owner_id, body) VALUES ($1, 'forged')", [USER_B]),
      ),
    ).rejects.toThrow(/violates row-level security policy/);
  });
});

test("a client role that bypasses RLS fails the job, since the admin cannot take it away", async () => {
  await superuser.query("ALTER ROLE authenticated BYPASSRLS");
  try {
    const { status, output } = runMigrationJob();
    expect(status).not.toBe(0);
    expect(output).toContain("role authenticated bypasses row-level security and dbadmin may not change that");
  } finally {
    await superuser.query("ALTER ROLE authenticated NOBYPASSRLS");
  }
});
