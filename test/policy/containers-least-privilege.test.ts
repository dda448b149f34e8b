import { containersLeastPrivilege as policy } from "../../policy/policies";
import { container, cronJob, deployment, dockerContainer, messages, podSpec } from "./fixtures";

const task = (props: Record<string, unknown>) => ({
  type: "aws:ecs/taskDefinition:TaskDefinition",
  name: "api",
  props: { family: "api", ...props },
});
const hardened = {
  name: "api",
  image: "api:1.0.0",
  user: "1000",
  linuxParameters: { capabilities: { drop: ["ALL"] } },
};

describe("containers-least-privilege on ECS", () => {
  test("passes a container that drops ALL", async () => {
    expect(await messages(policy, task({ containerDefinitions: JSON.stringify([hardened]) }))).toEqual([]);
  });

  test("rejects the Docker socket as a host volume, privileged containers, added capabilities and devices", async () => {
    const bad = {
      ...hardened,
      privileged: true,
      linuxParameters: { capabilities: { drop: ["ALL"], add: ["SYS_ADMIN"] }, devices: [{ hostPath: "/dev/fuse" }] },
    };
    expect(
      await messages(
        policy,
        task({
          volumes: [{ name: "docker", hostPath: "/var/run/docker.sock" }],
          containerDefinitions: JSON.stringify([bad]),
        }),
      ),
    ).toEqual([
      expect.stringContaining('volumes[0] "docker" mounts the container runtime socket'),
      expect.stringContaining('containerDefinitions[0] "api": runs privileged'),
      expect.stringContaining("linuxParameters.devices exposes the host device"),
      expect.stringContaining("capabilities add SYS_ADMIN"),
    ]);
    expect(await messages(policy, task({ containerDefinitions: "[unknown]" }))).toEqual([
      expect.stringContaining("containerDefinitions is unknown at preview"),
    ]);
  });
});

describe("containers-least-privilege on Docker", () => {
  test("passes the runtime's hardened container, and NET_BIND_SERVICE added back", async () => {
    expect(await messages(policy, dockerContainer())).toEqual([]);
    expect(
      await messages(policy, dockerContainer({ capabilities: { drops: ["ALL"], adds: ["NET_BIND_SERVICE"] } })),
    ).toEqual([]);
  });

  test.each([
    [{ privileged: true }, /runs privileged/],
    [{ networkMode: "host" }, /host network/],
    [{ pidMode: "host" }, /host PID namespace/],
    [{ securityOpts: [] }, /no-new-privileges/],
    [
      { securityOpts: ["no-new-privileges:true", "seccomp=unconfined"] },
      /"seccomp=unconfined" turns off the seccomp profile/,
    ],
    [{ securityOpts: ["no-new-privileges:true", "seccomp:unconfined"] }, /turns off the seccomp profile/],
    [{ securityOpts: ["no-new-privileges:true", "apparmor=unconfined"] }, /turns off the apparmor profile/],
    [{ securityOpts: ["no-new-privileges:true", "apparmor:unconfined"] }, /turns off the apparmor profile/],
    [
      { volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }] },
      /runtime socket "\/var\/run\/docker.sock"/,
    ],
    [
      { mounts: [{ type: "bind", source: "/run/docker.sock", target: "/docker.sock" }] },
      /runtime socket "\/run\/docker.sock"/,
    ],
    [{ mounts: [{ type: "bind", source: "/home/ci/.docker/run/docker.sock", target: "/s" }] }, /runtime socket/],
    [{ volumes: [{ hostPath: "/run/containerd/containerd.sock", containerPath: "/c.sock" }] }, /runtime socket/],
    [{ volumes: [{ hostPath: "/", containerPath: "/host" }] }, /bind-mounts the host path "\/"/],
    [{ mounts: [{ type: "bind", source: "/var/run", target: "/r" }] }, /host path "\/var\/run"/],
    [{ mounts: [{ type: "bind", source: "/etc/", target: "/e" }] }, /host path "\/etc\/"/],
    [{ volumes: [{ hostPath: "/proc", containerPath: "/p" }] }, /host path "\/proc"/],
    [{ volumes: [{ hostPath: "/sys/fs/cgroup", containerPath: "/s" }] }, /host path "\/sys\/fs\/cgroup"/],
    [{ devices: [{ hostPath: "/dev/kvm" }] }, /devices\[0\] exposes the host device "\/dev\/kvm"/],
    [{ capabilities: { drops: ["NET_RAW"], adds: [] } }, /do not drop ALL/],
    [{ capabilities: { drops: ["ALL"], adds: ["SYS_ADMIN"] } }, /add SYS_ADMIN/],
  ])("rejects %j", async (override, expected) => {
    const found = await messages(policy, dockerContainer(override));
    expect(found).toEqual([expect.stringMatching(expected)]);
  });

  test("passes named volumes and bind mounts of ordinary paths", async () => {
    expect(
      await messages(
        policy,
        dockerContainer({
          volumes: [{ volumeName: "data", containerPath: "/data" }],
          mounts: [{ type: "bind", source: "/srv/app/config", target: "/config" }],
        }),
      ),
    ).toEqual([]);
  });

  test.each([
    [{ capabilities: { drops: "[unknown]" } }, "capabilities.drops"],
    [{ privileged: "[unknown]" }, "privileged"],
    [{ networkMode: "[unknown]" }, "networkMode"],
    [{ volumes: "[unknown]" }, "volumes"],
    [{ mounts: [{ type: "bind", source: "[unknown]" }] }, "mounts[0].source"],
    [{ devices: "[unknown]" }, "devices"],
    [{ securityOpts: "[unknown]" }, "securityOpts"],
  ])("reports %j as cannot verify, naming the field", async (override, field) => {
    expect(await messages(policy, dockerContainer(override))).toEqual([
      `Docker container api: ${field} is unknown at preview, so least privilege cannot be verified; fix: make ${field} known at preview: set it from a literal or plain stack config rather than another resource's output.`,
    ]);
  });
});

describe("containers-least-privilege on Kubernetes", () => {
  test("passes the restricted profile, seccomp on the pod or on the container", async () => {
    expect(await messages(policy, deployment())).toEqual([]);
    const perContainer = podSpec({
      securityContext: { runAsNonRoot: true },
      containers: [
        container("api", {
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
          },
        }),
      ],
    });
    expect(await messages(policy, deployment(perContainer))).toEqual([]);
  });

  test("rejects host namespaces and hostPath volumes", async () => {
    const spec = podSpec({
      hostNetwork: true,
      hostPID: true,
      hostIPC: true,
      volumes: [{ name: "host", hostPath: { path: "/" } }],
    });
    const found = await messages(policy, deployment(spec));
    expect(found).toEqual([
      expect.stringContaining("hostNetwork: true"),
      expect.stringContaining("hostPID: true"),
      expect.stringContaining("hostIPC: true"),
      expect.stringContaining('volume "host" is a hostPath volume'),
    ]);
  });

  test("rejects privileged and privilege escalation, including an unset allowPrivilegeEscalation", async () => {
    const spec = podSpec({
      containers: [
        container("a", {
          securityContext: { privileged: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        }),
        container("b", { securityContext: { capabilities: { drop: ["ALL"] } } }),
      ],
    });
    expect(await messages(policy, deployment(spec))).toEqual([
      expect.stringContaining('containers[0] "a": privileged: true'),
      expect.stringContaining('containers[1] "b": allowPrivilegeEscalation is unset, must be false'),
    ]);
  });

  test("rejects capabilities that are not dropped or added beyond NET_BIND_SERVICE, in initContainers too", async () => {
    const spec = podSpec({
      initContainers: [
        container("init", {
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"], add: ["NET_ADMIN", "NET_BIND_SERVICE"] },
          },
        }),
      ],
      containers: [container("api", { securityContext: { allowPrivilegeEscalation: false } })],
    });
    expect(await messages(policy, deployment(spec))).toEqual([
      expect.stringContaining('containers[0] "api": capabilities do not drop ALL'),
      expect.stringContaining('initContainers[0] "init": capabilities add NET_ADMIN'),
    ]);
  });

  test("requires seccomp RuntimeDefault, on a CronJob too", async () => {
    const found = await messages(
      policy,
      cronJob(
        podSpec({
          restartPolicy: "OnFailure",
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "Unconfined" } },
        }),
      ),
    );
    expect(found).toEqual([expect.stringContaining('seccompProfile.type is "Unconfined", must be RuntimeDefault')]);
  });

  test("rejects what Pod Security baseline forbids: hostPort, unmasked /proc, Windows host processes, unconfined AppArmor", async () => {
    const spec = podSpec({
      securityContext: {
        runAsNonRoot: true,
        seccompProfile: { type: "RuntimeDefault" },
        windowsOptions: { hostProcess: true },
      },
      containers: [
        container("a", { ports: [{ containerPort: 8080, hostPort: 8080 }] }),
        container("b", {
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ["ALL"] },
            procMount: "Unmasked",
            appArmorProfile: { type: "Unconfined" },
          },
        }),
      ],
    });
    const input = deployment(spec);
    (input.props.spec as { template: { metadata: Record<string, unknown> } }).template.metadata = {
      annotations: { "container.apparmor.security.beta.kubernetes.io/a": "unconfined" },
    };
    expect(await messages(policy, input)).toEqual([
      expect.stringContaining("spec.template.spec: securityContext.windowsOptions.hostProcess: true"),
      expect.stringContaining(
        "annotation container.apparmor.security.beta.kubernetes.io/a: unconfined is not runtime/default or localhost/<profile>",
      ),
      expect.stringContaining('containers[0] "a": ports[0].hostPort 8080 binds a port on the node'),
      expect.stringContaining(
        'containers[1] "b": securityContext.appArmorProfile.type is "Unconfined", not RuntimeDefault or Localhost',
      ),
      expect.stringContaining('containers[1] "b": procMount is "Unmasked"'),
    ]);
    expect(
      await messages(
        policy,
        deployment(podSpec({ containers: [container("a", { ports: [{ containerPort: 8080 }] })] })),
      ),
    ).toEqual([]);
  });

  test("checks batch/v1beta1 CronJobs and PodTemplates", async () => {
    const hostNetwork = podSpec({ hostNetwork: true });
    expect(await messages(policy, { ...cronJob(hostNetwork), type: "kubernetes:batch/v1beta1:CronJob" })).toEqual([
      expect.stringContaining("hostNetwork: true"),
    ]);
    expect(
      await messages(policy, {
        type: "kubernetes:core/v1:PodTemplate",
        name: "t",
        props: { template: { spec: hostNetwork } },
      }),
    ).toEqual([expect.stringContaining("template.spec: hostNetwork: true")]);
  });

  test("reports a pod spec, a container list, host fields and volumes unknown at preview as cannot verify", async () => {
    const input = deployment();
    (input.props.spec as Record<string, unknown>).template = { spec: "[unknown]" };
    expect(await messages(policy, input)).toEqual([
      expect.stringMatching(/: spec.template.spec is unknown at preview, so its privileges cannot be verified; fix: /),
    ]);
    expect(await messages(policy, deployment(podSpec({ containers: "[unknown]" })))).toEqual([
      expect.stringContaining("spec.template.spec.containers is unknown at preview"),
    ]);
    expect(
      await messages(
        policy,
        deployment(podSpec({ hostNetwork: "[unknown]", volumes: [{ name: "v", hostPath: "[unknown]" }, "[unknown]"] })),
      ),
    ).toEqual([
      expect.stringContaining("hostNetwork is unknown at preview"),
      expect.stringContaining("volumes[1] is unknown at preview"),
      expect.stringContaining('volume "v" is a hostPath volume'),
    ]);
  });
});
