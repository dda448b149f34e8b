/**
 * The prometheus.yml and alert rules the prod stacks render, read back from their planned ConfigMap
 * and checked with promtool: node_exporter's job and its node alerts where it runs (AWS), neither on
 * GKE Autopilot (GCP).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import type { StackPlan } from "../../scripts/lib/plan";
import { sharedPlan } from "../helpers/shared-plan";
import { scratchDir } from "../helpers/scratch";

type Obj = Record<string, unknown>;

const tmp = scratchDir("cloud-prometheus");
const run = (...args: string[]) => {
  const r = spawnSync("promtool", args, { cwd: tmp, encoding: "utf8" });
  if (r.error) throw new Error(`promtool is not installed (bash .ci/run installs it): ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

/** prometheus.yml and the rules file from the plan's Prometheus ConfigMap. */
function prometheusFiles(plan: StackPlan): { config: string; rules: string } {
  const map = plan.resources.find(
    (r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name === "monitoring-prometheus-config",
  );
  if (!map) throw new Error("no Prometheus ConfigMap in the plan");
  const data = map.inputs.data as Record<string, string>;
  return { config: data["prometheus.yml"], rules: data["northstack.rules.yml"] };
}

/**
 * Debian's promtool is built without Kubernetes discovery (it rejects kubernetes_sd_configs), so each
 * such block becomes one static target; the relabelling, scheme, TLS and credentials stay as
 * rendered. The discovery blocks are asserted field by field in test/unit/cluster-metrics.test.ts.
 */
function checkable(config: string, rulesFile: string): string {
  const parsed = YAML.parse(config) as { rule_files: string[]; scrape_configs: Obj[] };
  parsed.rule_files = [rulesFile];
  for (const job of parsed.scrape_configs) {
    if (!job.kubernetes_sd_configs) continue;
    delete job.kubernetes_sd_configs;
    job.static_configs = [{ targets: ["10.0.0.1:9100"] }];
  }
  return YAML.stringify(parsed);
}

describe.each(["aws", "gcp"] as const)("prod on %s", (cloud) => {
  let files: { config: string; rules: string };
  beforeAll(async () => {
    files = prometheusFiles(await sharedPlan("prod", { "northstack:cloud": cloud }));
  }, 300_000);

  test("its prometheus.yml passes promtool check config, and its rules promtool check rules", () => {
    const rulesFile = path.join(tmp, `${cloud}.rules.yml`);
    fs.writeFileSync(rulesFile, files.rules);
    const configFile = path.join(tmp, `${cloud}.prometheus.yml`);
    fs.writeFileSync(configFile, checkable(files.config, rulesFile));
    // The ServiceAccount token and CA exist only inside the pod: the syntax, not the files.
    const config = run("check", "config", "--syntax-only", configFile);
    expect(config).toMatchObject({ code: 0 });
    expect(config.out).toContain("SUCCESS");
    const rules = run("check", "rules", rulesFile);
    expect(rules).toMatchObject({ code: 0 });
    const groups = YAML.parse(files.rules).groups as { rules: unknown[] }[];
    expect(rules.out).toContain(`SUCCESS: ${groups.reduce((n, g) => n + g.rules.length, 0)} rules found`);
    // promtool really checks: a relabel action it does not know fails.
    fs.writeFileSync(configFile, checkable(files.config, rulesFile).replace("action: keep", "action: retain"));
    expect(run("check", "config", "--syntax-only", configFile).code).not.toBe(0);
  });

  test("node_exporter is scraped, and the node alerts rendered, exactly where it runs", () => {
    const jobs = (YAML.parse(files.config).scrape_configs as { job_name: string }[]).map((j) => j.job_name);
    const alerts = (YAML.parse(files.rules).groups as { rules: { alert?: string }[] }[]).flatMap((g) =>
      g.rules.flatMap((r) => (r.alert ? [r.alert] : [])),
    );
    const nodeAlerts = ["NodeMemoryLow", "NodeFilesystemAlmostFull"];
    if (cloud === "aws") {
      expect(jobs).toContain("node-exporter");
      expect(alerts).toEqual(expect.arrayContaining(nodeAlerts));
    } else {
      expect(jobs).not.toContain("node-exporter");
      for (const a of nodeAlerts) expect(alerts).not.toContain(a);
    }
    // The cluster's own jobs run on both.
    expect(jobs).toEqual(expect.arrayContaining(["kube-state-metrics", "cadvisor", "kubelet"]));
  });
});
