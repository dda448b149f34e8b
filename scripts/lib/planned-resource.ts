/**
 * A custom resource as a plan records it, built by hand: for synthetic plans (the policy benchmark)
 * and for tests that feed the pack resources no program registered. No secrets: the printable and
 * the plain inputs are the same. No provider import, so the benchmark loads nothing it does not use.
 */
import type { PlannedResource } from "./mock-program";

/** The URN of `type` `name` at the root of the northstack project on `stack`. */
export function plannedUrn(stack: string, type: string, name: string): string {
  return `urn:pulumi:${stack}::northstack::${type}::${name}`;
}

/** A root custom resource of `stack` with these inputs; `extra` overrides any field. */
export function plannedResource(
  stack: string,
  type: string,
  name: string,
  inputs: Record<string, unknown>,
  extra: Partial<PlannedResource> = {},
): PlannedResource {
  return {
    urn: plannedUrn(stack, type, name),
    type,
    name,
    parent: null,
    custom: true,
    provider: null,
    inputs,
    plainInputs: inputs,
    dependencies: [],
    secretPaths: [],
    ...extra,
  };
}
