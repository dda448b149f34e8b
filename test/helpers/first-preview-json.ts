/**
 * `node -r ./scripts/register.js test/helpers/first-preview-json.ts STACK CLOUD OUT_FILE`: a pull
 * request's first preview of a new stack, run under mocks in a process of its own (a plain Node process
 * loads the provider SDKs several times faster than a jest module registry), writing the
 * MockRunResult and the config it ran with to OUT_FILE as JSON. Nothing exists yet, so every output a
 * provider computes (ids, ARNs, auto-names) is unknown. Exit 2 with the message on a config or
 * program error. test/policy/first-preview.test.ts runs it.
 */
import * as fs from "fs";
import * as path from "path";
import { PROJECT_ROOT } from "../../scripts/lib/plan";
import { MockRunResult, runUnderMocks } from "../../scripts/lib/mock-program";
import { readStackConfig } from "../../scripts/lib/stack-config";

/** Pulumi's wire value for "unknown during preview". */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface FirstPreview {
  readonly run: MockRunResult;
  readonly config: Record<string, string>;
}

async function firstPreview(stack: string, cloud: string): Promise<FirstPreview> {
  const { config, secretKeys } = readStackConfig(PROJECT_ROOT, stack, { "northstack:cloud": cloud });
  const run = await runUnderMocks({
    stack,
    config,
    secretKeys,
    preview: true,
    // Inputs echo back; what the provider would compute is unknown.
    overrideState: (_type, _name, inputs) => ({
      id: UNKNOWN,
      arn: UNKNOWN,
      name: inputs.name ?? UNKNOWN,
      bucket: inputs.bucket ?? UNKNOWN,
    }),
    program: () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(path.join(PROJECT_ROOT, "index"));
      // Stack outputs stay unknown in a preview; only the resources matter here.
      return {};
    },
  });
  return { run, config };
}

async function main(): Promise<number> {
  const [stack, cloud, outFile] = process.argv.slice(2);
  if (!stack || !cloud || !outFile) {
    console.error("usage: first-preview-json.ts STACK CLOUD OUT_FILE");
    return 2;
  }
  try {
    fs.writeFileSync(outFile, JSON.stringify(await firstPreview(stack, cloud)));
    return 0;
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 2;
  }
}

// Only as a script: the test imports the FirstPreview type from here. Exit explicitly: the mock
// runtime can leave handles open.
if (require.main === module) void main().then((code) => process.exit(code));
