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
