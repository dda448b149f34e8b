/**
 * The generated migrations against a real PostgreSQL 15: applied twice by the migration job's own
 * script (idempotent, role passwords included), then the RLS guarantees the API relies on.
 */
import { parse } from "libpg-query";
import { Client } from "pg";
import {
  API_ROLES,
  ROLE_PASSWORD_ENV,
  SERVICE_LOGIN_ROLES,
  SERVICE_ROLE_POLICY,
  renderMigrations,
  unprotectedTablesSql,
} from "../../components/migrations";
import { requestAs, runMigrationJobOn, seedNotes } from "../helpers/migration-db";
import { PgCluster, startPgCluster } from "../helpers/pg-cluster";

const USER_A = "a1b2c3d4-0000-4000-8000-00000000000a";
const USER_B = "a1b2c3d4-0000-4000-8000-00000000000b";
const ROLE_PASSWORD = "role-password-from-secret-env";
const EXPOSED = ["public", "api"];

let cluster: PgCluster;
let admin: Client;

const runMigrationJob = (files = renderMigrations({ exposedSchemas: EXPOSED })) =>
  runMigrationJobOn(cluster, files, { [ROLE_PASSWORD_ENV]: ROLE_PASSWORD });
const asRequest = <T>(role: string, claims: Record<string, unknown> | undefined, fn: (c: Client) => Promise<T>) =>
  requestAs(cluster.connection("authenticator", ROLE_PASSWORD), role, claims, fn);
const claimsOf = (sub: string) => ({
  sub,
  role: "authenticated",
  aud: "authenticated",
  email: `${sub.slice(-1)}@example.test`,
});

beforeAll(async () => {
  cluster = await startPgCluster();
  admin = new Client(cluster.connection());
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await cluster?.stop();
});

describe("migration files", () => {
  test("every file parses with the real Postgres parser and holds no psql meta-commands", async () => {
    for (const f of renderMigrations({ exposedSchemas: EXPOSED })) {
      await expect(parse(f.sql)).resolves.toHaveProperty("stmts");
      expect(f.sql).not.toMatch(/^\s*\\/m);
      expect(f.sql).not.toMatch(/:'\w+'/);
      expect(f.name).toMatch(/^\d{3}_[a-z0-9_]+\.sql$/);
    }
  });

  test("bad schema names and project file names are rejected with the value and what is allowed", () => {
    expect(() => renderMigrations({ exposedSchemas: ["Public;drop"] })).toThrow(
      /"Public;drop" is not allowed; use lower-case identifiers/,
    );
    expect(() => renderMigrations({ exposedSchemas: ["auth"] })).toThrow(/"auth" is not allowed; it belongs to/);
    expect(() => renderMigrations({ exposedSchemas: [] })).toThrow(/exposedSchemas is empty/);
    expect(() => renderMigrations({ project: [{ name: "early.sql", sql: "" }] })).toThrow(
      'project migration "early.sql" is not an allowed migration file name; use <version>_<name>.sql',
    );
  });
});

describe("applied by the migration job's script", () => {
  test("applies cleanly twice in a row (idempotent), including the role-password step", () => {
    for (let run = 1; run <= 2; run++) {
      const { status, output } = runMigrationJob();
      expect({ run, status, output }).toEqual({
        run,
        status: 0,
        output: expect.stringContaining("migrations applied"),
      });
      expect(output).not.toContain(ROLE_PASSWORD);
    }
  });

  test("the service login roles authenticate with the password from the environment, and only with it", async () => {
    for (const role of SERVICE_LOGIN_ROLES) {
      const ok = new Client(cluster.connection(role, ROLE_PASSWORD));
      await ok.connect();
      expect((await ok.query("SELECT current_user AS u")).rows[0].u).toBe(role);
      await ok.end();
    }
    const wrong = new Client(cluster.connection("authenticator", "not-the-password"));
    await expect(wrong.connect()).rejects.toThrow(/password authentication failed/);
  });

  test("roles have the Supabase attributes and memberships", async () => {
    const { rows } = await admin.query(
      "SELECT rolname, rolcanlogin, rolinherit, rolbypassrls FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname",
      [[...API_ROLES, ...SERVICE_LOGIN_ROLES]],
    );
    const byName = Object.fromEntries(rows.map((r) => [r.rolname, r]));
    expect(byName.service_role).toMatchObject({ rolcanlogin: false, rolbypassrls: true });
    expect(byName.anon).toMatchObject({ rolcanlogin: false, rolbypassrls: false });
    expect(byName.authenticated).toMatchObject({ rolcanlogin: false, rolbypassrls: false });
    expect(byName.authenticator).toMatchObject({ rolcanlogin: true, rolinherit: false, rolbypassrls: false });
    expect(byName.supabase_auth_admin).toMatchObject({ rolcanlogin: true });
    expect(byName.supabase_storage_admin).toMatchObject({ rolcanlogin: true });
    const members = await admin.query(
      "SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = 'authenticator' ORDER BY 1",
    );
    expect(members.rows.map((r) => r.rolname)).toEqual(["anon", "authenticated", "service_role"]);
  });

  test("auth helpers exist in schema auth, owned by supabase_auth_admin", async () => {
    const { rows } = await admin.query(
      "SELECT p.proname, pg_get_userbyid(p.proowner) AS owner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'auth' ORDER BY 1",
    );
    expect(rows).toEqual(["jwt", "role", "uid"].map((proname) => ({ proname, owner: "supabase_auth_admin" })));
    const schemas = await admin.query(
      "SELECT nspname, pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname IN ('auth', 'storage', 'extensions', 'realtime', 'api') ORDER BY 1",
    );
    expect(schemas.rows.map((r) => r.nspname)).toEqual(["api", "auth", "extensions", "realtime", "storage"]);
  });
});

describe("row-level security on public.notes", () => {
  // Seeded as service_role, which bypasses RLS: the only way to write rows for two owners at once.
  beforeAll(() => seedNotes(cluster.connection("authenticator", ROLE_PASSWORD), USER_A, USER_B));

  test("auth.uid(), auth.role() and auth.jwt() read request.jwt.claims as PostgREST sets it", async () => {
    const row = await asRequest(
      "authenticated",
      claimsOf(USER_A),
      async (c) =>
        (await c.query("SELECT auth.uid()::text AS uid, auth.role() AS role, auth.jwt() ->> 'email' AS email")).rows[0],
    );
    expect(row).toEqual({ uid: USER_A, role: "authenticated", email: "a@example.test" });
  });

  test("auth.jwt() reads request.jwt.claims only: a value under the non-existent request.jwt.claim is ignored", async () => {
    const client = new Client(cluster.connection());
    await client.connect();
    await client.query("BEGIN");
    expect((await client.query("SELECT auth.jwt() AS jwt")).rows[0].jwt).toBeNull();
    await client.query("SELECT set_config('request.jwt.claim', $1, true)", [JSON.stringify({ role: "service_role" })]);
    expect((await client.query("SELECT auth.jwt() AS jwt")).rows[0].jwt).toBeNull();
    await client.query("SELECT set_config('request.jwt.claims', $1, true)", [JSON.stringify(claimsOf(USER_A))]);
    expect((await client.query("SELECT auth.jwt() AS jwt")).rows[0].jwt).toEqual(claimsOf(USER_A));
    await client.query("ROLLBACK");
    await client.end();
  });

  test("auth.uid() also reads the legacy request.jwt.claim.sub, and is null without claims", async () => {
    const client = new Client(cluster.connection());
    await client.connect();
    await client.query("BEGIN");
    expect((await client.query("SELECT auth.uid() AS uid")).rows[0].uid).toBeNull();
    await client.query("SELECT set_config('request.jwt.claim.sub', $1, true)", [USER_B]);
    expect((await client.query("SELECT auth.uid()::text AS uid")).rows[0].uid).toBe(USER_B);
    await client.query("ROLLBACK");
    await client.end();
  });

  test("anon reads nothing: it has no privilege on the table", async () => {
    await expect(
      asRequest("anon", { role: "anon" }, (c) => c.query("SELECT * FROM public.notes")),
    ).rejects.toMatchObject({ code: "42501" });
  });

  test("an authenticated user sees only their own rows", async () => {
    const bodies = await asRequest("authenticated", claimsOf(USER_A), async (c) =>
      (await c.query("SELECT body FROM public.notes ORDER BY body")).rows.map((r) => r.body),
    );
    expect(bodies).toEqual(["a1", "a2"]);
    const forB = await asRequest(
      "authenticated",
      claimsOf(USER_B),
      async (c) => (await c.query("SELECT body, owner_id::text FROM public.notes")).rows,
    );
    expect(forB).toEqual([{ body: "b1", owner_id: USER_B }]);
  });

  test("an authenticated user inserts as themselves by default and cannot insert for someone else", async () => {
    const owner = await asRequest(
      "authenticated",
      claimsOf(USER_A),
      async (c) =>
        (await c.query("INSERT INTO public.notes (body) VALUES ('mine') RETURNING owner_id::text")).rows[0].owner_id,
    );
    expect(owner).toBe(USER_A);
    await expect(
      asRequest("authenticated", claimsOf(USER_A), (c) =>
        c.query("INSERT INTO public.notes (owner_id, body) VALUES ($1, 'forged')", [USER_B]),
      ),
    ).rejects.toThrow(/violates row-level security policy/);
  });

  test("an authenticated user cannot update, re-own or delete someone else's rows", async () => {
    await asRequest("authenticated", claimsOf(USER_A), async (c) => {
      expect((await c.query("UPDATE public.notes SET body = 'hijacked' WHERE owner_id = $1", [USER_B])).rowCount).toBe(
        0,
      );
      expect((await c.query("DELETE FROM public.notes WHERE owner_id = $1", [USER_B])).rowCount).toBe(0);
      expect((await c.query("UPDATE public.notes SET body = 'edited' WHERE body = 'a1'")).rowCount).toBe(1);
    });
    await expect(
      asRequest("authenticated", claimsOf(USER_A), (c) =>
        c.query("UPDATE public.notes SET owner_id = $1 WHERE body = 'a1'", [USER_B]),
      ),
    ).rejects.toThrow(/violates row-level security policy/);
    const b = await admin.query("SELECT body FROM public.notes WHERE owner_id = $1", [USER_B]);
    expect(b.rows).toEqual([{ body: "b1" }]);
  });

  test("service_role bypasses RLS, with BYPASSRLS from the superuser and the same policy managed services need", async () => {
    const count = await asRequest("service_role", { role: "service_role" }, async (c) =>
      Number((await c.query("SELECT count(*) AS n FROM public.notes")).rows[0].n),
    );
    expect(count).toBe(3);
    const policies = await admin.query(
      "SELECT policyname FROM pg_policies WHERE tablename = 'notes' AND 'service_role' = ANY (roles)",
    );
    expect(policies.rows).toEqual([{ policyname: SERVICE_ROLE_POLICY }]);
  });
});

describe("every table in an exposed schema has RLS and a policy", () => {
  const unprotected = async () =>
    (await admin.query(unprotectedTablesSql(EXPOSED))).rows.map((r) => `${r.schema}.${r.table}`);

  test("the catalog query finds none after the migrations", async () => {
    expect(await unprotected()).toEqual([]);
  });

  test("the same query flags a table without RLS, then with RLS but no policy (the service_role one does not count), and the job refuses to finish", async () => {
    await admin.query("CREATE TABLE api.unsafe (id int)");
    try {
      expect(await unprotected()).toEqual(["api.unsafe"]);
      await admin.query("ALTER TABLE api.unsafe ENABLE ROW LEVEL SECURITY");
      expect(await unprotected()).toEqual(["api.unsafe"]);

      const { status, output } = runMigrationJob();
      expect(status).not.toBe(0);
      expect(output).toContain("tables in exposed schemas without row-level security or a policy: api.unsafe");

      await admin.query(`CREATE POLICY ${SERVICE_ROLE_POLICY} ON api.unsafe FOR ALL TO service_role USING (true)`);
      expect(await unprotected()).toEqual(["api.unsafe"]);

      await admin.query("CREATE POLICY unsafe_read ON api.unsafe FOR SELECT TO authenticated USING (true)");
      expect(await unprotected()).toEqual([]);
    } finally {
      await admin.query("DROP TABLE api.unsafe");
    }
  });

  test("a project migration that creates an unprotected table fails the job", () => {
    const files = renderMigrations({
      exposedSchemas: EXPOSED,
      project: [{ name: "100_leaky.sql", sql: "CREATE TABLE IF NOT EXISTS public.leaky (id int);" }],
    });
    const { status, output } = runMigrationJob(files);
    expect(status).not.toBe(0);
    expect(output).toContain("public.leaky");
  });
});
