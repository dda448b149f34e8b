/**
 * npm run bench:tests [-- --compare OLD.json] [-- jest arguments]
 *
 * Runs jest once with `--json`, keeps the report in .bench/jest.json, and prints where the time went:
 * each test file's wall time (slowest first) and the run's wall time beside the sum over files,
 * whose ratio is how well the workers overlapped. With `--compare OLD.json` (an earlier report,
 * e.g. from the base branch: `npx jest --json --outputFile=OLD.json`) each file's time is shown
 * beside the old one. Timing only: the exit code is jest's.
 *
 * `--report FILE` prints a report that already exists instead of running jest.
 *
 * `--write-durations` also rewrites test/durations.json, the seconds per file (those of 2 s or more)
 * that test/sequencer.js orders files by when jest's cache has no duration for them (a clean clone).
 * Write it from a whole run, so that every slow file is in it.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { PROJECT_ROOT } from "./lib/plan";

interface JestReport {
  readonly startTime: number;
  readonly success: boolean;
  readonly numPassedTests: number;
  readonly numFailedTests: number;
  readonly numPendingTests: number;
  readonly testResults: { readonly name: string; readonly startTime: number; readonly endTime: number }[];
}

/** Seconds per test file, keyed by its path from the project root. */
function fileTimes(report: JestReport): Map<string, number> {
  return new Map(
    report.testResults.map((r) => [path.relative(PROJECT_ROOT, r.name), (r.endTime - r.startTime) / 1000]),
  );
}

/** Wall time from jest's start to the end of its last file (jest's own figure leaves out start-up). */
const wallOf = (report: JestReport) =>
  (Math.max(...report.testResults.map((r) => r.endTime)) - report.startTime) / 1000;

const sum = (xs: Iterable<number>) => [...xs].reduce((a, b) => a + b, 0);
const secs = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(1)).padStart(7);

function main(argv: string[]): number {
  let compare: JestReport | undefined;
  let report: JestReport | undefined;
  let writeDurations = false;
  const jestArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--compare") compare = JSON.parse(fs.readFileSync(argv[++i], "utf8")) as JestReport;
    else if (argv[i] === "--report") report = JSON.parse(fs.readFileSync(argv[++i], "utf8")) as JestReport;
    else if (argv[i] === "--write-durations") writeDurations = true;
    else jestArgs.push(argv[i]);
  }
  let code = 0;
  if (!report) {
    const out = path.join(PROJECT_ROOT, ".bench", "jest.json");
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const jest = path.join(PROJECT_ROOT, "node_modules", ".bin", "jest");
    const run = spawnSync(jest, ["--json", `--outputFile=${out}`, ...jestArgs], {
      cwd: PROJECT_ROOT,
      stdio: ["ignore", "ignore", "inherit"],
    });
    code = run.status ?? 1;
    report = JSON.parse(fs.readFileSync(out, "utf8")) as JestReport;
  }

  const now = fileTimes(report);
  const old = compare ? fileTimes(compare) : undefined;
  console.log(`${compare ? "    old" : ""}    now  file`);
  for (const [file, t] of [...now].sort(([, a], [, b]) => b - a))
    console.log(`${old ? secs(old.get(file)) : ""}${secs(t)}  ${file}`);
  if (old) for (const [file, t] of old) if (!now.has(file)) console.log(`${secs(t)}${secs(undefined)}  ${file} (gone)`);
  const line = (label: string, r: JestReport, times: Map<string, number>) =>
    console.log(
      `${label}: ${wallOf(r).toFixed(1)} s wall, ${sum(times.values()).toFixed(1)} s summed over ${times.size} files; ` +
        `tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`,
    );
  if (compare && old) line("old", compare, old);
  line("now", report, now);
  if (writeDurations) {
    const slow = [...now].filter(([, t]) => t >= 2).sort(([a, x], [b, y]) => y - x || (a < b ? -1 : 1));
    const file = path.join(PROJECT_ROOT, "test", "durations.json");
    fs.writeFileSync(
      file,
      `${JSON.stringify(Object.fromEntries(slow.map(([f, t]) => [f.split(path.sep).join("/"), Math.round(t)])), null, 2)}\n`,
    );
    console.log(`wrote ${path.relative(PROJECT_ROOT, file)}: ${slow.length} files of 2 s or more`);
  }
  return code;
}

process.exitCode = main(process.argv.slice(2));
