import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";

/**
 * Google services whose agent may use the key, and how the agent comes to exist: "identity" asks
 * the Service Usage API for it (Cloud SQL's does not exist until then), "api" means it is created
 * with its API; both have a well-known address for a project number. "lookup" reads the address
 * from the service, which creates the agent on first read (Cloud Storage).
 */
export const SERVICE_AGENTS = {
  "sqladmin.googleapis.com": {
    agent: (projectNumber: string) => `service-${projectNumber}@gcp-sa-cloud-sql.iam.gserviceaccount.com`,
    provision: "identity",
  },
  "redis.googleapis.com": {
    agent: (projectNumber: string) => `service-${projectNumber}@cloud-redis.iam.gserviceaccount.com`,
    provision: "api",
  },
  "container.googleapis.com": {
    agent: (projectNumber: string) => `service-${projectNumber}@container-engine-robot.iam.gserviceaccount.com`,
    provision: "api",
  },
  "storage.googleapis.com": { provision: "lookup" },
} as const satisfies Record<
  string,
  { agent: (projectNumber: string) => string; provision: "identity" | "api" } | { provision: "lookup" }
>;
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
    const ring = new gcp.kms.KeyRing(
      `${name}-ring`,
      { name: `northstack-${pulumi.getStack()}-${name}`, location: args.location },
      { parent: this },
    );
    const key = new gcp.kms.CryptoKey(
      `${name}-key`,
      {
        name: `${name}-key`,
        keyRing: ring.id,
        purpose: "ENCRYPT_DECRYPT",
        rotationPeriod: args.rotationPeriod ?? "7776000s",
      },
      { parent: this },
    );
    this.grants = (args.users ?? []).map((service) => {
      const shortName = service.split(".")[0];
      const source = SERVICE_AGENTS[service];
      const identity =
        source.provision === "identity"
          ? [new gcp.projects.ServiceIdentity(`${name}-${shortName}-agent`, { service }, { parent: this })]
          : [];
      const email =
        "agent" in source
          ? pulumi.output(args.projectNumber).apply(source.agent)
          : gcp.storage.getProjectServiceAccountOutput({}, { parent: this }).emailAddress;
      return new gcp.kms.CryptoKeyIAMMember(
        `${name}-${shortName}`,
        {
          cryptoKeyId: key.id,
          role: "roles/cloudkms.cryptoKeyEncrypterDecrypter",
          member: pulumi.interpolate`serviceAccount:${email}`,
        },
        { parent: this, dependsOn: identity },
      );
    });
    this.id = key.id;
    this.registerOutputs({ id: this.id });
  }
}
