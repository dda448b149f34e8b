import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as crypto from "crypto";
import { WorkloadSpec, validateWorkload } from "../../workload";
import { DeployedWorkload, Runtime } from "../types";
import { Exposure, KubernetesRuntimeArgs, validateKubernetesRuntimeArgs } from "./args";
import { addressOf, certificateManifest, clusterServiceManifest, ingressManifest, loadBalancerManifest, publicPortOf, tlsSecretNameFor, validatePublicPort } from "./exposure";
import { isStateful, namespaceManifest, runtimeLabels, workloadMeta } from "./manifest";
import { defaultDenyPolicy, dnsPolicy, workloadNetworkPolicy } from "./network-policy";
import { fileKey, podSpecFor, topologySpreadFor, validateForKubernetes } from "./pod";

/** Seconds a finished Job (and its logs) is kept before Kubernetes deletes it. */
const JOB_TTL_SECONDS = 7 * 24 * 3600;
/** Seconds a Job may run before Kubernetes fails it. */
export const JOB_DEADLINE_SECONDS = 900;
/**
 * How long Pulumi waits for a Job: its deadline plus two minutes for the controller to start it and
 * report the outcome. The provider's own default (10 minutes) would give up on a Job still running.
 */
export const JOB_AWAIT_TIMEOUT = `${Math.ceil(JOB_DEADLINE_SECONDS / 60) + 2}m`;

/** Short, stable content digest for names and checksum annotations. */
export function contentDigest(parts: readonly unknown[], length = 64): string {
  return crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, length);
}

/**
 * Renders WorkloadSpecs to Kubernetes: one Namespace per stack enforcing Pod Security "restricted",
 * default-deny NetworkPolicies, and per workload a Deployment, StatefulSet, Job or CronJob with its
 * Service, ConfigMap, Secret, PodDisruptionBudget, HorizontalPodAutoscaler and NetworkPolicy.
 * `exposure.ts` and `network-policy.ts` state the exposure and network rules as plain data.
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
    const labels = runtimeLabels(args.stack);

    this.namespaceResource = new k8s.core.v1.Namespace(`${name}-namespace`, namespaceManifest(args.namespace, labels), childOpts);
    this.namespace = this.namespaceResource.metadata.name;
    new k8s.networking.v1.NetworkPolicy(`${name}-default-deny`, defaultDenyPolicy(this.namespace, labels), childOpts);
    new k8s.networking.v1.NetworkPolicy(`${name}-allow-dns`, dnsPolicy(this.namespace, labels, args.dnsResolverCidrs ?? []), childOpts);

    this.registerOutputs({ namespace: this.namespace });
  }

  deploy(spec: WorkloadSpec, parent: pulumi.Resource, opts?: { dependsOn?: pulumi.Resource[] }): DeployedWorkload {
    validateWorkload(spec);
    validateForKubernetes(spec, this.exposure);
    validatePublicPort(spec, this.args);
    if (this.deployed.has(spec.name)) throw new Error(`workload ${JSON.stringify(spec.name)} is deployed twice on stack ${this.stack}`);
    this.deployed.add(spec.name);

    const resourceOpts: pulumi.CustomResourceOptions = { parent, provider: this.args.provider, dependsOn: opts?.dependsOn };
    const meta = workloadMeta(spec, this.stack, this.namespace);
    const { namespace, labels, workloadLabels, selector } = meta;
    const resources: pulumi.Resource[] = [];
    const isJob = spec.kind === "job";
    const stateful = isStateful(spec);
    const publicPort = publicPortOf(spec);

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
    const tlsSecretName = tlsSecretNameFor(spec, this.args);
    const certificateData = certificateManifest(spec, meta, this.args);
    const certificate = certificateData && new k8s.apiextensions.CustomResource(`${spec.name}-certificate`, certificateData, resourceOpts);
    if (certificate) resources.push(certificate);
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

    const serviceData = clusterServiceManifest(spec, meta);
    const service = serviceData && new k8s.core.v1.Service(spec.name, serviceData, resourceOpts);
    if (service) resources.push(service);

    let publicAddress: pulumi.Output<string> | undefined;
    if (publicPort && service) {
      if (this.exposure === "ingress") {
        const ingress = new k8s.networking.v1.Ingress(`${spec.name}-ingress`, ingressManifest(spec, publicPort, service.metadata.name, meta, this.args), resourceOpts);
        resources.push(ingress);
        publicAddress = ingress.status.apply((status) => addressOf(status?.loadBalancer));
      } else {
        const loadBalancer = new k8s.core.v1.Service(`${spec.name}-public`, loadBalancerManifest(spec, publicPort, meta, this.args), resourceOpts);
        resources.push(loadBalancer);
        publicAddress = loadBalancer.status.apply((status) => addressOf(status?.loadBalancer));
      }
    }

    resources.push(new k8s.networking.v1.NetworkPolicy(`${spec.name}-netpol`, workloadNetworkPolicy(spec, meta, this.args), resourceOpts));

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
}
