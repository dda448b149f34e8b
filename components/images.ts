/**
 * Every third-party image the stack runs, pinned to a version tag. Upgrading one is a reviewed
 * one-line change here. The uid:gid beside each is the non-root identity the image was built for,
 * so that files it owns stay readable.
 */
export const IMAGES = {
  postgres: { image: "postgres:15.8-bookworm", uid: 999, gid: 999 },
  redis: { image: "redis:7.4.1-bookworm", uid: 999, gid: 999 },
  kong: { image: "kong:3.8.0", uid: 1000, gid: 1000 },
  gotrue: { image: "supabase/gotrue:v2.164.0", uid: 1000, gid: 1000 },
  // v14 is the first with `postgrest --ready`, the only health check possible in its shell-less image.
  postgrest: { image: "postgrest/postgrest:v14.0", uid: 1000, gid: 1000 },
  // v2.33.68 is the first that names the seeded self-host tenant from SELF_HOST_TENANT_NAME.
  realtime: { image: "supabase/realtime:v2.33.68", uid: 1000, gid: 1000 },
  storage: { image: "supabase/storage-api:v1.11.13", uid: 1000, gid: 1000 },
  meta: { image: "supabase/postgres-meta:v0.84.2", uid: 1000, gid: 1000 },
  studio: { image: "supabase/studio:20241202-71e5240", uid: 1001, gid: 1001 },
  prometheus: { image: "prom/prometheus:v2.55.1", uid: 65534, gid: 65534 },
  alertmanager: { image: "prom/alertmanager:v0.27.0", uid: 65534, gid: 65534 },
  grafana: { image: "grafana/grafana:11.3.1", uid: 472, gid: 472 },
  loki: { image: "grafana/loki:3.3.0", uid: 10001, gid: 10001 },
  /**
   * The log shipper. The image runs as root by default but is built with the user alloy, 473:473.
   * The digest is v1.10.0's as found pinned in a public Dockerfile, not yet pulled here: verify it
   * with `docker buildx imagetools inspect grafana/alloy:v1.10.0` on the first pull.
   */
  alloy: {
    image: "grafana/alloy:v1.10.0@sha256:1bc130e909116a4bf950eb5187a346007d3b796f96832b529acb14a64e41230f",
    uid: 473,
    gid: 473,
  },
  /** Kubernetes objects' state (kube_*). Distroless, built to run as nobody. */
  kubeStateMetrics: {
    image: "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.13.0",
    uid: 65534,
    gid: 65534,
  },
  /**
   * Container metrics on Docker (container_*). v0.49.1's multi-arch index digest (linux/amd64,
   * arm64, arm/v7), as pinned independently in several public deployment files, not yet pulled here:
   * verify it with `docker buildx imagetools inspect gcr.io/cadvisor/cadvisor:v0.49.1` on the first
   * pull. The image runs as root by default; as nobody it reads the world-readable cgroup files it
   * needs, and busybox wget serves the health check.
   */
  cadvisor: {
    image: "gcr.io/cadvisor/cadvisor:v0.49.1@sha256:3cde6faf0791ebf7b41d6f8ae7145466fed712ea6f252c935294d2608b1af388",
    uid: 65534,
    gid: 65534,
  },
  // Host metrics (node_*). Busybox-based (wget for the health check), built to run as nobody.
  nodeExporter: { image: "prom/node-exporter:v1.8.2", uid: 65534, gid: 65534 },
  // Busybox-based: wget for the health check.
  blackboxExporter: { image: "prom/blackbox-exporter:v0.25.0", uid: 65534, gid: 65534 },
  postgresExporter: { image: "prometheuscommunity/postgres-exporter:v0.16.0", uid: 65534, gid: 65534 },
  // Upstream's alpine variant: busybox wget for the health check (Bitnami's versioned tags left docker.io in 2025).
  redisExporter: { image: "oliver006/redis_exporter:v1.66.0-alpine", uid: 59000, gid: 59000 },
  /**
   * The backup upload step. 2.22 is the last line before 2.23's default request checksums, which
   * GCS's XML API rejects. The image has no user of its own; any non-root uid works with HOME on scratch.
   */
  awsCli: { image: "amazon/aws-cli:2.22.35", uid: 1000, gid: 1000 },
  /** The API's build base and the default uid of the `node` user in it. */
  node: { image: "node:20.18.1-bookworm-slim", uid: 1000, gid: 1000 },
} as const;

export type ImageName = keyof typeof IMAGES;
