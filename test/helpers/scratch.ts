/**
 * The run's scratch directory (NORTHSTACK_TEST_CACHE), which test/global-setup.js makes and
 * test/global-teardown.js deletes with everything in it, and new directories inside it for a test's
 * files: a test that writes files needs no cleanup of its own, and a failed or interrupted file
 * leaves nothing behind in the machine's temporary directory either.
 */
import * as fs from "fs";
import * as path from "path";

/** The directory this run's shared state lives in, or undefined outside the repo's jest config. */
export function testCacheDir(): string | undefined {
  const dir = process.env.NORTHSTACK_TEST_CACHE;
  return dir && fs.existsSync(dir) ? dir : undefined;
}

/** A new directory, `<prefix>-XXXXXX`, in the run's scratch directory; fails outside jest. */
export function scratchDir(prefix: string): string {
  const root = testCacheDir();
  if (!root) {
    throw new Error(
      "NORTHSTACK_TEST_CACHE names no directory: run the tests through jest, whose global setup makes it",
    );
  }
  return fs.mkdtempSync(path.join(root, `${prefix}-`));
}
