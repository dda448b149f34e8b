/** Type-checking happens once in `npm run typecheck`; jest only transpiles. */
const os = require("os");
const { DEFERRED } = require("./scripts/deferred-modules");

module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // Each test file loads @pulumi/pulumi afresh; the modules it loads but a test never uses are
  // stand-ins that load on first use (scripts/deferred-modules.js): about 0.4 s less per file.
  moduleNameMapper: Object.fromEntries(DEFERRED.map((name) => [`^${name}$`, `<rootDir>/test/deferred/${name}.js`])),
  transform: {
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
  },
  // jest's default (one worker fewer than CPUs) runs everything in one process on a 2-CPU machine,
  // while the integration tests spend much of their time waiting on PostgreSQL, pgBackRest, the AWS
  // CLI and other child processes: one worker more than CPUs fills that time (on 2 CPUs, quiet:
  // 208 s with 3 workers against 257 s with 2, the same CPU time).
  maxWorkers: (os.availableParallelism ? os.availableParallelism() : os.cpus().length) + 1,
  // One scratch directory per run for what test files share (test/global-setup.js).
  globalSetup: "<rootDir>/test/global-setup.js",
  globalTeardown: "<rootDir>/test/global-teardown.js",
  // Slowest first, from jest's cache or, on a clean clone, test/durations.json.
  testSequencer: "<rootDir>/test/sequencer.js",
  testTimeout: 60000,
  reporters: ["default", "<rootDir>/scripts/jest-summary-reporter.js"],
};
