/**
 * Checks for dashboard queries: Grafana template variables replaced by sample values (PromQL and
 * LogQL parsers know nothing of `$instance`), PromQL parsed with Prometheus's own Lezer grammar,
 * and the metric names a query reads.
 */
import { parser } from "@prometheus-io/lezer-promql";

/**
 * A sample value for every template variable a dashboard query may use: Grafana's built-ins and
 * northstack's own. A query using a variable not listed here fails substitution, so a new variable
 * gets a sample before its queries can pass.
 */
export const VARIABLE_SAMPLES: Readonly<Record<string, string>> = {
  __rate_interval: "1m",
  __interval: "15s",
  __range: "6h",
  stack: "dev",
  instance: "10.0.0.7:9187",
  redis_instance: "10.0.0.8:9121",
  exporter: "monitoring-postgres-exporter",
  job: "api",
  route: "api-v1",
  workload: "api",
  gateway: "kong",
  kind: "dump",
};

/** `expr` with each `$name` / `${name}` replaced by its sample; throws on a variable without one. */
export function substituteVariables(expr: string): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (match, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare) as string;
    const sample = VARIABLE_SAMPLES[name];
    if (sample === undefined)
      throw new Error(`${match} in ${JSON.stringify(expr)} has no sample value; add one to VARIABLE_SAMPLES`);
    return sample;
  });
}

/** The template variables `expr` uses, without Grafana's `__` built-ins. */
export function variablesUsed(expr: string): string[] {
  return [...expr.matchAll(/\$\{(\w+)\}|\$(\w+)/g)].map((m) => m[1] ?? m[2]).filter((n) => !n.startsWith("__"));
}

/** Where the Lezer PromQL grammar found an error in `promql` (empty: it parses). */
export function promqlErrors(promql: string): string[] {
  const errors: string[] = [];
  parser.parse(promql).iterate({
    enter: (node) => {
      if (node.type.isError)
        errors.push(`error at ${node.from}: ${JSON.stringify(promql.slice(node.from, node.from + 20))}`);
    },
  });
  return errors;
}

/** The metric names `promql` selects (each vector selector's name). */
export function metricNames(promql: string): string[] {
  const names = new Set<string>();
  const cursor = parser.parse(promql).cursor();
  do {
    if (cursor.type.name === "Identifier" && cursor.node.parent?.type.name === "VectorSelector")
      names.add(promql.slice(cursor.from, cursor.to));
  } while (cursor.next());
  return [...names];
}

/** The label matchers of a LogQL stream selector; throws unless `logql` starts with a valid one. */
export function logStreamMatchers(logql: string): { label: string; op: string; value: string }[] {
  const selector = /^\{([^}]*)\}/.exec(logql);
  if (!selector) throw new Error(`${JSON.stringify(logql)} does not start with a stream selector {...}`);
  const matcher = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$/;
  const matchers = selector[1].split(",").map((part) => {
    const m = matcher.exec(part);
    if (!m) throw new Error(`${JSON.stringify(part)} in ${JSON.stringify(logql)} is not a label matcher`);
    return { label: m[1], op: m[2], value: m[3] };
  });
  // Loki refuses a selector whose every matcher could match the empty string.
  if (
    !matchers.some(
      (m) => (m.op === "=" && m.value !== "") || (m.op === "=~" && !new RegExp(`^(?:${m.value})$`).test("")),
    )
  )
    throw new Error(`${JSON.stringify(logql)}: a stream selector needs a matcher that cannot match empty`);
  return matchers;
}

/** Line filters after the selector (`|= "x"`, `|~ "re"`, ...); throws on anything else. */
export function logLineFilters(logql: string): { op: string; value: string }[] {
  let rest = logql.replace(/^\{[^}]*\}/, "");
  const filters: { op: string; value: string }[] = [];
  const filter = /^\s*(\|=|!=|\|~|!~)\s*"((?:[^"\\]|\\.)*)"/;
  while (rest.trim() !== "") {
    const m = filter.exec(rest);
    if (!m) throw new Error(`${JSON.stringify(rest)} in ${JSON.stringify(logql)} is not a line filter`);
    filters.push({ op: m[1], value: JSON.parse(`"${m[2]}"`) as string });
    rest = rest.slice(m[0].length);
  }
  return filters;
}
