import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { checkCidr } from "../config/checks";
import { PODS_RANGE, SERVICES_RANGE } from "./network";

export interface GkeAutopilotArgs {
  /** Region of the (regional) cluster. Required. */
  readonly region: string;
  /** VPC network id. Required. */
  readonly networkId: pulumi.Input<string>;
  /** Subnetwork with the `pods` and `services` secondary ranges (GcpNetwork creates it). Required. */
  readonly subnetworkId: pulumi.Input<string>;
  /** CMEK key for application-layer encryption of Secrets; GKE's service agent must be granted it. Default: none. */
  readonly kmsKeyId?: pulumi.Input<string>;
  /**
   * Client CIDRs allowed to reach the control plane's public endpoint. Default: none, and the
   * public endpoint is off: the API is reachable only from inside the VPC.
   */
  readonly publicAccessCidrs?: readonly string[];
  /** Refuse to delete the cluster. Default: false. */
  readonly deletionProtection?: boolean;
  /** What the cluster waits for, such as the key grant. Default: nothing. */
  readonly dependsOn?: pulumi.Resource[];
}

/** Throws with every problem in the arguments, before any resource is registered. */
export function validateGkeAutopilotArgs(args: GkeAutopilotArgs): void {
  const problems = (args.publicAccessCidrs ?? []).flatMap((cidr) => {
    const problem =
      checkCidr(cidr) ??
      (cidr.endsWith("/0") ? "opens the control plane to every address; list narrower CIDRs" : undefined);
    return problem ? [`publicAccessCidrs ${JSON.stringify(cidr)} ${problem}`] : [];
  });
  if (problems.length) throw new Error(`GKE cluster: ${problems.join("; ")}`);
}

/** A kubeconfig that authenticates through `gke-gcloud-auth-plugin` (exec), so it holds no credential. Pure. */
export function gkeKubeconfig(clusterName: string, endpoint: string, caData: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: clusterName, cluster: { server: `https://${endpoint}`, "certificate-authority-data": caData } }],
    contexts: [{ name: clusterName, context: { cluster: clusterName, user: clusterName } }],
    "current-context": clusterName,
    users: [
      {
        name: clusterName,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            command: "gke-gcloud-auth-plugin",
            provideClusterInfo: true,
            interactiveMode: "Never",
          },
        },
      },
    ],
  });
}

/**
 * GKE Autopilot, regional: Google runs the nodes, which are private (no external IPs; they reach
 * registries through Cloud NAT). Autopilot already enforces much of the restricted pod profile;
 * the stack's namespace enforces the rest.
 */
export class GkeAutopilot extends pulumi.ComponentResource {
  readonly name: pulumi.Output<string>;
  /** Kubeconfig with exec auth, a Pulumi secret. */
  readonly kubeconfig: pulumi.Output<string>;

  constructor(name: string, args: GkeAutopilotArgs, opts?: pulumi.ComponentResourceOptions) {
    validateGkeAutopilotArgs(args);
    super("northstack:gcp:Cluster", name, {}, opts);
    const publicAccessCidrs = [...(args.publicAccessCidrs ?? [])];

    const cluster = new gcp.container.Cluster(
      `${name}-gke`,
      {
        name: `northstack-${pulumi.getStack()}`,
        location: args.region,
        enableAutopilot: true,
        network: args.networkId,
        subnetwork: args.subnetworkId,
        ipAllocationPolicy: { clusterSecondaryRangeName: PODS_RANGE, servicesSecondaryRangeName: SERVICES_RANGE },
        privateClusterConfig: { enablePrivateNodes: true, enablePrivateEndpoint: publicAccessCidrs.length === 0 },
        masterAuthorizedNetworksConfig: {
          cidrBlocks: publicAccessCidrs.map((cidrBlock) => ({ cidrBlock, displayName: "operators" })),
        },
        databaseEncryption: args.kmsKeyId ? { state: "ENCRYPTED", keyName: args.kmsKeyId } : { state: "DECRYPTED" },
        releaseChannel: { channel: "REGULAR" },
        deletionProtection: args.deletionProtection ?? false,
      },
      { parent: this, dependsOn: args.dependsOn },
    );

    this.name = cluster.name;
    this.kubeconfig = pulumi.secret(
      pulumi
        .all([cluster.name, cluster.endpoint, cluster.masterAuth])
        .apply(([clusterName, endpoint, auth]) =>
          gkeKubeconfig(clusterName, endpoint, auth.clusterCaCertificate ?? ""),
        ),
    );
    this.registerOutputs({ name: this.name, kubeconfig: this.kubeconfig });
  }
}
