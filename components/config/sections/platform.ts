import { checkRegion } from "../checks";
import { ENVIRONMENTS, Environment, EnvironmentProfile, PROFILES } from "../profile";
import { ConfigReader, Problems, key, show } from "../reader";
import { CANADIAN_REGIONS, Cloud } from "../schema";

/** Which environment the stack is, its profile, and where its data lives. */
export interface Platform {
  readonly environment: Environment;
  readonly profile: EnvironmentProfile;
  readonly cloud: Cloud;
  /** The primary and DR regions; empty when cloud is "local". */
  readonly region: string;
  readonly drRegion: string;
}

/**
 * environment (given, or else the stack name), cloud (one the profile allows) and regions (Canadian,
 * primary and DR distinct). Equal regions are reported only when no problem is reported yet, so a
 * region already reported as outside Canada is not reported twice.
 */
export function readPlatform(r: ConfigReader, problems: Problems, stack: string): Platform {
  let environment: Environment;
  const givenEnvironment = r.given("environment");
  if (givenEnvironment !== undefined) {
    environment = givenEnvironment as Environment;
  } else if ((ENVIRONMENTS as readonly string[]).includes(stack)) {
    environment = stack as Environment;
  } else {
    problems.push(
      `${key("environment")}: not set and the stack name ${show(stack)} is not one of ${ENVIRONMENTS.join(", ")}; set it to one of those`,
    );
    environment = "dev";
  }
  const profile = PROFILES[environment];

  const cloud = r.str("cloud") as Cloud;
  if (!profile.clouds.includes(cloud)) {
    problems.push(
      profile.runtime === "docker"
        ? `${key("cloud")}: ${show(cloud)} is not allowed on a ${environment} stack, which runs on local Docker; use ${profile.clouds.map(show).join(" or ")}`
        : `${key("cloud")}: ${show(cloud)} is not allowed on a ${environment} stack; use ${profile.clouds.map(show).join(" or ")}`,
    );
  }

  let region = "";
  let drRegion = "";
  if (cloud === "aws" || cloud === "gcp") {
    region = r.str("region") || CANADIAN_REGIONS[cloud].primary;
    drRegion = r.str("drRegion") || CANADIAN_REGIONS[cloud].dr;
    for (const [k, v] of [
      ["region", region],
      ["drRegion", drRegion],
    ] as const) {
      const problem = checkRegion(cloud, v);
      if (problem) problems.push(`${key(k)}: ${show(v)} ${problem}`);
    }
    if (region === drRegion && !problems.length) {
      problems.push(
        `${key("drRegion")}: ${show(drRegion)} equals the primary region; DR copies need the other Canadian region`,
      );
    }
  } else {
    for (const k of ["region", "drRegion"] as const) {
      if (r.given(k) !== undefined)
        problems.push(`${key(k)}: ${show(r.given(k))} has no meaning when cloud is "local"; remove it`);
    }
  }

  return { environment, profile, cloud, region, drRegion };
}
