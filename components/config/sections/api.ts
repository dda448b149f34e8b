import { SERVICE_NAME, checkApiEnvName, checkPinnedImage, checkPlainEnvEntry, showPlainEnvEntry } from "../checks";
import { ConfigReader, Problems, key, show } from "../reader";
import { NorthstackConfig } from "../schema";
import { Platform } from "./platform";

/** Names the built-in workloads and routes use; an extra service may neither take nor extend one. */
const RESERVED_SERVICE_NAMES = [
  "api",
  "kong",
  "postgres",
  "redis",
  "supabase",
  "auth",
  "rest",
  "realtime",
  "storage",
  "pg",
  "studio",
  "meta",
  "docker",
];

/** The API's image (pinned; required where the profile says so), replicas, limits and host port. */
export function readApi(
  r: ConfigReader,
  problems: Problems,
  { environment, profile }: Platform,
): Omit<NorthstackConfig["api"], "env" | "secretEnv"> {
  const image = r.str("apiImage");
  if (image) {
    const problem = checkPinnedImage(image);
    if (problem) problems.push(`${key("apiImage")}: ${show(image)} ${problem}`);
  } else if (profile.requiresApiImage) {
    problems.push(
      `${key("apiImage")}: required on ${environment}: a pinned image in a registry the cluster can pull from`,
    );
  }
  if (!r.invalid("apiReplicas") && !r.invalid("apiMaxReplicas") && r.int("apiMaxReplicas") < r.int("apiReplicas")) {
    problems.push(
      `${key("apiMaxReplicas")}: ${r.int("apiMaxReplicas")} is below ${key("apiReplicas")} (${r.int("apiReplicas")}); it must be at least that`,
    );
  }
  return {
    image,
    replicas: r.int("apiReplicas"),
    maxReplicas: r.int("apiMaxReplicas"),
    cpuMillis: r.int("apiCpuMillis"),
    memoryMb: r.int("apiMemoryMb"),
    hostPort: r.int("apiPort"),
  };
}

/** northstack:services: name=image entries with distinct, unreserved names and pinned images. */
export function readServices(r: ConfigReader, problems: Problems): NorthstackConfig["services"] {
  const services: { name: string; image: string }[] = [];
  for (const entry of r.list("services")) {
    const eq = entry.indexOf("=");
    const name = eq > 0 ? entry.slice(0, eq) : "";
    const image = entry.slice(eq + 1);
    if (!name || !SERVICE_NAME.test(name)) {
      problems.push(
        `${key("services")}: ${show(entry)} must be name=image with a DNS-label name of at most 30 characters`,
      );
    } else if (RESERVED_SERVICE_NAMES.some((reserved) => name === reserved || name.startsWith(`${reserved}-`))) {
      problems.push(
        `${key("services")}: ${show(name)} clashes with a built-in service; reserved: ${RESERVED_SERVICE_NAMES.join(", ")}`,
      );
    } else if (services.some((s) => s.name === name)) {
      problems.push(`${key("services")}: ${show(name)} is listed twice`);
    } else {
      const problem = checkPinnedImage(image);
      if (problem) problems.push(`${key("services")}: ${show(entry)}: image ${show(image)} ${problem}`);
      else services.push({ name, image });
    }
  }
  return services;
}

/** The API's extra environment: plain KEY=value entries and a secret JSON object, each name once and none the platform sets. */
export function readApiEnv(r: ConfigReader, problems: Problems): Pick<NorthstackConfig["api"], "env" | "secretEnv"> {
  const env: Record<string, string> = {};
  for (const entry of r.list("apiEnv")) {
    const eq = entry.indexOf("=");
    const name = eq > 0 ? entry.slice(0, eq) : "";
    const value = entry.slice(eq + 1);
    const problem = name ? checkApiEnvName(name) : undefined;
    const credential = name && !problem ? checkPlainEnvEntry(name, value, key("apiSecretEnv")) : undefined;
    if (!name) problems.push(`${key("apiEnv")}: ${show(entry)} must be KEY=value`);
    else if (problem)
      problems.push(`${key("apiEnv")}: ${show(showPlainEnvEntry(name, value))}: the name ${show(name)} ${problem}`);
    else if (credential) problems.push(`${key("apiEnv")}: ${show(showPlainEnvEntry(name, value))} ${credential}`);
    else if (name in env) problems.push(`${key("apiEnv")}: ${show(name)} is listed twice; give each name once`);
    else env[name] = value;
  }
  const secretEnv = (r.given("apiSecretEnv") ?? {}) as Readonly<Record<string, string>>;
  for (const name of Object.keys(secretEnv)) {
    const problem = checkApiEnvName(name);
    if (problem) problems.push(`${key("apiSecretEnv")}: the name ${show(name)} ${problem}`);
    else if (name in env)
      problems.push(`${key("apiSecretEnv")}: ${show(name)} is also set in ${key("apiEnv")}; give each name once`);
  }
  return { env, secretEnv };
}
