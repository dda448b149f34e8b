/**
 * Request traffic at the gateway (Kong 3.8's prometheus plugin, the blackbox probe) and in the API
 * (app/src/metrics.ts), with the recorded series dashboards share. Counters come one series per
 * pod: every ratio takes rate() per series, then sums.
 */
import { RuleGroupSpec, Thresholds } from "./types";

/**
 * Recorded series shared by alerts and dashboards, so a panel shows exactly what an alert judges.
 * The ratios are 0 rather than absent for a route without errors.
 */
export const RECORDED = {
  /** Kong requests per second, by service, route and status code. */
  kongRequests: "northstack:kong_http_requests:rate5m",
  /** Fraction of Kong responses that are 5xx, by service and route. */
  kongErrorRatio: "northstack:kong_request_error_ratio:rate5m",
  /** Kong's total request latency histogram (ms), by service, route and le. */
  kongLatencyBuckets: "northstack:kong_request_latency_ms_bucket:rate5m",
  /** API requests per second, by job, route and status. */
  apiRequests: "northstack:http_requests:rate5m",
  /** Fraction of API responses that are 5xx, by job and route. */
  apiErrorRatio: "northstack:http_request_error_ratio:rate5m",
  /** API request duration histogram (seconds), by job, route and le. */
  apiLatencyBuckets: "northstack:http_request_duration_seconds_bucket:rate5m",
} as const;

/** 5xx over all of a recorded per-status rate, by `by`; 0 for a series with traffic and no errors. */
function errorRatio(requests: string, statusLabel: string, by: string): string {
  const all = `sum by (${by}) (${requests})`;
  return `(sum by (${by}) (${requests}{${statusLabel}=~"5.."}) or ${all} * 0) / ${all}`;
}

export function gatewayRules(t: Thresholds): RuleGroupSpec {
  const busy = `sum by (service, route) (${RECORDED.kongRequests}) > ${t.minRequestRate}`;
  return {
    name: "northstack-gateway",
    recording: [
      { record: RECORDED.kongRequests, expr: "sum by (service, route, code) (rate(kong_http_requests_total[5m]))" },
      { record: RECORDED.kongErrorRatio, expr: errorRatio(RECORDED.kongRequests, "code", "service, route") },
      {
        record: RECORDED.kongLatencyBuckets,
        expr: "sum by (service, route, le) (rate(kong_request_latency_ms_bucket[5m]))",
      },
    ],
    alerts: [
      {
        alert: "GatewayUnreachable",
        expr: "probe_success == 0",
        for: "5m",
        severity: "critical",
        summary: "{{ $labels.instance }} does not answer the blackbox probe",
        description: "The public gateway URL has failed its HTTPS probe for 5 minutes: users cannot reach the API.",
      },
      {
        alert: "GatewayHighErrorRatio",
        expr: `${RECORDED.kongErrorRatio} > ${t.errorRatio} and on (service, route) ${busy}`,
        for: "5m",
        severity: "critical",
        summary:
          "{{ $value | humanizePercentage }} of requests to {{ $labels.service }} ({{ $labels.route }}) fail at the gateway",
        description: `Over ${t.errorRatio * 100}% of the route's responses at Kong were 5xx for 5 minutes, summed over every Kong pod.`,
      },
      {
        alert: "GatewayHighLatency",
        expr: `histogram_quantile(0.95, ${RECORDED.kongLatencyBuckets}) > ${t.latencyP95Ms}`,
        for: "10m",
        severity: "warning",
        summary:
          'p95 latency of {{ $labels.service }} ({{ $labels.route }}) at the gateway is {{ printf "%.0f" $value }} ms',
        description: `p95 request latency at Kong exceeded ${t.latencyP95Ms} ms on this route for 10 minutes.`,
      },
      {
        alert: "GatewayUpstreamErrors",
        expr:
          'sum by (service) (rate(kong_http_requests_total{source="kong", code=~"502|504"}[5m]))' +
          " / sum by (service) (rate(kong_http_requests_total[5m])) > 0.01",
        for: "5m",
        severity: "warning",
        summary: "Kong cannot reach {{ $labels.service }} for {{ $value | humanizePercentage }} of its requests",
        description:
          "Over 1% of the service's requests ended in a 502 or 504 that Kong produced itself: the upstream refused, reset or timed out.",
      },
    ],
  };
}

export function apiRules(t: Thresholds): RuleGroupSpec {
  return {
    name: "northstack-api",
    recording: [
      { record: RECORDED.apiRequests, expr: "sum by (job, route, status) (rate(http_requests_total[5m]))" },
      { record: RECORDED.apiErrorRatio, expr: errorRatio(RECORDED.apiRequests, "status", "job, route") },
      {
        record: RECORDED.apiLatencyBuckets,
        expr: "sum by (job, route, le) (rate(http_request_duration_seconds_bucket[5m]))",
      },
    ],
    alerts: [
      {
        alert: "ApiHighErrorRatio",
        expr: `${RECORDED.apiErrorRatio} > ${t.errorRatio} and on (job, route) sum by (job, route) (${RECORDED.apiRequests}) > ${t.minRequestRate}`,
        for: "5m",
        severity: "critical",
        summary: "{{ $value | humanizePercentage }} of {{ $labels.job }} requests to {{ $labels.route }} fail",
        description: `Over ${t.errorRatio * 100}% of the route's responses were 5xx for 5 minutes, summed over every pod.`,
      },
      {
        alert: "ApiHighLatency",
        expr: `histogram_quantile(0.95, ${RECORDED.apiLatencyBuckets}) > ${t.latencyP95Ms / 1000}`,
        for: "10m",
        severity: "warning",
        summary: "p95 latency of {{ $labels.job }} {{ $labels.route }} is {{ $value | humanizeDuration }}",
        description: `p95 latency measured by the service itself exceeded ${t.latencyP95Ms} ms on this route for 10 minutes.`,
      },
      {
        alert: "ApiDependencyDown",
        expr: "northstack_dependency_up == 0",
        for: "2m",
        severity: "warning",
        summary: "{{ $labels.job }} at {{ $labels.instance }} cannot reach {{ $labels.dependency }}",
        description: "The service's own health check has failed to reach this dependency for 2 minutes.",
      },
    ],
  };
}
