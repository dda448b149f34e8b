/**
 * `node -r ./scripts/register.js file.ts`: runs TypeScript by transpiling each file with the
 * project's own compiler (`ts.transpileModule`, as ts-node's transpile-only mode does) and caching
 * the output on disk, keyed by the file's path and bytes, the TypeScript version and tsconfig's
 * compilerOptions. A warm run never loads the compiler at all, which is most of the offline plan's
 * start-up (`npm run bench` measures it against ts-node). Type-checking stays with `tsc --noEmit`.
 *
 * The output carries inline source maps, which `node --enable-source-maps` uses for stack traces. They
 * are off by default: @pulumi/pulumi takes a stack trace for every resource it registers, and mapping
 * each one would cost more than the cache saves.
 *
 * Cache: node_modules/.cache/northstack-ts (NORTHSTACK_TS_CACHE overrides it); deleting it is always safe.
 *
 * It also defers the modules @pulumi/pulumi requires as it loads but a plan never uses
 * (scripts/deferred-modules.js): required from the SDK, each is a stand-in that loads the real
 * module on first use, so the SDK works as before if it does use one. The offline plan starts about
 * 0.35 s sooner (`npm run bench`).
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const tsconfigText = fs.readFileSync(path.join(root, "tsconfig.json"), "utf8");
const typescriptVersion = require(path.join(root, "node_modules", "typescript", "package.json")).version;
const cacheDir = process.env.NORTHSTACK_TS_CACHE || path.join(root, "node_modules", ".cache", "northstack-ts");
const salt = `${typescriptVersion}\0${tsconfigText}\0`;

let compile; // loaded on the first cache miss only
function transpile(source, filename) {
  if (!compile) {
    const ts = require(path.join(root, "node_modules", "typescript"));
    const { options, errors } = ts.convertCompilerOptionsFromJson(JSON.parse(tsconfigText).compilerOptions, root);
    if (errors.length)
      throw new Error(`tsconfig.json: ${ts.flattenDiagnosticMessageText(errors[0].messageText, "\n")}`);
    const compilerOptions = {
      ...options,
      inlineSourceMap: true,
      inlineSources: false,
      sourceMap: false,
      declaration: false,
    };
    compile = (text, fileName) => ts.transpileModule(text, { fileName, compilerOptions }).outputText;
  }
  return compile(source, filename);
}

require.extensions[".ts"] = function loadTypeScript(module, filename) {
  const source = fs.readFileSync(filename, "utf8");
  const key = crypto.createHash("sha256").update(salt).update(filename).update("\0").update(source).digest("hex");
  const cached = path.join(cacheDir, `${key}.js`);
  let output;
  try {
    output = fs.readFileSync(cached, "utf8");
  } catch {
    output = transpile(source, filename);
    // Written under a unique name and renamed, so a concurrent run never reads half a file. A
    // cache that cannot be written (read-only checkout) only costs speed.
    try {
      fs.mkdirSync(cacheDir, { recursive: true });
      const temporary = `${cached}.${process.pid}.tmp`;
      fs.writeFileSync(temporary, output);
      fs.renameSync(temporary, cached);
    } catch {
      // Not cached; the next run transpiles again.
    }
  }
  module._compile(output, filename);
};

const { DEFERRED, standIn } = require("./deferred-modules");
const SDK_DIR = `${path.sep}node_modules${path.sep}@pulumi${path.sep}pulumi${path.sep}`;
const Module = require("module");
const load = Module._load;
Module._load = function loadDeferred(request, parent, isMain) {
  if (!DEFERRED.includes(request) || !parent?.filename?.includes(SDK_DIR)) return load.apply(this, arguments);
  return standIn(() => load.call(this, request, parent, isMain));
};
