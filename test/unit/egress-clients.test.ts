/**
 * Which workloads leave the namespace, for where, and why: egressClients as plain data from a parsed
 * stack config. Alertmanager's egress follows its configured receivers, the SMTP smarthost's port
 * included, so that an email receiver can deliver.
 */
import { parseConfig } from "../../components/config";
import { alertReceiverEgress, egressClients } from "../../stacks/application";
import { ns } from "../helpers/config";

const staging = {
  cloud: "aws",
  cluster: "managed",
  apiImage: "ghcr.io/northstack/api:0.1.0",
  publicUrl: "https://api.example.ca",
  tlsSecretName: "gateway-tls",
};
const email = { alertEmailTo: "oncall@example.ca", alertSmtpSmarthost: "smtp.example.ca:587" };
const config = (raw: Record<string, string>) => parseConfig(ns({ ...staging, ...raw }), "staging");
const alertmanagerEgress = (raw: Record<string, string>) =>
  egressClients(config(raw)).publicEgress.filter((e) => e.client === "monitoring-alertmanager");

describe("Alertmanager reaches exactly its receivers' ports", () => {
  test("an email receiver opens the smarthost's port, and nothing on 443", () => {
    expect(alertmanagerEgress(email)).toEqual([
      {
        client: "monitoring-alertmanager",
        ports: [587],
        reason:
          "Alertmanager delivers to the SMTP smarthost smtp.example.ca:587: internet services addressed by name, with no fixed range to name",
      },
    ]);
  });

  test.each([
    ["smtp.example.ca:25", 25],
    ["smtp.example.ca:465", 465],
    ["smtp.example.ca:2525", 2525],
  ])("smarthost %s opens port %d", (smarthost, port) => {
    expect(alertmanagerEgress({ ...email, alertSmtpSmarthost: smarthost }).map((e) => e.ports)).toEqual([[port]]);
  });

  test("PagerDuty, Slack and the webhook on 443 share one port with email's", () => {
    const cfg = config({
      ...email,
      alertPagerdutyRoutingKey: "0123456789abcdef0123456789abcdef",
      alertSlackWebhookUrl: "https://hooks.slack.com/services/T0/B0/x",
      alertWebhookUrl: "https://hooks.example.ca/alerts",
    });
    expect(alertReceiverEgress(cfg)).toEqual({
      ports: [443, 587],
      reason:
        "Alertmanager delivers to Slack, PagerDuty, the alert webhook, the SMTP smarthost smtp.example.ca:587: internet services addressed by name, with no fixed range to name",
    });
  });

  test("a dead man's switch is a destination of its own: Alertmanager may reach its port", () => {
    expect(
      alertReceiverEgress(config({ ...email, deadMansSwitchUrl: "https://hc-ping.example.ca:8443/0f1e" })),
    ).toEqual({
      ports: [587, 8443],
      reason:
        "Alertmanager delivers to the dead man's switch, the SMTP smarthost smtp.example.ca:587: internet services addressed by name, with no fixed range to name",
    });
  });

  test("a webhook on its own port opens that port, not 443", () => {
    expect(alertReceiverEgress(config({ alertWebhookUrl: "https://hooks.example.ca:8443/alerts" }))?.ports).toEqual([
      8443,
    ]);
  });

  test("the offline plan's placeholder for a secret URL counts as https on 443", () => {
    expect(
      alertReceiverEgress(config({ alertWebhookUrl: "plan-placeholder-secret-value-alertWebhookUrl" }))?.ports,
    ).toEqual([443]);
  });

  test("without a receiver, or with monitoring off, Alertmanager stays inside", () => {
    const devCfg = parseConfig(ns({}), "dev");
    expect(alertReceiverEgress(devCfg)).toBeUndefined();
    expect(egressClients(devCfg).publicEgress.map((e) => e.client)).toEqual([
      "supabase-storage",
      "backup",
      "backup-drill",
      "monitoring-blackbox-exporter",
    ]);
    const off = parseConfig(ns({ monitoring: "false", ...email }), "dev");
    expect(egressClients(off).publicEgress.map((e) => e.client)).toEqual([
      "supabase-storage",
      "backup",
      "backup-drill",
    ]);
  });
});

describe("object storage and the data services", () => {
  test("on 443, Storage, the backup job and its drill reach the object store and the probe the gateway, each named", () => {
    expect(egressClients(config(email)).publicEgress.filter((e) => e.ports.includes(443))).toEqual([
      {
        client: "supabase-storage",
        ports: [443],
        reason:
          "Supabase Storage keeps user files in S3, whose API endpoints are public addresses that change, with no fixed range to name",
      },
      {
        client: "backup",
        ports: [443],
        reason:
          "the backup job writes its dumps to S3, whose API endpoints are public addresses that change, with no fixed range to name",
      },
      {
        client: "backup-drill",
        ports: [443],
        reason:
          "the restore drill reads the newest dump from S3, whose API endpoints are public addresses that change, with no fixed range to name",
      },
      {
        client: "monitoring-blackbox-exporter",
        ports: [443],
        reason: "the blackbox exporter probes the gateway at its public address, as clients reach it",
      },
    ]);
    expect(
      egressClients(config({ ...email, cloud: "gcp" })).publicEgress.find((e) => e.client === "backup")?.reason,
    ).toMatch(/^the backup job writes its dumps to GCS,/);
  });

  test("Storage off: no bucket user but the backup job and its drill; GoTrue never leaves the namespace", () => {
    const cfg = config({ ...email, supabaseStorage: "false" });
    expect(egressClients(cfg).publicEgress.map((e) => e.client)).toEqual([
      "backup",
      "backup-drill",
      "monitoring-alertmanager",
      "monitoring-blackbox-exporter",
    ]);
    const all = egressClients(config(email));
    expect(all.publicEgress.map((e) => e.client)).not.toContain("supabase-auth");
  });

  test("Postgres and Redis clients are the services that log in to them, extra services included", () => {
    const clients = egressClients(config({ ...email, services: '["billing=ghcr.io/northstack/billing:1.0.0"]' }));
    expect(clients.postgres).toEqual([
      "api",
      "billing",
      "supabase-migrate",
      "supabase-auth",
      "supabase-rest",
      "supabase-realtime",
      "supabase-storage",
      "supabase-meta",
      "backup",
      "backup-drill",
      "monitoring-postgres-exporter",
    ]);
    expect(clients.redis).toEqual(["api", "billing", "kong", "monitoring-redis-exporter"]);
  });
});
