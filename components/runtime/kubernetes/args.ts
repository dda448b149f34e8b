import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DNS_LABEL, HOSTNAME, certificateSourceProblem, checkCidr } from "../../config/checks";

/** How public ports (`PortSpec.public`) reach clients: a LoadBalancer Service, or an Ingress. */
export type Exposure = "loadbalancer" | "ingress";

/** One managed data service (Postgres, Redis) and the workloads allowed to reach it. */
export interface DataServiceAccess {
  /** Names the service in errors, e.g. "postgres". */
  readonly name: string;
  /** Where it listens: the VPC or the private services range. */
  readonly cidrs: readonly string[];
  /** The port its endpoint reports (Memorystore with TLS serves 6378, not 6379). */
  readonly port: pulumi.Input<number>;
  /** Workloads that may connect to it. */
  readonly clients: readonly string[];
  /**
   * Why `cidrs` is wider than the service's own subnets (e.g. an existing VPC whose subnets the stack
   * does not know); shown on each client's NetworkPolicy. Default: none, `cidrs` is the service's own.
   */
  readonly reason?: string;
}

/** Public addresses (any, private and link-local ranges excepted) one workload may reach, and why no narrower range will do. */
export interface PublicEgress {
  /** The workload that may connect. */
  readonly client: string;
  /** TCP ports it may reach there, e.g. 443 and an SMTP smarthost's 587. */
  readonly ports: readonly number[];
  /** Why public addresses: what the workload calls there, and why no fixed range names it. Shown on the client's NetworkPolicy. Required. */
  readonly reason: string;
}

export interface KubernetesRuntimeArgs {
  /** The Pulumi stack name, for the northstack.io/stack label. */
  readonly stack: string;
  /** Provider of the target cluster; passed explicitly to every object the runtime creates. */
  readonly provider: k8s.Provider;
  /** Namespace the runtime creates and deploys every workload into (a DNS label). */
  readonly namespace: string;
  /** How public ports (`PortSpec.public`) are exposed. Default: "loadbalancer". */
  readonly exposure?: Exposure;
  /** Host name clients use: the Ingress rule and the name on a cert-manager certificate. Required with exposure "ingress" or certManagerIssuer; default: none. */
  readonly publicHost?: string;
  /** IngressClass of the Ingress. Default: "nginx". */
  readonly ingressClassName?: string;
  /**
   * cert-manager ClusterIssuer that issues the public certificate into the Secret `<workload>-tls`.
   * With exposure "loadbalancer" it must solve DNS-01: the load balancer serves no port 80. Default:
   * none, and tlsSecretName is required for public ports.
   */
  readonly certManagerIssuer?: string;
  /** Existing kubernetes.io/tls Secret in the namespace with the public certificate. Default: none, and certManagerIssuer is required for public ports. */
  readonly tlsSecretName?: string;
  /** Namespace of the ingress controller, the only source admitted to public ports with exposure "ingress". Default: "ingress-nginx". */
  readonly ingressControllerNamespace?: string;
  /** Annotations of LoadBalancer Services, which pick the cloud's load balancer (e.g. an AWS NLB). Default: none. */
  readonly loadBalancerAnnotations?: Readonly<Record<string, string>>;
  /** Node-local DNS resolvers pods may query besides the kube-dns pods (GKE: NodeLocal DNSCache, Cloud DNS). Default: none. */
  readonly dnsResolverCidrs?: readonly string[];
  /** Namespace whose pods labelled northstack.io/role=metrics-scraper may scrape metrics ports. Default: none (no scraping). */
  readonly monitoringNamespace?: string;
  /** Managed data services and their clients: each client may reach only the services it is listed for. Default: none. */
  readonly dataServices?: readonly DataServiceAccess[];
  /** Workloads that may reach public addresses, on which ports and why (object storage APIs, alert receivers). Default: none. */
  readonly publicEgress?: readonly PublicEgress[];
  /** StorageClass of the StatefulSets' volume claims. Default: the cluster's default class. */
  readonly storageClassName?: string;
}

/** The runtime's arguments without the provider: everything the pure builders read. */
export type RuntimeSettings = Omit<KubernetesRuntimeArgs, "provider">;

const isTcpPort = (port: number) => Number.isInteger(port) && port >= 1 && port <= 65535;

const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Checks the runtime's arguments; throws one error naming every bad argument, its value and what is allowed. */
export function validateKubernetesRuntimeArgs(args: RuntimeSettings): void {
  const problems: string[] = [];
  const show = JSON.stringify;
  const workloadNames = (arg: string, names: readonly string[]) => {
    for (const n of names) if (!DNS_LABEL.test(n)) problems.push(`${arg} entry ${show(n)} is not a workload name`);
  };
  const cidrs = (arg: string, values: readonly string[]) => {
    for (const cidr of values) {
      const problem = checkCidr(cidr);
      if (problem) problems.push(`${arg} entry ${show(cidr)} ${problem}`);
    }
  };
  if (!DNS_LABEL.test(args.namespace))
    problems.push(
      `namespace ${show(args.namespace)} is not a DNS label (lowercase letters, digits, dashes; at most 63)`,
    );
  const exposure = args.exposure ?? "loadbalancer";
  if (exposure !== "loadbalancer" && exposure !== "ingress")
    problems.push(`exposure ${show(exposure)} must be "loadbalancer" or "ingress"`);
  if (exposure === "ingress" && !args.publicHost)
    problems.push(`publicHost is required with exposure "ingress" (the Ingress rule and certificate name it)`);
  if (args.certManagerIssuer && !args.publicHost)
    problems.push(
      `publicHost is required with certManagerIssuer ${show(args.certManagerIssuer)} (the certificate names it)`,
    );
  if (args.publicHost && !HOSTNAME.test(args.publicHost))
    problems.push(`publicHost ${show(args.publicHost)} is not a DNS host name`);
  if (certificateSourceProblem(args.certManagerIssuer, args.tlsSecretName) === "both") {
    problems.push(
      `certManagerIssuer ${show(args.certManagerIssuer)} and tlsSecretName ${show(args.tlsSecretName)}: give one, not both (cert-manager writes its own Secret)`,
    );
  }
  if (args.tlsSecretName !== undefined && !DNS_SUBDOMAIN.test(args.tlsSecretName))
    problems.push(`tlsSecretName ${show(args.tlsSecretName)} is not a Secret name (DNS subdomain)`);
  for (const [arg, value] of [
    ["ingressControllerNamespace", args.ingressControllerNamespace],
    ["monitoringNamespace", args.monitoringNamespace],
  ] as const) {
    if (value !== undefined && !DNS_LABEL.test(value)) problems.push(`${arg} ${show(value)} is not a DNS label`);
  }
  cidrs("dnsResolverCidrs", args.dnsResolverCidrs ?? []);
  for (const service of args.dataServices ?? []) {
    const where = `dataServices ${show(service.name)}`;
    if (!DNS_LABEL.test(service.name)) problems.push(`${where}: name is not a DNS label`);
    if (service.cidrs.length === 0) problems.push(`${where}: cidrs is empty; list where the service listens`);
    cidrs(`${where}: cidrs`, service.cidrs);
    if (typeof service.port === "number" && !isTcpPort(service.port)) {
      problems.push(`${where}: port ${service.port} is not a TCP port (1-65535)`);
    }
    workloadNames(`${where}: clients`, service.clients);
    if (service.reason !== undefined && service.reason.trim() === "")
      problems.push(
        `${where}: reason is empty; say why cidrs is wider than the service's own subnets, or leave it out`,
      );
  }
  for (const [i, publicEgress] of (args.publicEgress ?? []).entries()) {
    const where = `publicEgress[${i}] (${show(publicEgress.client)})`;
    if (!DNS_LABEL.test(publicEgress.client)) problems.push(`${where}: client is not a workload name`);
    if (publicEgress.ports.length === 0) problems.push(`${where}: ports is empty; list the ports it calls`);
    for (const port of publicEgress.ports)
      if (!isTcpPort(port)) problems.push(`${where}: port ${show(port)} is not a TCP port (1-65535)`);
    if (publicEgress.reason.trim() === "")
      problems.push(
        `${where}: reason is empty; say what it calls on public addresses and why no narrower range will do`,
      );
  }
  if (problems.length) throw new Error(`KubernetesRuntime: ${problems.join("; ")}`);
}
