/**
 * scripts/register.js, the cached TypeScript loader behind `npm run plan`: a cached file is reused
 * only while its bytes are unchanged, and its source maps point stack traces at the .ts line.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.resolve(__dirname, "..", "..");
let dir: string;
let cache: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "register-"));
  cache = path.join(dir, "cache");
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (file: string, ...nodeFlags: string[]) =>
  spawnSync(process.execPath, [...nodeFlags, "-r", path.join(root, "scripts", "register.js"), file], {
    encoding: "utf8",
    env: { ...process.env, NORTHSTACK_TS_CACHE: cache },
  });

test("transpiles, caches by content, and re-transpiles an edited file", () => {
  const file = path.join(dir, "main.ts");
  fs.writeFileSync(file, 'const greeting: string = "one";\nconsole.log(greeting);\n');
  expect(run(file).stdout).toBe("one\n");
  expect(fs.readdirSync(cache)).toHaveLength(1);
  expect(run(file).stdout).toBe("one\n");
  expect(fs.readdirSync(cache)).toHaveLength(1);

  fs.writeFileSync(file, 'const greeting: string = "two";\nconsole.log(greeting);\n');
  expect(run(file).stdout).toBe("two\n");
  expect(fs.readdirSync(cache)).toHaveLength(2);
});

test("a cached file is read from the cache, not transpiled again", () => {
  const file = path.join(dir, "main.ts");
  fs.writeFileSync(file, 'console.log("fresh");\n');
  run(file);
  const [entry] = fs.readdirSync(cache);
  fs.writeFileSync(path.join(cache, entry), 'console.log("from cache");\n');
  expect(run(file).stdout).toBe("from cache\n");
});

test("with --enable-source-maps, stack traces name the TypeScript line", () => {
  const file = path.join(dir, "fail.ts");
  fs.writeFileSync(file, 'interface Unused {\n  a: number;\n}\n\nthrow new Error("boom");\n');
  const result = run(file, "--enable-source-maps");
  expect(result.status).not.toBe(0);
  // The frame names line 5 of the .ts file (the transpiled JavaScript has the throw on line 2).
  expect(result.stderr).toMatch(/fail\.ts:5:\d+\)/);
});

test("modules the Pulumi SDK loads only to serialize closures wait until first used, then are the real ones", () => {
  const probe = path.join(dir, "probe.js");
  fs.writeFileSync(
    probe,
    [
      `const loaded = () => Object.keys(require.cache).some((f) => f.endsWith("/node_modules/typescript/lib/typescript.js"));`,
      `require(${JSON.stringify(require.resolve("@pulumi/pulumi"))});`,
      `const afterSdk = loaded();`,
      // The SDK's shim hands its callers the stand-in; its first use loads TypeScript.
      `const ts = require(${JSON.stringify(require.resolve("@pulumi/pulumi/typescript-shim"))});`,
      `const beforeUse = loaded();`,
      `const real = require(${JSON.stringify(path.join(root, "node_modules", "typescript"))});`,
      `console.log(JSON.stringify({ afterSdk, beforeUse, version: ts.version, same: ts.createSourceFile === real.createSourceFile,`,
      `  afterUse: loaded(), defaultIsModule: ts.default.version === real.version, realIsPlain: real.__esModule === undefined }));`,
    ].join("\n"),
  );
  const result = run(probe);
  expect(result.stderr).toBe("");
  expect(JSON.parse(result.stdout)).toEqual({
    afterSdk: false,
    beforeUse: false,
    version: JSON.parse(fs.readFileSync(require.resolve("typescript/package.json"), "utf8")).version,
    same: true,
    afterUse: true,
    // As TypeScript's __importDefault would give it, and a require from outside the SDK gets the module itself.
    defaultIsModule: true,
    realIsPlain: true,
  });
});

describe("the same modules under jest (moduleNameMapper to test/deferred/)", () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { DEFERRED } = require("../../scripts/deferred-modules") as { DEFERRED: string[] };

  test("each deferred module has its stub, and nothing else is stubbed", () => {
    const stubs = (d: string): string[] =>
      fs
        .readdirSync(d, { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? stubs(path.join(d, e.name)) : [path.join(d, e.name)]));
    const dir = path.join(root, "test", "deferred");
    expect(
      stubs(dir)
        .map((f) => path.relative(dir, f).replace(/\.js$/, ""))
        .sort(),
    ).toEqual([...DEFERRED].sort());
  });

  test("what the SDK gets is a stand-in that answers as the real module", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const shim = require("@pulumi/pulumi/typescript-shim");
    const realPackage = JSON.parse(
      fs.readFileSync(path.join(root, "node_modules", "typescript", "package.json"), "utf8"),
    );
    // The stand-in says it is an ES module; TypeScript's own CommonJS export does not.
    expect(shim.__esModule).toBe(true);
    expect(shim.version).toBe(realPackage.version);
    expect(typeof shim.createSourceFile).toBe("function");
    expect(shim.default.version).toBe(realPackage.version);
  });
});
