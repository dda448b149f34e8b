/**
 * The whole program under mocks: every database client's generated password reaches its own
 * workload and the migration job, and nothing else; the admin password reaches the migration job
 * alone (and the dev database container, which is the server). Rotation counters are the
 * passwords' keepers.
 */
import { DB_CLIENTS, DbClient, dbPasswordEnv } from "../../components/db-roles";
import { ConfigError, parseConfig } from "../../components/config";
import { FILES_HOLDER_LABEL } from "../../components/runtime/docker";
import { DatabaseCredentials } from "../../components/secrets";
import { PlannedResource, runUnderMocks } from "../../scripts/lib/mock-program";
import type { StackPlan } from "../../scripts/lib/plan";
import { sharedPlan } from "../helpers/shared-plan";

const both = (workload: string) => ({ dev: [workload], cloud: [workload] });
/** The workloads each client's password is for, on dev and on the cloud stacks. */
const WORKLOADS: Record<DbClient, { dev: string[]; cloud: string[] }> = {
  api: both("api"),
  rest: both("supabase-rest"),
  auth: both("supabase-auth"),
  storage: both("supabase-storage"),
  realtime: both("supabase-realtime"),
  meta: both("supabase-meta"),
  studio: both("supabase-studio"),
  exporter: both("monitoring-postgres-exporter"),
  backup: both("backup"),
  // The jobs that only record runs: the Redis and Storage copies on dev, the restore drill on the cloud.
  recorder: { dev: ["volume-backup"], cloud: ["backup-drill"] },
};
const JOB = "supabase-migrate";

const labelsOf = (r: PlannedResource) =>
  Object.fromEntries(((r.inputs.labels as { label: string; value: string }[]) ?? []).map((l) => [l.label, l.value]));

/** Where a workload's values live: Docker containers on dev, each workload's `<name>-secret` Secret on Kubernetes. */
function holdersOf(plan: StackPlan, value: string): string[] {
  return plan.resources
    .filter(
      (r) =>
        (r.type === "docker:index/container:Container" && labelsOf(r)[FILES_HOLDER_LABEL] === undefined) ||
        r.type.startsWith("kubernetes:"),
    )
    .filter((r) => JSON.stringify(r.plainInputs).includes(value))
    .map((r) => r.name.replace(/-secret$/, ""))
    .sort();
}

/** The job's own env, read back from where the runtime put it: the passwords it sets, and the admin's. */
function jobSecrets(plan: StackPlan): Record<string, string> {
  const job = plan.resources.find(
    (r) =>
      (r.type === "docker:index/container:Container" && r.name === JOB) ||
      (r.type === "kubernetes:core/v1:Secret" && r.name === `${JOB}-secret`),
  );
  if (!job) throw new Error("no migration job");
  if (job.type === "kubernetes:core/v1:Secret") return job.plainInputs.stringData as Record<string, string>;
  return Object.fromEntries(
    (job.plainInputs.envs as string[]).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
  );
}

describe.each([
  ["dev", {}],
  ["staging", { cloud: "aws" }],
  ["prod", { cloud: "gcp" }],
])("the %s stack %j", (stack, set) => {
  let plan: StackPlan;
  beforeAll(async () => {
    plan = await sharedPlan(stack, set);
  });

  test("each client's password reaches its own workloads and the migration job, nothing else", () => {
    const secrets = jobSecrets(plan);
    const seen = new Set<string>();
    for (const client of DB_CLIENTS) {
      const password = secrets[dbPasswordEnv(client)];
      expect({ client, password: typeof password === "string" && password.length >= 32 }).toEqual({
        client,
        password: true,
      });
      seen.add(password);
      expect({ client, holders: holdersOf(plan, password) }).toEqual({
        client,
        holders: [...WORKLOADS[client][stack === "dev" ? "dev" : "cloud"], JOB].sort(),
      });
    }
    expect(seen.size).toBe(DB_CLIENTS.length);
  });

  test("the admin password reaches the migration job alone", () => {
    const admin = jobSecrets(plan).PGPASSWORD;
    expect(admin.length).toBeGreaterThanOrEqual(8);
    // On dev the database container is the server that the password protects.
    expect(holdersOf(plan, admin)).toEqual(stack === "dev" ? ["postgres", JOB] : [JOB]);
  });

  test("every generated password is a Pulumi secret", () => {
    for (const r of plan.resources.filter((x) => x.type === "kubernetes:core/v1:Secret" || x.name === JOB))
      expect(JSON.stringify(r.inputs)).not.toContain(jobSecrets(plan)[dbPasswordEnv("api")]);
  });
});

describe("rotation counters are the passwords' keepers", () => {
  /** The keeper of each client's generated password, for the config given. */
  const keepers = async (set: Record<string, string>) => {
    const raw = Object.fromEntries(Object.entries(set).map(([k, v]) => [`northstack:${k}`, v]));
    const { credentialRotation } = parseConfig(raw, "dev");
    const result = await runUnderMocks({
      stack: "dev",
      config: {},
      program: () => new DatabaseCredentials("db-login", { rotation: credentialRotation }),
    });
    return Object.fromEntries(
      result.resources
        .filter((r) => r.type === "random:index/randomPassword:RandomPassword")
        .map((r) => [r.name.slice("db-login-".length), (r.inputs.keepers as { rotation: string }).rotation]),
    );
  };

  test("the stack-wide counter changes every client's keeper, a client's counter only that client's", async () => {
    const base = await keepers({});
    expect(Object.keys(base).sort()).toEqual([...DB_CLIENTS].sort());
    const all = await keepers({ credentialRotation: "1" });
    for (const client of DB_CLIENTS) expect(all[client]).not.toBe(base[client]);
    const one = await keepers({ credentialRotationByClient: '["backup=1"]' });
    for (const client of DB_CLIENTS)
      expect({ client, changed: one[client] !== base[client] }).toEqual({ client, changed: client === "backup" });
  });

  test("bad rotation values are refused with the key, the value and what is allowed", () => {
    const problems = (set: Record<string, string>) => {
      try {
        parseConfig(Object.fromEntries(Object.entries(set).map(([k, v]) => [`northstack:${k}`, v])), "dev");
      } catch (e) {
        return (e as ConfigError).problems;
      }
      return [];
    };
    expect(problems({ credentialRotation: "-1" })).toEqual([
      expect.stringMatching(/^northstack:credentialRotation: -1 is below the minimum 0/),
    ]);
    expect(problems({ credentialRotation: "soon" })).toEqual([
      expect.stringMatching(/^northstack:credentialRotation: "soon" is not an integer/),
    ]);
    expect(problems({ credentialRotationByClient: '["apx=1"]' })).toEqual([
      'northstack:credentialRotationByClient: "apx=1" names an unknown client; allowed clients: api, rest, auth, storage, realtime, meta, studio, exporter, backup, recorder',
    ]);
    expect(problems({ credentialRotationByClient: '["api"]' })).toEqual([
      expect.stringMatching(/"api" is not client=N; use a client name and a non-negative integer, e.g. api=1$/),
    ]);
    expect(problems({ credentialRotationByClient: '["api=1","api=2"]' })).toEqual([
      expect.stringMatching(/"api=2" sets api twice; keep one entry per client$/),
    ]);
  });
});
