/**
 * Kong on Kubernetes, both ways it is exposed: behind a load balancer it terminates TLS itself on
 * its SSL listener (the only public port); behind an Ingress it serves plain HTTP to the controller
 * and believes the X-Forwarded-For the controller sets, so rate limits and /pg see the client.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { NorthstackConfig } from "../../components/config";
import { KONG_PROXY_PORT, KONG_PROXY_TLS_PORT, Kong, KongArgs, validateKongArgs } from "../../components/kong";
import { KubernetesRuntime } from "../../components/runtime/kubernetes";
import { MockRunResult, PlannedResource, runUnderMocks } from "../../scripts/lib/mock-program";
import { kubernetesSchemaProblems } from "../helpers/k8s-schema";
import { podSecurityProblems } from "../helpers/pod-security";

const gateway: NorthstackConfig["gateway"] = {
  publicUrl: "https://api.example.ca",
  corsOrigins: ["https://app.example.ca"],
  rateLimitRequests: 100,
  rateLimitWindowMinutes: 15,
  adminAllowCidrs: ["203.0.113.0/24"],
  maxRequestSizeMb: 10,
  hostPort: 8000,
};
const PRIVATE = ["10.0.0.0/8", "172.16.0.0/12"];

let result: MockRunResult;
const outputs: Record<string, string> = {};
const resolve = <T>(o: pulumi.Output<T>) => new Promise<T>((res) => o.apply(res));

beforeAll(async () => {
  result = await runUnderMocks({
    stack: "staging",
    config: {},
    program: async () => {
      const provider = new k8s.Provider("k8s", { kubeconfig: "apiVersion: v1\nkind: Config\n" });
      const common = (runtime: KubernetesRuntime): KongArgs => ({
        runtime,
        upstreams: { api: pulumi.output("http://api:8080") },
        anonKey: pulumi.secret("anon-key"),
        serviceRoleKey: pulumi.secret("service-key"),
        redis: {
          host: pulumi.output("10.50.1.4"),
          port: pulumi.output(6378),
          password: pulumi.secret("redis-pass"),
          tls: true,
        },
        gateway,
      });
      const lb = new KubernetesRuntime("lb", {
        stack: "staging",
        provider,
        namespace: "lb",
        tlsSecretName: "gateway-cert",
      });
      const viaLb = new Kong("kong", { ...common(lb), servesTls: true, allowFrom: ["supabase-studio"] });
      const ing = new KubernetesRuntime("ing", {
        stack: "staging",
        provider,
        namespace: "ing",
        exposure: "ingress",
        publicHost: "api.example.ca",
        tlsSecretName: "gateway-cert",
      });
      const viaIngress = new Kong("kong", { ...common(ing), trustedProxyCidrs: PRIVATE });
      outputs.lbUrl = await resolve(viaLb.url);
      outputs.lbAddress = await resolve(viaLb.address);
      outputs.ingressAddress = await resolve(viaIngress.address);
    },
  });
});

type Obj = Record<string, unknown>;
const inNamespace = (type: string, namespace: string) =>
  result.resources.filter((r) => r.type === type && (r.inputs.metadata as Obj | undefined)?.namespace === namespace);
const deployment = (namespace: string) => inNamespace("kubernetes:apps/v1:Deployment", namespace)[0];
const container = (d: PlannedResource) =>
  ((((d.inputs.spec as Obj).template as Obj).spec as Obj).containers as Obj[])[0];
const envOf = (d: PlannedResource) =>
  Object.fromEntries((container(d).env as { name: string; value?: string }[]).map((e) => [e.name, e.value]));
const policy = (namespace: string) =>
  inNamespace("kubernetes:networking.k8s.io/v1:NetworkPolicy", namespace).find((p) => p.name === "kong-netpol")!;

test("behind a load balancer Kong serves TLS on 8443 with the mounted certificate; 443 is the only public port", () => {
  const env = envOf(deployment("lb"));
  expect(env).toMatchObject({
    KONG_PROXY_LISTEN: `0.0.0.0:${KONG_PROXY_PORT}, 0.0.0.0:${KONG_PROXY_TLS_PORT} http2 ssl`,
    KONG_SSL_CERT: "/etc/kong/tls/tls.crt",
    KONG_SSL_CERT_KEY: "/etc/kong/tls/tls.key",
  });
  // The load balancer keeps the client address itself: no forwarded header is believed.
  expect(env.KONG_TRUSTED_IPS).toBeUndefined();
  expect(container(deployment("lb")).volumeMounts).toContainEqual({
    name: "public-tls",
    mountPath: "/etc/kong/tls",
    readOnly: true,
  });
  const [lbService] = inNamespace("kubernetes:core/v1:Service", "lb").filter(
    (s) => (s.inputs.spec as Obj).type === "LoadBalancer",
  );
  expect((lbService.inputs.spec as Obj).ports).toEqual([
    { name: "https", port: 443, targetPort: "proxy-tls", protocol: "TCP" },
  ]);
  // The plain listener stays for Studio inside the cluster, and only for it.
  const ingress = (policy("lb").inputs.spec as Obj).ingress as Obj[];
  expect(ingress[0]).toEqual({
    from: [
      {
        podSelector: {
          matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["supabase-studio"] }],
        },
      },
    ],
    // Not the status port 8100: it serves only metrics, which are the scrapers' alone.
    ports: [8000, 8443].map((port) => ({ protocol: "TCP", port })),
  });
  expect(ingress[1]).toEqual({ ports: [{ protocol: "TCP", port: 8443 }] });
  expect(outputs).toMatchObject({ lbUrl: "https://api.example.ca", lbAddress: "<pending>" });
});

test("behind an Ingress Kong serves plain HTTP to the controller and takes the client address from X-Forwarded-For", () => {
  const env = envOf(deployment("ing"));
  expect(env).toMatchObject({
    KONG_PROXY_LISTEN: `0.0.0.0:${KONG_PROXY_PORT}`,
    KONG_TRUSTED_IPS: PRIVATE.join(","),
    KONG_REAL_IP_HEADER: "X-Forwarded-For",
    KONG_REAL_IP_RECURSIVE: "on",
  });
  expect(env.KONG_SSL_CERT).toBeUndefined();
  expect((policy("ing").inputs.spec as Obj).ingress).toEqual([
    {
      from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "ingress-nginx" } } }],
      ports: [{ protocol: "TCP", port: KONG_PROXY_PORT }],
    },
  ]);
  expect(outputs.ingressAddress).toBe("<pending>");
});

test("both renderings are valid Kubernetes and restricted pods", () => {
  expect(kubernetesSchemaProblems(result.resources)).toEqual([]);
  expect(podSecurityProblems(result.resources)).toEqual([]);
});

test("TLS at Kong needs a runtime that mounts the certificate; allowFrom names workloads", () => {
  expect(() => validateKongArgs("kong", { gateway, servesTls: true, runtime: { kind: "docker" } })).toThrow(
    /servesTls: true is not allowed on the docker runtime; only Kubernetes mounts the public certificate/,
  );
  expect(() => validateKongArgs("kong", { gateway, allowFrom: ["Studio"] })).toThrow(
    /allowFrom: "Studio" is not a workload name/,
  );
  expect(() => validateKongArgs("kong", { gateway, servesTls: true, runtime: { kind: "kubernetes" } })).not.toThrow();
});
