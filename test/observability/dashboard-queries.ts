/**
 * Every PromQL query of the committed dashboards (dashboards/*.json), ready to run against
 * a real Prometheus: Grafana's interval macros become `1m`, template variables their
 * "All" value. Used by the structural tests here and by the integration query-proof.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DASHBOARD_DIR = join(REPO_ROOT, 'dashboards');

export interface DashboardQuery {
  /** Dashboard title. */
  dashboard: string;
  /** Panel title, or `annotation: <name>` for an annotation query. */
  panel: string;
  expr: string;
}

type Json = Record<string, any>;

export function loadDashboards(dir = DASHBOARD_DIR): Array<{ file: string; json: Json }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(dir, file), 'utf8')) as Json }));
}

/** Panels at any depth (rows may nest panels). */
export function allPanels(d: Json): Json[] {
  const out: Json[] = [];
  const walk = (ps: Json[] | undefined) => {
    for (const p of ps ?? []) {
      out.push(p);
      walk(p.panels);
    }
  };
  walk(d.panels);
  return out;
}

/** Replaces Grafana macros and the dashboard's template variables in `expr`. */
export function substitute(expr: string, d: Json): string {
  let e = expr
    .replace(/\$\{?__rate_interval\}?/g, '1m')
    .replace(/\$\{?__interval\}?/g, '1m')
    .replace(/\$\{?__range\}?/g, '1h');
  for (const v of (d.templating?.list ?? []) as Json[]) {
    if (v.type === 'datasource') continue;
    const value = v.allValue ?? '.*';
    e = e.replace(new RegExp(`\\$\\{${v.name}(?::[a-z]+)?\\}|\\$${v.name}\\b`, 'g'), value);
  }
  return e;
}

export function dashboardQueries(dir = DASHBOARD_DIR): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const { json: d } of loadDashboards(dir)) {
    for (const p of allPanels(d)) {
      for (const t of (p.targets ?? []) as Json[]) {
        if (typeof t.expr === 'string') out.push({ dashboard: d.title, panel: p.title, expr: substitute(t.expr, d) });
      }
    }
    for (const a of (d.annotations?.list ?? []) as Json[]) {
      if (typeof a.expr === 'string') out.push({ dashboard: d.title, panel: `annotation: ${a.name}`, expr: substitute(a.expr, d) });
    }
  }
  return out;
}

/**
 * A data link's URL as Grafana renders it when a user clicks a series: `${var}` / `${var:csv}`
 * (the "All" of our variables is `.*`), `${__field.labels.x}` / `${__data.fields.x}` from the
 * clicked series, `${__from:date:iso}` / `${__to:date:iso}` from the time range. Anything else
 * left in the URL is an error: the test must not pass a link Grafana would render differently.
 */
export function renderLink(
  url: string,
  at: { vars: Record<string, string | string[]>; labels?: Record<string, string>; from: Date; to: Date },
): string {
  const out = url.replace(/\$\{([\w.]+)(?::([\w:]+))?\}/g, (whole, name: string, fmt: string | undefined) => {
    if (name === '__from' || name === '__to') {
      if (fmt !== 'date:iso') throw new Error(`unsupported time format in ${whole}`);
      return (name === '__from' ? at.from : at.to).toISOString();
    }
    const label = /^__(?:field\.labels|data\.fields)\.(\w+)$/.exec(name)?.[1];
    if (label) {
      const v = at.labels?.[label];
      if (v === undefined) throw new Error(`${whole}: the clicked series has no label ${label}`);
      return v;
    }
    const v = at.vars[name];
    if (v === undefined) throw new Error(`${whole}: no such variable`);
    if (fmt !== undefined && fmt !== 'csv') throw new Error(`unsupported variable format in ${whole}`);
    return Array.isArray(v) ? v.join(',') : v;
  });
  if (out.includes('$')) throw new Error(`not rendered: ${out}`);
  return out;
}
