import { checkRegion } from "../checks";
import { ENVIRONMENTS, Environment, EnvironmentProfile, PROFILES } from "../profile";
import { ConfigReader, Problems, Raw, key, show } from "../reader";
import { CANADIAN_REGIONS, Cloud } from "../schema";

/** Which environment the stack is, its profile, and where its data lives. */
export interface Platform {
  readonly environment: Environment;
  readonly profile: EnvironmentProfile;
  readonly cloud: Cloud;
  /** The primary and DR regions; empty when cloud is "local". */
  readonly region: string;
  readonly drRegion: string;
  /** False when northstack:cloud was rejected: `cloud` is then the default, which rules about the cloud must not judge. */
  readonly cloudKnown: boolean;
}

/**
 * environment (given, or else the stack name), cloud (one the profile allows) and regions (Canadian,
 * primary and DR distinct). A rule whose premise the user got wrong is skipped, so each mistake is
 * reported once, against the key the user set: an unknown environment does not judge the cloud, a
 * rejected cloud does not judge the regions, and a DR region left unset follows the primary region
 * to the other Canadian region.
 */
export function readPlatform(r: ConfigReader, problems: Problems, stack: string): Platform {
  let environment: Environment;
  // A rejected environment leaves the profile a guess (the stack name's, or dev's), so the cloud is not judged by it.
  let environmentKnown = !r.invalid("environment");
  const givenEnvironment = r.given("environment");
  if (givenEnvironment !== undefined) {
    environment = givenEnvironment as Environment;
  } else if ((ENVIRONMENTS as readonly string[]).includes(stack)) {
    environment = stack as Environment;
  } else {
    // Dropped by parseConfig when the environment given was rejected: that problem is the root cause.
    problems.push(
      `${key("environment")}: not set and the stack name ${show(stack)} is not one of ${ENVIRONMENTS.join(", ")}; set it to one of those`,
    );
    environment = "dev";
    environmentKnown = false;
  }
  const profile = PROFILES[environment];

  const cloud = r.str("cloud") as Cloud;
  const cloudKnown = !r.invalid("cloud");
  if (environmentKnown && cloudKnown && !profile.clouds.includes(cloud)) {
    problems.push(
      profile.runtime === "docker"
        ? `${key("cloud")}: ${show(cloud)} is not allowed on a ${environment} stack, which runs on local Docker; use ${profile.clouds.map(show).join(" or ")}`
        : `${key("cloud")}: ${show(cloud)} is not allowed on a ${environment} stack; use ${profile.clouds.map(show).join(" or ")}`,
    );
  }

  let region = "";
  let drRegion = "";
  if (cloud === "aws" || cloud === "gcp") {
    const { primary, dr } = CANADIAN_REGIONS[cloud];
    region = r.str("region") || primary;
    drRegion = r.str("drRegion") || (region === dr ? primary : dr);
    const outside = new Set<string>();
    for (const [k, v] of [
      ["region", region],
      ["drRegion", drRegion],
    ] as const) {
      const problem = checkRegion(cloud, v);
      if (problem) {
        problems.push(`${key(k)}: ${show(v)} ${problem}`);
        outside.add(k);
      }
    }
    if (region === drRegion && outside.size === 0) {
      // Only reachable when drRegion is given (an unset one follows region), so it is the key to blame.
      problems.push(
        `${key("drRegion")}: ${show(drRegion)} equals ${key("region")}; DR copies need the other Canadian region (${CANADIAN_REGIONS[cloud].allowed.join(", ")})`,
      );
    }
  } else if (cloudKnown) {
    for (const k of ["region", "drRegion"] as const) {
      if (r.given(k) !== undefined)
        problems.push(`${key(k)}: ${show(r.given(k))} has no meaning when cloud is "local"; remove it`);
    }
  }

  return { environment, profile, cloud, region, drRegion, cloudKnown };
}

/**
 * The providers' own region keys (`aws:region`, `gcp:region`): every resource takes an explicit
 * provider in northstack:region, but a default provider would use these, so they stay in Canada too.
 */
export function checkProviderRegions(raw: Raw, problems: Problems): void {
  for (const cloud of ["aws", "gcp"] as const) {
    const value = raw[`${cloud}:region`];
    if (value === undefined) continue;
    const problem = checkRegion(cloud, value);
    if (problem) problems.push(`${cloud}:region: ${show(value)} ${problem}`);
  }
}
