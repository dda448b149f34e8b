/**
 * For a process that plans and reports every error by its message alone: `npm run plan` and the
 * tests' plan processes (test/helpers/plan-json.ts, first-preview-json.ts). @pulumi/pulumi formats a
 * stack trace for every promise it makes (runtime/debuggable.js), which only its promise-leak report
 * would print; capturing no frames makes a whole-stack plan about 10% cheaper in CPU. Resources'
 * source positions are unaffected: Pulumi lifts the limit itself while it takes them
 * (Resource.callsites). Call it at the start of such a process only, never in a test runner, where a
 * failure's stack trace is how it is found.
 */
export function reportErrorsByMessageOnly(): void {
  Error.stackTraceLimit = 0;
}
