/** Prometheus's retention comes from stack config, and a size cap that would fill its volume is refused before any resource. */
import { parseConfig } from "../../components/config";
import { configProblems, ns } from "../helpers/config";

test("retention defaults to 15 days and 16 GB of a 20 GB volume", () => {
  expect(parseConfig(ns({}), "dev").monitoring.retention).toEqual({ days: 15, sizeGb: 16, volumeGb: 20 });
});

test("days, size cap and volume are read from config", () => {
  const raw = { metricsRetentionDays: "30", metricsRetentionGb: "80", metricsVolumeGb: "100" };
  expect(parseConfig(ns(raw), "dev").monitoring.retention).toEqual({ days: 30, sizeGb: 80, volumeGb: 100 });
});

test("a size cap that leaves the volume no room to compact names the key, the value and the largest that fits", () => {
  expect(configProblems({ metricsRetentionGb: "20" }, "dev")).toEqual([
    "northstack:metricsRetentionGb: 20 does not fit a 20 GB Prometheus volume; at most 16 (80 %, leaving room for compaction), or a larger volume (northstack:metricsVolumeGb)",
  ]);
  expect(configProblems({ metricsRetentionGb: "17", metricsVolumeGb: "20" }, "dev")).toHaveLength(1);
  expect(configProblems({ metricsRetentionGb: "40", metricsVolumeGb: "50" }, "dev")).toEqual([]);
});

test("days outside 1..3650 are refused with the allowed range", () => {
  const [problem] = configProblems({ metricsRetentionDays: "0" }, "dev");
  expect(problem).toMatch(/^northstack:metricsRetentionDays: 0 .*1 to 3650/);
});

describe("northstack:nodeMetrics", () => {
  const cloud = {
    cluster: "managed",
    apiImage: "ghcr.io/northstack/api:0.1.0",
    publicUrl: "https://api.example.ca",
    tlsSecretName: "gateway-tls",
    alertEmailTo: "oncall@example.ca",
    alertSmtpSmarthost: "smtp.example.ca:587",
  };
  const kubeconfig = "apiVersion: v1\nclusters: []";
  const nodeMetrics = (raw: Record<string, string>, stack = "staging") =>
    parseConfig(ns(raw), stack).monitoring.nodeMetrics;

  test("auto (the default) is on for Docker and EKS, managed or existing, and off on GCP, whose managed cluster is Autopilot", () => {
    expect(nodeMetrics({}, "dev")).toBe(true);
    expect(nodeMetrics({ ...cloud, cloud: "aws" })).toBe(true);
    expect(nodeMetrics({ ...cloud, cloud: "aws", cluster: "existing", kubeconfig, eksClusterName: "eks" })).toBe(true);
    expect(nodeMetrics({ ...cloud, cloud: "gcp" })).toBe(false);
    // An existing GCP cluster may be Autopilot too: off unless the operator says it admits host paths.
    expect(nodeMetrics({ ...cloud, cloud: "gcp", cluster: "existing", kubeconfig })).toBe(false);
    expect(nodeMetrics({ ...cloud, cloud: "gcp", cluster: "existing", kubeconfig, nodeMetrics: "true" })).toBe(true);
    expect(nodeMetrics({ ...cloud, cloud: "gcp", cluster: "existing", kubeconfig, nodeMetrics: "auto" })).toBe(false);
  });

  test("false turns it off anywhere, true turns it on where the cluster allows host paths", () => {
    expect(nodeMetrics({ nodeMetrics: "false" }, "dev")).toBe(false);
    expect(nodeMetrics({ ...cloud, cloud: "aws", nodeMetrics: "false" })).toBe(false);
    expect(nodeMetrics({ ...cloud, cloud: "aws", nodeMetrics: "true" })).toBe(true);
    expect(nodeMetrics({ ...cloud, cloud: "gcp", nodeMetrics: "false" })).toBe(false);
  });

  test("true on GKE Autopilot is refused before any resource, naming the key, the value and why", () => {
    expect(configProblems({ ...cloud, cloud: "gcp", nodeMetrics: "true" }, "staging")).toEqual([
      'northstack:nodeMetrics: "true" is not allowed with northstack:cloud=gcp and northstack:cluster=managed; the managed cluster is GKE Autopilot, which refuses the host paths node_exporter reads. Set it to auto or false',
    ]);
  });
});
