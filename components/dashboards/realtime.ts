/**
 * Realtime: Supabase Realtime's WebSocket traffic as Kong sees it (Realtime exposes no metrics of
 * its own to scrape), the logical replication it reads from Postgres, its container, and its logs.
 */
import { RECORDED } from "../alert-rules";
import { graph, labelVariable, logLines, row, single, stackDashboard, streams } from "./panels";

/** Kong's services in front of Realtime (kong-config.ts: realtime-v1-ws, the socket, and realtime-v1-api). */
export const REALTIME_SERVICES = "realtime-v1-.+";
/** Realtime's workload (and container) name: `<Supabase component>-realtime`. */
export const REALTIME_WORKLOAD = ".+-realtime";

const svc = `service=~"${REALTIME_SERVICES}"`;
const kong = 'instance=~"$instance"';
const ctr = `container=~"${REALTIME_WORKLOAD}"`;

export function realtimeDashboard(stack: string) {
  return stackDashboard(
    stack,
    "realtime",
    "realtime",
    "Supabase Realtime: WebSocket connections and requests through Kong, its replication from Postgres, its container and logs.",
  )
    .withVariable(labelVariable("instance", "instance", "kong_nginx_connections_total", { title: "Kong instance" }))
    .withVariable(labelVariable("gateway", "workload", "kong_nginx_connections_total", { hidden: true }))
    .withRow(row("Connections"))
    .withPanel(
      single(
        "Open connections at the gateway",
        "short",
        {
          expr: `sum(kong_nginx_connections_total{state="active", ${kong}})`,
        },
        {
          description:
            "Every client connection Kong holds open, WebSockets included: each lasts as long as its socket.",
        },
      ),
    )
    .withPanel(
      single("WebSocket upgrades per second", "reqps", {
        expr: `sum(${RECORDED.kongRequests}{${svc}, code="101"})`,
      }),
    )
    .withPanel(
      single(
        "Realtime 5xx ratio",
        "percentunit",
        { expr: `max(${RECORDED.kongErrorRatio}{${svc}})` },
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
        "Realtime restarts (1h)",
        "short",
        {
          expr: `sum(increase(kube_pod_container_status_restarts_total{${ctr}}[1h])) or vector(0)`,
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
      graph(
        "Gateway connections by state",
        "short",
        [
          {
            expr: `sum by (state) (kong_nginx_connections_total{state=~"active|reading|writing|waiting", ${kong}})`,
            legend: "{{state}}",
          },
        ],
        {
          description:
            "`waiting` is idle keep-alive; an open WebSocket counts as `active` (and `writing` while Kong proxies it).",
        },
      ),
    )
    .withPanel(
      graph(
        "Realtime requests by route and status",
        "reqps",
        [{ expr: `sum by (route, code) (${RECORDED.kongRequests}{${svc}})`, legend: "{{route}} {{code}}" }],
        { description: "101 is a WebSocket upgrade; 4xx on the socket route are refused keys or tokens." },
      ),
    )
    .withPanel(
      graph(
        "Realtime p95 latency at the gateway",
        "ms",
        [{ expr: `histogram_quantile(0.95, ${RECORDED.kongLatencyBuckets}{${svc}})`, legend: "{{route}}" }],
        { description: "For the socket route this is the time to the upgrade, not the socket's lifetime." },
      ),
    )
    .withPanel(
      graph(
        "Replication lag (logical clients)",
        "bytes",
        [{ expr: "max by (application_name) (pg_stat_replication_pg_wal_lsn_diff)", legend: "{{application_name}}" }],
        {
          description: "Realtime reads changes through logical replication; a lagging client holds WAL on the primary.",
        },
      ),
    )
    .withRow(row("Container"))
    .withPanel(
      graph(
        "Realtime CPU",
        "short",
        [
          {
            expr: `sum by (pod) (rate(container_cpu_usage_seconds_total{${ctr}}[$__rate_interval]))`,
            legend: "{{pod}}",
          },
        ],
        { width: 8 },
      ),
    )
    .withPanel(
      graph(
        "Realtime memory (working set)",
        "bytes",
        [{ expr: `max by (pod) (container_memory_working_set_bytes{${ctr}})`, legend: "{{pod}}" }],
        { width: 8 },
      ),
    )
    .withPanel(
      graph(
        "Realtime restarts",
        "short",
        [
          {
            expr: `sum by (pod) (increase(kube_pod_container_status_restarts_total{${ctr}}[$__rate_interval]))`,
            legend: "{{pod}}",
          },
        ],
        { width: 8 },
      ),
    )
    .withRow(row("Logs"))
    .withPanel(logLines("Realtime logs", streams(`workload=~"${REALTIME_WORKLOAD}"`)))
    .withPanel(
      logLines("Gateway lines for /realtime", `${streams('workload=~"$gateway"')} |= "/realtime/v1/"`, {
        description: "Kong's access and error log lines for the Realtime routes.",
      }),
    );
}
