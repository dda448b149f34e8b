/**
 * The bootstrap program as a function of its config, so that tests run it under mocks. The cloud
 * trust comes first; its role ARNs and service accounts become the Actions variables the workflows
 * read, so nothing is copied by hand between the cloud console and the repository settings.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import {
  AwsGithubOidc,
  DEPLOY_ENVIRONMENTS,
  DeployEnvironment,
  EnvironmentVariable,
  GcpGithubOidc,
  GithubRepository,
  RepositoryVariable,
} from "../components/github";

export interface BootstrapConfig {
  readonly repository: string;
  readonly pulumiOrg: string;
  readonly clouds: ("aws" | "gcp")[];
  readonly prodReviewers: number[];
  readonly prodReviewerTeams: number[];
  readonly stagingReviewers: number[];
  readonly runnerLabel: string;
  readonly eksClusterNames: string[];
  readonly gcpProject: string;
  readonly gcpProjectNumber: string;
  readonly pulumiAccessToken?: pulumi.Output<string>;
}

/** Reads the raw config (namespace northstack-bootstrap), reporting every problem at once. */
export function parseBootstrapConfig(
  get: (key: string) => string | undefined,
  secret?: (key: string) => pulumi.Output<string> | undefined,
): BootstrapConfig {
  const problems: string[] = [];
  const list = <T>(key: string): T[] => {
    const text = get(key);
    if (text === undefined || text === "") return [];
    try {
      const value: unknown = JSON.parse(text);
      if (Array.isArray(value)) return value as T[];
    } catch {
      // reported below
    }
    problems.push(`${key}: ${text} is not a list; set it with pulumi config set --path '${key}[0]' <value>`);
    return [];
  };
  const required = (key: string): string => {
    const v = get(key) ?? "";
    if (v === "") problems.push(`${key}: missing; pulumi config set ${key} <value>`);
    return v;
  };
  const clouds = list<string>("clouds");
  for (const c of clouds)
    if (c !== "aws" && c !== "gcp") problems.push(`clouds: ${JSON.stringify(c)} is not a cloud; allowed: aws, gcp`);
  if (clouds.length === 0) problems.push("clouds: empty; list aws, gcp or both");
  const cfg: BootstrapConfig = {
    repository: required("repository"),
    pulumiOrg: required("pulumiOrg"),
    clouds: clouds.filter((c): c is "aws" | "gcp" => c === "aws" || c === "gcp"),
    prodReviewers: list<number>("prodReviewers"),
    prodReviewerTeams: list<number>("prodReviewerTeams"),
    stagingReviewers: list<number>("stagingReviewers"),
    runnerLabel: get("runnerLabel") ?? "",
    eksClusterNames: list<string>("eksClusterNames"),
    gcpProject: get("gcpProject") ?? "",
    gcpProjectNumber: get("gcpProjectNumber") ?? "",
    pulumiAccessToken: secret?.("pulumiAccessToken"),
  };
  if (cfg.clouds.includes("gcp") && (cfg.gcpProject === "" || cfg.gcpProjectNumber === ""))
    problems.push("gcpProject, gcpProjectNumber: required when clouds lists gcp");
  if (problems.length) throw new Error(`bootstrap config: ${problems.join("; ")}`);
  return cfg;
}

export function bootstrapProgram(cfg: BootstrapConfig) {
  const variables: Partial<Record<RepositoryVariable, pulumi.Input<string>>> = { PULUMI_ORG: cfg.pulumiOrg };
  if (cfg.runnerLabel !== "") variables.RUNNER_LABEL = cfg.runnerLabel;
  const envVariables: Record<DeployEnvironment, Partial<Record<EnvironmentVariable, pulumi.Input<string>>>> = {
    staging: {},
    prod: {},
  };

  let awsTrust: AwsGithubOidc | undefined;
  if (cfg.clouds.includes("aws")) {
    // IAM is global; the provider's region only places the EKS access entries.
    const provider = new aws.Provider("aws-ca-central-1", { region: "ca-central-1" });
    awsTrust = new AwsGithubOidc(
      "aws-github",
      { repository: cfg.repository, eksClusterNames: cfg.eksClusterNames },
      { provider },
    );
    variables.AWS_PREVIEW_ROLE_ARN = awsTrust.previewRoleArn;
    for (const env of DEPLOY_ENVIRONMENTS) envVariables[env].AWS_DEPLOY_ROLE_ARN = awsTrust.deployRoleArns[env];
  }
  let gcpTrust: GcpGithubOidc | undefined;
  if (cfg.clouds.includes("gcp")) {
    gcpTrust = new GcpGithubOidc("gcp-github", {
      repository: cfg.repository,
      project: cfg.gcpProject,
      projectNumber: cfg.gcpProjectNumber,
    });
    variables.GCP_WORKLOAD_IDENTITY_PROVIDER = gcpTrust.workloadIdentityProvider;
    variables.GCP_PREVIEW_SERVICE_ACCOUNT = gcpTrust.previewServiceAccount;
    for (const env of DEPLOY_ENVIRONMENTS)
      envVariables[env].GCP_DEPLOY_SERVICE_ACCOUNT = gcpTrust.deployServiceAccounts[env];
  }

  const repo = new GithubRepository("repository", {
    repository: cfg.repository,
    reviewers: {
      staging: { users: cfg.stagingReviewers },
      prod: { users: cfg.prodReviewers, teams: cfg.prodReviewerTeams },
    },
    variables,
    environmentVariables: envVariables,
    pulumiAccessToken: cfg.pulumiAccessToken,
  });

  return {
    environments: repo.environments,
    awsPreviewRoleArn: awsTrust?.previewRoleArn,
    awsDeployRoleArns: awsTrust?.deployRoleArns,
    gcpWorkloadIdentityProvider: gcpTrust?.workloadIdentityProvider,
    gcpPreviewServiceAccount: gcpTrust?.previewServiceAccount,
    gcpDeployServiceAccounts: gcpTrust?.deployServiceAccounts,
  };
}
