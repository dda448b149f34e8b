/**
 * Live fire: every alert, recording rule and dashboard query of the dev stack, asked of a real
 * Prometheus (Debian's) that scrapes real processes on this machine, returns data, or is listed
 * below with the reason its source cannot run here.
 *
 * What runs: the dev stack's rendered prometheus.yml, rules file, alertmanager.yml, exporter queries,
 * migrations and dashboards, taken from the offline plan (`npm run plan -- dev --json`); a throwaway
 * PostgreSQL 15 with those migrations and one recorded backup; prometheus-postgres-exporter logged in
 * as the exporter's own role; redis-server with redis.conf from the same renderer and the dev stack's
 * maxmemory (the plan's file is a secret: it holds the password) and prometheus-redis-exporter;
 * the reference API (app/, under node) with a few requests driven through it; Alertmanager; the
 * blackbox exporter; prometheus-node-exporter on this machine's /proc and /sys; Prometheus itself.
 *
 * The one adaptation (adaptPrometheusConfig): addresses and timing. Targets become 127.0.0.1 ports;
 * the gateway probe's URL, http://kong:8000/api/v1/health, is answered by the API Kong routes it to;
 * scrape, evaluation and alert resending run every second instead of every 15 s (1 min) so that
 * rates have samples, and Alertmanager its alerts, within seconds.
 * Job names, labels, metrics paths, relabelling and rules are as rendered.
 *
 * The method for alerts: an alert's expression returns series only while it fires, so the test asks
 * for its signal instead (signalOf: each threshold comparison becomes a `bool` comparison and
 * `absent(x)` becomes x) and requires data from that; the full expression must still parse and
 * evaluate. Recording rules and panel queries are asked as they are, Grafana's template variables
 * filled in the way Grafana would (the first value of a label_values query; built-ins at fixed values).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import * as YAML from "yaml";
import { parseConfig } from "../../components/config";
import { CLIENT_ROLES } from "../../components/db-roles";
import { signHs256 } from "../../components/jwt";
import { DASHBOARDS_DIR, RULES_FILE, renderBlackboxConfig } from "../../components/monitoring-config";
import { renderRedisConf } from "../../components/redis";
import { PROJECT_ROOT } from "../../scripts/lib/plan";
import { readStackConfig } from "../../scripts/lib/stack-config";
import { clientPasswords, passwordEnv } from "../helpers/db-logins";
import {
  PlannedFile,
  Started,
  adaptPrometheusConfig,
  plannedDevFiles,
  plannedFile,
  startProcess,
  stopProcess,
  waitForHttp,
} from "../helpers/live-stack";
import { runMigrationJobOn } from "../helpers/migration-db";
import { PgCluster, freePort, startPgCluster } from "../helpers/pg-cluster";
import {
  BUILTIN_VARIABLES,
  PanelQuery,
  dashboardQueries,
  labelValuesQuery,
  metricNames,
  provisionedDatasources,
  signalOf,
  substituteVariables,
  templateVariables,
} from "../helpers/promql-queries";

jest.setTimeout(120_000);

/**
 * Where a metric comes from, when that source does not run here: not part of the dev stack (the
 * cluster stacks' sources), or a container image with no Debian package on this machine.
 */
const SOURCES = {
  kubeStateMetrics: { metrics: /^kube_/, why: "kube-state-metrics is deployed on the Kubernetes stacks only" },
  cadvisor: {
    metrics: /^container_/,
    why: "cAdvisor is a container image; no cAdvisor runs here (cadvisor-scrape.test.ts scrapes a stand-in)",
  },
  kubeletVolumes: { metrics: /^kubelet_volume_/, why: "the kubelet's volume stats exist on Kubernetes only" },
  kong: { metrics: /^(kong_|northstack:kong_)/, why: "Kong is a container image; no Kong runs here" },
  loki: { metrics: /^loki_/, why: "Loki is a container image; no Loki runs here" },
  tlsProbe: {
    metrics: /^probe_ssl_/,
    why: "the dev gateway URL is plain http; only an https probe reports a certificate's expiry",
  },
  replication: {
    metrics: /^pg_stat_replication/,
    why: "no replication client connects here (Realtime's slot in dev, replicas in the cloud)",
  },
} as const satisfies Record<string, { metrics: RegExp; why: string }>;
type Source = keyof typeof SOURCES;

/**
 * Alert and recording rules (by name) of the dev stack whose source cannot run here. The Kubernetes
 * collectors' rules are not rendered on dev (renderAlertRules' collectors); promtool tests them.
 */
const RULES_NOT_HERE: Readonly<Record<string, Source>> = {
  CertificateExpiringSoon: "tlsProbe",
  CertificateExpiryImminent: "tlsProbe",
  "northstack:kong_http_requests:rate5m": "kong",
  "northstack:kong_request_error_ratio:rate5m": "kong",
  "northstack:kong_request_latency_ms_bucket:rate5m": "kong",
  GatewayHighErrorRatio: "kong",
  GatewayHighLatency: "kong",
  GatewayUpstreamErrors: "kong",
  PostgresReplicationLag: "replication",
  LokiIngestionErrors: "loki",
  ContainerCpuThrottled: "cadvisor",
};

/** Dashboard panel queries (`<dashboard> / <panel> [<refId>]`) whose source cannot run here. */
const PANELS_NOT_HERE: Readonly<Record<string, Source>> = {
  "northstack dev: database / Replication lag [A]": "replication",
  "northstack dev: API gateway / TLS certificate days left [A]": "tlsProbe",
  "northstack dev: API gateway / Requests per second [A]": "kong",
  "northstack dev: API gateway / 5xx ratio [A]": "kong",
  "northstack dev: API gateway / Requests by status [A]": "kong",
  "northstack dev: API gateway / Requests by route [A]": "kong",
  "northstack dev: API gateway / Error ratio by route [A]": "kong",
  "northstack dev: API gateway / Total latency by route [A]": "kong",
  "northstack dev: API gateway / Total latency by route [B]": "kong",
  "northstack dev: API gateway / Total latency by route [C]": "kong",
  "northstack dev: API gateway / Upstream and Kong latency p95 by service [A]": "kong",
  "northstack dev: API gateway / Upstream and Kong latency p95 by service [B]": "kong",
  "northstack dev: API gateway / Upstream errors (502/504 from Kong) [A]": "kong",
  "northstack dev: API gateway / Bandwidth [A]": "kong",
  "northstack dev: realtime / Open connections at the gateway [A]": "kong",
  "northstack dev: realtime / WebSocket upgrades per second [A]": "kong",
  "northstack dev: realtime / Realtime 5xx ratio [A]": "kong",
  "northstack dev: realtime / Gateway connections by state [A]": "kong",
  "northstack dev: realtime / Realtime requests by route and status [A]": "kong",
  "northstack dev: realtime / Realtime p95 latency at the gateway [A]": "kong",
  "northstack dev: realtime / Replication lag (logical clients) [A]": "replication",
  "northstack dev: realtime / Realtime CPU [A]": "cadvisor",
  "northstack dev: realtime / Realtime memory (working set) [A]": "cadvisor",
  "northstack dev: realtime / Realtime restarts [A]": "kubeStateMetrics",
  "northstack dev: system / Container CPU [A]": "cadvisor",
  "northstack dev: system / Container memory (working set) [A]": "cadvisor",
  "northstack dev: system / Container CPU throttling [A]": "cadvisor",
  "northstack dev: system / Container restarts [A]": "kubeStateMetrics",
  "northstack dev: system / Replicas unavailable [A]": "kubeStateMetrics",
  "northstack dev: system / Replicas unavailable [B]": "kubeStateMetrics",
};

/** Scrape jobs of the dev stack whose workload cannot run here; they are scraped at a refusing port. */
const JOBS_NOT_HERE: Readonly<Record<string, string>> = {
  kong: SOURCES.kong.why,
  loki: SOURCES.loki.why,
  grafana: "Grafana is a container image; no Grafana runs here",
  "supabase-auth": "GoTrue is a container image; it does not run here",
  "supabase-rest": "PostgREST is a container image; it does not run here",
  "supabase-storage": "Supabase Storage is a container image; it does not run here",
  "supabase-realtime": "Supabase Realtime is a container image; it does not run here",
  "log-shipper": "Grafana Alloy is a container image; no Alloy runs here",
  cadvisor: SOURCES.cadvisor.why,
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "live-fire-"));
const write = (name: string, content: string): string => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, content);
  return file;
};
const processes: Started[] = [];
let cluster: PgCluster | undefined;
let files: PlannedFile[] = [];
let prometheusUrl = "";
let alertmanagerUrl = "";
const started = Date.now();

const JWT_SECRET = "live-fire-jwt-secret-0123456789-abcdefghijklmnop";
const REDIS_PASSWORD = "live-fire-redis-password";
const USER = "a1b20000-0000-4000-8000-000000000001";
const passwords = clientPasswords("live-fire");

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** An instant query: the HTTP status, Prometheus's error if any, and the series. */
async function query(expr: string): Promise<{ status: number; error?: string; result: Sample[] }> {
  const res = await fetch(`${prometheusUrl}/api/v1/query`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ query: expr }),
  });
  const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
  if (body.status !== "success") return { status: res.status, error: body.error ?? body.status, result: [] };
  const { resultType, result } = body.data ?? { resultType: "none", result: [] };
  // A vector or matrix is its series; a scalar (e.g. `time()`) is one value.
  if (resultType === "vector" || resultType === "matrix") return { status: res.status, result: result as Sample[] };
  if (resultType === "scalar")
    return { status: res.status, result: [{ metric: {}, value: result as [number, string] }] };
  return { status: res.status, result: [] };
}

async function start(name: string, cmd: string, args: string[], env: Record<string, string> = {}) {
  const p = await startProcess(name, cmd, args, env);
  processes.push(p);
  return p;
}

async function startPostgresAndExporter(exporterPort: number, queriesFile: string, migrations: PlannedFile[]) {
  if (!cluster) throw new Error("the cluster did not start");
  const job = runMigrationJobOn(
    cluster,
    migrations.map((m) => ({ name: path.basename(m.file), sql: m.content })),
    passwordEnv(passwords),
  );
  if (job.status !== 0) throw new Error(`the dev stack's migration job failed:\n${job.output}`);
  // One kept dump and one passed drill, recorded as the jobs record them (the backup role, one READ
  // WRITE transaction).
  const backup = new Client(cluster.connection(CLIENT_ROLES.backup, passwords.backup));
  await backup.connect();
  try {
    await backup.query(
      "BEGIN READ WRITE; INSERT INTO northstack_ops.backup_runs (kind, duration_seconds, size_bytes, object) VALUES ('dump', 12, 34567, 'live-fire.dump'), ('drill', 3, 34567, 'live-fire.dump'); COMMIT",
    );
  } finally {
    await backup.end();
  }
  // As postgresExporterSpec configures it: its own login, the backup queries, no database discovery.
  const exporter = await start(
    "postgres-exporter",
    "prometheus-postgres-exporter",
    [`--web.listen-address=127.0.0.1:${exporterPort}`],
    {
      DATA_SOURCE_NAME: `postgresql://${CLIENT_ROLES.exporter}:${encodeURIComponent(passwords.exporter)}@127.0.0.1:${cluster.port}/postgres?sslmode=disable`,
      PG_EXPORTER_AUTO_DISCOVER_DATABASES: "false",
      PG_EXPORTER_EXTEND_QUERY_PATH: queriesFile,
    },
  );
  await waitForHttp(`http://127.0.0.1:${exporterPort}/metrics`, exporter);
}

async function startRedisAndExporter(redisPort: number, exporterPort: number) {
  const dir = path.join(tmp, "redis");
  fs.mkdirSync(dir);
  const { memoryMb } = parseConfig(readStackConfig(PROJECT_ROOT, "dev").config, "dev").redis;
  const conf = write(
    "redis.conf",
    renderRedisConf({ password: REDIS_PASSWORD, maxmemoryMb: memoryMb, bind: "127.0.0.1", port: redisPort, dir }),
  );
  await start("redis-server", "redis-server", [conf]);
  const exporter = await start(
    "redis-exporter",
    "prometheus-redis-exporter",
    [`--web.listen-address=127.0.0.1:${exporterPort}`],
    { REDIS_ADDR: `redis://127.0.0.1:${redisPort}`, REDIS_PASSWORD },
  );
  await waitForHttp(`http://127.0.0.1:${exporterPort}/metrics`, exporter);
}

/** Requests a client would make: health, a rejected and an accepted write, a read, an unknown route. */
async function driveApi(apiUrl: string) {
  const token = signHs256(
    { sub: USER, role: "authenticated", aud: "authenticated", exp: Math.floor(Date.now() / 1000) + 600 },
    JWT_SECRET,
  );
  const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const statuses: number[] = [];
  for (const [url, init] of [
    [`${apiUrl}/health`, {}],
    [`${apiUrl}/notes`, {}],
    [`${apiUrl}/notes`, { method: "POST", headers: auth, body: JSON.stringify({ body: "live fire" }) }],
    [`${apiUrl}/notes`, { headers: auth }],
    [`${apiUrl}/nowhere`, {}],
  ] as const) {
    const res = await fetch(url, init);
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}

let apiStatuses: number[] = [];
const localJobs: Record<string, string[]> = {};

beforeAll(async () => {
  const [promPort, amPort, pgExporterPort, redisPort, redisExporterPort, apiPort, blackboxPort, nodePort] =
    await Promise.all(Array.from({ length: 8 }, () => freePort()));
  const planned = plannedDevFiles();
  const redisUp = startRedisAndExporter(redisPort, redisExporterPort);
  // Both are awaited below; until then a failure must not surface as an unhandled rejection.
  for (const p of [planned, redisUp]) p.catch(() => undefined);
  cluster = await startPgCluster();
  files = await planned;

  const queriesFile = write("queries.yml", plannedFile(files, "/etc/postgres-exporter/queries.yml"));
  const migrations = files.filter((f) => f.file.startsWith("/migrations/") && f.file.endsWith(".sql"));
  expect(migrations.length).toBeGreaterThan(3);
  const postgresUp = startPostgresAndExporter(pgExporterPort, queriesFile, migrations);
  postgresUp.catch(() => undefined);

  alertmanagerUrl = `http://127.0.0.1:${amPort}`;
  const alertmanager = await start("alertmanager", "prometheus-alertmanager", [
    `--config.file=${write("alertmanager.yml", plannedFile(files, "/etc/alertmanager/alertmanager.yml"))}`,
    `--storage.path=${path.join(tmp, "alertmanager")}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    "--cluster.listen-address=",
  ]);
  // The plan's blackbox.yml is a secret (it carries the anon key header); this is the same renderer's, without it.
  const blackbox = await start("blackbox-exporter", "prometheus-blackbox-exporter", [
    `--config.file=${write("blackbox.yml", renderBlackboxConfig({ requireTls: false }))}`,
    `--web.listen-address=127.0.0.1:${blackboxPort}`,
  ]);

  // This machine's own /proc and /sys, where the dev stack mounts the host's read-only.
  const nodeExporter = await start("node-exporter", "prometheus-node-exporter", [
    `--web.listen-address=127.0.0.1:${nodePort}`,
  ]);

  await Promise.all([redisUp, postgresUp]);
  const api = await start(
    "api",
    process.execPath,
    ["-r", path.resolve(__dirname, "../../scripts/register.js"), path.resolve(__dirname, "../../app/src/main.ts")],
    {
      PORT: String(apiPort),
      DATABASE_URL: `postgres://${CLIENT_ROLES.api}:${encodeURIComponent(passwords.api)}@127.0.0.1:${cluster!.port}/postgres?sslmode=disable`,
      REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${redisPort}`,
      JWT_SECRET,
    },
  );
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  await Promise.all([
    waitForHttp(`${apiUrl}/health`, api),
    waitForHttp(`${alertmanagerUrl}/-/ready`, alertmanager),
    waitForHttp(`http://127.0.0.1:${blackboxPort}/-/healthy`, blackbox),
    waitForHttp(`http://127.0.0.1:${nodePort}/metrics`, nodeExporter),
  ]);
  apiStatuses = await driveApi(apiUrl);

  Object.assign(localJobs, {
    prometheus: [`127.0.0.1:${promPort}`],
    api: [`127.0.0.1:${apiPort}`],
    "postgres-exporter": [`127.0.0.1:${pgExporterPort}`],
    "redis-exporter": [`127.0.0.1:${redisExporterPort}`],
    alertmanager: [`127.0.0.1:${amPort}`],
    "blackbox-exporter": [`127.0.0.1:${blackboxPort}`],
    "node-exporter": [`127.0.0.1:${nodePort}`],
  });
  const config = adaptPrometheusConfig(plannedFile(files, "/etc/prometheus/prometheus.yml"), {
    targets: localJobs,
    notHere: JOBS_NOT_HERE,
    downTarget: "127.0.0.1:1",
    probeUrls: { "http://kong:8000/api/v1/health": `${apiUrl}/health` },
    blackbox: `127.0.0.1:${blackboxPort}`,
    alertmanager: `127.0.0.1:${amPort}`,
    ruleFile: write("rules.yml", plannedFile(files, RULES_FILE)),
    interval: "1s",
  });
  prometheusUrl = `http://127.0.0.1:${promPort}`;
  const prometheus = await start("prometheus", "prometheus", [
    `--config.file=${write("prometheus.yml", config)}`,
    `--storage.tsdb.path=${path.join(tmp, "prometheus")}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    // Timing, as the intervals: a firing alert is resent every second rather than every minute, so
    // one dropped before Alertmanager was discovered arrives within the test.
    "--rules.alert.resend-delay=1s",
  ]);
  await waitForHttp(`${prometheusUrl}/-/ready`, prometheus);

  // Ready when every local target has been up for 4 scrapes; then more requests, and three more
  // scrapes and rule evaluations so that every rate has samples since the requests.
  const jobs = Object.keys(localJobs).join("|");
  for (let i = 0; ; i++) {
    const up = await query(`count_over_time(up{job=~"${jobs}"}[1m]) >= 4 and up == 1`);
    const targets = (await query(`up{job=~"${jobs}"}`)).result.length;
    if (up.result.length === Object.values(localJobs).flat().length && targets === up.result.length) break;
    if (i > 60) throw new Error(`targets not up after 30 s: ${JSON.stringify((await query("up")).result)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  await driveApi(apiUrl);
  await new Promise((r) => setTimeout(r, 3000));
}, 120_000);

afterAll(async () => {
  for (const p of [...processes].reverse()) await stopProcess(p);
  await cluster?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** One asked query: its name, what was sent, and what came back. */
interface Asked {
  readonly name: string;
  readonly expr: string;
  readonly asked: string;
  readonly status: number;
  readonly error?: string;
  readonly series: number;
}

async function ask(name: string, expr: string, asked: string): Promise<Asked> {
  const full = await query(expr);
  if (full.error) return { name, expr, asked: expr, status: full.status, error: full.error, series: 0 };
  const signal = asked === expr ? full : await query(asked);
  return { name, expr, asked, status: signal.status, error: signal.error, series: signal.result.length };
}

interface RuleEntry {
  alert?: string;
  record?: string;
  expr: string;
}

async function askRules(): Promise<Asked[]> {
  const groups = (YAML.parse(plannedFile(files, RULES_FILE)) as { groups: { rules: RuleEntry[] }[] }).groups;
  return Promise.all(
    groups.flatMap((g) =>
      g.rules.map((r) => ask(r.alert ?? r.record ?? "?", r.expr, r.alert ? signalOf(r.expr) : r.expr)),
    ),
  );
}

/**
 * Each template variable's value, in order (a variable's query may use those before it), as Grafana
 * gives it: a label_values query's first value, or all of them as an escaped regex alternation when
 * the variable is multi-valued or has All; other kinds their current value. An empty label_values
 * is noted, not failed: the queries that use it are judged like any other.
 */
async function variableValues(
  dashboard: string,
): Promise<{ values: Record<string, string>; notes: string[]; problems: string[] }> {
  const values: Record<string, string> = { ...BUILTIN_VARIABLES };
  const notes: string[] = [];
  const problems: string[] = [];
  for (const v of templateVariables(dashboard)) {
    if (v.type === "datasource") continue;
    if (v.type === "query") {
      const lv = labelValuesQuery(v);
      if (!lv) {
        problems.push(`variable $${v.name}: ${JSON.stringify(v.query)} is not label_values(...); teach this test it`);
        continue;
      }
      const selector = lv.selector === undefined ? undefined : substituteVariables(lv.selector, values);
      if (selector?.missing.length) problems.push(`variable $${v.name}: no value for $${selector.missing.join(", $")}`);
      const params = new URLSearchParams(selector ? { "match[]": selector.expr } : {});
      const res = await fetch(`${prometheusUrl}/api/v1/label/${lv.label}/values?${params}`);
      const found = ((await res.json()) as { data?: string[] }).data ?? [];
      if (found.length === 0) notes.push(`$${v.name} (label_values(${selector?.expr ?? ""}, ${lv.label})) is empty`);
      values[v.name] =
        v.multi || v.includeAll
          ? `(${found.map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\\\$&")).join("|")})`
          : (found[0] ?? "");
      continue;
    }
    const current = v.current?.value ?? v.options?.[0]?.value ?? (typeof v.query === "string" ? v.query : undefined);
    if (current === undefined) problems.push(`variable $${v.name} (${v.type}) has no value this test can give it`);
    else values[v.name] = Array.isArray(current) ? current.join("|") : current;
  }
  return { values, notes, problems };
}

/** Data sources whose queries are not PromQL, and why they are not asked here. */
const DATASOURCES_NOT_HERE: Readonly<Record<string, string>> = { loki: SOURCES.loki.why };

async function askPanels(): Promise<{ asked: Asked[]; elsewhere: PanelQuery[]; problems: string[] }> {
  const dashboards = files.filter((f) => f.file.startsWith(`${DASHBOARDS_DIR}/`) && f.file.endsWith(".json"));
  expect(dashboards.length).toBeGreaterThan(0);
  const datasources = provisionedDatasources(
    plannedFile(files, "/etc/grafana/provisioning/datasources/datasources.yml"),
  );
  const asked: Asked[] = [];
  const elsewhere: PanelQuery[] = [];
  const problems: string[] = [];
  for (const d of dashboards) {
    const { values, notes, problems: vp } = await variableValues(d.content);
    problems.push(...vp.map((p) => `${d.file}: ${p}`));
    for (const q of dashboardQueries(d.content, datasources)) {
      if (q.datasource !== "prometheus") {
        if (!DATASOURCES_NOT_HERE[q.datasource])
          problems.push(`${q.name}: data source type ${q.datasource} is unknown here`);
        elsewhere.push(q);
        continue;
      }
      const { expr, missing } = substituteVariables(q.expr, values);
      if (missing.length) problems.push(`${q.name}: no value for ${missing.map((m) => `$${m}`).join(", ")}`);
      const a = await ask(q.name, expr, expr);
      const used = notes.filter((n) => q.expr.includes(n.split(" ")[0]));
      asked.push(a.series === 0 && used.length ? { ...a, asked: `${a.asked} (${used.join("; ")})` } : a);
    }
  }
  const names = [...asked, ...elsewhere].map((q) => q.name);
  for (const n of new Set(names.filter((n, i) => names.indexOf(n) !== i)))
    problems.push(`two panel queries are named ${n}; give the panels distinct titles`);
  return { asked, elsewhere, problems };
}

/** What is wrong with the answers, given the table of what cannot run here; empty when all is well. */
function judge(asked: readonly Asked[], notHere: Readonly<Record<string, Source>>, what: string): string[] {
  const problems: string[] = [];
  const names = new Set(asked.map((a) => a.name));
  for (const name of Object.keys(notHere))
    if (!names.has(name)) problems.push(`${what} ${name} is listed as not running here, but there is no such ${what}`);
  for (const a of asked) {
    if (a.status !== 200 || a.error) {
      problems.push(`${a.name}: HTTP ${a.status} ${a.error ?? ""} for ${a.asked}`);
      continue;
    }
    const source = notHere[a.name];
    if (source) {
      const read = metricNames(a.expr);
      if (!read.some((m) => SOURCES[source].metrics.test(m)))
        problems.push(
          `${a.name} is listed under ${source}, but reads none of its metrics (it reads ${read.join(", ")})`,
        );
      if (a.series > 0)
        problems.push(`${a.name} returns data here now; take it out of the table of what cannot run here`);
    } else if (a.series === 0) {
      const read = metricNames(a.expr);
      const sources = (Object.keys(SOURCES) as Source[]).filter((k) => read.some((m) => SOURCES[k].metrics.test(m)));
      const hint = sources.length ? ` [it reads metrics of ${sources.join(", ")}: list it if that is why]` : "";
      problems.push(`${a.name} returns no data: ${a.asked}${hint}`);
    }
  }
  return problems;
}

let rules: Asked[] = [];
let panels: Asked[] = [];
let panelsElsewhere: PanelQuery[] = [];

test("the reference API served the requests the test drove, so its request metrics exist", () => {
  expect(apiStatuses).toEqual([200, 401, 201, 200, 404]);
});

test("every scrape job of the dev stack is either running here and up, or listed with its reason", async () => {
  const up = (await query("up")).result;
  const byJob = new Map(up.map((s) => [s.metric.job, s]));
  for (const [job, targets] of Object.entries(localJobs))
    expect({ job, up: up.filter((s) => s.metric.job === job).map((s) => s.value[1]) }).toEqual({
      job,
      up: targets.map(() => "1"),
    });
  for (const job of Object.keys(JOBS_NOT_HERE)) expect({ job, up: byJob.get(job)?.value[1] }).toEqual({ job, up: "0" });
  expect([...byJob.keys()].sort()).toEqual(
    [...Object.keys(localJobs), ...Object.keys(JOBS_NOT_HERE), "gateway-probe"].sort(),
  );
  // The gateway probe reached the API through the blackbox exporter.
  expect((await query('probe_success{job="gateway-probe"}')).result.map((s) => s.value[1])).toEqual(["1"]);
});

test("Prometheus delivers the always-firing Watchdog to Alertmanager through the rendered configs", async () => {
  let names: string[] = [];
  for (let i = 0; i < 20 && !names.includes("Watchdog"); i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 500));
    const alerts = (await (await fetch(`${alertmanagerUrl}/api/v2/alerts`)).json()) as {
      labels: { alertname: string };
    }[];
    names = alerts.map((a) => a.labels.alertname);
  }
  expect(names).toContain("Watchdog");
});

test("Prometheus evaluates every rule group on the real series without a failure", async () => {
  // Matching errors (many-to-many, duplicate series) show only on real data, at evaluation time.
  const failures = (await query("prometheus_rule_evaluation_failures_total > 0")).result.map(
    (s) => s.metric.rule_group,
  );
  expect(failures).toEqual([]);
  const evaluated = (await query("prometheus_rule_group_iterations_total > 2")).result;
  const groups = (YAML.parse(plannedFile(files, RULES_FILE)) as { groups: unknown[] }).groups;
  expect(evaluated).toHaveLength(groups.length);
});

test("every alert's signal and every recording rule returns data, unless its source cannot run here", async () => {
  rules = await askRules();
  expect(rules.length).toBeGreaterThan(40);
  expect(judge(rules, RULES_NOT_HERE, "rule")).toEqual([]);
});

test("every dashboard query parses and returns data, unless its source cannot run here", async () => {
  const { asked, elsewhere, problems } = await askPanels();
  panels = asked;
  panelsElsewhere = elsewhere;
  expect(panels.length).toBeGreaterThan(0);
  expect([...problems, ...judge(panels, PANELS_NOT_HERE, "panel query")]).toEqual([]);
});

test("the signal method: thresholds become bool comparisons, absent(x) becomes x, nested filters stay", () => {
  expect(signalOf("up == 0")).toBe("up == bool 0");
  expect(signalOf("a > 1 and on (x) b < 2")).toBe("a > bool 1 and on (x) b < bool 2");
  expect(signalOf("absent(m) and on () (max(pg_up) == 1)")).toBe("(m) and on () (max(pg_up) == bool 1)");
  expect(signalOf("x / (y > 0) > 0.9")).toBe("x / (y > 0) > bool 0.9");
  expect(signalOf("vector(1)")).toBe("vector(1)");
  expect(() => signalOf("sum(")).toThrow(/does not parse/);
});

test("dashboard queries are found in rows' nested panels with their data source, and every variable form is filled or reported", () => {
  const datasources = provisionedDatasources(
    "datasources:\n  - { uid: prom, type: prometheus, isDefault: true }\n  - { uid: logs, type: loki }\n",
  );
  const dashboard = JSON.stringify({
    title: "d",
    templating: {
      list: [{ name: "instance", type: "query", query: { query: 'label_values(up{job="api"}, instance)' } }],
    },
    panels: [
      { title: "top", targets: [{ refId: "A", expr: "rate(x[$__rate_interval])" }] },
      {
        title: "row",
        type: "row",
        panels: [
          { title: "inner", targets: [{ refId: "B", expr: 'y{i=~"${instance:regex}"}' }] },
          { title: "logs", datasource: { uid: "logs" }, targets: [{ refId: "A", expr: '{stack="dev"}' }] },
        ],
      },
      { title: "text", type: "text" },
    ],
  });
  expect(dashboardQueries(dashboard, datasources)).toEqual([
    { name: "d / top [A]", datasource: "prometheus", expr: "rate(x[$__rate_interval])" },
    { name: "d / inner [B]", datasource: "prometheus", expr: 'y{i=~"${instance:regex}"}' },
    { name: "d / logs [A]", datasource: "loki", expr: '{stack="dev"}' },
  ]);
  expect(labelValuesQuery(templateVariables(dashboard)[0])).toEqual({ selector: 'up{job="api"}', label: "instance" });
  expect(
    substituteVariables('z{a="$a", b="[[b]]", c="${c}"}[$__range]', { a: "1", b: "2", ...BUILTIN_VARIABLES }),
  ).toEqual({
    expr: 'z{a="1", b="2", c="${c}"}[1h]',
    missing: ["c"],
  });
});

afterAll(() => {
  const count = (asked: readonly Asked[]) => asked.filter((a) => a.series > 0 && !a.error).length;
  const elsewhere = panelsElsewhere.length
    ? `; ${panelsElsewhere.length} panel queries run on ${[...new Set(panelsElsewhere.map((q) => q.datasource))].join(", ")}, which cannot run here`
    : "";
  const bySource = Object.entries(
    [...Object.values(RULES_NOT_HERE), ...Object.values(PANELS_NOT_HERE)].reduce<Record<string, number>>(
      (acc, source) => ({ ...acc, [source]: (acc[source] ?? 0) + 1 }),
      {},
    ),
  ).map(([source, n]) => `${source} ${n}`);
  console.log(
    `live-fire: ${count(panels)} of ${panels.length + panelsElsewhere.length} panel queries and ${count(rules)} of ${rules.length} alert/recording queries returned data${elsewhere} (${((Date.now() - started) / 1000).toFixed(1)} s)\n` +
      `listed as not running here, by source: ${bySource.join(", ")}`,
  );
});
