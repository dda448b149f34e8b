import * as pulumi from "@pulumi/pulumi";
import { WorkloadSpec } from "../workload";

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
 * Renders WorkloadSpecs into provider resources. One implementation per platform: `DockerRuntime`
 * (dev) and `KubernetesRuntime` (staging, prod). Components take a Runtime and never touch a
 * platform provider for their containers.
 */
export interface Runtime {
  readonly kind: "docker" | "kubernetes";
  /** The Pulumi stack name, for the northstack.io/stack label. */
  readonly stack: string;
  /**
   * Validates the spec, then creates its resources as children of `parent`. Resource names derive
   * from `spec.name`, which components derive from their own name (`supabase` -> `supabase-rest`);
   * a runtime rejects a second workload with the same name.
   */
  deploy(spec: WorkloadSpec, parent: pulumi.Resource, opts?: { dependsOn?: pulumi.Resource[] }): DeployedWorkload;
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
