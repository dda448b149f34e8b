/**
 * The alerting and recording rules, as data grouped by component; monitoring-config.ts renders them
 * into the Prometheus rules file. Every alert has a firing case in test/integration/promtool/ and a
 * runbook section in docs/runbooks.md named after it (lower-cased).
 *
 * Metric names are those of the exporters the stacks run: kube-state-metrics and the kubelet's
 * cAdvisor (Kubernetes), node_exporter, the blackbox exporter, Kong 3.8's prometheus plugin,
 * postgres_exporter v0.16, redis_exporter v1.66, the reference API (app/src/metrics.ts), and
 * Prometheus, Alertmanager and Loki themselves. A rule that reads an exporter only some stacks run
 * names it in `collectedBy`, and renderAlertRules leaves it out where that exporter does not run
 * (kube-state-metrics on Docker, node_exporter on GKE Autopilot), so no alert waits on series that
 * can never come.
 */
import { BACKUP_ALERT_GROUP } from "../backup-alerts";
import { postgresRules, redisRules } from "./data";
import { monitoringRules } from "./monitoring";
import { platformRules } from "./platform";
import { apiRules, gatewayRules } from "./traffic";
import { AlertThresholds, RuleGroupSpec, Thresholds } from "./types";

export { RECORDED } from "./traffic";
export * from "./types";

/** Every rule group, platform first; thresholds fall back to their documented defaults. */
export function alertRuleGroups(thresholds: AlertThresholds = {}): RuleGroupSpec[] {
  const t: Thresholds = {
    errorRatio: thresholds.errorRatio ?? 0.05,
    minRequestRate: thresholds.minRequestRate ?? 0.05,
    latencyP95Ms: thresholds.latencyP95Ms ?? 1000,
    postgresConnectionRatio: thresholds.postgresConnectionRatio ?? 0.8,
    redisMemoryRatio: thresholds.redisMemoryRatio ?? 0.9,
    certificateWarningDays: thresholds.certificateWarningDays ?? 21,
    certificateCriticalDays: thresholds.certificateCriticalDays ?? 7,
  };
  return [
    platformRules(t),
    gatewayRules(t),
    apiRules(t),
    postgresRules(t),
    BACKUP_ALERT_GROUP,
    redisRules(t),
    monitoringRules(),
  ];
}
