/**
 * Prometheus scrapes every replica of a workload as a target of its own, on Docker and Kubernetes,
 * so that counters of different replicas never interleave in one series and `up` sees one replica
 * fail. Scraping through the load-balanced Service (one target for all replicas) fails these tests.
 */
import * as YAML from "yaml";
import { renderPrometheusConfig } from "../../components/monitoring-config";
import { ResolvedDiscovery, scrapeJobFor } from "../../components/monitoring-specs";
import { containerNames } from "../../components/runtime/docker-names";
import { metricsServiceManifest, metricsServiceName } from "../../components/runtime/kubernetes/exposure";
import { selectorFor } from "../../components/runtime/kubernetes/manifest";
import { ScrapedWorkload, scrapedSpec } from "../../components/runtime/types";
import { validateObject } from "../helpers/k8s-schema";

const api: ScrapedWorkload = { name: "api", replicas: 3, metrics: { port: 8080, path: "/metrics" } };

type ScrapeConfig = {
  job_name: string;
  metrics_path: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  dns_sd_configs?: { names: string[]; type: string; port: number }[];
  relabel_configs?: { target_label: string; replacement: string; source_labels?: string[] }[];
};

const render = (discovery: ResolvedDiscovery): ScrapeConfig => {
  const config = YAML.parse(
    renderPrometheusConfig({ stack: "prod", jobs: [scrapeJobFor("api", "api", discovery)], alertmanager: "am:9093" }),
  );
  return (config.scrape_configs as ScrapeConfig[]).find((c) => c.job_name === "api")!;
};

describe("on Docker", () => {
  const discovery: ResolvedDiscovery = {
    kind: "static",
    targets: containerNames("dev", api).map((c) => `${c}:8080`),
    path: "/metrics",
  };

  test("each replica's container is a target of its own, never the alias they share", () => {
    const job = render(discovery);
    expect(job.static_configs).toEqual([
      {
        targets: ["northstack-dev-api-1:8080", "northstack-dev-api-2:8080", "northstack-dev-api-3:8080"],
        labels: { workload: "api" },
      },
    ]);
    // No relabelling rewrites `instance`: it stays the replica's container.
    expect(job.relabel_configs).toBeUndefined();
    expect(job.static_configs![0].targets).not.toContain("api:8080");
  });

  test("a single replica keeps the container name the runtime gives it", () => {
    expect(containerNames("dev", { ...api, replicas: 1 })).toEqual(["northstack-dev-api"]);
    expect(containerNames("dev", { ...api, kind: "job", replicas: 3 })).toEqual(["northstack-dev-api"]);
  });
});

describe("on Kubernetes", () => {
  const discovery: ResolvedDiscovery = {
    kind: "dns",
    name: `${metricsServiceName(api)}.northstack-prod.svc.cluster.local`,
    port: 8080,
    path: "/metrics",
    namespace: "northstack-prod",
  };

  test("pods are found through the headless metrics Service's A records, one target per pod", () => {
    const job = render(discovery);
    expect(job.dns_sd_configs).toEqual([
      { names: ["api-metrics.northstack-prod.svc.cluster.local"], type: "A", port: 8080, refresh_interval: "30s" },
    ]);
    expect(job.static_configs).toBeUndefined();
  });

  test("relabelling adds workload and namespace and leaves instance (the pod's address) alone", () => {
    const job = render(discovery);
    expect(job.relabel_configs).toEqual([
      { target_label: "workload", replacement: "api" },
      { target_label: "namespace", replacement: "northstack-prod" },
    ]);
    expect(job.relabel_configs!.map((r) => r.target_label)).not.toContain("instance");
  });

  const service = metricsServiceManifest(api, {
    namespace: "northstack-prod",
    labels: { "app.kubernetes.io/name": "api" },
    selector: selectorFor(api),
  })!;

  test("the metrics Service is headless, lists pods that are not ready, and selects the workload's pods", () => {
    expect(service.metadata.name).toBe("api-metrics");
    expect(service.spec).toEqual({
      type: "ClusterIP",
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: { "app.kubernetes.io/name": "api" },
      ports: [{ name: "metrics", port: 8080, targetPort: 8080, protocol: "TCP" }],
    });
  });

  test("the metrics Service is a valid core/v1 Service", () => {
    expect(validateObject("kubernetes:core/v1:Service", { apiVersion: "v1", kind: "Service", ...service })).toEqual([]);
  });

  test("jobs and workloads without metrics get no metrics Service", () => {
    const meta = { namespace: "ns", labels: {}, selector: {} };
    expect(metricsServiceManifest({ ...api, kind: "job" }, meta)).toBeUndefined();
    expect(metricsServiceManifest({ ...api, metrics: undefined }, meta)).toBeUndefined();
  });
});

test("a runtime refuses to say how to scrape a workload it has not deployed, or one without metrics", () => {
  const deployed = new Map([["api", api]]);
  expect(scrapedSpec("api", deployed, "prod").metrics).toEqual(api.metrics);
  expect(() => scrapedSpec("kong", deployed, "prod")).toThrow('workload "kong" is not deployed on stack prod');
  expect(() => scrapedSpec({ name: "x" }, deployed, "prod")).toThrow('workload "x" declares no metrics endpoint');
});

test("a job lists its replicas by name, by DNS or by pod, never none or several", () => {
  const bad = (job: Parameters<typeof renderPrometheusConfig>[0]["jobs"][number]) => () =>
    renderPrometheusConfig({ stack: "x", jobs: [job], alertmanager: "am:9093" });
  const pods = { namespace: "ns", selector: { "app.kubernetes.io/name": "a" }, port: 1 };
  expect(bad({ job: "a" })).toThrow('scrape job "a" has no targets');
  expect(bad({ job: "a", targets: ["a:1"], dns: { names: ["a"], port: 1 } })).toThrow(
    "has more than one of targets, dns names and pods",
  );
  expect(bad({ job: "a", dns: { names: ["a"], port: 1 }, pods })).toThrow(
    "has more than one of targets, dns names and pods",
  );
  expect(bad({ job: "a", pods: { ...pods, selector: {} } })).toThrow("pods.selector is empty");
  expect(bad({ job: "a", targets: ["a:1", "a:1"] })).toThrow("lists a target twice");
  expect(bad({ job: "prometheus", targets: ["a:1"] })).toThrow('scrape job "prometheus" is listed twice');
});
