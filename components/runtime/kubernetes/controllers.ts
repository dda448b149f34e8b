/**
 * The controller that runs a workload's pods, as plain data: a Deployment, or a StatefulSet when it
 * has volumes, a DaemonSet for a daemon, a Job or a CronJob; and for replicated services a
 * PodDisruptionBudget and a HorizontalPodAutoscaler.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { WorkloadSpec, hostPathExemption, runsToCompletion } from "../../workload";
import { RuntimeSettings } from "./args";
import { contentChecksums, contentDigest, plainFilesOf } from "./config-objects";
import { publicPortOf, tlsSecretNameFor } from "./exposure";
import { Manifest, WorkloadMeta, isStateful } from "./manifest";
import { PodInputs, podSpecFor, topologySpreadFor } from "./pod";

type PodSpec = k8s.types.input.core.v1.PodSpec;
type PodTemplateSpec = k8s.types.input.core.v1.PodTemplateSpec;

/** Seconds a finished Job (and its logs) is kept before Kubernetes deletes it. */
const JOB_TTL_SECONDS = 7 * 24 * 3600;
/** Seconds a Job may run before Kubernetes fails it. */
export const JOB_DEADLINE_SECONDS = 900;
/**
 * How long Pulumi waits for a Job: its deadline plus two minutes for the controller to start it and
 * report the outcome. The provider's own default (10 minutes) would give up on a Job still running.
 */
export const JOB_AWAIT_TIMEOUT = `${Math.ceil(JOB_DEADLINE_SECONDS / 60) + 2}m`;

/** The workload's controller, tagged with its kind so the runtime knows which resource to create. */
export type ControllerManifest =
  | { readonly kind: "Deployment"; readonly manifest: Manifest<k8s.types.input.apps.v1.DeploymentSpec> }
  | { readonly kind: "StatefulSet"; readonly manifest: Manifest<k8s.types.input.apps.v1.StatefulSetSpec> }
  | {
      readonly kind: "DaemonSet";
      readonly manifest: Manifest<k8s.types.input.apps.v1.DaemonSetSpec>;
      /** Admits its pods' priority class in its namespace (DAEMON_PRIORITY_CLASS); created first. */
      readonly quota: Manifest<k8s.types.input.core.v1.ResourceQuotaSpec>;
    }
  | { readonly kind: "Job"; readonly manifest: Manifest<k8s.types.input.batch.v1.JobSpec> }
  | { readonly kind: "CronJob"; readonly manifest: Manifest<k8s.types.input.batch.v1.CronJobSpec> };

/** The names of the workload's ConfigMap and Secret (auto-named, so known only once registered). */
export type PodRefs = Pick<PodInputs, "configMapName" | "secretName">;

/** The runtime's settings the controller depends on. */
export type ControllerSettings = Pick<RuntimeSettings, "tlsSecretName" | "storageClassName">;

/** Tolerates every taint, so that a daemon runs on every node (control-plane and tainted pools too). */
export const EVERY_TAINT: k8s.types.input.core.v1.Toleration[] = [{ operator: "Exists" }];

/**
 * A daemon's pods outrank the workloads' pods, so that on a full node the scheduler evicts a workload
 * pod to place them rather than leaving that node unwatched: the built-in class kube-prometheus
 * gives node_exporter. Kubernetes admits it outside kube-system since 1.17, unless a ResourceQuota
 * limits it.
 */
export const DAEMON_PRIORITY_CLASS = "system-cluster-critical";

/**
 * Pods of DAEMON_PRIORITY_CLASS its namespace's quota admits: one per node, up to the largest GKE
 * cluster (15,000 nodes). GKE admits the system-* classes only in a namespace whose ResourceQuota
 * is scoped to them (Kubernetes' "limit priority class consumption by default"); elsewhere the quota
 * only counts the daemon's pods.
 */
export const DAEMON_PODS_QUOTA = 15000;

/** The spec's annotations and, with host paths, its named policy exemption: on the controller and its pods. */
function annotationsOf(spec: WorkloadSpec): Record<string, string> {
  return { ...(spec.annotations ?? {}), ...hostPathExemption(spec) };
}

/**
 * The pod template: the workload's labels, its annotations, and checksums of its ConfigMap and
 * Secret content so that changed content rolls the pods.
 */
export function podTemplate(
  spec: WorkloadSpec,
  meta: Pick<WorkloadMeta, "workloadLabels">,
  podSpec: PodSpec,
): PodTemplateSpec {
  const checksums = contentChecksums(spec);
  return {
    metadata: {
      labels: meta.workloadLabels,
      annotations: {
        ...annotationsOf(spec),
        "kubectl.kubernetes.io/default-container": spec.name,
        ...(checksums.config ? { "northstack.io/config-checksum": checksums.config } : {}),
        ...(checksums.secret ? { "northstack.io/secret-checksum": checksums.secret } : {}),
      },
    },
    spec: podSpec,
  };
}

/** A Job's name: a changed image, command, env or migration set gives it a new name, so Pulumi replaces it and it runs again. */
export function jobName(spec: WorkloadSpec): pulumi.Output<string> {
  const plainFiles = plainFilesOf(spec);
  return pulumi
    .all([spec.image, pulumi.output(spec.env ?? {}), pulumi.all(plainFiles.map((f) => f.content))])
    .apply(([image, env, contents]) => {
      const digest = contentDigest([image, spec.command, spec.args, env, plainFiles.map((f) => f.path), contents], 8);
      return `${spec.name}-${digest}`;
    });
}

export function controllerManifest(
  spec: WorkloadSpec,
  meta: WorkloadMeta,
  refs: PodRefs,
  settings: ControllerSettings,
): ControllerManifest {
  const { namespace, labels, workloadLabels, selector } = meta;
  const annotations = annotationsOf(spec);
  const podInputs: PodInputs = {
    configMapName: refs.configMapName,
    secretName: refs.secretName,
    tlsSecretName: publicPortOf(spec)?.tls ? tlsSecretNameFor(spec, settings) : undefined,
  };
  const template = (podSpec: PodSpec) => podTemplate(spec, meta, podSpec);

  if (spec.kind === "cron") {
    return {
      kind: "CronJob",
      manifest: cronJobManifest(spec, meta, template(podSpecFor(spec, { ...podInputs, restartPolicy: "Never" }))),
    };
  }
  if (spec.kind === "job") {
    return {
      kind: "Job",
      manifest: {
        metadata: { name: jobName(spec), namespace, labels: workloadLabels, annotations },
        spec: {
          backoffLimit: 3,
          activeDeadlineSeconds: JOB_DEADLINE_SECONDS,
          ttlSecondsAfterFinished: JOB_TTL_SECONDS,
          template: template(podSpecFor(spec, { ...podInputs, restartPolicy: "Never" })),
        },
      },
    };
  }

  if (spec.kind === "daemon") {
    return {
      kind: "DaemonSet",
      manifest: {
        metadata: { name: spec.name, namespace, labels: workloadLabels, annotations },
        spec: {
          selector: { matchLabels: selector },
          updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1 } },
          template: template({
            ...podSpecFor(spec, { ...podInputs, tolerations: EVERY_TAINT }),
            priorityClassName: DAEMON_PRIORITY_CLASS,
          }),
        },
      },
      quota: {
        metadata: { name: `${spec.name}-priority`, namespace, labels: workloadLabels },
        spec: {
          hard: { pods: String(DAEMON_PODS_QUOTA) },
          scopeSelector: {
            matchExpressions: [{ scopeName: "PriorityClass", operator: "In", values: [DAEMON_PRIORITY_CLASS] }],
          },
        },
      },
    };
  }

  const stateful = isStateful(spec);
  const replicas = spec.replicas ?? 1;
  const podSpec = podSpecFor(spec, {
    ...podInputs,
    topologySpreadConstraints:
      (spec.autoscale?.max ?? replicas) > 1 ? topologySpreadFor(selector, !stateful) : undefined,
  });
  // With an autoscaler the replica count is left to it, so that `pulumi up` never scales back down.
  const fixedReplicas = spec.autoscale ? undefined : replicas;
  const metadata = { name: spec.name, namespace, labels: workloadLabels, annotations };
  if (stateful) {
    return {
      kind: "StatefulSet",
      manifest: {
        metadata,
        spec: {
          serviceName: spec.name,
          replicas: fixedReplicas,
          selector: { matchLabels: selector },
          persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
          volumeClaimTemplates: (spec.volumes ?? []).map((v) => ({
            metadata: { name: v.name, labels },
            spec: {
              accessModes: ["ReadWriteOnce"],
              storageClassName: settings.storageClassName,
              resources: { requests: { storage: `${v.sizeGb}Gi` } },
            },
          })),
          template: template(podSpec),
        },
      },
    };
  }
  return {
    kind: "Deployment",
    manifest: {
      metadata,
      spec: {
        replicas: fixedReplicas,
        selector: { matchLabels: selector },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: template(podSpec),
      },
    },
  };
}

/**
 * A CronJob on the spec's schedule (UTC): one run at a time, a missed run may start up to an hour
 * late, a failed pod is retried twice, and the last three successes and failures stay for their logs.
 */
function cronJobManifest(
  spec: WorkloadSpec,
  meta: WorkloadMeta,
  template: PodTemplateSpec,
): Manifest<k8s.types.input.batch.v1.CronJobSpec> {
  return {
    metadata: {
      name: spec.name,
      namespace: meta.namespace,
      labels: meta.workloadLabels,
      annotations: annotationsOf(spec),
    },
    spec: {
      schedule: spec.schedule!,
      timeZone: "Etc/UTC",
      concurrencyPolicy: "Forbid",
      startingDeadlineSeconds: 3600,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels: meta.workloadLabels },
        spec: { backoffLimit: 2, activeDeadlineSeconds: 4 * 3600, ttlSecondsAfterFinished: JOB_TTL_SECONDS, template },
      },
    },
  };
}

/** A replicated service (more than one replica at its minimum) keeps all but one pod through voluntary disruptions. */
export function podDisruptionBudgetManifest(
  spec: WorkloadSpec,
  meta: Pick<WorkloadMeta, "namespace" | "labels" | "selector">,
): Manifest<k8s.types.input.policy.v1.PodDisruptionBudgetSpec> | undefined {
  if (runsToCompletion(spec) || spec.kind === "daemon" || (spec.autoscale?.min ?? spec.replicas ?? 1) <= 1)
    return undefined;
  return {
    metadata: { name: spec.name, namespace: meta.namespace, labels: meta.labels },
    spec: { maxUnavailable: 1, selector: { matchLabels: meta.selector } },
  };
}

/**
 * The autoscaler of a service with `autoscale`, on CPU (default 70 %) and memory (default 80 %).
 * `controllerName` is the registered controller's name, so that the autoscaler follows it.
 */
export function autoscalerManifest(
  spec: WorkloadSpec,
  meta: Pick<WorkloadMeta, "namespace" | "labels">,
  controllerName: pulumi.Input<string>,
): Manifest<k8s.types.input.autoscaling.v2.HorizontalPodAutoscalerSpec> | undefined {
  if (runsToCompletion(spec) || !spec.autoscale) return undefined;
  return {
    metadata: { name: spec.name, namespace: meta.namespace, labels: meta.labels },
    spec: {
      scaleTargetRef: {
        apiVersion: "apps/v1",
        kind: isStateful(spec) ? "StatefulSet" : "Deployment",
        name: controllerName,
      },
      minReplicas: spec.autoscale.min,
      maxReplicas: spec.autoscale.max,
      metrics: [
        {
          type: "Resource",
          resource: {
            name: "cpu",
            target: { type: "Utilization", averageUtilization: spec.autoscale.cpuPercent ?? 70 },
          },
        },
        {
          type: "Resource",
          resource: {
            name: "memory",
            target: { type: "Utilization", averageUtilization: spec.autoscale.memoryPercent ?? 80 },
          },
        },
      ],
    },
  };
}
