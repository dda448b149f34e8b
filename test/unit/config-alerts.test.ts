/**
 * The alert receiver keys (alertEmailTo, alertEmailFrom, alertSmtpSmarthost, alertSmtpPassword,
 * alertSlackWebhookUrl, alertSlackChannel, alertPagerdutyRoutingKey, alertWebhookUrl), and the
 * profile's promise that staging and prod alerts reach a person.
 */
import { PROFILES, parseConfig } from "../../components/config";
import { alertReceivers } from "../../stacks/application";
import { configProblems, ns } from "../helpers/config";

const cloud = {
  cloud: "aws",
  apiImage: "ghcr.io/northstack/api:0.1.0",
  cluster: "managed",
  publicUrl: "https://api.example.ca",
  tlsSecretName: "gateway-tls",
};
const prod = { ...cloud, postgresHa: "true", redisHa: "true", deletionProtection: "true" };
const email = { alertEmailTo: "oncall@example.ca", alertSmtpSmarthost: "smtp.example.ca:587" };
const NO_RECEIVER = (environment: string) =>
  `northstack:alertPagerdutyRoutingKey: unset, and no other alert receiver is configured, so ${environment} alerts reach nobody; set northstack:alertPagerdutyRoutingKey, northstack:alertSlackWebhookUrl, northstack:alertEmailTo, northstack:alertWebhookUrl (email with northstack:alertSmtpSmarthost)`;

test("staging and prod require an alert receiver; dev does not", () => {
  expect(Object.fromEntries(Object.entries(PROFILES).map(([env, p]) => [env, p.requiresAlertReceiver]))).toEqual({
    dev: false,
    staging: true,
    prod: true,
  });
  expect(configProblems({}, "dev")).toEqual([]);
  expect(configProblems(cloud, "staging")).toEqual([NO_RECEIVER("staging")]);
  expect(configProblems(prod, "prod")).toEqual([NO_RECEIVER("prod")]);
});

test("monitoring off is refused where alerts must reach a person, naming the key", () => {
  expect(configProblems({ ...prod, ...email, monitoring: "false" }, "prod")).toEqual([
    "northstack:monitoring: false is not allowed on prod; its alerts must reach a person, so monitoring must run",
  ]);
  expect(configProblems({ ...cloud, monitoring: "false" }, "staging")).toEqual([
    "northstack:monitoring: false is not allowed on staging; its alerts must reach a person, so monitoring must run",
  ]);
  expect(configProblems({ monitoring: "false" }, "dev")).toEqual([]);
});

test.each([
  ["PagerDuty", { alertPagerdutyRoutingKey: "0123456789abcdef0123456789abcdef" }],
  ["Slack", { alertSlackWebhookUrl: "https://hooks.slack.com/services/T0/B0/x" }],
  ["email", email],
  ["the generic webhook", { alertWebhookUrl: "https://hooks.example.ca/alerts" }],
])("%s alone is a receiver prod accepts", (_name, receiver) => {
  expect(configProblems({ ...prod, ...receiver }, "prod")).toEqual([]);
});

test("the receivers' plain settings reach the config, with the sender defaulting to the recipient", () => {
  expect(parseConfig(ns({ ...cloud, ...email }), "staging").monitoring.alerts).toEqual({
    email: { to: "oncall@example.ca", from: "oncall@example.ca", smarthost: "smtp.example.ca:587" },
    slackChannel: "",
    runbookBase: "docs/runbooks.md",
  });
  const cfg = parseConfig(
    ns({
      ...cloud,
      ...email,
      alertEmailFrom: "am@example.ca",
      alertSlackWebhookUrl: "https://hooks.slack.com/services/T0/B0/x",
      alertSlackChannel: "#oncall",
    }),
    "staging",
  );
  expect(cfg.monitoring.alerts).toEqual({
    email: { to: "oncall@example.ca", from: "am@example.ca", smarthost: "smtp.example.ca:587" },
    slackChannel: "#oncall",
    runbookBase: "docs/runbooks.md",
  });
  expect(parseConfig({}, "dev").monitoring.alerts).toEqual({ slackChannel: "", runbookBase: "docs/runbooks.md" });
});

test("alertReceivers makes every credential a Pulumi secret and leaves out what is not configured", async () => {
  const isSecret = (v: unknown) => (v as { isSecret: Promise<boolean> }).isSecret;
  const cfg = parseConfig(
    ns({
      ...cloud,
      ...email,
      alertSmtpPassword: "smtp-pass",
      alertSlackWebhookUrl: "https://hooks.slack.com/services/T0/B0/x",
      alertPagerdutyRoutingKey: "k".repeat(32),
      deadMansSwitchUrl: "https://hc-ping.example.ca/0f1e",
    }),
    "staging",
  );
  const receivers = alertReceivers(cfg);
  expect(Object.keys(receivers).sort()).toEqual(["deadMansSwitchUrl", "email", "pagerduty", "slack"]);
  expect(await isSecret(receivers.deadMansSwitchUrl)).toBe(true);
  expect(await isSecret(receivers.email?.password)).toBe(true);
  expect(await isSecret(receivers.slack?.webhookUrl)).toBe(true);
  expect(await isSecret(receivers.pagerduty?.routingKey)).toBe(true);
  expect(alertReceivers(parseConfig({}, "dev"))).toEqual({});
});

test.each([
  [
    "a recipient that is not an address",
    { ...email, alertEmailTo: "oncall" },
    'northstack:alertEmailTo: "oncall" is not an email address; one address, e.g. oncall@example.ca',
  ],
  [
    "a sender that is not an address",
    { ...email, alertEmailFrom: "a@b" },
    'northstack:alertEmailFrom: "a@b" is not an email address; e.g. alertmanager@example.ca',
  ],
  [
    "a smarthost without a port",
    { ...email, alertSmtpSmarthost: "smtp.example.ca" },
    'northstack:alertSmtpSmarthost: "smtp.example.ca" is not host:port; e.g. smtp.example.ca:587',
  ],
  [
    "a smarthost with a bad port",
    { ...email, alertSmtpSmarthost: "smtp.example.ca:99999" },
    'northstack:alertSmtpSmarthost: "smtp.example.ca:99999" is not host:port; e.g. smtp.example.ca:587',
  ],
  [
    "a recipient without a smarthost",
    { alertEmailTo: "oncall@example.ca" },
    'northstack:alertSmtpSmarthost: "" is required with northstack:alertEmailTo; set the SMTP server as host:port',
  ],
  [
    "a smarthost without a recipient",
    { alertSmtpSmarthost: "smtp.example.ca:587" },
    'northstack:alertSmtpSmarthost: "smtp.example.ca:587" has no effect without northstack:alertEmailTo; set the recipient or unset it',
  ],
  [
    "a sender without a recipient",
    { alertEmailFrom: "am@example.ca" },
    'northstack:alertEmailFrom: "am@example.ca" has no effect without northstack:alertEmailTo; set the recipient or unset it',
  ],
  [
    "an SMTP password without a recipient",
    { alertSmtpPassword: "hunter2" },
    "northstack:alertSmtpPassword: [secret] has no effect without northstack:alertEmailTo; set the recipient or unset it",
  ],
  [
    "a Slack channel without a webhook",
    { alertSlackChannel: "#oncall" },
    'northstack:alertSlackChannel: "#oncall" has no effect without northstack:alertSlackWebhookUrl; set the webhook or unset it',
  ],
  [
    "a Slack webhook that is not https",
    { alertSlackWebhookUrl: "http://hunter2.example" },
    "northstack:alertSlackWebhookUrl: [secret] must be an https:// URL; use the Slack app's incoming-webhook URL",
  ],
])("%s is refused, naming the key and value", (_case, raw, message) => {
  expect(configProblems(raw, "dev")).toEqual([message]);
});
