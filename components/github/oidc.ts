/**
 * Who may assume what, for GitHub Actions' OIDC tokens, as pure data. GitHub puts the trigger in
 * the token's `sub`: `repo:<owner>/<repo>:pull_request` for pull-request jobs,
 * `repo:<owner>/<repo>:ref:refs/heads/main` for jobs on main outside any environment, and
 * `repo:<owner>/<repo>:environment:<name>` for jobs in an environment. Trusting exact subjects is
 * what keeps a pull request (whose workflow file its author controls) to the preview identity: no
 * pull-request token ever carries an environment subject, and GitHub only hands one out after the
 * environment's reviewers and branch policy let the job start.
 */

/** GitHub's OIDC issuer, the same for every repository on github.com. */
export const GITHUB_OIDC_ISSUER = "https://token.actions.githubusercontent.com";
/** The audience configure-aws-credentials asks for. */
export const AWS_AUDIENCE = "sts.amazonaws.com";

const REPOSITORY = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

/** A problem with an `owner/name` repository, or undefined. */
export function checkRepository(repository: string): string | undefined {
  return REPOSITORY.test(repository)
    ? undefined
    : `${JSON.stringify(repository)} is not owner/name (a GitHub owner and repository name)`;
}

/** Subjects a preview job's token carries: pull requests, and main (deploy.yml previews prod there). */
export function previewSubjects(repository: string): string[] {
  return [`repo:${repository}:pull_request`, `repo:${repository}:ref:refs/heads/main`];
}

/** The one subject a deploy job in `environment` carries. */
export function deploySubject(repository: string, environment: string): string {
  return `repo:${repository}:environment:${environment}`;
}

/** Trust policy of an IAM role that GitHub tokens with exactly these subjects may assume. Pure. */
export function githubTrustPolicy(providerArn: string, subjects: readonly string[]) {
  const host = GITHUB_OIDC_ISSUER.replace(/^https:\/\//, "");
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: providerArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        // StringEquals, not StringLike: no wildcard can widen a subject.
        Condition: { StringEquals: { [`${host}:aud`]: AWS_AUDIENCE, [`${host}:sub`]: [...subjects] } },
      },
    ],
  };
}

/** The workload identity principal for one token subject (GCP's equivalent of an exact `sub` match). */
export function gcpPrincipal(projectNumber: string, poolId: string, subject: string): string {
  return `principal://iam.googleapis.com/projects/${projectNumber}/locations/global/workloadIdentityPools/${poolId}/subject/${subject}`;
}

/** The provider's attribute condition: tokens of this repository only. */
export function gcpAttributeCondition(repository: string): string {
  return `assertion.repository == "${repository}"`;
}
