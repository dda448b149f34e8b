/**
 * The six provisioned dashboards: every query parses, reads only metrics the stack's exporters,
 * scrape targets and recording rules provide, and filters by variables the dashboard defines;
 * logs sit beside the metrics they explain; the JSON is a pure function of the stack.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { Metrics } from "../../app/src/metrics";
import { RECORDED, alertRuleGroups } from "../../components/alert-rules";
import { BACKUP_EXPORTER_QUERIES } from "../../components/backup-alerts";
import {
  DASHBOARD_FILES,
  REALTIME_SERVICES,
  dashboardQueries,
  dashboardUid,
  renderDashboards,
} from "../../components/dashboards";
import { renderKongConfig } from "../../components/kong-config";
import { LOG_STREAM_LABELS } from "../../components/log-shipper";
import { DASHBOARDS_DIR } from "../../components/monitoring-config";
import { grafanaSpec } from "../../components/monitoring-specs";
import {
  VARIABLE_SAMPLES,
  logLineFilters,
  logStreamMatchers,
  metricNames,
  promqlErrors,
  substituteVariables,
  variablesUsed,
} from "../helpers/dashboards";
import { sharedPlan } from "../helpers/shared-plan";

interface Variable {
  name: string;
  type: string;
  query?: string;
  hide?: number;
  allValue?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string }[];
}
interface Dashboard {
  uid: string;
  title: string;
  templating: { list: Variable[] };
  annotations: { list: unknown[] };
  panels: Panel[];
}

const STACK = "dev";
const rendered = renderDashboards({ stack: STACK });
const dashboards: [string, Dashboard][] = Object.entries(rendered).map(([file, text]) => [file, JSON.parse(text)]);
const queries = dashboardQueries({ stack: STACK });
const promQueries = queries.filter((q) => q.datasource === "prometheus");
const logQueries = queries.filter((q) => q.datasource === "loki");
const at = (q: { file: string; panel: string }) => `${q.file} / ${q.panel}`;

/** The selector of a `label_values(<selector>, <label>)` variable query. */
const labelValuesSelector = (query: string) => /^label_values\((.+), (\w+)\)$/.exec(query)?.[1];

/**
 * Metric names the stack's scrape targets expose, by source. Derived where the source is in this
 * repository; listed (with the exporter's version) where it is a third-party exporter.
 */
function knownMetrics(): Map<string, string> {
  const known = new Map<string, string>();
  const add = (source: string, names: Iterable<string>) => {
    for (const name of names) if (!known.has(name)) known.set(name, source);
  };
  // The reference API, from what it actually renders.
  const metrics = new Metrics();
  metrics.observeRequest("GET", "/v1/items", 200, 0.01);
  metrics.setDependencyUp("postgres", true);
  add(
    "app/src/metrics.ts",
    metrics
      .render()
      .split("\n")
      .filter((line) => line !== "" && !line.startsWith("#"))
      .map((line) => line.split(/[{ ]/)[0]),
  );
  // The Postgres exporter's query over the backup record.
  const exporterQueries = YAML.parse(BACKUP_EXPORTER_QUERIES) as Record<
    string,
    { metrics: Record<string, { usage: string }>[] }
  >;
  for (const [prefix, query] of Object.entries(exporterQueries))
    add(
      "backup-alerts.ts exporter query",
      query.metrics.flatMap((m) =>
        Object.entries(m)
          .filter(([, spec]) => spec.usage !== "LABEL")
          .map(([column]) => `${prefix}_${column}`),
      ),
    );
  const groups = alertRuleGroups();
  add(
    "recording rules",
    groups.flatMap((g) => (g.recording ?? []).map((r) => r.record)),
  );
  // Exporter metrics the alert rules already judge (each rule has a promtool case and runbook).
  add(
    "alert rules",
    groups.flatMap((g) => g.alerts.flatMap((a) => metricNames(a.expr))),
  );
  add("Prometheus (every target)", ["up"]);
  add("postgres_exporter v0.16 (stat_database)", [
    "pg_stat_database_xact_commit",
    "pg_stat_database_xact_rollback",
    "pg_stat_database_blks_hit",
    "pg_stat_database_blks_read",
  ]);
  add("redis_exporter v1.66", ["redis_commands_processed_total"]);
  add("Kong 3.8 prometheus plugin (kong-config.ts: latency and bandwidth metrics on)", [
    "kong_nginx_connections_total",
    "kong_upstream_latency_ms_bucket",
    "kong_kong_latency_ms_bucket",
    "kong_bandwidth_bytes",
  ]);
  add("blackbox_exporter http prober", ["probe_duration_seconds", "probe_http_status_code"]);
  add("cAdvisor (kubelet)", ["container_cpu_usage_seconds_total"]);
  add("node_exporter", ["node_cpu_seconds_total"]);
  return known;
}
const KNOWN = knownMetrics();
const unknownMetrics = (promql: string) => metricNames(promql).filter((name) => !KNOWN.has(name));

describe("six dashboards", () => {
  test("the six dashboards are rendered, each a titled Grafana dashboard with a stable uid", () => {
    expect(DASHBOARD_FILES).toEqual([
      "system.json",
      "database.json",
      "realtime.json",
      "gateway.json",
      "api.json",
      "backups.json",
    ]);
    expect(Object.keys(rendered)).toEqual(DASHBOARD_FILES);
    const uids = dashboards.map(([, d]) => d.uid);
    expect(new Set(uids).size).toBe(6);
    for (const [file, d] of dashboards) {
      expect({ file, uid: d.uid }).toEqual({ file, uid: `northstack-dev-${file.replace(/\.json$/, "")}` });
      expect(d.title.startsWith("northstack dev: ")).toBe(true);
      expect(d.panels.filter((p) => p.type !== "row").length).toBeGreaterThanOrEqual(8);
      expect(new Set(d.panels.map((p) => p.id)).size).toBe(d.panels.length);
      expect(d.annotations.list.length).toBeGreaterThan(0);
    }
  });

  test("Grafana is provisioned with exactly the six dashboards, whatever the stack", () => {
    for (const stack of ["dev", "staging", "prod"]) {
      const spec = grafanaSpec("monitoring", { stack, datasources: "apiVersion: 1\n", adminPassword: "secret" });
      const files = (spec.files ?? []).filter((f) => f.path.startsWith(`${DASHBOARDS_DIR}/`));
      expect(Object.fromEntries(files.map((f) => [path.basename(f.path), f.content]))).toEqual(
        renderDashboards({ stack }),
      );
    }
  });

  test("the same stack renders the same bytes; another stack gets other uids", () => {
    expect(renderDashboards({ stack: STACK })).toEqual(rendered);
    const prod = Object.values(renderDashboards({ stack: "prod" })).map((t) => JSON.parse(t).uid);
    expect(prod.filter((uid) => dashboards.some(([, d]) => d.uid === uid))).toEqual([]);
  });

  test("a stack name too long for a readable uid gets a hashed one, still stable and within Grafana's 40", () => {
    const long = "a-very-long-stack-name-for-a-preview-environment";
    const uid = dashboardUid(long, "database");
    expect(uid.length).toBeLessThanOrEqual(40);
    expect(uid).toBe(dashboardUid(long, "database"));
    expect(uid).not.toBe(dashboardUid(`${long}-2`, "database"));
    for (const text of Object.values(renderDashboards({ stack: long })))
      expect(JSON.parse(text).uid.length).toBeLessThanOrEqual(40);
  });
});

describe("PromQL", () => {
  test("every substituted variable has a sample, and substitution leaves no $ behind", () => {
    expect(substituteVariables('rate(x{instance=~"$instance"}[$__rate_interval])')).toBe(
      `rate(x{instance=~"${VARIABLE_SAMPLES.instance}"}[1m])`,
    );
    expect(() => substituteVariables('x{a=~"$nope"}')).toThrow(/\$nope .* no sample value/);
    for (const q of queries)
      expect({ at: at(q), expr: substituteVariables(q.expr) }).not.toMatchObject({
        expr: expect.stringContaining("$"),
      });
  });

  test("the parser check can fail", () => {
    expect(promqlErrors("sum(rate(x[5m])")).not.toEqual([]);
    expect(promqlErrors('x{instance=~"$instance"}[$__rate_interval]')).not.toEqual([]);
    expect(promqlErrors("sum by (route) (rate(x[5m]))")).toEqual([]);
  });

  test("every Prometheus panel query parses with Prometheus's own grammar", () => {
    expect(promQueries.length).toBeGreaterThan(60);
    for (const q of promQueries)
      expect({ at: at(q), expr: q.expr, errors: promqlErrors(substituteVariables(q.expr)) }).toEqual({
        at: at(q),
        expr: q.expr,
        errors: [],
      });
  });

  test("every metric a panel reads is one the stack's exporters, scrape targets or recording rules provide", () => {
    expect(unknownMetrics("sum(rate(made_up_requests_total[5m]))")).toEqual(["made_up_requests_total"]);
    for (const q of promQueries)
      expect({ at: at(q), unknown: unknownMetrics(substituteVariables(q.expr)) }).toEqual({ at: at(q), unknown: [] });
  });

  test("panels read the recorded series the alerts judge, and never retype a recording rule's expression", () => {
    const exprs = promQueries.map((q) => q.expr);
    for (const record of Object.values(RECORDED))
      expect({ record, panels: exprs.filter((e) => e.includes(record)).length }).not.toEqual({ record, panels: 0 });
    const recordingExprs = alertRuleGroups().flatMap((g) => (g.recording ?? []).map((r) => r.expr));
    for (const q of promQueries)
      for (const expr of recordingExprs)
        expect({ at: at(q), retypes: q.expr.includes(expr) }).toEqual({ at: at(q), retypes: false });
  });
});

describe("template variables", () => {
  const variables = (d: Dashboard) => d.templating.list.map((v) => v.name);

  test("every dashboard has stack and instance; route where traffic is per route", () => {
    for (const [file, d] of dashboards) {
      expect({ file, has: variables(d) }).toEqual({ file, has: expect.arrayContaining(["stack", "instance"]) });
      expect(d.templating.list.find((v) => v.name === "stack")).toMatchObject({ type: "custom", query: STACK });
    }
    for (const file of ["gateway.json", "api.json"])
      expect(variables(JSON.parse(rendered[file]) as Dashboard)).toContain("route");
  });

  test("a hidden variable that narrows log streams means the values found, never every stream", () => {
    const hidden = dashboards.flatMap(([file, d]) =>
      d.templating.list.filter((v) => v.hide === 2).map((v) => ({ file, name: v.name, allValue: v.allValue })),
    );
    expect(hidden.length).toBeGreaterThanOrEqual(4);
    for (const v of hidden) expect(v).toEqual({ file: v.file, name: v.name, allValue: undefined });
    for (const q of logQueries)
      for (const name of variablesUsed(q.expr).filter((n) => n !== "stack"))
        expect({ at: at(q), name, hidden: hidden.some((v) => v.file === q.file && v.name === name) }).toEqual({
          at: at(q),
          name,
          hidden: true,
        });
  });

  test("every variable a query uses is defined on its dashboard and has a sample value", () => {
    for (const [file, d] of dashboards) {
      const defined = new Set(variables(d));
      for (const q of queries.filter((x) => x.file === file))
        for (const name of variablesUsed(q.expr)) {
          expect({ at: at(q), name, defined: defined.has(name) }).toEqual({ at: at(q), name, defined: true });
          expect(VARIABLE_SAMPLES[name]).toBeDefined();
        }
    }
  });

  test("variable queries are label_values over a valid selector of a known metric", () => {
    for (const [file, d] of dashboards)
      for (const v of d.templating.list.filter((x) => x.type === "query")) {
        const selector = labelValuesSelector(v.query ?? "");
        expect({ file, variable: v.name, selector }).toEqual({ file, variable: v.name, selector: expect.any(String) });
        const promql = substituteVariables(selector as string);
        expect({ file, variable: v.name, errors: promqlErrors(promql) }).toEqual({
          file,
          variable: v.name,
          errors: [],
        });
        // {__name__=~"a|b"} names its metrics in the matcher.
        const names = [...metricNames(promql), ...(/__name__=~"([^"]+)"/.exec(promql)?.[1].split("|") ?? [])];
        expect(names.length).toBeGreaterThan(0);
        expect({ file, variable: v.name, unknown: names.filter((n) => !KNOWN.has(n)) }).toEqual({
          file,
          variable: v.name,
          unknown: [],
        });
      }
  });
});

describe("logs", () => {
  const streamLabels = new Set([...Object.keys(LOG_STREAM_LABELS), "stack"]);

  test("the LogQL checks can fail", () => {
    expect(() => logStreamMatchers('workload="api"')).toThrow(/stream selector/);
    expect(() => logStreamMatchers('{workload=~".*"}')).toThrow(/cannot match empty/);
    expect(() => logLineFilters('{a="b"} | json')).toThrow(/not a line filter/);
  });

  test("every log query selects the stack's streams by the labels the shipper sets, then filters lines", () => {
    expect(logQueries.length).toBeGreaterThanOrEqual(6);
    for (const q of logQueries) {
      const logql = substituteVariables(q.expr);
      const matchers = logStreamMatchers(logql);
      expect({ at: at(q), stack: matchers.find((m) => m.label === "stack") }).toEqual({
        at: at(q),
        stack: { label: "stack", op: "=", value: VARIABLE_SAMPLES.stack },
      });
      for (const m of matchers)
        expect({ at: at(q), label: m.label, known: streamLabels.has(m.label) }).toEqual({
          at: at(q),
          label: m.label,
          known: true,
        });
      for (const f of logLineFilters(logql).filter((x) => x.op.endsWith("~")))
        expect(() => new RegExp(f.value.replace(/^\(\?i\)/, ""))).not.toThrow();
    }
  });

  test("every dashboard has a logs panel", () => {
    for (const [file, d] of dashboards)
      expect({ file, logs: d.panels.some((p) => p.type === "logs") }).toEqual({ file, logs: true });
  });

  test("API and gateway error logs sit beside their error ratios", () => {
    for (const [file, ratio, logs] of [
      ["api.json", "Error ratio by route", "API error logs"],
      ["gateway.json", "Error ratio by route", "Gateway error logs"],
    ]) {
      const panels = (JSON.parse(rendered[file]) as Dashboard).panels;
      const find = (title: string) => panels.find((p) => p.title === title)!;
      expect({ file, row: find(logs).gridPos.y }).toEqual({ file, row: find(ratio).gridPos.y });
      expect(find(logs).type).toBe("logs");
    }
  });
});

test("the Realtime panels' service pattern matches the services Kong routes to Realtime", () => {
  const kong = YAML.parse(
    renderKongConfig({
      upstreams: { api: "http://api:8080", realtime: "http://supabase-realtime:4000" },
      anonKey: "anon-key-5e2c1d7f9a",
      serviceRoleKey: "service-role-key-8b4d0c6e13",
      redis: { host: "redis", port: 6379, password: "redis-pass-a91f3e7c", tls: false },
      gateway: {
        corsOrigins: [],
        rateLimitRequests: 100,
        rateLimitWindowMinutes: 15,
        adminAllowCidrs: [],
        maxRequestSizeMb: 10,
      },
    }),
  ) as { services: { name: string }[] };
  const pattern = new RegExp(`^(?:${REALTIME_SERVICES})$`);
  const matching = kong.services.map((s) => s.name).filter((n) => pattern.test(n));
  expect(matching.length).toBeGreaterThanOrEqual(1);
  expect(matching.every((n) => n.startsWith("realtime"))).toBe(true);
});

test("the dashboards are documented", () => {
  const docs = ["README.md", "docs/architecture.md"]
    .map((f) => path.join(__dirname, "..", "..", f))
    .filter((f) => fs.existsSync(f))
    .map((f) => fs.readFileSync(f, "utf8"))
    .join("\n");
  for (const [, d] of dashboards) {
    const name = d.title.replace(/^northstack dev: /, "");
    expect({ name, documented: docs.includes(`**${name}**`) }).toEqual({ name, documented: true });
  }
});

describe("every stack's plan", () => {
  /** The stack's plan (test/helpers/shared-plan.ts), its resources as JSON text. */
  const plannedText = async (stack: string, set: Record<string, string>): Promise<string> =>
    JSON.stringify((await sharedPlan(stack, set)).resources);

  // One plan per runtime (Docker uploads, Kubernetes ConfigMaps): staging composes Monitoring as prod does.
  test.each([
    ["dev", {}],
    ["prod", { cloud: "gcp" }],
  ] as [string, Record<string, string>][])(
    "%s delivers the six dashboards, rendered for its stack, to Grafana",
    async (stack, set) => {
      const planned = await plannedText(stack, set);
      for (const [file, content] of Object.entries(renderDashboards({ stack }))) {
        // The content as it appears inside the JSON of a resource's inputs.
        const delivered = planned.includes(JSON.stringify(content).slice(1, -1));
        expect({ stack, file, delivered }).toEqual({ stack, file, delivered: true });
      }
    },
    120000,
  );
});

test('the runbooks\' "Grafana → <dashboard> → <panel>" pointers name panels that exist', () => {
  const runbooks = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "runbooks.md"), "utf8");
  const pointers = [...runbooks.matchAll(/Grafana → ([A-Za-z ]+?) → ("[^;\n]*)/g)];
  expect(pointers.length).toBeGreaterThanOrEqual(3);
  for (const [, name, tail] of pointers) {
    const found = dashboards.find(([, d]) => d.title === `northstack ${STACK}: ${name}`);
    expect({ name, dashboard: Boolean(found) }).toEqual({ name, dashboard: true });
    const titles = new Set(found![1].panels.map((p) => p.title));
    const panels = [...tail.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
    expect(panels.length).toBeGreaterThan(0);
    for (const panel of panels)
      expect({ name, panel, exists: titles.has(panel) }).toEqual({ name, panel, exists: true });
  }
});
