import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  EXEMPT_ANNOTATION,
  EXEMPT_REASON_ANNOTATION,
  KubernetesApiRule,
  LEAST_PRIVILEGE_POLICY,
  NAMESPACE_POD_SECURITY_CONTROL,
  WorkloadSpec,
  hostPathExemption,
  podSecurityLevelOf,
  validateWorkload,
} from "../../workload";
import { DNS_LABEL } from "../../config/checks";
import { DeployedWorkload, Runtime, ScrapeDiscovery, ScrapedWorkload, scrapedSpec } from "../types";
import { Exposure, KubernetesRuntimeArgs, validateKubernetesRuntimeArgs } from "./args";
import { apiAccessManifests, configMapManifest, secretManifest, serviceAccountManifest } from "./config-objects";
import {
  ControllerManifest,
  JOB_AWAIT_TIMEOUT,
  autoscalerManifest,
  controllerManifest,
  podDisruptionBudgetManifest,
} from "./controllers";
import {
  addressOf,
  certificateManifest,
  clusterServiceManifest,
  ingressManifest,
  loadBalancerManifest,
  metricsServiceManifest,
  metricsServiceName,
  publicPortOf,
  validatePublicPort,
} from "./exposure";
import { namespaceManifest, podNamespaceName, runtimeLabels, selectorFor, workloadMeta } from "./manifest";
import {
  calleeEgressPolicy,
  defaultDenyPolicy,
  dnsPolicy,
  scraperEgressPolicy,
  workloadNetworkPolicy,
} from "./network-policy";
import { validateForKubernetes } from "./pod";

type Controller =
  k8s.apps.v1.Deployment | k8s.apps.v1.StatefulSet | k8s.apps.v1.DaemonSet | k8s.batch.v1.Job | k8s.batch.v1.CronJob;

/** What Prometheus must be granted in a daemon's namespace to find its pods: list and watch pods, nothing else. */
export const POD_DISCOVERY_RULES: readonly KubernetesApiRule[] = [
  { apiGroups: [""], resources: ["pods"], verbs: ["list", "watch"] },
];

/**
 * Renders WorkloadSpecs to Kubernetes: one Namespace per stack enforcing Pod Security "restricted",
 * default-deny NetworkPolicies, and per workload a Deployment, StatefulSet, DaemonSet, Job or CronJob
 * with its Service, ConfigMap, Secret, PodDisruptionBudget, HorizontalPodAutoscaler and
 * NetworkPolicy. A workload with `ownNamespace` gets a Namespace of its own, default-deny too, at
 * the least Pod Security level that admits its pod; a level below "restricted" carries the
 * workload's named policy exemption and reason on the Namespace, so the pack reports it.
 *
 * The builders next to it decide every manifest (`exposure.ts` and `network-policy.ts` state the
 * exposure and network rules); this class only registers them, as children of the workload's
 * component and with the runtime's provider. The order is fixed (the offline plan lists resources
 * as they register): config objects and certificate first, since the pods name or mount them.
 */
export class KubernetesRuntime extends pulumi.ComponentResource implements Runtime {
  readonly kind = "kubernetes" as const;
  readonly stack: string;
  readonly namespaceName: string;
  readonly namespace: pulumi.Output<string>;
  readonly namespaceResource: k8s.core.v1.Namespace;
  private readonly args: KubernetesRuntimeArgs;
  private readonly exposure: Exposure;
  private readonly deployed = new Map<string, WorkloadSpec>();
  /** Namespaces created for workloads (`ownNamespace`), by full name. */
  private readonly ownNamespaces = new Map<string, k8s.core.v1.Namespace>();

  constructor(name: string, args: KubernetesRuntimeArgs, opts?: pulumi.ComponentResourceOptions) {
    validateKubernetesRuntimeArgs(args);
    super("northstack:runtime:Kubernetes", name, {}, opts);
    this.args = args;
    this.stack = args.stack;
    this.namespaceName = args.namespace;
    this.exposure = args.exposure ?? "loadbalancer";
    const childOpts = { parent: this, provider: args.provider };
    const labels = runtimeLabels(args.stack);

    this.namespaceResource = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      namespaceManifest(args.namespace, labels),
      childOpts,
    );
    this.namespace = this.namespaceResource.metadata.name;
    new k8s.networking.v1.NetworkPolicy(`${name}-default-deny`, defaultDenyPolicy(this.namespace, labels), childOpts);
    new k8s.networking.v1.NetworkPolicy(
      `${name}-allow-dns`,
      dnsPolicy(this.namespace, labels, args.dnsResolverCidrs ?? []),
      childOpts,
    );

    this.registerOutputs({ namespace: this.namespace });
  }

  deploy(spec: WorkloadSpec, parent: pulumi.Resource, opts?: { dependsOn?: pulumi.Resource[] }): DeployedWorkload {
    validateWorkload(spec);
    validateForKubernetes(spec, this.exposure);
    validatePublicPort(spec, this.args);
    if (this.deployed.has(spec.name))
      throw new Error(`workload ${JSON.stringify(spec.name)} is deployed twice on stack ${this.stack}`);
    this.checkNamespaceRules(spec);
    const podNamespace = podNamespaceName(spec, this.namespaceName);
    if (spec.ownNamespace && (!DNS_LABEL.test(podNamespace) || this.ownNamespaces.has(podNamespace)))
      throw new Error(
        `workload ${JSON.stringify(spec.name)} on kubernetes: ownNamespace ${JSON.stringify(spec.ownNamespace)} gives ${JSON.stringify(podNamespace)}, which is ${this.ownNamespaces.has(podNamespace) ? "already another workload's" : "not a DNS label of at most 63 characters"}; pick another`,
      );
    this.deployed.set(spec.name, spec);

    const resourceOpts: pulumi.CustomResourceOptions = {
      parent,
      provider: this.args.provider,
      dependsOn: opts?.dependsOn,
    };
    const ownNamespace = spec.ownNamespace ? this.createOwnNamespace(spec, podNamespace, resourceOpts) : undefined;
    const meta = workloadMeta(spec, this.stack, ownNamespace ? ownNamespace.metadata.name : this.namespace);
    // Callers' and scrapers' egress policies live where they run, in the runtime's namespace.
    const callerMeta = { ...meta, namespace: this.namespace };
    const resources: pulumi.Resource[] = [];
    const add = <R extends pulumi.Resource>(resource: R): R => {
      resources.push(resource);
      return resource;
    };

    const configMapData = configMapManifest(spec, meta);
    const configMap =
      configMapData && add(new k8s.core.v1.ConfigMap(`${spec.name}-config`, configMapData, resourceOpts));
    const secretData = secretManifest(spec, meta);
    const secret = secretData && add(new k8s.core.v1.Secret(`${spec.name}-secret`, secretData, resourceOpts));
    const certificateData = certificateManifest(spec, meta, this.args);
    const certificate =
      certificateData &&
      add(new k8s.apiextensions.CustomResource(`${spec.name}-certificate`, certificateData, resourceOpts));
    const serviceAccountData = serviceAccountManifest(spec, meta);
    if (serviceAccountData) add(new k8s.core.v1.ServiceAccount(`${spec.name}-sa`, serviceAccountData, resourceOpts));
    const apiAccess = apiAccessManifests(spec, meta, this.args.namespace);
    if (apiAccess?.role && apiAccess.binding) {
      const role = add(new k8s.rbac.v1.Role(`${spec.name}-role`, apiAccess.role, resourceOpts));
      add(
        new k8s.rbac.v1.RoleBinding(`${spec.name}-rolebinding`, apiAccess.binding, {
          ...resourceOpts,
          dependsOn: [...(opts?.dependsOn ?? []), role],
        }),
      );
    }
    for (const grant of apiAccess?.namespaceRoles ?? []) {
      const suffix = grant.namespace.slice(this.namespaceName.length + 1);
      const namespace = this.ownNamespaces.get(grant.namespace)!;
      const role = add(
        new k8s.rbac.v1.Role(`${spec.name}-role-${suffix}`, grant.role, {
          ...resourceOpts,
          dependsOn: [...(opts?.dependsOn ?? []), namespace],
        }),
      );
      add(
        new k8s.rbac.v1.RoleBinding(`${spec.name}-rolebinding-${suffix}`, grant.binding, {
          ...resourceOpts,
          dependsOn: [...(opts?.dependsOn ?? []), role],
        }),
      );
    }
    if (apiAccess?.clusterRole && apiAccess.clusterBinding) {
      const role = add(new k8s.rbac.v1.ClusterRole(`${spec.name}-clusterrole`, apiAccess.clusterRole, resourceOpts));
      add(
        new k8s.rbac.v1.ClusterRoleBinding(`${spec.name}-clusterrolebinding`, apiAccess.clusterBinding, {
          ...resourceOpts,
          dependsOn: [...(opts?.dependsOn ?? []), role],
        }),
      );
    }

    // The pods wait for their certificate: cert-manager must have written the Secret they mount.
    const controllerOpts = certificate
      ? { ...resourceOpts, dependsOn: [...(opts?.dependsOn ?? []), certificate] }
      : resourceOpts;
    const controller = controllerManifest(
      spec,
      meta,
      { configMapName: configMap?.metadata.name, secretName: secret?.metadata.name },
      this.args,
    );
    const workload = add(this.createController(spec.name, controller, controllerOpts));
    const budget = podDisruptionBudgetManifest(spec, meta);
    if (budget) add(new k8s.policy.v1.PodDisruptionBudget(`${spec.name}-pdb`, budget, resourceOpts));
    const autoscaler = autoscalerManifest(spec, meta, workload.metadata.name);
    if (autoscaler) add(new k8s.autoscaling.v2.HorizontalPodAutoscaler(`${spec.name}-hpa`, autoscaler, resourceOpts));

    const serviceData = clusterServiceManifest(spec, meta);
    const service = serviceData && add(new k8s.core.v1.Service(spec.name, serviceData, resourceOpts));
    const metricsService = metricsServiceManifest(spec, meta);
    if (metricsService) add(new k8s.core.v1.Service(metricsServiceName(spec), metricsService, resourceOpts));
    const publicPort = publicPortOf(spec);
    let publicAddress: pulumi.Output<string> | undefined;
    if (publicPort && service) {
      if (this.exposure === "ingress") {
        const ingress = add(
          new k8s.networking.v1.Ingress(
            `${spec.name}-ingress`,
            ingressManifest(spec, publicPort, service.metadata.name, meta, this.args),
            resourceOpts,
          ),
        );
        publicAddress = ingress.status.apply((status) => addressOf(status?.loadBalancer));
      } else {
        const loadBalancer = add(
          new k8s.core.v1.Service(
            `${spec.name}-public`,
            loadBalancerManifest(spec, publicPort, meta, this.args),
            resourceOpts,
          ),
        );
        publicAddress = loadBalancer.status.apply((status) => addressOf(status?.loadBalancer));
      }
    }

    add(
      new k8s.networking.v1.NetworkPolicy(
        `${spec.name}-netpol`,
        workloadNetworkPolicy(spec, meta, this.args),
        resourceOpts,
      ),
    );
    const callers = calleeEgressPolicy(spec, callerMeta, this.namespaceName);
    if (callers) add(new k8s.networking.v1.NetworkPolicy(`${spec.name}-callers-netpol`, callers, resourceOpts));
    const scrapers = scraperEgressPolicy(spec, callerMeta, this.args);
    if (scrapers) add(new k8s.networking.v1.NetworkPolicy(`${spec.name}-scrapers-netpol`, scrapers, resourceOpts));

    const host = service
      ? pulumi.interpolate`${service.metadata.name}.${meta.namespace}.svc.cluster.local`
      : pulumi.interpolate`${spec.name}.${meta.namespace}.svc.cluster.local`;
    return { host, resources, publicAddress };
  }

  /**
   * The headless metrics Service's DNS name: one A record per pod (see metricsServiceManifest). A
   * daemon's pods instead, listed through the API, so each target is labelled with its node.
   */
  scrapeDiscovery(workload: ScrapedWorkload | string): ScrapeDiscovery {
    const spec = scrapedSpec(workload, this.deployed, this.stack);
    if (spec.kind === "daemon")
      return {
        kind: "pods",
        namespace: podNamespaceName(spec, this.namespaceName),
        selector: selectorFor(spec),
        port: spec.metrics.port,
        path: spec.metrics.path,
        rules: POD_DISCOVERY_RULES,
      };
    return {
      kind: "dns",
      name: pulumi.interpolate`${metricsServiceName(spec)}.${this.namespace}.svc.cluster.local`,
      port: spec.metrics.port,
      path: spec.metrics.path,
      namespace: this.namespace,
    };
  }

  /**
   * The workload's own Namespace, at the least Pod Security level that admits its pod, with its own
   * default-deny policy. Below "restricted" the Namespace names its exemption from that one control
   * of containers-least-privilege (NAMESPACE_POD_SECURITY_CONTROL) with the workload's reason, so that
   * the pack reports the weaker namespace as advisory, never silently.
   */
  private createOwnNamespace(
    spec: WorkloadSpec,
    name: string,
    opts: pulumi.CustomResourceOptions,
  ): k8s.core.v1.Namespace {
    const labels = runtimeLabels(this.stack);
    const level = podSecurityLevelOf(spec);
    const annotations =
      level === "restricted"
        ? undefined
        : {
            [EXEMPT_ANNOTATION]: `${LEAST_PRIVILEGE_POLICY}/${NAMESPACE_POD_SECURITY_CONTROL}`,
            [EXEMPT_REASON_ANNOTATION]: `Pod Security "${level}", the least that admits host paths ("baseline" refuses them too), for ${spec.name} alone: ${hostPathExemption(spec)[EXEMPT_REASON_ANNOTATION]}`,
          };
    const namespace = new k8s.core.v1.Namespace(
      `${spec.name}-namespace`,
      namespaceManifest(name, labels, level, annotations),
      opts,
    );
    this.ownNamespaces.set(name, namespace);
    new k8s.networking.v1.NetworkPolicy(
      `${spec.name}-default-deny`,
      defaultDenyPolicy(namespace.metadata.name, labels),
      opts,
    );
    return namespace;
  }

  /** A workload may be granted rules only in namespaces this runtime created for another workload. */
  private checkNamespaceRules(spec: WorkloadSpec): void {
    const unknown = (spec.kubernetesApi?.namespaceRules ?? [])
      .map((n) => n.namespace)
      .filter((n) => !this.ownNamespaces.has(n));
    if (unknown.length > 0)
      throw new Error(
        `workload ${JSON.stringify(spec.name)} on kubernetes: kubernetesApi.namespaceRules names ${unknown.map((n) => JSON.stringify(n)).join(", ")}, which this runtime did not create; grant rules only in a namespace a workload deployed earlier runs in (ownNamespace)`,
      );
  }

  private createController(
    name: string,
    controller: ControllerManifest,
    opts: pulumi.CustomResourceOptions,
  ): Controller {
    switch (controller.kind) {
      case "Deployment":
        return new k8s.apps.v1.Deployment(name, controller.manifest, opts);
      case "StatefulSet":
        return new k8s.apps.v1.StatefulSet(name, controller.manifest, opts);
      case "DaemonSet": {
        const quota = new k8s.core.v1.ResourceQuota(`${name}-priority`, controller.quota, opts);
        return new k8s.apps.v1.DaemonSet(name, controller.manifest, {
          ...opts,
          dependsOn: [...((opts.dependsOn as pulumi.Resource[] | undefined) ?? []), quota],
        });
      }
      case "Job":
        return new k8s.batch.v1.Job(name, controller.manifest, {
          ...opts,
          customTimeouts: { create: JOB_AWAIT_TIMEOUT, update: JOB_AWAIT_TIMEOUT },
        });
      case "CronJob":
        return new k8s.batch.v1.CronJob(name, controller.manifest, opts);
    }
  }
}
