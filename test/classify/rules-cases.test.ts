/**
 * Every shipped rule names the corpus cases that motivated it, and only TRAINING cases:
 * a rule motivated by a held-out case would be tuned against the part that checks it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { SHIPPED_RULES_DIR } from '../../src/classify/index.js';
import { loadRules } from '../../src/coordinator/rules/index.js';
import { corpusPart } from '../../src/classify/corpus.js';

const CORPUS = process.env.FAULTLINE_CORPUS ?? join(new URL('../../', import.meta.url).pathname, 'test/corpus/failures');

/**
 * Rules that predate the corpus and that no case exercises yet (each is table-tested on a
 * fixture in test/classify/fixtures). Shrink this list as the corpus grows; never grow it.
 */
const PREDATE_CORPUS = new Set([
  'runner-lost-no-updates', // coordinator-side reason: no CI log can show it
  'runner-lost-message',
  'machine-creation-failed',
  'machine-creation-failed-message',
  'docker-daemon-unreachable',
  'image-pull-kind-unreachable', // the executor's structured kind: no public log shows it
  'image-pull-kind-auth',
  'image-pull-kind-not-found',
  'image-pull-unreachable-log',
  'image-pull-auth-log',
  'image-pull-not-found-log',
  'pod-evicted',
  'pod-evicted-message',
  'pod-not-ready',
  'compile-error-go',
  'oom-killed-message',
  'oom-killed-log',
  'job-timeout',
]);

test('shipped rules name existing training cases of the corpus (cases:)', () => {
  const r = loadRules(SHIPPED_RULES_DIR);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  const problems: string[] = [];
  for (const rule of r.rules.rules) {
    const cases = rule.def.cases ?? [];
    if (cases.length === 0 && !PREDATE_CORPUS.has(rule.id)) problems.push(`${rule.id}: names no corpus case`);
    for (const id of cases) {
      if (corpusPart(id) === 'heldout') problems.push(`${rule.id}: names HELD-OUT case ${id}`);
      if (!existsSync(join(CORPUS, `${id}.yml`))) problems.push(`${rule.id}: case ${id} is not in ${CORPUS}`);
    }
  }
  assert.deepEqual(problems, []);
});
