/** Pure parts of MTTR and incident grouping: the per-ref recovery walk, stats, incident keys. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
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

describe('incident keys', () => {
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
  const runners = (id: number) => (id === 7 ? { name: 'host-7', executor: 'shell' } : undefined);

  test('registry causes target the registry host; runner causes the runner; else executor or global', () => {
    assert.deepEqual(
      incidentKeyOf(
        { runner_id: 7, failure: f({ reason: 'image_pull_failure', cause: 'registry_unreachable', registry: '127.0.0.1:5000' }) },
        runners,
      ),
      {
        cause: 'registry_unreachable',
        target: '127.0.0.1:5000',
        scope: 'registry',
        runner_id: null,
      },
    );
    // The fallback cause of an unreachable pull still groups by registry (kind tells).
    assert.equal(
      incidentKeyOf(
        { runner_id: 7, failure: f({ cause: 'image_pull_failed', kind: 'registry_unreachable', registry: 'r.example:443' }) },
        runners,
      )?.target,
      'r.example:443',
    );
    assert.deepEqual(incidentKeyOf({ runner_id: 7, failure: f({ cause: 'disk_full' }) }, runners), {
      cause: 'disk_full',
      target: 'host-7',
      scope: 'runner',
      runner_id: 7,
    });
    assert.deepEqual(incidentKeyOf({ runner_id: 9, failure: f({ cause: 'runner_lost' }) }, runners)?.target, 'runner-9');
    assert.deepEqual(
      incidentKeyOf({ runner_id: 7, failure: f({ cause: 'dns_failure', executor: 'kubernetes' }) }, runners)?.target,
      'kubernetes',
    );
    assert.deepEqual(incidentKeyOf({ runner_id: 7, failure: f({ cause: 'dns_failure', executor: null }) }, runners)?.target, 'shell');
    assert.deepEqual(
      incidentKeyOf({ runner_id: null, failure: f({ cause: 'no_matching_runner', executor: null, stage: 'coordinator' }) }, runners),
      {
        cause: 'no_matching_runner',
        target: 'global',
        scope: 'global',
        runner_id: null,
      },
    );
  });

  test('build and unknown failures open no incident', () => {
    assert.equal(incidentKeyOf({ runner_id: 7, failure: f({ class: 'build', cause: 'test_failure' }) }, runners), null);
    assert.equal(incidentKeyOf({ runner_id: 7, failure: f({ class: 'unknown' }) }, runners), null);
    assert.equal(incidentKeyOf({ runner_id: 7, failure: null }, runners), null);
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
