/**
 * A pull request's first preview of a new stack: nothing exists yet, so every output a provider
 * computes (ids, ARNs, auto-names) is unknown. The mandatory pack must still pass staging and prod
 * on both clouds, or the first preview of a new environment would be blocked by "cannot verify".
 * Each preview runs under mocks in a Node process of its own (test/helpers/first-preview-json.ts).
 */
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { evaluatePolicies } from "../../policy/evaluate";
import { PROJECT_ROOT } from "../../scripts/lib/plan";
import type { FirstPreview } from "../helpers/first-preview-json";
import { PLAN_NODE_ARGS } from "../helpers/plan-process";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "first-preview-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function firstPreview(stack: string, cloud: string): Promise<FirstPreview> {
  const out = path.join(tmp, `${stack}-${cloud}.json`);
  await promisify(execFile)(
    process.execPath,
    [...PLAN_NODE_ARGS, "test/helpers/first-preview-json.ts", stack, cloud, out],
    { cwd: PROJECT_ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  return JSON.parse(fs.readFileSync(out, "utf8")) as FirstPreview;
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
