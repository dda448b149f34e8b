/**
 * System: scrape targets, hosts (node_exporter) and containers (the kubelet's cAdvisor and
 * kube-state-metrics on Kubernetes; process metrics wherever a target exposes them, which includes
 * Docker). Panels over metrics a runtime does not collect stay empty there.
 */
import { graph, labelVariable, logLines, row, single, stackDashboard, streams } from "./panels";

const inst = 'instance=~"$instance"';
/** Host filesystems worth watching: not the in-memory, image-layer or snap mounts. */
const hostFs = `fstype!~"tmpfs|overlay|squashfs", ${inst}`;
/** cAdvisor's per-container series (the empty container is the pod's own cgroup). */
const ctr = 'container!=""';

export function systemDashboard(stack: string) {
  return stackDashboard(
    stack,
    "system",
    "system",
    "Scrape targets, host CPU, memory and disk, and container CPU, memory and restarts.",
  )
    .withVariable(labelVariable("instance", "instance", "up", { title: "Instance" }))
    .withRow(row("Targets"))
    .withPanel(
      single(
        "Targets down",
        "short",
        { expr: `count(up{${inst}} == 0) or vector(0)` },
        {
          thresholds: [
            [null, "green"],
            [1, "red"],
          ],
        },
      ),
    )
    .withPanel(
      single(
        "Processes restarted in the last hour",
        "short",
        {
          expr: `count(changes(process_start_time_seconds{${inst}}[1h]) > 0) or vector(0)`,
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
      graph("Targets up by job", "short", [{ expr: `sum by (job) (up{${inst}})`, legend: "{{job}}" }], {
        width: 12,
        height: 4,
      }),
    )
    .withRow(row("Hosts (node_exporter)"))
    .withPanel(
      graph(
        "Host CPU busy",
        "percentunit",
        [
          {
            expr: `1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle", ${inst}}[$__rate_interval]))`,
            legend: "{{instance}}",
          },
        ],
        { width: 8, min: 0, max: 1 },
      ),
    )
    .withPanel(
      graph(
        "Host memory available",
        "percentunit",
        [
          {
            expr: `node_memory_MemAvailable_bytes{${inst}} / node_memory_MemTotal_bytes{${inst}}`,
            legend: "{{instance}}",
          },
        ],
        { width: 8, min: 0, max: 1, description: "NodeMemoryLow warns under 10%." },
      ),
    )
    .withPanel(
      graph(
        "Host filesystem free",
        "percentunit",
        [
          {
            expr: `node_filesystem_avail_bytes{${hostFs}} / node_filesystem_size_bytes{${hostFs}}`,
            legend: "{{instance}} {{mountpoint}}",
          },
        ],
        {
          width: 8,
          min: 0,
          max: 1,
          description: "NodeFilesystemAlmostFull warns under 10%. On Docker the volumes live here.",
        },
      ),
    )
    .withRow(row("Containers"))
    .withPanel(
      graph(
        "Container CPU",
        "short",
        [
          {
            expr: `sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{${ctr}}[$__rate_interval]))`,
            legend: "{{pod}} {{container}}",
          },
        ],
        { width: 8, description: "CPU seconds per second (cores), from cAdvisor." },
      ),
    )
    .withPanel(
      graph(
        "Container memory (working set)",
        "bytes",
        [
          {
            expr: `max by (namespace, pod, container) (container_memory_working_set_bytes{${ctr}})`,
            legend: "{{pod}} {{container}}",
          },
        ],
        {
          width: 8,
          description: "What the kernel counts against the memory limit; ContainerMemoryNearLimit warns at 90% of it.",
        },
      ),
    )
    .withPanel(
      graph(
        "Container CPU throttling",
        "percentunit",
        [
          {
            expr:
              `sum by (namespace, pod, container) (rate(container_cpu_cfs_throttled_periods_total{${ctr}}[$__rate_interval]))` +
              ` / sum by (namespace, pod, container) (rate(container_cpu_cfs_periods_total{${ctr}}[$__rate_interval]))`,
            legend: "{{pod}} {{container}}",
          },
        ],
        { width: 8, min: 0, max: 1 },
      ),
    )
    .withPanel(
      graph(
        "Container restarts",
        "short",
        [
          {
            expr: "sum by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total[$__rate_interval]))",
            legend: "{{pod}} {{container}}",
          },
        ],
        { width: 8, description: "From kube-state-metrics; PodCrashLooping warns past 2 in 15 minutes." },
      ),
    )
    .withPanel(
      graph(
        "Replicas unavailable",
        "short",
        [
          {
            expr: "kube_deployment_spec_replicas - kube_deployment_status_replicas_available",
            legend: "{{deployment}}",
          },
          {
            expr: "kube_statefulset_replicas - kube_statefulset_status_replicas_ready",
            legend: "{{statefulset}}",
          },
        ],
        { width: 8 },
      ),
    )
    .withPanel(
      graph(
        "Process memory (every runtime)",
        "bytes",
        [{ expr: `process_resident_memory_bytes{${inst}}`, legend: "{{job}} {{instance}}" }],
        { width: 8, description: "Resident memory each scraped process reports itself, on Docker as on Kubernetes." },
      ),
    )
    .withRow(row("Logs"))
    .withPanel(
      logLines("Errors across the stack", `${streams()} |~ "(?i)(error|fatal|panic|out of memory|oomkilled)"`, {
        width: 24,
        height: 10,
      }),
    );
}
