import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTools } from '../helpers/tools.js';
import { tempDir } from '../helpers/tmp.js';
import { REPO_ROOT } from './dashboard-queries.js';
import { RULES_DIR, knownSeriesNames, loadRules, ruleFiles, seriesNamesIn } from './metric-catalog.js';

const testFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('_test.yml'))
    .map((f) => join(dir, f));

function promtool(args: string[], cwd = REPO_ROOT) {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe('alerting and recording rules (promtool)', () => {
  test('promtool check rules accepts every rules file', (t) => {
    if (!requireTools(t, 'promtool')) return;
    const files = ruleFiles();
    assert.ok(files.length >= 2, 'expected recording + alerting rule files');
    const r = promtool(['check', 'rules', ...files]);
    assert.equal(r.status, 0, r.out);
  });

  test('promtool test rules: every unit test passes', (t) => {
    if (!requireTools(t, 'promtool')) return;
    const files = testFiles(RULES_DIR);
    assert.ok(files.length >= 1, 'expected rules/alerts/*_test.yml');
    const r = promtool(['test', 'rules', ...files]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });

  test('a copy with a broken threshold fails its unit tests (the tests can fail)', (t) => {
    if (!requireTools(t, 'promtool')) return;
    const tmp = tempDir();
    t.after(tmp.dispose);
    cpSync(RULES_DIR, tmp.path, { recursive: true });
    const alerts = join(tmp.path, 'image-pulls.rules.yml');
    const src = readFileSync(alerts, 'utf8');
    // RegistryOutage can never fire with a ratio threshold above 1.
    const broken = src.replace(
      'faultline:image_pull_infra_failure_ratio:rate5m > 0.5',
      'faultline:image_pull_infra_failure_ratio:rate5m > 2',
    );
    assert.notEqual(broken, src, 'the mutation must apply');
    writeFileSync(alerts, broken);
    const check = promtool(['check', 'rules', alerts]);
    assert.equal(check.status, 0, 'the mutation is still valid PromQL');
    const r = promtool(['test', 'rules', ...testFiles(tmp.path)]);
    assert.notEqual(r.status, 0, 'promtool test rules must fail on the broken copy');
    assert.match(r.out, /RegistryOutage/);
  });

  test('a syntactically broken rules file is rejected by promtool check rules', (t) => {
    if (!requireTools(t, 'promtool')) return;
    const tmp = tempDir();
    t.after(tmp.dispose);
    const file = join(tmp.path, 'bad.rules.yml');
    const src = readFileSync(join(RULES_DIR, 'jobs.rules.yml'), 'utf8');
    const broken = src.replace('sum(rate(', 'sum(rate((');
    assert.notEqual(broken, src, 'the mutation must apply');
    writeFileSync(file, broken);
    const r = promtool(['check', 'rules', file]);
    assert.notEqual(r.status, 0, r.out);
  });
});

describe('rules reference only defined metrics and carry runbooks', () => {
  test('every series name in a rule expr is exported by metrics.ts or recorded', async () => {
    const known = await knownSeriesNames();
    const rules = loadRules();
    assert.ok(rules.length > 10);
    for (const r of rules) {
      const names = seriesNamesIn(r.expr);
      assert.ok(names.length > 0, `${r.record ?? r.alert}: no series found in expr`);
      for (const n of names) assert.ok(known.has(n), `${r.record ?? r.alert}: unknown series ${n}`);
    }
  });

  test('the series-name check catches a typo', async () => {
    const known = await knownSeriesNames();
    const names = seriesNamesIn('sum by (runner) (rate(faultine_jobs_finished_total{status="failed"}[5m]))');
    assert.deepEqual(names, ['faultine_jobs_finished_total']);
    assert.equal(known.has(names[0]), false);
  });

  test('the required alerts exist with severity, summary, description and a runbook anchor that exists', () => {
    const runbook = readFileSync(join(REPO_ROOT, 'docs', 'runbooks.md'), 'utf8');
    // GitHub-style anchors of every heading.
    const anchors = new Set(
      [...runbook.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) =>
        m[1]
          .trim()
          .toLowerCase()
          .replace(/[^\w\- ]/g, '')
          .replace(/ /g, '-'),
      ),
    );
    const alerts = loadRules().filter((r) => r.alert);
    const names = new Set(alerts.map((a) => a.alert));
    for (const required of [
      'RegistryOutage',
      'InfraFailureRatioHigh',
      'RunnerFleetDown',
      'JobsStuckPending',
      'MTTRTooHigh',
      'IncidentOpenTooLong',
    ]) {
      assert.ok(names.has(required), `missing alert ${required}`);
    }
    for (const a of alerts) {
      assert.ok(['page', 'ticket'].includes(a.labels?.severity ?? ''), `${a.alert}: severity must be page|ticket`);
      assert.ok(a.annotations?.summary, `${a.alert}: summary`);
      assert.ok(a.annotations?.description, `${a.alert}: description`);
      const url = a.annotations?.runbook_url ?? '';
      const m = /^docs\/runbooks\.md#(.+)$/.exec(url);
      assert.ok(m, `${a.alert}: runbook_url must point into docs/runbooks.md, got ${url}`);
      assert.ok(anchors.has(m[1]), `${a.alert}: docs/runbooks.md has no section #${m[1]}`);
    }
  });
});
