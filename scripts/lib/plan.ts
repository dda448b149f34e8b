/**
 * The offline plan as a library: runs index.ts for a stack under Pulumi's mock runtime and returns
 * what a preview would register. Used by `npm run plan`, the benchmark and the tests.
 */
import * as path from "path";
import { MockRunResult, runUnderMocks } from "./mock-program";
import { readStackConfig } from "./stack-config";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

export interface PlanStackOptions {
  readonly stack: string;
  /** Config overrides, `key=value` style: keys without a namespace are `northstack:`. Default: none. */
  readonly set?: Record<string, string>;
  /** Project directory. Default: this repository. */
  readonly root?: string;
}

export interface StackPlan extends MockRunResult {
  readonly stack: string;
  readonly config: Record<string, string>;
  readonly secretKeys: string[];
}

/**
 * The stack each project's index.ts was planned for in this module registry. index.ts registers its
 * resources as it loads, and a module loads once per registry: a second plan would register none.
 */
const plannedRoots = new Map<string, string>();

/**
 * Runs the program once. Call it once per project per module registry: in a process of its own
 * (`npm run plan`, test/helpers/shared-plan.ts) or, under jest, a test file or `isolateModules`.
 * A second call fails rather than return a plan without the program's resources.
 */
export async function planStack(options: PlanStackOptions): Promise<StackPlan> {
  const root = path.resolve(options.root ?? PROJECT_ROOT);
  const earlier = plannedRoots.get(root);
  if (earlier !== undefined) {
    throw new Error(
      `planStack: ${path.join(root, "index")} was already planned in this module registry (stack ${JSON.stringify(earlier)}), ` +
        `and it registers its resources only as it loads, so planning stack ${JSON.stringify(options.stack)} here would register none: ` +
        "plan each stack in a process of its own (npm run plan) or, under jest, in jest.isolateModules",
    );
  }
  const { config, secretKeys } = readStackConfig(root, options.stack, options.set);
  const result = await runUnderMocks({
    stack: options.stack,
    config,
    secretKeys,
    program: () => {
      plannedRoots.set(root, options.stack);
      // index.ts registers resources as it loads, so it must load after the mocks are in place.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(path.join(root, "index"));
    },
  });
  return { ...result, stack: options.stack, config, secretKeys };
}
