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
        p.targets.some((t) => /rate\((faultline_jobs_finished_total\{status="failed"|cicd_system_errors_total)/.test(t.expr)),
    );
  assert.ok(failureRates.length >= 3, 'failure rate panels found');
  for (const p of failureRates) {
    assert.match(p.title, /per hour/, p.title);
    assert.notEqual(p.fieldConfig.defaults.unit, 'ops', `${p.title}: ops is per second`);
    for (const t of p.targets) assert.match(t.expr, /\* 3600$/, `${p.title}: ${t.expr}`);
  }
});

test('"Registries in outage now" names the registries', () => {
  const p = panels('registry.json').find((x) => x.title === 'Registries in outage now')!;
  assert.ok(p);
  assert.match(p.targets[0]!.expr, /sum by \(registry\) \(ALERTS\{alertname="RegistryOutage",alertstate="firing"\}\)/);
  assert.equal(p.targets[0]!.legendFormat, '{{registry}}');
  assert.equal(p.options.textMode, 'name');
});
