import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { checkCidr } from "../config";
import { SCRAPER_LABEL, WorkloadSpec, standardLabels, validateWorkload } from "../workload";
import { fileKey, podSpecFor, topologySpreadFor, validateForKubernetes } from "./kubernetes-pod";
import { DeployedWorkload, Runtime } from "./types";

export interface KubernetesRuntimeArgs {
  /** The Pulumi stack name, for the northstack.io/stack label. */
  readonly stack: string;
  /** Provider of the target cluster; passed explicitly to every object the runtime creates. */
  readonly provider: k8s.Provider;
  /** Namespace the runtime creates and deploys every workload into (a DNS label). */
  readonly namespace: string;
  /** How public ports (`PortSpec.public`) are exposed. Default: "loadbalancer". */
  readonly exposure?: "loadbalancer" | "ingress";
  /** Host name of the Ingress and its TLS certificate. Required with exposure "ingress"; default: none. */
  readonly ingressHost?: string;
  /** IngressClass of the Ingress. Default: "nginx". */
  readonly ingressClassName?: string;
  /** cert-manager ClusterIssuer that issues the Ingress certificate. Default: none (the TLS Secret `<name>-tls` is brought by the operator). */
  readonly certManagerIssuer?: string;
  /** Namespace of the ingress controller allowed to reach public ports with exposure "ingress". Default: any namespace. */
  readonly ingressControllerNamespace?: string;
  /** Namespace whose pods labelled northstack.io/role=metrics-scraper may scrape metrics ports. Default: none (no scraping). */
  readonly monitoringNamespace?: string;
  /** CIDRs of the managed data services (VPC or private service range), reachable on 5432 and 6379. Default: none. */
  readonly dataCidrs?: readonly string[];
  /** Workloads that reach managed data services (dataCidrs, and object storage on 443). Default: every workload when dataCidrs is set, else none. */
  readonly dataClients?: readonly string[];
  /** StorageClass of the StatefulSets' volume claims. Default: the cluster's default class. */
  readonly storageClassName?: string;
}

/** What KubernetesRuntime.deploy returns: the Runtime contract plus the public address of public ports. */
export interface KubernetesWorkload extends DeployedWorkload {
  /** Base URL users reach the workload's public port at, when it has one. */
  readonly publicUrl?: pulumi.Output<string>;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;
const POD_SECURITY = "restricted";
const POSTGRES_PORT = 5432;
const REDIS_PORT = 6379;
const HTTPS_PORT = 443;
/** Object storage APIs are public endpoints; private ranges and link-local (cloud metadata) stay closed. */
const NON_PUBLIC_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"];
/** Seconds a finished Job (and its logs) is kept before Kubernetes deletes it. */
const JOB_TTL_SECONDS = 7 * 24 * 3600;
/** Link-local address of the EKS Pod Identity agent on every node (a hostNetwork DaemonSet). */
export const EKS_POD_IDENTITY_AGENT = { cidr: "169.254.170.23/32", port: 80 } as const;

/** Checks the runtime's arguments; throws one error naming every bad argument, its value and what is allowed. */
export function validateKubernetesRuntimeArgs(args: Omit<KubernetesRuntimeArgs, "provider">): void {
  const problems: string[] = [];
  const show = JSON.stringify;
  if (!DNS_LABEL.test(args.namespace)) problems.push(`namespace ${show(args.namespace)} is not a DNS label (lowercase letters, digits, dashes; at most 63)`);
  const exposure = args.exposure ?? "loadbalancer";
  if (exposure !== "loadbalancer" && exposure !== "ingress") problems.push(`exposure ${show(exposure)} must be "loadbalancer" or "ingress"`);
  if (exposure === "ingress" && !args.ingressHost) problems.push(`ingressHost is required with exposure "ingress" (the TLS certificate names it)`);
  if (args.ingressHost && !HOSTNAME.test(args.ingressHost)) problems.push(`ingressHost ${show(args.ingressHost)} is not a DNS host name`);
  for (const [arg, value] of [
    ["ingressControllerNamespace", args.ingressControllerNamespace],
    ["monitoringNamespace", args.monitoringNamespace],
  ] as const) {
    if (value !== undefined && !DNS_LABEL.test(value)) problems.push(`${arg} ${show(value)} is not a DNS label`);
  }
  for (const cidr of args.dataCidrs ?? []) {
    const problem = checkCidr(cidr);
    if (problem) problems.push(`dataCidrs entry ${show(cidr)} ${problem}`);
  }
  for (const client of args.dataClients ?? []) if (!DNS_LABEL.test(client)) problems.push(`dataClients entry ${show(client)} is not a workload name`);
  if (problems.length) throw new Error(`KubernetesRuntime: ${problems.join("; ")}`);
}

/** Short, stable content digest for names and checksum annotations. */
export function contentDigest(parts: readonly unknown[], length = 64): string {
  return crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, length);
}

/**
 * Renders WorkloadSpecs to Kubernetes: one Namespace per stack enforcing Pod Security "restricted",
 * default-deny NetworkPolicies, and per workload a Deployment, StatefulSet or Job with its Service,
 * ConfigMap, Secret, PodDisruptionBudget, HorizontalPodAutoscaler and NetworkPolicy.
 *
 * Network policy choices: every pod is denied by default. A workload admits its service ports from
 * the workloads in `allowFrom`, its metrics port from Prometheus, and its public port from the load
 * balancer (any source) or the ingress controller. Egress to other pods in the namespace is open on
 * any port, because the receiving pod's ingress policy is what decides; egress leaving the namespace
 * is only DNS, plus, for data clients, Postgres/Redis in `dataCidrs` and HTTPS to public addresses
 * (S3/GCS APIs).
 */
export class KubernetesRuntime extends pulumi.ComponentResource implements Runtime {
  readonly kind = "kubernetes" as const;
  readonly stack: string;
  readonly namespace: pulumi.Output<string>;
  readonly namespaceResource: k8s.core.v1.Namespace;
  private readonly args: KubernetesRuntimeArgs;
  private readonly exposure: "loadbalancer" | "ingress";
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
              ],
              ports: [
                { protocol: "UDP", port: 53 },
                { protocol: "TCP", port: 53 },
              ],
            },
          ],
        },
      },
      childOpts,
    );

    this.registerOutputs({ namespace: this.namespace });
  }

  deploy(spec: WorkloadSpec, parent: pulumi.Resource, opts?: { dependsOn?: pulumi.Resource[] }): KubernetesWorkload {
    validateWorkload(spec);
    validateForKubernetes(spec, this.exposure);
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
    const podInputs = { configMapName: configMap?.metadata.name, secretName: secret?.metadata.name };
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
            activeDeadlineSeconds: 900,
            ttlSecondsAfterFinished: JOB_TTL_SECONDS,
            template: template(podSpecFor(spec, { ...podInputs, restartPolicy: "Never" })),
          },
        },
        resourceOpts,
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
          resourceOpts,
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
          resourceOpts,
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

    const publicPort = ports.find((p) => p.public);
    let publicUrl: pulumi.Output<string> | undefined;
    if (publicPort && service) {
      const exposed = this.exposePublicPort(spec, publicPort, service, labels, resourceOpts);
      resources.push(exposed.resource);
      publicUrl = exposed.url;
    }

    resources.push(this.networkPolicy(spec, selector, labels, resourceOpts));

    const host = service
      ? pulumi.interpolate`${service.metadata.name}.${namespace}.svc.cluster.local`
      : pulumi.interpolate`${spec.name}.${namespace}.svc.cluster.local`;
    return { host, resources, publicUrl };
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
    labels: Record<string, string>,
    resourceOpts: pulumi.CustomResourceOptions,
  ): { resource: pulumi.Resource; url: pulumi.Output<string> } {
    const namespace = this.namespace;
    if (this.exposure === "ingress") {
      const host = this.args.ingressHost!;
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
            tls: [{ hosts: [host], secretName: `${spec.name}-tls` }],
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
      return { resource: ingress, url: pulumi.output(`https://${host}`) };
    }
    const loadBalancer = new k8s.core.v1.Service(
      `${spec.name}-public`,
      {
        metadata: { name: `${spec.name}-public`, namespace, labels },
        spec: {
          type: "LoadBalancer",
          // Local keeps the client's source address, which the gateway's admin allow-list and rate limits key on.
          externalTrafficPolicy: "Local",
          selector: { "app.kubernetes.io/name": spec.name },
          ports: [{ name: port.name, port: port.port, targetPort: port.name, protocol: "TCP" }],
        },
      },
      resourceOpts,
    );
    // The provider waits for the load balancer's address before it reports the Service created; only a
    // preview or a mocked run lacks it, and then the in-cluster name stands in.
    const url = pulumi.all([loadBalancer.status, namespace]).apply(([status, ns]) => {
      const ingress = status?.loadBalancer?.ingress?.[0];
      const address = ingress?.hostname || ingress?.ip || `${spec.name}-public.${ns}.svc.cluster.local`;
      return `http://${address}:${port.port}`;
    });
    return { resource: loadBalancer, url };
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
        ingress.push({ ports: publicPorts.map((p) => tcp(p.port)) });
      } else {
        const controller = this.args.ingressControllerNamespace;
        ingress.push({
          from: [{ namespaceSelector: controller ? { matchLabels: { "kubernetes.io/metadata.name": controller } } : {} }],
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
    const dataCidrs = this.args.dataCidrs ?? [];
    const isDataClient = this.args.dataClients ? this.args.dataClients.includes(spec.name) : dataCidrs.length > 0;
    if (isDataClient) {
      if (dataCidrs.length > 0) egress.push({ to: dataCidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(POSTGRES_PORT), tcp(REDIS_PORT)] });
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
