import * as pulumi from "@pulumi/pulumi";
import { NorthstackConfig } from "../components/config";
import { ObjectStoreEndpoint, PostgresEndpoint, RedisEndpoint } from "../components/endpoints";

/** What the cloud layer (stacks/aws.ts, stacks/gcp.ts) hands the Kubernetes layer: the managed data services and a cluster. */
export interface CloudFoundation {
  readonly postgres: PostgresEndpoint;
  readonly redis: RedisEndpoint;
  /** User files of Supabase Storage, with the storage workload's access. */
  readonly storage: ObjectStoreEndpoint;
  /** Database backups, with the backup job's access. */
  readonly backups: ObjectStoreEndpoint;
  /** The backup bucket again, with the restore drill's read-only access. */
  readonly backupDrill: ObjectStoreEndpoint;
  readonly drBucket?: pulumi.Output<string>;
  /** The daily copy of the managed Redis's snapshots to the DR region, where the cloud has one. Default: none. */
  readonly redisExport?: RedisExportTarget;
  /** Kubeconfig of the target cluster, a Pulumi secret. */
  readonly kubeconfig: pulumi.Output<string>;
  /** The cluster resources the Kubernetes provider waits for (nodes included). */
  readonly cluster?: pulumi.Resource;
  /** Where pods reach Postgres and Redis: the subnets they get their addresses from, the NetworkPolicy egress destinations. */
  readonly dataCidrs: string[];
  /** Why dataCidrs is wider than those subnets (an existing network whose subnets the stack does not know). Default: none. */
  readonly dataCidrsReason?: string;
  /** Node-local DNS resolvers the pods query besides the kube-dns pods. Default: none. */
  readonly dnsResolverCidrs?: string[];
  /** Annotations that give the gateway's LoadBalancer Service the right cloud load balancer. Default: none. */
  readonly loadBalancerAnnotations?: Record<string, string>;
  /** A StorageClass the stack must create for its volumes; default: the cluster's default class. */
  readonly storageClass?: { readonly provisioner: string; readonly parameters: Record<string, pulumi.Input<string>> };
}

/** What the Redis DR copy job works on: the group, the export bucket with the job's access, the key. */
export interface RedisExportTarget {
  readonly replicationGroupId: pulumi.Output<string>;
  readonly bucket: ObjectStoreEndpoint;
  readonly kmsKeyArn: pulumi.Output<string>;
  /** The replica bucket in the DR region. */
  readonly drBucket: pulumi.Output<string>;
}

/** The kubeconfig of a cluster the stack does not create (northstack:cluster existing), a Pulumi secret. */
export const existingClusterKubeconfig = (cfg: NorthstackConfig): pulumi.Output<string> =>
  pulumi.secret(cfg.secrets.kubeconfig ?? "");
