/**
 * A pull request's first preview of a new stack: nothing exists yet, so every output a provider
 * computes (ids, ARNs, auto-names) is unknown. The mandatory pack must still pass staging and prod
 * on both clouds, or the first preview of a new environment would be blocked by "cannot verify".
 */
import * as fs from "fs";
import * as path from "path";
import { evaluatePolicies } from "../../policy/evaluate";
import { PROJECT_ROOT } from "../../scripts/lib/plan";
import { MockRunResult, runUnderMocks } from "../../scripts/lib/mock-program";
import { readStackConfig } from "../../scripts/lib/stack-config";

/** Pulumi's wire value for "unknown during preview". */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

async function firstPreview(
  stack: string,
  cloud: string,
): Promise<{ run: MockRunResult; config: Record<string, string> }> {
  const { config, secretKeys } = readStackConfig(PROJECT_ROOT, stack, { "northstack:cloud": cloud });
  let run: MockRunResult | undefined;
  await jest.isolateModulesAsync(async () => {
    run = await runUnderMocks({
      stack,
      config,
      secretKeys,
      preview: true,
      // Inputs echo back; what the provider would compute is unknown.
      overrideState: (_type, _name, inputs) => ({
        id: UNKNOWN,
        arn: UNKNOWN,
        name: inputs.name ?? UNKNOWN,
        bucket: inputs.bucket ?? UNKNOWN,
      }),
      program: () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(path.join(PROJECT_ROOT, "index"));
        // Stack outputs stay unknown in a preview; only the resources matter here.
        return {};
      },
    });
  });
  return { run: run!, config };
}

describe.each(["staging", "prod"])("first preview of %s", (stack) => {
  test.each(["aws", "gcp"])(
    "on %s: no violation under the mandatory pack but node_exporter's named exemption",
    async (cloud) => {
      const { run, config } = await firstPreview(stack, cloud);
      expect(run.resources.length).toBeGreaterThan(80);
      // The preview really is one: resources see unknown ids of the resources they reference.
      expect(JSON.stringify(run.resources.map((r) => r.inputs))).toContain("[unknown]");
      const policyConfig = JSON.parse(
        fs.readFileSync(path.join(PROJECT_ROOT, "policy", `config.${stack}.json`), "utf8"),
      ) as Record<string, unknown>;
      const found = await evaluatePolicies(run.resources, { stack, policyConfig, config });
      // Third-party images pinned by tag draw images-by-digest's advice, and node_exporter's named
      // exemptions (AWS; GKE Autopilot runs none) their advisories: its Namespace's "privileged" level
      // and each host path of its DaemonSet. Never more.
      const exemption = (kind: string, control: string) => ({
        policy: "containers-least-privilege",
        enforcementLevel: "advisory",
        urn: expect.stringMatching(new RegExp(`\\$kubernetes:${kind}::monitoring-node-exporter(-namespace)?$`)),
        message: expect.stringMatching(new RegExp(`^exempt from containers-least-privilege/${control} \\(reason: "`)),
      });
      expect(found.filter((v) => !(v.policy === "images-by-digest" && v.enforcementLevel === "advisory"))).toEqual(
        cloud === "aws"
          ? [
              exemption("core/v1:Namespace", "namespace-pod-security"),
              ...[0, 1, 2].map(() => exemption("apps/v1:DaemonSet", "host-paths")),
            ]
          : [],
      );
    },
  );
});
