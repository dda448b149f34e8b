/**
 * Runs a Pulumi program under `pulumi.runtime.setMocks` and records every resource it registers,
 * with its parent, so that the offline plan and the tests see the same tree a preview would.
 * Nothing is deployed: the mocks echo inputs back as state, plus the few computed outputs the
 * program reads. A provider function that is not mocked here fails loudly.
 */
import * as pulumi from "@pulumi/pulumi";

export const SECRET_MARK = "[secret]";
export const UNKNOWN_MARK = "[unknown]";
/** Stands in for a provider-issued CA certificate (Memorystore's server CA) in plans. */
export const PLAN_CA_PEM = "-----BEGIN CERTIFICATE-----\nplan-only, not a certificate\n-----END CERTIFICATE-----";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";
const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export interface PlannedResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  /** URN of the parent resource, or null for a root. */
  readonly parent: string | null;
  readonly custom: boolean;
  /** Provider reference (`urn::id`) when an explicit provider was passed. */
  readonly provider: string | null;
  /** Inputs with secrets shown as "[secret]" and unknowns as "[unknown]": safe to print. */
  readonly inputs: Record<string, unknown>;
  /** Inputs with secret values revealed, for policy evaluation only; never print these. */
  readonly plainInputs: Record<string, unknown>;
  /** URNs of the resource's dependencies: explicit `dependsOn` and those its inputs carry. */
  readonly dependencies: string[];
  /** The `deleteBeforeReplace` resource option, as registered (runUnderMocks always records it). */
  readonly deleteBeforeReplace?: boolean;
  /** Paths (dot-separated) of inputs that are secrets. */
  readonly secretPaths: string[];
}

export interface MockRunOptions {
  readonly stack: string;
  readonly project?: string;
  /** Every config value, keyed `namespace:key`, as Pulumi hands them to a program. */
  readonly config: Record<string, string>;
  /** Config keys that are secret. */
  readonly secretKeys?: string[];
  /** The program; what it returns becomes the stack outputs. */
  readonly program: () => unknown;
  /** Run as a preview (outputs of resources stay unknown). Default: false. */
  readonly preview?: boolean;
  /**
   * Outputs to report for a resource instead of (merged over) the mocks' own, e.g. a failed job's
   * exit code. Sees every registration. Default: none.
   */
  readonly overrideState?: (
    type: string,
    name: string,
    inputs: Record<string, unknown>,
  ) => Record<string, unknown> | undefined;
}

export interface MockRunResult {
  readonly resources: PlannedResource[];
  readonly outputs: Record<string, unknown>;
}

type Call = (inputs: Record<string, unknown>) => Record<string, unknown>;

/** The provider functions the program is allowed to call, with offline answers. */
export const MOCKED_CALLS: Record<string, Call> = {
  "aws:index/getAvailabilityZones:getAvailabilityZones": (i) => {
    const region = String(i.region ?? "ca-central-1");
    const suffixes = region === "ca-west-1" ? ["a", "b", "c"] : ["a", "b", "d"];
    return {
      names: suffixes.map((s) => `${region}${s}`),
      zoneIds: suffixes.map((_, n) => `cac1-az${n + 1}`),
      state: "available",
    };
  },
  "aws:index/getCallerIdentity:getCallerIdentity": () => ({
    accountId: "111122223333",
    arn: "arn:aws:iam::111122223333:user/plan",
    userId: "PLAN",
  }),
  "aws:index/getRegion:getRegion": (i) => ({
    name: i.name ?? i.region ?? "ca-central-1",
    region: i.region ?? "ca-central-1",
  }),
  "aws:index/getPartition:getPartition": () => ({ partition: "aws", dnsSuffix: "amazonaws.com" }),
  "aws:s3/getCanonicalUserId:getCanonicalUserId": () => ({
    id: "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
  }),
  "aws:iam/getPolicyDocument:getPolicyDocument": (i) => ({
    json: JSON.stringify({ Version: "2012-10-17", Statement: i.statements ?? [] }),
  }),
  "gcp:organizations/getProject:getProject": () => ({
    projectId: "northstack-plan",
    number: "123456789012",
    name: "northstack-plan",
  }),
  "gcp:organizations/getClientConfig:getClientConfig": () => ({
    project: "northstack-plan",
    region: "northamerica-northeast1",
    accessToken: "plan",
  }),
  "gcp:projects/getProject:getProject": () => ({ projects: [{ projectId: "northstack-plan" }] }),
  "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": () => ({
    emailAddress: "service-123456789012@gs-project-accounts.iam.gserviceaccount.com",
  }),
};

/** Computed outputs that real providers return and the program reads. */
function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  const id = `${name}-id`;
  const base: Record<string, unknown> = { ...inputs, id };
  if (type.startsWith("aws:")) {
    base.arn = inputs.arn ?? `arn:aws:${type.split(":")[1]}:ca-central-1:111122223333:${name}`;
  }
  switch (type) {
    case "aws:rds/instance:Instance":
      return {
        ...base,
        address: `${name}.plan.ca-central-1.rds.amazonaws.com`,
        endpoint: `${name}.plan.ca-central-1.rds.amazonaws.com:5432`,
        port: 5432,
      };
    case "aws:elasticache/replicationGroup:ReplicationGroup":
      return { ...base, primaryEndpointAddress: `master.${name}.plan.cac1.cache.amazonaws.com`, port: 6379 };
    case "aws:s3/bucketV2:BucketV2":
    case "aws:s3/bucket:Bucket":
      return { ...base, bucket: inputs.bucket ?? name, bucketDomainName: `${name}.s3.amazonaws.com` };
    case "aws:eks/cluster:Cluster":
      return {
        ...base,
        endpoint: `https://${name}.plan.eks.amazonaws.com`,
        certificateAuthority: { data: "cGxhbg==" },
        vpcConfig: { ...(inputs.vpcConfig as object), clusterSecurityGroupId: `${name}-sg` },
        identities: [{ oidcs: [{ issuer: `https://oidc.eks.ca-central-1.amazonaws.com/id/${name}` }] }],
      };
    case "gcp:sql/databaseInstance:DatabaseInstance":
      return {
        ...base,
        name: inputs.name ?? name,
        privateIpAddress: "10.50.0.3",
        connectionName: `northstack-plan:northamerica-northeast1:${name}`,
        serverCaCerts: [],
      };
    case "gcp:redis/instance:Instance":
      // Memorystore serves in-transit encryption on 6378, plain Redis on 6379.
      return {
        ...base,
        host: "10.50.1.4",
        port: inputs.transitEncryptionMode === "SERVER_AUTHENTICATION" ? 6378 : 6379,
        authString: "plan-auth",
        serverCaCerts: [{ cert: PLAN_CA_PEM }],
      };
    case "gcp:container/cluster:Cluster":
      return { ...base, endpoint: "10.50.2.2", masterAuth: { clusterCaCertificate: "cGxhbg==" } };
    case "gcp:storage/bucket:Bucket":
      return { ...base, url: `gs://${inputs.name ?? name}` };
    case "gcp:serviceaccount/account:Account":
      return { ...base, email: `${inputs.accountId ?? name}@northstack-plan.iam.gserviceaccount.com` };
    case "gcp:storage/hmacKey:HmacKey":
      return {
        ...base,
        accessId: `GOOG1PLAN${name.toUpperCase().replace(/[^A-Z0-9]/g, "")}`,
        secret: `plan-hmac-secret-${name}`,
      };
    case "random:index/randomPassword:RandomPassword":
    case "random:index/randomString:RandomString":
      return {
        ...base,
        result: `plan-random-${name}`.padEnd(Number(inputs.length ?? 32), "x").slice(0, Number(inputs.length ?? 32)),
      };
    case "docker:index/network:Network":
      return { ...base, name: inputs.name ?? name };
    case "docker:index/container:Container":
      // An attached container has run to completion; the provider reports how it exited.
      return inputs.attach === true ? { ...base, exitCode: 0 } : base;
    default:
      if (type.startsWith("kubernetes:")) {
        const meta = (inputs.metadata ?? {}) as Record<string, unknown>;
        return { ...base, metadata: { ...meta, name: meta.name ?? name } };
      }
      return base;
  }
}

function render(value: unknown, path: string, secretPaths: string[], reveal: boolean): unknown {
  if (value === UNKNOWN_VALUE) return UNKNOWN_MARK;
  if (Array.isArray(value)) return value.map((v, i) => render(v, `${path}[${i}]`, secretPaths, reveal));
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if (o[SECRET_SIG] === SECRET_VALUE) {
      if (!reveal) secretPaths.push(path);
      return reveal ? render(o.value, path, [], true) : SECRET_MARK;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = render(v, path ? `${path}.${k}` : k, secretPaths, reveal);
    return out;
  }
  return value;
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getProvider(): string;
  getDependenciesList(): string[];
  getDeletebeforereplace(): boolean;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}
interface RegisterResponse {
  getUrn(): string;
}

/**
 * Whether errors keep their stack frames while a program runs under mocks: only when
 * NORTHSTACK_STACK_TRACES=1. @pulumi/pulumi formats a stack trace for every promise it makes
 * (runtime/debuggable.js), read only by its promise-leak report. In plain Node that is about 10% of
 * a plan's CPU; in jest, which maps every frame through source maps, it is about half of a
 * component test's. An error from the program still carries its message, which is what the plan
 * prints and the config tests match; set the variable for a stack trace when hunting a bug. Pulumi
 * still takes each resource's source position: it lifts the limit itself while it does
 * (Resource.callsites).
 */
const keepStackTraces = (): boolean => process.env.NORTHSTACK_STACK_TRACES === "1";

/**
 * Runs `program` under mocks and returns the resources and outputs, with no stack frames captured
 * meanwhile unless keepStackTraces(). Call once per module registry.
 */
export async function runUnderMocks(options: MockRunOptions): Promise<MockRunResult> {
  const resources: PlannedResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => ({
        id: `${args.name}-id`,
        state: {
          ...computedState(args.type, args.name, args.inputs),
          ...(options.overrideState?.(args.type, args.name, args.inputs) ?? {}),
        },
      }),
      call: (args) => {
        const answer = MOCKED_CALLS[args.token];
        if (!answer)
          throw new Error(
            `unmocked provider function ${args.token}; add it to MOCKED_CALLS in scripts/lib/mock-program.ts`,
          );
        return answer(args.inputs);
      },
    },
    options.project ?? "northstack",
    options.stack,
    options.preview ?? false,
  );
  pulumi.runtime.setAllConfig(options.config, options.secretKeys);

  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: (err: unknown, resp?: RegisterResponse) => void): void;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) =>
    register(req, (err, resp) => {
      if (!err && resp) {
        const raw = req.getObject()?.toJavaScript() ?? {};
        const secretPaths: string[] = [];
        resources.push({
          urn: resp.getUrn(),
          type: req.getType(),
          name: req.getName(),
          parent: req.getParent() || null,
          custom: req.getCustom(),
          provider: req.getProvider() || null,
          inputs: render(raw, "", secretPaths, false) as Record<string, unknown>,
          plainInputs: render(raw, "", [], true) as Record<string, unknown>,
          dependencies: req.getDependenciesList(),
          deleteBeforeReplace: req.getDeletebeforereplace(),
          secretPaths,
        });
      }
      cb(err, resp);
    });

  let outputs: Record<string, unknown> = {};
  const limit = Error.stackTraceLimit;
  if (!keepStackTraces()) Error.stackTraceLimit = 0;
  try {
    await pulumi.runtime.runInPulumiStack(async () => {
      outputs = ((await options.program()) ?? {}) as Record<string, unknown>;
      return outputs as pulumi.Inputs;
    });
    await pulumi.runtime.disconnect();
  } finally {
    Error.stackTraceLimit = limit;
  }
  const resolved = await resolveOutputs(outputs);
  return { resources, outputs: resolved };
}

/** Resolves stack outputs, keeping secrets masked. */
async function resolveOutputs(outputs: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(outputs)) {
    const output: pulumi.Output<unknown> = pulumi.output(v as pulumi.Input<unknown>);
    const secret = await pulumi.isSecret(output);
    const value = await new Promise<unknown>((resolve) => output.apply((x) => resolve(x)));
    result[k] = secret ? SECRET_MARK : value;
  }
  return result;
}
