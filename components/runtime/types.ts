import * as pulumi from "@pulumi/pulumi";
import { KubernetesApiRule, WorkloadSpec } from "../workload";
import type { DockerCgroupDriver } from "./docker-cgroups";

/** What a runtime hands back for a deployed workload. */
export interface DeployedWorkload {
  /** Name other workloads use to reach this one (Docker network alias or cluster Service DNS name). */
  readonly host: pulumi.Output<string>;
  /** The resources that make up the workload, for dependsOn. */
  readonly resources: pulumi.Resource[];
  /** Where DNS for the public port must point (load balancer or Ingress address), when the runtime assigns one. */
  readonly publicAddress?: pulumi.Output<string>;
}

/**
 * Where Prometheus finds every replica of a workload's metrics endpoint, one target per replica so
 * that counters from different replicas never interleave in one series. `static`: the runtime names
 * each replica (Docker containers). `dns`: a DNS name whose A records are the address of every pod,
 * ready or not (a headless Service), scraped on `port`. `pods`: the pods the scraper lists through
 * the Kubernetes API (a daemon's, one per node), each labelled with its node; the scraper needs
 * `rules` in `namespace` for that.
 */
export type ScrapeDiscovery =
  | { readonly kind: "static"; readonly targets: readonly string[]; readonly path: string }
  | PodsDiscovery
  | {
      readonly kind: "dns";
      readonly name: pulumi.Output<string>;
      readonly port: number;
      readonly path: string;
      /** The namespace the pods run in, for the `namespace` label. */
      readonly namespace: pulumi.Output<string>;
    };

/** A daemon's pods, found through the Kubernetes API; all plain values, known at plan time. */
export interface PodsDiscovery {
  readonly kind: "pods";
  /** The namespace the pods run in. */
  readonly namespace: string;
  /** Labels that select the workload's pods. */
  readonly selector: Readonly<Record<string, string>>;
  readonly port: number;
  readonly path: string;
  /** What the scraper must be granted in `namespace` to list the pods (Role rules). */
  readonly rules: readonly KubernetesApiRule[];
}

/**
 * Renders WorkloadSpecs into provider resources. One implementation per platform: `DockerRuntime`
 * (dev) and `KubernetesRuntime` (staging, prod). Components take a Runtime and never touch a
 * platform provider for their containers.
 */
export interface Runtime {
  readonly kind: "docker" | "kubernetes";
  /** The Pulumi stack name, for the northstack.io/stack label. */
  readonly stack: string;
  /** The Kubernetes namespace the workloads run in, as configured (known at plan time). Default: none (Docker). */
  readonly namespaceName?: string;
  /**
   * Where the container engine delivers every container's output for the log shipper: a UDP port on
   * 127.0.0.1 (Docker). Undefined where the shipper reads logs itself (Kubernetes) or none ships them.
   */
  readonly logIntakePort?: number;
  /** How the engine names containers' cgroups, which cAdvisor reports them by (Docker). Default: none (Kubernetes). */
  readonly cgroupDriver?: DockerCgroupDriver;
  /**
   * Validates the spec, then creates its resources as children of `parent`. Resource names derive
   * from `spec.name`, which components derive from their own name (`supabase` -> `supabase-rest`);
   * a runtime rejects a second workload with the same name.
   */
  deploy(spec: WorkloadSpec, parent: pulumi.Resource, opts?: { dependsOn?: pulumi.Resource[] }): DeployedWorkload;
  /**
   * How to scrape each replica of a workload's `metrics` endpoint: a spec, or the name of a workload
   * this runtime has deployed. Throws for a workload without `metrics`, or a name not deployed here.
   */
  scrapeDiscovery(workload: ScrapedWorkload | string): ScrapeDiscovery;
  /**
   * Builds `context` (with its Dockerfile) into a local image named `<repository>:<content hash>`,
   * registered as `<resourceName>-image` under `parent`; nothing is pushed. Only runtimes that run
   * what they build locally have it (Docker); elsewhere an image must be pushed to a registry.
   */
  buildImage?(
    resourceName: string,
    repository: string,
    context: string,
    parent: pulumi.Resource,
  ): pulumi.Output<string>;
}

/** `runtime.buildImage`, or an error naming what to give instead on a runtime that cannot build. */
export function buildLocally(
  runtime: Runtime,
  resourceName: string,
  repository: string,
  context: string,
  parent: pulumi.Resource,
): pulumi.Output<string> {
  if (!runtime.buildImage)
    throw new Error(
      `${resourceName}: the ${runtime.kind} runtime cannot build ${context}; give a pinned image pushed to a registry`,
    );
  return runtime.buildImage(resourceName, repository, context, parent);
}

/** What a runtime reads of a spec to say how to scrape it. */
export type ScrapedWorkload = Pick<WorkloadSpec, "name" | "kind" | "replicas" | "metrics" | "ownNamespace">;

/** The spec behind `workload` (a spec, or a deployed workload's name) and its metrics endpoint; throws without one. */
export function scrapedSpec(
  workload: ScrapedWorkload | string,
  deployed: ReadonlyMap<string, ScrapedWorkload>,
  stack: string,
): ScrapedWorkload & { readonly metrics: NonNullable<WorkloadSpec["metrics"]> } {
  const spec = typeof workload === "string" ? deployed.get(workload) : workload;
  if (!spec)
    throw new Error(
      `workload ${JSON.stringify(workload)} is not deployed on stack ${stack}; deploy it before asking how to scrape it`,
    );
  if (!spec.metrics) throw new Error(`workload ${JSON.stringify(spec.name)} declares no metrics endpoint to scrape`);
  return { ...spec, metrics: spec.metrics };
}
