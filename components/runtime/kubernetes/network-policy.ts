/**
 * NetworkPolicies as plain data. Every pod is denied by default, and each connection is opened at
 * both ends from one fact, the callee's `allowFrom`: the callee's policy admits its callers on its
 * ports, and a second policy (`egress-to-<callee>`) lets exactly those callers out to the callee's
 * pods on the same ports. Prometheus reaches each metrics port the same way. Egress leaving the
 * namespace is DNS, each data service's subnets and port for its listed clients, public addresses
 * on named ports for the listed public clients, the API server for workloads granted `kubernetesApi`,
 * and the EKS Pod Identity agent for workloads whose ServiceAccount uses it. A destination wider than the service itself carries its reason, which the
 * client's policy shows as the annotation `northstack.io/wide-egress-reason`.
 *
 * A workload in its own namespace (WorkloadSpec.ownNamespace) keeps its policy there, behind that
 * namespace's own default-deny; its callers and scrapers stay in the runtime's namespace, so both
 * ends name the other's namespace, and their egress policies stay in the runtime's namespace.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PortSpec, SCRAPER_LABEL, WorkloadSpec } from "../../workload";
import { RuntimeSettings } from "./args";
import { Manifest, WorkloadMeta, podNamespaceName } from "./manifest";

type IngressRule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;
type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
export type NetworkPolicyManifest = Manifest<k8s.types.input.networking.v1.NetworkPolicySpec>;

/** The runtime's settings a workload's NetworkPolicy depends on. */
export type NetworkRules = Pick<
  RuntimeSettings,
  "namespace" | "exposure" | "ingressControllerNamespace" | "monitoringNamespace" | "dataServices" | "publicEgress"
>;

const DNS_PORT = 53;
export const DEFAULT_INGRESS_CONTROLLER_NAMESPACE = "ingress-nginx";
/** What "public addresses" leaves out: private ranges and link-local (cloud metadata) stay closed. */
export const NON_PUBLIC_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"];
/** Link-local address of the EKS Pod Identity agent on every node (a hostNetwork DaemonSet). */
export const EKS_POD_IDENTITY_AGENT = { cidr: "169.254.170.23/32", port: 80 } as const;

/**
 * Where a workload with `kubernetesApi` reaches the API server: TCP 443 at any address. The
 * `kubernetes.default` Service forwards to the control plane's endpoints, which the offline plan
 * cannot know (EKS puts them on ENIs in the cluster's private subnets, GKE on a private or public
 * control-plane address of its own), and NetworkPolicies match the endpoint after the Service's
 * translation, so no narrower range is sure to work on both clouds.
 */
export const KUBERNETES_API_EGRESS = {
  port: 443,
  reason:
    "the Kubernetes API server behind kubernetes.default, whose endpoint addresses (private on EKS, the control plane's own on GKE) are not known at plan time",
} as const;

/** Annotation on a workload's policy naming why each of its wide egress destinations is that wide. */
export const WIDE_EGRESS_REASON_ANNOTATION = "northstack.io/wide-egress-reason";

const tcp = (port: pulumi.Input<number>) => ({ protocol: "TCP", port });
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

/**
 * The ports the workloads in `allowFrom` reach: every port but one that serves only metrics (a
 * separate metrics port beside the service ports, e.g. Kong's status port), which is the scrapers'
 * alone. A job has none.
 */
export function callerPorts(spec: WorkloadSpec): PortSpec[] {
  if (spec.kind === "job") return [];
  const ports = spec.ports ?? [];
  const metricsOnly = spec.metrics && ports.length > 1 ? spec.metrics.port : undefined;
  return ports.filter((p) => p.port !== metricsOnly || p.public);
}

/** Who may connect to the workload, and on which of its ports. A job admits nothing. */
export function workloadIngressRules(spec: WorkloadSpec, rules: NetworkRules): IngressRule[] {
  const ports = callerPorts(spec);
  const publicPorts = ports.filter((p) => p.public);
  const ingress: IngressRule[] = [];
  if ((spec.allowFrom ?? []).length > 0 && ports.length > 0) {
    ingress.push({
      from: [
        {
          // Callers run in the runtime's namespace; a workload placed elsewhere names it.
          ...(spec.ownNamespace ? { namespaceSelector: namespaceNamed(rules.namespace) } : {}),
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

/**
 * Where the workload may connect outside the namespace: the data services it is a client of, public
 * addresses on the ports it is listed for, the API server with `kubernetesApi`, and the EKS Pod Identity agent. Pods in the namespace it
 * reaches through the callee's `egress-to-<callee>` policy (calleeEgressPolicy).
 */
export function workloadEgressRules(spec: WorkloadSpec, rules: NetworkRules): EgressRule[] {
  const egress: EgressRule[] = [];
  for (const service of rules.dataServices ?? []) {
    if (!service.clients.includes(spec.name)) continue;
    egress.push({ to: service.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(service.port)] });
  }
  for (const publicEgress of publicEgressOf(spec, rules)) {
    egress.push({
      to: [{ ipBlock: { cidr: "0.0.0.0/0", except: NON_PUBLIC_CIDRS } }],
      ports: publicEgress.ports.map(tcp),
    });
  }
  if (spec.kubernetesApi)
    egress.push({ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [tcp(KUBERNETES_API_EGRESS.port)] });
  egress.push(...podIdentityEgress(spec));
  return egress;
}

const publicEgressOf = (spec: Pick<WorkloadSpec, "name">, rules: NetworkRules) =>
  (rules.publicEgress ?? []).filter((e) => e.client === spec.name);

/**
 * Why the workload's wide egress destinations are that wide, one "<destination>: <reason>" per rule,
 * or undefined when every destination is the service's own range.
 */
export function wideEgressReason(
  spec: Pick<WorkloadSpec, "name" | "kubernetesApi">,
  rules: NetworkRules,
): string | undefined {
  const reasons = [
    ...(rules.dataServices ?? [])
      .filter((service) => service.reason && service.clients.includes(spec.name))
      .map((service) => `${service.name} at ${service.cidrs.join(", ")}: ${service.reason}`),
    ...publicEgressOf(spec, rules).map((e) => `public addresses on TCP ${e.ports.join(", ")}: ${e.reason}`),
    ...(spec.kubernetesApi
      ? [`any address on TCP ${KUBERNETES_API_EGRESS.port}: ${KUBERNETES_API_EGRESS.reason}`]
      : []),
  ];
  return reasons.length > 0 ? reasons.join("; ") : undefined;
}

/** The workload's own NetworkPolicy, selecting its pods: who may call it, and where it may go outside the namespace. */
export function workloadNetworkPolicy(
  spec: WorkloadSpec,
  meta: Pick<WorkloadMeta, "namespace" | "labels" | "selector">,
  rules: NetworkRules,
): NetworkPolicyManifest {
  const reason = wideEgressReason(spec, rules);
  return {
    metadata: {
      name: spec.name,
      namespace: meta.namespace,
      labels: meta.labels,
      ...(reason ? { annotations: { [WIDE_EGRESS_REASON_ANNOTATION]: reason } } : {}),
    },
    spec: {
      podSelector: { matchLabels: meta.selector },
      policyTypes: ["Ingress", "Egress"],
      ingress: workloadIngressRules(spec, rules),
      egress: workloadEgressRules(spec, rules),
    },
  };
}

/** The callee's pods as an egress peer seen from the runtime's namespace: in their own namespace when placed there. */
function calleePeer(spec: WorkloadSpec, selector: Record<string, string>, runtimeNamespace: string) {
  if (spec.ownNamespace && !runtimeNamespace)
    throw new Error(`workload ${JSON.stringify(spec.name)} runs in its own namespace; name the runtime's namespace`);
  return {
    ...(spec.ownNamespace ? { namespaceSelector: namespaceNamed(podNamespaceName(spec, runtimeNamespace)) } : {}),
    podSelector: { matchLabels: selector },
  };
}

/**
 * The other end of the workload's ingress rule for its callers: the workloads in `allowFrom` may
 * leave for its pods on its callerPorts. Undefined when nothing calls it (a job admits nothing).
 * `meta.namespace` is the runtime's namespace, where the callers run.
 */
export function calleeEgressPolicy(
  spec: WorkloadSpec,
  meta: Pick<WorkloadMeta, "namespace" | "labels" | "selector">,
  runtimeNamespace = "",
): NetworkPolicyManifest | undefined {
  const ports = callerPorts(spec);
  const callers = spec.allowFrom ?? [];
  if (callers.length === 0 || ports.length === 0) return undefined;
  return {
    metadata: { name: `egress-to-${spec.name}`, namespace: meta.namespace, labels: meta.labels },
    spec: {
      podSelector: {
        matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: [...callers] }],
      },
      policyTypes: ["Egress"],
      egress: [{ to: [calleePeer(spec, meta.selector, runtimeNamespace)], ports: ports.map((p) => tcp(p.port)) }],
    },
  };
}

/**
 * Lets the namespace's scrapers out to the workload's metrics port, when Prometheus runs in this
 * namespace (its ingress side is in workloadIngressRules). Undefined otherwise: a monitoring
 * namespace elsewhere governs its own egress. `meta.namespace` is the runtime's namespace.
 */
export function scraperEgressPolicy(
  spec: WorkloadSpec,
  meta: Pick<WorkloadMeta, "namespace" | "labels" | "selector">,
  rules: NetworkRules,
): NetworkPolicyManifest | undefined {
  if (!spec.metrics || spec.kind === "job" || !rules.monitoringNamespace) return undefined;
  if (rules.monitoringNamespace !== rules.namespace) return undefined;
  return {
    metadata: { name: `scrape-${spec.name}`, namespace: meta.namespace, labels: meta.labels },
    spec: {
      podSelector: { matchLabels: { [SCRAPER_LABEL]: "metrics-scraper" } },
      policyTypes: ["Egress"],
      egress: [{ to: [calleePeer(spec, meta.selector, rules.namespace)], ports: [tcp(spec.metrics.port)] }],
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
