import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { PostgresEndpoint, RedisEndpoint } from "../../components/endpoints";
import {
  alertmanagerSpec,
  blackboxExporterSpec,
  grafanaDatasources,
  grafanaSpec,
  lokiSpec,
  portOf,
  postgresExporterSpec,
  prometheusConfig,
  prometheusSpec,
  redisExporterSpec,
  scrapeJobFor,
} from "../../components/monitoring-specs";
import { retentionSizeProblem } from "../../components/config/checks";
import { logShipperSpec } from "../../components/log-shipper";
import { WorkloadSpec, validateWorkload } from "../../components/workload";

const postgres: PostgresEndpoint = {
  host: pulumi.output("postgres"),
  port: pulumi.output(5432),
  database: "app",
  login: { user: "postgres", password: pulumi.output("pg-password") },
  sslMode: "disable",
};
const redis: RedisEndpoint = {
  host: pulumi.output("redis"),
  port: pulumi.output(6379),
  password: pulumi.output("redis-password"),
  tls: false,
};

const specs: WorkloadSpec[] = [
  postgresExporterSpec("monitoring", postgres),
  redisExporterSpec("monitoring", redis),
  alertmanagerSpec("monitoring"),
  lokiSpec("monitoring"),
  prometheusSpec("monitoring", "global: {}\n"),
  grafanaSpec("monitoring", { stack: "dev", datasources: "apiVersion: 1\n", adminPassword: "secret" }),
  blackboxExporterSpec("monitoring", { url: "https://api.example.ca/api/v1/health" }),
  logShipperSpec("monitoring-log-shipper", "// config\n"),
];
const byName = (suffix: string) => specs.find((s) => s.name === `monitoring-${suffix}`)!;
const declaredPorts = (spec: WorkloadSpec) => (spec.ports ?? []).map((p) => p.port);
const fileContent = (spec: WorkloadSpec, path: string) => {
  const file = (spec.files ?? []).find((f) => f.path === path);
  if (typeof file?.content !== "string") throw new Error(`${spec.name} has no plain file ${path}`);
  return file.content;
};

describe.each(specs.map((spec) => [spec.name, spec] as const))("%s", (_, spec) => {
  test("passes workload validation as a non-root service", () => {
    expect(() => validateWorkload(spec)).not.toThrow();
    expect(spec.user.uid).toBeGreaterThan(0);
    expect(spec.user.gid).toBeGreaterThan(0);
    expect(spec.kind ?? "service").toBe("service");
  });

  test("is probed on a port it declares", () => {
    const probe = spec.health?.httpGet;
    expect(probe).toBeDefined();
    expect(declaredPorts(spec)).toContain(probe!.port);
  });

  test("checks itself from inside the container on the probed port and path, or by re-verifying its config", () => {
    const exec = spec.health!.exec;
    const probe = spec.health!.httpGet!;
    if (exec[0] === "wget") expect(exec[exec.length - 1]).toBe(`http://127.0.0.1:${probe.port}${probe.path}`);
    else if (exec[0] === "/bin/alloy") expect(exec).toEqual(["/bin/alloy", "fmt", "/etc/alloy/config.alloy"]);
    else expect(exec).toEqual(["/usr/bin/loki", "-config.file=/etc/loki/loki.yml", "-verify-config"]);
  });

  test("exposes metrics on a port it declares", () => {
    expect(declaredPorts(spec)).toContain(spec.metrics?.port);
  });
});

test("every workload another one admits exists under the monitoring stack's names", () => {
  const names = new Set(specs.map((s) => s.name));
  const admitted = specs.flatMap((s) => s.allowFrom ?? []);
  expect(admitted.length).toBeGreaterThan(0);
  for (const name of admitted) expect({ name, exists: names.has(name) }).toEqual({ name, exists: true });
});

test("Loki listens on the port its spec declares", () => {
  const loki = byName("loki");
  expect(YAML.parse(fileContent(loki, "/etc/loki/loki.yml")).server.http_listen_port).toBe(portOf(loki, "http"));
});

test("Prometheus scrapes itself on the port its spec declares", () => {
  const self = YAML.parse(
    prometheusConfig({ stack: "dev", jobs: [], alertmanager: { spec: byName("alertmanager"), host: "am" } }),
  ).scrape_configs[0];
  expect(self).toEqual({
    job_name: "prometheus",
    static_configs: [{ targets: [`localhost:${portOf(byName("prometheus"), "http")}`] }],
  });
  const labelled = YAML.parse(
    prometheusConfig({
      stack: "dev",
      jobs: [],
      self: "monitoring-prometheus",
      alertmanager: { spec: byName("alertmanager"), host: "am" },
    }),
  ).scrape_configs[0];
  expect(labelled.static_configs[0].labels).toEqual({ workload: "monitoring-prometheus" });
});

test("prometheus.yml sends alerts to Alertmanager on the port the Alertmanager spec declares", () => {
  const alertmanager = byName("alertmanager");
  const targetsFor = (spec: WorkloadSpec) =>
    YAML.parse(prometheusConfig({ stack: "dev", jobs: [], alertmanager: { spec, host: "monitoring-alertmanager" } }))
      .alerting.alertmanagers[0].static_configs[0].targets;
  expect(targetsFor(alertmanager)).toEqual([`monitoring-alertmanager:${portOf(alertmanager, "http")}`]);
  // Moving the port in the spec moves the target with it.
  expect(targetsFor({ ...alertmanager, ports: [{ name: "http", port: 19093 }] })).toEqual([
    "monitoring-alertmanager:19093",
  ]);
});

test("Grafana's data sources point at the ports the Prometheus and Loki specs declare", () => {
  const render = (prometheus: WorkloadSpec, loki: WorkloadSpec) =>
    Object.fromEntries(
      (
        YAML.parse(grafanaDatasources({ prometheus: { spec: prometheus, host: "p" }, loki: { spec: loki, host: "l" } }))
          .datasources as { uid: string; url: string }[]
      ).map((d) => [d.uid, d.url]),
    );
  expect(render(byName("prometheus"), byName("loki"))).toEqual({
    prometheus: `http://p:${portOf(byName("prometheus"), "http")}`,
    loki: `http://l:${portOf(byName("loki"), "http")}`,
  });
  expect(
    render(
      { ...byName("prometheus"), ports: [{ name: "http", port: 19090 }] },
      { ...byName("loki"), ports: [{ name: "http", port: 13100 }] },
    ),
  ).toEqual({
    prometheus: "http://p:19090",
    loki: "http://l:13100",
  });
});

test("a scrape job takes the port and path of the metrics its workload declares", () => {
  for (const spec of specs) {
    const discovery = {
      kind: "dns",
      name: `${spec.name}-metrics.ns`,
      port: spec.metrics!.port,
      path: spec.metrics!.path,
      namespace: "ns",
    } as const;
    expect(scrapeJobFor("job", spec.name, discovery)).toEqual({
      job: "job",
      dns: { names: [`${spec.name}-metrics.ns`], port: spec.metrics!.port },
      metricsPath: spec.metrics!.path,
      labels: { workload: spec.name, namespace: "ns" },
    });
  }
});

test("a URL to a port the workload does not declare fails instead of pointing nowhere", () => {
  expect(() => portOf(byName("postgres-exporter"), "http")).toThrow(
    'workload "monitoring-postgres-exporter" declares no port named "http"',
  );
});

test("Alertmanager's config is a secret file exactly when it holds a receiver's credential", () => {
  const file = (spec: WorkloadSpec) => spec.files!.find((f) => f.path === "/etc/alertmanager/alertmanager.yml")!;
  const email = { to: "oncall@example.ca", from: "am@example.ca", smarthost: "smtp.example.ca:587" };
  expect(file(alertmanagerSpec("monitoring")).secret).toBe(false);
  expect(file(alertmanagerSpec("monitoring", { email })).secret).toBe(false);
  for (const receivers of [
    { webhookUrl: pulumi.secret("https://hooks.example.ca/x") },
    { email: { ...email, password: pulumi.secret("smtp-password") } },
    { slack: { webhookUrl: pulumi.secret("https://hooks.slack.com/services/x") } },
    { pagerduty: { routingKey: pulumi.secret("0123456789abcdef0123456789abcdef") } },
  ]) {
    expect(file(alertmanagerSpec("monitoring", receivers)).secret).toBe(true);
  }
});

test("Prometheus keeps metrics for the days and size asked, 15 days and 16 GB of a 20 GB volume by default", () => {
  const byDefault = prometheusSpec("monitoring", "");
  expect(byDefault.args).toEqual(
    expect.arrayContaining(["--storage.tsdb.retention.time=15d", "--storage.tsdb.retention.size=16GB"]),
  );
  expect(byDefault.volumes).toEqual([{ name: "data", mountPath: "/prometheus", sizeGb: 20 }]);
  const asked = prometheusSpec("monitoring", "", { days: 30, sizeGb: 40, volumeGb: 50 });
  expect(asked.args).toEqual(
    expect.arrayContaining(["--storage.tsdb.retention.time=30d", "--storage.tsdb.retention.size=40GB"]),
  );
  expect(asked.volumes![0].sizeGb).toBe(50);
});

test("a retention size cap that leaves the volume no room to compact is refused", () => {
  expect(retentionSizeProblem(16, 20)).toBeUndefined();
  expect(retentionSizeProblem(17, 20)).toBe(
    "does not fit a 20 GB Prometheus volume; at most 16 (80 %, leaving room for compaction), or a larger volume",
  );
  expect(() => prometheusSpec("monitoring", "", { sizeGb: 20 })).toThrow(
    "Prometheus retention size 20 GB does not fit",
  );
});

test("the blackbox exporter's config holds the probe's API key as a secret file, and requires TLS for an https URL", async () => {
  const spec = blackboxExporterSpec("monitoring", {
    url: "https://api.example.ca/api/v1/health",
    headers: { apikey: pulumi.secret("anon-key") },
  });
  const [file] = spec.files!;
  expect(file.secret).toBe(true);
  const content = await new Promise<string>((resolve) => pulumi.output(file.content).apply(resolve));
  expect(YAML.parse(content).modules.http_2xx.http).toMatchObject({
    fail_if_not_ssl: true,
    headers: { apikey: "anon-key" },
  });
  const plain = blackboxExporterSpec("monitoring", { url: "http://kong:8000/api/v1/health" });
  expect(plain.files![0].secret).toBe(false);
  const plainContent = await new Promise<string>((resolve) => pulumi.output(plain.files![0].content).apply(resolve));
  expect(YAML.parse(plainContent).modules.http_2xx.http.fail_if_not_ssl).toBe(false);
});

test("the configured runbook base reaches every alert's runbook_url in Prometheus's rules file", () => {
  const base = "https://git.example.ca/team/northstack/blob/main/docs/runbooks.md";
  const spec = prometheusSpec("monitoring", "global: {}\n", {}, { runbookBase: base });
  const rules = YAML.parse(
    String(spec.files?.find((f) => f.path.endsWith(".yml") && f.path.includes("rules"))?.content),
  );
  const urls = (rules.groups as { rules: { alert?: string; annotations?: { runbook_url: string } }[] }[])
    .flatMap((g) => g.rules)
    .filter((r) => r.alert)
    .map((r) => r.annotations?.runbook_url);
  expect(urls.length).toBeGreaterThan(10);
  for (const url of urls) expect(url).toMatch(new RegExp(`^${base.replace(/[.]/g, "\\.")}#[a-z0-9]+$`));
});
