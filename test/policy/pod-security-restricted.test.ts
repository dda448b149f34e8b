/**
 * Every control of Pod Security "baseline" and "restricted", one field per case, changed from the
 * compliant fixture, on every pod-bearing kind and in every container list. The two container
 * policies share the profile: run-as-non-root owns runAsNonRoot/runAsUser, least-privilege the rest.
 */
import { ResourceInput } from "../../policy/evaluate";
import { containersLeastPrivilege, containersRunAsNonRoot } from "../../policy/policies";
import { clone, container, messages, podSpec } from "./fixtures";

type Obj = Record<string, unknown>;

const KINDS: Record<string, (spec: Obj, metadata: Obj) => Obj> = {
  "kubernetes:core/v1:Pod": (spec, metadata) => ({ metadata: { name: "p", ...metadata }, spec }),
  "kubernetes:apps/v1:Deployment": (spec, metadata) => ({ spec: { template: { metadata, spec } } }),
  "kubernetes:apps/v1:StatefulSet": (spec, metadata) => ({ spec: { template: { metadata, spec } } }),
  "kubernetes:apps/v1:DaemonSet": (spec, metadata) => ({ spec: { template: { metadata, spec } } }),
  "kubernetes:apps/v1:ReplicaSet": (spec, metadata) => ({ spec: { template: { metadata, spec } } }),
  "kubernetes:batch/v1:Job": (spec, metadata) => ({ spec: { template: { metadata, spec } } }),
  "kubernetes:batch/v1:CronJob": (spec, metadata) => ({
    spec: { schedule: "0 3 * * *", jobTemplate: { spec: { template: { metadata, spec } } } },
  }),
};
const KIND_NAMES = Object.keys(KINDS);
const LISTS = ["containers", "initContainers", "ephemeralContainers"] as const;

const resource = (kind: string, spec: Obj, metadata: Obj = {}): ResourceInput => ({
  type: kind,
  name: "w",
  props: KINDS[kind](spec, metadata),
});

async function restricted(input: ResourceInput): Promise<string[]> {
  return [...(await messages(containersRunAsNonRoot, input)), ...(await messages(containersLeastPrivilege, input))];
}

/** The compliant pod with one pod-level field set (a dotted path under the pod spec). */
function withPodField(path: string, value: unknown): Obj {
  const spec = podSpec();
  const keys = path.split(".");
  let at: Obj = spec;
  for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Obj;
  at[keys[keys.length - 1]] = value;
  return spec;
}

/** The compliant pod plus a container in `list` whose securityContext has one field changed. */
function withContainerField(list: (typeof LISTS)[number], field: string, value: unknown): Obj {
  const changed = container("changed");
  const sc = clone(changed.securityContext) as Obj;
  if (field.startsWith("securityContext.")) {
    const keys = field.slice("securityContext.".length).split(".");
    let at: Obj = sc;
    for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as Obj;
    at[keys[keys.length - 1]] = value;
    changed.securityContext = sc;
  } else changed[field] = value;
  const spec = podSpec();
  spec[list] = [...((spec[list] as Obj[] | undefined) ?? []), changed];
  return spec;
}

const POD_GOOD: [string, unknown][] = [
  ["hostNetwork", false],
  ["securityContext.seccompProfile", { type: "Localhost", localhostProfile: "profiles/api.json" }],
  ["securityContext.appArmorProfile", { type: "RuntimeDefault" }],
  ["securityContext.appArmorProfile", { type: "Localhost", localhostProfile: "k8s-api" }],
  ["securityContext.seLinuxOptions", { type: "container_t", level: "s0:c123,c456" }],
  ["securityContext.seLinuxOptions", { type: "container_init_t" }],
  ["securityContext.seLinuxOptions", { type: "container_kvm_t" }],
  ["securityContext.seLinuxOptions", { type: "container_engine_t" }],
  ["securityContext.seLinuxOptions", { type: "" }],
  [
    "securityContext.sysctls",
    [
      { name: "net.ipv4.ip_local_port_range", value: "1024 65535" },
      { name: "kernel.shm_rmid_forced", value: "1" },
    ],
  ],
  [
    "securityContext.sysctls",
    [
      { name: "net.ipv4.tcp_keepalive_time", value: "600" },
      { name: "net.ipv4.ip_unprivileged_port_start", value: "0" },
    ],
  ],
  [
    "volumes",
    [
      { name: "c", configMap: { name: "c" } },
      { name: "s", secret: { secretName: "s" } },
      { name: "e", emptyDir: {} },
    ],
  ],
  [
    "volumes",
    [
      { name: "d", persistentVolumeClaim: { claimName: "d" } },
      { name: "p", projected: { sources: [] } },
      { name: "i", downwardAPI: { items: [] } },
    ],
  ],
  [
    "volumes",
    [
      { name: "x", csi: { driver: "secrets-store.csi.k8s.io" } },
      { name: "y", ephemeral: { volumeClaimTemplate: { spec: {} } } },
    ],
  ],
];

const POD_BAD: [string, unknown, RegExp][] = [
  ["hostNetwork", true, /hostNetwork: true shares a host namespace/],
  ["hostPID", true, /hostPID: true/],
  ["hostIPC", true, /hostIPC: true/],
  ["securityContext.windowsOptions", { hostProcess: true }, /windowsOptions.hostProcess: true/],
  ["securityContext.runAsNonRoot", false, /securityContext.runAsNonRoot is false/],
  ["securityContext.runAsUser", 0, /securityContext.runAsUser is 0 \(root\)/],
  [
    "securityContext.seccompProfile",
    { type: "Unconfined" },
    /seccompProfile.type is "Unconfined", must be RuntimeDefault or Localhost/,
  ],
  [
    "securityContext.appArmorProfile",
    { type: "Unconfined" },
    /appArmorProfile.type is "Unconfined", not RuntimeDefault or Localhost/,
  ],
  ["securityContext.seLinuxOptions", { type: "spc_t" }, /seLinuxOptions.type "spc_t" is not a container type/],
  ["securityContext.seLinuxOptions", { user: "system_u" }, /seLinuxOptions.user is "system_u"/],
  ["securityContext.seLinuxOptions", { role: "system_r" }, /seLinuxOptions.role is "system_r"/],
  [
    "securityContext.sysctls",
    [{ name: "kernel.msgmax", value: "65536" }],
    /sysctls\[0\] "kernel.msgmax" is not a safe sysctl/,
  ],
  [
    "securityContext.sysctls",
    [{ name: "net.core.somaxconn", value: "1024" }],
    /"net.core.somaxconn" is not a safe sysctl/,
  ],
  ["volumes", [{ name: "h", hostPath: { path: "/data" } }], /volume "h" is a hostPath volume/],
  [
    "volumes",
    [{ name: "n", nfs: { server: "nfs", path: "/" } }],
    /volume "n" is a nfs volume, which Pod Security "restricted" does not allow/,
  ],
  ["volumes", [{ name: "g", gitRepo: { repository: "x" } }], /volume "g" is a gitRepo volume/],
  [
    "volumes",
    [{ name: "a", awsElasticBlockStore: { volumeID: "vol-1" } }],
    /volume "a" is a awsElasticBlockStore volume/,
  ],
];

const CONTAINER_GOOD: [string, unknown][] = [
  ["securityContext.capabilities", { drop: ["ALL"], add: ["NET_BIND_SERVICE"] }],
  ["securityContext.procMount", "Default"],
  ["securityContext.privileged", false],
  ["securityContext.runAsNonRoot", true],
  ["securityContext.runAsUser", 1000],
  ["securityContext.seccompProfile", { type: "RuntimeDefault" }],
  ["securityContext.seccompProfile", { type: "Localhost", localhostProfile: "profiles/api.json" }],
  ["securityContext.appArmorProfile", { type: "Localhost", localhostProfile: "k8s-api" }],
  ["securityContext.seLinuxOptions", { type: "container_t" }],
  ["ports", [{ containerPort: 8080 }]],
  ["readinessProbe", { httpGet: { path: "/health", port: 8080, host: "" } }],
];

const CONTAINER_BAD: [string, unknown, RegExp][] = [
  ["securityContext.privileged", true, /privileged: true/],
  ["securityContext.allowPrivilegeEscalation", true, /allowPrivilegeEscalation is true, must be false/],
  ["securityContext.allowPrivilegeEscalation", undefined, /allowPrivilegeEscalation is unset, must be false/],
  ["securityContext.capabilities", { drop: ["NET_RAW"] }, /capabilities do not drop ALL/],
  ["securityContext.capabilities", { drop: ["ALL"], add: ["SYS_ADMIN"] }, /capabilities add SYS_ADMIN/],
  ["securityContext.capabilities", { drop: ["ALL"], add: ["CHOWN"] }, /capabilities add CHOWN/],
  ["securityContext.runAsNonRoot", false, /runAsNonRoot is false on the container, which overrides the pod/],
  ["securityContext.runAsUser", 0, /securityContext.runAsUser is 0 \(root\)/],
  [
    "securityContext.seccompProfile",
    { type: "Unconfined" },
    /seccompProfile.type is "Unconfined", must be RuntimeDefault or Localhost/,
  ],
  ["securityContext.appArmorProfile", { type: "Unconfined" }, /appArmorProfile.type is "Unconfined"/],
  [
    "securityContext.seLinuxOptions",
    { type: "unconfined_t" },
    /seLinuxOptions.type "unconfined_t" is not a container type/,
  ],
  ["securityContext.seLinuxOptions", { user: "unconfined_u" }, /seLinuxOptions.user is "unconfined_u"/],
  ["securityContext.seLinuxOptions", { role: "unconfined_r" }, /seLinuxOptions.role is "unconfined_r"/],
  ["securityContext.procMount", "Unmasked", /procMount is "Unmasked"/],
  ["securityContext.windowsOptions", { hostProcess: true }, /windowsOptions.hostProcess: true/],
  ["ports", [{ containerPort: 8080, hostPort: 8080 }], /ports\[0\].hostPort 8080 binds a port on the node/],
  [
    "livenessProbe",
    { httpGet: { path: "/", port: 80, host: "169.254.169.254" } },
    /livenessProbe.httpGet.host is "169.254.169.254"/,
  ],
  [
    "startupProbe",
    { tcpSocket: { port: 6443, host: "kubernetes.default" } },
    /startupProbe.tcpSocket.host is "kubernetes.default"/,
  ],
  [
    "lifecycle",
    { preStop: { httpGet: { path: "/", port: 80, host: "10.0.0.1" } } },
    /lifecycle.preStop.httpGet.host is "10.0.0.1"/,
  ],
];

describe("Pod Security restricted, fields unknown at preview", () => {
  test.each([
    ["securityContext.sysctls", "[unknown]", "securityContext.sysctls is unknown"],
    ["securityContext.seLinuxOptions", { type: "[unknown]" }, "securityContext.seLinuxOptions.type is unknown"],
    ["volumes", ["[unknown]"], "volumes[0] is unknown"],
  ])("reports %s = %j as cannot verify", async (path, value, expected) => {
    expect(await restricted(resource("kubernetes:apps/v1:Deployment", withPodField(path, value)))).toEqual([
      expect.stringContaining(`${expected} at preview, so least privilege cannot be verified`),
    ]);
  });

  test("reports a probe host unknown at preview as cannot verify", async () => {
    const spec = withContainerField("containers", "readinessProbe", {
      httpGet: { path: "/", port: 80, host: "[unknown]" },
    });
    expect(await restricted(resource("kubernetes:apps/v1:Deployment", spec))).toEqual([
      expect.stringContaining('"changed": readinessProbe.httpGet.host is unknown at preview'),
    ]);
  });
});

describe("Pod Security restricted, pod level", () => {
  test.each(KIND_NAMES)("the compliant fixture passes as %s", async (kind) => {
    expect(await restricted(resource(kind, podSpec()))).toEqual([]);
  });

  test.each(POD_GOOD)("passes %s = %j", async (path, value) => {
    for (const kind of KIND_NAMES) expect(await restricted(resource(kind, withPodField(path, value)))).toEqual([]);
  });

  test.each(POD_BAD)("rejects %s = %j", async (path, value, expected) => {
    for (const kind of KIND_NAMES) {
      const found = await restricted(resource(kind, withPodField(path, value)));
      expect(found).toEqual([expect.stringMatching(expected)]);
      expect(found[0]).toContain(`${kind} w`);
    }
  });

  test("seccomp may be set on every container instead of the pod, but not left unset on both", async () => {
    const spec = podSpec({ securityContext: { runAsNonRoot: true, runAsUser: 10001 } });
    expect(await restricted(resource("kubernetes:apps/v1:Deployment", spec))).toEqual([
      expect.stringContaining('containers[0] "api": seccompProfile.type is unset on the container and the pod'),
    ]);
    (spec.containers as Obj[])[0].securityContext = {
      ...((spec.containers as Obj[])[0].securityContext as Obj),
      seccompProfile: { type: "RuntimeDefault" },
    };
    expect(await restricted(resource("kubernetes:apps/v1:Deployment", spec))).toEqual([]);
  });
});

describe("Pod Security restricted, AppArmor annotations", () => {
  const key = "container.apparmor.security.beta.kubernetes.io/api";

  test.each(["runtime/default", "localhost/k8s-api"])("passes %s", async (value) => {
    for (const kind of KIND_NAMES)
      expect(await restricted(resource(kind, podSpec(), { annotations: { [key]: value } }))).toEqual([]);
  });

  test.each(["unconfined", "docker/default", "Unconfined"])("rejects %s", async (value) => {
    for (const kind of KIND_NAMES) {
      expect(await restricted(resource(kind, podSpec(), { annotations: { [key]: value } }))).toEqual([
        expect.stringContaining(`annotation ${key}: ${value} is not runtime/default or localhost/<profile>`),
      ]);
    }
  });
});

describe.each(LISTS)("Pod Security restricted, %s", (list) => {
  test.each(CONTAINER_GOOD)("passes %s = %j", async (field, value) => {
    for (const kind of KIND_NAMES)
      expect(await restricted(resource(kind, withContainerField(list, field, value)))).toEqual([]);
  });

  test.each(CONTAINER_BAD)("rejects %s = %j", async (field, value, expected) => {
    for (const kind of KIND_NAMES) {
      const found = await restricted(resource(kind, withContainerField(list, field, value)));
      expect(found).toEqual([expect.stringMatching(expected)]);
      expect(found[0]).toContain(`.${list}[${list === "containers" ? 1 : 0}] "changed": `);
    }
  });

  test("a runAsUser > 0 without runAsNonRoot: true on the container or the pod", async () => {
    const spec = withContainerField(list, "securityContext.runAsUser", 1000);
    spec.securityContext = { seccompProfile: { type: "RuntimeDefault" } };
    for (const c of (spec.containers as Obj[]).filter((c) => c.name !== "changed"))
      c.securityContext = { ...(c.securityContext as Obj), runAsNonRoot: true };
    const found = await restricted(resource("kubernetes:apps/v1:Deployment", spec));
    expect(found).toEqual([expect.stringContaining('"changed": runAsUser 1000 is set but runAsNonRoot: true is not')]);
  });
});

describe("Pod Security restricted, exemptions", () => {
  test("a named, reasoned exemption suppresses the finding and says so", async () => {
    const metadata = {
      annotations: {
        "northstack.io/policy-exempt": "containers-least-privilege",
        "northstack.io/policy-exempt-reason": "node agent; OPS-7",
      },
    };
    const found = await messages(
      containersLeastPrivilege,
      resource("kubernetes:apps/v1:DaemonSet", withPodField("hostNetwork", true), metadata),
    );
    expect(found).toEqual([
      expect.stringMatching(/^exempt from containers-least-privilege \(reason: "node agent; OPS-7"\)/),
    ]);
    expect(found[0]).toContain("hostNetwork: true");
  });
});
