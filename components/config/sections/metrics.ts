import { retentionSizeProblem } from "../checks";
import { ConfigReader, Problems, key, show } from "../reader";
import { NorthstackConfig } from "../schema";
import { Platform } from "./platform";

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

/**
 * Whether node_exporter runs (northstack:nodeMetrics). It needs host paths, which GKE Autopilot (a
 * managed cluster on GCP) refuses at admission, so there "auto" is off and "true" is an error here,
 * before any resource. An existing GCP cluster may be Autopilot or Standard, which the plan cannot
 * tell: "auto" is off, and "true" is the operator's word that it admits host paths (GKE Standard).
 * Everywhere else "auto" is on: Docker, and EKS, managed or existing.
 */
export function readNodeMetrics(
  r: ConfigReader,
  problems: Problems,
  { cloud, cloudKnown }: Pick<Platform, "cloud" | "cloudKnown">,
  cluster: NorthstackConfig["kubernetes"]["cluster"],
  clusterKnown: boolean,
): boolean {
  const value = r.str("nodeMetrics");
  if (value === "false") return false;
  const autopilot = cloudKnown && clusterKnown && cloud === "gcp" && cluster === "managed";
  if (value === "true") {
    if (autopilot)
      problems.push(
        `${key("nodeMetrics")}: ${show(value)} is not allowed with ${key("cloud")}=gcp and ${key("cluster")}=managed; ` +
          "the managed cluster is GKE Autopilot, which refuses the host paths node_exporter reads. Set it to auto or false",
      );
    return !autopilot;
  }
  return cloud !== "gcp";
}
