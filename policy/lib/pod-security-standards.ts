/**
 * The allowlists of the Kubernetes Pod Security Standards (baseline and restricted, v1.30+), in one
 * place for the policy pack and the tests that check rendered pods against them.
 */

/** Pod Security "restricted": the only volume sources a pod may use. */
export const ALLOWED_VOLUME_SOURCES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);
/** Pod Security "baseline": the namespaced sysctls that cannot affect other pods on the node. */
export const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
/** Pod Security "baseline": SELinux types a pod may ask for ("" means the runtime's default). */
export const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);
/** Pod Security "restricted": the seccomp and AppArmor profile types a pod may use. */
export const CONFINED_PROFILES = new Set(["RuntimeDefault", "Localhost"]);
