/**
 * The two reusable checkers (OpenAPI schema, Pod Security "restricted") accept what the Kubernetes
 * runtime renders and reject deliberately broken copies of it, field by field.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KubernetesRuntime } from "../../components/runtime/kubernetes";
import { MIGRATIONS_LABEL } from "../../components/workload";
import { MockRunResult, PlannedResource, runUnderMocks } from "../../scripts/lib/mock-program";
import { kubernetesSchemaProblems, modelPath, validateObject } from "../helpers/k8s-schema";
import { northstackHardeningProblems, podSecurityProblems } from "../helpers/pod-security";

class Holder extends pulumi.ComponentResource {
  constructor(name: string) {
    super("northstack:test:Holder", name, {}, {});
    this.registerOutputs({});
  }
}

let result: MockRunResult;

beforeAll(async () => {
  result = await runUnderMocks({
    stack: "prod",
    config: {},
    program: () => {
      const provider = new k8s.Provider("k8s", { kubeconfig: "apiVersion: v1\nkind: Config\n" });
      const runtime = new KubernetesRuntime("k8s", {
        stack: "prod",
        provider,
        namespace: "northstack-prod",
        publicHost: "web.example.ca",
        certManagerIssuer: "letsencrypt-dns01",
        loadBalancerAnnotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" },
      });
      const holder = new Holder("holder");
      runtime.deploy(
        {
          name: "web",
          component: "app",
          image: "nginxinc/nginx-unprivileged:1.27.3",
          ports: [{ name: "https", port: 8443, public: true, tls: { certDir: "/etc/nginx/tls" } }],
          files: [{ path: "/etc/nginx/conf.d/default.conf", content: "server { listen 8080; }" }],
          scratch: [{ mountPath: "/tmp" }],
          health: { exec: ["true"], tcp: { port: 8443 } },
          resources: { cpuMillis: 200, memoryMb: 128 },
          user: { uid: 101, gid: 101 },
          replicas: 2,
          autoscale: { min: 2, max: 4 },
        },
        holder,
      );
      runtime.deploy(
        {
          name: "migrate",
          component: "data",
          image: "postgres:15.8-bookworm",
          kind: "job",
          files: [{ path: "/migrations/001_a.sql", content: "select 1;" }],
          labels: { [MIGRATIONS_LABEL]: "true" },
          resources: { cpuMillis: 100, memoryMb: 64 },
          user: { uid: 999, gid: 999 },
        },
        holder,
      );
    },
  });
});

// Tests break rendered objects at arbitrary depths; a loose type keeps each mutation one line.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

/** A deep copy of a rendered resource with `mutate` applied to its (revealed) inputs. */
function broken(type: string, mutate: (inputs: Loose) => void): PlannedResource {
  const original = result.resources.find((r) => r.type === type)!;
  const plainInputs = structuredClone(original.plainInputs) as Loose;
  mutate(plainInputs);
  return { ...original, plainInputs, inputs: plainInputs };
}
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate";
const JOB = "kubernetes:batch/v1:Job";
const container = (inputs: Loose) => inputs.spec.template.spec.containers[0];

describe("OpenAPI schema helper", () => {
  test("maps Pulumi type tokens to the official models, core group included", () => {
    expect(modelPath("kubernetes:core/v1:Service")).toEqual({
      module: "kubernetes-models/v1/Service",
      kind: "Service",
    });
    expect(modelPath("kubernetes:networking.k8s.io/v1:NetworkPolicy")).toEqual({
      module: "kubernetes-models/networking.k8s.io/v1/NetworkPolicy",
      kind: "NetworkPolicy",
    });
    expect(modelPath("pulumi:providers:kubernetes")).toBeUndefined();
  });

  test("every object the runtime renders is valid, and each kind was actually checked", () => {
    const types = new Set(
      result.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:")).map((r) => r.type),
    );
    expect([...types].sort()).toEqual([
      "kubernetes:apps/v1:Deployment",
      "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
      "kubernetes:batch/v1:Job",
      CERTIFICATE,
      "kubernetes:core/v1:ConfigMap",
      "kubernetes:core/v1:Namespace",
      "kubernetes:core/v1:Service",
      "kubernetes:networking.k8s.io/v1:NetworkPolicy",
      "kubernetes:policy/v1:PodDisruptionBudget",
    ]);
    // cert-manager's Certificate is a CRD: no official schema, so it is excluded by name and checked below.
    expect(kubernetesSchemaProblems(result.resources, { ignoreTypes: [CERTIFICATE] })).toEqual([]);
  });

  test("the cert-manager Certificate has the fields cert-manager.io/v1 requires, and only known top-level ones", () => {
    const certificate = result.resources.find((r) => r.type === CERTIFICATE)!;
    const { apiVersion, kind, metadata, spec } = certificate.plainInputs as Loose;
    expect(Object.keys(certificate.plainInputs).sort()).toEqual(["apiVersion", "kind", "metadata", "spec"]);
    expect({ apiVersion, kind }).toEqual({ apiVersion: "cert-manager.io/v1", kind: "Certificate" });
    // Its metadata is a plain ObjectMeta: checked as that of a ConfigMap, whose only other field is data.
    expect(validateObject("kubernetes:core/v1:ConfigMap", { apiVersion: "v1", kind: "ConfigMap", metadata })).toEqual(
      [],
    );
    expect(metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    // Required by the CRD: secretName and issuerRef.name; a DNS name for an ACME certificate.
    expect(spec).toEqual(
      expect.objectContaining({
        secretName: expect.any(String),
        issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: "letsencrypt-dns01" },
        dnsNames: ["web.example.ca"],
      }),
    );
    expect(Object.keys(spec).sort()).toEqual(["dnsNames", "issuerRef", "privateKey", "secretName", "secretTemplate"]);
  });

  test("rejects wrong types, bad enums, bad quantities, missing required fields", () => {
    const bad = [
      broken(DEPLOYMENT, (i) => (i.spec.replicas = "three")),
      broken(DEPLOYMENT, (i) => (container(i).resources.limits.memory = "a lot")),
      broken(DEPLOYMENT, (i) => delete i.spec.selector),
      broken("kubernetes:core/v1:Service", (i) => (i.spec.type = "Loadbalancer")),
      broken("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", (i) => delete i.spec.scaleTargetRef.kind),
    ];
    const problems = kubernetesSchemaProblems(bad);
    expect(problems).toEqual([
      expect.stringMatching(/Deployment web: \/spec\/replicas must be integer/),
      expect.stringMatching(
        /Deployment web: \/spec\/template\/spec\/containers\/0\/resources\/limits\/memory must match format "quantity"/,
      ),
      expect.stringMatching(/Deployment web: \/spec must have required property selector/),
      expect.stringMatching(/Service web: \/spec\/type must be equal to one of the allowed values/),
      expect.stringMatching(/HorizontalPodAutoscaler web-hpa: \/spec\/scaleTargetRef must have required property kind/),
    ]);
  });

  test("reports fields the schema does not define (a typo passes plain OpenAPI validation)", () => {
    const typo = broken(DEPLOYMENT, (i) => {
      container(i).securityContxt = { runAsNonRoot: true };
      i.spec.template.spec.topologySpreadConstraint = [];
    });
    expect(kubernetesSchemaProblems([typo])).toEqual([
      `${DEPLOYMENT} web: /spec/template/spec/containers/0/securityContxt is not a field of Deployment`,
      `${DEPLOYMENT} web: /spec/template/spec/topologySpreadConstraint is not a field of Deployment`,
    ]);
    // Free-form maps are not mistaken for unknown fields.
    expect(
      validateObject("kubernetes:core/v1:ConfigMap", { apiVersion: "v1", kind: "ConfigMap", data: { "any.key": "x" } }),
    ).toEqual([]);
  });

  test("a type without an official schema is a problem unless ignored", () => {
    const certificate = { ...broken(DEPLOYMENT, () => undefined), type: "kubernetes:cert-manager.io/v1:Certificate" };
    expect(kubernetesSchemaProblems([certificate])).toEqual([
      "kubernetes:cert-manager.io/v1:Certificate web: no official schema for kubernetes:cert-manager.io/v1:Certificate",
    ]);
    expect(
      kubernetesSchemaProblems([certificate], { ignoreTypes: ["kubernetes:cert-manager.io/v1:Certificate"] }),
    ).toEqual([]);
  });
});

describe("Pod Security restricted helper", () => {
  test("the runtime's pods pass, for Deployments and Jobs", () => {
    expect(podSecurityProblems(result.resources)).toEqual([]);
    expect(northstackHardeningProblems(result.resources)).toEqual([]);
  });

  test("catches a root container", () => {
    const root = broken(DEPLOYMENT, (i) => {
      i.spec.template.spec.securityContext.runAsUser = 0;
      i.spec.template.spec.securityContext.runAsNonRoot = false;
      container(i).securityContext.runAsUser = 0;
    });
    expect(podSecurityProblems([root])).toEqual([
      `${DEPLOYMENT} web: spec.securityContext.runAsUser must not be 0`,
      `${DEPLOYMENT} web: spec.securityContext.runAsNonRoot must not be false`,
      `${DEPLOYMENT} web: spec.containers[web].securityContext.runAsUser must not be 0`,
    ]);
  });

  test("catches a missing seccomp profile, on the pod and the container", () => {
    const noSeccomp = broken(DEPLOYMENT, (i) => {
      delete i.spec.template.spec.securityContext.seccompProfile;
      delete container(i).securityContext.seccompProfile;
    });
    expect(podSecurityProblems([noSeccomp])).toEqual([
      `${DEPLOYMENT} web: spec.containers[web]: seccompProfile.type must be RuntimeDefault or Localhost (here or on the pod)`,
    ]);
    const unconfined = broken(
      DEPLOYMENT,
      (i) => (container(i).securityContext.seccompProfile = { type: "Unconfined" }),
    );
    expect(podSecurityProblems([unconfined])).toEqual([
      `${DEPLOYMENT} web: spec.containers[web].securityContext.seccompProfile.type "Unconfined" must be RuntimeDefault or Localhost`,
    ]);
  });

  test("catches privilege escalation, privileged mode and extra capabilities", () => {
    const escalating = broken(DEPLOYMENT, (i) => {
      delete container(i).securityContext.allowPrivilegeEscalation;
      container(i).securityContext.privileged = true;
      container(i).securityContext.capabilities = { drop: ["NET_RAW"], add: ["SYS_ADMIN", "NET_BIND_SERVICE"] };
    });
    expect(podSecurityProblems([escalating])).toEqual([
      `${DEPLOYMENT} web: spec.containers[web].securityContext.privileged must not be true`,
      `${DEPLOYMENT} web: spec.containers[web].securityContext.allowPrivilegeEscalation must be false`,
      `${DEPLOYMENT} web: spec.containers[web].securityContext.capabilities.drop must include ALL`,
      `${DEPLOYMENT} web: spec.containers[web].securityContext.capabilities.add SYS_ADMIN is not allowed (only NET_BIND_SERVICE)`,
    ]);
  });

  test("checks initContainers too, and host namespaces, hostPath and host ports", () => {
    const withInit = broken(JOB, (i) => {
      const spec = i.spec.template.spec;
      spec.initContainers = [{ name: "setup", image: "busybox:1.36", securityContext: { runAsNonRoot: false } }];
      spec.hostNetwork = true;
      spec.volumes.push({ name: "host", hostPath: { path: "/var/run" } });
      container(i).ports = [{ containerPort: 80, hostPort: 80 }];
    });
    expect(podSecurityProblems([withInit])).toEqual([
      `${JOB} migrate: spec.hostNetwork must not be true`,
      `${JOB} migrate: spec.volumes[host] uses hostPath, which is not allowed`,
      `${JOB} migrate: spec.initContainers[setup].securityContext.allowPrivilegeEscalation must be false`,
      `${JOB} migrate: spec.initContainers[setup].securityContext.runAsNonRoot must be true (here or on the pod)`,
      `${JOB} migrate: spec.initContainers[setup].securityContext.capabilities.drop must include ALL`,
      `${JOB} migrate: spec.containers[migrate].ports hostPort 80 is not allowed`,
    ]);
  });

  test("the hardening checker catches what restricted allows but northstack does not", () => {
    const soft = broken(DEPLOYMENT, (i) => {
      delete i.spec.template.spec.automountServiceAccountToken;
      container(i).securityContext.readOnlyRootFilesystem = false;
      delete container(i).resources.limits;
      delete container(i).livenessProbe;
    });
    expect(podSecurityProblems([soft])).toEqual([]);
    expect(northstackHardeningProblems([soft])).toEqual([
      `${DEPLOYMENT} web: spec.automountServiceAccountToken must be false`,
      `${DEPLOYMENT} web: spec.containers[web].securityContext.readOnlyRootFilesystem must be true`,
      `${DEPLOYMENT} web: spec.containers[web].resources.limits.cpu must be set`,
      `${DEPLOYMENT} web: spec.containers[web].resources.limits.memory must be set`,
      `${DEPLOYMENT} web: spec.containers[web].livenessProbe must be set`,
    ]);
  });
});
