import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { subnetCidrs } from "../cidr";
import { checkCidr } from "../config/checks";

export interface GcpNetworkArgs {
  /** Region of the subnetwork and NAT. Required. */
  readonly region: string;
  /** CIDR the subnetwork and the GKE pod/service ranges are cut from (/8 to /20). Default: 10.40.0.0/16. */
  readonly vpcCidr?: string;
  /**
   * Existing VPC network (id or self link) that already has private services access to
   * servicenetworking.googleapis.com. Default: create the network, subnetwork, NAT and peering.
   */
  readonly vpcId?: string;
}

export const PODS_RANGE = "pods";
export const SERVICES_RANGE = "services";

/**
 * Address layout for a VPC CIDR, in sixteenths: nodes take the 1st, GKE services the 2nd, the range
 * peered to Cloud SQL and Memorystore the 5th, GKE pods the upper half. Pure.
 */
export function gcpSubnetLayout(vpcCidr: string): {
  nodes: string;
  services: string;
  privateServices: string;
  pods: string;
} {
  const problem = checkCidr(vpcCidr);
  const prefix = Number(vpcCidr.split("/")[1]);
  if (problem || prefix < 8 || prefix > 20) {
    throw new Error(
      `GCP network: vpcCidr ${JSON.stringify(vpcCidr)} ${problem ?? "is not allowed"}; allowed: an IPv4 CIDR from /8 to /20`,
    );
  }
  const sixteenths = subnetCidrs(vpcCidr, 4, 16);
  return {
    nodes: sixteenths[0],
    services: sixteenths[1],
    privateServices: sixteenths[4],
    pods: subnetCidrs(vpcCidr, 1, 2)[1],
  };
}

/**
 * The private network the data services and the cluster share: a custom-mode VPC with one
 * subnetwork (secondary ranges for GKE pods and services), Cloud NAT so that private nodes pull
 * images, and private services access (a reserved range peered with Google's service producer
 * network), which is how Cloud SQL and Memorystore get private IPs without public ones.
 */
export class GcpNetwork extends pulumi.ComponentResource {
  /** Network id (projects/<p>/global/networks/<n>). */
  readonly networkId: pulumi.Output<string>;
  /** The created subnetwork; undefined with an existing network. */
  readonly subnetworkId?: pulumi.Output<string>;
  /**
   * Where Cloud SQL and Memorystore get their private IPs: the reserved peering range, or with an
   * existing network its vpcCidr, which must then cover that network's peering range.
   */
  readonly privateServicesCidr: string;
  /** Resources that must exist before private IPs can be allocated (the peering). */
  readonly privateServicesAccess: pulumi.Resource[];

  constructor(name: string, args: GcpNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    const layout = gcpSubnetLayout(args.vpcCidr ?? "10.40.0.0/16");
    super("northstack:gcp:Network", name, {}, opts);
    if (args.vpcId) {
      this.privateServicesCidr = args.vpcCidr ?? "10.40.0.0/16";
      this.networkId = pulumi.output(args.vpcId);
      this.privateServicesAccess = [];
      this.registerOutputs({ networkId: this.networkId });
      return;
    }

    const network = new gcp.compute.Network(
      `${name}-vpc`,
      { autoCreateSubnetworks: false, routingMode: "REGIONAL" },
      { parent: this },
    );
    const subnetwork = new gcp.compute.Subnetwork(
      `${name}-subnet`,
      {
        network: network.id,
        region: args.region,
        ipCidrRange: layout.nodes,
        privateIpGoogleAccess: true,
        secondaryIpRanges: [
          { rangeName: PODS_RANGE, ipCidrRange: layout.pods },
          { rangeName: SERVICES_RANGE, ipCidrRange: layout.services },
        ],
      },
      { parent: this },
    );
    const router = new gcp.compute.Router(
      `${name}-router`,
      { network: network.id, region: args.region },
      { parent: this },
    );
    new gcp.compute.RouterNat(
      `${name}-nat`,
      {
        router: router.name,
        region: args.region,
        natIpAllocateOption: "AUTO_ONLY",
        sourceSubnetworkIpRangesToNat: "ALL_SUBNETWORKS_ALL_IP_RANGES",
        logConfig: { enable: true, filter: "ERRORS_ONLY" },
      },
      { parent: this },
    );
    const reserved = new gcp.compute.GlobalAddress(
      `${name}-services-range`,
      {
        network: network.id,
        purpose: "VPC_PEERING",
        addressType: "INTERNAL",
        address: layout.privateServices.split("/")[0],
        prefixLength: Number(layout.privateServices.split("/")[1]),
      },
      { parent: this },
    );
    const peering = new gcp.servicenetworking.Connection(
      `${name}-services-peering`,
      { network: network.id, service: "servicenetworking.googleapis.com", reservedPeeringRanges: [reserved.name] },
      { parent: this },
    );

    this.privateServicesCidr = layout.privateServices;
    this.networkId = network.id;
    this.subnetworkId = subnetwork.id;
    this.privateServicesAccess = [peering];
    this.registerOutputs({ networkId: this.networkId, subnetworkId: this.subnetworkId });
  }
}
