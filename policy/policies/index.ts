/**
 * The northstack policies, importable without starting a policy pack (policy/index.ts does that).
 * Every policy is wrapped once by `withExemptions`, so exemptions and messages behave the same everywhere.
 */
import { EnforcementLevel } from "@pulumi/policy";
import { backupsAndDeletionProtection as backups } from "./backups-and-deletion-protection";
import { containersLeastPrivilege as leastPrivilege } from "./containers-least-privilege";
import { containersRunAsNonRoot as nonRoot } from "./containers-run-as-non-root";
import { dataResidencyCanada as residency } from "./data-residency-canada";
import { encryptionAtRestAndInTransit as encryption } from "./encryption-at-rest-and-in-transit";
import { NorthstackPolicy, withExemptions } from "../lib/framework";
import { imagesByDigest as byDigest } from "./images-by-digest";
import { imagesPinned as pinned } from "./images-pinned";
import { noPublicDataServices as noPublic } from "./no-public-data-services";
import { postgresRlsRequired as rls } from "./postgres-rls-required";
import { workloadsHaveLimitsAndProbes as limits } from "./workloads-have-limits-and-probes";

export type { NorthstackPolicy } from "../lib/framework";

/** Level of a policy that the pack config does not set: strict unless a stack opts down (dev: advisory). */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

const definitions = [nonRoot, leastPrivilege, rls, residency, pinned, byDigest, encryption, noPublic, backups, limits];
/** The names an exemption may use. */
export const POLICY_NAMES: readonly string[] = definitions.map((p) => p.name);
const wrap = (p: (typeof definitions)[number]) => withExemptions(p, POLICY_NAMES);

export const containersRunAsNonRoot = wrap(nonRoot);
export const containersLeastPrivilege = wrap(leastPrivilege);
export const postgresRlsRequired = wrap(rls);
export const dataResidencyCanada = wrap(residency);
export const imagesPinned = wrap(pinned);
export const imagesByDigest = wrap(byDigest);
export const encryptionAtRestAndInTransit = wrap(encryption);
export const noPublicDataServices = wrap(noPublic);
export const backupsAndDeletionProtection = wrap(backups);
export const workloadsHaveLimitsAndProbes = wrap(limits);

export const policies: NorthstackPolicy[] = [
  containersRunAsNonRoot,
  containersLeastPrivilege,
  postgresRlsRequired,
  dataResidencyCanada,
  imagesPinned,
  imagesByDigest,
  encryptionAtRestAndInTransit,
  noPublicDataServices,
  backupsAndDeletionProtection,
  workloadsHaveLimitsAndProbes,
];
