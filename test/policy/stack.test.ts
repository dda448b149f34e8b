/**
 * The pack over the whole dev stack, planned under mocks: clean as built, and each injected fault is
 * caught by exactly the policy that owns it.
 */
import * as fs from "fs";
import * as path from "path";
import { evaluatePolicies } from "../../policy/evaluate";
import { PlannedResource } from "../../scripts/lib/mock-program";
import { plannedResource } from "../../scripts/lib/planned-resource";
import type { StackPlan } from "../../scripts/lib/plan";
import { sharedPlan } from "../helpers/shared-plan";

const policyConfig = (stack: string) =>
  JSON.parse(fs.readFileSync(path.resolve(__dirname, "..", "..", "policy", `config.${stack}.json`), "utf8")) as Record<
    string,
    unknown
  >;

let plan: StackPlan;
beforeAll(async () => {
  plan = await sharedPlan("dev");
});

/** Every finding but images-by-digest's advice on third-party images pinned by tag (tested on its own). */
const evaluateAll = async (resources: PlannedResource[], stack = "dev") =>
  (
    await evaluatePolicies(resources, { stack: plan.stack, policyConfig: policyConfig(stack), config: plan.config })
  ).filter((v) => !(v.policy === "images-by-digest" && v.enforcementLevel === "advisory"));
/** node_exporter's and cAdvisor's named exemptions (their advisories, asserted below). */
const isHostAgentExemption = (v: { policy: string; enforcementLevel: string; urn?: string | null }) =>
  v.policy === "containers-least-privilege" &&
  v.enforcementLevel === "advisory" &&
  /::monitoring-(node-exporter|cadvisor)$/.test(v.urn ?? "");
/** Every finding but images-by-digest's advice and the host agents' named exemptions. */
const evaluate = async (resources: PlannedResource[], stack = "dev") =>
  (await evaluateAll(resources, stack)).filter((v) => !isHostAgentExemption(v));

/** node_exporter's named exemption of the host-paths control: each of its three host paths reported as advisory, with the reason. */
const NODE_EXPORTER_EXEMPTION = ["/proc", "/sys", "/"].map((hostPath) => ({
  policy: "containers-least-privilege",
  enforcementLevel: "advisory",
  urn: expect.stringMatching(/::monitoring-node-exporter$/),
  message: expect.stringMatching(
    new RegExp(
      `^exempt from containers-least-privilege/host-paths \\(reason: "node_exporter .*bind-mounts the host path "${hostPath}"`,
    ),
  ),
}));

/** cAdvisor's named exemption: its one host path, the cgroup tree, reported as advisory with the reason. */
const CADVISOR_EXEMPTION = {
  policy: "containers-least-privilege",
  enforcementLevel: "advisory",
  urn: expect.stringMatching(/::monitoring-cadvisor$/),
  message: expect.stringMatching(
    /^exempt from containers-least-privilege\/host-paths \(reason: "cAdvisor .*bind-mounts the host path "\/sys\/fs\/cgroup"/,
  ),
};

test("the dev stack has no violations but node_exporter's and cAdvisor's named exemptions, under its own config and under prod's", async () => {
  expect(plan.resources.filter((r) => r.type === "docker:index/container:Container").length).toBeGreaterThanOrEqual(8);
  for (const config of ["dev", "prod"]) {
    const found = await evaluateAll(plan.resources, config);
    expect(found).toHaveLength(NODE_EXPORTER_EXEMPTION.length + 1);
    expect(found).toEqual(expect.arrayContaining([...NODE_EXPORTER_EXEMPTION, CADVISOR_EXEMPTION]));
  }
});

test("injecting one root container gives exactly one containers-run-as-non-root violation", async () => {
  const api = plan.resources.find((r) => r.type === "docker:index/container:Container" && r.name === "api");
  expect(api).toBeDefined();
  const root: PlannedResource = {
    ...api!,
    urn: `${api!.urn}-root`,
    name: "api-root",
    plainInputs: { ...api!.plainInputs, user: "0:0" },
  };
  const found = await evaluate([...plan.resources, root]);
  expect(found).toEqual([
    {
      policy: "containers-run-as-non-root",
      enforcementLevel: "advisory",
      urn: root.urn,
      message:
        'Docker container api-root: user "0:0" is root; fix: set user to a non-root uid:gid such as "1000:1000" (WorkloadSpec.user).',
    },
  ]);
});

test("injecting one us-east-1 provider gives a data-residency-canada violation", async () => {
  const provider = plannedResource("dev", "pulumi:providers:aws", "us", { region: "us-east-1" });
  const found = await evaluate([...plan.resources, provider], "prod");
  expect(found).toEqual([
    expect.objectContaining({
      policy: "data-residency-canada",
      enforcementLevel: "mandatory",
      urn: provider.urn,
      message: expect.stringContaining('"us-east-1"'),
    }),
  ]);
});

test("a migration that leaves an exposed table without RLS is caught in the dev stack's real migration set", async () => {
  const migrator = plan.resources.find((r) =>
    (r.plainInputs.labels as { label: string; value: string }[] | undefined)?.some(
      (l) => l.label === "northstack.io/migrations" && l.value === "true",
    ),
  );
  expect(migrator).toBeDefined();
  const uploads = [
    ...(migrator!.plainInputs.uploads as object[]),
    { file: "/migrations/020_leak.sql", content: "CREATE TABLE public.leak (id int);" },
  ];
  const found = await evaluate([
    ...plan.resources.filter((r) => r !== migrator),
    { ...migrator!, plainInputs: { ...migrator!.plainInputs, uploads } },
  ]);
  expect(found.map((v) => v.policy)).toEqual(["postgres-rls-required", "postgres-rls-required"]);
  expect(found[0].message).toContain("table public.leak created at /migrations/020_leak.sql:1");
});
