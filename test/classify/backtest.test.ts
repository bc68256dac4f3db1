import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backtest, Classifier, EMPTY_RULESET, ruleSetFrom, SHIPPED_RULES_DIR, type BacktestInput } from '../../src/classify/index.js';
import { loadRules } from '../../src/coordinator/rules/index.js';
import { CASES } from './cases.js';

test('backtest counts verdict transitions of a candidate rule set over stored failures', () => {
  const loaded = loadRules(SHIPPED_RULES_DIR);
  assert.ok(loaded.ok);
  const fallbackOnly = new Classifier(EMPTY_RULESET);
  // stored verdicts come from a rule-less classifier (fallback by reason)
  const failures: BacktestInput[] = CASES.map((c, i) => {
    const log = readFileSync(new URL(`./fixtures/${c.fixture}`, import.meta.url));
    return { job_id: 100 + i, report: c.report, log, current: fallbackOnly.classify(c.report, log) };
  });

  // identical rules → nothing changes
  const same = backtest(failures, EMPTY_RULESET);
  assert.deepEqual(same, { total: CASES.length, changed: 0, transitions: [] });

  const res = backtest(failures, loaded.rules);
  assert.equal(res.total, CASES.length);
  // every case whose expected verdict differs from its fallback verdict changed
  const expectedChanged = CASES.filter((c, i) => c.cause !== failures[i]!.current.cause || c.class !== failures[i]!.current.class);
  assert.equal(res.changed, expectedChanged.length);
  assert.equal(
    res.transitions.reduce((n, t) => n + t.count, 0),
    res.changed,
  );
  const tests = res.transitions.find((t) => t.from.cause === 'script_failed' && t.to.cause === 'test_failure');
  const testJobs = CASES.flatMap((c, i) => (c.cause === 'test_failure' ? [100 + i] : []));
  assert.deepEqual(tests, {
    from: { class: 'build', cause: 'script_failed' },
    to: { class: 'build', cause: 'test_failure' },
    count: testJobs.length,
    sample_job_ids: testJobs.slice(0, 5),
  });
  const infra = res.transitions.find((t) => t.to.cause === 'dependency_download_failed');
  assert.deepEqual(infra?.from, { class: 'build', cause: 'script_failed' });
  assert.equal(infra?.count, 3);
  // most frequent first
  for (let i = 1; i < res.transitions.length; i++) assert.ok(res.transitions[i - 1]!.count >= res.transitions[i]!.count);

  // a narrower candidate: one rule only moves those jobs
  const narrow = ruleSetFrom([
    {
      id: 'go',
      version: 1,
      description: 'd',
      match: { reason: 'script_failure', log: '^--- FAIL: ' },
      class: 'build',
      cause: 'go_test_failure',
      summary: 's',
    },
  ]);
  const n = backtest(failures, narrow, { samples: 1 });
  assert.equal(n.changed, 1);
  assert.deepEqual(n.transitions[0]!.sample_job_ids, [100 + CASES.findIndex((c) => c.fixture === 'go-test-fail.log')]);
});
