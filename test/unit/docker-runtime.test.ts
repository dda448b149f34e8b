import * as pulumi from "@pulumi/pulumi";
import { DockerRuntime, gatewayOf } from "../../components/runtime/docker";
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
  files: [{ path: "/etc/web/app.conf", content: "listen 8080;" }],
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

let result: MockRunResult;
let errors: string[];
const containers = () => result.resources.filter((r) => r.type === "docker:index/container:Container");
const labelsOf = (r: PlannedResource) => Object.fromEntries((r.inputs.labels as { label: string; value: string }[]).map((l) => [l.label, l.value]));

beforeAll(async () => {
  errors = [];
  result = await runUnderMocks({
    stack: "dev",
    config: {},
    program: () => {
      const runtime = new DockerRuntime("docker", { stack: "dev", subnet: "172.30.0.0/16" });
      const holder = new Holder("holder");
      runtime.deploy(service, holder);
      runtime.deploy(job, holder);
      for (const bad of [service, { ...service, name: "rooty", user: { uid: 0, gid: 0 } }, { ...service, name: "latest", image: "nginx:latest" }]) {
        try {
          runtime.deploy(bad, holder);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
    },
  });
});

test("one network per stack on the configured subnet", () => {
  const networks = result.resources.filter((r) => r.type === "docker:index/network:Network");
  expect(networks).toHaveLength(1);
  expect(networks[0].inputs.name).toBe("northstack-dev");
  expect(networks[0].inputs.ipamConfigs).toEqual([{ subnet: "172.30.0.0/16", gateway: "172.30.0.1" }]);
  expect(gatewayOf("10.1.2.0/24")).toBe("10.1.2.1");
});

test("a container per replica, all hardened", () => {
  const web = containers().filter((c) => c.name.startsWith("web"));
  expect(web.map((c) => c.name).sort()).toEqual(["web-1", "web-2"]);
  for (const c of containers()) {
    expect(c.inputs.user).toMatch(/^[1-9]\d*:[1-9]\d*$/);
    expect(c.inputs.securityOpts).toEqual(["no-new-privileges:true"]);
    expect(c.inputs.capabilities).toEqual({ drops: ["ALL"], adds: [] });
    expect(c.inputs.readOnly).toBe(true);
    expect(c.inputs.privileged).toBe(false);
    expect(c.inputs.memory).toBeGreaterThan(0);
    expect(Number(c.inputs.cpus)).toBeGreaterThan(0);
    expect(labelsOf(c)).toMatchObject({ "app.kubernetes.io/part-of": "northstack", "northstack.io/stack": "dev" });
    expect(c.inputs.networksAdvanced).toEqual([{ name: "northstack-dev", aliases: [c.name.replace(/-\d+$/, "")] }]);
  }
});

test("services have a health check and restart; jobs run once and are waited for", () => {
  const web = containers().find((c) => c.name === "web-1")!;
  expect(web.inputs.restart).toBe("unless-stopped");
  expect(web.inputs.healthcheck).toMatchObject({ tests: ["CMD", "true"], interval: "5s" });
  expect(web.inputs.wait).toBe(true);
  const migrate = containers().find((c) => c.name === "migrate")!;
  expect(migrate.inputs.restart).toBe("no");
  expect(migrate.inputs.mustRun).toBe(false);
  expect(migrate.inputs.attach).toBe(true);
});

test("host ports bind to 127.0.0.1, only on the first replica", () => {
  expect(containers().find((c) => c.name === "web-1")!.inputs.ports).toEqual([{ internal: 8080, external: 18080, ip: "127.0.0.1", protocol: "tcp" }]);
  expect(containers().find((c) => c.name === "web-2")!.inputs.ports ?? []).toEqual([]);
});

test("secret env is a secret; files, tmpfs and volumes are rendered", () => {
  const web = result.resources.find((c) => c.name === "web-1")!;
  expect(web.inputs.envs).toBe(SECRET_MARK);
  expect(JSON.stringify(web.inputs)).not.toContain("s3cr3t-token-value");
  expect(web.plainInputs.envs).toEqual(["MODE=dev", "TOKEN=s3cr3t-token-value"]);
  expect(web.inputs.uploads).toEqual([{ file: "/etc/web/app.conf", content: "listen 8080;" }]);
  expect(web.inputs.tmpfs).toEqual({ "/tmp": expect.stringContaining("size=64m") });
  expect(web.inputs.volumes).toEqual([{ volumeName: "northstack-dev-web-data", containerPath: "/data" }]);
});

test("the migration container carries the DESIGN.md label and its SQL uploads", () => {
  const migrate = containers().find((c) => c.name === "migrate")!;
  expect(labelsOf(migrate)[MIGRATIONS_LABEL]).toBe("true");
  expect(migrate.inputs.uploads).toEqual([{ file: "/migrations/001_a.sql", content: "select 1;" }]);
});

test("images are pulled once each and kept locally", () => {
  const pulls = result.resources.filter((r) => r.type === "docker:index/remoteImage:RemoteImage");
  expect(pulls.map((p) => p.inputs.name).sort()).toEqual(["nginxinc/nginx-unprivileged:1.27.3", "postgres:15.8-bookworm"]);
  expect(pulls.every((p) => p.inputs.keepLocally === true)).toBe(true);
});

test("duplicates, root users and unpinned images are rejected before anything is registered", () => {
  expect(errors).toHaveLength(3);
  expect(errors[0]).toMatch(/"web" is deployed twice/);
  expect(errors[1]).toMatch(/user.uid 0 must be a non-root uid/);
  expect(errors[2]).toMatch(/nginx:latest.*latest/);
  expect(result.resources.some((r) => r.name.startsWith("rooty") || r.name.startsWith("latest"))).toBe(false);
});
