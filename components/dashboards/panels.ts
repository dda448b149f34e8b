// ts-node type-checks only what is imported, so the SDK subpath typings are referenced, not only included.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./sdk.d.ts" />
/**
 * The building blocks every northstack dashboard is made of: panels over the two provisioned data
 * sources, and the template variables they filter by. Each panel query gets a refId and names its
 * data source, so the rendered JSON can be read by tools other than Grafana (the live Prometheus
 * check reads `targets[].expr`).
 */
import { createHash } from "crypto";
import * as common from "@grafana/grafana-foundation-sdk/common";
import {
  AnnotationQueryBuilder,
  CustomVariableBuilder,
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableHide,
  VariableSort,
} from "@grafana/grafana-foundation-sdk/dashboard";
import * as logs from "@grafana/grafana-foundation-sdk/logs";
import * as loki from "@grafana/grafana-foundation-sdk/loki";
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";

/** The provisioned data sources (renderGrafanaDatasources), by the uid panels refer to them with. */
export const DATASOURCES = {
  prometheus: { type: "prometheus", uid: "prometheus" },
  loki: { type: "loki", uid: "loki" },
} as const;

/** A Prometheus query and the legend of each series it returns. */
export interface PromQuery {
  readonly expr: string;
  /** Grafana legend template, e.g. `{{route}}`. Default: Grafana's (the series' labels). */
  readonly legend?: string;
}

/** A panel's grid size: 24 columns wide in all. */
interface Size {
  /** Default: 12 (half the width). */
  readonly width?: number;
  /** Default: 8. */
  readonly height?: number;
}

const refId = (i: number) => String.fromCharCode("A".charCodeAt(0) + i);

function promTargets(queries: readonly PromQuery[], instant = false) {
  return queries.map((q, i) => {
    const target = new prometheus.DataqueryBuilder().refId(refId(i)).datasource(DATASOURCES.prometheus).expr(q.expr);
    if (q.legend !== undefined) target.legendFormat(q.legend);
    return instant ? target.instant() : target.range();
  });
}

/** Series over time; `unit` is a Grafana unit id (reqps, percentunit, bytes, s, ms, short). */
export function graph(
  title: string,
  unit: string,
  queries: readonly PromQuery[],
  opts: Size & { readonly description?: string; readonly min?: number; readonly max?: number } = {},
): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder()
    .title(title)
    .unit(unit)
    .datasource(DATASOURCES.prometheus)
    .targets(promTargets(queries))
    .span(opts.width ?? 12)
    .height(opts.height ?? 8)
    .fillOpacity(10)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    );
  if (opts.description) panel.description(opts.description);
  if (opts.min !== undefined) panel.min(opts.min);
  if (opts.max !== undefined) panel.max(opts.max);
  return panel;
}

/**
 * One number, the latest value of `query`. `thresholds` colour it: each step's colour holds from its
 * value up; the first step starts at -infinity.
 */
export function single(
  title: string,
  unit: string,
  query: PromQuery,
  opts: Size & {
    readonly description?: string;
    readonly thresholds?: readonly [number | null, string][];
  } = {},
): stat.PanelBuilder {
  const steps = opts.thresholds ?? [[null, "green"]];
  const panel = new stat.PanelBuilder()
    .title(title)
    .unit(unit)
    .datasource(DATASOURCES.prometheus)
    .targets(promTargets([query], true))
    .span(opts.width ?? 6)
    .height(opts.height ?? 4)
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(common.BigValueColorMode.Background)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false))
    .thresholds(
      new ThresholdsConfigBuilder()
        .mode(ThresholdsMode.Absolute)
        .steps(steps.map(([value, color]) => ({ value, color }))),
    );
  if (opts.description) panel.description(opts.description);
  return panel;
}

/** Log lines from Loki, newest first; `expr` is a LogQL log query. */
export function logLines(title: string, expr: string, opts: Size & { readonly description?: string } = {}) {
  const panel = new logs.PanelBuilder()
    .title(title)
    .datasource(DATASOURCES.loki)
    .withTarget(new loki.DataqueryBuilder().refId("A").datasource(DATASOURCES.loki).expr(expr).maxLines(500))
    .span(opts.width ?? 12)
    .height(opts.height ?? 8)
    .showTime(true)
    .wrapLogMessage(true)
    .enableLogDetails(true)
    .sortOrder(common.LogsSortOrder.Descending);
  if (opts.description) panel.description(opts.description);
  return panel;
}

/**
 * The share of 5xx among `series{matchers}`, 0 (not "no data") while there is traffic but no 5xx,
 * and no data only when there is no traffic at all.
 */
export function serverErrorRatio(series: string, matchers: string, statusLabel: string): string {
  const all = `sum(${series}{${matchers}})`;
  return `(sum(${series}{${matchers}, ${statusLabel}=~"5.."}) or ${all} * 0) / ${all}`;
}

/** WAL segments archived and failed per instance: on the Database dashboard and the Backups one. */
export function walArchiverQueries(matchers: string) {
  return [
    {
      expr: `sum by (instance) (increase(pg_stat_archiver_archived_count{${matchers}}[$__rate_interval]))`,
      legend: "archived {{instance}}",
    },
    {
      expr: `sum by (instance) (increase(pg_stat_archiver_failed_count{${matchers}}[$__rate_interval]))`,
      legend: "failed {{instance}}",
    },
  ];
}

export const row = (title: string) => new RowBuilder(title);

/**
 * The stack the dashboard belongs to. Each stack provisions its own Grafana, so the variable has
 * one value. Log streams carry `stack` (the shipper adds it); Prometheus series do not (`stack` is
 * an external label, added only when series leave Prometheus), so only LogQL filters by it.
 */
export function stackVariable(stack: string) {
  return new CustomVariableBuilder("stack").label("Stack").values(stack).current({ text: stack, value: stack });
}

/**
 * A Prometheus label's values (`label_values(<selector>, <label>)`), multi-select with "All", so a
 * panel filters with `label=~"$name"`. A filter's "All" is `.*`, every value, seen yet or not.
 *
 * A hidden variable carries values between data sources instead, e.g. the `workload` label of the
 * API's series into a log selector. Its "All" is the values found, joined into a regex: `.*`
 * there would select every workload's logs.
 */
export function labelVariable(
  name: string,
  label: string,
  selector: string,
  opts: { readonly title?: string; readonly hidden?: boolean } = {},
) {
  const variable = new QueryVariableBuilder(name)
    .label(opts.title ?? name)
    .datasource(DATASOURCES.prometheus)
    .query(`label_values(${selector}, ${label})`)
    .definition(`label_values(${selector}, ${label})`)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .current({ text: "All", value: "$__all" });
  if (opts.hidden) variable.hide(VariableHide.HideVariable);
  else variable.allValue(".*");
  return variable;
}

/** A log stream selector for the stack's streams whose label matches `matchers` (e.g. `workload=~"$workload"`). */
export function streams(...matchers: string[]): string {
  return `{${['stack="$stack"', ...matchers].join(", ")}}`;
}

/** Grafana refuses a uid over 40 characters. */
const MAX_UID = 40;

/**
 * The dashboard's uid: readable from the stack and the dashboard's slug, or, for a stack name too
 * long for that, the slug and a hash of the stack. Stable across renders, so links and bookmarks
 * survive a redeploy.
 */
export function dashboardUid(stack: string, slug: string): string {
  const readable = `northstack-${stack}-${slug}`;
  if (readable.length <= MAX_UID) return readable;
  return `northstack-${slug}-${createHash("sha256").update(stack).digest("hex").slice(0, 12)}`;
}

/**
 * Grafana's built-in annotations; without one the SDK renders `annotations: {}`, with no `list` for
 * Grafana to read.
 */
const builtInAnnotations = () =>
  new AnnotationQueryBuilder()
    .name("Annotations & Alerts")
    .datasource({ type: "grafana", uid: "-- Grafana --" })
    .type("dashboard")
    .builtIn(1)
    .enable(true)
    .hide(true)
    .iconColor("rgba(0, 211, 255, 1)");

/** A dashboard of the stack: its uid, title, tags, and a menu linking every other northstack dashboard. */
export function stackDashboard(stack: string, slug: string, title: string, description: string): DashboardBuilder {
  return new DashboardBuilder(`northstack ${stack}: ${title}`)
    .uid(dashboardUid(stack, slug))
    .description(description)
    .tags(["northstack", stack, slug])
    .readonly()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: "now-6h", to: "now" })
    .refresh("1m")
    .annotation(builtInAnnotations())
    .link(
      new DashboardLinkBuilder("northstack")
        .type(DashboardLinkType.Dashboards)
        .tags(["northstack", stack])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    )
    .withVariable(stackVariable(stack));
}
