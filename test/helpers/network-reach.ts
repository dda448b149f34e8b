/**
 * What NetworkPolicies allow each workload, read back from a plan: for every pod, the union of the
 * rules of every policy that selects it, as "peer:port" strings (peers inside the namespace resolved
 * to workload names), so that a test can compare them with exactly what the workload needs.
 */
import type { PlannedResource } from "../../scripts/lib/mock-program";

type Obj = Record<string, unknown>;
interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: { protocol?: string; port?: number | string }[];
}
interface Policy {
  name: string;
  namespace: string;
  podSelector: Selector;
  policyTypes: string[];
  ingress: Rule[];
  egress: Rule[];
  annotations: Record<string, string>;
}
export interface Pod {
  readonly workload: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
}
export interface Reach {
  readonly ingress: string[];
  readonly egress: string[];
  /** Names of the policies that select the workload's pods. */
  readonly policies: string[];
  /** The wide-egress reasons on those policies. */
  readonly reasons: string[];
}

const POD_KINDS: Record<string, (inputs: Obj) => Obj> = {
  "kubernetes:apps/v1:Deployment": (i) => (i.spec as Obj).template as Obj,
  "kubernetes:apps/v1:StatefulSet": (i) => (i.spec as Obj).template as Obj,
  "kubernetes:apps/v1:DaemonSet": (i) => (i.spec as Obj).template as Obj,
  "kubernetes:batch/v1:Job": (i) => (i.spec as Obj).template as Obj,
  "kubernetes:batch/v1:CronJob": (i) => (((i.spec as Obj).jobTemplate as Obj).spec as Obj).template as Obj,
};

export function podsOf(resources: readonly PlannedResource[]): Pod[] {
  return resources
    .filter((r) => r.type in POD_KINDS)
    .map((r) => {
      const template = POD_KINDS[r.type](r.inputs);
      const labels = (template.metadata as Obj).labels as Record<string, string>;
      return {
        workload: labels["app.kubernetes.io/name"],
        namespace: String((r.inputs.metadata as Obj).namespace),
        labels,
      };
    });
}

function policiesOf(resources: readonly PlannedResource[]): Policy[] {
  return resources
    .filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    .map((r) => {
      const metadata = r.inputs.metadata as Obj;
      const spec = r.inputs.spec as Obj;
      return {
        name: String(metadata.name),
        namespace: String(metadata.namespace),
        podSelector: spec.podSelector as Selector,
        policyTypes: spec.policyTypes as string[],
        ingress: (spec.ingress as Rule[]) ?? [],
        egress: (spec.egress as Rule[]) ?? [],
        annotations: (metadata.annotations as Record<string, string>) ?? {},
      };
    });
}

/** Label-selector semantics for the operators the runtime writes; an unknown operator fails the test. */
export function selects(selector: Selector, labels: Record<string, string>): boolean {
  const labelsMatch = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const expressionsMatch = (selector.matchExpressions ?? []).every((e) => {
    if (e.operator === "In") return (e.values ?? []).includes(labels[e.key]);
    throw new Error(`selector operator ${e.operator} is not understood here`);
  });
  return labelsMatch && expressionsMatch;
}

const portText = (p: { protocol?: string; port?: number | string }) =>
  `${p.port ?? "*"}${p.protocol && p.protocol !== "TCP" ? `/${p.protocol}` : ""}`;
const selectorText = (s: Selector) =>
  [
    ...Object.entries(s.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(s.matchExpressions ?? []).map((e) => `${e.key} ${e.operator} ${(e.values ?? []).join(",")}`),
  ].join(",") || "*";

/** A peer as readable strings: workloads of this namespace by name, anything else by its selectors or block. */
function peerTexts(peer: Peer | undefined, namespace: string, pods: readonly Pod[]): string[] {
  if (!peer) return ["any"];
  if (peer.ipBlock) {
    const except = peer.ipBlock.except?.length ? " except private" : "";
    return [`${peer.ipBlock.cidr}${except}`];
  }
  const nsName = peer.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"];
  if (peer.namespaceSelector && nsName !== namespace) {
    const ns = peer.namespaceSelector.matchLabels ? `ns:${nsName ?? selectorText(peer.namespaceSelector)}` : "ns:*";
    return [peer.podSelector ? `${ns}/${selectorText(peer.podSelector)}` : ns];
  }
  if (!peer.podSelector || Object.keys(peer.podSelector).length === 0) return ["pod:*"];
  return pods
    .filter((p) => p.namespace === namespace && selects(peer.podSelector!, p.labels))
    .map((p) => `pod:${p.workload}`);
}

function ruleTexts(rules: Rule[], side: "from" | "to", namespace: string, pods: readonly Pod[]): string[] {
  return rules.flatMap((rule) => {
    const peers = (rule[side] ?? [undefined]).flatMap((peer) => peerTexts(peer, namespace, pods));
    const ports = (rule.ports ?? [{}]).map(portText);
    return peers.flatMap((peer) => ports.map((port) => `${peer}:${port}`));
  });
}

/** Each workload's effective reach in `namespace`, by workload name. */
export function reachByWorkload(resources: readonly PlannedResource[], namespace: string): Record<string, Reach> {
  const pods = podsOf(resources).filter((p) => p.namespace === namespace);
  const policies = policiesOf(resources).filter((p) => p.namespace === namespace);
  const result: Record<string, Reach> = {};
  for (const pod of pods) {
    const selecting = policies.filter((p) => selects(p.podSelector, pod.labels));
    const sorted = (xs: string[]) => [...new Set(xs)].sort();
    result[pod.workload] = {
      ingress: sorted(
        selecting
          .filter((p) => p.policyTypes.includes("Ingress"))
          .flatMap((p) => ruleTexts(p.ingress, "from", namespace, pods)),
      ),
      egress: sorted(
        selecting
          .filter((p) => p.policyTypes.includes("Egress"))
          .flatMap((p) => ruleTexts(p.egress, "to", namespace, pods)),
      ),
      policies: selecting.map((p) => p.name).sort(),
      reasons: selecting.flatMap((p) => Object.values(p.annotations)),
    };
  }
  return result;
}
