import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import {
  GITHUB_OIDC_ISSUER,
  checkRepository,
  deploySubject,
  gcpAttributeCondition,
  gcpPrincipal,
  previewSubjects,
} from "./oidc";
import { DEPLOY_ENVIRONMENTS, DeployEnvironment } from "./repository";

export interface GcpGithubOidcArgs {
  /** The repository whose workflows get identities, `owner/name`. Required. */
  readonly repository: string;
  /** Project the pool, the service accounts and their grants live in. Required. */
  readonly project: string;
  /** That project's number (`gcloud projects describe <id> --format='value(projectNumber)'`). Required. */
  readonly projectNumber: string;
  /** Workload identity pool ID. Default: "github". */
  readonly poolId?: string;
  /** Project roles of the preview service account. Default: roles/viewer and roles/container.viewer (no secret reads). */
  readonly previewRoles?: string[];
  /**
   * Project roles of each deploy service account: what `pulumi up` of the stack needs. Default:
   * roles/editor, roles/resourcemanager.projectIamAdmin, roles/iam.serviceAccountAdmin and
   * roles/container.admin; narrow them once the stack is stable.
   */
  readonly deployRoles?: string[];
}

const ROLE = /^roles\/[A-Za-z0-9_.]+$|^projects\/[a-z][-a-z0-9]{4,28}[a-z0-9]\/roles\/[A-Za-z0-9_.]+$/;

export function validateGcpGithubOidcArgs(args: GcpGithubOidcArgs): void {
  const problems: string[] = [];
  const repoProblem = checkRepository(args.repository);
  if (repoProblem) problems.push(`repository: ${repoProblem}`);
  if (!/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/.test(args.project))
    problems.push(`project: ${JSON.stringify(args.project)} is not a GCP project ID`);
  if (!/^\d{6,20}$/.test(args.projectNumber))
    problems.push(`projectNumber: ${JSON.stringify(args.projectNumber)} is not a project number (digits only)`);
  const poolId = args.poolId ?? "github";
  if (!/^[a-z0-9-]{4,32}$/.test(poolId) || poolId.startsWith("gcp-"))
    problems.push(
      `poolId: ${JSON.stringify(poolId)} must be 4-32 lowercase letters, digits or dashes, not starting gcp-`,
    );
  for (const key of ["previewRoles", "deployRoles"] as const) {
    const roles = args[key];
    if (roles !== undefined && roles.length === 0)
      problems.push(`${key}: empty; give at least one role or leave it unset for the default`);
    for (const r of roles ?? [])
      if (!ROLE.test(r)) problems.push(`${key}: ${JSON.stringify(r)} is not a role name (roles/...)`);
  }
  for (const r of args.previewRoles ?? []) {
    if (/^roles\/(owner|editor)$|Admin$|\.admin$/.test(r))
      problems.push(
        `previewRoles: ${JSON.stringify(r)} lets pull requests change the project; the preview identity is read-only`,
      );
  }
  if (problems.length) throw new Error(`GcpGithubOidc: ${problems.join("; ")}`);
}

/**
 * GitHub Actions' trust in a GCP project: a workload identity pool and provider that admit tokens
 * of one repository, a read-only preview service account that pull requests (and previews on main)
 * may impersonate, and one deploy service account per environment that only a job in that GitHub
 * environment may impersonate. Each grant names an exact token subject, like the AWS roles.
 */
export class GcpGithubOidc extends pulumi.ComponentResource {
  /** Full provider name, for google-github-actions/auth's workload_identity_provider. */
  readonly workloadIdentityProvider: pulumi.Output<string>;
  readonly previewServiceAccount: pulumi.Output<string>;
  readonly deployServiceAccounts: Record<DeployEnvironment, pulumi.Output<string>>;

  constructor(name: string, args: GcpGithubOidcArgs, opts?: pulumi.ComponentResourceOptions) {
    validateGcpGithubOidcArgs(args);
    super("northstack:github:GcpOidc", name, {}, opts);
    const parent = { parent: this };
    const { project, projectNumber } = args;
    const poolId = args.poolId ?? "github";
    const providerId = "github-actions";

    const pool = new gcp.iam.WorkloadIdentityPool(
      `${name}-pool`,
      { project, workloadIdentityPoolId: poolId, displayName: "GitHub Actions" },
      parent,
    );
    const provider = new gcp.iam.WorkloadIdentityPoolProvider(
      `${name}-provider`,
      {
        project,
        workloadIdentityPoolId: pool.workloadIdentityPoolId,
        workloadIdentityPoolProviderId: providerId,
        displayName: "GitHub Actions",
        attributeMapping: { "google.subject": "assertion.sub", "attribute.repository": "assertion.repository" },
        attributeCondition: gcpAttributeCondition(args.repository),
        oidc: { issuerUri: GITHUB_OIDC_ISSUER },
      },
      parent,
    );
    this.workloadIdentityProvider = pulumi.interpolate`projects/${projectNumber}/locations/global/workloadIdentityPools/${pool.workloadIdentityPoolId}/providers/${provider.workloadIdentityPoolProviderId}`;

    const account = (accountId: string, subjects: string[], roles: string[], description: string) => {
      const sa = new gcp.serviceaccount.Account(
        `${name}-${accountId}`,
        { project, accountId, displayName: description },
        parent,
      );
      subjects.forEach(
        (subject, i) =>
          new gcp.serviceaccount.IAMMember(
            `${name}-${accountId}-wif-${i}`,
            {
              serviceAccountId: sa.name,
              role: "roles/iam.workloadIdentityUser",
              member: pulumi.interpolate`${gcpPrincipal(projectNumber, poolId, subject)}`,
            },
            { ...parent, dependsOn: [provider] },
          ),
      );
      roles.forEach(
        (role) =>
          new gcp.projects.IAMMember(
            `${name}-${accountId}-${role.replace(/[^A-Za-z0-9]+/g, "-")}`,
            { project, role, member: pulumi.interpolate`serviceAccount:${sa.email}` },
            parent,
          ),
      );
      return sa.email;
    };

    this.previewServiceAccount = account(
      "northstack-preview",
      previewSubjects(args.repository),
      args.previewRoles ?? ["roles/viewer", "roles/container.viewer"],
      "pulumi preview (read-only)",
    );
    this.deployServiceAccounts = Object.fromEntries(
      DEPLOY_ENVIRONMENTS.map((env) => [
        env,
        account(
          `northstack-deploy-${env}`,
          [deploySubject(args.repository, env)],
          args.deployRoles ?? [
            "roles/editor",
            "roles/resourcemanager.projectIamAdmin",
            "roles/iam.serviceAccountAdmin",
            "roles/container.admin",
          ],
          `pulumi up of ${env}`,
        ),
      ]),
    ) as Record<DeployEnvironment, pulumi.Output<string>>;

    this.registerOutputs({
      workloadIdentityProvider: this.workloadIdentityProvider,
      previewServiceAccount: this.previewServiceAccount,
      deployServiceAccounts: this.deployServiceAccounts,
    });
  }
}
