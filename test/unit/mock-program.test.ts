/**
 * runUnderMocks captures no stack frames while the program runs (NORTHSTACK_STACK_TRACES=1 keeps
 * them), and Pulumi still takes each resource's source position.
 */
import type { MockRunOptions, MockRunResult } from "../../scripts/lib/mock-program";

/** runUnderMocks in a module registry of its own (it may run once per registry). */
async function run(program: MockRunOptions["program"]): Promise<MockRunResult> {
  let result: MockRunResult | undefined;
  await jest.isolateModulesAsync(async () => {
    const { runUnderMocks } = await import("../../scripts/lib/mock-program");
    result = await runUnderMocks({ stack: "dev", config: {}, program });
  });
  return result as MockRunResult;
}

/** Resource.callsites, where registerResource takes a resource's source position (private in the types). */
const callsites = (resource: unknown) =>
  (resource as { callsites(): { file?: string }[] }).callsites().map((c) => c.file);

afterEach(() => {
  delete process.env.NORTHSTACK_STACK_TRACES;
});

test("while the program runs, errors carry no frames, yet Pulumi sees the callsites; afterwards the limit is back", async () => {
  const before = Error.stackTraceLimit;
  let inside = "";
  let sites: (string | undefined)[] = [];
  await run(async () => {
    inside = String(new Error("boom").stack);
    sites = callsites((await import("@pulumi/pulumi")).Resource);
    return {};
  });
  expect(inside).toBe("Error: boom");
  expect(sites).toContain(__filename);
  expect(Error.stackTraceLimit).toBe(before);
  expect(new Error("after").stack).toContain(__filename);
});

test("NORTHSTACK_STACK_TRACES=1 keeps the frames", async () => {
  process.env.NORTHSTACK_STACK_TRACES = "1";
  let inside = "";
  await run(() => {
    inside = String(new Error("boom").stack);
    return {};
  });
  expect(inside).toContain(__filename);
});
