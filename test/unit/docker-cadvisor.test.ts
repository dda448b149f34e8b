/**
 * Container metrics on Docker as data: each container's cgroup is named after its stack, workload and
 * replica under either cgroup driver; cAdvisor reads those cgroups alone, as nobody, with one
 * read-only host path and no Docker socket; and its job turns cgroup paths into the `namespace`,
 * `pod` and `container` labels the kubelet's cAdvisor gives on Kubernetes. (The job's regexes are
 * run by a real Prometheus in test/integration/cadvisor-scrape.test.ts.)
 */
import * as YAML from "yaml";
import { cadvisorHealthCommand, cadvisorMetricRelabel, cadvisorSpec } from "../../components/cluster-metrics";
import { IMAGES } from "../../components/images";
import { MONITORING_PORTS, renderPrometheusConfig } from "../../components/monitoring-config";
import { scrapeJobFor } from "../../components/monitoring-specs";
import { containerNames } from "../../components/runtime/docker-names";
import {
  DockerCgroupDriver,
  cgroupParentOf,
  containerCgroupPatterns,
  expandSlice,
  stackCgroupPrefix,
} from "../../components/runtime/docker-cgroups";
import { validateForKubernetes } from "../../components/runtime/kubernetes/pod";
import { validateWorkload } from "../../components/workload";

const ID = "0123456789abcdef".repeat(4);

/** The cgroup path Docker gives a container created with `cgroupParent` (as moby and runc expand it). */
function cgroupOf(parent: string, driver: DockerCgroupDriver, id = ID): string {
  return driver === "systemd" ? `${expandSlice(parent)}/docker-${id}.scope` : `${parent}/${id}`;
}

/** Applies the job's rules as Prometheus would (regexes anchored), to one series' labels. */
function relabel(rules: ReturnType<typeof cadvisorMetricRelabel>, labels: Record<string, string>) {
  let out: Record<string, string> | undefined = { ...labels };
  for (const r of rules) {
    if (!out) break;
    const source = (r.source_labels ?? []).map((l) => out![l] ?? "").join(";");
    const match = new RegExp(`^(?:${r.regex ?? "(.*)"})$`).exec(source);
    if (r.action === "keep") {
      if (!match) out = undefined;
      continue;
    }
    if (!match) continue;
    const value = (r.replacement ?? "$1").replace(/\$(\d)/g, (_, n: string) => match[Number(n)] ?? "");
    if (value === "") delete out[r.target_label!];
    else out[r.target_label!] = value;
  }
  return out;
}

test("systemd slices nest on dashes, as systemd.slice(5) describes, and an empty component is refused", () => {
  expect(expandSlice("northstack-dev-api.slice")).toBe(
    "/northstack.slice/northstack-dev.slice/northstack-dev-api.slice",
  );
  expect(() => expandSlice("northstack-dev-a--b.slice")).toThrow(/empty component/);
  expect(() => expandSlice("northstack-dev")).toThrow(/not a slice name/);
});

test("each container's cgroup parent names its stack, workload and replica, for either driver", () => {
  expect(cgroupParentOf("dev", "api", undefined, "systemd")).toBe("northstack-dev-api.slice");
  expect(cgroupParentOf("dev", "api", 2, "systemd")).toBe("northstack-dev-api_2.slice");
  expect(cgroupParentOf("dev", "api", undefined, "cgroupfs")).toBe("/northstack-dev/api");
  expect(cgroupParentOf("dev", "api", 2, "cgroupfs")).toBe("/northstack-dev/api_2");
  expect(stackCgroupPrefix("dev", "systemd")).toBe("/northstack.slice/northstack-dev.slice/");
  expect(stackCgroupPrefix("my-dev", "systemd")).toBe("/northstack.slice/northstack-my.slice/northstack-my-dev.slice/");
  expect(stackCgroupPrefix("dev", "cgroupfs")).toBe("/northstack-dev/");
  // A name that would make an invalid slice or path fails before any resource.
  expect(() => cgroupParentOf("dev", "a--b", undefined, "systemd")).toThrow(/empty component/);
  expect(() => cgroupParentOf("de/v", "api", undefined, "cgroupfs")).toThrow(
    /stack "de\/v" cannot name a cgroup parent/,
  );
  expect(() => cgroupParentOf("dev", "Api_1", undefined, "cgroupfs")).toThrow(/workload "Api_1" is not a DNS label/);
});

test.each(["systemd", "cgroupfs"] as const)(
  "under %s, every container's cgroup is under the stack's prefix and names exactly its workload and replica",
  (driver) => {
    const { single, replica } = containerCgroupPatterns("dev", driver);
    const anchored = (re: string) => new RegExp(`^(?:${re})$`);
    const prefix = stackCgroupPrefix("dev", driver);
    for (const workload of ["api", "postgres", "postgres-exporter", "monitoring-cadvisor"]) {
      const one = cgroupOf(cgroupParentOf("dev", workload, undefined, driver), driver);
      expect(one.startsWith(prefix)).toBe(true);
      expect(anchored(single).exec(one)?.slice(1)).toEqual([workload]);
      expect(anchored(replica).test(one)).toBe(false);
      const third = cgroupOf(cgroupParentOf("dev", workload, 3, driver), driver);
      expect(anchored(replica).exec(third)?.slice(1)).toEqual([workload, "3"]);
      expect(anchored(single).test(third)).toBe(false);
    }
    // Neither the nesting cgroups nor another stack's, nor Docker's default placement, match.
    for (const other of [
      prefix.replace(/\/$/, ""),
      cgroupOf(cgroupParentOf("prod", "api", undefined, driver), driver),
      `/system.slice/docker-${ID}.scope`,
      `/docker/${ID}`,
      cgroupOf(cgroupParentOf("dev", "api", undefined, driver), driver, "not-an-id"),
    ]) {
      expect({ other, single: anchored(single).test(other), replica: anchored(replica).test(other) }).toEqual({
        other,
        single: false,
        replica: false,
      });
    }
  },
);

test.each(["systemd", "cgroupfs"] as const)(
  "under %s, the job labels a container's series like the kubelet's cAdvisor and drops everything else",
  (driver) => {
    const rules = cadvisorMetricRelabel("dev", driver);
    const series = (id: string, name = "container_cpu_usage_seconds_total") => ({
      __name__: name,
      id,
      job: "cadvisor",
      workload: "monitoring-cadvisor",
    });
    const [api2] = containerNames("dev", { name: "api", replicas: 2 }).slice(1);
    expect(relabel(rules, series(cgroupOf(cgroupParentOf("dev", "api", 2, driver), driver)))).toMatchObject({
      namespace: "northstack-dev",
      pod: api2,
      container: "api",
      workload: "api",
    });
    expect(
      relabel(rules, series(cgroupOf(cgroupParentOf("dev", "postgres-exporter", undefined, driver), driver))),
    ).toMatchObject({
      namespace: "northstack-dev",
      pod: "northstack-dev-postgres-exporter",
      container: "postgres-exporter",
      workload: "postgres-exporter",
    });
    // The root cgroup, the host's own services and cAdvisor's machine_* series are not stored.
    expect(relabel(rules, series("/"))).toBeUndefined();
    expect(relabel(rules, series("/system.slice/ssh.service"))).toBeUndefined();
    expect(
      relabel(rules, series(cgroupOf(cgroupParentOf("dev", "api", undefined, driver), driver), "machine_memory_bytes")),
    ).toBeUndefined();
  },
);

test("cAdvisor runs as nobody on a read-only root, reads the host's cgroups alone and read-only, and never the Docker socket", () => {
  const spec = cadvisorSpec("monitoring-cadvisor", "monitoring-prometheus", "dev", "systemd");
  expect(() => validateWorkload(spec)).not.toThrow();
  expect(spec.image).toMatch(/^gcr\.io\/cadvisor\/cadvisor:v[\d.]+@sha256:[0-9a-f]{64}$/);
  expect(spec.image).toBe(IMAGES.cadvisor.image);
  expect(spec.user).toEqual({ uid: 65534, gid: 65534 });
  expect(spec.addCapabilities ?? []).toEqual([]);
  expect(spec.readOnlyRootFilesystem ?? true).toBe(true);
  expect(spec.resources.cpuMillis).toBeGreaterThan(0);
  expect(spec.resources.memoryMb).toBeGreaterThan(0);
  expect(spec.health?.httpGet).toEqual({ path: "/healthz", port: MONITORING_PORTS.cadvisor });
  expect(spec.health?.exec).toEqual(cadvisorHealthCommand("dev", "systemd"));
  expect(spec.hostPaths?.mounts).toEqual([{ hostPath: "/sys/fs/cgroup", mountPath: "/sys/fs/cgroup" }]);
  expect(spec.hostPaths?.reason).toMatch(/without the Docker socket or \/var\/lib\/docker/);
  expect(spec.volumes ?? []).toEqual([]);
  expect(spec.args).toEqual(
    expect.arrayContaining([
      "--docker_only=false",
      "--raw_cgroup_prefix_whitelist=/northstack.slice/northstack-dev.slice/",
      "--enable_metrics=cpu,memory",
      "--store_container_labels=false",
    ]),
  );
  expect(spec.args?.join(" ")).not.toMatch(/docker\.sock|\/var\/lib\/docker|rootfs|kmsg/);
  expect(spec.allowFrom).toEqual(["monitoring-prometheus"]);
  expect(cadvisorSpec("monitoring-cadvisor", "p", "dev", "cgroupfs").args).toContain(
    "--raw_cgroup_prefix_whitelist=/northstack-dev/",
  );
  expect(() => validateForKubernetes(spec, "loadbalancer")).toThrow(/hostPaths needs ownNamespace/);
});

test("the cadvisor job renders its relabelling as metric_relabel_configs, after the target's own labels", () => {
  const job = {
    ...scrapeJobFor("cadvisor", "monitoring-cadvisor", {
      kind: "static",
      targets: ["northstack-dev-monitoring-cadvisor:8080"],
      path: "/metrics",
    }),
    metricRelabel: cadvisorMetricRelabel("dev", "systemd"),
  };
  const config = YAML.parse(renderPrometheusConfig({ stack: "dev", jobs: [job], alertmanager: "am:9093" }));
  const rendered = config.scrape_configs.find((j: { job_name: string }) => j.job_name === "cadvisor");
  expect(rendered.static_configs).toEqual([
    { targets: ["northstack-dev-monitoring-cadvisor:8080"], labels: { workload: "monitoring-cadvisor" } },
  ]);
  expect(rendered.metric_relabel_configs).toEqual(JSON.parse(JSON.stringify(cadvisorMetricRelabel("dev", "systemd"))));
  expect(rendered.metric_relabel_configs[0]).toEqual({
    source_labels: ["__name__"],
    regex: "container_.+",
    action: "keep",
  });
  // Other jobs carry none.
  const plain = YAML.parse(
    renderPrometheusConfig({ stack: "dev", jobs: [{ job: "api", targets: ["api:3000"] }], alertmanager: "am:9093" }),
  );
  expect(plain.scrape_configs[1].metric_relabel_configs).toBeUndefined();
});
