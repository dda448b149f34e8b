import { containersLeastPrivilege as policy } from "../../policy/policies";
import { container, cronJob, deployment, dockerContainer, messages, podSpec } from "./fixtures";

describe("containers-least-privilege on Docker", () => {
  test("passes the runtime's hardened container, and NET_BIND_SERVICE added back", async () => {
    expect(await messages(policy, dockerContainer())).toEqual([]);
    expect(await messages(policy, dockerContainer({ capabilities: { drops: ["ALL"], adds: ["NET_BIND_SERVICE"] } }))).toEqual([]);
  });

  test.each([
    [{ privileged: true }, /runs privileged/],
    [{ networkMode: "host" }, /host network/],
    [{ pidMode: "host" }, /host PID namespace/],
    [{ securityOpts: [] }, /no-new-privileges/],
    [{ securityOpts: ["seccomp=unconfined"] }, /no-new-privileges/],
    [{ volumes: [{ hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" }] }, /Docker socket \/var\/run\/docker.sock/],
    [{ mounts: [{ type: "bind", source: "/run/docker.sock", target: "/docker.sock" }] }, /Docker socket \/run\/docker.sock/],
    [{ capabilities: { drops: ["NET_RAW"], adds: [] } }, /do not drop ALL/],
    [{ capabilities: { drops: ["ALL"], adds: ["SYS_ADMIN"] } }, /add SYS_ADMIN/],
  ])("rejects %j", async (override, expected) => {
    const found = await messages(policy, dockerContainer(override));
    expect(found).toEqual([expect.stringMatching(expected)]);
  });

  test("reports capabilities unknown at preview", async () => {
    expect(await messages(policy, dockerContainer({ capabilities: { drops: "[unknown]" } }))).toEqual([expect.stringMatching(/unknown at preview/)]);
  });
});

describe("containers-least-privilege on Kubernetes", () => {
  test("passes the restricted profile, seccomp on the pod or on the container", async () => {
    expect(await messages(policy, deployment())).toEqual([]);
    const perContainer = podSpec({
      securityContext: { runAsNonRoot: true },
      containers: [container("api", { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, seccompProfile: { type: "RuntimeDefault" } } })],
    });
    expect(await messages(policy, deployment(perContainer))).toEqual([]);
  });

  test("rejects host namespaces and hostPath volumes", async () => {
    const spec = podSpec({ hostNetwork: true, hostPID: true, hostIPC: true, volumes: [{ name: "host", hostPath: { path: "/" } }] });
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
        container("a", { securityContext: { privileged: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } }),
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
      initContainers: [container("init", { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], add: ["NET_ADMIN", "NET_BIND_SERVICE"] } } })],
      containers: [container("api", { securityContext: { allowPrivilegeEscalation: false } })],
    });
    expect(await messages(policy, deployment(spec))).toEqual([
      expect.stringContaining('containers[0] "api": capabilities do not drop ALL'),
      expect.stringContaining('initContainers[0] "init": capabilities add NET_ADMIN'),
    ]);
  });

  test("requires seccomp RuntimeDefault, on a CronJob too", async () => {
    const found = await messages(policy, cronJob(podSpec({ restartPolicy: "OnFailure", securityContext: { runAsNonRoot: true, seccompProfile: { type: "Unconfined" } } })));
    expect(found).toEqual([expect.stringContaining('seccompProfile.type is "Unconfined", must be RuntimeDefault')]);
  });

  test("reports a pod spec unknown at preview", async () => {
    const input = deployment();
    (input.props.spec as Record<string, unknown>).template = { spec: "[unknown]" };
    expect(await messages(policy, input)).toEqual([expect.stringMatching(/pod spec is unknown at preview/)]);
  });
});
