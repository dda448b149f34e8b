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

/** Runs the program once; call once per module registry (jest: per test file or isolateModules). */
export async function planStack(options: PlanStackOptions): Promise<StackPlan> {
  const root = options.root ?? PROJECT_ROOT;
  const { config, secretKeys } = readStackConfig(root, options.stack, options.set);
  const result = await runUnderMocks({
    stack: options.stack,
    config,
    secretKeys,
    program: () => {
      // index.ts registers resources as it loads, so it must load after the mocks are in place.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      return require(path.join(root, "index"));
    },
  });
  return { ...result, stack: options.stack, config, secretKeys };
}
