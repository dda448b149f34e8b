/** Compliant resources that tests break one field at a time, and a shortcut to a policy's messages. */
import { ArgsContext, ResourceInput, violationsOf } from "../../policy/evaluate";
import { NorthstackPolicy } from "../../policy/policies";

export async function messages(policy: NorthstackPolicy, input: ResourceInput, context: ArgsContext = {}): Promise<string[]> {
  return (await violationsOf(policy, input, context)).map((v) => v.message);
}

export const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export function dockerContainer(overrides: Record<string, unknown> = {}): ResourceInput {
  return {
    type: "docker:index/container:Container",
    name: "api",
    props: {
      image: "ghcr.io/northstack/api:0.1.0",
      user: "10001:10001",
      securityOpts: ["no-new-privileges:true"],
      capabilities: { drops: ["ALL"], adds: [] },
      privileged: false,
      readOnly: true,
      memory: 256,
      cpus: "0.25",
      restart: "unless-stopped",
      healthcheck: { tests: ["CMD", "wget", "-qO-", "http://127.0.0.1:8080/health"] },
      ports: [{ internal: 8080, external: 8080, ip: "127.0.0.1" }],
      labels: [{ label: "app.kubernetes.io/name", value: "api" }],
      ...overrides,
    },
  };
}

export function container(name = "api", overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    image: "ghcr.io/northstack/api:0.1.0",
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "250m", memory: "256Mi" } },
    readinessProbe: { httpGet: { path: "/health", port: 8080 } },
    livenessProbe: { httpGet: { path: "/health", port: 8080 } },
    ...overrides,
  };
}

export function podSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, seccompProfile: { type: "RuntimeDefault" } },
    containers: [container()],
    ...overrides,
  };
}

export const deployment = (spec: Record<string, unknown> = podSpec(), metadata: Record<string, unknown> = { name: "api" }): ResourceInput => ({
  type: "kubernetes:apps/v1:Deployment",
  name: "api",
  props: { metadata, spec: { replicas: 2, template: { metadata: { labels: { app: "api" } }, spec } } },
});

export const cronJob = (spec: Record<string, unknown> = podSpec({ restartPolicy: "OnFailure" })): ResourceInput => ({
  type: "kubernetes:batch/v1:CronJob",
  name: "backup",
  props: { metadata: { name: "backup" }, spec: { schedule: "0 3 * * *", jobTemplate: { spec: { template: { spec } } } } },
});

export const pod = (spec: Record<string, unknown> = podSpec()): ResourceInput => ({ type: "kubernetes:core/v1:Pod", name: "debug", props: { metadata: { name: "debug" }, spec } });
