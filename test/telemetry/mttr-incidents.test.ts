/** Pure parts of MTTR and incident grouping: the per-ref recovery walk, stats, incident keys by dependency, widespread lines. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hostOf } from '../../src/classify/dependency.js';
import { isGroupableLine, normalizeErrorLine, patternOf } from '../../src/classify/widespread.js';
import { incidentKeyOf } from '../../src/coordinator/services/incidents.js';
import { pipelineRecoveries, stats, type PipelineOutcomeRow } from '../../src/coordinator/services/mttr.js';
import type { FailureClassification } from '../../src/protocol/failure.js';
import { parseListen } from '../../src/telemetry/runner-telemetry.js';

const row = (id: number, ref: string, status: string, t: number, failure_class: string | null = null): PipelineOutcomeRow => ({
  id,
  project: 'p',
  ref,
  status,
  failure_class,
  finished_at: t * 1000,
});

describe('pipeline recoveries per ref', () => {
  test('first failure opens, the next success closes; later failures do not move the start', () => {
    const { recoveries, broken } = pipelineRecoveries([
      row(1, 'main', 'success', 0),
      row(2, 'main', 'failed', 10, 'infra'),
      row(3, 'dev', 'failed', 11, 'build'),
      row(4, 'main', 'failed', 20, 'build'),
      row(5, 'main', 'canceled', 25),
      row(6, 'main', 'success', 40),
      row(7, 'main', 'success', 50),
    ]);
    assert.deepEqual(
      recoveries.map((r) => [r.ref, r.class, r.failed_pipeline_id, r.recovered_pipeline_id, r.seconds]),
      [['main', 'infra', 2, 6, 30]],
    );
    assert.deepEqual(
      broken.map((b) => [b.ref, b.class, b.failed_pipeline_id]),
      [['dev', 'build', 3]],
    );
  });

  test('unknown failure class counts as build; refs of different projects are apart', () => {
    const rows = [
      row(1, 'main', 'failed', 0, 'unknown'),
      { ...row(2, 'main', 'success', 5), project: 'other' },
      row(3, 'main', 'success', 7),
    ];
    const { recoveries, broken } = pipelineRecoveries(rows);
    assert.deepEqual(
      recoveries.map((r) => [r.project, r.class, r.seconds]),
      [['p', 'build', 7]],
    );
    assert.equal(broken.length, 0);
  });

  test('stats: count, mean, median, max; empty is all null', () => {
    assert.deepEqual(stats([]), { count: 0, mean_seconds: null, p50_seconds: null, max_seconds: null });
    assert.deepEqual(stats([30, 10, 20]), { count: 3, mean_seconds: 20, p50_seconds: 20, max_seconds: 30 });
    assert.deepEqual(stats([4, 1, 3, 2]), { count: 4, mean_seconds: 2.5, p50_seconds: 2.5, max_seconds: 4 });
  });
});

describe('incident keys: cause + the dependency named by the evidence', () => {
  const f = (over: Partial<FailureClassification>): FailureClassification => ({
    reason: 'script_failure',
    stage: 'step_script',
    exit_code: 1,
    executor: 'docker',
    message: null,
    image: null,
    registry: null,
    kind: null,
    class: 'infra',
    cause: 'x',
    summary: '',
    owner: 'operators',
    rule: null,
    fallback: false,
    evidence: [],
    ...over,
  });
  const ev = (...texts: string[]) => texts.map((text, i) => ({ line: i + 1, text }));
  const runner = { name: 'host-7', executor: 'shell' };
  const key = (over: Partial<FailureClassification>, ctx: Parameters<typeof incidentKeyOf>[1] = { runner }, runner_id: number | null = 7) =>
    incidentKeyOf({ runner_id, failure: f(over) }, ctx);

  test('registry pulls, git hosts, DNS names and package registries each key by their host', () => {
    assert.deepEqual(
      key({ reason: 'image_pull_failure', stage: 'pull_image', cause: 'registry_unreachable', registry: '127.0.0.1:5000' }),
      {
        cause: 'registry_unreachable',
        dependency_kind: 'registry',
        target: '127.0.0.1:5000',
        runner_id: null,
      },
    );
    // get_sources fetched the pipeline's repository: its host, whatever the evidence says.
    const git = key(
      { stage: 'get_sources', cause: 'source_fetch_failed', evidence: ev('fatal: unable to connect to 127.0.0.1:') },
      { runner, repositoryUrl: 'git://127.0.0.1:9418/acme/app.git' },
    );
    assert.deepEqual([git?.dependency_kind, git?.target], ['git_host', '127.0.0.1:9418']);
    assert.equal(hostOf('git@gitlab.example.com:group/p.git'), 'gitlab.example.com');
    assert.equal(hostOf('/srv/repos/app'), null);
    // A git clone in the script: the host from git's own line.
    const inScript = key({
      cause: 'git_remote_error',
      evidence: ev("fatal: unable to access 'https://git.example.org/a/b.git/': Failed to connect to git.example.org port 443"),
    });
    assert.deepEqual([inScript?.dependency_kind, inScript?.target], ['git_host', 'git.example.org']);
    // DNS: the name that did not resolve, from each tool's wording (real formats, see rules/classification/50-network.yml).
    for (const [line, host] of [
      ['curl: (6) Could not resolve host: files.example.net', 'files.example.net'],
      [
        'Error: looking up index: Get "https://charts.example.io/index.yaml": dial tcp: lookup charts.example.io on 10.0.0.2:53: no such host',
        'charts.example.io',
      ],
      ['npm error request to https://registry.npmjs.org/x failed, reason: getaddrinfo EAI_AGAIN registry.npmjs.org', 'registry.npmjs.org'],
      [
        "W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease  Temporary failure resolving 'deb.debian.org'",
        'deb.debian.org',
      ],
    ] as const) {
      const k = key({ cause: 'dns_failure', evidence: ev(line) });
      assert.deepEqual([k?.dependency_kind, k?.target], ['dns', host], line);
    }
    const pkg = key({
      cause: 'package_registry_unavailable',
      evidence: ev('npm error 503 Service Unavailable - GET https://registry.npmjs.org/left-pad'),
    });
    assert.deepEqual([pkg?.dependency_kind, pkg?.target], ['package_registry', 'registry.npmjs.org']);
  });

  test('runner causes key by the runner, executor causes by the executor; no name → unknown, never global', () => {
    assert.deepEqual(key({ cause: 'disk_full' }), { cause: 'disk_full', dependency_kind: 'runner', target: 'host-7', runner_id: 7 });
    assert.equal(key({ cause: 'runner_lost' }, {}, 9)?.target, 'runner-9');
    const m = key({ cause: 'machine_creation_failed', stage: 'prepare_executor', executor: 'docker+machine' });
    assert.deepEqual([m?.dependency_kind, m?.target], ['executor_host', 'docker+machine']);
    // DNS failure whose evidence names no host: its own key, apart from other causes.
    const d = key({ cause: 'dns_failure', evidence: ev('something odd') });
    assert.deepEqual([d?.dependency_kind, d?.target], ['unknown', 'dns_failure']);
  });

  test('build and unknown failures open no incident', () => {
    assert.equal(key({ class: 'build', cause: 'test_failure' }), null);
    assert.equal(key({ class: 'unknown' }), null);
    assert.equal(incidentKeyOf({ runner_id: 7, failure: null }, {}), null);
  });
});

describe('widespread lines: normalised so one error is one line across jobs', () => {
  test("times, paths, hashes, numbers stripped; faultline's own lines never group", () => {
    const a = normalizeErrorLine('2026-12-01T10:00:00Z zorp: cannot open /var/lib/x/cache-3.db (state 7f3a9b1c2d)');
    const b = normalizeErrorLine('2026-11-30T08:12:44Z zorp: cannot open /tmp/build/other.db (state deadbeef12)');
    assert.equal(a, b);
    assert.notEqual(a, normalizeErrorLine('zorp: cannot close /tmp/a/b.db'));
    assert.equal(isGroupableLine('ERROR: Job failed: exit code 3'), false);
    assert.equal(isGroupableLine('error 7'), false);
    assert.equal(isGroupableLine('zorp: cannot frobnicate the widget cache'), true);
    assert.equal(isGroupableLine('connect ECONNREFUSED 10.0.0.1:443 from the agent'), true);
    assert.equal(isGroupableLine('Executing "step_script" stage of the job script'), false, 'not error-like');
    // The rule skeleton's pattern matches every line of the group, and only those.
    const re = new RegExp(patternOf(a));
    assert.match('2026-12-02T01:02:03Z zorp: cannot open /opt/y/z.db (state 0123456789)', re);
    assert.doesNotMatch('zorp: cannot close /opt/y/z.db (state 0123456789)', re);
  });
});

test('--metrics-listen parsing names the flag on bad input', () => {
  assert.deepEqual(parseListen('0.0.0.0:9252'), { host: '0.0.0.0', port: 9252 });
  assert.deepEqual(parseListen(':9252'), { host: '127.0.0.1', port: 9252 });
  assert.deepEqual(parseListen('9252'), { host: '127.0.0.1', port: 9252 });
  assert.deepEqual(parseListen('[::1]:9000'), { host: '::1', port: 9000 });
  assert.throws(() => parseListen('localhost'), /--metrics-listen must be host:port/);
  assert.throws(() => parseListen('h:70000'), /--metrics-listen/);
});
