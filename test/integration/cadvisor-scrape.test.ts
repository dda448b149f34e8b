/**
 * Container metrics on Docker, through a real Prometheus (Debian's): the dev stack's cadvisor job,
 * rendered as Monitoring renders it, scrapes a stand-in for cAdvisor (cAdvisor itself is a container
 * image and does not run here) that serves a static file in cAdvisor's exposition format, with cgroup
 * paths as Docker makes them under each cgroup driver for the containers the runtime placed
 * (test/integration/cadvisor/<driver>.prom). What is checked is ours: that the relabelling turns
 * those paths into the `namespace`, `pod` and `container` labels the dashboards and alerts group by,
 * drops every other cgroup, and that the cadvisor alert rules and container panels then return data.
 * Also that cAdvisor's health check tells a driver mismatch (run with this machine's sh and grep,
 * a stub for wget). What is not: that cAdvisor v0.49 itself, as nobody with the host's cgroups
 * read-only, emits these series (docs/architecture.md, "Container metrics on Docker").
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { Started, startPrometheus, stopProcess } from "../helpers/live-stack";
import * as YAML from "yaml";
import { cadvisorHealthCommand, cadvisorMetricRelabel } from "../../components/cluster-metrics";
import { dashboardQueries } from "../../components/dashboards";
import { renderAlertRules, renderPrometheusConfig } from "../../components/monitoring-config";
import { monitoringWorkloadName, scrapeJobFor } from "../../components/monitoring-specs";
import { DOCKER_CGROUP_DRIVERS, DockerCgroupDriver } from "../../components/runtime/docker-cgroups";
import { BUILTIN_VARIABLES, metricNames, signalOf, substituteVariables } from "../helpers/promql-queries";

jest.setTimeout(60_000);

/** The collectors the dev stack runs (Monitoring on Docker), so the rules are dev's. */
const DEV_COLLECTORS = ["node-exporter", "cadvisor"] as const;
const readsContainerMetrics = (expr: string) => metricNames(expr).some((m) => m.startsWith("container_"));

/** The replicas the fixtures describe, as the job must label them. */
const EXPECTED = [
  { namespace: "northstack-dev", pod: "northstack-dev-api-1", container: "api", workload: "api" },
  { namespace: "northstack-dev", pod: "northstack-dev-api-2", container: "api", workload: "api" },
  {
    namespace: "northstack-dev",
    pod: "northstack-dev-monitoring-postgres-exporter",
    container: "monitoring-postgres-exporter",
    workload: "monitoring-postgres-exporter",
  },
  {
    namespace: "northstack-dev",
    pod: "northstack-dev-supabase-realtime",
    container: "supabase-realtime",
    workload: "supabase-realtime",
  },
];

/**
 * Serves `fixture`, every counter multiplied by the number of scrapes so far, so that each counter
 * grows at a constant rate and ratios of counters stay as written.
 */
function standIn(fixture: string): http.RequestListener {
  let scrapes = 0;
  return (_req, res) => {
    scrapes += 1;
    let type = "";
    const body = fixture
      .split("\n")
      .map((line) => {
        const declared = /^# TYPE \S+ (\w+)/.exec(line);
        if (declared) type = declared[1];
        if (line.startsWith("#") || line === "" || type !== "counter") return line;
        const cut = line.lastIndexOf(" ");
        return `${line.slice(0, cut)} ${Number(line.slice(cut + 1)) * scrapes}`;
      })
      .join("\n");
    res.setHeader("Content-Type", "text/plain; version=0.0.4");
    res.end(body);
  };
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

describe.each(DOCKER_CGROUP_DRIVERS.map((d) => [d]))("Docker's %s cgroup driver", (driver: DockerCgroupDriver) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `cadvisor-${driver}-`));
  let server: http.Server | undefined;
  let prometheus: Started | undefined;
  let prometheusUrl = "";
  const rules = renderAlertRules({ collectors: DEV_COLLECTORS });

  async function query(expr: string): Promise<Sample[]> {
    const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: Sample[] } };
    if (body.status !== "success") throw new Error(`query ${expr} failed: ${body.error ?? body.status}`);
    return body.data.result;
  }

  beforeAll(async () => {
    const fixture = fs.readFileSync(path.join(__dirname, "cadvisor", `${driver}.prom`), "utf8");
    server = http.createServer(standIn(fixture));
    const target = await new Promise<string>((resolve) =>
      server!.listen(0, "127.0.0.1", () => resolve(`127.0.0.1:${(server!.address() as AddressInfo).port}`)),
    );
    const port = await new Promise<number>((resolve) => {
      const s = http.createServer();
      s.listen(0, "127.0.0.1", () => {
        const { port: p } = s.address() as AddressInfo;
        s.close(() => resolve(p));
      });
    });
    // The job as Monitoring builds it on Docker; only the target's address is this machine's.
    const job = {
      ...scrapeJobFor("cadvisor", monitoringWorkloadName("monitoring", "cadvisor"), {
        kind: "static",
        targets: [target],
        path: "/metrics",
      }),
      metricRelabel: cadvisorMetricRelabel("dev", driver),
    };
    const ruleFile = path.join(tmp, "rules.yml");
    fs.writeFileSync(ruleFile, rules);
    fs.writeFileSync(
      path.join(tmp, "prometheus.yml"),
      renderPrometheusConfig({
        stack: "dev",
        scrapeInterval: "1s",
        jobs: [job],
        alertmanager: "127.0.0.1:1",
        ruleFile,
      }),
    );
    prometheusUrl = `http://127.0.0.1:${port}`;
    prometheus = await startPrometheus(tmp, port);
    // Enough scrapes for every rate, and rule evaluations after them.
    for (let i = 0; ; i++) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        const samples = await query('count_over_time(container_cpu_usage_seconds_total{job="cadvisor"}[1m])');
        if (samples.length > 0 && samples.every((s) => Number(s.value[1]) >= 6)) break;
      } catch {
        // not up yet
      }
      if (i > 60) throw new Error("prometheus did not scrape the stand-in within 30 s");
    }
    await new Promise((r) => setTimeout(r, 2000));
  });

  afterAll(async () => {
    await stopProcess(prometheus);
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("every stored series names its replica and workload as on Kubernetes, and no other cgroup is stored", async () => {
    // All the job stored, less the series Prometheus adds to every scrape.
    const stored = await query('{job="cadvisor", __name__!~"up|scrape_.+"}');
    expect(stored.length).toBeGreaterThan(0);
    expect([...new Set(stored.map((s) => s.metric.__name__))].sort()).toEqual([
      "container_cpu_cfs_periods_total",
      "container_cpu_cfs_throttled_periods_total",
      "container_cpu_cfs_throttled_seconds_total",
      "container_cpu_usage_seconds_total",
      "container_memory_working_set_bytes",
    ]);
    const named = (s: Sample) => ({
      namespace: s.metric.namespace,
      pod: s.metric.pod,
      container: s.metric.container,
      workload: s.metric.workload,
    });
    const replicas = [...new Set(stored.map((s) => JSON.stringify(named(s))))].map((j) => JSON.parse(j));
    expect(replicas.sort((a, b) => a.pod.localeCompare(b.pod))).toEqual(EXPECTED);
    // Five metrics for each of the four replicas: the root, the nesting cgroups, the host's
    // services, another stack's and Docker's default containers are all dropped.
    expect(stored).toHaveLength(5 * EXPECTED.length);
    // `up` keeps cAdvisor's own workload: only the container series are renamed.
    expect((await query('up{job="cadvisor"}')).map((s) => [s.metric.workload, s.value[1]])).toEqual([
      ["monitoring-cadvisor", "1"],
    ]);
  });

  test("dev's cadvisor alert rules are rendered and their signals return data; ContainerCpuThrottled picks the throttled replica alone", async () => {
    const container = (YAML.parse(rules) as { groups: { rules: { alert?: string; expr: string }[] }[] }).groups
      .flatMap((g) => g.rules)
      .filter((r) => r.alert && readsContainerMetrics(r.expr));
    expect(container.map((r) => r.alert)).toEqual(["ContainerCpuThrottled"]);
    for (const r of container)
      expect({ alert: r.alert, series: (await query(signalOf(r.expr))).length }).not.toEqual({
        alert: r.alert,
        series: 0,
      });
    const firing = await query('ALERTS{alertname="ContainerCpuThrottled"}');
    expect(firing.map((s) => [s.metric.alertstate, s.metric.namespace, s.metric.pod, s.metric.container])).toEqual([
      ["pending", "northstack-dev", "northstack-dev-api-2", "api"],
    ]);
  });

  test("every dashboard panel over container metrics returns data, labelled by namespace, pod and container", async () => {
    const panels = dashboardQueries({ stack: "dev" }).filter(
      (q) => q.datasource === "prometheus" && readsContainerMetrics(q.expr),
    );
    expect(panels.map((q) => `${q.file} / ${q.panel}`)).toEqual(
      expect.arrayContaining([
        "system.json / Container CPU",
        "system.json / Container memory (working set)",
        "system.json / Container CPU throttling",
        "realtime.json / Realtime CPU",
        "realtime.json / Realtime memory (working set)",
      ]),
    );
    for (const q of panels) {
      const { expr, missing } = substituteVariables(q.expr, BUILTIN_VARIABLES);
      expect({ panel: q.panel, missing }).toEqual({ panel: q.panel, missing: [] });
      const result = await query(expr);
      expect({ panel: q.panel, series: result.length > 0 }).toEqual({ panel: q.panel, series: true });
      // The series carry each label the panel groups by, with a value.
      const by =
        /by \(([^)]*)\)/
          .exec(expr)?.[1]
          .split(",")
          .map((l) => l.trim()) ?? [];
      for (const s of result)
        for (const label of by)
          expect({ panel: q.panel, label, value: s.metric[label] ?? "" }).not.toMatchObject({ value: "" });
    }
    const realtime = await query('max by (pod) (container_memory_working_set_bytes{container=~".+-realtime"})');
    expect(realtime.map((s) => s.metric.pod)).toEqual(["northstack-dev-supabase-realtime"]);
  });
});

test.each(DOCKER_CGROUP_DRIVERS.map((d) => [d]))(
  "cAdvisor's health check passes while it reports the stack's containers, and fails when the configured driver (%s) is not the engine's",
  (driver: DockerCgroupDriver) => {
    const other = DOCKER_CGROUP_DRIVERS.find((d) => d !== driver)!;
    const stub = fs.mkdtempSync(path.join(os.tmpdir(), "cadvisor-health-"));
    try {
      // `wget -q -O - <url>` answers what cAdvisor would serve: the fixture of the engine's driver.
      fs.writeFileSync(path.join(stub, "wget"), '#!/bin/sh\ncat "$METRICS"\n', { mode: 0o755 });
      const [sh, ...args] = cadvisorHealthCommand("dev", driver);
      const run = (engine: DockerCgroupDriver) =>
        spawnSync(sh, args, {
          env: { PATH: `${stub}:${process.env.PATH}`, METRICS: path.join(__dirname, "cadvisor", `${engine}.prom`) },
        }).status;
      expect({ engine: driver, status: run(driver) }).toEqual({ engine: driver, status: 0 });
      expect({ engine: other, status: run(other) }).toEqual({ engine: other, status: 1 });
    } finally {
      fs.rmSync(stub, { recursive: true, force: true });
    }
  },
);
