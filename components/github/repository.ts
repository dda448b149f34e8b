import * as github from "@pulumi/github";
import * as pulumi from "@pulumi/pulumi";
import { checkRepository } from "./oidc";

/**
 * Status checks a pull request into main must pass: the job names of ci.yml and preview.yml as
 * GitHub reports them (a reusable workflow's job as `<caller> / <job>`). test/unit/workflows.test.ts
 * holds them against the workflows.
 */
export const REQUIRED_CHECKS = [
  "test",
  "audit",
  "plan (dev, local)",
  "plan (staging, aws)",
  "plan (staging, gcp)",
  "plan (prod, aws)",
  "plan (prod, gcp)",
  "build / image",
  "preview (staging)",
  "preview (prod)",
] as const;

/** The Actions variables the workflows read: repository-wide, and per deploy environment. */
export const REPOSITORY_VARIABLES = [
  "PULUMI_ORG",
  "RUNNER_LABEL",
  "AWS_PREVIEW_ROLE_ARN",
  "GCP_WORKLOAD_IDENTITY_PROVIDER",
  "GCP_PREVIEW_SERVICE_ACCOUNT",
] as const;
export const ENVIRONMENT_VARIABLES = ["AWS_DEPLOY_ROLE_ARN", "GCP_DEPLOY_SERVICE_ACCOUNT"] as const;
export type RepositoryVariable = (typeof REPOSITORY_VARIABLES)[number];
export type EnvironmentVariable = (typeof ENVIRONMENT_VARIABLES)[number];

/** The environments deploy.yml deploys to, in order. */
export const DEPLOY_ENVIRONMENTS = ["staging", "prod"] as const;
export type DeployEnvironment = (typeof DEPLOY_ENVIRONMENTS)[number];

export interface EnvironmentReviewers {
  /** GitHub user IDs (numbers, not logins) who may approve a deploy; at most 6. Default: none. */
  readonly users?: number[];
  /** GitHub team IDs who may approve a deploy; at most 6. Default: none. */
  readonly teams?: number[];
}

export interface GithubRepositoryArgs {
  /** The repository, `owner/name`. Required. */
  readonly repository: string;
  /** Who approves each environment's deploys; prod needs at least one user or team. Required. */
  readonly reviewers: Record<DeployEnvironment, EnvironmentReviewers>;
  /** The only branch that may deploy to staging and prod, and the one the ruleset protects. Default: "main". */
  readonly branch?: string;
  /** Checks required on pull requests into the branch. Default: REQUIRED_CHECKS. */
  readonly requiredChecks?: readonly string[];
  /** Approving reviews a pull request needs. Default: 1. */
  readonly requiredApprovals?: number;
  /** Repository-wide Actions variables; unset ones are not created. Default: none. */
  readonly variables?: Partial<Record<RepositoryVariable, pulumi.Input<string>>>;
  /** Per-environment Actions variables (the deploy identities). Default: none. */
  readonly environmentVariables?: Partial<
    Record<DeployEnvironment, Partial<Record<EnvironmentVariable, pulumi.Input<string>>>>
  >;
  /** The Pulumi Cloud token the workflows use, stored as the Actions secret PULUMI_ACCESS_TOKEN. Default: not managed here. */
  readonly pulumiAccessToken?: pulumi.Input<string>;
}

const MAX_REVIEWERS = 6;

/** Every problem with the args, at once; throws before any resource is registered. */
export function validateGithubRepositoryArgs(args: GithubRepositoryArgs): void {
  const problems: string[] = [];
  const repoProblem = checkRepository(args.repository);
  if (repoProblem) problems.push(`repository: ${repoProblem}`);
  for (const env of DEPLOY_ENVIRONMENTS) {
    const r = args.reviewers?.[env] ?? {};
    for (const kind of ["users", "teams"] as const) {
      const ids = r[kind] ?? [];
      if (ids.length > MAX_REVIEWERS)
        problems.push(
          `reviewers.${env}.${kind}: ${ids.length} IDs is more than GitHub's ${MAX_REVIEWERS}; list at most ${MAX_REVIEWERS}`,
        );
      for (const id of ids)
        if (!Number.isInteger(id) || id <= 0)
          problems.push(
            `reviewers.${env}.${kind}: ${JSON.stringify(id)} is not a GitHub ID; use the numeric ID (gh api users/<login> --jq .id)`,
          );
    }
  }
  const prod = args.reviewers?.prod ?? {};
  if ((prod.users ?? []).length + (prod.teams ?? []).length === 0)
    problems.push("reviewers.prod: none given; prod deploys need at least one required reviewer (a user or team ID)");
  const branch = args.branch ?? "main";
  if (!/^[A-Za-z0-9._/-]+$/.test(branch) || branch.includes("*"))
    problems.push(`branch: ${JSON.stringify(branch)} is not a plain branch name; give one branch, no patterns`);
  const checks = args.requiredChecks ?? REQUIRED_CHECKS;
  if (checks.length === 0) problems.push("requiredChecks: empty; list the CI and preview checks that gate main");
  const approvals = args.requiredApprovals ?? 1;
  if (!Number.isInteger(approvals) || approvals < 1 || approvals > 10)
    problems.push(`requiredApprovals: ${approvals} is not a whole number from 1 to 10`);
  if (problems.length) throw new Error(`GithubRepository: ${problems.join("; ")}`);
}

/**
 * The repository settings the workflows rely on, as code: the `staging` and `prod` environments
 * (required reviewers, no self-review, no admin bypass, deployable only from `branch`), a ruleset
 * on `branch` that requires pull requests and the CI and preview checks, and the Actions variables
 * and secret the workflows read. The provider's owner and token come from the caller (`github:owner`,
 * `github:token`).
 */
export class GithubRepository extends pulumi.ComponentResource {
  /** Environment names, in deploy order. */
  readonly environments: pulumi.Output<string[]>;
  readonly rulesetId: pulumi.Output<string>;

  constructor(name: string, args: GithubRepositoryArgs, opts?: pulumi.ComponentResourceOptions) {
    validateGithubRepositoryArgs(args);
    super("northstack:github:Repository", name, {}, opts);
    const parent = { parent: this };
    const repository = args.repository.split("/")[1];
    const branch = args.branch ?? "main";

    const environments = DEPLOY_ENVIRONMENTS.map((env) => {
      const reviewers = args.reviewers[env];
      const hasReviewers = (reviewers.users ?? []).length + (reviewers.teams ?? []).length > 0;
      const environment = new github.RepositoryEnvironment(
        `${name}-${env}`,
        {
          repository,
          environment: env,
          reviewers: hasReviewers ? [{ users: reviewers.users ?? [], teams: reviewers.teams ?? [] }] : [],
          preventSelfReview: true,
          canAdminsBypass: false,
          // Only branches matching the policies below may deploy; branch protection alone would admit any protected branch.
          deploymentBranchPolicy: { protectedBranches: false, customBranchPolicies: true },
        },
        parent,
      );
      new github.RepositoryEnvironmentDeploymentPolicy(
        `${name}-${env}-${branch.replace(/[^A-Za-z0-9-]/g, "-")}`,
        { repository, environment: environment.environment, branchPattern: branch },
        parent,
      );
      for (const [variableName, value] of Object.entries(args.environmentVariables?.[env] ?? {})) {
        if (value === undefined) continue;
        new github.ActionsEnvironmentVariable(
          `${name}-${env}-${variableName.toLowerCase()}`,
          { repository, environment: environment.environment, variableName, value },
          parent,
        );
      }
      return environment;
    });

    const ruleset = new github.RepositoryRuleset(
      `${name}-${branch.replace(/[^A-Za-z0-9-]/g, "-")}`,
      {
        repository,
        name: `${branch}: pull requests with passing CI and previews`,
        target: "branch",
        enforcement: "active",
        conditions: { refName: { includes: [`refs/heads/${branch}`], excludes: [] } },
        rules: {
          deletion: true,
          nonFastForward: true,
          pullRequest: {
            requiredApprovingReviewCount: args.requiredApprovals ?? 1,
            dismissStaleReviewsOnPush: true,
            requireLastPushApproval: true,
          },
          requiredStatusChecks: {
            strictRequiredStatusChecksPolicy: true,
            requiredChecks: (args.requiredChecks ?? REQUIRED_CHECKS).map((context) => ({ context })),
          },
        },
      },
      parent,
    );

    for (const [variableName, value] of Object.entries(args.variables ?? {})) {
      if (value === undefined) continue;
      new github.ActionsVariable(`${name}-${variableName.toLowerCase()}`, { repository, variableName, value }, parent);
    }
    if (args.pulumiAccessToken !== undefined) {
      new github.ActionsSecret(
        `${name}-pulumi-access-token`,
        { repository, secretName: "PULUMI_ACCESS_TOKEN", plaintextValue: pulumi.secret(args.pulumiAccessToken) },
        parent,
      );
    }

    this.environments = pulumi.all(environments.map((e) => e.environment));
    this.rulesetId = ruleset.id;
    this.registerOutputs({ environments: this.environments, rulesetId: this.rulesetId });
  }
}
