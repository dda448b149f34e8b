import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";

const ACCOUNT_ID = /^[a-z][-a-z0-9]{4,28}[a-z0-9]$/;
/** The GCS XML API endpoint that speaks the S3 protocol to HMAC-signed requests. */
export const GCS_S3_ENDPOINT = "https://storage.googleapis.com";

/**
 * A service account id for one purpose of one stack: `ns-<stack>-<purpose>`, or, when that is not a
 * valid id (6-30 characters), `ns-<hash of stack>-<purpose>`. Pure.
 */
export function gcpServiceAccountId(stack: string, purpose: string): string {
  const readable = `ns-${stack.toLowerCase().replace(/[^a-z0-9-]/g, "-")}-${purpose}`;
  if (ACCOUNT_ID.test(readable)) return readable;
  const hashed = `ns-${crypto.createHash("sha256").update(stack).digest("hex").slice(0, 8)}-${purpose}`;
  if (!ACCOUNT_ID.test(hashed))
    throw new Error(
      `GCS credentials: purpose ${JSON.stringify(purpose)} is too long or not a DNS label; use at most 18 lowercase letters, digits and dashes`,
    );
  return hashed;
}

export interface HmacCredentialsArgs {
  /** Service account id, 6-30 lowercase letters, digits and dashes, from gcpServiceAccountId. Required. */
  readonly accountId: string;
  /** What the account is for, shown in IAM. Required. */
  readonly description: string;
  /** Bucket the account is granted roles on; it gets nothing at project level. Required. */
  readonly bucket: pulumi.Input<string>;
  /** Roles on the bucket, e.g. roles/storage.objectUser. Required, at least one. */
  readonly roles: readonly string[];
}

/** Throws, naming the argument and what is allowed, before any resource is registered. */
export function validateHmacCredentialsArgs(args: Pick<HmacCredentialsArgs, "accountId" | "roles">): void {
  const problems: string[] = [];
  if (!ACCOUNT_ID.test(args.accountId))
    problems.push(
      `accountId ${JSON.stringify(args.accountId)} is not allowed; use 6-30 lowercase letters, digits and dashes, starting with a letter`,
    );
  if (args.roles.length === 0) problems.push("roles is empty; grant at least one bucket role");
  for (const role of args.roles)
    if (!role.startsWith("roles/storage."))
      problems.push(`role ${JSON.stringify(role)} is not allowed; only roles/storage.* roles on the bucket`);
  if (problems.length) throw new Error(`GCS credentials: ${problems.join("; ")}`);
}

/**
 * S3-compatible credentials for one GCS bucket: a dedicated service account holding only the given
 * roles on that bucket, and an HMAC key of it, since S3 clients sign SigV4 requests and GKE Workload
 * Identity cannot. The key's secret is a Pulumi secret (it is also kept, encrypted, in the stack
 * state); rotate it by replacing this component.
 */
export class HmacCredentials extends pulumi.ComponentResource {
  readonly accessKeyId: pulumi.Output<string>;
  readonly secretAccessKey: pulumi.Output<string>;
  readonly email: pulumi.Output<string>;

  constructor(name: string, args: HmacCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
    validateHmacCredentialsArgs(args);
    super("northstack:gcp:HmacCredentials", name, {}, opts);
    const account = new gcp.serviceaccount.Account(
      `${name}-sa`,
      { accountId: args.accountId, displayName: args.description, description: args.description },
      { parent: this },
    );
    const grants = args.roles.map(
      (role) =>
        new gcp.storage.BucketIAMMember(
          `${name}-${role.split(".").pop()}`,
          { bucket: args.bucket, role, member: pulumi.interpolate`serviceAccount:${account.email}` },
          { parent: this },
        ),
    );
    const key = new gcp.storage.HmacKey(
      `${name}-hmac`,
      { serviceAccountEmail: account.email },
      { parent: this, dependsOn: grants },
    );
    this.accessKeyId = pulumi.secret(key.accessId);
    this.secretAccessKey = pulumi.secret(key.secret);
    this.email = account.email;
    this.registerOutputs({ email: this.email });
  }
}
