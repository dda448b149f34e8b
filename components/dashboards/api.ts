/**
 * API: the reference API and any extra service built on it (app/src/metrics.ts), per route: rate,
 * error ratio and latency percentiles from the recorded series the northstack-api alerts judge,
 * then each instance's own health, memory and CPU. Error logs sit beside the error ratio.
 */
import { RECORDED } from "../alert-rules";
import { graph, labelVariable, logLines, row, single, stackDashboard, streams, serverErrorRatio } from "./panels";

/** Recorded series keep `job` and `route`; the raw series also carry `instance`. */
const recorded = 'job=~"$job", route=~"$route"';
const raw = `${recorded}, instance=~"$instance"`;
const proc = 'job=~"$job", instance=~"$instance"';

const latency = (q: number) => ({
  expr: `histogram_quantile(${q}, sum by (route, le) (${RECORDED.apiLatencyBuckets}{${recorded}}))`,
  legend: `p${Math.round(q * 100)} {{route}}`,
});

export function apiDashboard(stack: string) {
  return stackDashboard(
    stack,
    "api",
    "API",
    "Per route: request rate, error ratio and latency; per instance: dependencies, memory, CPU and restarts.",
  )
    .withVariable(labelVariable("job", "job", "http_requests_total", { title: "Service" }))
    .withVariable(labelVariable("instance", "instance", 'http_requests_total{job=~"$job"}', { title: "Instance" }))
    .withVariable(labelVariable("route", "route", `${RECORDED.apiRequests}{job=~"$job"}`, { title: "Route" }))
    .withVariable(labelVariable("workload", "workload", 'http_requests_total{job=~"$job"}', { hidden: true }))
    .withRow(row("Overview"))
    .withPanel(single("Requests per second", "reqps", { expr: `sum(${RECORDED.apiRequests}{${recorded}})` }))
    .withPanel(
      single(
        "5xx ratio",
        "percentunit",
        {
          expr: serverErrorRatio(RECORDED.apiRequests, recorded, "status"),
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
      single(
        "p95 latency",
        "s",
        {
          expr: `histogram_quantile(0.95, sum by (le) (${RECORDED.apiLatencyBuckets}{${recorded}}))`,
        },
        {
          thresholds: [
            [null, "green"],
            [1, "orange"],
          ],
        },
      ),
    )
    .withPanel(
      single(
        "Dependencies down",
        "short",
        {
          expr: `count(northstack_dependency_up{${proc}} == 0) or vector(0)`,
        },
        {
          description: "Postgres or Redis unreachable from an instance's own health check.",
          thresholds: [
            [null, "green"],
            [1, "red"],
          ],
        },
      ),
    )
    .withRow(row("Routes"))
    .withPanel(
      graph("Requests by route and status", "reqps", [
        { expr: `sum by (route, status) (${RECORDED.apiRequests}{${recorded}})`, legend: "{{route}} {{status}}" },
      ]),
    )
    .withPanel(
      graph("Latency by route", "s", [latency(0.5), latency(0.95), latency(0.99)], {
        description: "Measured by the service itself; ApiHighLatency warns on p95 past 1 s.",
      }),
    )
    .withPanel(
      graph(
        "Error ratio by route",
        "percentunit",
        [{ expr: `${RECORDED.apiErrorRatio}{${recorded}}`, legend: "{{job}} {{route}}" }],
        { description: "5xx of all responses; ApiHighErrorRatio pages past 5% on a busy route." },
      ),
    )
    .withPanel(
      logLines("API error logs", `${streams('workload=~"$workload"')} |~ "(?i)(error|failed|exception)"`, {
        description: "What the failing requests logged: each failure names the method and path.",
      }),
    )
    .withRow(row("Instances"))
    .withPanel(
      graph(
        "Requests by instance",
        "reqps",
        [
          {
            expr: `sum by (instance) (rate(http_requests_total{${raw}}[$__rate_interval]))`,
            legend: "{{instance}}",
          },
        ],
        { width: 8 },
      ),
    )
    .withPanel(
      graph(
        "Dependency health",
        "short",
        [{ expr: `min by (dependency) (northstack_dependency_up{${proc}})`, legend: "{{dependency}}" }],
        { width: 8, min: 0, max: 1, description: "1 when every instance's last health check reached the dependency." },
      ),
    )
    .withPanel(
      graph(
        "Restarts",
        "short",
        [{ expr: `changes(process_start_time_seconds{${proc}}[$__rate_interval])`, legend: "{{instance}}" }],
        { width: 8 },
      ),
    )
    .withPanel(
      graph("Memory", "bytes", [
        { expr: `process_resident_memory_bytes{${proc}}`, legend: "resident {{instance}}" },
        { expr: `nodejs_heap_used_bytes{${proc}}`, legend: "heap {{instance}}" },
      ]),
    )
    .withPanel(
      graph(
        "CPU",
        "short",
        [
          {
            expr: `rate(process_cpu_user_seconds_total{${proc}}[$__rate_interval]) + rate(process_cpu_system_seconds_total{${proc}}[$__rate_interval])`,
            legend: "{{instance}}",
          },
        ],
        { description: "CPU seconds per second (cores), user and system." },
      ),
    );
}
