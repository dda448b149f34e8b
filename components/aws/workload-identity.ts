import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DNS_LABEL } from "../config/checks";

/** Trust policy of a role that EKS Pod Identity hands to pods (the agent assumes it and tags the session). */
export const POD_IDENTITY_TRUST_POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] },
  ],
});

/**
 * Least privilege for Supabase Storage on its bucket: read, write, delete and list objects (multipart
 * uploads included), and use the bucket's KMS key for SSE-KMS. Pure.
 */
export function objectStorePolicy(bucketArn: string, kmsKeyArn: string): aws.iam.PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ListBucket",
        Effect: "Allow",
        Action: ["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation"],
        Resource: bucketArn,
      },
      {
        Sid: "Objects",
        Effect: "Allow",
        Action: [
          "s3:GetObject",
          "s3:PutObject",
          "s3:DeleteObject",
          "s3:AbortMultipartUpload",
          "s3:ListMultipartUploadParts",
        ],
        Resource: `${bucketArn}/*`,
      },
      { Sid: "BucketKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: kmsKeyArn },
    ],
  };
}

/**
 * Least privilege for the backup job: write objects under the given prefixes and list the weekly
 * one (to decide whether today's dump also becomes a weekly one); no reads, no deletes, the bucket's
 * lifecycle does the retention. kms:Decrypt is what S3 needs to complete SSE-KMS multipart uploads. Pure.
 */
export function backupWriterPolicy(
  bucketArn: string,
  kmsKeyArn: string,
  prefixes: readonly string[],
  listPrefix: string,
): aws.iam.PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ListPrefix",
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: bucketArn,
        Condition: { StringLike: { "s3:prefix": [listPrefix, `${listPrefix}*`] } },
      },
      {
        Sid: "WriteDumps",
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
        Resource: prefixes.map((p) => `${bucketArn}/${p}*`),
      },
      { Sid: "BucketKey", Effect: "Allow", Action: ["kms:GenerateDataKey", "kms:Decrypt"], Resource: kmsKeyArn },
    ],
  };
}

/**
 * Least privilege for the restore drill: read objects under the given prefixes (the current
 * versions; no listing, no writes, no deletes), and decrypt them with the bucket's KMS key. Pure.
 */
export function backupReaderPolicy(
  bucketArn: string,
  kmsKeyArn: string,
  prefixes: readonly string[],
): aws.iam.PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ReadDumps",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: prefixes.map((p) => `${bucketArn}/${p}*`),
      },
      { Sid: "BucketKey", Effect: "Allow", Action: "kms:Decrypt", Resource: kmsKeyArn },
    ],
  };
}

export interface PodIdentityRoleArgs {
  /** EKS cluster the association is created in; it must run the eks-pod-identity-agent add-on. Required. */
  readonly clusterName: pulumi.Input<string>;
  /** Namespace of the ServiceAccount (a DNS label). Required. */
  readonly namespace: string;
  /** ServiceAccount the pods run as (a DNS label). Required. */
  readonly serviceAccount: string;
  /** What the role may do, naming its resources. Required. */
  readonly policy: pulumi.Input<aws.iam.PolicyDocument>;
  /** What the association waits for, such as the Pod Identity agent add-on. Default: nothing. */
  readonly dependsOn?: pulumi.Resource[];
}

/** Throws, naming the argument and what is allowed, before any resource is registered. */
export function validatePodIdentityRoleArgs(args: Pick<PodIdentityRoleArgs, "namespace" | "serviceAccount">): void {
  const problems: string[] = [];
  for (const [key, value] of [
    ["namespace", args.namespace],
    ["serviceAccount", args.serviceAccount],
  ] as const) {
    if (!DNS_LABEL.test(value))
      problems.push(
        `${key} ${JSON.stringify(value)} is not a DNS label (lowercase letters, digits, dashes; at most 63)`,
      );
  }
  if (problems.length) throw new Error(`EKS Pod Identity role: ${problems.join("; ")}`);
}

/**
 * An IAM role for one Kubernetes ServiceAccount through EKS Pod Identity: trusted only by
 * pods.eks.amazonaws.com, with an inline least-privilege policy, and associated with
 * <namespace>/<serviceAccount> in the cluster. Pods of that ServiceAccount get its credentials from
 * the node's Pod Identity agent (169.254.170.23) and nothing else does; nodes keep no S3 or KMS rights.
 */
export class PodIdentityRole extends pulumi.ComponentResource {
  readonly roleArn: pulumi.Output<string>;
  /** The association; pods created before it exist get no credentials, so workloads depend on it. */
  readonly association: aws.eks.PodIdentityAssociation;

  constructor(name: string, args: PodIdentityRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    validatePodIdentityRoleArgs(args);
    super("northstack:aws:PodIdentityRole", name, {}, opts);
    const role = new aws.iam.Role(
      `${name}-role`,
      {
        description: `northstack: ${args.namespace}/${args.serviceAccount} through EKS Pod Identity`,
        assumeRolePolicy: POD_IDENTITY_TRUST_POLICY,
      },
      { parent: this },
    );
    const policy = new aws.iam.RolePolicy(
      `${name}-policy`,
      { role: role.id, policy: pulumi.jsonStringify(args.policy) },
      { parent: this },
    );
    this.association = new aws.eks.PodIdentityAssociation(
      `${name}-association`,
      {
        clusterName: args.clusterName,
        namespace: args.namespace,
        serviceAccount: args.serviceAccount,
        roleArn: role.arn,
      },
      { parent: this, dependsOn: [policy, ...(args.dependsOn ?? [])] },
    );
    this.roleArn = role.arn;
    this.registerOutputs({ roleArn: this.roleArn });
  }
}
