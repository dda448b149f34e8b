import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { subnetCidrs } from "../cidr";
import { checkCidr } from "../config/checks";

export const POSTGRES_PORT = 5432;
export const REDIS_PORT = 6379;

export interface AwsNetworkArgs {
  /** CIDR of the VPC to create, or of the existing VPC. Default: 10.40.0.0/16. */
  readonly vpcCidr?: string;
  /** Existing VPC to use instead of creating one. Default: create a VPC. */
  readonly vpcId?: string;
  /** Existing private subnets (2+ zones), with vpcId. Default: create one per zone. */
  readonly privateSubnetIds?: readonly string[];
  /** Zones to spread over when creating the VPC (2 or 3). Default: 3. */
  readonly zoneCount?: number;
  /** One NAT gateway per zone (survives a zone outage) instead of one shared. Default: false. */
  readonly natPerZone?: boolean;
}

/** Throws with every problem in the network arguments; pure, runs before any resource exists. */
export function validateAwsNetworkArgs(args: AwsNetworkArgs): void {
  const problems: string[] = [];
  const cidr = args.vpcCidr ?? "10.40.0.0/16";
  const cidrProblem = checkCidr(cidr);
  if (cidrProblem) problems.push(`vpcCidr ${JSON.stringify(cidr)} ${cidrProblem}`);
  else if (Number(cidr.split("/")[1]) > 20)
    problems.push(`vpcCidr ${JSON.stringify(cidr)} is smaller than /20; allowed: /16 to /20 (six /24+ subnets)`);
  const subnets = args.privateSubnetIds ?? [];
  if (Boolean(args.vpcId) !== subnets.length > 0) {
    problems.push(
      `vpcId ${JSON.stringify(args.vpcId ?? "")} and privateSubnetIds (${subnets.length}): give both or neither`,
    );
  }
  if (subnets.length === 1) problems.push("privateSubnetIds: needs at least two subnets in different zones");
  const zones = args.zoneCount ?? 3;
  if (zones !== 2 && zones !== 3) problems.push(`zoneCount ${zones} is not allowed; allowed: 2 or 3`);
  if (problems.length) throw new Error(`AWS network: ${problems.join("; ")}`);
}

/**
 * Where the managed data services live: private subnets over 2-3 zones (created, or given), and one
 * security group each for Postgres and Redis. The groups admit nothing until `DataClientAccess`
 * opens the service's port to the clients.
 *
 * A created VPC also has public subnets holding the NAT gateway(s) and internet-facing load
 * balancers (tagged for the AWS load balancer controller); nothing with data sits in them.
 */
export class AwsNetwork extends pulumi.ComponentResource {
  readonly vpcId: pulumi.Output<string>;
  readonly vpcCidr: string;
  readonly privateSubnetIds: pulumi.Output<string>[];
  readonly postgresSecurityGroupId: pulumi.Output<string>;
  readonly redisSecurityGroupId: pulumi.Output<string>;

  constructor(name: string, args: AwsNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    validateAwsNetworkArgs(args);
    super("northstack:aws:Network", name, {}, opts);
    this.vpcCidr = args.vpcCidr ?? "10.40.0.0/16";

    if (args.vpcId) {
      this.vpcId = pulumi.output(args.vpcId);
      this.privateSubnetIds = (args.privateSubnetIds ?? []).map((id) => pulumi.output(id));
    } else {
      const created = this.createVpc(name, this.vpcCidr, args.zoneCount ?? 3, args.natPerZone ?? false);
      this.vpcId = created.vpcId;
      this.privateSubnetIds = created.privateSubnetIds;
    }

    this.postgresSecurityGroupId = this.dataSecurityGroup(`${name}-postgres`, "Postgres");
    this.redisSecurityGroupId = this.dataSecurityGroup(`${name}-redis`, "Redis");
    this.registerOutputs({ vpcId: this.vpcId, privateSubnetIds: this.privateSubnetIds });
  }

  private dataSecurityGroup(name: string, service: string): pulumi.Output<string> {
    // No egress rules: the provider removes AWS's default allow-all egress, and replies to admitted
    // connections need none. (The description is immutable: changing it would replace the group.)
    const group = new aws.ec2.SecurityGroup(
      `${name}-sg`,
      { vpcId: this.vpcId, description: `${service}: only from the cluster network ${this.vpcCidr}` },
      { parent: this },
    );
    return group.id;
  }

  private createVpc(name: string, cidr: string, zoneCount: number, natPerZone: boolean) {
    const zones = aws.getAvailabilityZonesOutput({ state: "available" }, { parent: this }).names.apply((names) => {
      if (names.length < zoneCount)
        throw new Error(`AWS network: the region has ${names.length} available zones; ${zoneCount} are needed`);
      return names.slice(0, zoneCount);
    });
    const vpc = new aws.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock: cidr,
        enableDnsHostnames: true,
        enableDnsSupport: true,
        tags: { Name: `${name}-${pulumi.getStack()}` },
      },
      { parent: this },
    );
    const internetGateway = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id }, { parent: this });
    const publicRoutes = new aws.ec2.RouteTable(
      `${name}-public`,
      { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: internetGateway.id }] },
      { parent: this },
    );

    // Eight equal slices: private subnets take the first ones, public ones start at the fifth.
    const cidrs = subnetCidrs(cidr, 3, 8);
    const natGateways: aws.ec2.NatGateway[] = [];
    const privateSubnetIds: pulumi.Output<string>[] = [];
    for (let i = 0; i < zoneCount; i++) {
      const zone = zones.apply((z) => z[i]);
      const publicSubnet = new aws.ec2.Subnet(
        `${name}-public-${i}`,
        {
          vpcId: vpc.id,
          cidrBlock: cidrs[4 + i],
          availabilityZone: zone,
          mapPublicIpOnLaunch: false,
          tags: { "kubernetes.io/role/elb": "1" },
        },
        { parent: this },
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-public-${i}`,
        { subnetId: publicSubnet.id, routeTableId: publicRoutes.id },
        { parent: this },
      );
      if (natPerZone || i === 0) {
        const ip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc" }, { parent: this });
        natGateways.push(
          new aws.ec2.NatGateway(
            `${name}-nat-${i}`,
            { subnetId: publicSubnet.id, allocationId: ip.id },
            { parent: this, dependsOn: [internetGateway] },
          ),
        );
      }

      const privateSubnet = new aws.ec2.Subnet(
        `${name}-private-${i}`,
        {
          vpcId: vpc.id,
          cidrBlock: cidrs[i],
          availabilityZone: zone,
          mapPublicIpOnLaunch: false,
          tags: { "kubernetes.io/role/internal-elb": "1" },
        },
        { parent: this },
      );
      const privateRoutes = new aws.ec2.RouteTable(
        `${name}-private-${i}`,
        { vpcId: vpc.id, routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: natGateways[natPerZone ? i : 0].id }] },
        { parent: this },
      );
      new aws.ec2.RouteTableAssociation(
        `${name}-private-${i}`,
        { subnetId: privateSubnet.id, routeTableId: privateRoutes.id },
        { parent: this },
      );
      privateSubnetIds.push(privateSubnet.id);
    }
    return { vpcId: vpc.id, privateSubnetIds };
  }
}

export interface DataClientAccessArgs {
  /** The network whose Postgres and Redis security groups open to the clients. Required. */
  readonly network: Pick<AwsNetwork, "postgresSecurityGroupId" | "redisSecurityGroupId" | "vpcCidr">;
  /**
   * Security group the clients carry: the EKS cluster security group, which EKS puts on the managed
   * nodes and so (with the VPC CNI) on every pod's traffic. Default: none, and the whole VPC CIDR is
   * admitted, for a cluster the stack did not create and whose groups it does not know.
   */
  readonly clientSecurityGroupId?: pulumi.Input<string>;
}

/**
 * Opens Postgres (5432) and Redis (6379) to their clients: to the cluster's security group when the
 * stack created the cluster, else to the VPC CIDR. Separate from `AwsNetwork` because the cluster,
 * which needs the network's subnets, comes after it; the data services need not wait for the cluster.
 */
export class DataClientAccess extends pulumi.ComponentResource {
  constructor(name: string, args: DataClientAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("northstack:aws:DataClientAccess", name, {}, opts);
    const source = args.clientSecurityGroupId
      ? {
          referencedSecurityGroupId: args.clientSecurityGroupId,
          description: "clients: the EKS cluster security group",
        }
      : {
          cidrIpv4: args.network.vpcCidr,
          description: `clients: anything in the VPC ${args.network.vpcCidr} (cluster not created by the stack)`,
        };
    for (const [service, securityGroupId, port] of [
      ["postgres", args.network.postgresSecurityGroupId, POSTGRES_PORT],
      ["redis", args.network.redisSecurityGroupId, REDIS_PORT],
    ] as const) {
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-${service}`,
        { securityGroupId, ipProtocol: "tcp", fromPort: port, toPort: port, ...source },
        { parent: this },
      );
    }
    this.registerOutputs({});
  }
}
