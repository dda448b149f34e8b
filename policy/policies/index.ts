/**
 * The northstack policies, importable without starting a policy pack (policy/index.ts does that).
 * Every policy is wrapped once by `withExemptions`, so exemptions behave the same everywhere.
 */
import { EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { backupsAndDeletionProtection as backups } from "./backups-and-deletion-protection";
import { containersLeastPrivilege as leastPrivilege } from "./containers-least-privilege";
import { containersRunAsNonRoot as nonRoot } from "./containers-run-as-non-root";
import { dataResidencyCanada as residency } from "./data-residency-canada";
import { encryptionAtRestAndInTransit as encryption } from "./encryption-at-rest-and-in-transit";
import { withExemptions } from "./framework";
import { imagesPinned as pinned } from "./images-pinned";
import { noPublicDataServices as noPublic } from "./no-public-data-services";
import { postgresRlsRequired as rls } from "./postgres-rls-required";
import { workloadsHaveLimitsAndProbes as limits } from "./workloads-have-limits-and-probes";

/** Level of a policy that the pack config does not set: strict unless a stack opts down (dev: advisory). */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

export const containersRunAsNonRoot = withExemptions(nonRoot);
export const containersLeastPrivilege = withExemptions(leastPrivilege);
export const postgresRlsRequired = withExemptions(rls);
export const dataResidencyCanada = withExemptions(residency);
export const imagesPinned = withExemptions(pinned);
export const encryptionAtRestAndInTransit = withExemptions(encryption);
export const noPublicDataServices = withExemptions(noPublic);
export const backupsAndDeletionProtection = withExemptions(backups);
export const workloadsHaveLimitsAndProbes = withExemptions(limits);

export type NorthstackPolicy = ResourceValidationPolicy | (ResourceValidationPolicy & StackValidationPolicy);

export const policies: NorthstackPolicy[] = [
  containersRunAsNonRoot,
  containersLeastPrivilege,
  postgresRlsRequired,
  dataResidencyCanada,
  imagesPinned,
  encryptionAtRestAndInTransit,
  noPublicDataServices,
  backupsAndDeletionProtection,
  workloadsHaveLimitsAndProbes,
];
