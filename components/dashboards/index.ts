// ts-node type-checks only what is imported, so the SDK subpath typings are referenced, not only included.
// eslint-disable-next-line @typescript-eslint/triple-slash-reference
/// <reference path="./sdk.d.ts" />
/**
 * The stack's Grafana dashboards, built with the Grafana Foundation SDK and rendered to the JSON
 * model Grafana's file provider reads from DASHBOARDS_DIR. Pure: the same stack renders the same
 * bytes (uids derive from the stack and each dashboard's slug; no timestamps, no version counters).
 */
import { DashboardBuilder } from "@grafana/grafana-foundation-sdk/dashboard";
import { apiDashboard } from "./api";
import { backupsDashboard } from "./backups";
import { databaseDashboard } from "./database";
import { gatewayDashboard } from "./gateway";
import { realtimeDashboard } from "./realtime";
import { systemDashboard } from "./system";

export { DATASOURCES, dashboardUid } from "./panels";
export { REALTIME_SERVICES, REALTIME_WORKLOAD } from "./realtime";

/** Every dashboard, by the file it is provisioned as. */
const DASHBOARDS: Readonly<Record<string, (stack: string) => DashboardBuilder>> = {
  "system.json": systemDashboard,
  "database.json": databaseDashboard,
  "realtime.json": realtimeDashboard,
  "gateway.json": gatewayDashboard,
  "api.json": apiDashboard,
  "backups.json": backupsDashboard,
};

export const DASHBOARD_FILES = Object.keys(DASHBOARDS);

export interface DashboardsArgs {
  /** Stack name: in each dashboard's title, uid and tags, and the value of its `stack` variable. Required. */
  readonly stack: string;
}

interface PanelJson {
  id?: number;
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: { refId?: string; expr?: string; datasource?: { type?: string; uid?: string } }[];
}

/** The built dashboard as Grafana's JSON model, panels numbered in layout order. */
function build(stack: string, make: (stack: string) => DashboardBuilder): Record<string, unknown> {
  const model = JSON.parse(JSON.stringify(make(stack).build())) as { panels?: PanelJson[] };
  (model.panels ?? []).forEach((panel, i) => {
    panel.id = i + 1;
  });
  return model;
}

/** File name under DASHBOARDS_DIR -> dashboard JSON. */
export function renderDashboards(args: DashboardsArgs): Record<string, string> {
  return Object.fromEntries(
    Object.entries(DASHBOARDS).map(([file, make]) => [file, `${JSON.stringify(build(args.stack, make), null, 2)}\n`]),
  );
}

/** One panel query, with where it is shown. */
export interface DashboardQuery {
  readonly file: string;
  readonly dashboard: string;
  readonly panel: string;
  readonly refId: string;
  /** The data source type: PromQL for `prometheus`, LogQL for `loki`. */
  readonly datasource: "prometheus" | "loki";
  readonly expr: string;
}

/**
 * Every panel query of every dashboard, read back from the rendered JSON (so it lists exactly what
 * Grafana runs). Expressions keep their template variables ($instance, $__rate_interval...).
 */
export function dashboardQueries(args: DashboardsArgs): DashboardQuery[] {
  return Object.entries(renderDashboards(args)).flatMap(([file, text]) => {
    const model = JSON.parse(text) as { title: string; panels?: PanelJson[] };
    return (model.panels ?? []).flatMap((panel) =>
      (panel.targets ?? []).map((target) => {
        const type = target.datasource?.type ?? panel.datasource?.type;
        if ((type !== "prometheus" && type !== "loki") || target.expr === undefined)
          throw new Error(
            `dashboard ${file}: panel ${JSON.stringify(panel.title)} has a query without a Prometheus or Loki expression`,
          );
        return {
          file,
          dashboard: model.title,
          panel: panel.title ?? "",
          refId: target.refId ?? "",
          datasource: type,
          expr: target.expr,
        };
      }),
    );
  });
}
