/**
 * A new directory for a test's files inside the run's scratch directory (NORTHSTACK_TEST_CACHE, made
 * by test/global-setup.js), which test/global-teardown.js deletes with everything in it: a test that
 * writes files needs no cleanup of its own, and a failed or interrupted file leaves nothing behind in
 * the machine's temporary directory either.
 */
import * as fs from "fs";
import * as path from "path";

export function scratchDir(prefix: string): string {
  const root = process.env.NORTHSTACK_TEST_CACHE;
  if (!root || !fs.existsSync(root)) {
    throw new Error(
      "NORTHSTACK_TEST_CACHE names no directory: run the tests through jest, whose global setup makes it",
    );
  }
  return fs.mkdtempSync(path.join(root, `${prefix}-`));
}
