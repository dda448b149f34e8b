/** Prometheus metrics in the text exposition format (version 0.0.4), with no client library. */

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const escapeLabel = (value: string): string => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const labelText = (labels: Record<string, string>): string => {
  const entries = Object.entries(labels);
  return entries.length ? `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}` : "";
};

interface Histogram {
  readonly labels: Record<string, string>;
  readonly buckets: number[];
  sum: number;
  count: number;
}

export class Metrics {
  private readonly requests = new Map<string, { labels: Record<string, string>; value: number }>();
  private readonly durations = new Map<string, Histogram>();
  private readonly dependencyUp = new Map<string, number>();
  private readonly startTimeSeconds = Date.now() / 1000;

  /** Records one finished HTTP request; `route` must be a bounded set (the route pattern, not the path). */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const requestLabels = { method, route, status: String(status) };
    const key = JSON.stringify(requestLabels);
    const counter = this.requests.get(key) ?? { labels: requestLabels, value: 0 };
    counter.value += 1;
    this.requests.set(key, counter);

    const durationKey = JSON.stringify({ method, route });
    const histogram = this.durations.get(durationKey) ?? {
      labels: { method, route },
      buckets: DURATION_BUCKETS.map(() => 0),
      sum: 0,
      count: 0,
    };
    DURATION_BUCKETS.forEach((bound, i) => {
      if (seconds <= bound) histogram.buckets[i] += 1;
    });
    histogram.sum += seconds;
    histogram.count += 1;
    this.durations.set(durationKey, histogram);
  }

  setDependencyUp(dependency: string, up: boolean): void {
    this.dependencyUp.set(dependency, up ? 1 : 0);
  }

  render(): string {
    const lines: string[] = [];
    lines.push(
      "# HELP http_requests_total HTTP requests handled, by method, route and status.",
      "# TYPE http_requests_total counter",
    );
    for (const { labels, value } of this.requests.values())
      lines.push(`http_requests_total${labelText(labels)} ${value}`);

    lines.push(
      "# HELP http_request_duration_seconds HTTP request latency.",
      "# TYPE http_request_duration_seconds histogram",
    );
    for (const h of this.durations.values()) {
      DURATION_BUCKETS.forEach((bound, i) =>
        lines.push(
          `http_request_duration_seconds_bucket${labelText({ ...h.labels, le: String(bound) })} ${h.buckets[i]}`,
        ),
      );
      lines.push(`http_request_duration_seconds_bucket${labelText({ ...h.labels, le: "+Inf" })} ${h.count}`);
      lines.push(`http_request_duration_seconds_sum${labelText(h.labels)} ${h.sum}`);
      lines.push(`http_request_duration_seconds_count${labelText(h.labels)} ${h.count}`);
    }

    lines.push(
      "# HELP northstack_dependency_up Whether the last health check reached the dependency (1) or not (0).",
      "# TYPE northstack_dependency_up gauge",
    );
    for (const [dependency, up] of this.dependencyUp)
      lines.push(`northstack_dependency_up${labelText({ dependency })} ${up}`);

    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    lines.push(
      "# HELP process_cpu_user_seconds_total User CPU time spent.",
      "# TYPE process_cpu_user_seconds_total counter",
      `process_cpu_user_seconds_total ${cpu.user / 1e6}`,
      "# HELP process_cpu_system_seconds_total System CPU time spent.",
      "# TYPE process_cpu_system_seconds_total counter",
      `process_cpu_system_seconds_total ${cpu.system / 1e6}`,
      "# HELP process_resident_memory_bytes Resident memory size.",
      "# TYPE process_resident_memory_bytes gauge",
      `process_resident_memory_bytes ${memory.rss}`,
      "# HELP process_start_time_seconds Start time of the process since the Unix epoch.",
      "# TYPE process_start_time_seconds gauge",
      `process_start_time_seconds ${this.startTimeSeconds}`,
      "# HELP nodejs_heap_used_bytes V8 heap in use.",
      "# TYPE nodejs_heap_used_bytes gauge",
      `nodejs_heap_used_bytes ${memory.heapUsed}`,
    );
    return `${lines.join("\n")}\n`;
  }
}
