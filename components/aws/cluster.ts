import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { checkCidr } from "../config/checks";
import { POD_IDENTITY_TRUST_POLICY } from "./workload-identity";

export interface EksClusterArgs {
  /** Private subnets (2+ zones) for the control-plane interfaces and the nodes. Required. */
  readonly subnetIds: pulumi.Input<string>[];
  /** KMS key for envelope encryption of Kubernetes Secrets. Required. */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** Region of the provider in `opts`, for the kubeconfig's `aws eks get-token`. Required. */
  readonly region: string;
  /** Kubernetes minor version. Default: 1.33. */
  readonly version?: aws.eks.ClusterArgs["version"];
  /** Node instance type. Default: t3.large. */
  readonly nodeInstanceType?: string;
  /** Node count bounds for the managed node group. Default: 2..4, 2 desired. */
  readonly nodes?: { readonly min: number; readonly desired: number; readonly max: number };
  /**
   * Client CIDRs that may reach the API server's public endpoint. Default: none, and the public
   * endpoint is off: the API is reachable only from inside the VPC.
   */
  readonly publicAccessCidrs?: readonly string[];
  /** Refuse to delete the cluster. Default: false. */
  readonly deletionProtection?: boolean;
}

/** Throws with every problem in the arguments, before any resource is registered. */
export function validateEksClusterArgs(args: EksClusterArgs): void {
  const problems: string[] = [];
  const nodes = args.nodes ?? { min: 2, desired: 2, max: 4 };
  if (!(nodes.min >= 1 && nodes.min <= nodes.desired && nodes.desired <= nodes.max)) {
    problems.push(`nodes ${JSON.stringify(nodes)} must satisfy 1 <= min <= desired <= max`);
  }
  for (const cidr of args.publicAccessCidrs ?? []) {
    const problem = checkCidr(cidr);
    if (problem) problems.push(`publicAccessCidrs ${JSON.stringify(cidr)} ${problem}`);
    else if (cidr.endsWith("/0"))
      problems.push(
        `publicAccessCidrs ${JSON.stringify(cidr)} opens the API server to every address; list narrower CIDRs`,
      );
  }
  if (args.subnetIds.length < 2)
    problems.push(`subnetIds has ${args.subnetIds.length} subnet(s); EKS needs 2+ in different zones`);
  if (problems.length) throw new Error(`EKS cluster: ${problems.join("; ")}`);
}

/** A kubeconfig that authenticates with `aws eks get-token` (exec), so it holds no credential. Pure. */
export function eksKubeconfig(clusterName: string, endpoint: string, caData: string, region: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: clusterName, cluster: { server: endpoint, "certificate-authority-data": caData } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
    "current-context": clusterName,
    users: [
      {
        name: clusterName,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "aws",
            args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region, "--output", "json"],
            interactiveMode: "Never",
          },
        },
      },
    ],
  });
}

/** The CSI provisioner of the EBS driver the cluster installs, for StorageClasses. */
export const EBS_CSI_PROVISIONER = "ebs.csi.aws.com";

const assumeRolePolicy = (service: string) =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
  });

/**
 * EKS with private nodes: the control plane's interfaces and a managed node group sit in the private
 * subnets, Secrets are envelope-encrypted with the KMS key, nodes require IMDSv2 with a hop limit of
 * 1 (pods cannot borrow the node's role) and encrypted root volumes. Access uses EKS access entries;
 * the identity that runs `pulumi up` is bootstrapped as cluster admin. The VPC CNI enforces
 * NetworkPolicies (off by default on EKS), and the EBS CSI driver (through EKS Pod Identity, allowed
 * to use the KMS key) provisions the volumes of stateful workloads. The eks-pod-identity-agent add-on
 * is what gives workloads their own IAM roles (PodIdentityRole) while nodes keep none.
 *
 * Built from aws.eks resources rather than @pulumi/eks: that package runs as a provider plugin (with
 * its own Node.js runtime), so under the mocks its component is one opaque resource, and the policy
 * pack, the offline plan and the tests could not see or check the node group, add-ons and security
 * groups it creates. What it would add here (aws-auth, self-managed node groups) is what EKS access
 * entries and managed node groups made unnecessary. GKE Autopilot needs no such library: it is one
 * gcp.container.Cluster.
 */
export class EksCluster extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;
  /** Kubeconfig with exec auth, a Pulumi secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** Security group EKS attaches to the control plane and the managed nodes, and so to pod traffic (VPC CNI). */
  readonly clusterSecurityGroupId: pulumi.Output<string>;
  /** The eks-pod-identity-agent add-on; Pod Identity associations wait for it. */
  readonly podIdentityAgent: aws.eks.Addon;

  constructor(name: string, args: EksClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    validateEksClusterArgs(args);
    super("northstack:aws:Cluster", name, {}, opts);
    const nodes = args.nodes ?? { min: 2, desired: 2, max: 4 };
    const publicAccessCidrs = [...(args.publicAccessCidrs ?? [])];

    const clusterRole = new aws.iam.Role(
      `${name}-cluster`,
      { assumeRolePolicy: assumeRolePolicy("eks.amazonaws.com") },
      { parent: this },
    );
    const clusterPolicy = new aws.iam.RolePolicyAttachment(
      `${name}-cluster`,
      { role: clusterRole.name, policyArn: "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy" },
      { parent: this },
    );

    const cluster = new aws.eks.Cluster(
      `${name}-eks`,
      {
        // A fixed name, so that operators find it (`aws eks update-kubeconfig --name northstack-<stack>`).
        name: `northstack-${pulumi.getStack()}`,
        version: args.version ?? "1.33",
        roleArn: clusterRole.arn,
        vpcConfig: {
          subnetIds: args.subnetIds,
          endpointPrivateAccess: true,
          endpointPublicAccess: publicAccessCidrs.length > 0,
          publicAccessCidrs: publicAccessCidrs.length > 0 ? publicAccessCidrs : undefined,
        },
        encryptionConfig: { provider: { keyArn: args.kmsKeyArn }, resources: ["secrets"] },
        enabledClusterLogTypes: ["api", "audit", "authenticator"],
        accessConfig: { authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true },
        deletionProtection: args.deletionProtection ?? false,
      },
      { parent: this, dependsOn: [clusterPolicy] },
    );

    const nodeRole = new aws.iam.Role(
      `${name}-nodes`,
      { assumeRolePolicy: assumeRolePolicy("ec2.amazonaws.com") },
      { parent: this },
    );
    const nodePolicies = [
      "AmazonEKSWorkerNodePolicy",
      "AmazonEKS_CNI_Policy",
      "AmazonEC2ContainerRegistryReadOnly",
    ].map(
      (policy) =>
        new aws.iam.RolePolicyAttachment(
          `${name}-nodes-${policy}`,
          { role: nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${policy}` },
          { parent: this },
        ),
    );
    // The AWS-managed EBS key, not the stack's key: a customer key would also need a key-policy grant
    // for the Auto Scaling service-linked role, or nodes fail to launch.
    const launchTemplate = new aws.ec2.LaunchTemplate(
      `${name}-nodes`,
      {
        metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
        blockDeviceMappings: [
          {
            deviceName: "/dev/xvda",
            ebs: { encrypted: "true", volumeSize: 50, volumeType: "gp3", deleteOnTermination: "true" },
          },
        ],
      },
      { parent: this },
    );
    const nodeGroup = new aws.eks.NodeGroup(
      `${name}-nodes`,
      {
        clusterName: cluster.name,
        nodeRoleArn: nodeRole.arn,
        subnetIds: args.subnetIds,
        amiType: "AL2023_x86_64_STANDARD",
        instanceTypes: [args.nodeInstanceType ?? "t3.large"],
        scalingConfig: { minSize: nodes.min, desiredSize: nodes.desired, maxSize: nodes.max },
        updateConfig: { maxUnavailable: 1 },
        launchTemplate: { id: launchTemplate.id, version: launchTemplate.latestVersion.apply(String) },
      },
      { parent: this, dependsOn: nodePolicies },
    );
    new aws.eks.Addon(
      `${name}-vpc-cni`,
      {
        clusterName: cluster.name,
        addonName: "vpc-cni",
        configurationValues: JSON.stringify({ enableNetworkPolicy: "true" }),
        resolveConflictsOnCreate: "OVERWRITE",
        resolveConflictsOnUpdate: "OVERWRITE",
      },
      { parent: this },
    );
    this.podIdentityAgent = new aws.eks.Addon(
      `${name}-pod-identity`,
      { clusterName: cluster.name, addonName: "eks-pod-identity-agent" },
      { parent: this, dependsOn: [nodeGroup] },
    );
    this.addVolumeDriver(name, cluster, nodeGroup, this.podIdentityAgent, args.kmsKeyArn);

    this.name = cluster.name;
    this.clusterSecurityGroupId = cluster.vpcConfig.apply((v) => {
      // An empty id would become a rule that admits nobody, or fail far from here.
      if (!v.clusterSecurityGroupId)
        throw new Error(
          `EKS cluster ${name}: AWS reported no cluster security group; the data services cannot admit the cluster`,
        );
      return v.clusterSecurityGroupId;
    });
    this.kubeconfig = pulumi.secret(
      pulumi
        .all([cluster.name, cluster.endpoint, cluster.certificateAuthority])
        .apply(([clusterName, endpoint, ca]) => eksKubeconfig(clusterName, endpoint, ca.data ?? "", args.region)),
    );
    this.registerOutputs({
      name: this.name,
      kubeconfig: this.kubeconfig,
      clusterSecurityGroupId: this.clusterSecurityGroupId,
    });
  }

  private addVolumeDriver(
    name: string,
    cluster: aws.eks.Cluster,
    nodeGroup: aws.eks.NodeGroup,
    podIdentityAgent: aws.eks.Addon,
    kmsKeyArn: pulumi.Input<string>,
  ): void {
    const opts = { parent: this, dependsOn: [nodeGroup] };
    const role = new aws.iam.Role(`${name}-ebs-csi`, { assumeRolePolicy: POD_IDENTITY_TRUST_POLICY }, { parent: this });
    const managedPolicy = new aws.iam.RolePolicyAttachment(
      `${name}-ebs-csi`,
      { role: role.name, policyArn: "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy" },
      { parent: this },
    );
    const keyPolicy = new aws.iam.RolePolicy(
      `${name}-ebs-csi-kms`,
      {
        role: role.id,
        policy: pulumi.jsonStringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
              Resource: kmsKeyArn,
              Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } },
            },
            {
              Effect: "Allow",
              Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
              Resource: kmsKeyArn,
            },
          ],
        }),
      },
      { parent: this },
    );
    new aws.eks.Addon(
      `${name}-ebs-csi`,
      {
        clusterName: cluster.name,
        addonName: "aws-ebs-csi-driver",
        podIdentityAssociations: [{ roleArn: role.arn, serviceAccount: "ebs-csi-controller-sa" }],
      },
      { ...opts, dependsOn: [nodeGroup, podIdentityAgent, managedPolicy, keyPolicy] },
    );
  }
}
