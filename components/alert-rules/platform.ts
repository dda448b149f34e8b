/**
 * Targets, pods, containers, volumes, nodes and certificates: kube-state-metrics, the kubelet's
 * cAdvisor and volume stats, node_exporter, the blackbox exporter, and `up` / process metrics that
 * every runtime has.
 */
import { RuleGroupSpec, Thresholds } from "./types";

export function platformRules(t: Thresholds): RuleGroupSpec {
  const pvcRatio =
    "max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_available_bytes) / max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes)";
  const certDays = "(probe_ssl_earliest_cert_expiry - time()) / 86400";
  return {
    name: "northstack-platform",
    alerts: [
      {
        alert: "TargetDown",
        expr: "up == 0",
        for: "5m",
        severity: "warning",
        summary: "{{ $labels.job }} target {{ $labels.instance }} is down",
        description:
          "Prometheus could not scrape {{ $labels.instance }} for 5 minutes; the job's other targets still answer.",
      },
      {
        alert: "JobDown",
        expr: "sum by (job) (up) == 0",
        for: "2m",
        severity: "critical",
        inhibits: { alert: "TargetDown", equal: ["job"] },
        summary: "Every {{ $labels.job }} target is down",
        description: "Prometheus has not scraped a single {{ $labels.job }} target for 2 minutes.",
      },
      {
        alert: "ServiceRestarting",
        expr: "changes(process_start_time_seconds[30m]) > 2",
        for: "0m",
        severity: "warning",
        summary: "{{ $labels.job }} at {{ $labels.instance }} restarted {{ $value }} times in 30 minutes",
        description: "The process behind this target keeps restarting (on Docker and Kubernetes alike).",
      },
      {
        alert: "PodCrashLooping",
        collectedBy: ["kube-state-metrics"],
        expr:
          "sum by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total[15m])) > 2" +
          ' or max by (namespace, pod, container) (max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m])) >= 1',
        for: "5m",
        severity: "warning",
        summary: "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is crash-looping",
        description:
          "The container restarted more than twice in 15 minutes, or Kubernetes is backing off its restarts.",
      },
      {
        alert: "PodNotScheduled",
        collectedBy: ["kube-state-metrics"],
        expr: "max by (namespace, pod) (kube_pod_status_unschedulable) == 1",
        for: "10m",
        severity: "warning",
        summary: "{{ $labels.namespace }}/{{ $labels.pod }} cannot be scheduled",
        description:
          "The scheduler has found no node for this pod for 10 minutes; the workload runs short of replicas.",
      },
      {
        alert: "PodStuckPending",
        collectedBy: ["kube-state-metrics"],
        expr: 'sum by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Unknown"}) > 0',
        for: "15m",
        severity: "warning",
        summary: "{{ $labels.namespace }}/{{ $labels.pod }} has not started for 15 minutes",
        description: "The pod is Pending or Unknown: not scheduled, its image not pulled, or its node unreachable.",
      },
      {
        alert: "DeploymentReplicasUnavailable",
        collectedBy: ["kube-state-metrics"],
        expr: "kube_deployment_status_replicas_available < kube_deployment_spec_replicas",
        for: "15m",
        severity: "warning",
        summary: "{{ $labels.namespace }}/{{ $labels.deployment }} has {{ $value }} of its replicas available",
        description: "Fewer replicas are available than the Deployment asks for, for 15 minutes.",
      },
      {
        alert: "StatefulSetReplicasUnavailable",
        collectedBy: ["kube-state-metrics"],
        expr: "kube_statefulset_status_replicas_ready < kube_statefulset_replicas",
        for: "15m",
        severity: "warning",
        summary: "{{ $labels.namespace }}/{{ $labels.statefulset }} has {{ $value }} of its replicas ready",
        description: "Fewer replicas are ready than the StatefulSet asks for, for 15 minutes.",
      },
      {
        alert: "ContainerOOMKilled",
        collectedBy: ["kube-state-metrics"],
        expr:
          "sum by (namespace, pod, container) (increase(kube_pod_container_status_restarts_total[10m])) >= 1" +
          ' and on (namespace, pod, container) max by (namespace, pod, container) (kube_pod_container_status_last_terminated_reason{reason="OOMKilled"}) == 1',
        for: "0m",
        severity: "warning",
        summary:
          "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) was killed for running out of memory",
        description: "The container restarted in the last 10 minutes after exceeding its memory limit.",
      },
      {
        alert: "ContainerMemoryNearLimit",
        collectedBy: ["cadvisor", "kube-state-metrics"],
        expr:
          'max by (namespace, pod, container) (container_memory_working_set_bytes{container!=""})' +
          ' / max by (namespace, pod, container) (kube_pod_container_resource_limits{resource="memory"}) > 0.9',
        for: "15m",
        severity: "warning",
        summary:
          "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) uses {{ $value | humanizePercentage }} of its memory limit",
        description: "Above 90% of the memory limit for 15 minutes; the next spike gets the container OOM-killed.",
      },
      {
        alert: "ContainerCpuThrottled",
        collectedBy: ["cadvisor"],
        expr:
          'sum by (namespace, pod, container) (increase(container_cpu_cfs_throttled_periods_total{container!=""}[5m]))' +
          ' / sum by (namespace, pod, container) (increase(container_cpu_cfs_periods_total{container!=""}[5m])) > 0.25',
        for: "15m",
        severity: "warning",
        summary:
          "{{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is CPU-throttled in {{ $value | humanizePercentage }} of periods",
        description:
          "The container hits its CPU limit in over 25% of scheduling periods for 15 minutes, which shows as latency.",
      },
      {
        alert: "PersistentVolumeFillingUp",
        collectedBy: ["kubelet"],
        expr: `${pvcRatio} < 0.15 and max by (namespace, persistentvolumeclaim) (predict_linear(kubelet_volume_stats_available_bytes[6h], 4 * 24 * 3600)) < 0`,
        for: "1h",
        severity: "warning",
        summary:
          "Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free and fills within 4 days",
        description: "Under 15% free, and at the last 6 hours' rate the volume is full within 4 days.",
      },
      {
        alert: "PersistentVolumeFull",
        collectedBy: ["kubelet"],
        expr: `${pvcRatio} < 0.03`,
        for: "5m",
        severity: "critical",
        inhibits: { alert: "PersistentVolumeFillingUp", equal: ["namespace", "persistentvolumeclaim"] },
        summary:
          "Volume {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free",
        description: "Under 3% free: writes on this volume fail soon.",
      },
      {
        alert: "NodeNotReady",
        collectedBy: ["kube-state-metrics"],
        expr: 'kube_node_status_condition{condition="Ready",status="true"} == 0',
        for: "15m",
        severity: "warning",
        summary: "Node {{ $labels.node }} is not ready",
        description: "The node has not been Ready for 15 minutes; its pods are being evicted or cannot start.",
      },
      {
        alert: "NodeMemoryLow",
        collectedBy: ["node-exporter"],
        expr: "node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes < 0.1",
        for: "15m",
        severity: "warning",
        summary: "Host {{ $labels.instance }} has {{ $value | humanizePercentage }} of its memory available",
        description: "Under 10% of memory available for 15 minutes; the kernel or kubelet starts killing processes.",
      },
      {
        alert: "NodeFilesystemAlmostFull",
        collectedBy: ["node-exporter"],
        expr:
          'node_filesystem_avail_bytes{fstype!~"tmpfs|overlay|squashfs"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay|squashfs"} < 0.1' +
          ' and node_filesystem_readonly{fstype!~"tmpfs|overlay|squashfs"} == 0',
        for: "30m",
        severity: "warning",
        summary: "Host {{ $labels.instance }} has {{ $value | humanizePercentage }} free on {{ $labels.mountpoint }}",
        description: "Under 10% free on a writable host filesystem for 30 minutes (on Docker, the volumes live here).",
      },
      {
        alert: "CertificateExpiringSoon",
        expr: `${certDays} < ${t.certificateWarningDays}`,
        for: "10m",
        severity: "warning",
        summary: "The certificate of {{ $labels.instance }} expires in {{ $value | humanize }} days",
        description: `The TLS certificate served at this URL expires within ${t.certificateWarningDays} days; automatic renewal should have replaced it by now.`,
      },
      {
        alert: "CertificateExpiryImminent",
        expr: `${certDays} < ${t.certificateCriticalDays}`,
        for: "10m",
        severity: "critical",
        inhibits: { alert: "CertificateExpiringSoon", equal: ["instance"] },
        summary: "The certificate of {{ $labels.instance }} expires in {{ $value | humanize }} days",
        description: `The TLS certificate served at this URL expires within ${t.certificateCriticalDays} days; clients will then refuse the connection.`,
      },
    ],
  };
}
