import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { dashboardQueries } from "../../components/dashboards";
import { kubeletScrapeJobs } from "../../components/cluster-metrics";
import {
  AlertmanagerConfigArgs,
  GATEWAY_PROBE_MODULE,
  SEVERITIES,
  renderAlertRules,
  renderAlertmanagerConfig,
  renderAlertmanagerTemplates,
  renderBlackboxConfig,
  renderGrafanaDashboardProvider,
  renderGrafanaDatasources,
  renderLokiConfig,
  renderPrometheusConfig,
} from "../../components/monitoring-config";
import { substituteVariables } from "../helpers/dashboards";
import { scratchDir } from "../helpers/scratch";

const tmp = scratchDir("monitoring");
const write = (name: string, content: string) => {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, content);
  return file;
};
const run = (cmd: string, ...args: string[]) => {
  const r = spawnSync(cmd, args, { cwd: tmp, encoding: "utf8" });
  if (r.error) throw new Error(`${cmd} is not installed (bash .ci/run installs it): ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

interface RuleGroup {
  name: string;
  rules: { alert?: string; record?: string; labels?: { severity: string } }[];
}
const rulesFile = write("rules.yml", renderAlertRules());
const groups = YAML.parse(fs.readFileSync(rulesFile, "utf8")).groups as RuleGroup[];
const alertRules = groups.flatMap((g) => g.rules.filter((r) => r.alert !== undefined)) as {
  alert: string;
  labels: { severity: string };
}[];
// Each group also on its own, `<group name>.rules.yml`, for the promtool cases: promtool evaluates
// every rule it loads at every step of a case, and the backup age cases run 28 simulated hours.
const groupFile = (name: string) => `${name}.rules.yml`;
for (const g of groups) write(groupFile(g.name), YAML.stringify({ groups: [g] }));

/** The promtool test files, one or more per rule group; each names its group's rules file, written beside it. */
const fixturesDir = path.join(__dirname, "promtool");
const fixtures = fs.readdirSync(fixturesDir).filter((f) => f.endsWith(".test.yml"));
for (const f of fixtures) fs.copyFileSync(path.join(fixturesDir, f), path.join(tmp, f));

interface AlertCase {
  alertname: string;
  exp_alerts?: unknown[];
}
interface Fixture {
  rule_files: string[];
  tests: { alert_rule_test?: AlertCase[] }[];
}
const fixtureOf = (f: string) => YAML.parse(fs.readFileSync(path.join(fixturesDir, f), "utf8")) as Fixture;
const cases: AlertCase[] = fixtures.flatMap((f) => fixtureOf(f).tests.flatMap((t) => t.alert_rule_test ?? []));
const firing = new Set(cases.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => c.alertname));
const quiet = new Set(cases.filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => c.alertname));

test("prometheus.yml passes promtool check config, rules included", () => {
  const config = renderPrometheusConfig({
    stack: "dev",
    jobs: [
      { job: "api", targets: ["api:8080"] },
      { job: "kong", targets: ["kong:8100"] },
      { job: "postgres", targets: ["postgres-exporter:9187"] },
    ],
    alertmanager: "alertmanager:9093",
    ruleFile: rulesFile,
  });
  const result = run("promtool", "check", "config", write("prometheus.yml", config));
  expect(result).toMatchObject({ code: 0 });
  expect(result.out).toContain("SUCCESS");
  // promtool really checks: a broken scrape interval fails.
  expect(
    run(
      "promtool",
      "check",
      "config",
      write("broken.yml", config.replace("scrape_interval: 15s", "scrape_interval: fast")),
    ).code,
  ).not.toBe(0);
});

test("the per-replica scrape configs of both runtimes pass promtool check config", () => {
  const config = renderPrometheusConfig({
    stack: "prod",
    jobs: [
      // Docker: each replica's container.
      { job: "api", targets: ["northstack-dev-api-1:8080", "northstack-dev-api-2:8080"], labels: { workload: "api" } },
      // Kubernetes: every pod behind a headless Service.
      {
        job: "kong",
        dns: { names: ["kong-metrics.northstack-prod.svc.cluster.local"], port: 8100 },
        labels: { workload: "kong", namespace: "northstack-prod" },
      },
    ],
    alertmanager: "alertmanager:9093",
    ruleFile: rulesFile,
  });
  const result = run("promtool", "check", "config", write("per-replica.yml", config));
  expect(result).toMatchObject({ code: 0 });
  expect(result.out).toContain("SUCCESS");
  // promtool really reads the discovery: a record type it does not know fails.
  expect(
    run("promtool", "check", "config", write("bad-dns.yml", config.replace("type: A", "type: CNAME"))).code,
  ).not.toBe(0);
});

test("the Kubernetes stacks' cluster jobs (kube-state-metrics, the kubelets through the API server) pass promtool check config", () => {
  const config = renderPrometheusConfig({
    stack: "prod",
    jobs: [
      {
        job: "kube-state-metrics",
        dns: { names: ["monitoring-kube-state-metrics-metrics.northstack-prod.svc.cluster.local"], port: 8080 },
        labels: { workload: "monitoring-kube-state-metrics", namespace: "northstack-prod" },
        honorLabels: true,
      },
    ],
    kubeletJobs: kubeletScrapeJobs("northstack-prod"),
    alertmanager: "alertmanager:9093",
    ruleFile: rulesFile,
  });
  // Debian's promtool is built without Kubernetes discovery (it rejects kubernetes_sd_configs as an
  // unknown field), so the discovery is swapped for a static node address; the scheme, TLS,
  // credentials, relabelling and metric filters promtool checks are the rendered ones. The discovery
  // block itself is asserted field by field in test/unit/cluster-metrics.test.ts.
  expect(config.match(/kubernetes_sd_configs:\n\s+- role: node\n/g)).toHaveLength(2);
  const checkable = config.replace(
    /kubernetes_sd_configs:\n(\s+)- role: node\n/g,
    "static_configs:\n$1- targets: [10.0.0.1:10250]\n",
  );
  // The ServiceAccount token and CA exist only inside the pod: check the syntax, not the files.
  const result = run("promtool", "check", "config", "--syntax-only", write("cluster.yml", checkable));
  expect(result).toMatchObject({ code: 0 });
  expect(result.out).toContain("SUCCESS");
  // promtool really checks the relabelling: an action it does not know fails.
  expect(
    run(
      "promtool",
      "check",
      "config",
      "--syntax-only",
      write("bad-action.yml", checkable.replace("action: keep", "action: retain")),
    ).code,
  ).not.toBe(0);
});

test("the gateway probe's blackbox config passes prometheus-blackbox-exporter --config.check", () => {
  const check = (name: string, content: string) =>
    run("prometheus-blackbox-exporter", "--config.check", `--config.file=${write(name, content)}`);
  const withKey = renderBlackboxConfig({ requireTls: true, headers: { apikey: "anon-key" } });
  expect(YAML.parse(withKey).modules[GATEWAY_PROBE_MODULE].http).toMatchObject({
    fail_if_not_ssl: true,
    follow_redirects: false,
    headers: { apikey: "anon-key" },
  });
  for (const [name, content] of [
    ["blackbox.yml", withKey],
    ["blackbox-plain.yml", renderBlackboxConfig()],
  ]) {
    const result = check(name, content);
    expect({ name, ...result }).toMatchObject({ name, code: 0 });
    expect(result.out).toContain("Config file is ok");
  }
  // The check is real: a misspelt field or a bad timeout fails.
  expect(check("misspelt.yml", withKey.replace("fail_if_not_ssl", "fail_if_no_ssl")).code).not.toBe(0);
  expect(check("timeout.yml", withKey.replace("timeout: 10s", "timeout: soon")).code).not.toBe(0);
});

test("the gateway probe job passes promtool and asks the exporter about the public URL", () => {
  const config = renderPrometheusConfig({
    stack: "prod",
    jobs: [],
    probes: [
      {
        job: "gateway-probe",
        exporter: "monitoring-blackbox-exporter:9115",
        module: GATEWAY_PROBE_MODULE,
        targets: ["https://api.example.ca/api/v1/health"],
      },
    ],
    alertmanager: "alertmanager:9093",
    ruleFile: rulesFile,
  });
  expect(run("promtool", "check", "config", write("probe.yml", config))).toMatchObject({ code: 0 });
  const job = YAML.parse(config).scrape_configs.find((c: { job_name: string }) => c.job_name === "gateway-probe");
  expect(job).toMatchObject({ metrics_path: "/probe", params: { module: [GATEWAY_PROBE_MODULE] } });
  // The URL becomes the probe's target and its instance; the exporter is only where Prometheus asks.
  expect(job.relabel_configs).toEqual([
    { source_labels: ["__address__"], target_label: "__param_target" },
    { source_labels: ["__param_target"], target_label: "instance" },
    { target_label: "__address__", replacement: "monitoring-blackbox-exporter:9115" },
  ]);
});

test("a job whose targets demand a bearer token reads it from a file, and passes promtool check config", () => {
  const tokenFile = write("supabase-realtime.token", "header.payload.signature");
  const render = (bearerTokenFile: string) =>
    renderPrometheusConfig({
      stack: "dev",
      jobs: [
        { job: "api", targets: ["api:8080"] },
        { job: "supabase-realtime", targets: ["supabase-realtime:4000"], bearerTokenFile },
      ],
      alertmanager: "alertmanager:9093",
      ruleFile: rulesFile,
    });
  const config = render(tokenFile);
  const jobs: { job_name: string; authorization?: unknown }[] = YAML.parse(config).scrape_configs;
  expect(jobs.find((j) => j.job_name === "supabase-realtime")?.authorization).toEqual({
    type: "Bearer",
    credentials_file: tokenFile,
  });
  expect(jobs.filter((j) => j.authorization !== undefined).map((j) => j.job_name)).toEqual(["supabase-realtime"]);
  // The token itself is never in prometheus.yml.
  expect(config).not.toContain("header.payload.signature");
  const result = run("promtool", "check", "config", write("bearer.yml", config));
  expect(result).toMatchObject({ code: 0 });
  expect(result.out).toContain("SUCCESS");
  // promtool really reads the block: a credentials file that does not exist fails it.
  expect(
    run("promtool", "check", "config", write("bearer-missing.yml", render(path.join(tmp, "absent.token")))).code,
  ).not.toBe(0);
  expect(() => render("relative.token")).toThrow(/bearerTokenFile "relative.token" is relative; give an absolute path/);
});

test("duplicate or empty scrape jobs are rejected by the renderer", () => {
  expect(() =>
    renderPrometheusConfig({
      stack: "x",
      jobs: [
        { job: "a", targets: ["a:1"] },
        { job: "a", targets: ["b:1"] },
      ],
      alertmanager: "am:9093",
    }),
  ).toThrow(/listed twice/);
  expect(() =>
    renderPrometheusConfig({ stack: "x", jobs: [{ job: "a", targets: [] }], alertmanager: "am:9093" }),
  ).toThrow(/no targets/);
});

test("alert rules pass promtool check rules", () => {
  const result = run("promtool", "check", "rules", rulesFile);
  expect(result).toMatchObject({ code: 0 });
  const groups = YAML.parse(fs.readFileSync(rulesFile, "utf8")).groups as { rules: unknown[] }[];
  const total = groups.reduce((n, g) => n + g.rules.length, 0);
  expect(result.out).toContain(`SUCCESS: ${total} rules found`);
  expect(alertRules.length).toBeGreaterThanOrEqual(30);
});

test.each(fixtures)("promtool test rules %s: every case fires or stays quiet as written", (fixture) => {
  const result = run("promtool", "test", "rules", fixture);
  expect(result.out).toContain("SUCCESS");
  expect(result.code).toBe(0);
});

test("every alerting rule has a promtool case that fires it, and every case names a rule that exists", () => {
  const names = alertRules.map((r) => r.alert);
  expect(names.filter((name) => !firing.has(name))).toEqual([]);
  expect(cases.map((c) => c.alertname).filter((name) => !names.includes(name))).toEqual([]);
});

test("each promtool test file loads one group's rules, and names only that group's alerts", () => {
  // A case naming an alert its file does not load would pass "stays quiet" without testing anything.
  const loaded = fixtures.map((f) => {
    const { rule_files: files, tests } = fixtureOf(f);
    const group = groups.find((g) => files.length === 1 && files[0] === groupFile(g.name));
    const alerts = new Set(group?.rules.map((r) => r.alert));
    const names = tests.flatMap((t) => t.alert_rule_test ?? []).map((c) => c.alertname);
    return { f, files, group: group?.name, elsewhere: names.filter((n) => !alerts.has(n)) };
  });
  for (const l of loaded) expect(l).toEqual({ ...l, group: expect.any(String), elsewhere: [] });
  const withAlerts = groups.filter((g) => g.rules.some((r) => r.alert !== undefined)).map((g) => g.name);
  // A group's cases may span files (backups: minute-scale and day-scale, at different evaluation intervals).
  expect([...new Set(loaded.map((l) => l.group))].sort()).toEqual([...withAlerts].sort());
});

test("every critical alert also has a promtool case where it stays quiet", () => {
  const critical = alertRules.filter((r) => r.labels.severity === "critical").map((r) => r.alert);
  expect(critical.length).toBeGreaterThan(5);
  expect(critical.filter((name) => !quiet.has(name))).toEqual([]);
});

test("the coverage check reports a rule without a firing case", () => {
  const rendered = renderAlertRules({
    extraGroups: [
      {
        name: "northstack-extra",
        alerts: [
          { alert: "Untested", expr: "vector(1)", for: "0m", severity: "warning", summary: "s", description: "d" },
        ],
      },
    ],
  });
  const names: string[] = YAML.parse(rendered).groups.flatMap((g: { rules: { alert?: string }[] }) =>
    g.rules.flatMap((r) => (r.alert ? [r.alert] : [])),
  );
  expect(names.filter((name) => !firing.has(name))).toEqual(["Untested"]);
});

test("a wrong expectation makes promtool fail, so the fixtures really run", () => {
  const broken = fs
    .readFileSync(path.join(fixturesDir, "redis.test.yml"), "utf8")
    .replace(
      'redis_up{job="redis-exporter",instance="redis-exporter:9121"}\', values: "0x5"',
      'redis_up{job="redis-exporter",instance="redis-exporter:9121"}\', values: "1x5"',
    );
  expect(broken).not.toBe(fs.readFileSync(path.join(fixturesDir, "redis.test.yml"), "utf8"));
  const result = run("promtool", "test", "rules", write("broken.test.yml", broken));
  expect(result.code).not.toBe(0);
  expect(result.out).toContain("alertname: RedisDown");
});

const PAGERDUTY = { pagerduty: { routingKey: "0123456789abcdef0123456789abcdef" } };
const SLACK = { slack: { webhookUrl: "https://hooks.slack.com/services/T0/B0/x", channel: "#oncall" } };
const EMAIL = {
  email: {
    to: "oncall@example.ca",
    from: "alertmanager@example.ca",
    smarthost: "smtp.example.ca:587",
    password: "smtp-password",
  },
};
const WEBHOOK = { webhookUrl: "https://hooks.example.ca/alerts" };
const DEAD_MANS_SWITCH = { deadMansSwitchUrl: "https://hc-ping.example.ca/0123" };

/** Receivers (comma-separated, in order) amtool routes alerts with these labels to. */
const routesTo = (config: AlertmanagerConfigArgs, labels: Record<string, string>) => {
  const file = write("routes-am.yml", renderAlertmanagerConfig(config));
  const result = run(
    "amtool",
    "config",
    "routes",
    "test",
    `--config.file=${file}`,
    ...Object.entries(labels).map(([k, v]) => `${k}=${v}`),
  );
  expect({ labels, code: result.code }).toEqual({ labels, code: 0 });
  return result.out.replace(/^Warning: .*\n/gm, "").trim();
};

const templatesPath = write("northstack.tmpl", renderAlertmanagerTemplates());

test("alertmanager.yml passes amtool check-config, notification templates included, with every combination of receivers, and without any", () => {
  const parts = [PAGERDUTY, SLACK, EMAIL, WEBHOOK, DEAD_MANS_SWITCH];
  for (let mask = 0; mask < 1 << parts.length; mask++) {
    const config: AlertmanagerConfigArgs = Object.assign({ templatesPath }, ...parts.filter((_, i) => mask & (1 << i)));
    const result = run("amtool", "check-config", write("alertmanager.yml", renderAlertmanagerConfig(config)));
    expect({ mask, out: result.out, code: result.code }).toEqual({
      mask,
      out: expect.stringMatching(/1 templates[\s\S]*SUCCESS/),
      code: 0,
    });
  }
  expect(
    run("amtool", "check-config", write("bad-am.yml", "route:\n  receiver: nobody\nreceivers: []\n")).code,
  ).not.toBe(0);
});

test("amtool check-config parses the templates file: a broken template fails it", () => {
  const broken = write("broken.tmpl", renderAlertmanagerTemplates().replace("toUpper", "noSuchFunction"));
  const result = run(
    "amtool",
    "check-config",
    write("broken-am.yml", renderAlertmanagerConfig({ ...SLACK, templatesPath: broken })),
  );
  expect(result.code).not.toBe(0);
  expect(result.out).toContain("noSuchFunction");
});

/** Alertmanager's notification data for one firing alert of the real rules, its annotations as Prometheus sends them. */
function notificationData(alertname: string, runbookBase?: string) {
  const rules = YAML.parse(renderAlertRules({ runbookBase })).groups.flatMap((g: { rules: object[] }) => g.rules);
  const rule = rules.find((r: { alert?: string }) => r.alert === alertname);
  const labels = { alertname, stack: "prod", severity: rule.labels.severity, instance: "db:9187" };
  const alert = {
    status: "firing",
    labels,
    annotations: rule.annotations,
    startsAt: "2026-12-03T10:00:00Z",
    endsAt: "0001-01-01T00:00:00Z",
    generatorURL: "http://prometheus:9090/graph",
    fingerprint: "0123456789abcdef",
  };
  return {
    annotations: rule.annotations as { summary: string; description: string; runbook_url: string },
    data: write(
      `data-${alertname}-${runbookBase ? "url" : "path"}.json`,
      JSON.stringify({
        receiver: "slack",
        status: "firing",
        alerts: [alert],
        groupLabels: { alertname, stack: "prod" },
        commonLabels: labels,
        commonAnnotations: rule.annotations,
        externalURL: "http://alertmanager:9093",
      }),
    ),
  };
}

/** A receiver field of the rendered alertmanager.yml, rendered by amtool with the real templates and data. */
function renderField(template: string, data: string): string {
  const result = run(
    "amtool",
    "template",
    "render",
    `--template.glob=${templatesPath}`,
    `--template.data=${data}`,
    `--template.text=${template}`,
  );
  expect({ template, code: result.code, out: result.out }).toEqual({ template, code: 0, out: expect.any(String) });
  return result.out;
}

test("amtool renders Slack, email and PagerDuty notifications with the alert's summary, description and runbook link", () => {
  const base = "https://git.example.ca/team/northstack/blob/main/docs/runbooks.md";
  const { annotations, data } = notificationData("PostgresDown", base);
  expect(annotations.runbook_url).toBe(`${base}#postgresdown`);
  const am = YAML.parse(renderAlertmanagerConfig({ ...PAGERDUTY, ...SLACK, ...EMAIL, templatesPath }));
  const receiver = (name: string) => am.receivers.find((r: { name: string }) => r.name === name);
  const slack = receiver("slack").slack_configs[0];
  const email = receiver("email").email_configs[0];
  const pagerduty = receiver("pagerduty").pagerduty_configs[0];

  expect(renderField(slack.title, data)).toBe("[FIRING:1] PostgresDown (prod)");
  expect(renderField(slack.title_link, data)).toBe(annotations.runbook_url);
  for (const body of [
    renderField(slack.text, data),
    renderField(email.text, data),
    renderField(pagerduty.details.alerts, data),
  ]) {
    expect(body).toContain(annotations.summary);
    expect(body).toContain(annotations.description);
    expect(body).toContain(`Runbook: ${annotations.runbook_url}`);
  }
  expect(renderField(email.headers.Subject, data)).toBe("[FIRING:1] PostgresDown (prod)");
  const html = renderField(email.html, data);
  expect(html).toContain(`<a href="${annotations.runbook_url}">`);
  expect(html).toContain(annotations.description);
  expect(renderField(pagerduty.description, data)).toBe("[FIRING:1] PostgresDown (prod)");
  expect(renderField(pagerduty.links[0].href, data)).toBe(annotations.runbook_url);
  expect(renderField(pagerduty.details.runbook_url, data)).toBe(annotations.runbook_url);
});

test("amtool: a runbook that is a repository path is shown as text and never made a link", () => {
  const { annotations, data } = notificationData("RedisDown");
  expect(annotations.runbook_url).toBe("docs/runbooks.md#redisdown");
  const am = YAML.parse(renderAlertmanagerConfig({ ...PAGERDUTY, ...SLACK, ...EMAIL, templatesPath }));
  const receiver = (name: string) => am.receivers.find((r: { name: string }) => r.name === name);
  // An empty link: Slack shows a plain title, and PagerDuty drops a link whose href is empty.
  expect(renderField(receiver("slack").slack_configs[0].title_link, data)).toBe("");
  expect(renderField(receiver("pagerduty").pagerduty_configs[0].links[0].href, data)).toBe("");
  expect(renderField(receiver("slack").slack_configs[0].text, data)).toContain("Runbook: docs/runbooks.md#redisdown");
  expect(renderField(receiver("email").email_configs[0].html, data)).not.toContain("<a href");
});

test("amtool routes critical alerts to PagerDuty and warnings to Slack and email, the webhook getting both", () => {
  const all = { ...PAGERDUTY, ...SLACK, ...EMAIL, ...WEBHOOK };
  expect(routesTo(all, { alertname: "PostgresDown", severity: "critical", stack: "prod" })).toBe("pagerduty,webhook");
  expect(routesTo(all, { alertname: "GatewayHighLatency", severity: "warning", stack: "prod" })).toBe(
    "slack,email,webhook",
  );
  expect(routesTo({ ...PAGERDUTY, ...SLACK }, { severity: "critical" })).toBe("pagerduty");
  expect(routesTo({ ...PAGERDUTY, ...SLACK }, { severity: "warning" })).toBe("slack");
  expect(routesTo({ ...PAGERDUTY, ...EMAIL }, { severity: "warning" })).toBe("email");
});

test("amtool: without PagerDuty critical alerts go to chat and mail; with only PagerDuty warnings go there", () => {
  expect(routesTo({ ...SLACK, ...EMAIL }, { severity: "critical" })).toBe("slack,email");
  expect(routesTo(EMAIL, { severity: "critical" })).toBe("email");
  expect(routesTo(PAGERDUTY, { severity: "warning" })).toBe("pagerduty");
  expect(routesTo(WEBHOOK, { severity: "critical" })).toBe("webhook");
  expect(routesTo(WEBHOOK, { severity: "warning" })).toBe("webhook");
  // A severity outside SEVERITIES still reaches where warnings go.
  expect(routesTo({ ...PAGERDUTY, ...SLACK }, { severity: "info" })).toBe("slack");
  // With no receiver (dev) alerts stay in Alertmanager.
  expect(routesTo({}, { severity: "critical" })).toBe("none");
});

test("every receiver a route names has a config; critical routes repeat hourly; grouping and throttling are set", () => {
  for (const config of [{ ...PAGERDUTY, ...SLACK, ...EMAIL, ...WEBHOOK }, SLACK, EMAIL, PAGERDUTY, WEBHOOK]) {
    const am = YAML.parse(renderAlertmanagerConfig(config));
    const configured = am.receivers.map((r: { name: string }) => r.name);
    const routed = [am.route.receiver, ...am.route.routes.map((r: { receiver: string }) => r.receiver)];
    for (const receiver of am.receivers)
      expect(Object.keys(receiver).filter((k) => k.endsWith("_configs"))).toHaveLength(1);
    expect(configured.sort()).toEqual([...new Set(routed)].sort());
    expect(am.route).toMatchObject({
      group_by: ["alertname", "stack"],
      group_wait: "30s",
      group_interval: "5m",
      repeat_interval: "4h",
    });
    for (const route of am.route.routes.filter((r: { matchers?: string[] }) =>
      r.matchers?.includes('severity="critical"'),
    ))
      expect(route.repeat_interval).toBe("1h");
  }
  const am = YAML.parse(renderAlertmanagerConfig({ ...PAGERDUTY, ...SLACK, ...EMAIL }));
  const byName = (name: string) => am.receivers.find((r: { name: string }) => r.name === name);
  expect(byName("pagerduty").pagerduty_configs[0].routing_key).toBe(PAGERDUTY.pagerduty.routingKey);
  expect(byName("slack").slack_configs[0]).toMatchObject({ api_url: SLACK.slack.webhookUrl, channel: "#oncall" });
  expect(byName("email").email_configs[0]).toMatchObject({
    to: "oncall@example.ca",
    from: "alertmanager@example.ca",
    smarthost: "smtp.example.ca:587",
    require_tls: true,
    send_resolved: true,
    auth_username: "alertmanager@example.ca",
    auth_password: "smtp-password",
  });
});

test("a critical alert inhibits the warning of the same alertname and stack; a database or cache down inhibits its warnings", () => {
  const inhibit = YAML.parse(renderAlertmanagerConfig(SLACK)).inhibit_rules;
  expect(inhibit).toContainEqual({
    source_matchers: ['severity="critical"'],
    target_matchers: ['severity="warning"'],
    equal: ["alertname", "stack"],
  });
  expect(inhibit).toContainEqual(
    expect.objectContaining({
      source_matchers: ['alertname="PostgresDown"'],
      target_matchers: ['alertname=~"Postgres.+"', 'severity="warning"'],
    }),
  );
  expect(inhibit).toContainEqual(
    expect.objectContaining({
      source_matchers: ['alertname="RedisDown"'],
      target_matchers: ['alertname=~"Redis.+"', 'severity="warning"'],
    }),
  );
  for (const rule of inhibit) expect(rule.equal).toContain("stack");
});

test("every alert rule carries a severity Alertmanager routes, and both severities are used", () => {
  const severities = new Set(alertRules.map((r) => r.labels.severity));
  expect([...severities].sort()).toEqual([...SEVERITIES].sort());
  for (const severity of SEVERITIES) expect(routesTo({ ...PAGERDUTY, ...SLACK }, { severity })).not.toBe("");
});

test("amtool: the Watchdog goes to the dead man's switch alone, and never pages", () => {
  const watchdog = { alertname: "Watchdog", severity: "warning", stack: "prod" };
  const all = { ...PAGERDUTY, ...SLACK, ...EMAIL, ...WEBHOOK };
  expect(routesTo({ ...all, ...DEAD_MANS_SWITCH }, watchdog)).toBe("deadmansswitch");
  expect(routesTo({ ...PAGERDUTY, ...DEAD_MANS_SWITCH }, watchdog)).toBe("deadmansswitch");
  // Other alerts never reach the dead man's switch.
  expect(routesTo({ ...all, ...DEAD_MANS_SWITCH }, { alertname: "PostgresDown", severity: "critical" })).toBe(
    "pagerduty,webhook",
  );
  // Without one, a daily message in chat or mail, else the webhook, else PagerDuty: never a silent receiver.
  expect(routesTo(all, watchdog)).toBe("slack");
  expect(routesTo({ ...PAGERDUTY, ...EMAIL }, watchdog)).toBe("email");
  expect(routesTo({ ...PAGERDUTY, ...WEBHOOK }, watchdog)).toBe("webhook");
  expect(routesTo(PAGERDUTY, watchdog)).toBe("pagerduty");
  expect(routesTo({}, watchdog)).toBe("none");
  const am = YAML.parse(renderAlertmanagerConfig({ ...all, ...DEAD_MANS_SWITCH }));
  expect(am.route.routes[0]).toEqual({
    matchers: ['alertname="Watchdog"'],
    receiver: "deadmansswitch",
    group_wait: "0s",
    group_interval: "1m",
    repeat_interval: "5m",
  });
  expect(YAML.parse(renderAlertmanagerConfig(all)).route.routes[0]).toMatchObject({ repeat_interval: "24h" });
  expect(am.receivers.find((r: { name: string }) => r.name === "deadmansswitch").webhook_configs).toEqual([
    { url: DEAD_MANS_SWITCH.deadMansSwitchUrl, send_resolved: false },
  ]);
});

test("a critical alert inhibits the warning that escalates to it, on the same labels", () => {
  const inhibit = YAML.parse(renderAlertmanagerConfig(SLACK)).inhibit_rules;
  expect(inhibit).toContainEqual({
    source_matchers: ['alertname="JobDown"'],
    target_matchers: ['alertname="TargetDown"'],
    equal: ["job", "stack"],
  });
  const names = new Map(alertRules.map((r) => [r.alert, r.labels.severity]));
  for (const rule of inhibit.filter((r: { source_matchers: string[] }) =>
    r.source_matchers[0].startsWith("alertname="),
  ))
    for (const matcher of [...rule.source_matchers, ...rule.target_matchers].filter((m: string) =>
      m.startsWith('alertname="'),
    ))
      expect({ matcher, exists: names.has(matcher.slice(11, -1)) }).toEqual({ matcher, exists: true });
});

test("every dashboard's PromQL passes promtool (as recording rules, template variables given sample values)", () => {
  const exprs = dashboardQueries({ stack: "dev" })
    .filter((q) => q.datasource === "prometheus")
    .map((q) => substituteVariables(q.expr));
  expect(exprs.length).toBeGreaterThan(60);
  const asRules = {
    groups: [{ name: "dashboards", rules: exprs.map((expr, i) => ({ record: `dashboard:panel${i}`, expr })) }],
  };
  const result = run("promtool", "check", "rules", write("dashboard-rules.yml", YAML.stringify(asRules)));
  expect(result).toMatchObject({ code: 0 });
  // The same check refuses a broken query, so a pass means something.
  const broken = { groups: [{ name: "broken", rules: [{ record: "dashboard:broken", expr: "sum(rate(x[1m])" }] }] };
  expect(run("promtool", "check", "rules", write("broken-rules.yml", YAML.stringify(broken))).code).not.toBe(0);
});

test("Grafana provisioning and Loki config have the expected shape", () => {
  const ds = YAML.parse(
    renderGrafanaDatasources({ prometheusUrl: "http://prometheus:9090", lokiUrl: "http://loki:3100" }),
  );
  expect(ds.datasources.map((d: { type: string }) => d.type)).toEqual(["prometheus", "loki"]);
  expect(ds.datasources.filter((d: { isDefault?: boolean }) => d.isDefault)).toHaveLength(1);
  expect(YAML.parse(renderGrafanaDashboardProvider()).providers[0].options.path).toBe("/etc/grafana/dashboards");
  const loki = YAML.parse(renderLokiConfig({ retentionDays: 7 }));
  expect(loki.limits_config.retention_period).toBe("168h");
  expect(loki.compactor.retention_enabled).toBe(true);
  expect(loki.auth_enabled).toBe(false);
});
