import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyPullError,
  effectivePullPolicies,
  ImagePullError,
  isTransientPullError,
  parsePullPolicies,
  pullErrorToBuildError,
  pullWithPolicies,
  PullPolicyConfigError,
  type PullPolicy,
} from '../../src/runner/pull-policy.js';
import { parseImageRef, registryOf } from '../../src/runner/image-ref.js';
import type { ImagePullRecord } from '../../src/protocol/runner-api.js';

const REFUSED =
  'initializing source docker://127.0.0.1:5000/busybox:latest: pinging container registry 127.0.0.1:5000: Get "http://127.0.0.1:5000/v2/": dial tcp 127.0.0.1:5000: connect: connection refused';
const MISSING =
  'initializing source docker://127.0.0.1:5000/nope:latest: reading manifest latest in 127.0.0.1:5000/nope: manifest unknown: manifest unknown';

function sink() {
  const lines: string[] = [];
  return { lines, trace: { write: (c: string | Buffer) => lines.push(String(c)), line: (t: string) => lines.push(t) } };
}

describe('image references', () => {
  test('registry host is the first component only when it looks like a host', () => {
    assert.equal(registryOf('alpine'), 'docker.io');
    assert.equal(registryOf('group/app:1'), 'docker.io');
    assert.equal(registryOf('127.0.0.1:5000/busybox:latest'), '127.0.0.1:5000');
    assert.equal(registryOf('localhost/busybox'), 'localhost');
    assert.equal(registryOf('registry.example.com/a/b@sha256:abc'), 'registry.example.com');
    assert.deepEqual(parseImageRef('alpine'), { registry: 'docker.io', repository: 'library/alpine', tag: 'latest', digest: null });
    assert.deepEqual(parseImageRef('127.0.0.1:5000/a/b:1.2'), { registry: '127.0.0.1:5000', repository: 'a/b', tag: '1.2', digest: null });
  });
});

describe('pull policy selection', () => {
  test('job policies win, runner policy is the default, always is the fallback', () => {
    assert.deepEqual(effectivePullPolicies({}), ['always']);
    assert.deepEqual(effectivePullPolicies({ runner: ['if-not-present'] }), ['if-not-present']);
    assert.deepEqual(effectivePullPolicies({ job: ['always', 'if-not-present'], allowed: ['always', 'if-not-present'] }), [
      'always',
      'if-not-present',
    ]);
  });
  test('a job policy outside allowed_pull_policies is a configuration error naming it', () => {
    assert.throws(
      () => effectivePullPolicies({ job: ['always', 'never'], allowed: ['always', 'if-not-present'] }),
      (e: unknown) => e instanceof PullPolicyConfigError && /\[never\]/.test(e.message) && /allowed_pull_policies/.test(e.message),
    );
    // allowed defaults to the runner's pull_policy
    assert.throws(() => effectivePullPolicies({ job: ['always'], runner: ['if-not-present'] }), /\[always\]/);
  });
  test('unknown policy names are rejected with the field', () => {
    assert.throws(() => parsePullPolicies(['sometimes'], 'runners.docker.pull_policy'), /runners\.docker\.pull_policy.*"sometimes"/);
    assert.deepEqual(parsePullPolicies('never', 'x'), ['never']);
  });
});

describe('pull error typing', () => {
  test('kinds from real engine messages', () => {
    assert.equal(classifyPullError(REFUSED), 'registry_unreachable');
    assert.equal(classifyPullError(MISSING), 'not_found');
    assert.equal(classifyPullError('pull access denied for x, repository does not exist or may require docker login'), 'auth_failed');
    assert.equal(classifyPullError('unexpected status code 401 Unauthorized'), 'auth_failed');
    assert.equal(classifyPullError('received unexpected HTTP status: 503 Service Unavailable'), 'registry_unreachable');
    assert.equal(classifyPullError('dial tcp: lookup reg.invalid: no such host'), 'registry_unreachable');
    assert.equal(classifyPullError('http: server gave HTTP response to HTTPS client'), 'registry_unreachable');
    assert.equal(classifyPullError('something odd'), 'other');
  });
  test('transient errors', () => {
    assert.ok(isTransientPullError(REFUSED));
    assert.ok(isTransientPullError('read: connection reset by peer'));
    assert.ok(isTransientPullError('net/http: TLS handshake timeout'));
    assert.ok(!isTransientPullError(MISSING));
  });
  test('not_found becomes runner_configuration_error, the rest image_pull_failure', () => {
    const nf = pullErrorToBuildError(new ImagePullError('x', 'img', 'reg', 'always', 'not_found'));
    assert.equal(nf.reason, 'runner_configuration_error');
    assert.equal(nf.stage, 'pull_image');
    const un = pullErrorToBuildError(new ImagePullError('x', 'img', 'reg', 'always', 'registry_unreachable'));
    assert.equal(un.reason, 'image_pull_failure');
    assert.deepEqual(un.extra, { image: 'img', registry: 'reg', kind: 'registry_unreachable' });
  });
});

describe('fallback loop', () => {
  const fail = (policy: PullPolicy, msg = REFUSED) => new ImagePullError(msg, 'img', 'reg', policy, classifyPullError(msg));

  test('falls back to the next policy with gitlab-runner lines and records every try', async () => {
    const { lines, trace } = sink();
    const records: ImagePullRecord[] = [];
    const tried: string[] = [];
    const r = await pullWithPolicies({
      image: 'img',
      registry: 'reg',
      container: 'build',
      policies: ['always', 'if-not-present'],
      trace,
      records,
      retry: { attempts: 2, backoffMs: 1 },
      attempt: async (p) => {
        tried.push(p);
        if (p === 'always') throw fail(p);
        return 'local';
      },
    });
    assert.deepEqual(r, { policy: 'if-not-present', outcome: 'local' });
    assert.deepEqual(tried, ['always', 'always', 'if-not-present']); // transient → one retry
    assert.equal(lines[0], 'Using effective pull policy of [always if-not-present] for container build');
    assert.equal(lines[1], 'Attempt #1: Trying "always" pull policy');
    assert.ok(lines.includes(`WARNING: Failed to pull image with policy "always": ${REFUSED}`));
    assert.ok(lines.includes('Attempt #2: Trying "if-not-present" pull policy'));
    assert.equal(lines.at(-1), 'Using locally found image version due to "if-not-present" pull policy');
    assert.deepEqual(
      records.map((x) => [x.policy, x.outcome, x.kind]),
      [
        ['always', 'failure', 'registry_unreachable'],
        ['always', 'failure', 'registry_unreachable'],
        ['if-not-present', 'local', null],
      ],
    );
  });

  test('non-transient errors are not retried; the final error names every policy', async () => {
    const { trace } = sink();
    let n = 0;
    await assert.rejects(
      pullWithPolicies({
        image: 'img',
        registry: 'reg',
        container: 'build',
        policies: ['always', 'if-not-present'],
        trace,
        records: [],
        retry: { attempts: 5, backoffMs: 1 },
        attempt: async (p) => {
          n++;
          throw fail(p, MISSING);
        },
      }),
      (e: unknown) => e instanceof ImagePullError && e.kind === 'not_found' && e.message.includes('[always if-not-present]'),
    );
    assert.equal(n, 2);
  });

  test('other errors abort at once', async () => {
    const { trace } = sink();
    await assert.rejects(
      pullWithPolicies({
        image: 'img',
        registry: 'reg',
        container: 'build',
        policies: ['always', 'never'],
        trace,
        records: [],
        attempt: async () => {
          throw new Error('engine gone');
        },
      }),
      /engine gone/,
    );
  });
});
