/**
 * Where each dev container's cgroup lives, chosen by this program so that cAdvisor, which runs
 * without the Docker socket and so cannot ask Docker for names, still reports every container under
 * its workload and replica. The contract, for both of Docker's cgroup drivers:
 *
 * - The runtime gives every container a `cgroupParent` named after the stack, the workload and, when
 *   there are several, the replica (cgroupParentOf).
 * - The container's cgroup is then, with Docker's `systemd` driver (the default on cgroup v2 hosts),
 *   `<nested slices>/northstack-<stack>-<leaf>.slice/docker-<64 hex id>.scope`, systemd nesting a slice
 *   under the slice of each dash-separated prefix of its name; with the `cgroupfs` driver
 *   `/northstack-<stack>/<leaf>/<64 hex id>`. Both are the same on cgroup v1 and v2: the driver names
 *   the path, the cgroup version only where the hierarchy is mounted.
 * - The leaf is the workload's name (a DNS label, no underscore), followed by `_<n>` for replica n of a
 *   workload with several. The underscore cannot occur in a workload name and systemd does not nest on
 *   it, so a leaf names exactly one replica of one workload, and no workload's slice holds another's
 *   containers.
 *
 * The driver must be the engine's (`docker info --format '{{.CgroupDriver}}'`), set explicitly in
 * northstack:dockerCgroupDriver since nothing here can ask the engine. Either mismatch fails `pulumi
 * up` rather than silently losing the metrics: the systemd driver refuses a parent that is not a
 * `.slice` name; the cgroupfs driver takes a slice name as a directory elsewhere, and cAdvisor's
 * health check then fails (cadvisorHealthCommand in cluster-metrics.ts).
 *
 * Limit: systemd nests slices by dashes, so stack `dev` and a stack named `dev-<x>` on one engine share
 * the `northstack-dev.slice` subtree; the stack's prefix then also matches the other's containers, which
 * the relabelling would report under workload names starting `<x>-`. Give stacks on one engine names
 * that are not dash-prefixes of each other (their container names could collide for the same reason).
 */
export const DOCKER_CGROUP_DRIVERS = ["systemd", "cgroupfs"] as const;
export type DockerCgroupDriver = (typeof DOCKER_CGROUP_DRIVERS)[number];

/** Marks replica n of a workload with several in its cgroup leaf: never part of a DNS-label workload name. */
const REPLICA_SEPARATOR = "_";
/** A Docker container id, as Docker names the container's own cgroup. */
const CONTAINER_ID = "[0-9a-f]{64}";
/** A workload name inside a regular expression: the DNS-label alphabet, no underscore. */
const WORKLOAD = "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?";

/** A stack name usable in a cgroup parent: systemd splits slice names on dashes, and a path needs no slash. */
const STACK_NAME = /^[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+)*$/;

/** The alphabet of a workload name (validateWorkload checks the rest), anchored. */
const WORKLOAD_ONLY = new RegExp(`^${WORKLOAD}$`);

function checkNames(stack: string, workload?: string): void {
  const problems: string[] = [];
  if (!STACK_NAME.test(stack))
    problems.push(
      `stack ${JSON.stringify(stack)} cannot name a cgroup parent; use letters, digits, '_' and '.', with single dashes between them`,
    );
  if (workload !== undefined && !WORKLOAD_ONLY.test(workload))
    problems.push(`workload ${JSON.stringify(workload)} is not a DNS label; use lower-case letters, digits and dashes`);
  if (problems.length) throw new Error(`docker cgroups: ${problems.join("; ")}`);
}

/** The leaf naming one replica: the workload, with `_<n>` when it has several replicas. */
export function cgroupLeaf(workload: string, replica?: number): string {
  return replica === undefined ? workload : `${workload}${REPLICA_SEPARATOR}${replica}`;
}

/**
 * The `cgroupParent` of replica `replica` (1-based; undefined when the workload has one) of `workload`:
 * a slice name for the systemd driver, an absolute path for cgroupfs.
 */
export function cgroupParentOf(
  stack: string,
  workload: string,
  replica: number | undefined,
  driver: DockerCgroupDriver,
): string {
  checkNames(stack, workload);
  const leaf = cgroupLeaf(workload, replica);
  if (driver === "cgroupfs") return `/northstack-${stack}/${leaf}`;
  const slice = `northstack-${stack}-${leaf}.slice`;
  // Refuses what systemd would: a doubled dash makes an empty component.
  expandSlice(slice);
  return slice;
}

/**
 * The cgroup path systemd gives a slice: each dash-separated prefix is a slice of its own, nested
 * (`a-b.slice` is `/a.slice/a-b.slice`), as systemd.slice(5) describes and runc expands it.
 */
export function expandSlice(slice: string): string {
  if (!slice.endsWith(".slice")) throw new Error(`docker cgroups: ${JSON.stringify(slice)} is not a slice name`);
  const parts = slice.slice(0, -".slice".length).split("-");
  if (parts.some((p) => p === "")) throw new Error(`docker cgroups: ${JSON.stringify(slice)} has an empty component`);
  return parts.map((_, i) => `/${parts.slice(0, i + 1).join("-")}.slice`).join("");
}

/**
 * The cgroup path prefix under which all of the stack's containers lie, ending in `/`: cAdvisor's
 * `--raw_cgroup_prefix_whitelist`, so it reads the stack's cgroups and no other container's or
 * service's on the host.
 */
export function stackCgroupPrefix(stack: string, driver: DockerCgroupDriver): string {
  checkNames(stack);
  return driver === "systemd" ? `${expandSlice(`northstack-${stack}.slice`)}/` : `/northstack-${stack}/`;
}

/** `s` as a literal inside a Prometheus (RE2) regular expression. */
export function regexLiteral(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A container's cgroup path as cAdvisor reports it (its `id` label), for a workload with one replica
 * and for a replica of one with several. Each matches the whole path (Prometheus anchors relabel
 * regexes) and captures the workload as $1 and, in `replica`, the replica number as $2.
 */
export function containerCgroupPatterns(
  stack: string,
  driver: DockerCgroupDriver,
): { readonly single: string; readonly replica: string } {
  const prefix = regexLiteral(stackCgroupPrefix(stack, driver));
  const sep = regexLiteral(REPLICA_SEPARATOR);
  if (driver === "systemd") {
    // Any nesting slices between the stack's slice and the leaf (the dash-prefixes of the leaf's name).
    const leaf = (l: string) =>
      `${prefix}(?:[^/]+\\.slice/)*${regexLiteral(`northstack-${stack}-`)}${l}\\.slice/docker-${CONTAINER_ID}\\.scope`;
    return { single: leaf(`(${WORKLOAD})`), replica: leaf(`(${WORKLOAD})${sep}([0-9]+)`) };
  }
  return {
    single: `${prefix}(${WORKLOAD})/${CONTAINER_ID}`,
    replica: `${prefix}(${WORKLOAD})${sep}([0-9]+)/${CONTAINER_ID}`,
  };
}
