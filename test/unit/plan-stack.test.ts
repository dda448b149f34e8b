/**
 * planStack on a project of one resource (test/unit/plan-once-project): a project's index.ts
 * registers its resources as it loads, once per module registry, so a second plan in the same
 * registry must fail rather than return a plan without them.
 */
import * as path from "path";
import type { StackPlan } from "../../scripts/lib/plan";

const root = path.join(__dirname, "plan-once-project");

test("a second plan of the same project in one module registry fails, naming both stacks, instead of planning nothing", async () => {
  await jest.isolateModulesAsync(async () => {
    const { planStack } = await import("../../scripts/lib/plan");
    const first: StackPlan = await planStack({ stack: "probe", root });
    expect(first.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack", "plan-once:index:Thing"]);
    await expect(planStack({ stack: "probe", root })).rejects.toThrow(
      /plan-once-project\/index was already planned in this module registry \(stack "probe"\).*planning stack "probe" here would register none/,
    );
  });
});

test("a plan that fails on its config before the program runs leaves the project free to plan", async () => {
  await jest.isolateModulesAsync(async () => {
    const { planStack } = await import("../../scripts/lib/plan");
    await expect(planStack({ stack: "nosuch", root })).rejects.toThrow(/has no Pulumi\.nosuch\.yaml/);
    const plan = await planStack({ stack: "probe", root });
    expect(plan.resources).toHaveLength(2);
  });
});

test("each module registry plans afresh", async () => {
  for (let i = 0; i < 2; i++) {
    await jest.isolateModulesAsync(async () => {
      const { planStack } = await import("../../scripts/lib/plan");
      expect((await planStack({ stack: "probe", root })).resources).toHaveLength(2);
    });
  }
});
