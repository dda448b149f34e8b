import { retentionSizeProblem } from "../checks";
import { ConfigReader, Problems, key } from "../reader";
import { NorthstackConfig } from "../schema";

/** Prometheus's retention: days, and a size cap that must leave its volume room to compact. */
export function readMetricsRetention(r: ConfigReader, problems: Problems): NorthstackConfig["monitoring"]["retention"] {
  const retention = {
    days: r.int("metricsRetentionDays"),
    sizeGb: r.int("metricsRetentionGb"),
    volumeGb: r.int("metricsVolumeGb"),
  };
  const problem = retentionSizeProblem(retention.sizeGb, retention.volumeGb);
  if (problem)
    problems.push(`${key("metricsRetentionGb")}: ${retention.sizeGb} ${problem} (${key("metricsVolumeGb")})`);
  return retention;
}
