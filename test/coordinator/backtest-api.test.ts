import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SHIPPED_RULES_DIR } from '../../src/classify/index.js';
import { tempDir } from '../helpers/tmp.js';
import { harness, type Harness } from './helpers.js';
import { failBuild, failInfra, pass } from './notifications-fixtures.js';

/** Every classification column of every job, and the row counts: what "writes nothing" means. */
function snapshot(h: Harness): string {
  const jobs = h.c.store.db
    .prepare(
      `SELECT id, status, failure_class, failure_cause, failure_summary, failure_owner, failure_rule_id, failure_rule_version,
         failure_fallback, failure_evidence_json FROM jobs ORDER BY id`,
    )
    .all();
  const counts = ['pipelines', 'jobs', 'notifications', 'trace_chunks'].map(
    (t) => (h.c.store.db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n,
  );
  return JSON.stringify({ jobs, counts });
}

describe('POST /api/v1/rules/backtest', () => {
  let h: Harness;
  const tmp = tempDir('faultline-backtest-');
  const ids = { infra: [] as number[], tests: [] as number[], other: [] as number[] };

  before(async () => {
    h = await harness({ longPollMs: 200 });
    const runner = (await h.register()).token;
    const jobOf = (p: { jobs?: { id: number }[] }) => p.jobs![0]!.id;
    for (let i = 0; i < 2; i++) ids.infra.push(jobOf(await failInfra(h, runner)));
    for (let i = 0; i < 3; i++) ids.tests.push(jobOf(await failBuild(h, runner)));
    ids.other.push(jobOf(await failBuild(h, runner, undefined, 2, 'compiling…\nsomething odd happened\n')));
    await pass(h, runner);
    await h.c.idle();
  });
  after(async () => {
    await h.close();
    tmp.dispose();
  });

  /** A copy of the shipped rules with `edit` applied to one file. */
  const candidate = (name: string, file: string, edit: (text: string) => string): string => {
    const dir = join(tmp.path, name);
    cpSync(SHIPPED_RULES_DIR, dir, { recursive: true });
    const path = join(dir, file);
    const before = readFileSync(path, 'utf8');
    const after = edit(before);
    assert.notEqual(after, before, 'the edit changed the file');
    writeFileSync(path, after);
    return dir;
  };

  test('the stored verdicts are what the runner-API outcomes should give', async () => {
    for (const id of ids.infra) assert.deepEqual(pick((await h.job(id)).failure), ['infra', 'registry_unreachable']);
    for (const id of ids.tests) assert.deepEqual(pick((await h.job(id)).failure), ['build', 'test_failure']);
  });

  test('one rule moved to another class → counts of old→new class/cause with sample job ids; nothing written', async () => {
    const dir = candidate('tests-unknown', '60-build.yml', (s) =>
      s.replace('    class: build\n    cause: test_failure\n', '    class: unknown\n    cause: test_failure\n'),
    );
    const before = snapshot(h);
    const r = await h.api('POST', '/api/v1/rules/backtest', { rules_dir: dir, since: '7d', samples: 2 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.rules_dir, dir);
    assert.equal(r.body.total, 6, 'every stored failure of the window (not the success)');
    assert.equal(r.body.changed, 3);
    assert.deepEqual(r.body.transitions, [
      {
        from: { class: 'build', cause: 'test_failure' },
        to: { class: 'unknown', cause: 'test_failure' },
        count: 3,
        sample_job_ids: ids.tests.slice(0, 2),
      },
    ]);
    assert.ok(Math.abs(Date.parse(r.body.since) - (Date.now() - 7 * 86_400_000)) < 60_000);
    assert.equal(snapshot(h), before, 'classification columns and row counts unchanged');
    for (const id of ids.tests) assert.deepEqual(pick((await h.job(id)).failure), ['build', 'test_failure']);
  });

  test('default candidate = the rules in force → nothing would change; since filters the window', async () => {
    const r = await h.api('POST', '/api/v1/rules/backtest', {});
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.rules_dir, SHIPPED_RULES_DIR);
    assert.deepEqual([r.body.total, r.body.changed, r.body.transitions], [6, 0, []]);
    const later = await h.api('POST', '/api/v1/rules/backtest', { since: new Date(Date.now() + 60_000).toISOString() });
    assert.equal(later.body.total, 0);
  });

  test('a candidate with a bad regex → 422 naming the file and line; nothing written', async () => {
    const dir = candidate('bad-regex', '60-build.yml', (s) =>
      s.replace("        - 'npm ERR! Test failed'\n", "        - '(?<=npm )ERR! Test failed'\n"),
    );
    const line =
      readFileSync(join(dir, '60-build.yml'), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('(?<=npm )')) + 1;
    const before = snapshot(h);
    const r = await h.api('POST', '/api/v1/rules/backtest', { rules_dir: dir });
    assert.equal(r.status, 422);
    assert.match(r.body.error, /candidate rules invalid/);
    assert.equal(r.body.details.length, 1);
    const d = r.body.details[0];
    assert.equal(d.path, join(dir, '60-build.yml'));
    assert.equal(d.line, line);
    assert.ok(d.column > 1);
    assert.match(d.message, /test-failure.*invalid RE2 pattern/);
    assert.equal(snapshot(h), before);
  });

  test('bad requests name the field', async () => {
    const rel = await h.api('POST', '/api/v1/rules/backtest', { rules_dir: 'rules/classification' });
    assert.equal(rel.status, 400);
    assert.equal(rel.body.details[0].path, 'rules_dir');
    const missing = await h.api('POST', '/api/v1/rules/backtest', { rules_dir: join(tmp.path, 'nope') });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.details[0].path, 'rules_dir');
    const since = await h.api('POST', '/api/v1/rules/backtest', { since: 'last tuesday' });
    assert.equal(since.status, 400);
    assert.equal(since.body.details[0].path, 'since');
    const extra = await h.api('POST', '/api/v1/rules/backtest', { rules: '/x' });
    assert.equal(extra.status, 400);
    assert.equal((await fetch(`${h.c.url}/api/v1/rules/backtest`, { method: 'POST' })).status, 401);
  });

  test('the OpenAPI document describes backtest and notifications', async () => {
    const doc = (await (await fetch(`${h.c.url}/api/v1/openapi.json`)).json()) as { paths: Record<string, any> };
    const bt = doc.paths['/api/v1/rules/backtest']?.post;
    assert.ok(bt?.responses?.['200'] && bt.responses['422'], 'POST /rules/backtest with 200 and 422');
    assert.deepEqual(Object.keys(bt.requestBody.content['application/json'].schema.properties).sort(), ['rules_dir', 'samples', 'since']);
    const n = doc.paths['/api/v1/notifications']?.get;
    assert.deepEqual(n?.parameters.map((p: { name: string }) => p.name).sort(), ['limit', 'pipeline_id', 'status']);
  });
});

const pick = (f: { class: string; cause: string } | null) => [f?.class, f?.cause];
