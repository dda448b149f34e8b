import { checkPostgresPassword, checkRedisPassword, checkUrl } from "../checks";
import { ConfigReader, Problems, key } from "../reader";
import { NorthstackConfig, SECRET_KEYS, SECRET_PLACEHOLDER, SecretKey } from "../schema";

/**
 * The secret keys given, each checked against the rules of the service that takes it. Messages show
 * a secret as `[secret]` or `[secret of N chars]`, never its value.
 */
export function readSecrets(r: ConfigReader, problems: Problems): NorthstackConfig["secrets"] {
  const secrets: Partial<Record<SecretKey, string>> = {};
  for (const k of SECRET_KEYS) {
    const v = r.given(k);
    if (typeof v === "string" && v !== "") secrets[k] = v;
  }
  if (secrets.jwtSecret !== undefined && secrets.jwtSecret.length < 32) {
    problems.push(
      `${key("jwtSecret")}: [secret of ${secrets.jwtSecret.length} chars] is too short; it must be at least 32 characters`,
    );
  }
  // The offline plan replaces secure values with a placeholder, which is not a URL.
  if (secrets.alertWebhookUrl !== undefined && !secrets.alertWebhookUrl.startsWith(SECRET_PLACEHOLDER)) {
    if (checkUrl(secrets.alertWebhookUrl) || !secrets.alertWebhookUrl.startsWith("https://")) {
      problems.push(`${key("alertWebhookUrl")}: [secret] must be an https:// URL`);
    }
  }
  const redisProblem = secrets.redisPassword === undefined ? undefined : checkRedisPassword(secrets.redisPassword);
  if (redisProblem)
    problems.push(`${key("redisPassword")}: [secret of ${secrets.redisPassword?.length} chars] ${redisProblem}`);
  const postgresProblem =
    secrets.postgresPassword === undefined ? undefined : checkPostgresPassword(secrets.postgresPassword);
  if (postgresProblem)
    problems.push(
      `${key("postgresPassword")}: [secret of ${secrets.postgresPassword?.length} chars] ${postgresProblem}`,
    );
  return secrets;
}
