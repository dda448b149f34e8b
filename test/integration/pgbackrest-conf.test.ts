/**
 * pgBackRest itself reads the rendered pgbackrest.conf. Every command logs the options it resolved
 * ("<command> command begin ...") before it touches a repository, so the command sections are
 * checked by the tool rather than by string matching. Fails, never skips, when pgBackRest is missing.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderPgBackRestConf } from "../../components/pgbackrest";

let work: string;
let conf: string;

beforeAll(() => {
  if (!/^pgBackRest 2\./.test(spawnSync("pgbackrest", ["version"], { encoding: "utf8" }).stdout ?? "")) {
    throw new Error("pgbackrest is not installed; install Debian's pgbackrest package (.ci/run does)");
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), "northstack-pgbr-conf-"));
  conf = path.join(work, "pgbackrest.conf");
  fs.writeFileSync(
    conf,
    renderPgBackRestConf({ pgPath: path.join(work, "pg"), socketPath: work, repoPath: path.join(work, "repo") }),
  );
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

/** The options pgBackRest resolved for `command`; the command itself fails on the empty repository. */
function resolvedOptions(command: string): string[] {
  const run = spawnSync(
    "pgbackrest",
    [`--config=${conf}`, "--stanza=main", `--lock-path=${path.join(work, "lock")}`, command],
    { encoding: "utf8", timeout: 60_000 },
  );
  const begin = `${run.stdout}${run.stderr}`.split("\n").find((line) => line.includes(`${command} command begin`));
  if (!begin) throw new Error(`pgbackrest ${command} logged no "command begin":\n${run.stdout}${run.stderr}`);
  return begin.split(" ").filter((word) => word.startsWith("--"));
}

test("a restore runs 8 processes and asks the restored server for one syncfs instead of an fsync per file", () => {
  expect(resolvedOptions("restore")).toEqual(
    expect.arrayContaining(["--process-max=8", "--recovery-option=recovery_init_sync_method=syncfs", "--delta"]),
  );
});

test("a backup, beside the live server, keeps 2 processes, lz4 and an immediate checkpoint", () => {
  const options = resolvedOptions("backup");
  expect(options).toEqual(expect.arrayContaining(["--process-max=2", "--compress-type=lz4", "--start-fast"]));
  expect(options.join(" ")).not.toMatch(/recovery-option/);
});
