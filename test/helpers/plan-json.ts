/**
 * `node -r ./scripts/register.js test/helpers/plan-json.ts STACK SET_JSON OUT_FILE`: planStack in a
 * process of its own, as `npm run plan` runs it, writing the whole StackPlan (plain inputs included)
 * to OUT_FILE as JSON. test/helpers/shared-plan.ts runs it: a plain Node process loads the provider
 * SDKs several times faster than a jest module registry does. Exit 2 with the message on a config or
 * program error.
 */
import * as fs from "fs";
import { planStack } from "../../scripts/lib/plan";

async function main(): Promise<number> {
  const [stack, setJson, outFile] = process.argv.slice(2);
  if (!stack || !setJson || !outFile) {
    console.error("usage: plan-json.ts STACK SET_JSON OUT_FILE");
    return 2;
  }
  try {
    const plan = await planStack({ stack, set: JSON.parse(setJson) as Record<string, string> });
    fs.writeFileSync(outFile, JSON.stringify(plan));
    return 0;
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    return 2;
  }
}

// Exit explicitly: the mock runtime can leave handles open.
void main().then((code) => process.exit(code));
