/**
 * The alert rules as data: every alert is severe in a way Alertmanager routes, links to a runbook
 * section that exists and says what to check and what to do, and the renderer refuses ambiguity.
 * Whether each alert fires is tested with promtool in test/integration/monitoring.test.ts.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { SEVERITIES, alertRuleGroups } from "../../components/alert-rules";
import { renderAlertRules, runbookAnchor } from "../../components/monitoring-config";
import { headingAnchors, section } from "../helpers/markdown";

const runbooks = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "runbooks.md"), "utf8");

interface RenderedAlert {
  alert: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
const rendered = (text: string): RenderedAlert[] =>
  YAML.parse(text).groups.flatMap((g: { rules: { alert?: string }[] }) => g.rules.filter((r) => r.alert));
const alerts = rendered(renderAlertRules());

test("at least 30 alerts, grouped by component, each group with alerts", () => {
  const groups = alertRuleGroups();
  expect(groups.map((g) => g.name)).toEqual([
    "northstack-platform",
    "northstack-gateway",
    "northstack-api",
    "northstack-postgres",
    "northstack-backups",
    "northstack-redis",
    "northstack-monitoring",
  ]);
  for (const g of groups)
    expect({ group: g.name, alerts: g.alerts.length > 0 }).toEqual({ group: g.name, alerts: true });
  expect(alerts.length).toBeGreaterThanOrEqual(30);
});

test("every alert carries severity critical or warning and no other label", () => {
  for (const a of alerts) {
    expect({ alert: a.alert, labels: Object.keys(a.labels) }).toEqual({ alert: a.alert, labels: ["severity"] });
    expect(SEVERITIES).toContain(a.labels.severity);
  }
});

test("every alert's runbook_url points at a heading of docs/runbooks.md", () => {
  const anchors = headingAnchors(runbooks);
  for (const a of alerts) {
    expect(a.annotations.runbook_url).toBe(`docs/runbooks.md#${runbookAnchor(a.alert)}`);
    const anchor = a.annotations.runbook_url.split("#")[1];
    expect({ alert: a.alert, anchor, exists: anchors.has(anchor) }).toEqual({ alert: a.alert, anchor, exists: true });
  }
});

test("every alert's runbook section says what to check and what to do", () => {
  for (const a of alerts) {
    const text = section(runbooks, runbookAnchor(a.alert)) ?? "";
    expect({ alert: a.alert, check: /\*\*Check:\*\* \S/.test(text), do: /\*\*Do:\*\* \S/.test(text) }).toEqual({
      alert: a.alert,
      check: true,
      do: true,
    });
  }
});

test("the Alerts part of the runbooks has a section for no alert that does not exist", () => {
  const alertsPart = section(runbooks, "alerts") ?? "";
  const documented = [...alertsPart.matchAll(/^#### (\S+)$/gm)].map((m) => m[1]);
  expect(documented.sort()).toEqual(alerts.map((a) => a.alert).sort());
});

test("the section finder stops at the next heading of the same level", () => {
  const md = "## A\n### b\ntext b\n#### c\ntext c\n### d\ntext d\n## E\n";
  expect(section(md, "b")).toBe("text b\n#### c\ntext c");
  expect(section(md, "missing")).toBeUndefined();
});

test("thresholds reach the expressions, and the runbook base is configurable", () => {
  const custom = rendered(
    renderAlertRules({ errorRatio: 0.1, latencyP95Ms: 250, runbookBase: "https://example.ca/runbooks" }),
  );
  const byName = (name: string) => custom.find((a) => a.alert === name) as RenderedAlert & { expr: string };
  expect(byName("GatewayHighErrorRatio").expr).toContain("> 0.1 and");
  expect(byName("GatewayHighLatency").expr).toMatch(/> 250$/);
  expect(byName("ApiHighLatency").expr).toMatch(/> 0.25$/);
  expect(byName("TargetDown").annotations.runbook_url).toBe("https://example.ca/runbooks#targetdown");
});

test("a group or alert name defined twice is refused", () => {
  const again = { name: "extra", alerts: [{ ...alertRuleGroups()[0].alerts[0] }] };
  expect(() => renderAlertRules({ extraGroups: [again] })).toThrow(
    'alert rules: "TargetDown" is defined twice; names must be unique',
  );
  expect(() => renderAlertRules({ extraGroups: [{ name: "northstack-redis", alerts: [] }] })).toThrow(
    /"northstack-redis" is defined twice/,
  );
});

test("an alert that inhibits an alert that does not exist is refused", () => {
  const orphan = {
    name: "extra",
    alerts: [{ ...alertRuleGroups()[0].alerts[0], alert: "Extra", inhibits: { alert: "Nothing", equal: [] } }],
  };
  expect(() => renderAlertRules({ extraGroups: [orphan] })).toThrow(
    'alert rules: Extra inhibits "Nothing", which is no alert; name an alert it explains',
  );
});

test("error ratios take rate() per series before summing, so per-pod counters never mix", () => {
  for (const g of alertRuleGroups())
    for (const rule of [...(g.recording ?? []), ...g.alerts]) {
      // A sum inside rate()/increase() would need a subquery; the rules never aggregate before rating.
      expect(rule.expr).not.toMatch(/(rate|increase)\(\s*sum/);
      expect(rule.expr).not.toMatch(/\)\[\d+[smh]:/);
    }
});
