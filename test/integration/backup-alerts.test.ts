/**
 * The backup alerts read real signals: the backup script records a kept dump in a real PostgreSQL 15,
 * Debian's prometheus-postgres-exporter serves it through BACKUP_EXPORTER_QUERIES beside its own
 * pg_stat_archiver metrics, and promtool proves each alert fires and stays quiet when it should.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { BACKUP_ALERT_GROUP, BACKUP_EXPORTER_QUERIES } from "../../components/backup-alerts";
import { BACKUP_ROLE } from "../../components/db-roles";
import { OPS_MIGRATION } from "../../components/migrations";
import { renderBackupScript } from "../../components/backup-script";
import { PG_BIN, PgCluster, freePort, startPgCluster } from "../helpers/pg-cluster";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "backup-alerts-"));
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

test("every backup alert has a runbook section under its anchor", () => {
  const runbooks = fs.readFileSync(path.resolve(__dirname, "..", "..", "docs", "runbooks.md"), "utf8");
  for (const { alert } of BACKUP_ALERT_GROUP.alerts) {
    expect(runbooks).toMatch(new RegExp(`^#+ ${alert.toLowerCase()}$`, "m"));
  }
});

test("the backup rules pass promtool check rules", () => {
  const r = promtool("check", "rules", rulesFile);
  expect(r.out).toContain(`SUCCESS: ${BACKUP_ALERT_GROUP.alerts.length} rules found`);
  expect(r.code).toBe(0);
});

test("backup alerts fire when backups stop and stay quiet while they run (promtool test rules)", () => {
  const annotations = (alert: string, summary: string) => {
    const spec = BACKUP_ALERT_GROUP.alerts.find((a) => a.alert === alert)!;
    return { summary, description: spec.description, runbook_url: `docs/runbooks.md#${alert.toLowerCase()}` };
  };
  const tests = {
    rule_files: [rulesFile],
    evaluation_interval: "1m",
    tests: [
      {
        // The last dump finished at time 0 and nothing since: at 27 h it is too old.
        interval: "1m",
        input_series: [
          {
            series: 'northstack_backup_last_success_timestamp_seconds{kind="dump",instance="pg:9187"}',
            values: "0x1700",
          },
          { series: 'pg_up{instance="pg:9187"}', values: "1x1700" },
        ],
        alert_rule_test: [
          { eval_time: "25h", alertname: "BackupTooOld", exp_alerts: [] },
          {
            eval_time: "27h",
            alertname: "BackupTooOld",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", kind: "dump" },
                exp_annotations: {
                  ...annotations("BackupTooOld", "The newest dump backup is 1d 3h 0m 0s old"),
                  description:
                    "No dump backup has been kept for over 26 hours: the daily job is failing, not running, or cannot upload.",
                },
              },
            ],
          },
          { eval_time: "27h", alertname: "BackupNeverRecorded", exp_alerts: [] },
        ],
      },
      {
        // A backup every day (the value is the time of the last one): quiet.
        interval: "1m",
        input_series: [
          {
            series: 'northstack_backup_last_success_timestamp_seconds{kind="dump",instance="pg:9187"}',
            values: "0+0x1439 86400+0x300",
          },
          { series: 'pg_up{instance="pg:9187"}', values: "1x1740" },
        ],
        alert_rule_test: [{ eval_time: "28h", alertname: "BackupTooOld", exp_alerts: [] }],
      },
      {
        // The database is up and no backup was ever recorded.
        interval: "1m",
        input_series: [{ series: 'pg_up{instance="pg:9187"}', values: "1x1700" }],
        alert_rule_test: [
          { eval_time: "25h", alertname: "BackupNeverRecorded", exp_alerts: [] },
          {
            eval_time: "27h",
            alertname: "BackupNeverRecorded",
            exp_alerts: [
              {
                exp_labels: { severity: "critical" },
                exp_annotations: annotations(
                  "BackupNeverRecorded",
                  "No backup has ever been recorded for this database",
                ),
              },
            ],
          },
        ],
      },
      {
        // Rows are written; archiving works for 10 minutes, then nothing is archived and nothing fails.
        interval: "1m",
        input_series: [
          { series: 'pg_stat_database_tup_inserted{instance="pg:9187",datname="postgres"}', values: "0+100x50" },
          { series: 'pg_stat_database_tup_updated{instance="pg:9187",datname="postgres"}', values: "0x50" },
          { series: 'pg_stat_database_tup_deleted{instance="pg:9187",datname="postgres"}', values: "0x50" },
          { series: 'pg_stat_archiver_archived_count{instance="pg:9187"}', values: "50+1x10 60x40" },
          { series: 'pg_stat_archiver_failed_count{instance="pg:9187"}', values: "0x50" },
        ],
        alert_rule_test: [
          { eval_time: "28m", alertname: "WalArchiveSilent", exp_alerts: [] },
          {
            eval_time: "32m",
            alertname: "WalArchiveSilent",
            exp_alerts: [
              {
                exp_labels: { severity: "critical", instance: "pg:9187" },
                exp_annotations: annotations(
                  "WalArchiveSilent",
                  "Postgres on pg:9187 has archived no WAL for 20 minutes while rows are written",
                ),
              },
            ],
          },
        ],
      },
      {
        // Quiet: archiving keeps up; failures (the main rules' alerts); no writes; archiving not in use.
        interval: "1m",
        input_series: [
          { series: 'pg_stat_database_tup_inserted{instance="a:9187"}', values: "0+100x40" },
          { series: 'pg_stat_database_tup_updated{instance="a:9187"}', values: "0x40" },
          { series: 'pg_stat_database_tup_deleted{instance="a:9187"}', values: "0x40" },
          { series: 'pg_stat_archiver_archived_count{instance="a:9187"}', values: "50+1x40" },
          { series: 'pg_stat_archiver_failed_count{instance="a:9187"}', values: "0x40" },
          { series: 'pg_stat_database_tup_inserted{instance="b:9187"}', values: "0+100x40" },
          { series: 'pg_stat_database_tup_updated{instance="b:9187"}', values: "0x40" },
          { series: 'pg_stat_database_tup_deleted{instance="b:9187"}', values: "0x40" },
          { series: 'pg_stat_archiver_archived_count{instance="b:9187"}', values: "50x40" },
          { series: 'pg_stat_archiver_failed_count{instance="b:9187"}', values: "0+3x40" },
          { series: 'pg_stat_database_tup_inserted{instance="c:9187"}', values: "500x40" },
          { series: 'pg_stat_database_tup_updated{instance="c:9187"}', values: "0x40" },
          { series: 'pg_stat_database_tup_deleted{instance="c:9187"}', values: "0x40" },
          { series: 'pg_stat_archiver_archived_count{instance="c:9187"}', values: "50x40" },
          { series: 'pg_stat_archiver_failed_count{instance="c:9187"}', values: "0x40" },
          { series: 'pg_stat_database_tup_inserted{instance="d:9187"}', values: "0+100x40" },
          { series: 'pg_stat_database_tup_updated{instance="d:9187"}', values: "0x40" },
          { series: 'pg_stat_database_tup_deleted{instance="d:9187"}', values: "0x40" },
          { series: 'pg_stat_archiver_archived_count{instance="d:9187"}', values: "0x40" },
          { series: 'pg_stat_archiver_failed_count{instance="d:9187"}', values: "0x40" },
        ],
        alert_rule_test: [{ eval_time: "30m", alertname: "WalArchiveSilent", exp_alerts: [] }],
      },
    ],
  };
  const r = promtool("test", "rules", write("backup.rules.test.yml", YAML.stringify(tests)));
  expect(r.out).toContain("SUCCESS");
  expect(r.code).toBe(0);
});

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
        `create role ${BACKUP_ROLE} nologin; ${OPS_MIGRATION.sql}
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
});
