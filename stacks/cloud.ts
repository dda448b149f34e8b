/**
 * staging and prod: the dev system rendered to Kubernetes, with managed data services on the cloud
 * `northstack:cloud` selects, in Canada.
 *
 *   cloud foundation (stacks/aws.ts or stacks/gcp.ts) ──> k8s provider ──> KubernetesRuntime (namespace, default-deny policies)
 *
 *   users ─TLS─> Kong (LoadBalancer on 443, or Ingress) ──> API ──────────┬──> managed Postgres 15 (RLS)
 *                                                └─> Supabase services ───┘    managed Redis (TLS + AUTH)
 *   migrations Job (labelled ConfigMap) ──> Postgres;   Prometheus ──> every metrics port
 *   Supabase Storage ──> user-files bucket;   backup CronJob (dump, verified restore) ──> backup bucket
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { NorthstackConfig } from "../components/config";
import { certificateSourceProblem } from "../components/config/checks";
import { KubernetesRuntime } from "../components/runtime/kubernetes";
import { StackSecrets } from "../components/secrets";
import { application, copiesRedisToDr, egressClients } from "./application";

/**
 * The cloud-specific modules, loaded only for the configured cloud: each pulls in its provider
 * package (about half a second to load), which a stack on the other cloud never needs.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- a static import would load both providers */
const providerModules = {
  aws: () => ({
    ...(require("./aws") as typeof import("./aws")),
    ...(require("../components/aws/backup-bucket") as typeof import("../components/aws/backup-bucket")),
  }),
  gcp: () => require("./gcp") as typeof import("./gcp"),
};
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Checks what only a cloud stack needs, before this layer registers anything. parseConfig already
 * refuses these; the check keeps the composition honest when called with a hand-built config.
 */
export function validateCloudConfig(cfg: NorthstackConfig): void {
  const problems: string[] = [];
  if (cfg.cloud !== "aws" && cfg.cloud !== "gcp")
    problems.push(
      `northstack:cloud ${JSON.stringify(cfg.cloud)} is not allowed on ${cfg.environment}; allowed: aws, gcp`,
    );
  if (cfg.kubernetes.cluster === "existing" && !cfg.secrets.kubeconfig) {
    problems.push(
      "northstack:kubeconfig is missing; an existing cluster needs it (or set northstack:cluster to managed)",
    );
  }
  if (cfg.cloud === "aws" && cfg.kubernetes.cluster === "existing" && !cfg.kubernetes.eksClusterName) {
    problems.push(
      "northstack:eksClusterName is missing; on an existing EKS cluster, Pod Identity associations give Supabase Storage and the backup job their S3 access",
    );
  }
  if (cfg.cloud === "gcp" && cfg.kubernetes.cluster === "managed" && cfg.network.vpcId) {
    problems.push(
      "northstack:vpcId with cloud gcp and cluster managed: GKE needs the subnetwork the stack creates; leave vpcId empty or bring the cluster (cluster existing)",
    );
  }
  if (certificateSourceProblem(cfg.kubernetes.certManagerIssuer, cfg.kubernetes.tlsSecretName) === "none") {
    problems.push(
      "northstack:tlsSecretName is missing; the gateway serves TLS only, so name its certificate's Secret or set northstack:certManagerIssuer",
    );
  }
  if (cfg.cloud === "aws") {
    // The longest of the stack's bucket names, with a 12-digit account id in place of the real one.
    const longest = copiesRedisToDr(cfg) ? "redis-export" : "backups-dr";
    try {
      providerModules.aws().s3BucketName(cfg.stack, longest, "000000000000");
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  if (problems.length) throw new Error(`${cfg.environment} stack: ${problems.join("; ")}`);
}

/** Private address ranges: where an ingress controller's pods (the proxies Kong believes) get their addresses. */
const PRIVATE_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"];

/** The application on Kubernetes, over the managed services and cluster of the configured cloud. */
export function cloud(cfg: NorthstackConfig, secrets: StackSecrets) {
  validateCloudConfig(cfg);
  const foundation =
    cfg.cloud === "aws"
      ? providerModules.aws().awsFoundation(cfg, secrets)
      : providerModules.gcp().gcpFoundation(cfg, secrets);

  const provider = new k8s.Provider(
    "k8s",
    { kubeconfig: foundation.kubeconfig, enableServerSideApply: true },
    { dependsOn: foundation.cluster ? [foundation.cluster] : [] },
  );
  const storageClassName = foundation.storageClass ? `${cfg.kubernetes.namespace}-encrypted` : undefined;
  if (foundation.storageClass) {
    // Volume claims that come first wait (WaitForFirstConsumer) until the class exists.
    new k8s.storage.v1.StorageClass(
      "k8s-volumes",
      {
        metadata: {
          name: storageClassName,
          labels: { "app.kubernetes.io/part-of": "northstack", "northstack.io/stack": cfg.stack },
        },
        provisioner: foundation.storageClass.provisioner,
        parameters: foundation.storageClass.parameters,
        reclaimPolicy: cfg.deletionProtection ? "Retain" : "Delete",
        volumeBindingMode: "WaitForFirstConsumer",
        allowVolumeExpansion: true,
      },
      { provider },
    );
  }
  const exposure = cfg.kubernetes.exposure;
  const clients = egressClients(cfg);
  const runtime = new KubernetesRuntime("k8s", {
    stack: cfg.stack,
    provider,
    namespace: cfg.kubernetes.namespace,
    exposure,
    publicHost: exposure === "ingress" ? cfg.kubernetes.ingressHost : new URL(cfg.gateway.publicUrl).hostname,
    ingressClassName: cfg.kubernetes.ingressClassName,
    certManagerIssuer: cfg.kubernetes.certManagerIssuer || undefined,
    tlsSecretName: cfg.kubernetes.tlsSecretName || undefined,
    ingressControllerNamespace: cfg.kubernetes.ingressControllerNamespace,
    loadBalancerAnnotations: foundation.loadBalancerAnnotations,
    dnsResolverCidrs: foundation.dnsResolverCidrs,
    dataServices: [
      {
        name: "postgres",
        cidrs: foundation.dataCidrs,
        port: foundation.postgres.port,
        clients: clients.postgres,
        reason: foundation.dataCidrsReason,
      },
      {
        name: "redis",
        cidrs: foundation.dataCidrs,
        port: foundation.redis.port,
        clients: clients.redis,
        reason: foundation.dataCidrsReason,
      },
    ],
    publicEgress: clients.publicEgress,
    // Prometheus runs in the stack's own namespace.
    monitoringNamespace: cfg.monitoring.enabled ? cfg.kubernetes.namespace : undefined,
    storageClassName,
  });

  const { supabase, kong, monitoring } = application(cfg, secrets, {
    runtime,
    postgres: foundation.postgres,
    redis: foundation.redis,
    storage: foundation.storage,
    backupBucket: foundation.backups,
    backupDrillBucket: foundation.backupDrill,
    redisExport: foundation.redisExport,
    supabaseReplicas: cfg.supabase.replicas,
    extraServiceReplicas: { replicas: cfg.api.replicas, maxReplicas: cfg.api.maxReplicas },
    kong: {
      // A load balancer passes TCP through, so Kong terminates TLS; behind an Ingress the controller does.
      servesTls: exposure === "loadbalancer",
      // The NetworkPolicy admits the proxy port only from the ingress controller's namespace, so the
      // X-Forwarded-For it sets is the client's address; only private (pod) addresses are believed.
      trustedProxyCidrs: exposure === "ingress" ? PRIVATE_CIDRS : undefined,
      replicas: cfg.api.replicas,
    },
  });

  const hostAndPort = (endpoint: { host: pulumi.Output<string>; port: pulumi.Output<number> }) =>
    pulumi.secret(pulumi.interpolate`${endpoint.host}:${endpoint.port}`);
  return {
    gatewayUrl: kong.url,
    // Where DNS for the gateway's host must point: the load balancer or Ingress address.
    gatewayAddress: kong.address,
    databaseEndpoint: hostAndPort(foundation.postgres),
    redisEndpoint: hostAndPort(foundation.redis),
    backupBucket: foundation.backups.bucket,
    storageBucket: foundation.storage.bucket,
    drBackupBucket: foundation.drBucket ?? "none",
    redisDrBucket: foundation.redisExport?.drBucket ?? "none",
    namespace: runtime.namespace,
    cloud: cfg.cloud,
    region: cfg.region,
    anonKey: supabase.anonKey,
    serviceRoleKey: supabase.serviceRoleKey,
    grafanaAdminPassword: monitoring?.grafanaAdminPassword ?? pulumi.secret("disabled"),
  };
}
