/**
 * How the Kubernetes runtime exposes workloads, checked as plain data: the builders in
 * components/runtime/kubernetes/exposure.ts, with no mocks and no Pulumi program.
 * test/unit/kubernetes-runtime.test.ts checks that the runtime registers what they return.
 */
import { WorkloadMeta, workloadMeta } from "../../components/runtime/kubernetes/manifest";
import {
  ExposureSettings,
  PENDING_ADDRESS,
  addressOf,
  certificateManifest,
  clusterServiceManifest,
  ingressManifest,
  loadBalancerManifest,
  publicPortOf,
  tlsSecretNameFor,
  validatePublicPort,
} from "../../components/runtime/kubernetes/exposure";
import { WorkloadSpec } from "../../components/workload";

const base = {
  component: "edge",
  image: "kong:3.8.0",
  resources: { cpuMillis: 100, memoryMb: 64 },
  user: { uid: 1000, gid: 1000 },
};
/** Behind a load balancer: the workload serves TLS on its public port. */
const kongTls: WorkloadSpec = {
  ...base,
  name: "kong",
  ports: [
    { name: "proxy", port: 8000 },
    { name: "proxy-tls", port: 8443, public: true, tls: { certDir: "/etc/kong/tls" } },
    { name: "status", port: 8100 },
  ],
};
/** Behind an Ingress: the public port is plain HTTP. */
const kong: WorkloadSpec = {
  ...base,
  name: "kong",
  ports: [
    { name: "proxy", port: 8000, public: true },
    { name: "status", port: 8100 },
  ],
};
const db: WorkloadSpec = {
  ...base,
  name: "db",
  ports: [{ name: "postgres", port: 5432 }],
  volumes: [{ name: "data", mountPath: "/data", sizeGb: 10 }],
};
const migrate: WorkloadSpec = { ...base, name: "migrate", kind: "job" };
const meta = (spec: WorkloadSpec): WorkloadMeta => workloadMeta(spec, "prod", "ns");
const publicPort = (spec: WorkloadSpec) => publicPortOf(spec)!;

const loadBalancer: ExposureSettings = {
  tlsSecretName: "gateway-cert",
  loadBalancerAnnotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" },
};
const ingress: ExposureSettings = {
  exposure: "ingress",
  publicHost: "api.example.ca",
  certManagerIssuer: "letsencrypt",
};

describe("the cluster Service", () => {
  test("routes each port by name to the workload's pods", () => {
    const service = clusterServiceManifest(kongTls, meta(kongTls))!;
    expect(service.metadata).toMatchObject({ name: "kong", namespace: "ns" });
    expect(service.spec).toEqual({
      type: "ClusterIP",
      clusterIP: undefined,
      selector: { "app.kubernetes.io/name": "kong" },
      ports: [
        { name: "proxy", port: 8000, targetPort: "proxy", protocol: "TCP" },
        { name: "proxy-tls", port: 8443, targetPort: "proxy-tls", protocol: "TCP" },
        { name: "status", port: 8100, targetPort: "status", protocol: "TCP" },
      ],
    });
  });

  test("is headless for a stateful workload, so each pod gets a stable DNS name", () => {
    expect(clusterServiceManifest(db, meta(db))!.spec.clusterIP).toBe("None");
  });

  test("a job or a workload without ports gets none", () => {
    expect(clusterServiceManifest(migrate, meta(migrate))).toBeUndefined();
    expect(clusterServiceManifest({ ...db, ports: [] }, meta(db))).toBeUndefined();
  });
});

describe("exposure loadbalancer", () => {
  test("the load balancer serves only 443, passed straight to the workload's TLS port, keeping client addresses", () => {
    const service = loadBalancerManifest(kongTls, publicPort(kongTls), meta(kongTls), loadBalancer);
    expect(service.metadata).toMatchObject({
      name: "kong-public",
      namespace: "ns",
      annotations: loadBalancer.loadBalancerAnnotations,
    });
    expect(service.spec).toEqual({
      type: "LoadBalancer",
      externalTrafficPolicy: "Local",
      selector: { "app.kubernetes.io/name": "kong" },
      ports: [{ name: "https", port: 443, targetPort: "proxy-tls", protocol: "TCP" }],
    });
  });

  test("with the operator's Secret no certificate is requested", () => {
    expect(certificateManifest(kongTls, meta(kongTls), loadBalancer)).toBeUndefined();
    expect(tlsSecretNameFor(kongTls, loadBalancer)).toBe("gateway-cert");
  });

  test("with a cert-manager issuer the runtime requests an ECDSA certificate for publicHost into <workload>-tls", () => {
    const settings: ExposureSettings = { publicHost: "api.example.ca", certManagerIssuer: "letsencrypt-dns01" };
    const certificate = certificateManifest(kongTls, meta(kongTls), settings)!;
    expect(certificate).toMatchObject({
      apiVersion: "cert-manager.io/v1",
      kind: "Certificate",
      metadata: { name: "kong-tls", namespace: "ns" },
    });
    expect(certificate.spec).toEqual({
      secretName: "kong-tls",
      secretTemplate: { labels: expect.objectContaining({ "app.kubernetes.io/name": "kong" }) },
      dnsNames: ["api.example.ca"],
      issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: "letsencrypt-dns01" },
      privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
    });
  });

  test("a public port without a certificate source is refused, naming the port", () => {
    expect(() => validatePublicPort(kongTls, {})).toThrow(
      /workload "kong" on kubernetes: port proxy-tls is public, but the runtime has neither certManagerIssuer nor tlsSecretName/,
    );
    expect(() => validatePublicPort(kongTls, loadBalancer)).not.toThrow();
    expect(() => validatePublicPort(db, {})).not.toThrow();
  });
});

describe("exposure ingress", () => {
  test("the Ingress terminates TLS for publicHost and routes every path to the plain public port", () => {
    const manifest = ingressManifest(kong, publicPort(kong), "kong", meta(kong), ingress);
    expect(manifest.metadata).toMatchObject({
      name: "kong",
      namespace: "ns",
      annotations: { "cert-manager.io/cluster-issuer": "letsencrypt" },
    });
    expect(manifest.spec).toEqual({
      ingressClassName: "nginx",
      tls: [{ hosts: ["api.example.ca"], secretName: "kong-tls" }],
      rules: [
        {
          host: "api.example.ca",
          http: {
            paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "kong", port: { name: "proxy" } } } }],
          },
        },
      ],
    });
  });

  test("the Ingress itself gets the certificate (cert-manager's annotation), so the plain port needs no Certificate", () => {
    expect(certificateManifest(kong, meta(kong), ingress)).toBeUndefined();
  });

  test("with the operator's Secret the Ingress uses it and asks cert-manager for nothing", () => {
    const manifest = ingressManifest(kong, publicPort(kong), "kong", meta(kong), {
      exposure: "ingress",
      publicHost: "api.example.ca",
      tlsSecretName: "gateway-cert",
      ingressClassName: "alb",
    });
    expect(manifest.metadata.annotations).toBeUndefined();
    expect(manifest.spec).toMatchObject({
      ingressClassName: "alb",
      tls: [{ hosts: ["api.example.ca"], secretName: "gateway-cert" }],
    });
  });
});

test("the public address is the load balancer's host name or IP, and reads <pending> until the cloud assigns one", () => {
  expect(addressOf({ ingress: [{ hostname: "abc.elb.ca-central-1.amazonaws.com" }] })).toBe(
    "abc.elb.ca-central-1.amazonaws.com",
  );
  expect(addressOf({ ingress: [{ ip: "34.95.1.2" }] })).toBe("34.95.1.2");
  expect(addressOf({ ingress: [] })).toBe(PENDING_ADDRESS);
  expect(addressOf(undefined)).toBe(PENDING_ADDRESS);
});
