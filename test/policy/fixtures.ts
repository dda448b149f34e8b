/**
 * Compliant resources that tests break one field at a time, and shortcuts to a policy's messages.
 * Every message a test file obtains through these helpers is checked, after the file's tests, to end
 * with a concrete fix: `pulumi preview` shows the message but not the policy's remediation steps.
 */
import {
  ArgsContext,
  Reported,
  ResourceInput,
  StackResourceInput,
  policyResources,
  runStackPolicy,
  stackArgs,
  violationsOf,
} from "../../policy/evaluate";
import { NorthstackPolicy } from "../../policy/policies";
import { FIX_CLAUSE } from "../../policy/lib/framework";

const produced: string[] = [];

/** True for a violation that names its fix; exemption notices carry the suppressed finding's fix or need none. */
export const hasFix = (message: string) => /; fix: \S.*\.$/.test(message) && message.includes(FIX_CLAUSE);
const isExemptionNotice = (message: string) => /^exempt from [a-z-]+ \(reason: "[^"]*"\)$/.test(message);

afterAll(() => {
  expect(produced.filter((m) => !hasFix(m) && !isExemptionNotice(m))).toEqual([]);
});

export function record(reported: readonly Reported[]): Reported[] {
  for (const r of reported) produced.push(r.message);
  return [...reported];
}

export async function messages(
  policy: NorthstackPolicy,
  input: ResourceInput,
  context: ArgsContext = {},
): Promise<string[]> {
  return record(await violationsOf(policy, input, context)).map((v) => v.message);
}

/** What a policy's validateStack reports for these resources. */
export async function stackViolations(
  policy: NorthstackPolicy,
  inputs: readonly StackResourceInput[],
  context: ArgsContext = {},
): Promise<Reported[]> {
  const result = await runStackPolicy(policy, stackArgs(policyResources(inputs), context));
  return Array.isArray(result) ? record(result) : [];
}

/** Messages from validateResource of each resource and from validateStack, as CrossGuard runs them. */
export async function allMessages(
  policy: NorthstackPolicy,
  inputs: readonly StackResourceInput[],
  context: ArgsContext = {},
): Promise<string[]> {
  const perResource = (await Promise.all(inputs.map((i) => violationsOf(policy, i, context)))).flat();
  return [...record(perResource), ...(await stackViolations(policy, inputs, context))].map((v) => v.message);
}

export const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export function dockerContainer(overrides: Record<string, unknown> = {}): ResourceInput {
  return {
    type: "docker:index/container:Container",
    name: "api",
    props: {
      image: "ghcr.io/northstack/api:0.1.0@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
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
    image: "ghcr.io/northstack/api:0.1.0@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
    resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "250m", memory: "256Mi" } },
    readinessProbe: { httpGet: { path: "/health", port: 8080 } },
    livenessProbe: { httpGet: { path: "/health", port: 8080 } },
    ...overrides,
  };
}

export function podSpec(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containers: [container()],
    ...overrides,
  };
}

export const deployment = (
  spec: Record<string, unknown> = podSpec(),
  metadata: Record<string, unknown> = { name: "api" },
): ResourceInput => ({
  type: "kubernetes:apps/v1:Deployment",
  name: "api",
  props: { metadata, spec: { replicas: 2, template: { metadata: { labels: { app: "api" } }, spec } } },
});

export const cronJob = (spec: Record<string, unknown> = podSpec({ restartPolicy: "OnFailure" })): ResourceInput => ({
  type: "kubernetes:batch/v1:CronJob",
  name: "backup",
  props: {
    metadata: { name: "backup" },
    spec: { schedule: "0 3 * * *", jobTemplate: { spec: { template: { spec } } } },
  },
});

export const pod = (spec: Record<string, unknown> = podSpec()): ResourceInput => ({
  type: "kubernetes:core/v1:Pod",
  name: "debug",
  props: { metadata: { name: "debug" }, spec },
});
