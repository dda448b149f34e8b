import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/**
 * Google services whose agent may use the key: the agent's address for a project number, and
 * whether the agent must be asked for (Cloud SQL's does not exist until then; the others are
 * created with their API).
 */
export const SERVICE_AGENTS = {
  "sqladmin.googleapis.com": { agent: (projectNumber: string) => `service-${projectNumber}@gcp-sa-cloud-sql.iam.gserviceaccount.com`, provision: true },
  "redis.googleapis.com": { agent: (projectNumber: string) => `service-${projectNumber}@cloud-redis.iam.gserviceaccount.com`, provision: false },
  "container.googleapis.com": { agent: (projectNumber: string) => `service-${projectNumber}@container-engine-robot.iam.gserviceaccount.com`, provision: false },
} as const;
export type KeyUser = keyof typeof SERVICE_AGENTS;

export interface GcpEncryptionKeyArgs {
  /** Key ring location; must be the region of the resources it encrypts. Required. */
  readonly location: string;
  /** Project number, for the service agents' addresses. Required. */
  readonly projectNumber: pulumi.Input<string>;
  /** Services allowed to encrypt and decrypt with the key. Default: none. */
  readonly users?: readonly KeyUser[];
  /** How often the key rotates, in seconds. Default: 7776000s (90 days). */
  readonly rotationPeriod?: gcp.kms.CryptoKeyArgs["rotationPeriod"];
}

/** A customer-managed encryption key (CMEK) in one region, with automatic rotation, usable by the listed Google services. */
export class GcpEncryptionKey extends pulumi.ComponentResource {
  /** Full key id, projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>. */
  readonly id: pulumi.Output<string>;
  /** The IAM grants to the listed services; resources using the key depend on them. */
  readonly grants: pulumi.Resource[];

  constructor(name: string, args: GcpEncryptionKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("northstack:gcp:EncryptionKey", name, {}, opts);
    // Key rings cannot be deleted, so the name carries the stack: a new stack never collides.
    const ring = new gcp.kms.KeyRing(`${name}-ring`, { name: `northstack-${pulumi.getStack()}-${name}`, location: args.location }, { parent: this });
    const key = new gcp.kms.CryptoKey(
      `${name}-key`,
      { name: `${name}-key`, keyRing: ring.id, purpose: "ENCRYPT_DECRYPT", rotationPeriod: args.rotationPeriod ?? "7776000s" },
      { parent: this },
    );
    this.grants = (args.users ?? []).map((service) => {
      const shortName = service.split(".")[0];
      const { agent, provision } = SERVICE_AGENTS[service];
      const identity = provision ? [new gcp.projects.ServiceIdentity(`${name}-${shortName}-agent`, { service }, { parent: this })] : [];
      return new gcp.kms.CryptoKeyIAMMember(
        `${name}-${shortName}`,
        {
          cryptoKeyId: key.id,
          role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
          member: pulumi.output(args.projectNumber).apply((n) => `serviceAccount:${agent(n)}`),
        },
        { parent: this, dependsOn: identity },
      );
    });
    this.id = key.id;
    this.registerOutputs({ id: this.id });
  }
}
