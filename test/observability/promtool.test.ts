import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/system.js';
import { requireTools } from '../helpers/tools.js';
import { tempDir } from '../helpers/tmp.js';
import { REPO_ROOT } from './dashboard-queries.js';
import { RULES_DIR, knownSeriesNames, loadRules, ruleFiles, seriesNamesIn } from './metric-catalog.js';

/** promtool unit tests live in rules/alerts/tests/, apart from the rule files. */
const testFiles = (dir: string) =>
  readdirSync(join(dir, 'tests'))
    .filter((f) => f.endsWith('_test.yml'))
    .map((f) => join(dir, 'tests', f));

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

  test('promtool check rules rules/alerts/*.yml passes: no test file among the rule files', (t) => {
    if (!requireTools(t, 'promtool')) return;
    const all = readdirSync(RULES_DIR)
      .filter((f) => f.endsWith('.yml'))
      .map((f) => join(RULES_DIR, f));
    assert.deepEqual(all.sort(), ruleFiles().sort(), 'every *.yml in rules/alerts is a rules file');
    const r = promtool(['check', 'rules', ...all]);
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

  test('FaultlineDown without its absent() branch fails its unit test (a coordinator gone from the targets)', (t) => {
    if (!requireTools(t, 'promtool')) return;
    const tmp = tempDir();
    t.after(tmp.dispose);
    cpSync(RULES_DIR, tmp.path, { recursive: true });
    const file = join(tmp.path, 'coordinator.rules.yml');
    const src = readFileSync(file, 'utf8');
    const broken = src.replace(/\n\s*or absent\(up\{job="faultline-coordinator"\}\)/, '');
    assert.notEqual(broken, src, 'the mutation must apply');
    writeFileSync(file, broken);
    const r = promtool(['test', 'rules', join(tmp.path, 'tests', 'coordinator_test.yml')]);
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, /FaultlineDown/);
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
      'FaultlineDown',
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
      // Absolute: the coordinator's public URL (Prometheus external label faultline_url) + the served runbooks.
      const m = /^\{\{ \$externalLabels\.faultline_url \}\}\/docs\/runbooks\.md#(.+)$/.exec(url);
      assert.ok(m, `${a.alert}: runbook_url must be {{ $externalLabels.faultline_url }}/docs/runbooks.md#<anchor>, got ${url}`);
      assert.ok(anchors.has(m[1]), `${a.alert}: docs/runbooks.md has no section #${m[1]}`);
    }
  });
});

describe('FaultlineDown on a real Prometheus', () => {
  test('an unscrapable coordinator raises FaultlineDown with an absolute runbook URL from the external label', async (t) => {
    if (!requireTools(t, 'prometheus')) return;
    const tmp = tempDir();
    t.after(tmp.dispose);
    const rules = join(tmp.path, 'coordinator.rules.yml');
    // for: 0s so the alert fires at the first evaluation; the expression and annotations are the shipped ones.
    writeFileSync(rules, readFileSync(join(RULES_DIR, 'coordinator.rules.yml'), 'utf8').replace(/^(\s+)for: \S+$/gm, '$1for: 0s'));
    const deadPort = await freePort(); // nothing listens there: up == 0
    writeFileSync(
      join(tmp.path, 'prometheus.yml'),
      [
        'global: {scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 500ms, external_labels: {faultline_url: "https://ci.example.com"}}',
        `rule_files: ['${rules}']`,
        'scrape_configs:',
        `  - {job_name: faultline-coordinator, static_configs: [{targets: ['127.0.0.1:${deadPort}']}]}`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    let out = '';
    const prom = spawn(
      'prometheus',
      [
        `--config.file=${join(tmp.path, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(tmp.path, 'tsdb')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prom.stdout!.on('data', (d) => (out += d));
    prom.stderr!.on('data', (d) => (out += d));
    t.after(() => void prom.kill('SIGKILL'));
    type Alert = { labels: Record<string, string>; annotations: Record<string, string>; state: string };
    let alert: Alert | undefined;
    const deadline = Date.now() + 30_000;
    while (!alert && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      const res = await fetch(`http://127.0.0.1:${port}/api/v1/alerts`).catch(() => null);
      if (!res?.ok) continue;
      const body = (await res.json()) as { data: { alerts: Alert[] } };
      // Before the first scrape the absent() branch fires (no instance); then up == 0 does.
      alert = body.data.alerts.find((a) => a.labels.alertname === 'FaultlineDown' && a.state === 'firing' && a.labels.instance);
    }
    assert.ok(alert, `FaultlineDown did not fire\n${out.slice(-2000)}`);
    assert.equal(alert.labels.instance, `127.0.0.1:${deadPort}`);
    assert.equal(alert.annotations.runbook_url, 'https://ci.example.com/docs/runbooks.md#faultlinedown');
  });
});
