import { createHmac, timingSafeEqual } from "crypto";
import * as YAML from "yaml";
import { cadvisorHealthCommand, cadvisorMetricRelabel } from "../../components/cluster-metrics";
import { IMAGES } from "../../components/images";
import { FILES_HOLDER_LABEL } from "../../components/runtime/docker";
import { MIGRATIONS_LABEL } from "../../components/workload";
import { PlannedResource, SECRET_MARK } from "../../scripts/lib/mock-program";
import type { StackPlan } from "../../scripts/lib/plan";
import { renderedFiles } from "../../scripts/plan";
import { DEV_VARIANT, sharedPlan } from "../helpers/shared-plan";

let plan: StackPlan;
beforeAll(async () => {
  plan = await sharedPlan("dev");
});

const allContainers = () => plan.resources.filter((r) => r.type === "docker:index/container:Container");
/** The containers that run; the never-started holders of their files are left out. */
const containers = () => allContainers().filter((c) => labelsOf(c)[FILES_HOLDER_LABEL] === undefined);
const labelsOf = (r: PlannedResource) =>
  Object.fromEntries(((r.inputs.labels as { label: string; value: string }[]) ?? []).map((l) => [l.label, l.value]));
const named = (name: string, type = "docker:index/container:Container") => {
  const found = plan.resources.find((r) => r.name === name && r.type === type);
  if (!found) throw new Error(`no ${type} ${name}`);
  return found;
};
/** Every URN `r` waits for, directly or through what it waits for. */
function waitsFor(r: PlannedResource): Set<string> {
  const byUrn = new Map(plan.resources.map((x) => [x.urn, x]));
  const seen = new Set<string>();
  const todo = [...r.dependencies];
  while (todo.length) {
    const urn = todo.pop()!;
    if (seen.has(urn)) continue;
    seen.add(urn);
    todo.push(...(byUrn.get(urn)?.dependencies ?? []));
  }
  return seen;
}

test("the dev stack has every core component", () => {
  const types = new Set(plan.resources.map((r) => r.type));
  for (const t of [
    "northstack:runtime:Docker",
    "northstack:core:Secrets",
    "northstack:data:Postgres",
    "northstack:data:Supabase",
    "northstack:data:Redis",
    "northstack:app:ApiService",
    "northstack:edge:Kong",
  ]) {
    expect(types).toContain(t);
  }
});

test("every container runs as a non-root uid:gid, hardened, with limits and labels", () => {
  expect(containers().length).toBeGreaterThanOrEqual(8);
  for (const c of allContainers()) {
    const where = c.name;
    expect({ where, user: c.inputs.user }).toEqual({ where, user: expect.stringMatching(/^[1-9]\d*:[1-9]\d*$/) });
    expect({ where, opts: c.inputs.securityOpts }).toEqual({ where, opts: ["no-new-privileges:true"] });
    expect({ where, drops: (c.inputs.capabilities as { drops: string[] }).drops }).toEqual({ where, drops: ["ALL"] });
    if (containers().includes(c))
      expect({ where, memory: (c.inputs.memory as number) > 0 }).toEqual({ where, memory: true });
    expect({ where, labels: labelsOf(c) }).toEqual({
      where,
      labels: expect.objectContaining({
        "app.kubernetes.io/name": expect.any(String),
        "app.kubernetes.io/part-of": "northstack",
        "northstack.io/stack": "dev",
      }),
    });
  }
});

test("services have health checks and restart policies", () => {
  for (const c of containers().filter((c) => c.inputs.restart !== "no")) {
    expect({ c: c.name, restart: c.inputs.restart }).toEqual({ c: c.name, restart: "unless-stopped" });
    expect({ c: c.name, health: Boolean(c.inputs.healthcheck) }).toEqual({ c: c.name, health: true });
  }
});

test("Pulumi waits for each service's health at least through its start period, checked every few seconds", () => {
  const seconds = (d: unknown) => Number(/^(\d+)s$/.exec(String(d))?.[1]);
  for (const c of containers().filter((c) => c.inputs.restart !== "no")) {
    const health = c.inputs.healthcheck as { startPeriod: string; startInterval: string };
    expect({ c: c.name, wait: c.inputs.wait, startInterval: health.startInterval }).toEqual({
      c: c.name,
      wait: true,
      startInterval: "5s",
    });
    // The backup services start with a first, verified backup and may take 10 minutes to be healthy.
    expect({ c: c.name, covered: Number(c.inputs.waitTimeout) > seconds(health.startPeriod) }).toEqual({
      c: c.name,
      covered: true,
    });
  }
});

test("no image is latest or untagged", () => {
  for (const c of containers()) {
    const image = String(c.inputs.image);
    if (image === "[unknown]") continue;
    expect({ c: c.name, image }).toEqual({
      c: c.name,
      image: expect.stringMatching(/(:[\w][\w.-]*|@sha256:[a-f0-9]{64})$/),
    });
    expect(image.endsWith(":latest")).toBe(false);
  }
});

test("every published port is bound to 127.0.0.1", () => {
  const ports = containers().flatMap((c) => (c.inputs.ports as { ip: string; external: number }[] | undefined) ?? []);
  expect(ports.length).toBeGreaterThanOrEqual(2);
  for (const p of ports) expect(p.ip).toBe("127.0.0.1");
  expect(ports.map((p) => p.external)).toEqual(expect.arrayContaining([8000, 8080]));
});

test("every container sits on the stack's network", () => {
  for (const c of containers())
    expect((c.inputs.networksAdvanced as { name: string }[])[0].name).toBe("northstack-dev");
});

test("migrations are delivered per the DESIGN.md contract", () => {
  const migrators = allContainers().filter((c) => labelsOf(c)[MIGRATIONS_LABEL] === "true");
  expect(migrators).toHaveLength(1);
  const uploads = migrators[0].inputs.uploads as { file: string }[];
  expect(uploads.filter((u) => u.file.endsWith(".sql")).length).toBeGreaterThanOrEqual(2);
});

test("secrets are exported only as secrets and never appear in plain inputs", () => {
  expect(plan.outputs.anonKey).toBe(SECRET_MARK);
  expect(plan.outputs.serviceRoleKey).toBe(SECRET_MARK);
  expect(plan.outputs.gatewayUrl).toBe("http://127.0.0.1:8000");
  const passwords = plan.resources
    .filter((r) => r.type === "random:index/randomPassword:RandomPassword")
    .map((r) => `plan-random-${r.name}`.slice(0, 16));
  expect(passwords.length).toBeGreaterThanOrEqual(3);
  const printable = JSON.stringify(plan.resources.map((r) => r.inputs));
  for (const p of passwords) expect(printable).not.toContain(p);
});

test("Prometheus scrapes Realtime with a token signed by Realtime's METRICS_JWT_SECRET, delivered as a secret file alone", () => {
  const holder = named("monitoring-prometheus-files");
  const uploads = holder.inputs.uploads as { file: string; content: string }[];
  const tokenFile = "/etc/prometheus/scrape-credentials/supabase-realtime.token";
  const index = uploads.findIndex((u) => u.file === tokenFile);
  expect(index).toBeGreaterThanOrEqual(0);
  expect(uploads[index]).toMatchObject({ content: SECRET_MARK, permissions: "0440" });
  expect(holder.secretPaths).toContain(`uploads[${index}].content`);
  const config = YAML.parse(uploads.find((u) => u.file.endsWith("prometheus.yml"))!.content) as {
    scrape_configs: { job_name: string; authorization?: unknown; static_configs?: { targets: string[] }[] }[];
  };
  const job = config.scrape_configs.find((j) => j.job_name === "supabase-realtime");
  expect(job?.authorization).toEqual({ type: "Bearer", credentials_file: tokenFile });
  expect(job?.static_configs?.[0].targets).toEqual(["northstack-dev-supabase-realtime:4000"]);
  expect(config.scrape_configs.filter((j) => j.authorization !== undefined).map((j) => j.job_name)).toEqual([
    "supabase-realtime",
  ]);

  // The token verifies (HS256, checked here with node's crypto alone) against the secret Realtime holds.
  const token = (holder.plainInputs.uploads as { file: string; content: string }[])[index].content;
  const realtimeEnv = (named("supabase-realtime").plainInputs.envs as string[]).find((e) =>
    e.startsWith("METRICS_JWT_SECRET="),
  );
  const secret = realtimeEnv!.slice("METRICS_JWT_SECRET=".length);
  expect(secret.length).toBe(64);
  const [header, payload, signature] = token.split(".");
  expect(JSON.parse(Buffer.from(header, "base64url").toString())).toEqual({ alg: "HS256", typ: "JWT" });
  const expected = createHmac("sha256", secret).update(`${header}.${payload}`).digest();
  expect(timingSafeEqual(Buffer.from(signature, "base64url"), expected)).toBe(true);
  const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as { role: string; exp: number };
  expect(claims.role).toBe("prometheus");
  expect(claims.exp * 1000).toBeGreaterThan(Date.now() + 365 * 24 * 3600 * 1000);
  // Neither the secret nor the token is printable anywhere in the plan.
  const printable = JSON.stringify(plan.resources.map((r) => r.inputs));
  expect(printable).not.toContain(secret);
  expect(printable).not.toContain(signature);
});

test("read-only containers get no uploads; every upload lands in a volume of its never-started holder", () => {
  // The provider extracts uploads at `/`, which Docker refuses on a read-only root even above a volume.
  for (const c of containers())
    expect({ c: c.name, uploads: c.inputs.uploads ?? [] }).toEqual({ c: c.name, uploads: [] });
  expect(containers().filter((c) => c.inputs.readOnly === true).length).toBeGreaterThanOrEqual(10);
  for (const c of allContainers()) {
    const uploads = (c.inputs.uploads ?? []) as { file: string }[];
    const dirs = ((c.inputs.volumes ?? []) as { containerPath?: string }[]).map((v) => v.containerPath);
    for (const u of uploads) {
      expect({
        c: c.name,
        file: u.file,
        readOnly: c.inputs.readOnly,
        start: c.inputs.start,
        inVolume: dirs.some((d) => u.file.startsWith(`${d}/`)),
      }).toEqual({
        c: c.name,
        file: u.file,
        readOnly: false,
        start: false,
        inVolume: true,
      });
    }
  }
  for (const holder of allContainers().filter((c) => !containers().includes(c))) {
    const owner = labelsOf(holder)[FILES_HOLDER_LABEL];
    const users = containers().filter((c) => labelsOf(c)["app.kubernetes.io/name"] === owner);
    expect(users.length).toBeGreaterThan(0);
    for (const c of users) expect(c.inputs.volumes).toContainEqual({ fromContainer: `${holder.name}-id:ro` });
  }
});

test("every Docker container, volume and network is deleted before its replacement is created", () => {
  const dockerObjects = plan.resources.filter((r) =>
    ["docker:index/container:Container", "docker:index/volume:Volume", "docker:index/network:Network"].includes(r.type),
  );
  expect(dockerObjects.length).toBeGreaterThan(allContainers().length);
  for (const r of dockerObjects)
    expect({ r: r.name, deleteBeforeReplace: r.deleteBeforeReplace }).toEqual({ r: r.name, deleteBeforeReplace: true });
});

test("Kong waits for the Redis container it keeps rate limits in, and the API for Postgres and Redis", () => {
  expect(waitsFor(named("kong"))).toContain(named("redis").urn);
  const api = waitsFor(named("api"));
  for (const name of ["redis", "postgres"]) expect(api).toContain(named(name).urn);
});

test("services start only after the migration job succeeded", () => {
  const gate = named("supabase-migrate-succeeded", "pulumi:index:Stash");
  expect(gate.type).toBe("pulumi:index:Stash");
  expect(gate.inputs.input).toBe(0);
  for (const name of ["api", "backup", "supabase-rest", "supabase-auth", "kong"])
    expect({ name, gated: waitsFor(named(name)).has(gate.urn) }).toEqual({ name, gated: true });
});

test("the Redis exporter runs upstream's pinned image as its own uid, with an HTTP health check", () => {
  const exporter = named("monitoring-redis-exporter");
  expect(exporter.inputs.image).toBe(IMAGES.redisExporter.image);
  expect(exporter.inputs.image).toMatch(/^oliver006\/redis_exporter:v\d+\.\d+\.\d+-alpine$/);
  expect(exporter.inputs.user).toBe("59000:59000");
  expect((exporter.inputs.healthcheck as { tests: string[] }).tests).toEqual([
    "CMD",
    "wget",
    "-q",
    "-O",
    "/dev/null",
    "http://127.0.0.1:9121/health",
  ]);
  for (const { image } of Object.values(IMAGES)) expect(image).not.toMatch(/^bitnami\//);
});

test("every running container's output goes to the log shipper's intake, tagged with its workload; the shipper publishes that port on 127.0.0.1 over UDP and mounts nothing of the host", () => {
  const intake = "udp://127.0.0.1:12201";
  for (const c of containers()) {
    expect({ name: c.name, driver: c.inputs.logDriver }).toEqual({ name: c.name, driver: "gelf" });
    expect(c.inputs.logOpts).toMatchObject({
      "gelf-address": intake,
      tag: labelsOf(c)["app.kubernetes.io/name"],
      mode: "non-blocking",
    });
  }
  const shipper = named("monitoring-log-shipper");
  expect(shipper.inputs.ports).toEqual([{ internal: 12201, external: 12201, ip: "127.0.0.1", protocol: "udp" }]);
  const volumes = (shipper.inputs.volumes as { hostPath?: string }[]) ?? [];
  expect(volumes.filter((v) => v.hostPath !== undefined)).toEqual([]);
  expect(shipper.inputs.mounts ?? []).toEqual([]);
  expect(labelsOf(shipper)["northstack.io/policy-exempt"]).toBeUndefined();
});

test("node_exporter reads the host's /proc, /sys and root read-only, as nobody, under its named least-privilege exemption", () => {
  const exporter = named("monitoring-node-exporter");
  expect(exporter.inputs.volumes).toEqual([
    { hostPath: "/proc", containerPath: "/host/proc", readOnly: true },
    { hostPath: "/sys", containerPath: "/host/sys", readOnly: true },
    { hostPath: "/", containerPath: "/host/root", readOnly: true },
  ]);
  expect(exporter.inputs).toMatchObject({
    user: `${IMAGES.nodeExporter.uid}:${IMAGES.nodeExporter.gid}`,
    readOnly: true,
    privileged: false,
    securityOpts: ["no-new-privileges:true"],
    capabilities: { drops: ["ALL"], adds: [] },
  });
  expect(exporter.inputs.networkMode).toBeUndefined();
  expect(exporter.inputs.pidMode).toBeUndefined();
  const labels = labelsOf(exporter);
  expect(labels["northstack.io/policy-exempt"]).toBe("containers-least-privilege/host-paths");
  expect(labels["northstack.io/policy-exempt-reason"]).toMatch(/host's memory and filesystems/);
  // No other container carries an exemption or a host path, but cAdvisor (below).
  for (const c of containers().filter((c) => !["monitoring-node-exporter", "monitoring-cadvisor"].includes(c.name))) {
    expect({ c: c.name, exempt: labelsOf(c)["northstack.io/policy-exempt"] }).toEqual({ c: c.name, exempt: undefined });
    expect({
      c: c.name,
      host: ((c.inputs.volumes ?? []) as { hostPath?: string }[]).filter((v) => v.hostPath),
    }).toEqual({ c: c.name, host: [] });
  }
});

test("cAdvisor reads the host's cgroups alone, read-only, as nobody, without the Docker socket, under its named exemption", () => {
  const cadvisor = named("monitoring-cadvisor");
  expect(cadvisor.inputs.volumes).toEqual([
    { hostPath: "/sys/fs/cgroup", containerPath: "/sys/fs/cgroup", readOnly: true },
  ]);
  expect(cadvisor.inputs).toMatchObject({
    image: IMAGES.cadvisor.image,
    user: `${IMAGES.cadvisor.uid}:${IMAGES.cadvisor.gid}`,
    readOnly: true,
    privileged: false,
    securityOpts: ["no-new-privileges:true"],
    capabilities: { drops: ["ALL"], adds: [] },
  });
  for (const shared of ["networkMode", "pidMode", "cgroupnsMode", "devices", "mounts"])
    expect({ shared, value: cadvisor.inputs[shared] }).toEqual({ shared, value: undefined });
  expect(JSON.stringify([cadvisor.inputs.command, cadvisor.inputs.volumes])).not.toMatch(
    /docker\.sock|\/var\/lib\/docker|\/var\/run|\/dev\/kmsg|\/rootfs/,
  );
  const labels = labelsOf(cadvisor);
  expect(labels["northstack.io/policy-exempt"]).toBe("containers-least-privilege/host-paths");
  expect(labels["northstack.io/policy-exempt-reason"]).toMatch(/host's cgroup files, mounted read-only/);
});

test("every running dev container's cgroup is named after its workload, under the stack's slice", () => {
  for (const c of containers())
    expect({ c: c.name, parent: c.inputs.cgroupParent }).toEqual({
      c: c.name,
      parent: `northstack-dev-${c.name}.slice`,
    });
});

test("northstack:dockerCgroupDriver=cgroupfs reaches every container's cgroup parent, cAdvisor's prefix and health check, and the job", async () => {
  const cgroupfs = await sharedPlan("dev", DEV_VARIANT);
  const running = cgroupfs.resources.filter(
    (r) => r.type === "docker:index/container:Container" && labelsOf(r)[FILES_HOLDER_LABEL] === undefined,
  );
  expect(running.length).toBeGreaterThanOrEqual(8);
  for (const c of running)
    expect({ c: c.name, parent: c.inputs.cgroupParent }).toEqual({ c: c.name, parent: `/northstack-dev/${c.name}` });
  const cadvisor = running.find((c) => c.name === "monitoring-cadvisor")!;
  expect(cadvisor.inputs.command).toContain("--raw_cgroup_prefix_whitelist=/northstack-dev/");
  expect((cadvisor.inputs.healthcheck as { tests: string[] }).tests).toEqual([
    "CMD",
    ...cadvisorHealthCommand("dev", "cgroupfs"),
  ]);
  const files = cgroupfs.resources.find((r) => r.name === "monitoring-prometheus-files")!.inputs.uploads as {
    file: string;
    content: string;
  }[];
  const config = YAML.parse(files.find((u) => u.file.endsWith("prometheus.yml"))!.content);
  const job = config.scrape_configs.find((j: { job_name: string }) => j.job_name === "cadvisor");
  expect(job.metric_relabel_configs).toEqual(JSON.parse(JSON.stringify(cadvisorMetricRelabel("dev", "cgroupfs"))));
});

test("dev scrapes cAdvisor with the job that names containers, and renders the cadvisor alerts that need nothing else", () => {
  const prometheusFiles = named("monitoring-prometheus-files").inputs.uploads as { file: string; content: string }[];
  const config = YAML.parse(prometheusFiles.find((u) => u.file.endsWith("prometheus.yml"))!.content);
  const job = config.scrape_configs.find((j: { job_name: string }) => j.job_name === "cadvisor");
  expect(job.static_configs).toEqual([
    { targets: ["northstack-dev-monitoring-cadvisor:8080"], labels: { workload: "monitoring-cadvisor" } },
  ]);
  expect(job.metric_relabel_configs).toEqual(JSON.parse(JSON.stringify(cadvisorMetricRelabel("dev", "systemd"))));
  const rules = prometheusFiles.find((u) => u.file.endsWith(".rules.yml"))!.content;
  expect(rules).toContain("alert: ContainerCpuThrottled");
  // It also needs kube-state-metrics' limits, which dev does not have.
  expect(rules).not.toContain("alert: ContainerMemoryNearLimit");
});

test("dev scrapes node_exporter and renders the node_ alerts, but none of the Kubernetes collectors' alerts", () => {
  const prometheusFiles = named("monitoring-prometheus-files").inputs.uploads as { file: string; content: string }[];
  const config = prometheusFiles.find((u) => u.file.endsWith("prometheus.yml"))!.content;
  expect(config).toContain("job_name: node-exporter");
  expect(config).toContain("northstack-dev-monitoring-node-exporter:9100");
  expect(config).not.toMatch(/kube-state-metrics|kubernetes_sd_configs/);
  const rules = prometheusFiles.find((u) => u.file.endsWith(".rules.yml"))!.content;
  expect(rules).toContain("alert: NodeMemoryLow");
  expect(rules).toContain("alert: NodeFilesystemAlmostFull");
  expect(rules).not.toMatch(/\bkube_|container_memory|kubelet_volume_stats/);
  expect(plan.resources.filter((r) => r.type.startsWith("kubernetes:"))).toEqual([]);
});

test("every rendered config file and script is text without a NUL byte (which bash would drop)", () => {
  const files = renderedFiles(plan.resources);
  expect(files.map((f) => f.path)).toContainEqual(expect.stringMatching(/volume-backup/));
  expect(files.filter((f) => f.content.includes("\0")).map((f) => f.path)).toEqual([]);
});
