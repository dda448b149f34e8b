/**
 * The real pack, as the Pulumi CLI runs it: policy/index.ts started in its own process serves
 * @pulumi/policy's gRPC analyzer, and we call it the way the engine does. This checks what the
 * harness cannot: that the pack starts, and that the real server honours the advisory level of
 * exemptions and never downgrades an unknown value to "can't run during preview".
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import {
  AnalyzeDiagnostic,
  AnalyzeRequest,
  AnalyzeResponse,
  AnalyzerInfo,
  AnalyzerResourceOptions,
  EnforcementLevel,
} from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";

const POLICY_DIR = path.resolve(__dirname, "..", "..", "policy");
/** How the engine sends a string that is unknown during preview. */
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

let pack: ChildProcess;
let client: AnalyzerClient;

beforeAll(async () => {
  pack = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "index.ts"], {
    cwd: POLICY_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    let err = "";
    pack.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\s*$/m.exec(out);
      if (m) resolve(m[1]);
    });
    pack.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    pack.on("exit", (code) => reject(new Error(`the pack exited with ${code} before serving:\n${err}`)));
  });
  client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 60000);

afterAll(() => {
  client?.close();
  if (pack?.pid) process.kill(pack.pid);
});

const call = <Req, Res>(method: (req: Req, cb: (e: grpc.ServiceError | null, r: Res) => void) => unknown, req: Req) =>
  new Promise<Res>((resolve, reject) => method.call(client, req, (e, r) => (e ? reject(e) : resolve(r))));

async function analyze(
  type: string,
  props: Record<string, unknown>,
): Promise<{ policy: string; level: string; message: string }[]> {
  const req = new AnalyzeRequest();
  req.setType(type);
  req.setName("subject");
  req.setUrn(`urn:pulumi:dev::northstack::${type}::subject`);
  req.setProperties(Struct.fromJavaScript(props as never));
  req.setOptions(new AnalyzerResourceOptions());
  const res = await call<AnalyzeRequest, AnalyzeResponse>(client.analyze, req);
  const levels: Record<number, string> = {
    [EnforcementLevel.ADVISORY]: "advisory",
    [EnforcementLevel.MANDATORY]: "mandatory",
  };
  return res.getDiagnosticsList().map((d: AnalyzeDiagnostic) => ({
    policy: d.getPolicyname(),
    level: levels[d.getEnforcementlevel()] ?? String(d.getEnforcementlevel()),
    message: d.getMessage(),
  }));
}

const container = (user: string, labels: Record<string, string> = {}) => ({
  image: "ghcr.io/northstack/api:0.1.0@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
  user,
  securityOpts: ["no-new-privileges:true"],
  capabilities: { drops: ["ALL"] },
  memory: 256,
  cpus: "0.25",
  healthcheck: { tests: ["CMD", "true"] },
  labels: Object.entries(labels).map(([label, value]) => ({ label, value })),
});

test("the pack serves the ten policies, mandatory by default, with remediation steps and config schemas", async () => {
  const info = await call<Empty, AnalyzerInfo>(client.getAnalyzerInfo, new Empty());
  expect(info.getName()).toBe("northstack");
  const served = info
    .getPoliciesList()
    .map((p) => [p.getName(), p.getEnforcementlevel(), p.getRemediationSteps().length > 0]);
  expect(served).toHaveLength(10);
  for (const [, level, remediation] of served) expect([level, remediation]).toEqual([EnforcementLevel.MANDATORY, true]);
  const residency = info.getPoliciesList().find((p) => p.getName() === "data-residency-canada");
  expect(residency?.getConfigschema()?.getProperties()?.toJavaScript()).toEqual(
    expect.objectContaining({ allowedAwsRegions: expect.objectContaining({ default: ["ca-central-1", "ca-west-1"] }) }),
  );
});

test("a root container is a mandatory violation", async () => {
  expect(await analyze("docker:index/container:Container", container("0:0"))).toEqual([
    {
      policy: "containers-run-as-non-root",
      level: "mandatory",
      message: expect.stringContaining('user "0:0" is root'),
    },
  ]);
});

test("an exempted root container is reported as advisory, naming the reason", async () => {
  const labels = {
    "northstack.io/policy-exempt": "containers-run-as-non-root",
    "northstack.io/policy-exempt-reason": "vendor image; OPS-12",
  };
  expect(await analyze("docker:index/container:Container", container("0:0", labels))).toEqual([
    {
      policy: "containers-run-as-non-root",
      level: "advisory",
      message: expect.stringContaining('reason: "vendor image; OPS-12"'),
    },
  ]);
});

test("a value unknown at preview stays a mandatory 'cannot verify', not an advisory can't-run", async () => {
  expect(await analyze("pulumi:providers:aws", { region: UNKNOWN_STRING })).toEqual([
    {
      policy: "data-residency-canada",
      level: "mandatory",
      message: expect.stringContaining(
        "region is unknown at preview, so that the data stays in Canada cannot be verified; fix: ",
      ),
    },
  ]);
});
