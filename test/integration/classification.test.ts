/**
 * Classification over real runs: real coordinator and runner processes, real failing
 * scripts whose output is what the real tools print. Each shipped rule family that a
 * shell job can produce is asserted: class, reason, cause and evidence line numbers.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { jobsByName, sharedSystem } from '../helpers/system.js';

/** A job that prints `lines` then exits `code`. */
const job = (name: string, lines: string[], code = 1) =>
  `${name}:\n  script:\n    - |\n      cat <<'LOG'\n${lines.map((l) => `      ${l}`).join('\n')}\n      LOG\n    - exit ${code}\n`;

const CASES: Array<{ name: string; lines: string[]; code?: number; cls: string; cause: string; evidence: RegExp }> = [
  {
    name: 'jest',
    lines: ['> jest', 'FAIL src/sum.test.js', '  ● sum › adds 1 + 2 to equal 3', 'Tests:       1 failed, 3 passed, 4 total'],
    cls: 'build',
    cause: 'test_failure',
    evidence: /1 failed|FAIL src\/sum/,
  },
  {
    name: 'gotest',
    lines: ['=== RUN   TestAdd', '--- FAIL: TestAdd (0.00s)', '    add_test.go:9: got 4, want 5', 'FAIL', 'FAIL\texample.com/m\t0.002s'],
    cls: 'build',
    cause: 'test_failure',
    evidence: /--- FAIL: TestAdd/,
  },
  {
    name: 'gcc',
    lines: [
      'cc -c main.c',
      "main.c:3:5: error: unknown type name 'nt'",
      '    3 | nt main(void) {',
      'make: *** [Makefile:2: main.o] Error 1',
    ],
    code: 2,
    cls: 'build',
    cause: 'compile_error',
    evidence: /main\.c:3:5: error/,
  },
  {
    name: 'diskfull',
    lines: ['writing cache', 'tar: ./node_modules/x: Cannot write: No space left on device'],
    cls: 'infra',
    cause: 'disk_full',
    evidence: /No space left on device/,
  },
  {
    name: 'dns',
    lines: ['$ git fetch', "fatal: unable to access 'https://example.invalid/repo.git/': Could not resolve host: example.invalid"],
    code: 128,
    cls: 'infra',
    cause: 'dns_failure',
    evidence: /Could not resolve host/,
  },
  {
    name: 'npmnet',
    lines: [
      'npm ERR! code ETIMEDOUT',
      'npm ERR! errno ETIMEDOUT',
      'npm ERR! network request to https://registry.npmjs.org/left-pad failed, reason: connect ETIMEDOUT 104.16.0.35:443',
    ],
    cls: 'infra',
    cause: 'dependency_download_failed',
    evidence: /ETIMEDOUT/,
  },
];

describe('classification of real failing jobs (real processes)', () => {
  const { api } = sharedSystem();

  test('each shell-visible rule family: class, reason, cause, evidence with line numbers', async () => {
    const yaml = CASES.map((c) => job(c.name, c.lines, c.code ?? 1)).join('\n');
    const p = await api.waitPipeline((await api.createPipeline(yaml)).id, undefined, 60_000);
    const jobs = jobsByName(p);
    for (const c of CASES) {
      const f = jobs[c.name]!.failure;
      assert.ok(f, `${c.name} classified`);
      assert.equal(f.reason, 'script_failure', c.name);
      assert.equal(f.class, c.cls, `${c.name}: class`);
      assert.equal(f.cause, c.cause, `${c.name}: cause`);
      assert.equal(f.fallback, false, `${c.name}: a rule matched`);
      assert.ok(f.rule?.id, `${c.name}: rule id`);
      const ev = f.evidence.find((e) => c.evidence.test(e.text));
      assert.ok(ev, `${c.name}: evidence ${c.evidence} in ${JSON.stringify(f.evidence)}`);
      const trace = (await api.trace(jobs[c.name]!.id)).split('\n');
      assert.equal(trace[ev.line - 1]?.trim(), ev.text.trim(), `${c.name}: evidence line number points at the log line`);
    }
    // A failed pipeline is classed too: build when any counted failure is build.
    assert.equal(p.failure_class, 'build');
  });

  test('an unmatched script failure falls back to build by reason, marked as fallback', async () => {
    const p = await api.waitPipeline((await api.createPipeline(job('odd', ['something unusual happened'], 7))).id);
    const f = jobsByName(p)['odd']!.failure!;
    assert.equal(f.class, 'build');
    assert.equal(f.fallback, true);
    assert.equal(f.rule, null);
    assert.equal(f.exit_code, 7);
    assert.equal(p.failure_class, 'build');
  });

  test('failures API filters by class and the summary groups by class and cause', async () => {
    const infra = await api.call<{ failures: Array<{ failure: { class: string } }> }>('GET', '/api/v1/failures?class=infra&since=1h');
    assert.equal(infra.status, 200);
    assert.ok(infra.body.failures.length >= 3);
    assert.ok(infra.body.failures.every((f) => f.failure.class === 'infra'));
    const summary = await api.call<unknown>('GET', '/api/v1/failures/summary?since=1h');
    assert.equal(summary.status, 200);
    assert.match(JSON.stringify(summary.body), /disk_full/);
    const bad = await api.call<{ error: string }>('GET', '/api/v1/failures?class=weird');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /class/);
  });

  test('retry: when: [infrastructure] retries infra failures only', async () => {
    const yaml = `
infra-job:
  retry: {max: 1, when: [infrastructure]}
  script: echo "No space left on device"; exit 1
build-job:
  retry: {max: 1, when: [infrastructure]}
  script: exit 1
`;
    const p = await api.waitPipeline((await api.createPipeline(yaml)).id, undefined, 30_000);
    const count = (n: string) => (p.jobs ?? []).filter((j) => j.name === n).length;
    assert.equal(count('infra-job'), 2);
    assert.equal(count('build-job'), 1);
  });
});
