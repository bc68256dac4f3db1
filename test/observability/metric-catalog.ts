/**
 * Which series names may appear in PromQL (rules, dashboards): the metrics that
 * src/telemetry/metrics.ts registers (histograms expanded to _bucket/_sum/_count), the
 * recording rules in rules/alerts/, and Prometheus' own ALERTS and up series.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createCoordinatorMetrics, createRunnerMetrics } from '../../src/telemetry/metrics.js';
import { REPO_ROOT } from './dashboard-queries.js';

export const RULES_DIR = join(REPO_ROOT, 'rules', 'alerts');

export interface Rule {
  file: string;
  group: string;
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function ruleFiles(dir = RULES_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.rules.yml'))
    .sort()
    .map((f) => join(dir, f));
}

export function loadRules(dir = RULES_DIR): Rule[] {
  return ruleFiles(dir).flatMap((file) => {
    const doc = parse(readFileSync(file, 'utf8')) as { groups: Array<{ name: string; rules: Omit<Rule, 'file' | 'group'>[] }> };
    return doc.groups.flatMap((g) => g.rules.map((r) => ({ ...r, file, group: g.name })));
  });
}

export async function exportedMetricNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const m of [createCoordinatorMetrics(), createRunnerMetrics()]) {
    for (const metric of await m.registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(metric.name + s);
    }
  }
  return names;
}

export async function knownSeriesNames(): Promise<Set<string>> {
  const names = await exportedMetricNames();
  for (const r of loadRules()) if (r.record) names.add(r.record);
  names.add('ALERTS');
  names.add('up'); // Prometheus' own per-target scrape health (FaultlineDown)
  names.add('ALERTS_FOR_STATE');
  return names;
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'inf',
  'nan',
]);

/**
 * Series names an expression selects. Strings, label matchers, ranges and grouping
 * lists are removed first; identifiers followed by `(` are functions/aggregations.
 */
export function seriesNamesIn(expr: string): string[] {
  const e = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const out: string[] = [];
  for (const m of e.matchAll(/(?<![\w:.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    if (m[2]) continue; // function or aggregation call
    if (KEYWORDS.has(m[1].toLowerCase())) continue;
    out.push(m[1]);
  }
  return out;
}
