/**
 * How a workload is reached, as plain data: its cluster Service, and for a public port either a
 * LoadBalancer Service or an Ingress, with a cert-manager Certificate when an issuer is configured.
 *
 * Public ports are TLS only. With exposure "loadbalancer" a LoadBalancer Service passes TCP on 443
 * to the workload, which terminates TLS with the certificate the runtime mounts (from cert-manager
 * or an operator's Secret); externalTrafficPolicy Local keeps the client's source address. With
 * exposure "ingress" the Ingress terminates TLS and forwards plain HTTP.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { certificateSourceProblem } from "../../config/checks";
import { PortSpec, WorkloadSpec, runsToCompletion } from "../../workload";
import { RuntimeSettings } from "./args";
import { Manifest, WorkloadMeta, isStateful } from "./manifest";

export type ServiceManifest = Manifest<k8s.types.input.core.v1.ServiceSpec>;
export type IngressManifest = Manifest<k8s.types.input.networking.v1.IngressSpec>;
/** A cert-manager Certificate; the Kubernetes SDK has no type for the CRD. */
export interface CertificateManifest extends Manifest<Record<string, unknown>> {
  readonly apiVersion: "cert-manager.io/v1";
  readonly kind: "Certificate";
}

export const HTTPS_PORT = 443;
/** What a load balancer or Ingress address reads before the cloud assigns one (preview, mocks). */
export const PENDING_ADDRESS = "<pending>";
export const DEFAULT_INGRESS_CLASS = "nginx";

/** The runtime's settings that decide how a public port is exposed and certified. */
export type ExposureSettings = Pick<
  RuntimeSettings,
  "exposure" | "publicHost" | "ingressClassName" | "certManagerIssuer" | "tlsSecretName" | "loadBalancerAnnotations"
>;

/** The workload's public port; `validateForKubernetes` allows at most one. */
export function publicPortOf(spec: WorkloadSpec): PortSpec | undefined {
  return (spec.ports ?? []).find((p) => p.public);
}

/** A public port needs a certificate: from cert-manager, or from an operator's Secret. Throws when there is neither. */
export function validatePublicPort(spec: WorkloadSpec, settings: ExposureSettings): void {
  const publicPort = publicPortOf(spec);
  if (publicPort && certificateSourceProblem(settings.certManagerIssuer, settings.tlsSecretName) === "none") {
    throw new Error(
      `workload ${JSON.stringify(spec.name)} on kubernetes: port ${publicPort.name} is public, but the runtime has neither certManagerIssuer nor tlsSecretName for its certificate`,
    );
  }
}

/** The Secret with the public certificate: the operator's, or `<workload>-tls`, which cert-manager writes. */
export function tlsSecretNameFor(
  spec: Pick<WorkloadSpec, "name">,
  settings: Pick<ExposureSettings, "tlsSecretName">,
): string {
  return settings.tlsSecretName ?? `${spec.name}-tls`;
}

/** The cert-manager Certificate for the workload's TLS port; none without an issuer or a TLS port. */
export function certificateManifest(
  spec: WorkloadSpec,
  meta: Pick<WorkloadMeta, "namespace" | "labels">,
  settings: ExposureSettings,
): CertificateManifest | undefined {
  if (!publicPortOf(spec)?.tls || !settings.certManagerIssuer) return undefined;
  const tlsSecretName = tlsSecretNameFor(spec, settings);
  return {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name: tlsSecretName, namespace: meta.namespace, labels: meta.labels },
    spec: {
      secretName: tlsSecretName,
      secretTemplate: { labels: meta.labels },
      dnsNames: [settings.publicHost],
      issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: settings.certManagerIssuer },
      privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
    },
  };
}

/**
 * The in-cluster Service over the workload's ports; none for jobs and portless workloads, nor for
 * daemons, whose pods are each their node's and are reached one by one (scrapeDiscovery), never
 * through one address that would spread calls over the nodes.
 */
export function clusterServiceManifest(
  spec: WorkloadSpec,
  meta: Pick<WorkloadMeta, "namespace" | "labels" | "selector">,
): ServiceManifest | undefined {
  const ports = spec.ports ?? [];
  if (spec.kind === "job" || spec.kind === "daemon" || ports.length === 0) return undefined;
  return {
    metadata: { name: spec.name, namespace: meta.namespace, labels: meta.labels },
    spec: {
      type: "ClusterIP",
      // StatefulSet pods get stable per-pod DNS names through a headless Service.
      clusterIP: isStateful(spec) ? "None" : undefined,
      selector: meta.selector,
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" })),
    },
  };
}

/** Name of the headless Service over a workload's metrics port. */
export function metricsServiceName(spec: Pick<WorkloadSpec, "name">): string {
  return `${spec.name}-metrics`;
}

/**
 * A headless Service over the metrics port, for Prometheus's DNS discovery: its A records are the
 * address of every pod, so each pod is its own scrape target, where the cluster Service would spread
 * the scrapes over the pods and interleave their counters. Pods that are not ready are listed too,
 * so that a crash-looping pod shows as a target that is down instead of vanishing. Prometheus needs
 * no API access for this. None for jobs, daemons and workloads without metrics.
 */
export function metricsServiceManifest(
  spec: Pick<WorkloadSpec, "name" | "kind" | "metrics">,
  meta: Pick<WorkloadMeta, "namespace" | "labels" | "selector">,
): ServiceManifest | undefined {
  // A daemon's pods are found through the API (scrapeDiscovery), to label each with its node.
  if (runsToCompletion(spec) || spec.kind === "daemon" || !spec.metrics) return undefined;
  return {
    metadata: { name: metricsServiceName(spec), namespace: meta.namespace, labels: meta.labels },
    spec: {
      type: "ClusterIP",
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: meta.selector,
      ports: [{ name: "metrics", port: spec.metrics.port, targetPort: spec.metrics.port, protocol: "TCP" }],
    },
  };
}

/** Exposure "loadbalancer": 443 straight to the workload's TLS port; there is no plain HTTP listener. */
export function loadBalancerManifest(
  spec: WorkloadSpec,
  port: PortSpec,
  meta: Pick<WorkloadMeta, "namespace" | "labels" | "selector">,
  settings: ExposureSettings,
): ServiceManifest {
  return {
    metadata: {
      name: `${spec.name}-public`,
      namespace: meta.namespace,
      labels: meta.labels,
      annotations: settings.loadBalancerAnnotations,
    },
    spec: {
      type: "LoadBalancer",
      // Local keeps the client's source address (AWS NLB, GCP passthrough load balancers), which
      // the gateway's admin allow-list and per-client rate limits key on.
      externalTrafficPolicy: "Local",
      selector: meta.selector,
      ports: [{ name: "https", port: HTTPS_PORT, targetPort: port.name, protocol: "TCP" }],
    },
  };
}

/** Exposure "ingress": the Ingress terminates TLS for publicHost and routes everything to the port on the cluster Service. */
export function ingressManifest(
  spec: WorkloadSpec,
  port: PortSpec,
  serviceName: pulumi.Input<string>,
  meta: Pick<WorkloadMeta, "namespace" | "labels">,
  settings: ExposureSettings,
): IngressManifest {
  const host = settings.publicHost!;
  const issuer = settings.certManagerIssuer;
  return {
    metadata: {
      name: spec.name,
      namespace: meta.namespace,
      labels: meta.labels,
      annotations: issuer ? { "cert-manager.io/cluster-issuer": issuer } : undefined,
    },
    spec: {
      ingressClassName: settings.ingressClassName ?? DEFAULT_INGRESS_CLASS,
      tls: [{ hosts: [host], secretName: tlsSecretNameFor(spec, settings) }],
      rules: [
        {
          host,
          http: {
            paths: [
              { path: "/", pathType: "Prefix", backend: { service: { name: serviceName, port: { name: port.name } } } },
            ],
          },
        },
      ],
    },
  };
}

type LoadBalancerStatus = { ingress?: { hostname?: string; ip?: string }[] } | undefined;

/**
 * The address DNS must point at. The provider reports the Service or Ingress created once the cloud
 * has assigned its address; only a preview or a mocked run lacks one.
 */
export function addressOf(status: LoadBalancerStatus): string {
  return status?.ingress?.[0]?.hostname || status?.ingress?.[0]?.ip || PENDING_ADDRESS;
}
