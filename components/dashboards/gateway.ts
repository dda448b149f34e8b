/**
 * API gateway: Kong's request rate, status codes, latency and upstream errors per service and route
 * (the recorded series the northstack-gateway alerts judge), and the blackbox probe of the public
 * URL with its TLS certificate.
 */
import { RECORDED } from "../alert-rules";
import { graph, labelVariable, logLines, row, single, stackDashboard, streams, serverErrorRatio } from "./panels";

const route = 'route=~"$route"';
const kong = `instance=~"$instance", ${route}`;

export function gatewayDashboard(stack: string) {
  return stackDashboard(
    stack,
    "gateway",
    "API gateway",
    "Kong: traffic, status codes, latency and upstream errors per route; the public URL's probe and certificate.",
  )
    .withVariable(labelVariable("instance", "instance", "kong_nginx_connections_total", { title: "Kong instance" }))
    .withVariable(labelVariable("route", "route", RECORDED.kongRequests, { title: "Route" }))
    .withVariable(labelVariable("gateway", "workload", "kong_nginx_connections_total", { hidden: true }))
    .withRow(row("Public URL"))
    .withPanel(
      single(
        "Public URL answers",
        "short",
        { expr: "min(probe_success)" },
        {
          description:
            "The blackbox exporter's probe of the public URL; GatewayUnreachable pages after 5 minutes at 0.",
          thresholds: [
            [null, "red"],
            [1, "green"],
          ],
        },
      ),
    )
    .withPanel(
      single(
        "TLS certificate days left",
        "d",
        {
          expr: "min((probe_ssl_earliest_cert_expiry - time()) / 86400)",
        },
        {
          thresholds: [
            [null, "red"],
            [7, "orange"],
            [21, "green"],
          ],
        },
      ),
    )
    .withPanel(single("Requests per second", "reqps", { expr: `sum(${RECORDED.kongRequests}{${route}})` }))
    .withPanel(
      single(
        "5xx ratio",
        "percentunit",
        {
          expr: serverErrorRatio(RECORDED.kongRequests, route, "code"),
        },
        {
          thresholds: [
            [null, "green"],
            [0.05, "red"],
          ],
        },
      ),
    )
    .withPanel(
      graph("Probe duration", "s", [{ expr: "probe_duration_seconds", legend: "{{instance}}" }], {
        description: "How long the public URL takes to answer the probe, TLS handshake included.",
      }),
    )
    .withPanel(graph("Probe HTTP status", "short", [{ expr: "probe_http_status_code", legend: "{{instance}}" }]))
    .withRow(row("Traffic"))
    .withPanel(
      graph("Requests by status", "reqps", [
        { expr: `sum by (code) (${RECORDED.kongRequests}{${route}})`, legend: "{{code}}" },
      ]),
    )
    .withPanel(
      graph("Requests by route", "reqps", [
        { expr: `sum by (service, route) (${RECORDED.kongRequests}{${route}})`, legend: "{{route}}" },
      ]),
    )
    .withPanel(
      graph(
        "Error ratio by route",
        "percentunit",
        [{ expr: `${RECORDED.kongErrorRatio}{${route}}`, legend: "{{route}}" }],
        { description: "5xx of all responses; GatewayHighErrorRatio pages past 5% on a busy route." },
      ),
    )
    .withPanel(
      logLines(
        "Gateway error logs",
        `${streams('workload=~"$gateway"')} |~ "\\\\[(error|crit|alert|emerg)\\\\]|\\" 5[0-9][0-9] "`,
        {
          description: "Kong's error log and the access log lines of 5xx responses.",
        },
      ),
    )
    .withRow(row("Latency"))
    .withPanel(
      graph(
        "Total latency by route",
        "ms",
        [
          { expr: `histogram_quantile(0.5, ${RECORDED.kongLatencyBuckets}{${route}})`, legend: "p50 {{route}}" },
          { expr: `histogram_quantile(0.95, ${RECORDED.kongLatencyBuckets}{${route}})`, legend: "p95 {{route}}" },
          { expr: `histogram_quantile(0.99, ${RECORDED.kongLatencyBuckets}{${route}})`, legend: "p99 {{route}}" },
        ],
        { description: "Request in to response out at Kong; GatewayHighLatency warns on p95 past 1 s." },
      ),
    )
    .withPanel(
      graph(
        "Upstream and Kong latency p95 by service",
        "ms",
        [
          {
            expr: `histogram_quantile(0.95, sum by (service, le) (rate(kong_upstream_latency_ms_bucket{${kong}}[$__rate_interval])))`,
            legend: "upstream {{service}}",
          },
          {
            expr: `histogram_quantile(0.95, sum by (service, le) (rate(kong_kong_latency_ms_bucket{${kong}}[$__rate_interval])))`,
            legend: "kong {{service}}",
          },
        ],
        { description: "Time spent waiting on the upstream service, and in Kong's own plugins." },
      ),
    )
    .withRow(row("Upstreams"))
    .withPanel(
      graph(
        "Upstream errors (502/504 from Kong)",
        "reqps",
        [
          {
            expr: `sum by (service) (rate(kong_http_requests_total{source="kong", code=~"502|504", ${kong}}[$__rate_interval]))`,
            legend: "{{service}}",
          },
        ],
        {
          description:
            "Kong answered for an upstream that refused, reset or timed out; GatewayUpstreamErrors warns past 1%.",
        },
      ),
    )
    .withPanel(
      graph("Bandwidth", "Bps", [
        {
          expr: `sum by (direction) (rate(kong_bandwidth_bytes{${kong}}[$__rate_interval]))`,
          legend: "{{direction}}",
        },
      ]),
    );
}
