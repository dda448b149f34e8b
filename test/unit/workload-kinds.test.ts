/**
 * The WorkloadSpec extensions for scheduled jobs and workload identities, rendered by the Kubernetes
 * runtime (CronJob with init steps, ServiceAccount, Pod Identity egress) and refused by Docker.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DockerRuntime } from "../../components/runtime/docker";
import { EKS_POD_IDENTITY_AGENT, KubernetesRuntime, podIdentityEgress } from "../../components/runtime/kubernetes";
import { WorkloadSpec, validateWorkload } from "../../components/workload";
import { MockRunResult, PlannedResource, SECRET_MARK, runUnderMocks } from "../../scripts/lib/mock-program";
import { kubernetesSchemaProblems } from "../helpers/k8s-schema";
import { northstackHardeningProblems, podSecurityProblems } from "../helpers/pod-security";

type Obj = Record<string, unknown>;

class Holder extends pulumi.ComponentResource {
  constructor(name: string) {
    super("northstack:test:Holder", name, {}, {});
    this.registerOutputs({});
  }
}

const nightly: WorkloadSpec = {
  name: "nightly",
  component: "backup",
  kind: "cron",
  schedule: "30 6 * * *",
  image: "amazon/aws-cli:2.22.35",
  command: ["/bin/bash", "/opt/job.sh"],
  args: ["upload"],
  init: [
    {
      name: "nightly-dump",
      image: "postgres:15.8-bookworm",
      command: ["/bin/bash", "/opt/job.sh"],
      args: ["dump"],
      env: { PGHOST: "db" },
      secretEnv: { PGPASSWORD: pulumi.secret("dump-password") },
      resources: { cpuMillis: 500, memoryMb: 512 },
      user: { uid: 999, gid: 999 },
    },
  ],
  env: { BACKUP_BUCKET: "bucket" },
  secretEnv: { AWS_SECRET_ACCESS_KEY: pulumi.secret("hmac-secret") },
  files: [{ path: "/opt/job.sh", content: "echo run" }],
  scratch: [{ mountPath: "/backups", sizeMb: 2048 }],
  resources: { cpuMillis: 250, memoryMb: 256 },
  user: { uid: 1000, gid: 1000 },
  serviceAccount: { name: "nightly", eksPodIdentity: true },
};
const web: WorkloadSpec = {
  name: "web",
  component: "app",
  image: "ghcr.io/northstack/web:1.0.0",
  ports: [{ name: "http", port: 8080 }],
  health: { exec: ["true"], httpGet: { path: "/", port: 8080 } },
  resources: { cpuMillis: 100, memoryMb: 64 },
  user: { uid: 1000, gid: 1000 },
  serviceAccount: { name: "web" },
};

let run: MockRunResult;
beforeAll(async () => {
  await jest.isolateModulesAsync(async () => {
    run = await runUnderMocks({
      stack: "staging",
      config: {},
      program: () => {
        const provider = new k8s.Provider("k8s", { kubeconfig: "{}" });
        const runtime = new KubernetesRuntime("k8s", {
          stack: "staging",
          provider,
          namespace: "northstack-staging",
          dataServices: [{ name: "postgres", cidrs: ["10.40.0.0/16"], port: 5432, clients: ["nightly", "web"] }],
          publicEgress: [{ client: "nightly", ports: [443], reason: "uploads to an object store" }],
        });
        const holder = new Holder("holder");
        runtime.deploy(nightly, holder);
        runtime.deploy(web, holder);
        return {};
      },
    });
  });
});

const ofType = (type: string) => run.resources.filter((r) => r.type === type);
const named = (type: string, name: string) => ofType(type).find((r) => r.name === name) as PlannedResource;
const podOf = (cron: PlannedResource) =>
  ((((cron.inputs.spec as Obj).jobTemplate as Obj).spec as Obj).template as Obj).spec as Obj;

describe("a cron workload on Kubernetes", () => {
  test("renders one CronJob in UTC that never overlaps, keeps a short history and retries a failed pod", () => {
    const cron = named("kubernetes:batch/v1:CronJob", "nightly");
    const spec = cron.inputs.spec as Obj;
    expect(spec).toEqual(
      expect.objectContaining({
        schedule: "30 6 * * *",
        timeZone: "Etc/UTC",
        concurrencyPolicy: "Forbid",
        successfulJobsHistoryLimit: 3,
        failedJobsHistoryLimit: 3,
      }),
    );
    expect((spec.jobTemplate as { spec: Obj }).spec).toEqual(
      expect.objectContaining({ backoffLimit: 2, ttlSecondsAfterFinished: 7 * 24 * 3600 }),
    );
    expect(podOf(cron).restartPolicy).toBe("Never");
    // No Deployment, Service, PDB or Job for it.
    for (const type of [
      "kubernetes:apps/v1:Deployment",
      "kubernetes:core/v1:Service",
      "kubernetes:batch/v1:Job",
      "kubernetes:policy/v1:PodDisruptionBudget",
    ]) {
      expect(ofType(type).map((r) => r.name)).not.toContain("nightly");
    }
  });

  test("the init step runs first with its own image, identity and limits, and shares the files and scratch", () => {
    const pod = podOf(named("kubernetes:batch/v1:CronJob", "nightly"));
    const [init] = pod.initContainers as Obj[];
    const [main] = pod.containers as Obj[];
    expect(init).toEqual(
      expect.objectContaining({
        name: "nightly-dump",
        image: "postgres:15.8-bookworm",
        args: ["dump"],
        resources: { requests: { cpu: "125m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
      }),
    );
    expect(init.securityContext).toEqual(
      expect.objectContaining({
        runAsUser: 999,
        runAsGroup: 999,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      }),
    );
    expect(main.securityContext).toEqual(expect.objectContaining({ runAsUser: 1000, runAsGroup: 1000 }));
    expect(init.volumeMounts).toEqual(main.volumeMounts);
    expect((main.volumeMounts as Obj[]).map((m) => m.mountPath)).toEqual(["/opt/job.sh", "/backups"]);
    expect(main.readinessProbe).toBeUndefined();
  });

  test("secret env of the step and of the container come from one Secret, by key", () => {
    const secret = named("kubernetes:core/v1:Secret", "nightly-secret");
    expect(Object.keys(secret.plainInputs.stringData as Obj).sort()).toEqual(["AWS_SECRET_ACCESS_KEY", "PGPASSWORD"]);
    expect(secret.inputs.stringData).toBe(SECRET_MARK);
    const [init] = podOf(named("kubernetes:batch/v1:CronJob", "nightly")).initContainers as { env: Obj[] }[];
    expect(init.env).toEqual([
      { name: "PGHOST", value: "db" },
      { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: expect.any(String), key: "PGPASSWORD" } } },
    ]);
  });

  test("passes the Kubernetes schema, Pod Security 'restricted' and the northstack hardening rules", () => {
    expect(kubernetesSchemaProblems(run.resources)).toEqual([]);
    expect(podSecurityProblems(run.resources)).toEqual([]);
    expect(northstackHardeningProblems(run.resources)).toEqual([]);
  });
});

describe("workload ServiceAccounts", () => {
  test("each is created without an automounted token, and the pods run as it, still without the API token", () => {
    const accounts = ofType("kubernetes:core/v1:ServiceAccount");
    expect(accounts.map((a) => [(a.inputs.metadata as Obj).name, a.inputs.automountServiceAccountToken])).toEqual([
      ["nightly", false],
      ["web", false],
    ]);
    expect(podOf(named("kubernetes:batch/v1:CronJob", "nightly"))).toEqual(
      expect.objectContaining({ serviceAccountName: "nightly", automountServiceAccountToken: false }),
    );
    const webPod = ((named("kubernetes:apps/v1:Deployment", "web").inputs.spec as Obj).template as Obj).spec as Obj;
    expect(webPod).toEqual(expect.objectContaining({ serviceAccountName: "web", automountServiceAccountToken: false }));
  });

  test("only a workload with EKS Pod Identity may reach the agent, on its address and port only", () => {
    const egressOf = (name: string) =>
      ((named("kubernetes:networking.k8s.io/v1:NetworkPolicy", `${name}-netpol`).inputs.spec as Obj).egress as Obj[]) ??
      [];
    const agentRules = (name: string) =>
      egressOf(name).filter((rule) => JSON.stringify(rule).includes("169.254.170.23"));
    expect(agentRules("nightly")).toEqual([
      { to: [{ ipBlock: { cidr: "169.254.170.23/32" } }], ports: [{ protocol: "TCP", port: 80 }] },
    ]);
    expect(agentRules("web")).toEqual([]);
    // Link-local stays excluded from the HTTPS rule, so instance metadata remains closed.
    const https = egressOf("nightly").find((rule) => JSON.stringify(rule).includes("0.0.0.0/0")) as {
      to: { ipBlock: { except: string[] } }[];
    };
    expect(https.to[0].ipBlock.except).toContain("169.254.0.0/16");
    expect(podIdentityEgress({})).toEqual([]);
    expect(EKS_POD_IDENTITY_AGENT).toEqual({ cidr: "169.254.170.23/32", port: 80 });
  });
});

describe("validation", () => {
  const base = { ...nightly, serviceAccount: undefined };
  test.each([
    [
      "a cron without a schedule",
      { ...base, schedule: undefined },
      /schedule undefined is not allowed; a cron workload needs five cron fields/,
    ],
    ["a macro schedule", { ...base, schedule: "@daily" }, /schedule "@daily" is not allowed/],
    [
      "a schedule on a service",
      { ...web, schedule: "0 * * * *" },
      /schedule "0 \* \* \* \*" is only allowed with kind "cron"/,
    ],
    ["ports on a cron", { ...base, ports: [{ name: "http", port: 80 }] }, /a cron cannot listen on ports/],
    [
      "a root init step",
      { ...base, init: [{ ...nightly.init![0], user: { uid: 0, gid: 0 } }] },
      /init step "nightly-dump": user.uid 0 must be a non-root uid/,
    ],
    [
      "an init step named like the workload",
      { ...base, init: [{ ...nightly.init![0], name: "nightly" }] },
      /init step "nightly": name is already used/,
    ],
    [
      "an unpinned init image",
      { ...base, init: [{ ...nightly.init![0], image: "postgres" }] },
      /init step "nightly-dump": image "postgres" has no tag/,
    ],
    [
      "a ServiceAccount name that is not a DNS label",
      { ...web, serviceAccount: { name: "Web_SA" } },
      /serviceAccount.name "Web_SA" is not a DNS label/,
    ],
  ] as [string, WorkloadSpec, RegExp][])("%s is refused, naming the field", (_case, spec, message) => {
    expect(() => validateWorkload(spec)).toThrow(message);
  });

  test("a secret env name used by both the step and the container is refused on Kubernetes before anything is registered", async () => {
    const clash: WorkloadSpec = { ...base, secretEnv: { PGPASSWORD: "other" } };
    let registered: string[] = [];
    let error: unknown;
    await jest.isolateModulesAsync(async () => {
      const result = await runUnderMocks({
        stack: "staging",
        config: {},
        program: () => {
          const runtime = new KubernetesRuntime("k8s", {
            stack: "staging",
            provider: new k8s.Provider("k8s", { kubeconfig: "{}" }),
            namespace: "ns",
          });
          try {
            runtime.deploy(clash, new Holder("holder"));
          } catch (e) {
            error = e;
          }
          return {};
        },
      });
      registered = result.resources.filter((r) => r.name.startsWith("nightly")).map((r) => r.name);
    });
    expect(String(error)).toMatch(
      /init step "nightly-dump" secretEnv "PGPASSWORD" and secretEnv "PGPASSWORD" both map to the key "PGPASSWORD"/,
    );
    expect(registered).toEqual([]);
  });

  test("Docker refuses cron workloads and init steps by name, and ignores ServiceAccounts", async () => {
    const errors: string[] = [];
    await jest.isolateModulesAsync(async () => {
      const result = await runUnderMocks({
        stack: "dev",
        config: {},
        program: () => {
          const runtime = new DockerRuntime("docker", { stack: "dev" });
          const holder = new Holder("holder");
          for (const spec of [
            nightly,
            { ...web, name: "web-init", init: nightly.init!.map((s) => ({ ...s, name: "web-init-step" })) },
          ]) {
            try {
              runtime.deploy(spec, holder);
            } catch (e) {
              errors.push(String(e));
            }
          }
          runtime.deploy(web, holder);
          return {};
        },
      });
      expect(result.resources.filter((r) => r.type === "docker:index/container:Container").map((r) => r.name)).toEqual([
        "web",
      ]);
    });
    expect(errors[0]).toMatch(
      /workload "nightly" on docker: kind "cron" is not supported; run the task as a service that loops/,
    );
    expect(errors[1]).toMatch(/workload "web-init" on docker: init steps are not supported/);
  });
});
