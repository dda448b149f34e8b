/**
 * The repository as code (components/github, run by bootstrap/) under mocks: environment
 * protection, the ruleset on main, the Actions variables the workflows read, and the cloud OIDC
 * trust, checked by evaluating the trust that was registered against the tokens GitHub would send.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { BootstrapConfig, bootstrapProgram, parseBootstrapConfig } from "../../bootstrap/program";
import {
  ENVIRONMENT_VARIABLES,
  EKS_VIEW_POLICY,
  REPOSITORY_VARIABLES,
  REQUIRED_CHECKS,
  validateAwsGithubOidcArgs,
  validateGcpGithubOidcArgs,
  validateGithubRepositoryArgs,
} from "../../components/github";
import { MockRunResult, PlannedResource, runUnderMocks } from "../../scripts/lib/mock-program";

const REPO = "acme/northstack";
const config: BootstrapConfig = {
  repository: REPO,
  pulumiOrg: "acme",
  clouds: ["aws", "gcp"],
  prodReviewers: [1001, 1002],
  prodReviewerTeams: [77],
  stagingReviewers: [],
  runnerLabel: "northstack-ca",
  eksClusterNames: ["northstack-staging", "northstack-prod"],
  gcpProject: "northstack-prod-123",
  gcpProjectNumber: "123456789012",
};

let run: MockRunResult;
beforeAll(async () => {
  await jest.isolateModulesAsync(async () => {
    run = await runUnderMocks({
      stack: "bootstrap",
      project: "northstack-bootstrap",
      config: {},
      program: () => bootstrapProgram(config),
    });
  });
});

type Obj = Record<string, unknown>;
const ofType = (type: string) => run.resources.filter((r) => r.type === type);
const inputs = (r: PlannedResource) => r.plainInputs as Obj;

/** A GitHub OIDC token's claims, as AWS and GCP see them. */
const token = (sub: string, repository = REPO) => ({ sub, aud: "sts.amazonaws.com", repository });
const PULL_REQUEST = token(`repo:${REPO}:pull_request`);
const MAIN = token(`repo:${REPO}:ref:refs/heads/main`);
const STAGING = token(`repo:${REPO}:environment:staging`);
const PROD = token(`repo:${REPO}:environment:prod`);
const OTHER_REPO_PROD = token("repo:evil/northstack:environment:prod", "evil/northstack");

/** Evaluates an IAM trust policy's StringEquals/StringLike conditions against a token, as STS does. */
function awsAllows(policyText: string, claims: ReturnType<typeof token>): boolean {
  const policy = JSON.parse(policyText) as {
    Statement: { Effect: string; Action: string; Condition?: Record<string, Record<string, string | string[]>> }[];
  };
  return policy.Statement.some((s) => {
    if (s.Effect !== "Allow" || s.Action !== "sts:AssumeRoleWithWebIdentity") return false;
    return Object.entries(s.Condition ?? {}).every(([op, conds]) =>
      Object.entries(conds).every(([key, want]) => {
        const claim = claims[key.split(":").pop() as "sub" | "aud"];
        const wants = Array.isArray(want) ? want : [want];
        if (op === "StringEquals") return wants.includes(claim);
        if (op === "StringLike")
          return wants.some((w) =>
            new RegExp(
              `^${w
                .replace(/[.+^${}()|[\]\\]/g, "\\$&")
                .replace(/\*/g, ".*")
                .replace(/\?/g, ".")}$`,
            ).test(claim),
          );
        throw new Error(`unhandled condition operator ${op}`);
      }),
    );
  });
}
const roleNamed = (suffix: string) => ofType("aws:iam/role:Role").find((r) => r.name === `aws-github-${suffix}`)!;
const trustOf = (suffix: string) => String(inputs(roleNamed(suffix)).assumeRolePolicy);

describe("AWS trust", () => {
  test("a pull request cannot assume the deploy role", () => {
    for (const env of ["staging", "prod"]) expect(awsAllows(trustOf(`deploy-${env}`), PULL_REQUEST)).toBe(false);
    expect(awsAllows(trustOf("preview"), PULL_REQUEST)).toBe(true);
  });

  test("each deploy role is assumable only from its own protected environment of this repository", () => {
    expect(awsAllows(trustOf("deploy-staging"), STAGING)).toBe(true);
    expect(awsAllows(trustOf("deploy-staging"), PROD)).toBe(false);
    expect(awsAllows(trustOf("deploy-prod"), PROD)).toBe(true);
    expect(awsAllows(trustOf("deploy-prod"), STAGING)).toBe(false);
    expect(awsAllows(trustOf("deploy-prod"), MAIN)).toBe(false);
    for (const role of ["preview", "deploy-staging", "deploy-prod"])
      expect(awsAllows(trustOf(role), OTHER_REPO_PROD)).toBe(false);
    // A token minted for another audience is refused even with the right subject.
    expect(awsAllows(trustOf("deploy-prod"), { ...PROD, aud: "sigstore" })).toBe(false);
  });

  test("the preview role is read-only and reads the clusters through EKS access entries with the view policy", () => {
    const attachments = ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment");
    const previewPolicies = attachments
      .filter((a) => a.name.startsWith("aws-github-preview-"))
      .map((a) => inputs(a).policyArn);
    expect(previewPolicies).toEqual(["arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"]);
    const entries = ofType("aws:eks/accessEntry:AccessEntry").map(inputs);
    expect(entries.map((e) => e.clusterName).sort()).toEqual(["northstack-prod", "northstack-staging"]);
    const associations = ofType("aws:eks/accessPolicyAssociation:AccessPolicyAssociation").map(inputs);
    expect(associations).toHaveLength(2);
    for (const a of associations)
      expect(a).toMatchObject({ policyArn: EKS_VIEW_POLICY, accessScope: { type: "cluster" } });
    for (const e of entries) expect(String(e.principalArn)).toContain("aws-github-preview");
  });

  test("the OIDC provider is GitHub's, for the STS audience", () => {
    const [provider] = ofType("aws:iam/openIdConnectProvider:OpenIdConnectProvider").map(inputs);
    expect(provider).toMatchObject({
      url: "https://token.actions.githubusercontent.com",
      clientIdLists: ["sts.amazonaws.com"],
    });
  });
});

describe("GCP trust", () => {
  const members = () =>
    ofType("gcp:serviceaccount/iAMMember:IAMMember").map((r) => ({
      account: r.name.replace(/-wif-\d+$/, ""),
      ...(inputs(r) as { role: string; member: string }),
    }));
  const principal = (sub: string) =>
    `principal://iam.googleapis.com/projects/123456789012/locations/global/workloadIdentityPools/github/subject/${sub}`;
  const mayImpersonate = (account: string, claims: ReturnType<typeof token>) =>
    claims.repository === REPO &&
    members().some(
      (m) =>
        m.account === `gcp-github-${account}` &&
        m.role === "roles/iam.workloadIdentityUser" &&
        m.member === principal(claims.sub),
    );

  test("the provider admits tokens of this repository only", () => {
    const [provider] = ofType("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider").map(inputs);
    expect(provider).toMatchObject({
      attributeCondition: `assertion.repository == "${REPO}"`,
      oidc: { issuerUri: "https://token.actions.githubusercontent.com" },
    });
    expect((provider.attributeMapping as Obj)["google.subject"]).toBe("assertion.sub");
  });

  test("a pull request cannot impersonate a deploy service account", () => {
    expect(mayImpersonate("northstack-preview", PULL_REQUEST)).toBe(true);
    for (const env of ["staging", "prod"]) expect(mayImpersonate(`northstack-deploy-${env}`, PULL_REQUEST)).toBe(false);
    expect(mayImpersonate("northstack-deploy-prod", PROD)).toBe(true);
    expect(mayImpersonate("northstack-deploy-prod", STAGING)).toBe(false);
    expect(mayImpersonate("northstack-deploy-staging", STAGING)).toBe(true);
    // Every grant names one exact subject: no principalSet that a whole repository could match.
    for (const m of members())
      expect(m.member).toMatch(
        /^principal:\/\/iam\.googleapis\.com\/projects\/\d+\/locations\/global\/workloadIdentityPools\/github\/subject\/repo:acme\/northstack:/,
      );
  });

  test("the preview service account only reads", () => {
    const grants = ofType("gcp:projects/iAMMember:IAMMember")
      .map(inputs)
      .filter((g) => String(g.member).includes("northstack-preview"));
    expect(grants.map((g) => g.role).sort()).toEqual(["roles/container.viewer", "roles/viewer"]);
  });
});

describe("GitHub repository", () => {
  test("staging and prod: reviewers, no self-review, no admin bypass, deployable from main only", () => {
    const envs = ofType("github:index/repositoryEnvironment:RepositoryEnvironment").map(inputs);
    expect(envs.map((e) => e.environment)).toEqual(["staging", "prod"]);
    for (const e of envs) {
      expect(e).toMatchObject({
        repository: "northstack",
        preventSelfReview: true,
        canAdminsBypass: false,
        deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
      });
    }
    expect(envs[1].reviewers).toEqual([{ users: [1001, 1002], teams: [77] }]);
    const policies = ofType(
      "github:index/repositoryEnvironmentDeploymentPolicy:RepositoryEnvironmentDeploymentPolicy",
    ).map(inputs);
    expect(policies.map((p) => `${p.environment}:${p.branchPattern}`)).toEqual(["staging:main", "prod:main"]);
  });

  test("main requires pull requests with the CI and preview checks", () => {
    const [ruleset] = ofType("github:index/repositoryRuleset:RepositoryRuleset").map(inputs);
    expect(ruleset).toMatchObject({
      target: "branch",
      enforcement: "active",
      conditions: { refName: { includes: ["refs/heads/main"] } },
    });
    const rules = ruleset.rules as Obj;
    expect(rules).toMatchObject({
      deletion: true,
      nonFastForward: true,
      pullRequest: { requiredApprovingReviewCount: 1 },
    });
    expect(
      (rules.requiredStatusChecks as { requiredChecks: { context: string }[] }).requiredChecks.map((c) => c.context),
    ).toEqual([...REQUIRED_CHECKS]);
  });

  test("every required check is a job that pull requests run", () => {
    const dir = path.resolve(__dirname, "..", "..", ".github", "workflows");
    type Job = { name?: string; uses?: string; strategy?: { matrix: Record<string, unknown> } };
    const names: string[] = [];
    const expand = (template: string, matrix: Record<string, unknown> | undefined): string[] => {
      if (!matrix) return [template];
      const combos =
        (matrix.include as Record<string, string>[] | undefined) ??
        Object.entries(matrix).flatMap(([k, vs]) => (vs as string[]).map((v) => ({ [k]: v })));
      return combos.map((c) => template.replace(/\$\{\{ matrix\.(\w+) \}\}/g, (_, k: string) => c[k]));
    };
    for (const file of fs.readdirSync(dir)) {
      const wf = YAML.parse(fs.readFileSync(path.join(dir, file), "utf8")) as { on: Obj; jobs: Record<string, Job> };
      if (!("pull_request" in wf.on)) continue;
      for (const [id, job] of Object.entries(wf.jobs)) {
        if (job.uses?.startsWith("./.github/workflows/")) {
          const called = YAML.parse(fs.readFileSync(path.join(dir, path.basename(job.uses)), "utf8")) as {
            jobs: Record<string, Job>;
          };
          for (const [cid, cjob] of Object.entries(called.jobs)) names.push(`${job.name ?? id} / ${cjob.name ?? cid}`);
        } else names.push(...expand(job.name ?? id, job.strategy?.matrix));
      }
    }
    for (const check of REQUIRED_CHECKS) expect(names).toContain(check);
  });

  test("the Actions variables are exactly those the workflows read, environment ones only in environment jobs", () => {
    const repoVars = ofType("github:index/actionsVariable:ActionsVariable").map((r) => inputs(r).variableName);
    expect(repoVars.sort()).toEqual([...REPOSITORY_VARIABLES].sort());
    const envVars = ofType("github:index/actionsEnvironmentVariable:ActionsEnvironmentVariable").map(
      (r) => `${inputs(r).environment}:${inputs(r).variableName}`,
    );
    expect(envVars.sort()).toEqual(
      ["staging", "prod"].flatMap((e) => ENVIRONMENT_VARIABLES.map((v) => `${e}:${v}`)).sort(),
    );

    const root = path.resolve(__dirname, "..", "..", ".github");
    const text = ["workflows/ci.yml", "workflows/build.yml", "workflows/preview.yml", "workflows/deploy.yml"]
      .map((f) => fs.readFileSync(path.join(root, f), "utf8"))
      .join("\n");
    const read = new Set([...text.matchAll(/vars\.([A-Z_]+)/g)].map((m) => m[1]));
    expect([...read].sort()).toEqual([...REPOSITORY_VARIABLES, ...ENVIRONMENT_VARIABLES].sort());
    const deploy = YAML.parse(fs.readFileSync(path.join(root, "workflows", "deploy.yml"), "utf8")) as {
      jobs: Record<string, Obj>;
    };
    for (const job of Object.values(deploy.jobs)) {
      if (ENVIRONMENT_VARIABLES.some((v) => JSON.stringify(job).includes(`vars.${v}`)))
        expect(job.environment).toBeDefined();
    }
  });
});

describe("validation", () => {
  test("the repository component reports every problem at once", () => {
    expect(() =>
      validateGithubRepositoryArgs({
        repository: "no-slash",
        reviewers: { staging: { users: [0] }, prod: {} },
        branch: "rel*",
        requiredChecks: [],
      }),
    ).toThrow(
      /repository: "no-slash" is not owner\/name.*reviewers\.staging\.users: 0 is not a GitHub ID.*reviewers\.prod: none given.*branch: "rel\*" is not a plain branch name.*requiredChecks: empty/,
    );
  });

  test("the cloud trust components refuse broad preview rights and malformed names, all at once", () => {
    expect(() =>
      validateAwsGithubOidcArgs({
        repository: REPO,
        previewPolicyArns: ["arn:aws:iam::aws:policy/AdministratorAccess"],
        eksClusterNames: ["bad name"],
      }),
    ).toThrow(/previewPolicyArns: .*AdministratorAccess.* read-only; eksClusterNames: "bad name"/);
    expect(() =>
      validateGcpGithubOidcArgs({
        repository: REPO,
        project: "X",
        projectNumber: "12a",
        previewRoles: ["roles/editor"],
      }),
    ).toThrow(
      /project: "X" is not a GCP project ID; projectNumber: "12a".*previewRoles: "roles\/editor" lets pull requests change the project/,
    );
  });

  test("bootstrap config problems are reported together, before any resource", () => {
    const raw: Record<string, string> = { clouds: '["aws","azure","gcp"]', prodReviewers: "5" };
    expect(() => parseBootstrapConfig((k) => raw[k])).toThrow(
      /clouds: "azure" is not a cloud.*repository: missing.*pulumiOrg: missing.*prodReviewers: 5 is not a list.*gcpProject, gcpProjectNumber: required/,
    );
  });
});
