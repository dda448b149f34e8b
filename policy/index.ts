/**
 * The northstack CrossGuard pack. Run it with
 *   pulumi preview --stack <s> --policy-pack policy --policy-pack-config policy/config.<s>.json
 * This is the only module that constructs the PolicyPack: constructing one starts the gRPC server the
 * Pulumi CLI talks to, so tests and the offline plan import ./policies instead.
 */
import { PolicyPack } from "@pulumi/policy";
import { PACK_ENFORCEMENT_LEVEL, policies } from "./policies";

new PolicyPack("northstack", {
  description:
    "northstack guarantees: non-root least-privilege containers, RLS on every exposed table, data in Canada, and the controls around them.",
  enforcementLevel: PACK_ENFORCEMENT_LEVEL,
  policies,
});
