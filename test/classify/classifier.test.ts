import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Classifier, ruleSetFrom, SHIPPED_RULES_DIR, type RuleSet } from '../../src/classify/index.js';
import { loadRules } from '../../src/coordinator/rules/index.js';
import { CASES, report } from './cases.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

function shipped(): RuleSet {
  const r = loadRules(SHIPPED_RULES_DIR);
  if (!r.ok) throw new Error(JSON.stringify(r.errors, null, 2));
  return r.rules;
}

describe('shipped rules on realistic logs', () => {
  const classifier = new Classifier(shipped());
  for (const c of CASES) {
    test(`${c.fixture} → ${c.class}/${c.cause}`, () => {
      const out = classifier.classify(c.report, fixture(c.fixture));
      assert.equal(out.rule?.id, c.rule);
      assert.equal(out.class, c.class);
      assert.equal(out.cause, c.cause);
      assert.equal(out.fallback, false);
      assert.equal(out.owner, c.class === 'infra' ? 'operators' : 'developers');
      assert.deepEqual(
        out.evidence.map((e) => e.line),
        c.lines,
      );
      // each evidence text really is that line of the file (ANSI stripped, trimmed)
      const lines = fixture(c.fixture).toString('utf8').split('\n');
      for (const e of out.evidence) {
        const plain = lines[e.line - 1]!.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
          .replace(/[\x00-\x08\x0b-\x1f]+/g, ' ')
          .trim();
        assert.ok(plain.startsWith(e.text.replace(/…$/, '')), `line ${e.line}: ${JSON.stringify(e.text)} vs ${JSON.stringify(plain)}`);
      }
      // the report's facts are carried through
      assert.equal(out.reason, c.report.reason);
      assert.equal(out.image, c.report.image);
    });
  }

  test('string and Buffer logs classify identically', () => {
    for (const c of CASES.slice(0, 8)) {
      assert.deepEqual(
        classifier.classify(c.report, fixture(c.fixture).toString('utf8')),
        classifier.classify(c.report, fixture(c.fixture)),
      );
    }
  });

  test('CRLF logs (Windows runners) still match line-anchored patterns', () => {
    const crlf = fixture('pytest-fail.log').toString('utf8').replace(/\n/g, '\r\n');
    const out = classifier.classify(report(), crlf);
    assert.deepEqual([out.cause, out.evidence.map((e) => e.line)], ['test_failure', [15, 16]]);
    assert.ok(out.evidence.every((e) => !e.text.includes('\r')));
  });

  test('ANSI colour codes are stripped from evidence text', () => {
    const out = classifier.classify(report(), fixture('jest-fail.log'));
    assert.equal(out.evidence[0]!.text, 'FAIL  src/cart/totals.test.ts');
    assert.ok(out.evidence.every((e) => !e.text.includes('\x1b')));
  });
});

describe('the product edge: registry down vs image missing', () => {
  const classifier = new Classifier(shipped());
  const pull = (message: string, kind?: string) =>
    report({
      reason: 'image_pull_failure',
      stage: 'pull_image',
      exit_code: null,
      image: '127.0.0.1:5000/busybox:latest',
      registry: '127.0.0.1:5000',
      message,
      kind,
    });
  // exact podman texts (see /work/shared/notes/real-infrastructure-here.md)
  const refused =
    'initializing source docker://127.0.0.1:5000/busybox:latest: pinging container registry 127.0.0.1:5000: Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused';
  const missing =
    'initializing source docker://127.0.0.1:5000/nope:latest: reading manifest latest in 127.0.0.1:5000/nope: manifest unknown: manifest unknown';

  test('connection refused → infra registry_unreachable (operators)', () => {
    const out = classifier.classify(pull(refused), '');
    assert.deepEqual(
      [out.class, out.cause, out.owner, out.rule?.id],
      ['infra', 'registry_unreachable', 'operators', 'image-pull-unreachable-message'],
    );
    assert.equal(out.summary, 'Registry 127.0.0.1:5000 is unreachable; could not pull 127.0.0.1:5000/busybox:latest');
  });

  test('manifest unknown → build image_not_found (developers)', () => {
    const out = classifier.classify(pull(missing), '');
    assert.deepEqual(
      [out.class, out.cause, out.owner, out.rule?.id],
      ['build', 'image_not_found', 'developers', 'image-pull-not-found-message'],
    );
  });

  test('other not-found and unreachable wordings', () => {
    const cases: Array<[string, string]> = [
      ['no such image: 127.0.0.1:5000/nope:latest', 'image_not_found'],
      [
        'Failed to apply default image tag "Node:20": couldn\'t parse image reference "Node:20": invalid reference format: repository name must be lowercase',
        'image_not_found',
      ],
      ['InvalidImageName', 'image_not_found'],
      [
        "Error response from daemon: pull access denied for nodde, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
        'image_not_found',
      ],
      [
        'Error response from daemon: Get "https://registry-1.docker.io/v2/": unauthorized: incorrect username or password',
        'registry_auth_failed',
      ],
      [
        'Error response from daemon: Head "https://reg.example.com/v2/a/manifests/1": received unexpected HTTP status: 503 Service Unavailable',
        'registry_unreachable',
      ],
      [
        'Error response from daemon: Get "https://reg.example.com/v2/": dial tcp: lookup reg.example.com on 10.0.0.2:53: no such host',
        'registry_unreachable',
      ],
      ['Error response from daemon: Get "https://reg.example.com/v2/": net/http: TLS handshake timeout', 'registry_unreachable'],
      ['http: server gave HTTP response to HTTPS client', 'registry_unreachable'],
    ];
    for (const [msg, cause] of cases) assert.equal(classifier.classify(pull(msg), '').cause, cause, msg);
  });

  test("the executor's structured kind decides before the text", () => {
    assert.equal(classifier.classify(pull('pull failed', 'not_found'), '').cause, 'image_not_found');
    assert.equal(classifier.classify(pull('pull failed', 'registry_unreachable'), '').cause, 'registry_unreachable');
    assert.equal(classifier.classify(pull('pull failed', 'auth_failed'), '').cause, 'registry_auth_failed');
  });
});

describe('structured conditions and fallback', () => {
  const classifier = new Classifier(shipped());

  test('no rule matches → fallback by reason, marked', () => {
    const out = classifier.classify(report({ exit_code: 3 }), fixture('clean-success-noise.log'));
    assert.deepEqual(
      [out.class, out.cause, out.owner, out.rule, out.fallback, out.evidence],
      ['build', 'script_failed', 'developers', null, true, []],
    );
    const unk = classifier.classify(report({ reason: 'unknown_failure' }), '');
    assert.deepEqual([unk.class, unk.cause, unk.owner, unk.fallback], ['unknown', 'unknown', 'unknown', true]);
    const sys = classifier.classify(report({ reason: 'runner_system_failure', message: 'exec: "bash": not found' }), '');
    assert.deepEqual([sys.class, sys.fallback, sys.rule], ['infra', true, null]);
    const stuck = classifier.classify(report({ reason: 'stuck_pending_no_matching_runners', stage: 'coordinator' }), '');
    assert.deepEqual([stuck.class, stuck.fallback], ['infra', true]);
    const cfg = classifier.classify(report({ reason: 'runner_configuration_error', stage: 'prepare_executor' }), '');
    assert.deepEqual([cfg.class, cfg.cause, cfg.fallback], ['build', 'runner_configuration_error', true]);
  });

  test('runner lost: reason alone, or a system failure that says so', () => {
    const a = classifier.classify(report({ reason: 'no_updates_running', stage: 'coordinator', executor: null }), '');
    assert.deepEqual([a.class, a.cause, a.rule?.id, a.fallback], ['infra', 'runner_lost', 'runner-lost-no-updates', false]);
    const b = classifier.classify(report({ reason: 'runner_system_failure', message: 'runner heartbeat expired after 60s' }), '');
    assert.deepEqual([b.cause, b.rule?.id], ['runner_lost', 'runner-lost-message']);
  });

  test('build rules do not blame developers for a runner failure whose log shows failing tests', () => {
    const out = classifier.classify(report({ reason: 'runner_system_failure' }), fixture('go-test-fail.log'));
    assert.equal(out.class, 'infra');
    assert.equal(out.fallback, true);
  });

  test("an infra tool error in the failing command's output outweighs the test summary; after the job ended it does not", () => {
    const lines = fixture('jest-fail.log').toString('utf8').trimEnd().split('\n');
    const inside = [...lines.slice(0, -1), 'npm ERR! code ETIMEDOUT', lines.at(-1)!, ''].join('\n');
    assert.equal(classifier.classify(report(), inside).cause, 'dependency_download_failed');
    const after = Buffer.concat([fixture('jest-fail.log'), Buffer.from('npm ERR! code ETIMEDOUT\n')]);
    assert.equal(classifier.classify(report(), after).cause, 'test_failure');
    assert.equal(classifier.classify(report(), fixture('jest-fail.log')).cause, 'test_failure');
  });

  test('exit_codes, executor, image and registry conditions', () => {
    const rs = ruleSetFrom([
      {
        id: 'a',
        version: 1,
        description: 'd',
        match: { exit_codes: [137], executor: ['shell'] },
        class: 'infra',
        cause: 'a_cause',
        summary: 'exit {exit_code} on {executor}',
      },
      {
        id: 'b',
        version: '2b',
        description: 'd',
        match: { image: '^node:', registry: 'docker\\.io$' },
        class: 'build',
        cause: 'b_cause',
        summary: '{image} from {registry}',
        owner: 'operators',
      },
    ]);
    const c = new Classifier(rs);
    const a = c.classify(report({ exit_code: 137, executor: 'shell' }), '');
    assert.deepEqual([a.rule, a.summary], [{ id: 'a', version: '1' }, 'exit 137 on shell']);
    assert.equal(c.classify(report({ exit_code: 137, executor: 'docker' }), '').fallback, true);
    assert.equal(c.classify(report({ exit_code: null, executor: 'shell' }), '').fallback, true);
    const b = c.classify(report({ image: 'node:20', registry: 'docker.io' }), '');
    assert.deepEqual([b.rule?.version, b.owner, b.summary], ['2b', 'operators', 'node:20 from docker.io']);
    assert.equal(c.classify(report({ image: 'node:20', registry: null }), '').fallback, true);
  });

  test('log (all-of) vs log_any, and a window-wide match that spans lines does not count', () => {
    const rs = ruleSetFrom([
      { id: 'all', version: 1, description: 'd', match: { log: ['alpha', 'beta'] }, class: 'build', cause: 'all', summary: 'x' },
      { id: 'any', version: 1, description: 'd', match: { log_any: ['gamma', 'delta'] }, class: 'build', cause: 'any', summary: '{match}' },
      { id: 'span', version: 1, description: 'd', match: { log: 'foo\\s+bar' }, class: 'build', cause: 'span', summary: 'x' },
    ]);
    const c = new Classifier(rs);
    assert.equal(c.classify(report(), 'x\nalpha\ny\n').fallback, true);
    const all = c.classify(report(), 'x\nbeta 1\nalpha\nbeta 2\n');
    assert.deepEqual([all.cause, all.evidence.map((e) => e.line)], ['all', [2, 3, 4]]);
    const any = c.classify(report(), 'one\ntwo\n  delta here  \n');
    assert.deepEqual([any.cause, any.summary, any.evidence], ['any', 'delta here', [{ line: 3, text: 'delta here' }]]);
    assert.equal(c.classify(report(), 'foo\nbar\n').fallback, true); // \s+ would cross the newline
    assert.equal(c.classify(report(), 'foo\nfoo   bar\n').evidence[0]?.line, 2);
  });

  test('evidence is capped at 5 lines and long lines at ~300 chars around the match', () => {
    const rs = ruleSetFrom([{ id: 'e', version: 1, description: 'd', match: { log: 'needle' }, class: 'build', cause: 'e', summary: 'x' }]);
    const log =
      Array.from({ length: 20 }, (_, i) => `line ${i} needle`).join('\n') + '\n' + 'x'.repeat(2000) + ' needle ' + 'y'.repeat(2000);
    const out = new Classifier(rs).classify(report(), log);
    assert.deepEqual(
      out.evidence.map((e) => e.line),
      [1, 2, 3, 4, 5],
    );
    const long = new Classifier(rs).classify(report(), 'x'.repeat(2000) + ' needle ' + 'y'.repeat(2000));
    assert.ok(long.evidence[0]!.text.length <= 302);
    assert.ok(long.evidence[0]!.text.includes('needle'));
  });
});

describe('log window', () => {
  const rs = ruleSetFrom([
    { id: 'early', version: 1, description: 'd', match: { log: 'EARLY-MARK' }, class: 'infra', cause: 'early', summary: 'x' },
    { id: 'late', version: 1, description: 'd', match: { log: 'LATE-MARK' }, class: 'build', cause: 'late', summary: 'x' },
  ]);
  const filler = (n: number, from: number) =>
    Array.from({ length: n }, (_, i) => `filler line ${from + i} ${'.'.repeat(40)}`).join('\n') + '\n';
  // line 1: EARLY-MARK; 5000 filler lines; then LATE-MARK on line 5002
  const log = 'EARLY-MARK\n' + filler(5000, 2) + 'LATE-MARK\n' + filler(10, 5003);

  test('a match before the last N bytes is not seen; line numbers count the skipped part', () => {
    const whole = new Classifier(rs, { windowBytes: 10 * 1024 * 1024 }).classify(report(), log);
    assert.deepEqual([whole.cause, whole.evidence[0]!.line], ['early', 1]);
    const tail = new Classifier(rs, { windowBytes: 4096 });
    for (const input of [log, Buffer.from(log)]) {
      const out = tail.classify(report(), input);
      assert.equal(out.cause, 'late');
      assert.deepEqual(out.evidence, [{ line: 5002, text: 'LATE-MARK' }]);
    }
    // nothing in the window at all → fallback
    assert.equal(new Classifier(rs, { windowBytes: 200 }).classify(report(), log).fallback, true);
  });

  test('the window starts on a full line (a cut line is not matched by its tail)', () => {
    const c = new Classifier(rs, { windowBytes: 12 });
    // window = "K\nLATE-MARK\n" minus the partial first line
    assert.equal(c.classify(report(), 'xx EARLY-MARK\nLATE-MARK\n').cause, 'late');
    assert.equal(new Classifier(rs, { windowBytes: 6 }).classify(report(), 'LATE-MARK\n').fallback, true);
  });

  test('lineOffset shifts line numbers when the caller passes a tail', () => {
    const out = new Classifier(rs).classify(report(), 'a\nLATE-MARK\n', { lineOffset: 1000 });
    assert.equal(out.evidence[0]!.line, 1002);
  });

  test('multi-byte UTF-8 before the window does not shift line numbers', () => {
    const pre = 'é€😀\n'.repeat(3000);
    const out = new Classifier(rs, { windowBytes: 1000 }).classify(report(), pre + 'LATE-MARK\n');
    assert.equal(out.evidence[0]!.line, 3001);
  });
});
