import { spawnSync } from "child_process";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
  DockerRuntime,
  FILES_HOLDER_LABEL,
  checkJobExit,
  fileDirectories,
  gatewayOf,
} from "../../components/runtime/docker";
import { MIGRATIONS_LABEL, WorkloadSpec } from "../../components/workload";
import { MockRunResult, PlannedResource, SECRET_MARK, runUnderMocks } from "../../scripts/lib/mock-program";

class Holder extends pulumi.ComponentResource {
  constructor(name: string) {
    super("northstack:test:Holder", name, {}, {});
    this.registerOutputs({});
  }
}

const service: WorkloadSpec = {
  name: "web",
  component: "test",
  image: "nginxinc/nginx-unprivileged:1.27.3",
  ports: [{ name: "http", port: 8080, hostPort: 18080 }],
  env: { MODE: "dev" },
  secretEnv: { TOKEN: "s3cr3t-token-value" },
  files: [
    { path: "/etc/web/app.conf", content: "listen 8080;" },
    { path: "/etc/web/conf.d/extra.conf", content: "gzip on;" },
    { path: "/etc/web-secrets/key.pem", content: "s3cr3t-key-material", secret: true },
  ],
  volumes: [{ name: "data", mountPath: "/data", sizeGb: 1 }],
  scratch: [{ mountPath: "/tmp" }],
  health: { exec: ["true"], intervalSeconds: 5 },
  resources: { cpuMillis: 500, memoryMb: 256 },
  user: { uid: 101, gid: 101 },
  replicas: 2,
};
const job: WorkloadSpec = {
  name: "migrate",
  component: "test",
  image: "postgres:15.8-bookworm",
  kind: "job",
  files: [{ path: "/migrations/001_a.sql", content: "select 1;" }],
  labels: { [MIGRATIONS_LABEL]: "true" },
  resources: { cpuMillis: 100, memoryMb: 64 },
  user: { uid: 999, gid: 999 },
};
/** Reaches `web` by its host and starts after the job. */
const consumer = (webHost: pulumi.Output<string>): WorkloadSpec => ({
  name: "consumer",
  component: "test",
  image: "nginxinc/nginx-unprivileged:1.27.3",
  env: { WEB_URL: pulumi.interpolate`http://${webHost}:8080` },
  health: { exec: ["true"] },
  resources: { cpuMillis: 100, memoryMb: 64 },
  user: { uid: 101, gid: 101 },
});

let result: MockRunResult;
let errors: string[];
let hosts: Record<string, string>;
const containers = () => result.resources.filter((r) => r.type === "docker:index/container:Container");
const byName = (name: string) => {
  const found = result.resources.find((r) => r.name === name);
  if (!found) throw new Error(`no resource ${name}; have ${result.resources.map((r) => r.name).join(", ")}`);
  return found;
};
const isHolder = (r: PlannedResource) => labelsOf(r)[FILES_HOLDER_LABEL] !== undefined;
const labelsOf = (r: PlannedResource) =>
  Object.fromEntries((r.inputs.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));
const volumesOf = (r: PlannedResource) =>
  (r.inputs.volumes ?? []) as { containerPath?: string; volumeName?: string; fromContainer?: string }[];
const uploadsOf = (r: PlannedResource, inputs: "inputs" | "plainInputs" = "inputs") =>
  (r[inputs].uploads ?? []) as {
    file: string;
    content: string;
    owner?: string;
    group?: string;
    permissions?: string;
  }[];

beforeAll(async () => {
  errors = [];
  result = await runUnderMocks({
    stack: "dev",
    config: {},
    program: () => {
      const runtime = new DockerRuntime("docker", { stack: "dev", subnet: "172.30.0.0/16" });
      const holder = new Holder("holder");
      const web = runtime.deploy(service, holder);
      const migrate = runtime.deploy(job, holder);
      runtime.deploy(consumer(web.host), holder, { dependsOn: migrate.resources });
      const bad: WorkloadSpec[] = [
        service,
        { ...service, name: "rooty", user: { uid: 0, gid: 0 } },
        { ...service, name: "latest", image: "nginx:latest" },
        { ...service, name: "rootfile", files: [{ path: "/app.conf", content: "" }] },
        { ...service, name: "clash", files: [{ path: "/data/app.conf", content: "" }] },
      ];
      for (const spec of bad) {
        try {
          runtime.deploy(spec, holder);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      return { webHost: web.host, migrateHost: migrate.host };
    },
  });
  hosts = result.outputs as Record<string, string>;
});

test("one network per stack on the configured subnet", () => {
  const networks = result.resources.filter((r) => r.type === "docker:index/network:Network");
  expect(networks).toHaveLength(1);
  expect(networks[0].inputs.name).toBe("northstack-dev");
  expect(networks[0].inputs.ipamConfigs).toEqual([{ subnet: "172.30.0.0/16", gateway: "172.30.0.1" }]);
  expect(gatewayOf("10.1.2.0/24")).toBe("10.1.2.1");
});

test("a container per replica, all hardened, every running one with a read-only root", () => {
  const web = containers().filter((c) => /^web(-\d+)?$/.test(c.name));
  expect(web.map((c) => c.name).sort()).toEqual(["web-1", "web-2"]);
  for (const c of containers()) {
    expect(c.inputs.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(c.inputs.securityOpts).toEqual(["no-new-privileges:true"]);
    expect(c.inputs.capabilities).toEqual({ drops: ["ALL"], adds: [] });
    expect(c.inputs.privileged).toBe(false);
    expect(labelsOf(c)).toMatchObject({ "app.kubernetes.io/part-of": "northstack", "northstack.io/stack": "dev" });
  }
  for (const c of containers().filter((c) => !isHolder(c))) {
    expect(c.inputs.readOnly).toBe(true);
    expect(c.inputs.memory).toBeGreaterThan(0);
    expect(Number(c.inputs.cpus)).toBeGreaterThan(0);
    expect(c.inputs.networksAdvanced).toEqual([{ name: "northstack-dev", aliases: [c.name.replace(/-\d+$/, "")] }]);
  }
});

test("services have a health check and restart; jobs run once and are waited for", () => {
  const web = byName("web-1");
  expect(web.inputs.restart).toBe("unless-stopped");
  expect(web.inputs.healthcheck).toMatchObject({ tests: ["CMD", "true"], interval: "5s" });
  expect(web.inputs.wait).toBe(true);
  const migrate = byName("migrate");
  expect(migrate.inputs.restart).toBe("no");
  expect(migrate.inputs.mustRun).toBe(false);
  expect(migrate.inputs.attach).toBe(true);
});

test("each running container's cgroup parent names its workload and replica; the never-started holders get none", () => {
  expect(
    containers()
      .filter((c) => !isHolder(c))
      .map((c) => [c.name, c.inputs.cgroupParent])
      .sort(),
  ).toEqual([
    ["consumer", "northstack-dev-consumer.slice"],
    ["migrate", "northstack-dev-migrate.slice"],
    ["web-1", "northstack-dev-web_1.slice"],
    ["web-2", "northstack-dev-web_2.slice"],
  ]);
  for (const holder of containers().filter(isHolder)) expect(holder.inputs.cgroupParent).toBeUndefined();
});

test("host ports bind to 127.0.0.1, only on the first replica", () => {
  expect(byName("web-1").inputs.ports).toEqual([{ internal: 8080, external: 18080, ip: "127.0.0.1", protocol: "tcp" }]);
  expect(byName("web-2").inputs.ports ?? []).toEqual([]);
});

test("secret env is a secret; tmpfs and volumes are rendered", () => {
  const web = byName("web-1");
  expect(web.inputs.envs).toBe(SECRET_MARK);
  expect(JSON.stringify(web.inputs)).not.toContain("s3cr3t-token-value");
  expect(web.plainInputs.envs).toEqual(["MODE=dev", "TOKEN=s3cr3t-token-value"]);
  expect(web.inputs.tmpfs).toEqual({ "/tmp": expect.stringContaining("size=64m") });
  expect(volumesOf(web)).toContainEqual({ volumeName: "northstack-dev-web-data", containerPath: "/data" });
});

test("uploads never target a read-only root: they land in the holder's volumes, which the workload mounts read-only", () => {
  const withUploads = containers().filter((c) => uploadsOf(c).length > 0);
  expect(withUploads.map((c) => c.name).sort()).toEqual(["migrate-files", "web-files"]);
  for (const c of containers()) {
    if (c.inputs.readOnly !== false) {
      // The provider extracts uploads at `/`, which Docker refuses on a read-only root even above a volume.
      expect({ c: c.name, uploads: uploadsOf(c) }).toEqual({ c: c.name, uploads: [] });
      continue;
    }
    const dirs = volumesOf(c).map((v) => v.containerPath);
    expect(volumesOf(c).every((v) => v.volumeName === undefined && v.fromContainer === undefined)).toBe(true);
    for (const u of uploadsOf(c))
      expect({ file: u.file, inVolume: dirs.some((d) => u.file.startsWith(`${d}/`)) }).toEqual({
        file: u.file,
        inVolume: true,
      });
    expect({ c: c.name, start: c.inputs.start, mustRun: c.inputs.mustRun, restart: c.inputs.restart }).toEqual({
      c: c.name,
      start: false,
      mustRun: false,
      restart: "no",
    });
  }
  expect(volumesOf(byName("web-files")).map((v) => v.containerPath)).toEqual(["/etc/web", "/etc/web-secrets"]);
  for (const name of ["web-1", "web-2"])
    expect(volumesOf(byName(name))).toContainEqual({ fromContainer: "web-files-id:ro" });
  expect(volumesOf(byName("migrate"))).toEqual([{ fromContainer: "migrate-files-id:ro" }]);
  expect(volumesOf(byName("consumer"))).toEqual([]);
});

test("uploaded files are readable by the workload's uid only as far as needed, and secret files stay secret", () => {
  const holder = byName("web-files");
  const plain = uploadsOf(holder, "plainInputs");
  expect(plain.map((u) => [u.file, u.owner, u.group, u.permissions])).toEqual([
    ["/etc/web/app.conf", "101", "101", "0444"],
    ["/etc/web/conf.d/extra.conf", "101", "101", "0444"],
    ["/etc/web-secrets/key.pem", "101", "101", "0440"],
  ]);
  expect(plain[2].content).toBe("s3cr3t-key-material");
  expect(uploadsOf(holder)[2].content).toBe(SECRET_MARK);
  expect(uploadsOf(holder)[0].content).toBe("listen 8080;");
  expect(JSON.stringify(holder.inputs)).not.toContain("s3cr3t-key-material");
});

test("the migration SQL travels on the container labelled per DESIGN.md; the job itself is not labelled", () => {
  const carriers = containers().filter((c) => labelsOf(c)[MIGRATIONS_LABEL] === "true");
  expect(carriers.map((c) => c.name)).toEqual(["migrate-files"]);
  expect(uploadsOf(carriers[0]).map((u) => [u.file, u.content])).toEqual([["/migrations/001_a.sql", "select 1;"]]);
  expect(labelsOf(carriers[0])[FILES_HOLDER_LABEL]).toBe("migrate");
  expect(labelsOf(byName("migrate"))["app.kubernetes.io/name"]).toBe("migrate");
});

test("every container, volume and network is deleted before its replacement is created", () => {
  const named = result.resources.filter((r) =>
    ["docker:index/container:Container", "docker:index/volume:Volume", "docker:index/network:Network"].includes(r.type),
  );
  expect(named.length).toBe(containers().length + 2);
  for (const r of named)
    expect({ r: r.name, deleteBeforeReplace: r.deleteBeforeReplace }).toEqual({ r: r.name, deleteBeforeReplace: true });
});

test("a workload's host resolves only after its containers, so whoever uses it waits for them", () => {
  expect(hosts).toEqual({ webHost: "web", migrateHost: "migrate" });
  const deps = byName("consumer").dependencies;
  for (const name of ["web-1", "web-2"]) expect(deps).toContain(byName(name).urn);
});

test("a job's dependants wait for its success gate, which records the exit code", () => {
  const gate = byName("migrate-succeeded");
  expect(gate.type).toBe("pulumi:index:Stash");
  expect(gate.inputs.input).toBe(0);
  expect(gate.dependencies).toContain(byName("migrate").urn);
  expect(byName("consumer").dependencies).toContain(gate.urn);
});

test("a job that exits non-zero fails the program before its dependants register; exit 0 lets them", () => {
  const run = (code: number) => {
    const child = spawnSync(
      process.execPath,
      ["-r", "./scripts/register.js", path.join(__dirname, "..", "helpers", "job-gate-program.ts"), String(code)],
      {
        cwd: path.resolve(__dirname, "..", ".."),
        encoding: "utf8",
      },
    );
    return { status: child.status, registered: JSON.parse(child.stdout || "[]") as string[], stderr: child.stderr };
  };
  const failed = run(1);
  expect(failed.status).toBe(1);
  expect(failed.stderr).toContain('job "migrate" exited with code 1');
  expect(failed.stderr).toContain("docker logs northstack-dev-migrate");
  expect(failed.registered).toContain("migrate");
  expect(failed.registered).not.toContain("api");
  const passed = run(0);
  expect(passed.status).toBe(0);
  expect(passed.registered).toEqual(expect.arrayContaining(["migrate", "migrate-succeeded", "api"]));
});

test("checkJobExit passes only exit code 0", () => {
  expect(() => checkJobExit("j", "c", "urn:x", 0)).not.toThrow();
  expect(() => checkJobExit("j", "c", "urn:x", 2)).toThrow(
    /job "j" exited with code 2: see `docker logs c`.*--replace 'urn:x'/,
  );
  expect(() => checkJobExit("j", "c", "urn:x", undefined)).toThrow(/job "j" reported no exit code/);
});

test("fileDirectories keeps the outermost parent directories and rejects paths Docker cannot mount", () => {
  const files = (...paths: string[]) => paths.map((p) => ({ path: p, content: "" }));
  expect(fileDirectories({ name: "w", files: files("/etc/a/x", "/etc/a/b/y", "/etc/c/z", "/etc/a/w") })).toEqual([
    "/etc/a",
    "/etc/c",
  ]);
  expect(fileDirectories({ name: "w" })).toEqual([]);
  expect(() => fileDirectories({ name: "w", files: files("/x") })).toThrow(
    /workload "w": file "\/x" is directly in \//,
  );
  expect(() =>
    fileDirectories({ name: "w", files: files("/data/x"), volumes: [{ name: "d", mountPath: "/data/", sizeGb: 1 }] }),
  ).toThrow(/file "\/data\/x" is in \/data, which is also a volume or scratch mount/);
  expect(() => fileDirectories({ name: "w", files: files("/tmp/x"), scratch: [{ mountPath: "/tmp" }] })).toThrow(
    /also a volume or scratch mount/,
  );
  expect(() => fileDirectories({ name: "w", files: files("/etc/a/x", "/etc/a/x") })).toThrow(
    /file "\/etc\/a\/x" is listed twice/,
  );
});

test("images are pulled once each and kept locally", () => {
  const pulls = result.resources.filter((r) => r.type === "docker:index/remoteImage:RemoteImage");
  expect(pulls.map((p) => p.inputs.name).sort()).toEqual([
    "nginxinc/nginx-unprivileged:1.27.3",
    "postgres:15.8-bookworm",
  ]);
  expect(pulls.every((p) => p.inputs.keepLocally === true)).toBe(true);
});

test("bad specs are rejected before anything of theirs is registered", () => {
  expect(errors).toHaveLength(5);
  expect(errors[0]).toMatch(/"web" is deployed twice/);
  expect(errors[1]).toMatch(/user.uid 0 must be a non-root uid/);
  expect(errors[2]).toMatch(/nginx:latest.*latest/);
  expect(errors[3]).toMatch(/workload "rootfile": file "\/app.conf" is directly in \//);
  expect(errors[4]).toMatch(/workload "clash": file "\/data\/app.conf" is in \/data/);
  expect(result.resources.some((r) => /^(rooty|latest|rootfile|clash)/.test(r.name))).toBe(false);
});
