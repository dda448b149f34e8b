/** Type-checking happens once in `npm run typecheck`; jest only transpiles. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { diagnostics: false }],
  },
  testTimeout: 60000,
  reporters: ["default", "<rootDir>/scripts/jest-summary-reporter.js"],
};
