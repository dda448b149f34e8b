import { MIGRATIONS_LABEL } from "../../components/workload";
import { PlannedResource, SECRET_MARK } from "../../scripts/lib/mock-program";
import { StackPlan, planStack } from "../../scripts/lib/plan";

let plan: StackPlan;
beforeAll(async () => {
  plan = await planStack({ stack: "dev" });
});

const containers = () => plan.resources.filter((r) => r.type === "docker:index/container:Container");
const labelsOf = (r: PlannedResource) => Object.fromEntries(((r.inputs.labels as { label: string; value: string }[]) ?? []).map((l) => [l.label, l.value]));

test("the dev stack has every core component", () => {
  const types = new Set(plan.resources.map((r) => r.type));
  for (const t of [
    "northstack:runtime:Docker",
    "northstack:core:Secrets",
    "northstack:data:Postgres",
    "northstack:data:Supabase",
    "northstack:data:Redis",
    "northstack:app:ApiService",
    "northstack:edge:Kong",
  ]) {
    expect(types).toContain(t);
  }
});

test("every container runs as a non-root uid:gid, hardened, with limits and labels", () => {
  expect(containers().length).toBeGreaterThanOrEqual(8);
  for (const c of containers()) {
    const where = c.name;
    expect({ where, user: c.inputs.user }).toEqual({ where, user: expect.stringMatching(/^[1-9]\d*:[1-9]\d*$/) });
    expect({ where, opts: c.inputs.securityOpts }).toEqual({ where, opts: ["no-new-privileges:true"] });
    expect({ where, drops: (c.inputs.capabilities as { drops: string[] }).drops }).toEqual({ where, drops: ["ALL"] });
    expect({ where, memory: (c.inputs.memory as number) > 0 }).toEqual({ where, memory: true });
    expect({ where, labels: labelsOf(c) }).toEqual({
      where,
      labels: expect.objectContaining({ "app.kubernetes.io/name": expect.any(String), "app.kubernetes.io/part-of": "northstack", "northstack.io/stack": "dev" }),
    });
  }
});

test("services have health checks and restart policies", () => {
  for (const c of containers().filter((c) => c.inputs.restart !== "no")) {
    expect({ c: c.name, restart: c.inputs.restart }).toEqual({ c: c.name, restart: "unless-stopped" });
    expect({ c: c.name, health: Boolean(c.inputs.healthcheck) }).toEqual({ c: c.name, health: true });
  }
});

test("no image is latest or untagged", () => {
  for (const c of containers()) {
    const image = String(c.inputs.image);
    if (image === "[unknown]") continue;
    expect({ c: c.name, image }).toEqual({ c: c.name, image: expect.stringMatching(/(:[\w][\w.-]*|@sha256:[a-f0-9]{64})$/) });
    expect(image.endsWith(":latest")).toBe(false);
  }
});

test("every published port is bound to 127.0.0.1", () => {
  const ports = containers().flatMap((c) => (c.inputs.ports as { ip: string; external: number }[] | undefined) ?? []);
  expect(ports.length).toBeGreaterThanOrEqual(2);
  for (const p of ports) expect(p.ip).toBe("127.0.0.1");
  expect(ports.map((p) => p.external)).toEqual(expect.arrayContaining([8000, 8080]));
});

test("every container sits on the stack's network", () => {
  for (const c of containers()) expect((c.inputs.networksAdvanced as { name: string }[])[0].name).toBe("northstack-dev");
});

test("migrations are delivered per the DESIGN.md contract", () => {
  const migrators = containers().filter((c) => labelsOf(c)[MIGRATIONS_LABEL] === "true");
  expect(migrators).toHaveLength(1);
  const uploads = migrators[0].inputs.uploads as { file: string }[];
  expect(uploads.filter((u) => u.file.endsWith(".sql")).length).toBeGreaterThanOrEqual(2);
});

test("secrets are exported only as secrets and never appear in plain inputs", () => {
  expect(plan.outputs.anonKey).toBe(SECRET_MARK);
  expect(plan.outputs.serviceRoleKey).toBe(SECRET_MARK);
  expect(plan.outputs.gatewayUrl).toBe("http://127.0.0.1:8000");
  const passwords = plan.resources
    .filter((r) => r.type === "random:index/randomPassword:RandomPassword")
    .map((r) => `plan-random-${r.name}`.slice(0, 16));
  expect(passwords.length).toBeGreaterThanOrEqual(3);
  const printable = JSON.stringify(plan.resources.map((r) => r.inputs));
  for (const p of passwords) expect(printable).not.toContain(p);
});
