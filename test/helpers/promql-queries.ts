/**
 * PromQL as the live-fire test reads it: the "signal" of an alert (what it compares to its threshold),
 * the metric names an expression reads, and every query a rendered Grafana dashboard holds, with its
 * template variables filled in.
 */
import { parser } from "@prometheus-io/lezer-promql";
import * as YAML from "yaml";

type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];

const COMPARISONS = new Set(["Eql", "Neq", "Gtr", "Lss", "Gte", "Lte"]);
const SET_OPERATORS = new Set(["And", "Or", "Unless"]);
const ABSENT = new Set(["absent", "absent_over_time"]);

function parse(expr: string): SyntaxNode {
  const tree = parser.parse(expr);
  let error: number | undefined;
  tree.iterate({
    enter: (n) => {
      if (n.type.isError && error === undefined) error = n.from;
    },
  });
  if (error !== undefined) throw new Error(`PromQL does not parse at offset ${error}: ${expr}`);
  return tree.topNode;
}

/** The operator of a BinaryExpr: the node right after its left operand. */
const operatorOf = (node: SyntaxNode): SyntaxNode | null => node.firstChild?.nextSibling ?? null;

/**
 * The signal of an alert expression: the same query with its thresholds taken out, so that it returns
 * a series for everything the alert watches, firing or not. The method:
 * - the "spine" of the expression is its root, the inside of parentheses on it, and both operands of
 *   `and` / `or` / `unless` on it;
 * - a comparison on the spine (`==`, `!=`, `>`, `<`, `>=`, `<=`) gets the `bool` modifier, so it
 *   returns 0 or 1 for every series instead of filtering (`up == 0` becomes `up == bool 0`);
 * - `absent(x)` or `absent_over_time(x[r])` on the spine becomes `x` (resp. `x[r]`'s selector): it fires
 *   on x missing, so its signal is x being there;
 * - comparisons below the spine (inside a function, an aggregation or arithmetic, e.g. a
 *   `(redis_memory_max_bytes > 0)` denominator) are part of the value and stay.
 * `and` still matches on labels, so a signal returns data only when both sides have it.
 */
export function signalOf(expr: string): string {
  const edits: { from: number; to: number; text: string }[] = [];
  const visit = (node: SyntaxNode): void => {
    if (node.name === "PromQL" || node.name === "ParenExpr") {
      for (let c = node.firstChild; c; c = c.nextSibling) visit(c);
      return;
    }
    if (node.name === "FunctionCall") {
      const fn = expr.slice(node.firstChild!.from, node.firstChild!.to);
      const body = node.getChild("FunctionCallBody");
      const arg = body?.firstChild;
      if (ABSENT.has(fn) && arg) {
        const inner = arg.name === "MatrixSelector" ? arg.firstChild! : arg;
        edits.push({ from: node.from, to: node.to, text: `(${expr.slice(inner.from, inner.to)})` });
      }
      return;
    }
    if (node.name !== "BinaryExpr") return;
    const op = operatorOf(node);
    if (!op) return;
    if (SET_OPERATORS.has(op.name)) {
      visit(node.firstChild!);
      visit(node.lastChild!);
    } else if (COMPARISONS.has(op.name) && !node.getChild("BoolModifier")) {
      edits.push({ from: op.to, to: op.to, text: " bool" });
    }
  };
  visit(parse(expr));
  let out = expr;
  for (const e of edits.sort((a, b) => b.from - a.from)) out = out.slice(0, e.from) + e.text + out.slice(e.to);
  parse(out);
  return out;
}

/** Every metric name the expression selects (by name or by a `__name__="..."` matcher). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  const tree = parser.parse(expr);
  tree.iterate({
    enter: (n) => {
      if (n.name === "VectorSelector") {
        const id = n.node.getChild("Identifier");
        if (id) names.add(expr.slice(id.from, id.to));
        const text = expr.slice(n.from, n.to);
        for (const m of text.matchAll(/__name__\s*=\s*"([^"]+)"/g)) names.add(m[1]);
      }
    },
  });
  return [...names];
}

/** One query of one dashboard panel, as Grafana stores it. */
export interface PanelQuery {
  /** `<dashboard title> / <panel title> [<refId>]`: the name the test's tables use. */
  readonly name: string;
  /** The type of the data source it runs on, e.g. `prometheus` (PromQL) or `loki` (LogQL). */
  readonly datasource: string;
  readonly expr: string;
}

interface DatasourceRef {
  type?: string;
  uid?: string;
}

interface PanelLike {
  title?: string;
  datasource?: DatasourceRef | string | null;
  targets?: { expr?: unknown; refId?: string; datasource?: DatasourceRef | string | null }[];
  panels?: PanelLike[];
}

/** The provisioned data sources (datasources.yml): the type of each uid, and of the default. */
export interface Datasources {
  readonly typeByUid: Readonly<Record<string, string>>;
  readonly defaultType: string;
}

export function provisionedDatasources(datasourcesYaml: string): Datasources {
  const list = (YAML.parse(datasourcesYaml) as { datasources: { uid: string; type: string; isDefault?: boolean }[] })
    .datasources;
  const fallback = list.find((d) => d.isDefault) ?? list[0];
  return { typeByUid: Object.fromEntries(list.map((d) => [d.uid, d.type])), defaultType: fallback.type };
}

/**
 * Every query of a dashboard: `targets[].expr` of each panel, rows' nested panels included, with the
 * type of the data source it runs on (the target's, else the panel's, else the default).
 */
export function dashboardQueries(dashboardJson: string, datasources: Datasources): PanelQuery[] {
  const dashboard = JSON.parse(dashboardJson) as { title?: string; panels?: PanelLike[] };
  const typeOf = (ref: DatasourceRef | string | null | undefined): string | undefined => {
    if (!ref) return undefined;
    if (typeof ref === "string") return datasources.typeByUid[ref];
    return ref.type ?? (ref.uid ? datasources.typeByUid[ref.uid] : undefined);
  };
  const out: PanelQuery[] = [];
  const walk = (panels: PanelLike[] | undefined): void => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? [])
        if (typeof t.expr === "string" && t.expr.trim() !== "")
          out.push({
            name: `${dashboard.title ?? "?"} / ${p.title ?? "?"} [${t.refId ?? "?"}]`,
            datasource: typeOf(t.datasource) ?? typeOf(p.datasource) ?? datasources.defaultType,
            expr: t.expr,
          });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** A dashboard template variable as Grafana's JSON model stores it (the fields read here). */
export interface TemplateVariable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query?: string };
  readonly current?: { readonly value?: string | string[] };
  readonly options?: readonly { readonly value?: string }[];
  readonly multi?: boolean;
  readonly includeAll?: boolean;
  readonly allValue?: string;
}

export function templateVariables(dashboardJson: string): TemplateVariable[] {
  const dashboard = JSON.parse(dashboardJson) as { templating?: { list?: TemplateVariable[] } };
  return dashboard.templating?.list ?? [];
}

/** `label_values(selector, label)` or `label_values(label)` of a query variable; undefined for any other query. */
export function labelValuesQuery(v: TemplateVariable): { selector?: string; label: string } | undefined {
  const q = typeof v.query === "string" ? v.query : v.query?.query;
  const m = /^\s*label_values\(\s*(?:(.+?)\s*,\s*)?([a-zA-Z_][a-zA-Z0-9_]*)\s*\)\s*$/.exec(q ?? "");
  return m ? { selector: m[1], label: m[2] } : undefined;
}

/**
 * Grafana's built-in variables, at the values a dashboard open on the last hour of a stack scraped
 * every second would give them: $__rate_interval is at least four scrape intervals.
 */
export const BUILTIN_VARIABLES: Readonly<Record<string, string>> = {
  __rate_interval: "1m",
  __interval: "15s",
  __interval_ms: "15000",
  __range: "1h",
  __range_s: "3600",
  __range_ms: "3600000",
};

/**
 * Replaces `$name`, `${name}`, `${name:format}` and `[[name]]` with `values[name]`; returns the names it
 * found no value for, so a query with an undefined variable is reported rather than sent half-filled.
 */
export function substituteVariables(
  expr: string,
  values: Readonly<Record<string, string>>,
): { expr: string; missing: string[] } {
  const missing = new Set<string>();
  const value = (name: string, whole: string): string => {
    if (name in values) return values[name];
    missing.add(name);
    return whole;
  };
  const out = expr
    .replace(/\$\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-zA-Z]+)?\}/g, (whole, name: string) => value(name, whole))
    .replace(/\[\[([a-zA-Z_][a-zA-Z0-9_]*)\]\]/g, (whole, name: string) => value(name, whole))
    .replace(/\$([a-zA-Z_][a-zA-Z0-9_]*)/g, (whole, name: string) => value(name, whole));
  return { expr: out, missing: [...missing] };
}
