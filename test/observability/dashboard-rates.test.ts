/** Dashboards operators can read at a glance (issue 12): rare failures per hour, outages by name. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from './dashboard-queries.js';

type Panel = {
  title: string;
  type: string;
  fieldConfig: { defaults: { unit: string } };
  options: Record<string, unknown>;
  targets: { expr: string; legendFormat?: string }[];
};
const DIR = join(REPO_ROOT, 'dashboards');
const panels = (file: string) => (JSON.parse(readFileSync(join(DIR, file), 'utf8')) as { panels: Panel[] }).panels;

test('failure rates read per hour, not per second (a few failures an hour are 0.003/s)', () => {
  const failureRates = readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .flatMap(panels)
    .filter(
      (p) =>
        p.type === 'timeseries' &&
        p.fieldConfig.defaults.unit !== 'percentunit' && // ratios of those rates are no rates
        p.targets.some((t) => /rate\((faultline_jobs_finished_total\{status="failed"|cicd_system_errors_total)/.test(t.expr)),
    );
  assert.ok(failureRates.length >= 3, 'failure rate panels found');
  for (const p of failureRates) {
    assert.match(p.title, /per hour/, p.title);
    assert.notEqual(p.fieldConfig.defaults.unit, 'ops', `${p.title}: ops is per second`);
    for (const t of p.targets) assert.match(t.expr, /\* 3600$/, `${p.title}: ${t.expr}`);
  }
});

test('no panel shows a per-second rate: every plain rate is multiplied to per hour and says so', () => {
  const all = readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .flatMap(panels);
  const problems: string[] = [];
  for (const p of all) {
    if (['ops', 'reqps', 'rps', 'wps', 'cps'].includes(p.fieldConfig.defaults.unit))
      problems.push(`${p.title}: unit ${p.fieldConfig.defaults.unit}`);
    for (const t of p.targets) {
      // A rate (rate() or a :rate5m recording rule) that is not a ratio and not a quantile.
      const isRate = /\brate\(|:rate\d+[mh]\b/.test(t.expr) && !/ \/ |histogram_quantile|_ratio/.test(t.expr);
      if (!isRate) continue;
      if (!/\* 3600$/.test(t.expr)) problems.push(`${p.title}: per-second ${t.expr}`);
      if (!/per hour/.test(p.title)) problems.push(`${p.title}: does not say "per hour"`);
    }
  }
  assert.ok(all.length >= 40, `${all.length} panels`);
  assert.deepEqual(problems, []);
});

test('"Registries in outage now" names the registries', () => {
  const p = panels('registry.json').find((x) => x.title === 'Registries in outage now')!;
  assert.ok(p);
  assert.match(
    p.targets[0]!.expr,
    /sum by \(registry\) \(ALERTS\{alertname="RegistryOutage",alertstate="firing",registry=~"\$registry"\}\)/,
  );
  assert.equal(p.targets[0]!.legendFormat, '{{registry}}');
  assert.equal(p.options.textMode, 'name');
});
