/**
 * jest's own order (files that failed last time first, then the slowest first by the durations jest
 * keeps in its cache, then the largest), with test/durations.json standing in for a file jest has no
 * duration for: a clean clone, as in CI, has no cache, and jest would start by file size, leaving a
 * slow file that happens to be short to start last and run alone. A file in neither counts as fast.
 * `npm run bench:tests -- --write-durations` rewrites test/durations.json from a whole run.
 */
"use strict";
const fs = require("fs");
const path = require("path");
const Sequencer = require("@jest/test-sequencer").default;

const DURATIONS_FILE = path.join(__dirname, "durations.json");

class SlowestFirst extends Sequencer {
  constructor(...args) {
    super(...args);
    /** Seconds per file, keyed by its path from the project root. */
    this.recorded = fs.existsSync(DURATIONS_FILE) ? JSON.parse(fs.readFileSync(DURATIONS_FILE, "utf8")) : {};
  }

  /** Milliseconds, as jest's cache keeps them; every file has one, so all are ordered by it. */
  time(test) {
    const cached = super.time(test);
    if (cached != null) return cached;
    const seconds = this.recorded[path.relative(test.context.config.rootDir, test.path).split(path.sep).join("/")];
    return typeof seconds === "number" ? seconds * 1000 : 0;
  }
}

module.exports = SlowestFirst;
