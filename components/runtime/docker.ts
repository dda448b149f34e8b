import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { WorkloadSpec, standardLabels, validateWorkload } from "../workload";
import { DeployedWorkload, Runtime } from "./types";

export interface DockerRuntimeArgs {
  /** The Pulumi stack name; prefixes Docker object names so stacks on one engine never collide. */
  readonly stack: string;
  /** Subnet of the per-stack bridge network. Default: 172.28.0.0/16. */
  readonly subnet?: string;
}

/**
 * Renders WorkloadSpecs to local Docker: one bridge network per stack, a container per replica,
 * named volumes for persistent data. Every container runs as the spec's non-root uid:gid with
 * `no-new-privileges`, all capabilities dropped, a read-only root filesystem (tmpfs for scratch),
 * a health check, a restart policy and CPU/memory limits. Published ports bind to 127.0.0.1 only.
 */
export class DockerRuntime extends pulumi.ComponentResource implements Runtime {
  readonly kind = "docker" as const;
  readonly stack: string;
  readonly network: docker.Network;
  /** The network's gateway: where connections from the host appear to come from. */
  readonly gatewayAddress: string;
  private readonly deployed = new Set<string>();
  private readonly images = new Map<string, docker.RemoteImage>();

  constructor(name: string, args: DockerRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("northstack:runtime:Docker", name, {}, opts);
    this.stack = args.stack;
    const subnet = args.subnet ?? "172.28.0.0/16";
    this.gatewayAddress = gatewayOf(subnet);
    this.network = new docker.Network(
      `${name}-network`,
      {
        name: `northstack-${args.stack}`,
        driver: "bridge",
        ipamConfigs: [{ subnet, gateway: this.gatewayAddress }],
        labels: toDockerLabels({ "app.kubernetes.io/part-of": "northstack", "northstack.io/stack": args.stack }),
      },
      { parent: this },
    );
    this.registerOutputs({ network: this.network.name });
  }

  deploy(spec: WorkloadSpec, parent: pulumi.Resource, opts?: { dependsOn?: pulumi.Resource[] }): DeployedWorkload {
    validateWorkload(spec);
    validateForDocker(spec);
    if (this.deployed.has(spec.name)) throw new Error(`workload ${JSON.stringify(spec.name)} is deployed twice on stack ${this.stack}`);
    this.deployed.add(spec.name);

    const prefix = `northstack-${this.stack}-${spec.name}`;
    const resources: pulumi.Resource[] = [];
    const dependsOn: pulumi.Resource[] = [this.network, ...(opts?.dependsOn ?? [])];

    if (typeof spec.image === "string") dependsOn.push(this.pull(spec.image));

    const volumes = (spec.volumes ?? []).map((v) => {
      const volume = new docker.Volume(
        `${spec.name}-${v.name}`,
        { name: `${prefix}-${v.name}`, labels: toDockerLabels(standardLabels(spec, this.stack)) },
        { parent, retainOnDelete: true },
      );
      resources.push(volume);
      return { volumeName: volume.name, containerPath: v.mountPath };
    });

    const labels = { ...standardLabels(spec, this.stack), ...(spec.labels ?? {}), ...(spec.annotations ?? {}) };
    const isJob = spec.kind === "job";
    const replicas = isJob ? 1 : spec.replicas ?? 1;
    const env = renderEnv(spec);
    const uploads = (spec.files ?? []).map((f) => ({
      file: f.path,
      content: f.secret ? pulumi.secret(f.content) : f.content,
    }));

    for (let i = 0; i < replicas; i++) {
      const suffix = replicas > 1 ? `-${i + 1}` : "";
      const health = spec.health;
      const container = new docker.Container(
        `${spec.name}${suffix}`,
        {
          name: `${prefix}${suffix}`,
          image: spec.image,
          command: spec.args,
          entrypoints: spec.command,
          user: `${spec.user.uid}:${spec.user.gid}`,
          securityOpts: ["no-new-privileges:true"],
          capabilities: { drops: ["ALL"], adds: (spec.addCapabilities ?? []).map((c) => c.name) },
          privileged: false,
          readOnly: spec.readOnlyRootFilesystem ?? true,
          tmpfs: Object.fromEntries(
            (spec.scratch ?? []).map((s) => [s.mountPath, `rw,noexec,nosuid,nodev,size=${s.sizeMb ?? 64}m,mode=1777`]),
          ),
          envs: env,
          uploads,
          volumes,
          memory: spec.resources.memoryMb,
          memorySwap: spec.resources.memoryMb,
          cpus: (spec.resources.cpuMillis / 1000).toString(),
          restart: isJob ? "no" : "unless-stopped",
          // A job must finish before dependants start; Docker reports its exit code to Pulumi.
          mustRun: !isJob,
          attach: isJob,
          logs: isJob,
          healthcheck: health && {
            tests: ["CMD", ...health.exec],
            interval: `${health.intervalSeconds ?? 10}s`,
            timeout: "5s",
            retries: 5,
            startPeriod: `${health.startSeconds ?? 10}s`,
          },
          // Only healthy services count as created, so dependants start against a ready peer.
          wait: !isJob && health !== undefined,
          waitTimeout: 180,
          networksAdvanced: [{ name: this.network.name, aliases: [spec.name] }],
          ports: (spec.ports ?? [])
            .filter((p) => p.hostPort !== undefined && i === 0)
            .map((p) => ({ internal: p.port, external: p.hostPort, ip: "127.0.0.1", protocol: "tcp" })),
          labels: toDockerLabels(labels),
          logDriver: "json-file",
          logOpts: { "max-size": "10m", "max-file": "3" },
        },
        { parent, dependsOn },
      );
      resources.push(container);
    }

    return { host: pulumi.output(spec.name), resources };
  }

  /** One pull per distinct image reference, kept locally so `pulumi destroy` does not delete shared images. */
  private pull(image: string): docker.RemoteImage {
    let remote = this.images.get(image);
    if (!remote) {
      remote = new docker.RemoteImage(`image-${image.replace(/[^a-zA-Z0-9]+/g, "-")}`, { name: image, keepLocally: true }, { parent: this });
      this.images.set(image, remote);
    }
    return remote;
  }
}

/**
 * What the Docker runtime cannot render: scheduled runs and init steps. The dev stack's backups run
 * as a long-lived loop service instead (see Backup). `serviceAccount` is a Kubernetes identity and is ignored.
 */
export function validateForDocker(spec: WorkloadSpec): void {
  const problems: string[] = [];
  if (spec.kind === "cron") problems.push('kind "cron" is not supported; run the task as a service that loops (the dev Backup does)');
  if ((spec.init ?? []).length > 0) problems.push("init steps are not supported; fold them into the container's command");
  if (problems.length) throw new Error(`workload ${JSON.stringify(spec.name)} on docker: ${problems.join("; ")}`);
}

function renderEnv(spec: WorkloadSpec): pulumi.Output<string[]> {
  const plain = Object.entries(spec.env ?? {}).map(([k, v]) => pulumi.interpolate`${k}=${v}`);
  const secret = Object.entries(spec.secretEnv ?? {}).map(([k, v]) => pulumi.secret(pulumi.interpolate`${k}=${v}`));
  return pulumi.all([...plain, ...secret]);
}

export function toDockerLabels(labels: Record<string, string>): { label: string; value: string }[] {
  return Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, value]) => ({ label, value }));
}

/** The first host address of an IPv4 subnet (Docker's default gateway choice). */
export function gatewayOf(subnet: string): string {
  const [address] = subnet.split("/");
  const octets = address.split(".").map(Number);
  octets[3] += 1;
  return octets.join(".");
}
