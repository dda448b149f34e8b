import { checkCidr, checkCorsOrigin, checkGatewayOrigin, withoutUserinfo } from "../checks";
import { ConfigReader, Problems, key, show } from "../reader";
import { DEFAULT_VPC_CIDR, NorthstackConfig } from "../schema";
import { DockerCgroupDriver } from "../../runtime/docker-cgroups";

/**
 * Who may reach what: the gateway's public URL, CORS origins and admin CIDRs, the cluster API's
 * allow list (returned with the Kubernetes slice, read here with the other CIDRs), and the networks
 * the stack creates or joins.
 */
export function readGatewayAndNetwork(
  r: ConfigReader,
  problems: Problems,
): Pick<NorthstackConfig, "gateway" | "network" | "docker"> {
  for (const origin of r.list("corsOrigins")) {
    if (origin === "*") {
      problems.push(`${key("corsOrigins")}: "*" would let any site call the API with credentials; list the origins`);
      continue;
    }
    const problem = checkCorsOrigin(origin);
    if (problem) problems.push(`${key("corsOrigins")}: ${show(withoutUserinfo(origin))} ${problem}`);
  }
  const adminAllowCidrs = r.list("adminAllowCidrs");
  if (adminAllowCidrs.length === 0) problems.push(`${key("adminAllowCidrs")}: must list at least one CIDR`);
  for (const c of adminAllowCidrs) {
    const problem = checkCidr(c);
    if (problem) problems.push(`${key("adminAllowCidrs")}: ${show(c)} ${problem}`);
    else if (c.endsWith("/0"))
      problems.push(`${key("adminAllowCidrs")}: ${show(c)} opens admin routes to every address; list narrower CIDRs`);
  }
  for (const c of r.list("clusterApiAllowCidrs")) {
    const problem = checkCidr(c);
    if (problem) problems.push(`${key("clusterApiAllowCidrs")}: ${show(c)} ${problem}`);
    else if (c.endsWith("/0"))
      problems.push(
        `${key("clusterApiAllowCidrs")}: ${show(c)} opens the cluster API server to every address; list narrower CIDRs`,
      );
  }
  for (const k of ["vpcCidr", "dockerSubnet"] as const) {
    if (r.given(k) === undefined) continue;
    const problem = checkCidr(r.str(k));
    if (problem) problems.push(`${key(k)}: ${show(r.str(k))} ${problem}`);
  }
  const publicUrl = r.str("publicUrl");
  const urlProblem = checkGatewayOrigin(publicUrl);
  if (urlProblem) problems.push(`${key("publicUrl")}: ${show(withoutUserinfo(publicUrl))} ${urlProblem}`);

  const vpcId = r.str("vpcId");
  const privateSubnetIds = r.list("privateSubnetIds");
  if (!r.invalid("privateSubnetIds") && Boolean(vpcId) !== privateSubnetIds.length > 0) {
    problems.push(
      `${key("vpcId")} and ${key("privateSubnetIds")}: give both or neither (got vpcId ${show(vpcId)}, ${privateSubnetIds.length} subnets)`,
    );
  }
  if (privateSubnetIds.length === 1) {
    problems.push(`${key("privateSubnetIds")}: needs at least two subnets in different zones for managed databases`);
  }
  // Security groups and NetworkPolicies admit the VPC's clients by this CIDR, so a guess is not safe.
  if (vpcId && r.given("vpcCidr") === undefined) {
    problems.push(
      `${key("vpcCidr")}: not set, but ${key("vpcId")} is ${show(vpcId)}; set it to that network's CIDR (e.g. 10.0.0.0/16), which the data services admit their clients from`,
    );
  }

  return {
    gateway: {
      publicUrl,
      corsOrigins: r.list("corsOrigins"),
      rateLimitRequests: r.int("rateLimitRequests"),
      rateLimitWindowMinutes: r.int("rateLimitWindowMinutes"),
      adminAllowCidrs,
      maxRequestSizeMb: r.int("maxRequestSizeMb"),
      hostPort: r.int("gatewayPort"),
    },
    network: { vpcCidr: r.str("vpcCidr") || DEFAULT_VPC_CIDR, vpcId, privateSubnetIds },
    docker: { subnet: r.str("dockerSubnet"), cgroupDriver: r.str("dockerCgroupDriver") as DockerCgroupDriver },
  };
}

/**
 * The dev stack publishes these on 127.0.0.1, so no two may share a port. A clash is reported
 * against the port the stack gives (the later one when it gives both), never against a default.
 */
export function checkHostPorts(r: ConfigReader, problems: Problems): void {
  const ports = (["gatewayPort", "apiPort", "studioPort", "grafanaPort"] as const).filter((k) => !r.invalid(k));
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      if (r.int(ports[i]) !== r.int(ports[j])) continue;
      const [blamed, other] = r.given(ports[j]) !== undefined ? [ports[j], ports[i]] : [ports[i], ports[j]];
      const taken = ports.filter((k) => k !== blamed).map((k) => r.int(k));
      problems.push(
        `${key(blamed)}: ${r.int(blamed)} is already used by ${key(other)}; host ports must differ (in use: ${taken.join(", ")})`,
      );
    }
  }
}
