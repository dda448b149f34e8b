import {
  DNS_LABEL,
  DNS_LABEL_MAX,
  EKS_CLUSTER_NAME,
  HOSTNAME,
  certificateSourceProblem,
  checkGatewayOrigin,
} from "../checks";
import { ConfigReader, Problems, key, show } from "../reader";
import { NorthstackConfig, SECRET_PLACEHOLDER } from "../schema";
import { Platform } from "./platform";

type Kubernetes = NorthstackConfig["kubernetes"];

/**
 * The cluster (an existing one needs its kubeconfig), the namespace, and how the gateway is exposed.
 * The gateway on Kubernetes serves TLS only, with a certificate from cert-manager or the operator,
 * so where the profile requires TLS the public URL is https and one certificate source is given.
 */
export function readKubernetes(
  r: ConfigReader,
  problems: Problems,
  { environment, profile }: Platform,
  secrets: NorthstackConfig["secrets"],
  stack: string,
  publicUrl: string,
): Omit<Kubernetes, "eksClusterName"> {
  const cluster = r.str("cluster") as Kubernetes["cluster"];
  // A rejected cluster reads as the default "existing", which the user did not choose.
  const clusterKnown = !r.invalid("cluster");
  if (profile.runtime === "kubernetes" && clusterKnown && cluster === "existing" && secrets.kubeconfig === undefined) {
    problems.push(
      `${key("kubeconfig")}: missing; a ${environment} stack with ${key("cluster")}=existing needs it. ` +
        `Run: pulumi config set --secret ${key("kubeconfig")} < ~/.kube/config, or set ${key("cluster")} to managed`,
    );
  }
  // A kubeconfig may be YAML or JSON; this shape check catches a file path pasted by mistake.
  // The offline plan replaces secure values with a placeholder, which it marks so this passes.
  if (secrets.kubeconfig !== undefined && !secrets.kubeconfig.startsWith(SECRET_PLACEHOLDER)) {
    if (!/apiVersion|clusters/.test(secrets.kubeconfig)) {
      problems.push(
        `${key("kubeconfig")}: [secret] does not look like a kubeconfig (no apiVersion or clusters); pass the file's content, not its path`,
      );
    }
  }
  const namespace =
    r.str("namespace") ||
    `northstack-${stack}`
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, "-")
      .slice(0, DNS_LABEL_MAX);
  if (!DNS_LABEL.test(namespace)) {
    problems.push(
      `${key("namespace")}: ${show(namespace)} is not a DNS label (lower-case letters, digits and '-', at most 63)`,
    );
  }
  const exposure = r.str("exposure") as Kubernetes["exposure"];
  const ingressHost = r.str("ingressHost");
  if (profile.runtime === "kubernetes" && exposure === "ingress" && !ingressHost) {
    problems.push(
      `${key("ingressHost")}: required when ${key("exposure")} is "ingress" (the TLS certificate names it)`,
    );
  }
  if (ingressHost && !HOSTNAME.test(ingressHost)) {
    problems.push(`${key("ingressHost")}: ${show(ingressHost)} is not a DNS host name`);
  }
  const certManagerIssuer = r.str("certManagerIssuer");
  const tlsSecretName = r.str("tlsSecretName");
  const ingressControllerNamespace = r.str("ingressControllerNamespace");
  const certificateProblem = certificateSourceProblem(certManagerIssuer, tlsSecretName);
  if (profile.requiresTls) {
    if (certificateProblem === "none") {
      problems.push(
        `${key("tlsSecretName")}: required on ${environment} when ${key("certManagerIssuer")} is empty; name the kubernetes.io/tls Secret with the gateway certificate, or set an issuer`,
      );
    }
    // A malformed URL is reported by the gateway section.
    if (!checkGatewayOrigin(publicUrl) && new URL(publicUrl).protocol !== "https:") {
      problems.push(
        `${key("publicUrl")}: ${show(publicUrl)} is not allowed on ${environment}; the gateway serves TLS only, so use an https:// URL`,
      );
    }
  }
  if (certificateProblem === "both") {
    problems.push(
      `${key("tlsSecretName")}: ${show(tlsSecretName)} and ${key("certManagerIssuer")} ${show(certManagerIssuer)} are both set; give one (cert-manager writes its own Secret)`,
    );
  }
  if (tlsSecretName && !HOSTNAME.test(tlsSecretName)) {
    problems.push(`${key("tlsSecretName")}: ${show(tlsSecretName)} is not a Secret name (lower-case DNS subdomain)`);
  }
  if (!DNS_LABEL.test(ingressControllerNamespace)) {
    problems.push(
      `${key("ingressControllerNamespace")}: ${show(ingressControllerNamespace)} is not a namespace name (DNS label)`,
    );
  }
  return {
    cluster,
    apiAllowCidrs: r.list("clusterApiAllowCidrs"),
    namespace,
    exposure,
    ingressHost,
    ingressClassName: r.str("ingressClassName"),
    certManagerIssuer,
    tlsSecretName,
    ingressControllerNamespace,
  };
}

/**
 * The existing EKS cluster where EKS Pod Identity gives Supabase Storage and the backup job their S3
 * access: required with cloud aws and cluster existing, meaningless otherwise.
 */
export function readEksClusterName(
  r: ConfigReader,
  problems: Problems,
  { profile, cloud, cloudKnown }: Platform,
  cluster: Kubernetes["cluster"],
): string {
  const eksClusterName = r.str("eksClusterName");
  // Whether the name is needed depends on cloud and cluster; when either was rejected, it cannot be judged.
  const judged = cloudKnown && !r.invalid("cluster");
  if (judged && profile.runtime === "kubernetes" && cloud === "aws" && cluster === "existing" && !eksClusterName) {
    problems.push(
      `${key("eksClusterName")}: required with ${key("cloud")}=aws and ${key("cluster")}=existing; Supabase Storage and the backup job get their S3 access ` +
        `through EKS Pod Identity associations in that cluster (which must run the eks-pod-identity-agent add-on)`,
    );
  }
  if (judged && eksClusterName && !(cloud === "aws" && cluster === "existing")) {
    problems.push(
      `${key("eksClusterName")}: ${show(eksClusterName)} has no meaning unless ${key("cloud")} is aws and ${key("cluster")} is existing; remove it`,
    );
  }
  if (eksClusterName && !EKS_CLUSTER_NAME.test(eksClusterName)) {
    problems.push(
      `${key("eksClusterName")}: ${show(eksClusterName)} is not an EKS cluster name (letters, digits, '-' and '_', at most 100)`,
    );
  }
  return eksClusterName;
}
