import { ConfigError, parseConfig } from "../../components/config";

/** Prefixes bare keys with `northstack:`; keys with a namespace stay as given. */
export const ns = (o: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k.includes(":") ? k : `northstack:${k}`, v]));

/** The problems parseConfig reports for a stack (none when it accepts it); anything but a ConfigError fails the test. */
export function configProblems(raw: Record<string, string>, stack: string): string[] {
  try {
    parseConfig(ns(raw), stack);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  return [];
}
