import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  AWS_AUDIENCE,
  GITHUB_OIDC_ISSUER,
  checkRepository,
  deploySubject,
  githubTrustPolicy,
  previewSubjects,
} from "./oidc";
import { DEPLOY_ENVIRONMENTS, DeployEnvironment } from "./repository";

/** Lets the preview role read the cluster through an EKS access entry, and nothing more. */
export const EKS_VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";

export interface AwsGithubOidcArgs {
  /** The repository whose workflows get roles, `owner/name`. Required. */
  readonly repository: string;
  /**
   * Managed policies of the preview role. Default: ViewOnlyAccess (describe and list; no object,
   * secret or parameter reads, so a pull request cannot read data through it).
   */
  readonly previewPolicyArns?: string[];
  /**
   * Managed policies of each deploy role: what `pulumi up` of the stack needs (VPC, EKS, RDS,
   * ElastiCache, S3, KMS, IAM roles). Default: AdministratorAccess; narrow it once the stack is stable.
   */
  readonly deployPolicyArns?: string[];
  /**
   * EKS clusters the preview role may read, through an access entry with AmazonEKSViewPolicy. The
   * stacks create theirs as northstack-<stack>; list them once they exist. Default: none.
   */
  readonly eksClusterNames?: string[];
  /** An existing GitHub OIDC provider ARN (one per account); created here when unset. Default: created. */
  readonly existingProviderArn?: string;
}

const POLICY_ARN = /^arn:aws:iam::(aws|\d{12}):policy\/[\w+=,.@/-]+$/;
const EKS_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;

export function validateAwsGithubOidcArgs(args: AwsGithubOidcArgs): void {
  const problems: string[] = [];
  const repoProblem = checkRepository(args.repository);
  if (repoProblem) problems.push(`repository: ${repoProblem}`);
  for (const key of ["previewPolicyArns", "deployPolicyArns"] as const) {
    const arns = args[key];
    if (arns !== undefined && arns.length === 0)
      problems.push(`${key}: empty; give at least one managed policy ARN or leave it unset for the default`);
    for (const arn of arns ?? [])
      if (!POLICY_ARN.test(arn))
        problems.push(`${key}: ${JSON.stringify(arn)} is not an IAM policy ARN (arn:aws:iam::aws:policy/...)`);
  }
  for (const arn of args.previewPolicyArns ?? []) {
    if (/AdministratorAccess|PowerUserAccess|IAMFullAccess/.test(arn))
      problems.push(
        `previewPolicyArns: ${JSON.stringify(arn)} lets pull requests change the account; the preview role is read-only`,
      );
  }
  for (const n of args.eksClusterNames ?? [])
    if (!EKS_NAME.test(n)) problems.push(`eksClusterNames: ${JSON.stringify(n)} is not an EKS cluster name`);
  if (
    args.existingProviderArn !== undefined &&
    !/^arn:aws:iam::\d{12}:oidc-provider\/token\.actions\.githubusercontent\.com$/.test(args.existingProviderArn)
  ) {
    problems.push(
      `existingProviderArn: ${JSON.stringify(args.existingProviderArn)} is not the ARN of a token.actions.githubusercontent.com OIDC provider`,
    );
  }
  if (problems.length) throw new Error(`AwsGithubOidc: ${problems.join("; ")}`);
}

/**
 * GitHub Actions' trust in an AWS account: the IAM OIDC provider, a read-only preview role that
 * pull requests (and previews on main) may assume, and one deploy role per environment that only a
 * job in that GitHub environment may assume. The preview role reads the listed EKS clusters
 * through access entries with the view policy.
 */
export class AwsGithubOidc extends pulumi.ComponentResource {
  readonly providerArn: pulumi.Output<string>;
  readonly previewRoleArn: pulumi.Output<string>;
  readonly deployRoleArns: Record<DeployEnvironment, pulumi.Output<string>>;

  constructor(name: string, args: AwsGithubOidcArgs, opts?: pulumi.ComponentResourceOptions) {
    validateAwsGithubOidcArgs(args);
    super("northstack:github:AwsOidc", name, {}, opts);
    const parent = { parent: this };

    this.providerArn =
      args.existingProviderArn !== undefined
        ? pulumi.output(args.existingProviderArn)
        : new aws.iam.OpenIdConnectProvider(
            `${name}-github`,
            { url: GITHUB_OIDC_ISSUER, clientIdLists: [AWS_AUDIENCE] },
            parent,
          ).arn;

    const role = (roleName: string, subjects: string[], policyArns: string[], description: string) => {
      const r = new aws.iam.Role(
        roleName,
        {
          description,
          maxSessionDuration: 3600,
          assumeRolePolicy: this.providerArn.apply((arn) => JSON.stringify(githubTrustPolicy(arn, subjects))),
        },
        parent,
      );
      policyArns.forEach(
        (policyArn, i) => new aws.iam.RolePolicyAttachment(`${roleName}-${i}`, { role: r.name, policyArn }, parent),
      );
      return r;
    };

    const preview = role(
      `${name}-preview`,
      previewSubjects(args.repository),
      args.previewPolicyArns ?? ["arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"],
      `pulumi preview from ${args.repository} pull requests and main: read-only`,
    );
    this.previewRoleArn = preview.arn;

    const deploy = Object.fromEntries(
      DEPLOY_ENVIRONMENTS.map((env) => [
        env,
        role(
          `${name}-deploy-${env}`,
          [deploySubject(args.repository, env)],
          args.deployPolicyArns ?? ["arn:aws:iam::aws:policy/AdministratorAccess"],
          `pulumi up of ${env} from the ${args.repository} ${env} environment`,
        ).arn,
      ]),
    ) as Record<DeployEnvironment, pulumi.Output<string>>;
    this.deployRoleArns = deploy;

    for (const clusterName of args.eksClusterNames ?? []) {
      const entry = new aws.eks.AccessEntry(
        `${name}-preview-${clusterName}`,
        { clusterName, principalArn: preview.arn, type: "STANDARD" },
        parent,
      );
      new aws.eks.AccessPolicyAssociation(
        `${name}-preview-${clusterName}-view`,
        { clusterName, principalArn: entry.principalArn, policyArn: EKS_VIEW_POLICY, accessScope: { type: "cluster" } },
        parent,
      );
    }

    this.registerOutputs({
      providerArn: this.providerArn,
      previewRoleArn: this.previewRoleArn,
      deployRoleArns: this.deployRoleArns,
    });
  }
}
