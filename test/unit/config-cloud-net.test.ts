/**
 * The gateway-TLS and ingress keys: tlsSecretName, certManagerIssuer, ingressControllerNamespace,
 * and the https publicUrl a TLS-only gateway implies on Kubernetes stacks.
 */
import { parseConfig } from "../../components/config";
import { configProblems, ns } from "../helpers/config";

const staging = {
  cloud: "aws",
  cluster: "managed",
  apiImage: "ghcr.io/northstack/api:0.1.0",
  publicUrl: "https://api.example.ca",
  alertEmailTo: "oncall@example.ca",
  alertSmtpSmarthost: "smtp.example.ca:587",
};

const problemsOf = (raw: Record<string, string>, stack = "staging") => configProblems(raw, stack);

test("defaults: no certificate source, and the ingress-nginx controller namespace", () => {
  const cfg = parseConfig({}, "dev");
  expect(cfg.kubernetes).toEqual(
    expect.objectContaining({ tlsSecretName: "", certManagerIssuer: "", ingressControllerNamespace: "ingress-nginx" }),
  );
});

test("a Kubernetes stack takes either the operator's Secret or a cert-manager issuer", () => {
  expect(parseConfig(ns({ ...staging, tlsSecretName: "gateway-tls" }), "staging").kubernetes.tlsSecretName).toBe(
    "gateway-tls",
  );
  expect(
    parseConfig(ns({ ...staging, certManagerIssuer: "letsencrypt-dns01" }), "staging").kubernetes.certManagerIssuer,
  ).toBe("letsencrypt-dns01");
  expect(
    parseConfig(ns({ ...staging, tlsSecretName: "gateway-tls", ingressControllerNamespace: "edge" }), "staging")
      .kubernetes.ingressControllerNamespace,
  ).toBe("edge");
});

test.each([
  [
    "neither a Secret nor an issuer",
    {},
    "staging",
    "northstack:tlsSecretName: required on staging when northstack:certManagerIssuer is empty",
  ],
  [
    "both a Secret and an issuer",
    { tlsSecretName: "a", certManagerIssuer: "b" },
    "staging",
    'northstack:tlsSecretName: "a" and northstack:certManagerIssuer "b" are both set; give one',
  ],
  [
    "a Secret name that Kubernetes refuses",
    { tlsSecretName: "Gateway_TLS" },
    "staging",
    'northstack:tlsSecretName: "Gateway_TLS" is not a Secret name',
  ],
  [
    "a bad controller namespace",
    { tlsSecretName: "t", ingressControllerNamespace: "Ingress.Nginx" },
    "staging",
    'northstack:ingressControllerNamespace: "Ingress.Nginx" is not a namespace name',
  ],
  [
    "a plain-HTTP public URL on prod",
    { tlsSecretName: "t", publicUrl: "http://api.example.ca" },
    "prod",
    'northstack:publicUrl: "http://api.example.ca" is not allowed on prod; the gateway serves TLS only',
  ],
] as [string, Record<string, string>, string, string][])(
  "%s is refused, naming the key and value",
  (_case, overrides, stack, message) => {
    const extra: Record<string, string> =
      stack === "prod" ? { postgresHa: "true", redisHa: "true", deletionProtection: "true" } : {};
    expect(problemsOf({ ...staging, ...extra, ...overrides }, stack)).toEqual([expect.stringContaining(message)]);
  },
);

test("dev needs neither: its gateway is plain HTTP on 127.0.0.1", () => {
  expect(problemsOf({}, "dev")).toEqual([]);
});
