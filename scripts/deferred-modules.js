/**
 * Modules @pulumi/pulumi requires as it loads but uses only to serialize closures (runtime/closure)
 * or to analyze component providers, neither of which a plan or a test under mocks does: the
 * TypeScript compiler (9 MB of JavaScript) and npm's package readers. Loading the SDK with them is
 * about 770 modules and 15 MB; without them, about 290 modules and 3 MB.
 *
 * Two loaders hand out a stand-in for each of them: scripts/register.js for `npm run plan` (plain
 * Node, to the SDK's own requires only) and jest's moduleNameMapper (jest.config.js, through
 * test/deferred/), where every test file loads the SDK afresh in a module registry of its own.
 */
"use strict";
const path = require("path");

/** Package names, as the SDK requires them. */
const DEFERRED = ["typescript", "@npmcli/arborist", "normalize-package-data", "fdir", "upath"];

/**
 * A stand-in that calls `load` on its first use and from then on is that module. It says it is an ES
 * module so that TypeScript's import helpers (__importStar, __importDefault) hand it over as it is
 * instead of copying its keys, which would load it; its `default` is then what those helpers would
 * have given: the module itself unless it is one.
 */
function standIn(load) {
  let real;
  const loaded = () => (real ??= load());
  return new Proxy(Object.create(null), {
    get: (_, key) =>
      key === "__esModule" ? true : key === "default" && !loaded().__esModule ? loaded() : loaded()[key],
    has: (_, key) => key in loaded(),
    ownKeys: () => Reflect.ownKeys(loaded()),
    getOwnPropertyDescriptor: (_, key) => {
      const descriptor = Reflect.getOwnPropertyDescriptor(loaded(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
  });
}

/** A stand-in for one of DEFERRED as this project installs it: what jest's stubs in test/deferred/ export. */
function installedStandIn(name) {
  if (!DEFERRED.includes(name)) throw new Error(`deferred-modules: ${name} is not one of ${DEFERRED.join(", ")}`);
  return standIn(() => require(path.join(__dirname, "..", "node_modules", name)));
}

module.exports = { DEFERRED, standIn, installedStandIn };
