/**
 * Pure pieces of the Kubernetes rendering of a WorkloadSpec: validation of what Kubernetes is
 * stricter about than Docker, and the hardened pod spec. `controllers.ts` puts the pod spec into its
 * controller; keeping them pure lets tests and the policy pack reason about one pod without a cluster.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import {
  FileSpec,
  HealthSpec,
  InitStepSpec,
  ResourceSpec,
  WorkloadSpec,
  requestsFor,
  runsToCompletion,
} from "../../workload";

type Container = k8s.types.input.core.v1.Container;
type PodSpec = k8s.types.input.core.v1.PodSpec;
type Probe = k8s.types.input.core.v1.Probe;
type Volume = k8s.types.input.core.v1.Volume;
type VolumeMount = k8s.types.input.core.v1.VolumeMount;
type EnvVar = k8s.types.input.core.v1.EnvVar;

/** Name of the projected volume that carries a workload's ConfigMap and Secret files. */
export const CONFIG_VOLUME = "config";
/** Name of the volume that carries the public TLS certificate to a port with `tls`. */
export const PUBLIC_TLS_VOLUME = "public-tls";

/** IANA service name: what Kubernetes requires of container and Service port names. */
const PORT_NAME = /^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]+(-[a-z0-9]+)*$/;
/** ConfigMap and Secret keys. */
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The ConfigMap/Secret key of a file: its base name, so a migrations ConfigMap has one `.sql` key per file. */
export function fileKey(file: Pick<FileSpec, "path">): string {
  return path.posix.basename(file.path);
}

/**
 * What Kubernetes needs beyond `validateWorkload`: port names that are IANA service names, files
 * whose base names are usable and distinct keys, secret env names that are valid keys, and at most
 * one public port (an Ingress host routes to one backend port, a load balancer serves one on 443).
 * Clients reach public ports over TLS only: behind a load balancer the workload itself serves TLS
 * (`tls`); behind an Ingress the Ingress terminates it and the port is plain. Throws one error naming every problem.
 */
export function validateForKubernetes(spec: WorkloadSpec, exposure: "loadbalancer" | "ingress"): void {
  const problems: string[] = [];
  for (const p of spec.ports ?? []) {
    if (!PORT_NAME.test(p.name))
      problems.push(
        `port name ${JSON.stringify(p.name)} must be an IANA service name (1-15 lowercase letters, digits, inner dashes)`,
      );
    if (p.protocol === "udp")
      problems.push(`port ${p.name}=${p.port} is udp; Kubernetes workloads here serve TCP only, so use a TCP port`);
  }
  const keys = new Map<string, string>();
  const claim = (key: string, owner: string) => {
    const previous = keys.get(key);
    if (previous) problems.push(`${owner} and ${previous} both map to the key ${JSON.stringify(key)}`);
    keys.set(key, owner);
  };
  for (const v of spec.readOnlyVolumesOf ?? [])
    problems.push(
      `readOnlyVolumesOf ${v.workload}/${v.volume} is not supported; a volume claim belongs to one pod (copy its data through the workload's own API instead)`,
    );
  for (const f of spec.files ?? []) {
    const key = fileKey(f);
    if (!DATA_KEY.test(key))
      problems.push(
        `file ${JSON.stringify(f.path)} has base name ${JSON.stringify(key)}, which is not a ConfigMap key ([-._a-zA-Z0-9]+)`,
      );
    claim(key, `file ${JSON.stringify(f.path)}`);
  }
  for (const name of [...Object.keys(spec.env ?? {}), ...Object.keys(spec.secretEnv ?? {})]) {
    if (!ENV_NAME.test(name)) problems.push(`env ${JSON.stringify(name)} is not a valid environment variable name`);
  }
  for (const name of Object.keys(spec.secretEnv ?? {})) claim(name, `secretEnv ${JSON.stringify(name)}`);
  for (const step of spec.init ?? []) {
    for (const name of [...Object.keys(step.env ?? {}), ...Object.keys(step.secretEnv ?? {})]) {
      if (!ENV_NAME.test(name))
        problems.push(
          `init step ${JSON.stringify(step.name)} env ${JSON.stringify(name)} is not a valid environment variable name`,
        );
    }
    for (const name of Object.keys(step.secretEnv ?? {}))
      claim(name, `init step ${JSON.stringify(step.name)} secretEnv ${JSON.stringify(name)}`);
  }
  const publicPorts = (spec.ports ?? []).filter((p) => p.public);
  if (publicPorts.length > 1) {
    const one =
      exposure === "ingress" ? "an Ingress routes one port per workload" : "a load balancer serves one port, 443";
    problems.push(`ports ${publicPorts.map((p) => p.name).join(", ")} are all public; ${one}`);
  }
  for (const p of spec.ports ?? []) {
    if (p.tls && !p.public)
      problems.push(`port ${p.name} has tls but is not public; tls carries the public certificate only`);
    if (p.tls && !path.posix.isAbsolute(p.tls.certDir))
      problems.push(`port ${p.name} tls.certDir ${JSON.stringify(p.tls.certDir)} must be an absolute path`);
    if (p.public && exposure === "loadbalancer" && !p.tls) {
      problems.push(
        `port ${p.name} is public but plain; with exposure "loadbalancer" the workload must serve TLS on it (PortSpec.tls)`,
      );
    }
    if (p.public && exposure === "ingress" && p.tls) {
      problems.push(
        `port ${p.name} has tls, but with exposure "ingress" the Ingress terminates TLS; serve plain HTTP on it`,
      );
    }
  }
  if (spec.kind === "job" && publicPorts.length > 0) problems.push("a job cannot have public ports");
  if (spec.hostPaths && !spec.ownNamespace)
    problems.push(
      'hostPaths needs ownNamespace; the stack\'s namespace enforces Pod Security "restricted", which refuses host paths',
    );
  for (const v of spec.volumes ?? [])
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v.name))
      problems.push(`volume name ${JSON.stringify(v.name)} is not a DNS label`);
  if (problems.length) throw new Error(`workload ${JSON.stringify(spec.name)} on kubernetes: ${problems.join("; ")}`);
}

/** Kubernetes quantities for the spec's (or an init step's) limits and derived requests. */
export function resourcesFor(spec: { readonly resources: ResourceSpec }): k8s.types.input.core.v1.ResourceRequirements {
  const requests = requestsFor(spec.resources);
  return {
    requests: { cpu: `${requests.cpuMillis}m`, memory: `${requests.memoryMb}Mi` },
    limits: { cpu: `${spec.resources.cpuMillis}m`, memory: `${spec.resources.memoryMb}Mi` },
  };
}

/** Plain env, then secret env read from the workload's Secret, sorted by name. */
function envFor(
  env: Record<string, pulumi.Input<string>> | undefined,
  secretEnv: Record<string, unknown> | undefined,
  secretName: pulumi.Input<string> | undefined,
): EnvVar[] {
  return [
    ...Object.entries(env ?? {}).map(([name, value]) => ({ name, value })),
    ...Object.keys(secretEnv ?? {}).map((name) => ({
      name,
      valueFrom: { secretKeyRef: { name: secretName, key: name } },
    })),
  ].sort((a, b) => a.name.localeCompare(b.name));
}

function containerSecurityContext(
  user: { uid: number; gid: number },
  readOnlyRootFilesystem: boolean,
  add: string[],
): k8s.types.input.core.v1.SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    privileged: false,
    readOnlyRootFilesystem,
    runAsNonRoot: true,
    runAsUser: user.uid,
    runAsGroup: user.gid,
    capabilities: { drop: ["ALL"], add },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/** An init step as an init container with the workload's mounts and its own identity, env and limits. */
function initContainerFor(
  spec: WorkloadSpec,
  step: InitStepSpec,
  mounts: VolumeMount[],
  secretName: pulumi.Input<string> | undefined,
): Container {
  return {
    name: step.name,
    image: step.image,
    command: step.command,
    args: step.args,
    env: envFor(step.env, step.secretEnv, secretName),
    volumeMounts: mounts,
    resources: resourcesFor(step),
    securityContext: containerSecurityContext(step.user ?? spec.user, true, []),
  };
}

/** The probe handler: httpGet or tcp when given (they need no tool in the image), else exec. */
function probeHandler(health: HealthSpec): Probe {
  if (health.httpGet) return { httpGet: { path: health.httpGet.path, port: health.httpGet.port } };
  if (health.tcp) return { tcpSocket: { port: health.tcp.port } };
  return { exec: { command: health.exec } };
}

/**
 * Readiness, liveness and (when the spec gives a start period) startup probes. Health endpoints
 * usually check dependencies (the API's /health fails while Postgres is down), which is right for
 * readiness but would restart every pod during a database outage if used for liveness. So an
 * HTTP-checked workload with a port gets a TCP liveness probe: it is restarted only when it stops
 * accepting connections.
 */
export function probesFor(
  health: HealthSpec,
  firstPort?: number,
): Pick<Container, "readinessProbe" | "livenessProbe" | "startupProbe"> {
  const periodSeconds = health.intervalSeconds ?? 10;
  const handler = probeHandler(health);
  const common = { ...handler, periodSeconds, timeoutSeconds: 5 };
  const livenessHandler: Probe =
    health.httpGet && firstPort !== undefined ? { tcpSocket: { port: health.tcp?.port ?? firstPort } } : handler;
  return {
    readinessProbe: { ...common, failureThreshold: 3 },
    // Liveness tolerates longer trouble than readiness: a pod that is only slow leaves the Service, it is not killed.
    livenessProbe: { ...livenessHandler, periodSeconds, timeoutSeconds: 5, failureThreshold: 6 },
    startupProbe: health.startSeconds
      ? {
          ...handler,
          periodSeconds: 5,
          timeoutSeconds: 5,
          failureThreshold: Math.max(1, Math.ceil(health.startSeconds / 5)),
        }
      : undefined,
  };
}

export interface PodInputs {
  /** Name of the workload's ConfigMap, when it has plain files. */
  readonly configMapName?: pulumi.Input<string>;
  /** Name of the workload's Secret, when it has secret env or secret files. */
  readonly secretName?: pulumi.Input<string>;
  /** Name of the kubernetes.io/tls Secret a port with `tls` serves; required when one has. */
  readonly tlsSecretName?: pulumi.Input<string>;
  /** Set on Jobs: never restart in place, let the Job's backoff decide. */
  readonly restartPolicy?: "Always" | "Never";
  /** Topology spread for replicated workloads (Deployments add pod-template-hash). */
  readonly topologySpreadConstraints?: k8s.types.input.core.v1.TopologySpreadConstraint[];
  /** Taints the pod tolerates (a daemon tolerates every one, to run on every node). Default: none. */
  readonly tolerations?: k8s.types.input.core.v1.Toleration[];
}

/** Name of the volume of the spec's i-th host path. */
const hostVolumeName = (i: number) => `host-${i}`;

/**
 * The pod spec of one workload, meeting Pod Security Standards "restricted" field by field: non-root
 * with the spec's uid:gid, fsGroup, seccomp RuntimeDefault, no privilege escalation, all
 * capabilities dropped (NET_BIND_SERVICE only when the spec asks), read-only root filesystem with
 * emptyDir scratch, requests and limits, probes, and no service-account token unless the spec has
 * `kubernetesApi`. Host paths, read-only, are the one exception to "restricted", allowed only in a
 * workload's own namespace (validateForKubernetes). Init steps become init containers hardened the
 * same way, with the same mounts.
 */
export function podSpecFor(spec: WorkloadSpec, inputs: PodInputs): PodSpec {
  const files = spec.files ?? [];
  const volumes: Volume[] = [];
  const mounts: VolumeMount[] = [];

  if (files.length > 0) {
    const plainItems = files.filter((f) => !f.secret).map((f) => ({ key: fileKey(f), path: fileKey(f) }));
    const secretItems = files.filter((f) => f.secret).map((f) => ({ key: fileKey(f), path: fileKey(f), mode: 0o440 }));
    volumes.push({
      name: CONFIG_VOLUME,
      projected: {
        defaultMode: 0o444,
        sources: [
          ...(plainItems.length ? [{ configMap: { name: inputs.configMapName, items: plainItems } }] : []),
          ...(secretItems.length ? [{ secret: { name: inputs.secretName, items: secretItems } }] : []),
        ],
      },
    });
    // One subPath mount per file: like Docker uploads, a file joins its directory instead of hiding it.
    for (const f of files) mounts.push({ name: CONFIG_VOLUME, mountPath: f.path, subPath: fileKey(f), readOnly: true });
  }
  const tlsPort = (spec.ports ?? []).find((p) => p.tls);
  if (tlsPort?.tls) {
    if (inputs.tlsSecretName === undefined)
      throw new Error(
        `workload ${JSON.stringify(spec.name)}: port ${tlsPort.name} serves TLS but no certificate Secret was given`,
      );
    // A whole-directory mount, not subPath: a renewed certificate reaches the running pod.
    volumes.push({
      name: PUBLIC_TLS_VOLUME,
      secret: {
        secretName: inputs.tlsSecretName,
        defaultMode: 0o440,
        items: [
          { key: "tls.crt", path: "tls.crt" },
          { key: "tls.key", path: "tls.key" },
        ],
      },
    });
    mounts.push({ name: PUBLIC_TLS_VOLUME, mountPath: tlsPort.tls.certDir, readOnly: true });
  }
  (spec.scratch ?? []).forEach((s, i) => {
    volumes.push({ name: `scratch-${i}`, emptyDir: { sizeLimit: `${s.sizeMb ?? 64}Mi` } });
    mounts.push({ name: `scratch-${i}`, mountPath: s.mountPath });
  });
  for (const v of spec.volumes ?? []) mounts.push({ name: v.name, mountPath: v.mountPath });
  // Read-only; HostToContainer lets a filesystem the host mounts later show up without a restart.
  (spec.hostPaths?.mounts ?? []).forEach((m, i) => {
    volumes.push({ name: hostVolumeName(i), hostPath: { path: m.hostPath, type: "Directory" } });
    mounts.push({
      name: hostVolumeName(i),
      mountPath: m.mountPath,
      readOnly: true,
      mountPropagation: "HostToContainer",
    });
  });

  const container: Container = {
    name: spec.name,
    image: spec.image,
    command: spec.command,
    args: spec.args,
    ports: (spec.ports ?? []).map((p) => ({ name: p.name, containerPort: p.port, protocol: "TCP" })),
    env: envFor(spec.env, spec.secretEnv, inputs.secretName),
    volumeMounts: mounts,
    resources: resourcesFor(spec),
    securityContext: containerSecurityContext(
      spec.user,
      spec.readOnlyRootFilesystem ?? true,
      (spec.addCapabilities ?? []).map((c) => c.name),
    ),
    ...(spec.health && !runsToCompletion(spec) ? probesFor(spec.health, spec.ports?.[0]?.port) : {}),
  };
  const initContainers = (spec.init ?? []).map((step) => initContainerFor(spec, step, mounts, inputs.secretName));

  return {
    // Only a workload granted `kubernetesApi` gets the API token; cloud identity webhooks (EKS Pod
    // Identity) project their own audience-bound token.
    automountServiceAccountToken: spec.kubernetesApi !== undefined,
    serviceAccountName: spec.serviceAccount?.name,
    enableServiceLinks: false,
    restartPolicy: inputs.restartPolicy ?? "Always",
    securityContext: {
      runAsNonRoot: true,
      runAsUser: spec.user.uid,
      runAsGroup: spec.user.gid,
      fsGroup: spec.user.gid,
      fsGroupChangePolicy: "OnRootMismatch",
      seccompProfile: { type: "RuntimeDefault" },
    },
    ...(initContainers.length ? { initContainers } : {}),
    containers: [container],
    volumes,
    topologySpreadConstraints: inputs.topologySpreadConstraints,
    ...(inputs.tolerations ? { tolerations: inputs.tolerations } : {}),
  };
}

/** Spread replicas across zones (required) and nodes (preferred), so one zone or node outage leaves capacity. */
export function topologySpreadFor(
  selector: Record<string, string>,
  isDeployment: boolean,
): k8s.types.input.core.v1.TopologySpreadConstraint[] {
  // Without pod-template-hash, old and new ReplicaSets count together during a rollout and skew the spread.
  const matchLabelKeys = isDeployment ? ["pod-template-hash"] : undefined;
  return [
    {
      topologyKey: "topology.kubernetes.io/zone",
      maxSkew: 1,
      whenUnsatisfiable: "DoNotSchedule",
      labelSelector: { matchLabels: selector },
      matchLabelKeys,
    },
    {
      topologyKey: "kubernetes.io/hostname",
      maxSkew: 1,
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: selector },
      matchLabelKeys,
    },
  ];
}
