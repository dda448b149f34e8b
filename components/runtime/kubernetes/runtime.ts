import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { SCRAPER_LABEL, WorkloadSpec, standardLabels, validateWorkload } from "../../workload";
import { fileKey, podSpecFor, topologySpreadFor, validateForKubernetes } from "./pod";
import { DeployedWorkload, Runtime } from "../types";
import { Exposure, KubernetesRuntimeArgs, validateKubernetesRuntimeArgs } from "./args";

const POD_SECURITY = "restricted";
const HTTPS_PORT = 443;
const DNS_PORT = 53;
/** Object storage APIs are public endpoints; private ranges and link-local (cloud metadata) stay closed. */
const NON_PUBLIC_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"];
/** Seconds a finished Job (and its logs) is kept before Kubernetes deletes it. */
const JOB_TTL_SECONDS = 7 * 24 * 3600;
/** Seconds a Job may run before Kubernetes fails it. */
export const JOB_DEADLINE_SECONDS = 900;
/**
 * How long Pulumi waits for a Job: its deadline plus two minutes for the controller to start it and
 * report the outcome. The provider's own default (10 minutes) would give up on a Job still running.
 */
export const JOB_AWAIT_TIMEOUT = `${Math.ceil(JOB_DEADLINE_SECONDS / 60) + 2}m`;
/** What a load balancer or Ingress address reads before the cloud assigns one (preview, mocks). */
export const PENDING_ADDRESS = "<pending>";
/** Link-local address of the EKS Pod Identity agent on every node (a hostNetwork DaemonSet). */
export const EKS_POD_IDENTITY_AGENT = { cidr: "169.254.170.23/32", port: 80 } as const;

/** Short, stable content digest for names and checksum annotations. */
export function contentDigest(parts: readonly unknown[], length = 64): string {
  return crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, length);
}

/**
 * Renders WorkloadSpecs to Kubernetes: one Namespace per stack enforcing Pod Security "restricted",
 * default-deny NetworkPolicies, and per workload a Deployment, StatefulSet or Job with its Service,
 * ConfigMap, Secret, PodDisruptionBudget, HorizontalPodAutoscaler and NetworkPolicy.
 *
 * Public ports are TLS only. With exposure "loadbalancer" a LoadBalancer Service passes TCP on 443
 * to the workload, which terminates TLS with the certificate the runtime mounts (from cert-manager
 * or an operator's Secret); externalTrafficPolicy Local keeps the client's source address. With
 * exposure "ingress" the Ingress terminates TLS and forwards plain HTTP.
 *
 * Network policy choices: every pod is denied by default. A workload admits its service ports from
 * the workloads in `allowFrom`, its metrics port from Prometheus, and its public port from any
 * source (load balancer) or only from the ingress controller's namespace. Egress to other pods in
 * the namespace is open on any port, because the receiving pod's ingress policy is what decides;
 * egress leaving the namespace is only DNS, each data service's port for its listed clients, and
 * HTTPS to public addresses for the listed HTTPS clients.
 */
export class KubernetesRuntime extends pulumi.ComponentResource implements Runtime {
  readonly kind = "kubernetes" as const;
  readonly stack: string;
  readonly namespace: pulumi.Output<string>;
  readonly namespaceResource: k8s.core.v1.Namespace;
  private readonly args: KubernetesRuntimeArgs;
  private readonly exposure: Exposure;
  private readonly deployed = new Set<string>();

  constructor(name: string, args: KubernetesRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    validateKubernetesRuntimeArgs(args);
    super("northstack:runtime:Kubernetes", name, {}, opts);
    this.args = args;
    this.stack = args.stack;
    this.exposure = args.exposure ?? "loadbalancer";
    const childOpts = { parent: this, provider: args.provider };
    const labels = { "app.kubernetes.io/part-of": "northstack", "app.kubernetes.io/managed-by": "pulumi", "northstack.io/stack": args.stack };

    this.namespaceResource = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: args.namespace,
          labels: {
            ...labels,
            "pod-security.kubernetes.io/enforce": POD_SECURITY,
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/audit": POD_SECURITY,
            "pod-security.kubernetes.io/warn": POD_SECURITY,
          },
        },
      },
      childOpts,
    );
    this.namespace = this.namespaceResource.metadata.name;

    new k8s.networking.v1.NetworkPolicy(
      `${name}-default-deny`,
      {
        metadata: { name: "default-deny", namespace: this.namespace, labels },
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] },
      },
      childOpts,
    );
    // kube-dns / CoreDNS pods (EKS, most clusters). Node-local resolvers are no pods a selector can
    // match: GKE Autopilot always runs NodeLocal DNSCache (169.254.20.10) and with Cloud DNS pods
    // query the metadata server (169.254.169.254), so those need ipBlocks, on port 53 only.
    new k8s.networking.v1.NetworkPolicy(
      `${name}-allow-dns`,
      {
        metadata: { name: "allow-dns", namespace: this.namespace, labels },
        spec: {
          podSelector: {},
          policyTypes: ["Egress"],
          egress: [
            {
              to: [
                {
                  namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
                  podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
                },
                ...(args.dnsResolverCidrs ?? []).map((cidr) => ({ ipBlock: { cidr } })),
              ],
              ports: [
                { protocol: "UDP", port: DNS_PORT },
                { protocol: "TCP", port: DNS_PORT },
              ],
            },
          ],
        },
      },
      childOpts,
    );

    this.registerOutputs({ namespace: this.namespace });
  }

  deploy(spec: WorkloadSpec, parent: pulumi.Resource, opts?: { dependsOn?: pulumi.Resource[] }): DeployedWorkload {
    validateWorkload(spec);
    validateForKubernetes(spec, this.exposure);
    const publicPort = (spec.ports ?? []).find((p) => p.public);
    if (publicPort && !this.args.certManagerIssuer && !this.args.tlsSecretName) {
      throw new Error(
        `workload ${JSON.stringify(spec.name)} on kubernetes: port ${publicPort.name} is public, but the runtime has neither certManagerIssuer nor tlsSecretName for its certificate`,
      );
    }
    if (this.deployed.has(spec.name)) throw new Error(`workload ${JSON.stringify(spec.name)} is deployed twice on stack ${this.stack}`);
    this.deployed.add(spec.name);

    const resourceOpts: pulumi.CustomResourceOptions = { parent, provider: this.args.provider, dependsOn: opts?.dependsOn };
    const namespace = this.namespace;
    const labels = standardLabels(spec, this.stack);
    const workloadLabels = { ...labels, ...(spec.labels ?? {}) };
    const selector = { "app.kubernetes.io/name": spec.name };
    const resources: pulumi.Resource[] = [];
    const isJob = spec.kind === "job";
    const stateful = (spec.volumes ?? []).length > 0;

    const files = spec.files ?? [];
    const plainFiles = files.filter((f) => !f.secret);
    const secretFiles = files.filter((f) => f.secret);
    const secretEnv = [...Object.entries(spec.secretEnv ?? {}), ...(spec.init ?? []).flatMap((step) => Object.entries(step.secretEnv ?? {}))];

    // ConfigMaps and Secrets are auto-named: the provider replaces them when their data changes, and
    // the new name in the pod template rolls the pods, with no window where a pod reads a half-updated map.
    let configMap: k8s.core.v1.ConfigMap | undefined;
    if (plainFiles.length > 0) {
      configMap = new k8s.core.v1.ConfigMap(
        `${spec.name}-config`,
        {
          metadata: { namespace, labels: workloadLabels },
          data: Object.fromEntries(plainFiles.map((f) => [fileKey(f), f.content])),
        },
        resourceOpts,
      );
      resources.push(configMap);
    }
    let secret: k8s.core.v1.Secret | undefined;
    if (secretFiles.length > 0 || secretEnv.length > 0) {
      secret = new k8s.core.v1.Secret(
        `${spec.name}-secret`,
        {
          metadata: { namespace, labels },
          type: "Opaque",
          stringData: Object.fromEntries([
            ...secretEnv.map(([key, value]) => [key, pulumi.secret(value)]),
            ...secretFiles.map((f) => [fileKey(f), pulumi.secret(f.content)]),
          ]),
        },
        resourceOpts,
      );
      resources.push(secret);
    }

    // The checksums also roll pods when the provider runs with enableConfigMapMutable/enableSecretMutable.
    const configChecksum = pulumi
      .all(plainFiles.map((f) => pulumi.output(f.content)))
      .apply((contents) => contentDigest(plainFiles.map((f, i) => [f.path, contents[i]])));
    const secretChecksum = pulumi.secret(
      pulumi
        .all([...secretEnv.map(([, v]) => pulumi.output(v)), ...secretFiles.map((f) => pulumi.output(f.content))])
        .apply((values) => contentDigest([secretEnv.map(([k]) => k), secretFiles.map((f) => f.path), values])),
    );
    const annotations = spec.annotations ?? {};
    const template = (podSpec: k8s.types.input.core.v1.PodSpec): k8s.types.input.core.v1.PodTemplateSpec => ({
      metadata: {
        labels: workloadLabels,
        annotations: {
          ...annotations,
          "kubectl.kubernetes.io/default-container": spec.name,
          ...(configMap ? { "northstack.io/config-checksum": configChecksum } : {}),
          ...(secret ? { "northstack.io/secret-checksum": secretChecksum } : {}),
        },
      },
      spec: podSpec,
    });
    // cert-manager writes `<workload>-tls`; without it the operator's Secret is used.
    const tlsSecretName = this.args.tlsSecretName ?? `${spec.name}-tls`;
    let certificate: k8s.apiextensions.CustomResource | undefined;
    if (publicPort?.tls && this.args.certManagerIssuer) {
      certificate = new k8s.apiextensions.CustomResource(
        `${spec.name}-certificate`,
        {
          apiVersion: "cert-manager.io/v1",
          kind: "Certificate",
          metadata: { name: tlsSecretName, namespace, labels },
          spec: {
            secretName: tlsSecretName,
            secretTemplate: { labels },
            dnsNames: [this.args.publicHost],
            issuerRef: { group: "cert-manager.io", kind: "ClusterIssuer", name: this.args.certManagerIssuer },
            privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
          },
        },
        resourceOpts,
      );
      resources.push(certificate);
    }
    const podInputs = {
      configMapName: configMap?.metadata.name,
      secretName: secret?.metadata.name,
      tlsSecretName: publicPort?.tls ? tlsSecretName : undefined,
    };
    const workloadOpts: pulumi.CustomResourceOptions = certificate ? { ...resourceOpts, dependsOn: [...(opts?.dependsOn ?? []), certificate] } : resourceOpts;
    if (spec.serviceAccount) resources.push(this.serviceAccount(spec, labels, resourceOpts));

    if (spec.kind === "cron") {
      resources.push(this.cronJob(spec, workloadLabels, annotations, template(podSpecFor(spec, { ...podInputs, restartPolicy: "Never" })), resourceOpts));
    } else if (isJob) {
      // A changed image, command, env or migration set gives the Job a new name: Pulumi replaces it and it runs again.
      const jobName = pulumi
        .all([spec.image, pulumi.output(spec.env ?? {}), pulumi.all(plainFiles.map((f) => f.content))])
        .apply(([image, env, contents]) => {
          const digest = contentDigest([image, spec.command, spec.args, env, plainFiles.map((f) => f.path), contents], 8);
          return `${spec.name}-${digest}`;
        });
      const job = new k8s.batch.v1.Job(
        spec.name,
        {
          metadata: { name: jobName, namespace, labels: workloadLabels, annotations },
          spec: {
            backoffLimit: 3,
            activeDeadlineSeconds: JOB_DEADLINE_SECONDS,
            ttlSecondsAfterFinished: JOB_TTL_SECONDS,
            template: template(podSpecFor(spec, { ...podInputs, restartPolicy: "Never" })),
          },
        },
        { ...resourceOpts, customTimeouts: { create: JOB_AWAIT_TIMEOUT, update: JOB_AWAIT_TIMEOUT } },
      );
      resources.push(job);
    } else {
      const replicas = spec.replicas ?? 1;
      const minReplicas = spec.autoscale?.min ?? replicas;
      const maxReplicas = spec.autoscale?.max ?? replicas;
      const podSpec = podSpecFor(spec, {
        ...podInputs,
        topologySpreadConstraints: maxReplicas > 1 ? topologySpreadFor(selector, !stateful) : undefined,
      });
      // With an autoscaler the replica count is left to it, so that `pulumi up` never scales back down.
      const fixedReplicas = spec.autoscale ? undefined : replicas;

      let workload: k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet;
      if (stateful) {
        workload = new k8s.apps.v1.StatefulSet(
          spec.name,
          {
            metadata: { name: spec.name, namespace, labels: workloadLabels, annotations },
            spec: {
              serviceName: spec.name,
              replicas: fixedReplicas,
              selector: { matchLabels: selector },
              persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
              volumeClaimTemplates: (spec.volumes ?? []).map((v) => ({
                metadata: { name: v.name, labels },
                spec: {
                  accessModes: ["ReadWriteOnce"],
                  storageClassName: this.args.storageClassName,
                  resources: { requests: { storage: `${v.sizeGb}Gi` } },
                },
              })),
              template: template(podSpec),
            },
          },
          workloadOpts,
        );
      } else {
        workload = new k8s.apps.v1.Deployment(
          spec.name,
          {
            metadata: { name: spec.name, namespace, labels: workloadLabels, annotations },
            spec: {
              replicas: fixedReplicas,
              selector: { matchLabels: selector },
              strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
              template: template(podSpec),
            },
          },
          workloadOpts,
        );
      }
      resources.push(workload);

      if (minReplicas > 1) {
        resources.push(
          new k8s.policy.v1.PodDisruptionBudget(
            `${spec.name}-pdb`,
            { metadata: { name: spec.name, namespace, labels }, spec: { maxUnavailable: 1, selector: { matchLabels: selector } } },
            resourceOpts,
          ),
        );
      }
      if (spec.autoscale) {
        resources.push(
          new k8s.autoscaling.v2.HorizontalPodAutoscaler(
            `${spec.name}-hpa`,
            {
              metadata: { name: spec.name, namespace, labels },
              spec: {
                scaleTargetRef: { apiVersion: "apps/v1", kind: stateful ? "StatefulSet" : "Deployment", name: workload.metadata.name },
                minReplicas: spec.autoscale.min,
                maxReplicas: spec.autoscale.max,
                metrics: [
                  { type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: spec.autoscale.cpuPercent ?? 70 } } },
                  { type: "Resource", resource: { name: "memory", target: { type: "Utilization", averageUtilization: spec.autoscale.memoryPercent ?? 80 } } },
                ],
              },
            },
            resourceOpts,
          ),
        );
      }
    }

    const ports = spec.ports ?? [];
    let service: k8s.core.v1.Service | undefined;
    if (!isJob && ports.length > 0) {
      service = new k8s.core.v1.Service(
        spec.name,
        {
          metadata: { name: spec.name, namespace, labels },
          spec: {
            type: "ClusterIP",
            // StatefulSet pods get stable per-pod DNS names through a headless Service.
            clusterIP: stateful ? "None" : undefined,
            selector,
            ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, protocol: "TCP" })),
          },
        },
        resourceOpts,
      );
      resources.push(service);
    }

    let publicAddress: pulumi.Output<string> | undefined;
    if (publicPort && service) {
      const exposed = this.exposePublicPort(spec, publicPort, service, tlsSecretName, labels, resourceOpts);
      resources.push(exposed.resource);
      publicAddress = exposed.address;
    }

    resources.push(this.networkPolicy(spec, selector, labels, resourceOpts));

    const host = service
      ? pulumi.interpolate`${service.metadata.name}.${namespace}.svc.cluster.local`
      : pulumi.interpolate`${spec.name}.${namespace}.svc.cluster.local`;
    return { host, resources, publicAddress };
  }

  /** The workload's own ServiceAccount; pods never mount its API token (cloud identity webhooks project their own). */
  private serviceAccount(spec: WorkloadSpec, labels: Record<string, string>, resourceOpts: pulumi.CustomResourceOptions): k8s.core.v1.ServiceAccount {
    return new k8s.core.v1.ServiceAccount(
      `${spec.name}-sa`,
      { metadata: { name: spec.serviceAccount!.name, namespace: this.namespace, labels }, automountServiceAccountToken: false },
      resourceOpts,
    );
  }

  /**
   * A CronJob on the spec's schedule (UTC): one run at a time, a missed run may start up to an hour
   * late, a failed pod is retried twice, and the last three successes and failures stay for their logs.
   */
  private cronJob(
    spec: WorkloadSpec,
    labels: Record<string, string>,
    annotations: Record<string, string>,
    template: k8s.types.input.core.v1.PodTemplateSpec,
    resourceOpts: pulumi.CustomResourceOptions,
  ): k8s.batch.v1.CronJob {
    return new k8s.batch.v1.CronJob(
      spec.name,
      {
        metadata: { name: spec.name, namespace: this.namespace, labels, annotations },
        spec: {
          schedule: spec.schedule!,
          timeZone: "Etc/UTC",
          concurrencyPolicy: "Forbid",
          startingDeadlineSeconds: 3600,
          successfulJobsHistoryLimit: 3,
          failedJobsHistoryLimit: 3,
          jobTemplate: {
            metadata: { labels },
            spec: { backoffLimit: 2, activeDeadlineSeconds: 4 * 3600, ttlSecondsAfterFinished: JOB_TTL_SECONDS, template },
          },
        },
      },
      resourceOpts,
    );
  }

  private exposePublicPort(
    spec: WorkloadSpec,
    port: NonNullable<WorkloadSpec["ports"]>[number],
    service: k8s.core.v1.Service,
    tlsSecretName: string,
    labels: Record<string, string>,
    resourceOpts: pulumi.CustomResourceOptions,
  ): { resource: pulumi.Resource; address: pulumi.Output<string> } {
    const namespace = this.namespace;
    type LoadBalancerStatus = { ingress?: { hostname?: string; ip?: string }[] } | undefined;
    // The provider reports the Service or Ingress created once the cloud has assigned its address;
    // only a preview or a mocked run lacks one.
    const addressOf = (status: LoadBalancerStatus) => status?.ingress?.[0]?.hostname || status?.ingress?.[0]?.ip || PENDING_ADDRESS;
    if (this.exposure === "ingress") {
      const host = this.args.publicHost!;
      const issuer = this.args.certManagerIssuer;
      const ingress = new k8s.networking.v1.Ingress(
        `${spec.name}-ingress`,
        {
          metadata: {
            name: spec.name,
            namespace,
            labels,
            annotations: issuer ? { "cert-manager.io/cluster-issuer": issuer } : undefined,
          },
          spec: {
            ingressClassName: this.args.ingressClassName ?? "nginx",
            tls: [{ hosts: [host], secretName: tlsSecretName }],
            rules: [
              {
                host,
                http: {
                  paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: service.metadata.name, port: { name: port.name } } } }],
                },
              },
            ],
          },
        },
        resourceOpts,
      );
      return { resource: ingress, address: ingress.status.apply((status) => addressOf(status?.loadBalancer)) };
    }
    const loadBalancer = new k8s.core.v1.Service(
      `${spec.name}-public`,
      {
        metadata: { name: `${spec.name}-public`, namespace, labels, annotations: this.args.loadBalancerAnnotations },
        spec: {
          type: "LoadBalancer",
          // Local keeps the client's source address (AWS NLB, GCP passthrough load balancers), which
          // the gateway's admin allow-list and per-client rate limits key on.
          externalTrafficPolicy: "Local",
          selector: { "app.kubernetes.io/name": spec.name },
          // TLS passes through to the workload; there is no plain HTTP listener.
          ports: [{ name: "https", port: HTTPS_PORT, targetPort: port.name, protocol: "TCP" }],
        },
      },
      resourceOpts,
    );
    return { resource: loadBalancer, address: loadBalancer.status.apply((status) => addressOf(status?.loadBalancer)) };
  }

  private networkPolicy(
    spec: WorkloadSpec,
    selector: Record<string, string>,
    labels: Record<string, string>,
    resourceOpts: pulumi.CustomResourceOptions,
  ): k8s.networking.v1.NetworkPolicy {
    type Rule = k8s.types.input.networking.v1.NetworkPolicyIngressRule;
    type EgressRule = k8s.types.input.networking.v1.NetworkPolicyEgressRule;
    const tcp = (port: number) => ({ protocol: "TCP", port });
    const ports = spec.kind === "job" ? [] : spec.ports ?? [];
    const publicPorts = ports.filter((p) => p.public);

    const ingress: Rule[] = [];
    if ((spec.allowFrom ?? []).length > 0 && ports.length > 0) {
      ingress.push({
        from: [{ podSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: [...spec.allowFrom!] }] } }],
        ports: ports.map((p) => tcp(p.port)),
      });
    }
    if (publicPorts.length > 0) {
      if (this.exposure === "loadbalancer") {
        // The load balancer keeps client addresses (externalTrafficPolicy Local): any source.
        ingress.push({ ports: publicPorts.map((p) => tcp(p.port)) });
      } else {
        // Only the ingress controller (besides our own workloads in allowFrom) reaches the port. That is
        // what makes it safe for the workload to believe the X-Forwarded-For header it receives here.
        ingress.push({
          from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": this.args.ingressControllerNamespace ?? "ingress-nginx" } } }],
          ports: publicPorts.map((p) => tcp(p.port)),
        });
      }
    }
    if (spec.metrics && this.args.monitoringNamespace && spec.kind !== "job") {
      ingress.push({
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": this.args.monitoringNamespace } },
            podSelector: { matchLabels: { [SCRAPER_LABEL]: "metrics-scraper" } },
          },
        ],
        ports: [tcp(spec.metrics.port)],
      });
    }

    const egress: EgressRule[] = [{ to: [{ podSelector: {} }] }];
    for (const service of this.args.dataServices ?? []) {
      if (!service.clients.includes(spec.name)) continue;
      egress.push({ to: service.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: "TCP", port: service.port }] });
    }
    if ((this.args.publicHttpsClients ?? []).includes(spec.name)) {
      egress.push({ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: NON_PUBLIC_CIDRS } }], ports: [tcp(HTTPS_PORT)] });
    }
    egress.push(...podIdentityEgress(spec));

    return new k8s.networking.v1.NetworkPolicy(
      `${spec.name}-netpol`,
      {
        metadata: { name: spec.name, namespace: this.namespace, labels },
        spec: {
          podSelector: { matchLabels: selector },
          policyTypes: ["Ingress", "Egress"],
          ingress,
          egress,
        },
      },
      resourceOpts,
    );
  }
}

/**
 * Egress to the EKS Pod Identity agent, for workloads whose ServiceAccount gets its AWS credentials
 * from it; every other workload keeps link-local addresses (instance metadata included) closed.
 */
export function podIdentityEgress(spec: Pick<WorkloadSpec, "serviceAccount">): k8s.types.input.networking.v1.NetworkPolicyEgressRule[] {
  if (!spec.serviceAccount?.eksPodIdentity) return [];
  return [{ to: [{ ipBlock: { cidr: EKS_POD_IDENTITY_AGENT.cidr } }], ports: [{ protocol: "TCP", port: EKS_POD_IDENTITY_AGENT.port }] }];
}
