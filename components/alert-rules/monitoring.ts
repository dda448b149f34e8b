/** The monitoring stack watching itself, and the Watchdog that proves notifications leave it. */
import { RuleGroupSpec, WATCHDOG } from "./types";

export function monitoringRules(): RuleGroupSpec {
  return {
    name: "northstack-monitoring",
    alerts: [
      {
        alert: WATCHDOG,
        expr: "vector(1)",
        for: "0m",
        severity: "warning",
        summary: "The alerting pipeline works",
        description:
          "Always firing, on purpose: a dead man's switch outside this stack raises the alarm when it stops arriving.",
      },
      {
        alert: "PrometheusRuleEvaluationFailures",
        expr: "sum by (rule_group) (increase(prometheus_rule_evaluation_failures_total[5m])) > 0",
        for: "5m",
        severity: "critical",
        summary: "Prometheus fails to evaluate rules in {{ $labels.rule_group }}",
        description: "Rules that fail to evaluate cannot fire: alerts in this group are blind.",
      },
      {
        alert: "PrometheusConfigReloadFailed",
        expr: "max_over_time(prometheus_config_last_reload_successful[5m]) == 0",
        for: "10m",
        severity: "warning",
        summary: "Prometheus could not load its configuration",
        description: "Prometheus keeps running on the previous configuration; the new one has an error.",
      },
      {
        alert: "PrometheusTsdbCompactionsFailing",
        expr: "increase(prometheus_tsdb_compactions_failed_total[3h]) > 0",
        for: "0m",
        severity: "warning",
        summary: "Prometheus failed {{ $value | humanize }} TSDB compactions in 3 hours",
        description:
          "Failed compactions grow the head block and the disk until Prometheus runs out of memory or space.",
      },
      {
        alert: "PrometheusNotConnectedToAlertmanagers",
        expr: "max_over_time(prometheus_notifications_alertmanagers_discovered[5m]) < 1",
        for: "10m",
        severity: "warning",
        summary: "Prometheus has no Alertmanager to send alerts to",
        description: "Alerts are evaluated but reach nobody; only the external dead man's switch notices.",
      },
      {
        alert: "AlertmanagerNotificationsFailing",
        expr:
          "sum by (integration) (rate(alertmanager_notifications_failed_total[5m]))" +
          " / sum by (integration) (rate(alertmanager_notifications_total[5m])) > 0.01",
        for: "5m",
        severity: "critical",
        summary:
          "Alertmanager fails to deliver {{ $value | humanizePercentage }} of {{ $labels.integration }} notifications",
        description: "Notifications through this integration do not arrive; the other receivers still get them.",
      },
      {
        alert: "LokiIngestionErrors",
        expr:
          'sum by (job) (rate(loki_request_duration_seconds_count{route=~"loki_api_v1_push|api_prom_push", status_code=~"5.."}[5m]))' +
          ' / sum by (job) (rate(loki_request_duration_seconds_count{route=~"loki_api_v1_push|api_prom_push"}[5m])) > 0.01',
        for: "10m",
        severity: "warning",
        summary: "Loki rejects {{ $value | humanizePercentage }} of log pushes",
        description: "Over 1% of pushes to Loki fail with a server error: logs are being lost.",
      },
    ],
  };
}
