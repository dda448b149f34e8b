import { HOSTNAME, checkNotificationUrl, checkUrl, withoutUserinfo } from "../checks";
import { ConfigReader, Problems, key, show } from "../reader";
import { NorthstackConfig, SECRET_PLACEHOLDER } from "../schema";
import { Platform } from "./platform";

const EMAIL = /^[^@\s,]+@[^@\s,]+\.[^@\s,]+$/;

/** Where alerts link when northstack:runbookBase is unset: the runbooks' path in this repository. */
export const DEFAULT_RUNBOOK_BASE = "docs/runbooks.md";

/** Keys that each configure a receiver on their own (email needs alertSmtpSmarthost as well). */
const RECEIVER_KEYS = ["alertPagerdutyRoutingKey", "alertSlackWebhookUrl", "alertEmailTo", "alertWebhookUrl"] as const;

/**
 * The alert receivers' plain settings, checked together with their secrets: email needs a recipient
 * and a smarthost, and a profile that requires alerts to reach a person refuses monitoring off or
 * no receiver at all.
 */
export function readAlerts(
  r: ConfigReader,
  problems: Problems,
  { environment, profile }: Platform,
  secrets: NorthstackConfig["secrets"],
): NorthstackConfig["monitoring"]["alerts"] {
  const to = r.str("alertEmailTo");
  const from = r.str("alertEmailFrom");
  const smarthost = r.str("alertSmtpSmarthost");
  const slackChannel = r.str("alertSlackChannel");

  if (to !== "" && !EMAIL.test(to))
    problems.push(`${key("alertEmailTo")}: ${show(to)} is not an email address; one address, e.g. oncall@example.ca`);
  if (from !== "" && !EMAIL.test(from))
    problems.push(`${key("alertEmailFrom")}: ${show(from)} is not an email address; e.g. alertmanager@example.ca`);
  if (smarthost !== "") {
    const [host, port, ...rest] = smarthost.split(":");
    const portNumber = Number(port);
    if (rest.length || !HOSTNAME.test(host) || !/^\d+$/.test(port ?? "") || portNumber < 1 || portNumber > 65535) {
      problems.push(`${key("alertSmtpSmarthost")}: ${show(smarthost)} is not host:port; e.g. smtp.example.ca:587`);
    }
  }
  if (to !== "" && smarthost === "")
    problems.push(
      `${key("alertSmtpSmarthost")}: "" is required with ${key("alertEmailTo")}; set the SMTP server as host:port`,
    );
  for (const k of ["alertEmailFrom", "alertSmtpSmarthost"] as const) {
    if (to === "" && r.str(k) !== "")
      problems.push(
        `${key(k)}: ${show(r.str(k))} has no effect without ${key("alertEmailTo")}; set the recipient or unset it`,
      );
  }
  if (to === "" && secrets.alertSmtpPassword !== undefined) {
    problems.push(
      `${key("alertSmtpPassword")}: [secret] has no effect without ${key("alertEmailTo")}; set the recipient or unset it`,
    );
  }
  if (slackChannel !== "" && secrets.alertSlackWebhookUrl === undefined) {
    problems.push(
      `${key("alertSlackChannel")}: ${show(slackChannel)} has no effect without ${key("alertSlackWebhookUrl")}; set the webhook or unset it`,
    );
  }
  // The offline plan replaces secure values with a placeholder, which is not a URL.
  const slack = secrets.alertSlackWebhookUrl;
  if (
    slack !== undefined &&
    !slack.startsWith(SECRET_PLACEHOLDER) &&
    (checkUrl(slack) || !slack.startsWith("https://"))
  ) {
    problems.push(
      `${key("alertSlackWebhookUrl")}: [secret] must be an https:// URL; use the Slack app's incoming-webhook URL`,
    );
  }

  const deadMansSwitch = secrets.deadMansSwitchUrl;
  if (deadMansSwitch !== undefined && !deadMansSwitch.startsWith(SECRET_PLACEHOLDER)) {
    const problem = checkNotificationUrl(deadMansSwitch);
    if (problem)
      problems.push(
        `${key("deadMansSwitchUrl")}: [secret] ${problem}; use the check's ping URL, e.g. https://hc-ping.com/<uuid>`,
      );
  }
  const runbookBase = r.str("runbookBase");
  if (runbookBase !== "") {
    const problem = checkNotificationUrl(runbookBase) ?? (new URL(runbookBase).hash ? "has a #fragment" : undefined);
    if (problem)
      problems.push(
        `${key("runbookBase")}: ${show(withoutUserinfo(runbookBase))} ${problem}; give the https URL of docs/runbooks.md on the repository's hosting, without #, e.g. https://git.example.ca/team/northstack/blob/main/docs/runbooks.md`,
      );
  }

  if (profile.requiresAlertReceiver) {
    if (!r.bool("monitoring")) {
      problems.push(
        `${key("monitoring")}: false is not allowed on ${environment}; its alerts must reach a person, so monitoring must run`,
      );
    } else if (!RECEIVER_KEYS.some((k) => (k === "alertEmailTo" ? to !== "" : secrets[k] !== undefined))) {
      problems.push(
        `${key("alertPagerdutyRoutingKey")}: unset, and no other alert receiver is configured, so ${environment} alerts reach nobody; set ${RECEIVER_KEYS.map(key).join(", ")} (email with ${key("alertSmtpSmarthost")})`,
      );
    }
  }
  return {
    ...(to !== "" && smarthost !== "" ? { email: { to, from: from || to, smarthost } } : {}),
    slackChannel,
    runbookBase: runbookBase || DEFAULT_RUNBOOK_BASE,
  };
}
