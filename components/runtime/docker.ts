import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { MIGRATIONS_LABEL, WorkloadSpec, hostPathExemption, standardLabels, validateWorkload } from "../workload";
import { hashBuildContext } from "./build-context";
import { DockerCgroupDriver, cgroupParentOf } from "./docker-cgroups";
import { containerNames, dockerNetworkName } from "./docker-names";
import { DeployedWorkload, Runtime, ScrapeDiscovery, ScrapedWorkload, scrapedSpec } from "./types";

export interface DockerRuntimeArgs {
  /** The Pulumi stack name; prefixes Docker object names so stacks on one engine never collide. */
  readonly stack: string;
  /** Subnet of the per-stack bridge network. Default: 172.28.0.0/16. */
  readonly subnet?: string;
  /**
   * UDP port on 127.0.0.1 where the log shipper takes container output: the Docker daemon sends
   * every container's output there as GELF (dockerLogging). Default: none, output stays in Docker's
   * json-file logs alone.
   */
  readonly logIntakePort?: number;
  /**
   * The engine's cgroup driver (`docker info --format '{{.CgroupDriver}}'`), which decides how each
   * container's `cgroupParent` is written so that cAdvisor can name it (docker-cgroups.ts).
   * Default: systemd, Docker's default on cgroup v2 hosts with systemd.
   */
  readonly cgroupDriver?: DockerCgroupDriver;
}

/** How Docker keeps a container's output, as the provider's `logDriver` and `logOpts`. */
export interface DockerLogging {
  readonly logDriver: string;
  readonly logOpts: Record<string, string>;
}

/**
 * Where a container's output goes. With a log intake, the daemon itself sends each line as GELF over
 * UDP to 127.0.0.1:<intakePort> (the log shipper's published port), tagged with the workload's name;
 * nothing in the shipper touches the Docker socket or the host's log files. `docker logs` keeps
 * working from the daemon's local copy (dual logging, rotated like json-file). Non-blocking mode
 * keeps a stalled or absent shipper from ever blocking a container's writes: lines sent while the
 * shipper is down are missing from Loki but still in `docker logs`.
 */
export function dockerLogging(spec: Pick<WorkloadSpec, "name">, intakePort?: number): DockerLogging {
  const rotation = { size: "10m", files: "3" };
  if (intakePort === undefined)
    return { logDriver: "json-file", logOpts: { "max-size": rotation.size, "max-file": rotation.files } };
  return {
    logDriver: "gelf",
    logOpts: {
      "gelf-address": `udp://127.0.0.1:${intakePort}`,
      tag: spec.name,
      mode: "non-blocking",
      "max-buffer-size": "4m",
      "cache-max-size": rotation.size,
      "cache-max-file": rotation.files,
    },
  };
}

/** Marks the never-started container that holds a workload's files; the value is the workload's name. */
export const FILES_HOLDER_LABEL = "northstack.io/files-of";

/**
 * Docker objects have fixed names (and containers fixed host ports), and nearly every container
 * input forces a replacement, so the old object must go before its replacement is created.
 */
export const REPLACE_BY_DELETING_FIRST = { deleteBeforeReplace: true } as const;

/**
 * The directories a workload's files are delivered in, one anonymous volume each: the files'
 * parent directories, leaving out any that lie inside another of them. Throws, naming the workload
 * and the file, when a file sits directly in `/` or shares its directory with a volume or scratch
 * mount, where Docker would mount two things at one path.
 */
export function fileDirectories(
  spec: Pick<WorkloadSpec, "name" | "files" | "volumes" | "readOnlyVolumesOf" | "scratch">,
): string[] {
  const problems: string[] = [];
  const mounts = new Set([
    ...(spec.volumes ?? []).map((v) => normalise(v.mountPath)),
    ...(spec.readOnlyVolumesOf ?? []).map((v) => normalise(v.mountPath)),
    ...(spec.scratch ?? []).map((s) => normalise(s.mountPath)),
  ]);
  const paths = new Set<string>();
  const dirs = new Set<string>();
  for (const f of spec.files ?? []) {
    if (paths.has(f.path)) problems.push(`file ${JSON.stringify(f.path)} is listed twice`);
    paths.add(f.path);
    const dir = normalise(f.path.slice(0, f.path.lastIndexOf("/")));
    if (dir === "/")
      problems.push(
        `file ${JSON.stringify(f.path)} is directly in /; put it in a directory of its own, e.g. /etc/<service>/`,
      );
    else if (mounts.has(dir))
      problems.push(
        `file ${JSON.stringify(f.path)} is in ${dir}, which is also a volume or scratch mount; use another directory`,
      );
    else dirs.add(dir);
  }
  if (problems.length) throw new Error(`workload ${JSON.stringify(spec.name)}: ${problems.join("; ")}`);
  const within = (dir: string, outer: string) => dir !== outer && dir.startsWith(`${outer}/`);
  return [...dirs].filter((d) => ![...dirs].some((outer) => within(d, outer))).sort();
}

/** Throws, naming the job and what to do, unless its container exited 0. */
export function checkJobExit(job: string, container: string, urn: string, exitCode: number | undefined): void {
  if (exitCode === 0) return;
  const how = exitCode === undefined ? "reported no exit code" : `exited with code ${exitCode}`;
  throw new Error(
    `job ${JSON.stringify(job)} ${how}: see \`docker logs ${container}\`, fix the cause, then run it again with \`pulumi up --replace '${urn}'\``,
  );
}

/**
 * Renders WorkloadSpecs to local Docker: one bridge network per stack, a container per replica,
 * named volumes for persistent data. Every container runs as the spec's non-root uid:gid with
 * `no-new-privileges`, all capabilities dropped, a read-only root filesystem (tmpfs for scratch),
 * a health check, a restart policy and CPU/memory limits. Published ports bind to 127.0.0.1 only.
 * Each container's cgroup parent names its workload and replica (docker-cgroups.ts): that is how
 * cAdvisor, which has no Docker socket, tells containers apart.
 *
 * Files reach a read-only container through a never-started holder container: the provider uploads
 * into `/` of a created container, which Docker refuses for a read-only root filesystem, so the
 * holder (same image, writable root, never run) receives the uploads into anonymous volumes at the
 * files' directories, seeded by Docker with the image's own content there, and the workload mounts
 * them read-only with `volumes-from`. A changed file replaces the holder and so the workload.
 *
 * A job's dependants wait for it to exit 0: `resources` ends with a gate that registers only then,
 * and a non-zero exit fails the update.
 */
export class DockerRuntime extends pulumi.ComponentResource implements Runtime {
  readonly kind = "docker" as const;
  readonly stack: string;
  readonly network: docker.Network;
  /** The network's gateway: where connections from the host appear to come from. */
  readonly gatewayAddress: string;
  /** Where the log shipper takes container output (DockerRuntimeArgs.logIntakePort). */
  readonly logIntakePort?: number;
  /** How containers' cgroups are named (DockerRuntimeArgs.cgroupDriver). */
  readonly cgroupDriver: DockerCgroupDriver;
  private readonly deployed = new Map<string, WorkloadSpec>();
  private readonly images = new Map<string, docker.RemoteImage>();
  /** Each workload's named volumes, by "<workload>/<volume>", for readOnlyVolumesOf. */
  private readonly volumes = new Map<string, docker.Volume>();

  constructor(name: string, args: DockerRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("northstack:runtime:Docker", name, {}, opts);
    this.stack = args.stack;
    this.logIntakePort = args.logIntakePort;
    this.cgroupDriver = args.cgroupDriver ?? "systemd";
    const subnet = args.subnet ?? "172.28.0.0/16";
    this.gatewayAddress = gatewayOf(subnet);
    this.network = new docker.Network(
      `${name}-network`,
      {
        name: dockerNetworkName(args.stack),
        driver: "bridge",
        ipamConfigs: [{ subnet, gateway: this.gatewayAddress }],
        labels: toDockerLabels({ "app.kubernetes.io/part-of": "northstack", "northstack.io/stack": args.stack }),
      },
      { parent: this, ...REPLACE_BY_DELETING_FIRST },
    );
    this.registerOutputs({ network: this.network.name });
  }

  buildImage(
    resourceName: string,
    repository: string,
    context: string,
    parent: pulumi.Resource,
  ): pulumi.Output<string> {
    const image = new docker.Image(
      `${resourceName}-image`,
      {
        imageName: `${repository}:${hashBuildContext(context)}`,
        build: { context, dockerfile: path.join(context, "Dockerfile"), builderVersion: "BuilderBuildKit" },
        skipPush: true,
      },
      { parent },
    );
    return image.imageName;
  }

  deploy(spec: WorkloadSpec, parent: pulumi.Resource, opts?: { dependsOn?: pulumi.Resource[] }): DeployedWorkload {
    validateWorkload(spec);
    validateForDocker(spec);
    const fileDirs = fileDirectories(spec);
    if (this.deployed.has(spec.name))
      throw new Error(`workload ${JSON.stringify(spec.name)} is deployed twice on stack ${this.stack}`);
    this.deployed.set(spec.name, spec);

    const prefix = `northstack-${this.stack}-${spec.name}`;
    const resources: pulumi.Resource[] = [];
    const dependsOn: pulumi.Resource[] = [this.network, ...(opts?.dependsOn ?? [])];
    const childOpts = { parent, ...REPLACE_BY_DELETING_FIRST };

    if (typeof spec.image === "string") dependsOn.push(this.pull(spec.image));

    const volumes: docker.types.input.ContainerVolume[] = (spec.volumes ?? []).map((v) => {
      const volume = new docker.Volume(
        `${spec.name}-${v.name}`,
        { name: `${prefix}-${v.name}`, labels: toDockerLabels(standardLabels(spec, this.stack)) },
        { ...childOpts, retainOnDelete: true },
      );
      resources.push(volume);
      this.volumes.set(`${spec.name}/${v.name}`, volume);
      return { volumeName: volume.name, containerPath: v.mountPath };
    });
    for (const v of spec.readOnlyVolumesOf ?? []) {
      const volume = this.volumes.get(`${v.workload}/${v.volume}`);
      if (!volume)
        throw new Error(
          `workload ${JSON.stringify(spec.name)}: readOnlyVolumesOf names volume ${JSON.stringify(v.volume)} of workload ${JSON.stringify(v.workload)}, which is not deployed on stack ${this.stack}; deploy that workload first`,
        );
      volumes.push({ volumeName: volume.name, containerPath: v.mountPath, readOnly: true });
    }

    const user = `${spec.user.uid}:${spec.user.gid}`;
    const hardening = {
      user,
      securityOpts: ["no-new-privileges:true"],
      capabilities: { drops: ["ALL"], adds: (spec.addCapabilities ?? []).map((c) => c.name) },
      privileged: false,
    };
    const labels = {
      ...standardLabels(spec, this.stack),
      ...(spec.labels ?? {}),
      ...(spec.annotations ?? {}),
      ...hostPathExemption(spec),
    };
    for (const m of spec.hostPaths?.mounts ?? [])
      volumes.push({ hostPath: m.hostPath, containerPath: m.mountPath, readOnly: true });

    if (fileDirs.length > 0) {
      const holder = new docker.Container(
        `${spec.name}-files`,
        {
          name: `${prefix}-files`,
          image: spec.image,
          ...hardening,
          // Docker copies uploads only into a writable root; nothing ever runs in this container.
          readOnly: false,
          start: false,
          mustRun: false,
          restart: "no",
          networkMode: "none",
          volumes: fileDirs.map((containerPath) => ({ containerPath })),
          removeVolumes: true,
          uploads: (spec.files ?? []).map((f) => ({
            file: f.path,
            content: f.secret ? pulumi.secret(f.content) : f.content,
            owner: String(spec.user.uid),
            group: String(spec.user.gid),
            permissions: f.secret ? "0440" : "0444",
          })),
          labels: toDockerLabels({ ...labels, [FILES_HOLDER_LABEL]: spec.name }),
        },
        { ...childOpts, dependsOn },
      );
      resources.push(holder);
      volumes.push({ fromContainer: pulumi.interpolate`${holder.id}:ro` });
      // The migrations label marks the carrier of the SQL files (the ConfigMap on Kubernetes): here the holder.
      delete labels[MIGRATIONS_LABEL];
    }

    const isJob = spec.kind === "job";
    const env = renderEnv(spec);
    const containers: docker.Container[] = [];

    const names = containerNames(this.stack, spec);
    for (const [i, containerName] of names.entries()) {
      const health = spec.health;
      const container = new docker.Container(
        `${spec.name}${containerName.slice(prefix.length)}`,
        {
          name: containerName,
          image: spec.image,
          command: spec.args,
          entrypoints: spec.command,
          ...hardening,
          // Names the container's cgroup after its workload and replica, for cAdvisor.
          cgroupParent: cgroupParentOf(this.stack, spec.name, names.length > 1 ? i + 1 : undefined, this.cgroupDriver),
          readOnly: spec.readOnlyRootFilesystem ?? true,
          tmpfs: Object.fromEntries(
            (spec.scratch ?? []).map((s) => [s.mountPath, `rw,noexec,nosuid,nodev,size=${s.sizeMb ?? 64}m,mode=1777`]),
          ),
          envs: env,
          volumes,
          memory: spec.resources.memoryMb,
          memorySwap: spec.resources.memoryMb,
          cpus: (spec.resources.cpuMillis / 1000).toString(),
          restart: isJob ? "no" : "unless-stopped",
          // A job is waited for until it exits; Docker reports its exit code to Pulumi.
          mustRun: !isJob,
          attach: isJob,
          logs: isJob,
          healthcheck: health && {
            tests: ["CMD", ...health.exec],
            interval: `${health.intervalSeconds ?? 10}s`,
            timeout: "5s",
            retries: 5,
            startPeriod: `${health.startSeconds ?? 10}s`,
            // Checked every few seconds during the start period (Docker 25+), not only after the
            // first interval: a backup service checking every 5 minutes is healthy once its first
            // backup is kept, not 5 minutes later.
            startInterval: "5s",
          },
          // Only healthy services count as created, so dependants start against a ready peer. The
          // wait covers the whole start period, so a service allowed 10 minutes to become healthy
          // is not declared failed after 3.
          wait: !isJob && health !== undefined,
          waitTimeout: Math.max(180, (health?.startSeconds ?? 10) + 60),
          networksAdvanced: [{ name: this.network.name, aliases: [spec.name] }],
          ports: (spec.ports ?? [])
            .filter((p) => p.hostPort !== undefined && i === 0)
            .map((p) => ({ internal: p.port, external: p.hostPort, ip: "127.0.0.1", protocol: p.protocol ?? "tcp" })),
          labels: toDockerLabels(labels),
          ...dockerLogging(spec, this.logIntakePort),
        },
        { ...childOpts, dependsOn },
      );
      containers.push(container);
      resources.push(container);
    }

    // Services are ready once created (healthy, with `wait`); a job once it has exited 0.
    let ready: pulumi.Output<unknown>[] = containers.map((c) => c.id);
    if (isJob) {
      const [job] = containers;
      const succeeded = pulumi.all([job.exitCode, job.urn]).apply(([code, urn]) => {
        checkJobExit(spec.name, prefix, urn, code);
        return code;
      });
      resources.push(new pulumi.Stash(`${spec.name}-succeeded`, { input: succeeded }, { parent }));
      ready = [succeeded];
    }

    return { host: pulumi.all(ready).apply(() => spec.name), resources };
  }

  /** Each replica's container by name: the shared alias would spread scrapes over the replicas. */
  scrapeDiscovery(workload: ScrapedWorkload | string): ScrapeDiscovery {
    const spec = scrapedSpec(workload, this.deployed, this.stack);
    return {
      kind: "static",
      targets: containerNames(this.stack, spec).map((c) => `${c}:${spec.metrics.port}`),
      path: spec.metrics.path,
    };
  }

  /** One pull per distinct image reference, kept locally so `pulumi destroy` does not delete shared images. */
  private pull(image: string): docker.RemoteImage {
    let remote = this.images.get(image);
    if (!remote) {
      remote = new docker.RemoteImage(
        `image-${image.replace(/[^a-zA-Z0-9]+/g, "-")}`,
        { name: image, keepLocally: true },
        { parent: this },
      );
      this.images.set(image, remote);
    }
    return remote;
  }
}

function normalise(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

/**
 * What the Docker runtime cannot render: scheduled runs, init steps and Kubernetes API access. The dev stack's backups run
 * as a long-lived loop service instead (see Backup). `serviceAccount` is a Kubernetes identity and is ignored.
 */
export function validateForDocker(spec: WorkloadSpec): void {
  const problems: string[] = [];
  if (spec.kind === "cron")
    problems.push('kind "cron" is not supported; run the task as a service that loops (the dev Backup does)');
  if ((spec.init ?? []).length > 0)
    problems.push("init steps are not supported; fold them into the container's command");
  if (spec.kubernetesApi)
    problems.push(
      "kubernetesApi is not supported; there is no Kubernetes API on Docker (deploy the workload on Kubernetes only)",
    );
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
