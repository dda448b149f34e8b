/**
 * NetworkPolicies as plain data. Every pod is denied by default. A workload admits its service ports
 * from the workloads in `allowFrom`, its metrics port from the monitoring namespace's scrapers, and
 * its public port from any source (load balancer) or only from the ingress controller's namespace.
 * Egress to other pods in the namespace is open on any port, because the receiving pod's ingress
 * policy is what decides; egress leaving the namespace is only DNS, each data service's port for its
 * listed clients, HTTPS to public addresses for the listed HTTPS clients, and the EKS Pod Identity
 * agent for workloads whose ServiceAccount uses it.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SCRAPER_LABEL, WorkloadSpec } from "../../workload";
import { RuntimeSettings } from "./args";
import { HTTPS_PORT } from "./exposure";
import { Manifest, WorkloadMeta } from "./manifest";

type IngressRule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;
type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
export type NetworkPolicyManifest = Manifest<k8s.types.input.networking.v1.NetworkPolicySpec>;

/** The runtime's settings a workload's NetworkPolicy depends on. */
export type NetworkRules = Pick<
  RuntimeSettings,
  "exposure" | "ingressControllerNamespace" | "monitoringNamespace" | "dataServices" | "publicHttpsClients"
>;

const DNS_PORT = 53;
export const DEFAULT_INGRESS_CONTROLLER_NAMESPACE = "ingress-nginx";
/** Object storage APIs are public endpoints; private ranges and link-local (cloud metadata) stay closed. */
export const NON_PUBLIC_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"];
/** Link-local address of the EKS Pod Identity agent on every node (a hostNetwork DaemonSet). */
export const EKS_POD_IDENTITY_AGENT = { cidr: "169.254.170.23/32", port: 80 } as const;

const tcp = (port: number) => ({ protocol: "TCP", port });
const namespaceNamed = (name: string) => ({ matchLabels: { "kubernetes.io/metadata.name": name } });

/** Denies every pod in the namespace all ingress and egress; the other policies only add. */
export function defaultDenyPolicy(
  namespace: pulumi.Input<string>,
  labels: Record<string, string>,
): NetworkPolicyManifest {
  return {
    metadata: { name: "default-deny", namespace, labels },
    spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
  };
}

/**
 * DNS on port 53 for every pod: to the kube-dns / CoreDNS pods (EKS, most clusters) and to the
 * given node-local resolvers. Those are no pods a selector can match: GKE Autopilot always runs
 * NodeLocal DNSCache (169.254.20.10) and with Cloud DNS pods query the metadata server
 * (169.254.169.254), so they need ipBlocks.
 */
export function dnsPolicy(
  namespace: pulumi.Input<string>,
  labels: Record<string, string>,
  dnsResolverCidrs: readonly string[],
): NetworkPolicyManifest {
  return {
    metadata: { name: "allow-dns", namespace, labels },
    spec: {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [
        {
          to: [
            {
              namespaceSelector: namespaceNamed("kube-system"),
              podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
            },
            ...dnsResolverCidrs.map((cidr) => ({ ipBlock: { cidr } })),
          ],
          ports: [
            { protocol: "UDP", port: DNS_PORT },
            { protocol: "TCP", port: DNS_PORT },
          ],
        },
      ],
    },
  };
}

/** Who may connect to the workload, and on which of its ports. A job admits nothing. */
export function workloadIngressRules(spec: WorkloadSpec, rules: NetworkRules): IngressRule[] {
  const ports = spec.kind === "job" ? [] : (spec.ports ?? []);
  const publicPorts = ports.filter((p) => p.public);
  const ingress: IngressRule[] = [];
  if ((spec.allowFrom ?? []).length > 0 && ports.length > 0) {
    ingress.push({
      from: [
        {
          podSelector: {
            matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: [...spec.allowFrom!] }],
          },
        },
      ],
      ports: ports.map((p) => tcp(p.port)),
    });
  }
  if (publicPorts.length > 0) {
    if ((rules.exposure ?? "loadbalancer") === "loadbalancer") {
      // The load balancer keeps client addresses (externalTrafficPolicy Local): any source.
      ingress.push({ ports: publicPorts.map((p) => tcp(p.port)) });
    } else {
      // Only the ingress controller (besides our own workloads in allowFrom) reaches the port. That is
      // what makes it safe for the workload to believe the X-Forwarded-For header it receives here.
      ingress.push({
        from: [
          {
            namespaceSelector: namespaceNamed(rules.ingressControllerNamespace ?? DEFAULT_INGRESS_CONTROLLER_NAMESPACE),
          },
        ],
        ports: publicPorts.map((p) => tcp(p.port)),
      });
    }
  }
  if (spec.metrics && rules.monitoringNamespace && spec.kind !== "job") {
    ingress.push({
      from: [
        {
          namespaceSelector: namespaceNamed(rules.monitoringNamespace),
          podSelector: { matchLabels: { [SCRAPER_LABEL]: "metrics-scraper" } },
        },
      ],
      ports: [tcp(spec.metrics.port)],
    });
  }
  return ingress;
}

/** Where the workload may connect: any pod in the namespace, and outside it only what it is listed for. */
export function workloadEgressRules(spec: WorkloadSpec, rules: NetworkRules): EgressRule[] {
  const egress: EgressRule[] = [{ to: [{ podSelector: {} }] }];
  for (const service of rules.dataServices ?? []) {
    if (!service.clients.includes(spec.name)) continue;
    egress.push({
      to: service.cidrs.map((cidr) => ({ ipBlock: { cidr } })),
      ports: [{ protocol: "TCP", port: service.port }],
    });
  }
  if ((rules.publicHttpsClients ?? []).includes(spec.name)) {
    egress.push({ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: NON_PUBLIC_CIDRS } }], ports: [tcp(HTTPS_PORT)] });
  }
  egress.push(...podIdentityEgress(spec));
  return egress;
}

/** The workload's own NetworkPolicy, selecting its pods. */
export function workloadNetworkPolicy(
  spec: WorkloadSpec,
  meta: Pick<WorkloadMeta, "namespace" | "labels" | "selector">,
  rules: NetworkRules,
): NetworkPolicyManifest {
  return {
    metadata: { name: spec.name, namespace: meta.namespace, labels: meta.labels },
    spec: {
      podSelector: { matchLabels: meta.selector },
      policyTypes: ["Ingress", "Egress"],
      ingress: workloadIngressRules(spec, rules),
      egress: workloadEgressRules(spec, rules),
    },
  };
}

/**
 * Egress to the EKS Pod Identity agent, for workloads whose ServiceAccount gets its AWS credentials
 * from it; every other workload keeps link-local addresses (instance metadata included) closed.
 */
export function podIdentityEgress(spec: Pick<WorkloadSpec, "serviceAccount">): EgressRule[] {
  if (!spec.serviceAccount?.eksPodIdentity) return [];
  return [
    {
      to: [{ ipBlock: { cidr: EKS_POD_IDENTITY_AGENT.cidr } }],
      ports: [{ protocol: "TCP", port: EKS_POD_IDENTITY_AGENT.port }],
    },
  ];
}
