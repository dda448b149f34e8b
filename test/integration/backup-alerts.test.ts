/**
 * The backup alerts read real signals: the backup script records a kept dump in a real PostgreSQL 15,
 * Debian's prometheus-postgres-exporter serves it through BACKUP_EXPORTER_QUERIES beside its own
 * pg_stat_archiver metrics, and promtool proves each alert fires and stays quiet when it should.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { BACKUP_ALERT_GROUP, BACKUP_EXPORTER_QUERIES } from "../../components/backup-alerts";
import { BACKUP_ROLE, RECORDER_ROLE } from "../../components/db-roles";
import { OPS_MIGRATION } from "../../components/migrations";
import { renderBackupScript } from "../../components/backup-script";
import { PG_BIN, PgCluster, freePort, startPgCluster } from "../helpers/pg-cluster";
import { scratchDir } from "../helpers/scratch";

const tmp = scratchDir("backup-alerts");
fs.chmodSync(tmp, 0o777);
const write = (name: string, content: string) => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, content);
  return file;
};

/** The group as the rules file carries it: severity label, runbook_url annotation. */
const rulesFile = write(
  "backup.rules.yml",
  YAML.stringify({
    groups: [
      {
        name: BACKUP_ALERT_GROUP.name,
        rules: BACKUP_ALERT_GROUP.alerts.map((a) => ({
          alert: a.alert,
          expr: a.expr,
          for: a.for,
          labels: { severity: a.severity },
          annotations: {
            summary: a.summary,
            description: a.description,
            runbook_url: `docs/runbooks.md#${a.alert.toLowerCase()}`,
          },
        })),
      },
    ],
  }),
);

const promtool = (...args: string[]) => {
  const r = spawnSync("promtool", args, { cwd: tmp, encoding: "utf8" });
  if (r.error) throw new Error(`promtool is not installed (bash .ci/run installs it): ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

// Runbook sections: test/unit/alert-rules.test.ts checks every alert's, these included.

test("the backup rules pass promtool check rules", () => {
  const r = promtool("check", "rules", rulesFile);
  expect(r.out).toContain(`SUCCESS: ${BACKUP_ALERT_GROUP.alerts.length} rules found`);
  expect(r.code).toBe(0);
});

// Their firing and quiet cases run from test/integration/promtool/backup.test.yml and
// backup-age.test.yml, against the group as renderAlertRules renders it
// (test/integration/monitoring.test.ts).

describe("the exporter serves what the alerts read, from a real PostgreSQL 15", () => {
  let cluster: PgCluster;
  let exporter: ChildProcess | undefined;
  let port: number;
  const asRoot = typeof process.getuid === "function" && process.getuid() === 0;

  beforeAll(async () => {
    // archive_command fails, as a broken archive would: pg_stat_archiver counts the failures.
    cluster = await startPgCluster({
      configText: "archive_mode = on\narchive_command = 'false'\narchive_timeout = 1\nwal_level = replica\n",
    });
    const env = {
      ...cluster.libpqEnv(),
      PATH: `${PG_BIN}:${process.env.PATH}`,
      BACKUP_DIR: path.join(tmp, "backups"),
      BACKUP_DATE: "2026-11-01",
    };
    const script = write("backup.sh", renderBackupScript());
    fs.mkdirSync(env.BACKUP_DIR, { mode: 0o777 });
    fs.chmodSync(env.BACKUP_DIR, 0o777);
    const run = (args: string[]) =>
      asRoot
        ? spawnSync(
            "runuser",
            [
              "-u",
              "postgres",
              "--",
              "env",
              ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
              "bash",
              script,
              ...args,
            ],
            { encoding: "utf8" },
          )
        : spawnSync("bash", [script, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
    const psql = spawnSync(
      path.join(PG_BIN, "psql"),
      [
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        `create role ${BACKUP_ROLE} nologin; create role ${RECORDER_ROLE} nologin; ${OPS_MIGRATION.sql}
         create table notes (id int); insert into notes select generate_series(1, 100); select pg_switch_wal()`,
      ],
      { encoding: "utf8", env: { ...process.env, ...cluster.libpqEnv() } },
    );
    if (psql.status !== 0) throw new Error(psql.stderr);
    const once = run(["once"]);
    if (once.status !== 0) throw new Error(`backup.sh once failed: ${once.stdout}${once.stderr}`);

    port = await freePort();
    const queries = write("queries.yml", BACKUP_EXPORTER_QUERIES);
    const e = cluster.libpqEnv();
    exporter = spawn(
      "prometheus-postgres-exporter",
      [`--web.listen-address=127.0.0.1:${port}`, `--extend.query-path=${queries}`],
      {
        env: {
          ...process.env,
          DATA_SOURCE_NAME: `postgresql://${e.PGUSER}:${encodeURIComponent(e.PGPASSWORD)}@${e.PGHOST}:${e.PGPORT}/postgres?sslmode=disable`,
        },
        stdio: "ignore",
      },
    );
    await new Promise<void>((resolve, reject) => {
      exporter!.once("error", (err) =>
        reject(
          new Error(
            `prometheus-postgres-exporter is not installed (apt-get install prometheus-postgres-exporter): ${err.message}`,
          ),
        ),
      );
      exporter!.once("spawn", () => resolve());
    });
  }, 180000);

  afterAll(async () => {
    exporter?.kill("SIGTERM");
    await cluster?.stop();
  });

  const scrape = async (): Promise<string> => {
    for (let i = 0; i < 50; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/metrics`);
        if (res.ok) return await res.text();
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error("the exporter never answered");
  };
  const sample = (text: string, name: string): number[] =>
    text
      .split("\n")
      .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
      .map((l) => Number(l.split(" ").pop()));

  test("a kept dump appears as northstack_backup_* metrics, and the archiver's counters are there", async () => {
    const text = await scrape();
    expect(text).toMatch(/^northstack_backup_last_success_timestamp_seconds\{kind="dump",server="[^"]+"\} /m);
    const [last] = sample(text, "northstack_backup_last_success_timestamp_seconds");
    expect(Math.abs(Date.now() / 1000 - last)).toBeLessThan(300);
    expect(sample(text, "northstack_backup_last_size_bytes")[0]).toBeGreaterThan(0);
    expect(sample(text, "northstack_backup_last_duration_seconds")[0]).toBeGreaterThanOrEqual(0);
    // Every metric the WAL rule reads exists under the name it uses; the failing archive_command counts.
    expect(sample(text, "pg_stat_archiver_failed_count")[0]).toBeGreaterThan(0);
    expect(sample(text, "pg_stat_archiver_archived_count")).toHaveLength(1);
    expect(sample(text, "pg_stat_database_tup_inserted").length).toBeGreaterThan(0);
    expect(sample(text, "pg_stat_database_tup_updated").length).toBeGreaterThan(0);
    expect(sample(text, "pg_stat_database_tup_deleted").length).toBeGreaterThan(0);
    expect(sample(text, "pg_up")).toEqual([1]);
    expect(sample(text, "pg_exporter_last_scrape_error")).toEqual([0]);
  });
  test("a failed drill shows as the last run failing, with no passed drill; a passed one after it as the reverse", async () => {
    const psql = (sql: string) => {
      const r = spawnSync(path.join(PG_BIN, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], {
        encoding: "utf8",
        env: { ...process.env, ...cluster.libpqEnv() },
      });
      if (r.status !== 0) throw new Error(r.stderr);
    };
    const drill = (text: string, name: string) =>
      text
        .split("\n")
        .filter((l) => l.startsWith(`${name}{kind="drill",`))
        .map((l) => Number(l.split(" ").pop()));
    psql(
      "insert into northstack_ops.backup_runs (kind, duration_seconds, size_bytes, object, succeeded) values ('drill', 12, 345, 'a.dump', false)",
    );
    let text = await scrape();
    expect(drill(text, "northstack_backup_last_run_success")).toEqual([0]);
    expect(drill(text, "northstack_backup_last_success_timestamp_seconds")).toEqual([0]);
    expect(text).toMatch(/^northstack_backup_last_run_success\{kind="dump",server="[^"]+"\} 1$/m);
    psql(
      "insert into northstack_ops.backup_runs (kind, duration_seconds, size_bytes, object, succeeded, finished_at) values ('drill', 34, 567, 'b.dump', true, now() + interval '1 second')",
    );
    text = await scrape();
    expect(drill(text, "northstack_backup_last_run_success")).toEqual([1]);
    expect(drill(text, "northstack_backup_last_duration_seconds")).toEqual([34]);
    expect(
      Math.abs(Date.now() / 1000 - drill(text, "northstack_backup_last_success_timestamp_seconds")[0]),
    ).toBeLessThan(300);
    expect(sample(text, "pg_exporter_last_scrape_error")).toEqual([0]);
  });
});
