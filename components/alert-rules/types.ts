/** The shapes of rule specs and thresholds, shared by every group. */

/**
 * The only severities a rule carries, and what Alertmanager does with them: `critical` pages
 * (PagerDuty), `warning` goes to chat or mail.
 */
export const SEVERITIES = ["critical", "warning"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** The always-firing alert that proves the pipeline works; Alertmanager routes it apart. */
export const WATCHDOG = "Watchdog";

/**
 * Exporters that only some stacks run. An alert reading their metrics names them in `collectedBy`,
 * and is rendered only where all of them run; everything else (`up`, the services' own exporters,
 * the blackbox exporter) every stack collects.
 */
export const COLLECTORS = ["kube-state-metrics", "cadvisor", "kubelet", "node-exporter"] as const;
export type Collector = (typeof COLLECTORS)[number];

export interface AlertRuleSpec {
  /** Alert name, unique across groups; its runbook section is headed by it. Required. */
  readonly alert: string;
  /** PromQL; an alert fires for each series it returns. Required. */
  readonly expr: string;
  /** How long expr must hold before the alert fires. Required. */
  readonly for: string;
  /** Required. */
  readonly severity: Severity;
  /** One line for the notification title; may use $labels and $value. Required. */
  readonly summary: string;
  /** What is wrong and why it matters. Required. */
  readonly description: string;
  /** The collectors whose metrics the expression reads; without all of them it is not rendered. Default: none, every stack has its metrics. */
  readonly collectedBy?: readonly Collector[];
  /**
   * A warning this alert explains while it fires (Alertmanager inhibits it), matched on `equal` and
   * the stack. Default: none.
   */
  readonly inhibits?: { readonly alert: string; readonly equal: readonly string[] };
}

export interface RecordingRuleSpec {
  /** `level:metric:operations`, e.g. northstack:kong_request_error_ratio:rate5m. Required. */
  readonly record: string;
  /** Required. */
  readonly expr: string;
}

export interface RuleGroupSpec {
  /** `northstack-<component>`. Required. */
  readonly name: string;
  /** Evaluated before the group's alerts, which may read them in the same evaluation. Default: none. */
  readonly recording?: readonly RecordingRuleSpec[];
  /** Required. */
  readonly alerts: readonly AlertRuleSpec[];
}

export interface AlertThresholds {
  /** Fraction of 5xx responses on one route (gateway or API) that pages. Default: 0.05. */
  readonly errorRatio?: number;
  /** Requests per second a route needs before its error ratio can page. Default: 0.05 (3 a minute). */
  readonly minRequestRate?: number;
  /** p95 latency of one route, in ms, that warns. Default: 1000. */
  readonly latencyP95Ms?: number;
  /** Fraction of max_connections in use that warns. Default: 0.8. */
  readonly postgresConnectionRatio?: number;
  /** Fraction of Redis maxmemory in use that warns. Default: 0.9. */
  readonly redisMemoryRatio?: number;
  /** Days before a certificate expires that warn. Default: 21. */
  readonly certificateWarningDays?: number;
  /** Days before a certificate expires that page. Default: 7. */
  readonly certificateCriticalDays?: number;
}

/** Thresholds after defaults: what each group function reads. */
export type Thresholds = Required<AlertThresholds>;
