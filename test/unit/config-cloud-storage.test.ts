/**
 * The config keys for object-storage identity and Supabase availability: northstack:eksClusterName
 * (an existing EKS cluster, where Pod Identity associations are made) and northstack:supabaseReplicas.
 */
import { parseConfig } from "../../components/config";
import { configProblems, ns } from "../helpers/config";

const cloud = {
  cloud: "aws",
  apiImage: "ghcr.io/northstack/api:0.1.0",
  cluster: "managed",
  publicUrl: "https://api.example.ca",
  tlsSecretName: "gateway-tls",
  alertEmailTo: "oncall@example.ca",
  alertSmtpSmarthost: "smtp.example.ca:587",
};
const existing = { ...cloud, cluster: "existing", kubeconfig: "apiVersion: v1\nclusters: []" };
const prod = { ...cloud, postgresHa: "true", redisHa: "true", deletionProtection: "true" };

const problemsOf = configProblems;

describe("northstack:eksClusterName", () => {
  test("names the existing EKS cluster on aws", () => {
    expect(parseConfig(ns({ ...existing, eksClusterName: "team-eks_1" }), "staging").kubernetes.eksClusterName).toBe(
      "team-eks_1",
    );
    expect(parseConfig(ns(cloud), "staging").kubernetes.eksClusterName).toBe("");
  });

  test("is required with an existing cluster on aws, saying why and what the cluster must run", () => {
    expect(problemsOf(existing, "staging")).toEqual([
      expect.stringMatching(
        /^northstack:eksClusterName: required with northstack:cloud=aws and northstack:cluster=existing; .*EKS Pod Identity .*eks-pod-identity-agent add-on/,
      ),
    ]);
  });

  test.each([
    [
      "with a cluster the stack creates",
      { ...cloud, eksClusterName: "other" },
      /northstack:eksClusterName: "other" has no meaning unless northstack:cloud is aws and northstack:cluster is existing; remove it/,
    ],
    [
      "on gcp",
      { ...existing, cloud: "gcp", eksClusterName: "other" },
      /northstack:eksClusterName: "other" has no meaning unless/,
    ],
    [
      "that is not an EKS name",
      { ...existing, eksClusterName: "team eks" },
      /northstack:eksClusterName: "team eks" is not an EKS cluster name/,
    ],
  ])("is refused %s, naming the value", (_case, raw, message) => {
    expect(problemsOf(raw, "staging")).toEqual([expect.stringMatching(message)]);
  });
});

describe("northstack:supabaseReplicas", () => {
  test("0, the default (which the Pulumi CLI always passes), picks 1 on dev and staging and 2 on prod", () => {
    expect(parseConfig({}, "dev").supabase.replicas).toBe(1);
    expect(parseConfig(ns({ ...prod, supabaseReplicas: "0" }), "prod").supabase.replicas).toBe(2);
    expect(parseConfig(ns(cloud), "staging").supabase.replicas).toBe(1);
    expect(parseConfig(ns(prod), "prod").supabase.replicas).toBe(2);
  });

  test("takes the configured value", () => {
    expect(parseConfig(ns({ ...cloud, supabaseReplicas: "3" }), "staging").supabase.replicas).toBe(3);
    expect(parseConfig(ns({ ...prod, supabaseReplicas: "4" }), "prod").supabase.replicas).toBe(4);
  });

  test("is refused below 2 on prod, and outside 0..20 anywhere", () => {
    expect(problemsOf({ ...prod, supabaseReplicas: "1" }, "prod")).toEqual([
      "northstack:supabaseReplicas: 1 is not allowed on prod; auth, rest and storage need at least 2 replicas to survive a node or zone loss",
    ]);
    expect(problemsOf({ ...cloud, supabaseReplicas: "-1" }, "staging")).toEqual([
      "northstack:supabaseReplicas: -1 is below the minimum 0; allowed: 0 to 20",
    ]);
    expect(problemsOf({ ...cloud, supabaseReplicas: "21" }, "staging")).toEqual([
      "northstack:supabaseReplicas: 21 is above the maximum 20; allowed: 0 to 20",
    ]);
  });
});
