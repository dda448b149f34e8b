/**
 * The Kubernetes runtime's controllers and config objects, checked as plain data: the builders in
 * components/runtime/kubernetes/controllers.ts and config-objects.ts, with no mocks.
 * test/unit/kubernetes-runtime.test.ts checks the registered resources and the pods' hardening.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  configMapManifest,
  contentChecksums,
  secretManifest,
  serviceAccountManifest,
} from "../../components/runtime/kubernetes/config-objects";
import {
  autoscalerManifest,
  controllerManifest,
  jobName,
  podDisruptionBudgetManifest,
} from "../../components/runtime/kubernetes/controllers";
import { workloadMeta } from "../../components/runtime/kubernetes/manifest";
import { MIGRATIONS_LABEL, WorkloadSpec } from "../../components/workload";

const resolve = <T>(o: pulumi.Output<T>) => new Promise<T>((res) => o.apply(res));
const base = {
  component: "app",
  image: "ghcr.io/northstack/api:1.2.3",
  resources: { cpuMillis: 100, memoryMb: 64 },
  user: { uid: 1000, gid: 1000 },
};
const api: WorkloadSpec = { ...base, name: "api", ports: [{ name: "http", port: 8080 }], replicas: 3 };
const migrationFiles = [
  { path: "/migrations/001_init.sql", content: "create table notes (id int);" },
  { path: "/migrations/002_rls.sql", content: "alter table notes enable row level security;" },
];
const migrate: WorkloadSpec = {
  ...base,
  name: "migrate",
  kind: "job",
  files: migrationFiles,
  labels: { [MIGRATIONS_LABEL]: "true" },
};
const nightly: WorkloadSpec = { ...base, name: "nightly", kind: "cron", schedule: "30 6 * * *" };
const meta = (spec: WorkloadSpec) => workloadMeta(spec, "prod", "ns");
const controllerOf = (spec: WorkloadSpec) => controllerManifest(spec, meta(spec), {}, {});

describe("the controller", () => {
  test("a service runs as a Deployment that rolls without losing capacity", () => {
    const controller = controllerOf(api);
    expect(controller.kind).toBe("Deployment");
    expect(controller.manifest.spec).toMatchObject({
      replicas: 3,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    });
  });

  test("with an autoscaler the Deployment leaves the replica count to it", () => {
    expect(controllerOf({ ...api, autoscale: { min: 2, max: 4 } }).manifest.spec).toMatchObject({
      replicas: undefined,
    });
  });

  test("a workload with volumes runs as a StatefulSet whose claims are kept when it is deleted or scaled down", () => {
    const controller = controllerOf({
      ...api,
      replicas: 1,
      volumes: [{ name: "data", mountPath: "/data", sizeGb: 20 }],
    });
    expect(controller.kind).toBe("StatefulSet");
    expect(controller.manifest.spec).toMatchObject({
      serviceName: "api",
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
      volumeClaimTemplates: [
        {
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "20Gi" } } },
        },
      ],
    });
  });

  test("a job never restarts in place, and a cron job runs one at a time in UTC", () => {
    const job = controllerOf(migrate);
    expect(job.kind).toBe("Job");
    expect(job.manifest.spec).toMatchObject({ backoffLimit: 3, template: { spec: { restartPolicy: "Never" } } });
    const cron = controllerOf(nightly);
    expect(cron.kind).toBe("CronJob");
    expect(cron.manifest.spec).toMatchObject({
      schedule: "30 6 * * *",
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
    });
  });

  test("the pods carry the spec's own labels, such as the migrations label", () => {
    expect(controllerOf(migrate).manifest.spec).toMatchObject({
      template: { metadata: { labels: { [MIGRATIONS_LABEL]: "true", "app.kubernetes.io/name": "migrate" } } },
    });
  });
});

describe("availability", () => {
  test("a replicated service keeps all but one pod through voluntary disruptions; a single replica or a job gets no budget", () => {
    expect(podDisruptionBudgetManifest(api, meta(api))!.spec).toEqual({
      maxUnavailable: 1,
      selector: { matchLabels: { "app.kubernetes.io/name": "api" } },
    });
    expect(podDisruptionBudgetManifest({ ...api, replicas: 1 }, meta(api))).toBeUndefined();
    expect(
      podDisruptionBudgetManifest({ ...api, replicas: 1, autoscale: { min: 2, max: 4 } }, meta(api)),
    ).toBeDefined();
    expect(podDisruptionBudgetManifest({ ...migrate, replicas: 3 }, meta(migrate))).toBeUndefined();
  });

  test("only a service with autoscale gets an autoscaler, on CPU and memory, aimed at its controller", () => {
    const autoscaled: WorkloadSpec = { ...api, autoscale: { min: 2, max: 6, cpuPercent: 60 } };
    expect(autoscalerManifest(autoscaled, meta(api), "api")!.spec).toMatchObject({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "api" },
      minReplicas: 2,
      maxReplicas: 6,
      metrics: [
        { resource: { name: "cpu", target: { averageUtilization: 60 } } },
        { resource: { name: "memory", target: { averageUtilization: 80 } } },
      ],
    });
    expect(autoscalerManifest(api, meta(api), "api")).toBeUndefined();
  });
});

describe("config objects", () => {
  test("plain files go to a ConfigMap, one key per base name; secrets never do", () => {
    const spec: WorkloadSpec = {
      ...api,
      files: [
        { path: "/etc/a/settings.json", content: "{}" },
        { path: "/etc/a/key.pem", content: "k", secret: true },
      ],
    };
    expect(configMapManifest(spec, meta(spec))!.data).toEqual({ "settings.json": "{}" });
    expect(configMapManifest(api, meta(api))).toBeUndefined();
  });

  test("secret env (init steps' too) and secret files go to one Secret, every value a Pulumi secret", async () => {
    const spec: WorkloadSpec = {
      ...api,
      secretEnv: { DATABASE_URL: "postgres://x" },
      init: [{ name: "wait", image: "busybox:1.36", secretEnv: { TOKEN: "t" }, resources: base.resources }],
      files: [{ path: "/etc/a/key.pem", content: "k", secret: true }],
    };
    const secret = secretManifest(spec, meta(spec))!;
    expect(Object.keys(secret.stringData)).toEqual(["DATABASE_URL", "TOKEN", "key.pem"]);
    for (const value of Object.values(secret.stringData))
      expect(await pulumi.isSecret(pulumi.output(value))).toBe(true);
    expect(secretManifest(api, meta(api))).toBeUndefined();
  });

  test("a ServiceAccount never mounts its API token", () => {
    expect(serviceAccountManifest({ ...api, serviceAccount: { name: "api-sa" } }, meta(api))).toMatchObject({
      metadata: { name: "api-sa" },
      automountServiceAccountToken: false,
    });
    expect(serviceAccountManifest(api, meta(api))).toBeUndefined();
  });

  test("changed config content changes the pods' checksum, so the pods roll", async () => {
    const withFile = (content: string): WorkloadSpec => ({
      ...api,
      files: [{ path: "/etc/a/settings.json", content }],
    });
    const [one, same, other] = await Promise.all(
      [withFile("a"), withFile("a"), withFile("b")].map((s) => resolve(contentChecksums(s).config!)),
    );
    expect(one).toBe(same);
    expect(other).not.toBe(one);
    expect(contentChecksums(api)).toEqual({ config: undefined, secret: undefined });
  });

  test("a changed migration set gives the Job a new name, so it runs again; the same set keeps the name", async () => {
    const name = (spec: WorkloadSpec) => resolve(jobName(spec));
    const first = await name(migrate);
    expect(first).toMatch(/^migrate-[0-9a-f]{8}$/);
    expect(await name({ ...migrate })).toBe(first);
    expect(
      await name({
        ...migrate,
        files: [...migrationFiles, { path: "/migrations/003_more.sql", content: "select 1;" }],
      }),
    ).not.toBe(first);
    expect(await name({ ...migrate, image: "ghcr.io/northstack/api:1.2.4" })).not.toBe(first);
  });
});
