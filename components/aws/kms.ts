import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface EncryptionKeyArgs {
  /** What the key protects, shown in the KMS console. Default: "northstack data". */
  readonly purpose?: pulumi.Input<string>;
  /** Days KMS waits before deleting the key once scheduled (7-30). Default: 30. */
  readonly deletionWindowInDays?: aws.kms.KeyArgs["deletionWindowInDays"];
}

/**
 * A customer-managed symmetric KMS key with yearly automatic rotation and an alias. The region is
 * the one of the provider passed in `opts`. The default key policy (account root) applies, so that
 * RDS, ElastiCache, S3 and EKS use it through their service-linked roles and IAM grants.
 */
export class EncryptionKey extends pulumi.ComponentResource {
  readonly arn: pulumi.Output<string>;
  readonly keyId: pulumi.Output<string>;

  constructor(name: string, args: EncryptionKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("northstack:aws:EncryptionKey", name, {}, opts);
    const key = new aws.kms.Key(
      `${name}-key`,
      {
        description: args.purpose ?? "northstack data",
        enableKeyRotation: true,
        deletionWindowInDays: args.deletionWindowInDays ?? 30,
        keyUsage: "ENCRYPT_DECRYPT",
        customerMasterKeySpec: "SYMMETRIC_DEFAULT",
      },
      { parent: this },
    );
    new aws.kms.Alias(
      `${name}-alias`,
      { name: `alias/northstack/${pulumi.getStack()}/${name}`, targetKeyId: key.keyId },
      { parent: this },
    );
    this.arn = key.arn;
    this.keyId = key.keyId;
    this.registerOutputs({ arn: this.arn });
  }
}
