import { readFileSync } from 'node:fs';
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import {
  METRIC,
  LABEL,
  cicdPipelineResult,
  createCoordinatorMetrics,
  createRunnerMetrics,
  imagePullLabels,
} from '../../src/telemetry/metrics.js';

/** Value of one sample from the registry, by metric name and exact labels. */
async function value(reg: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const all = await reg.getMetricsAsJSON();
  const m = all.find((x) => x.name === name) ?? all.find((x) => x.name === name.replace(/_(count|sum)$/, ''));
  const s = m?.values.find(
    (v: any) =>
      (v.metricName ?? m.name) === name &&
      Object.keys(labels).every((k) => String(v.labels[k] ?? '') === labels[k]) &&
      Object.keys(v.labels).filter((k) => k !== 'le').length === Object.keys(labels).length,
  );
  return s?.value;
}

describe('telemetry metrics', () => {
  test('names follow the brief and the OTel CI/CD conventions (Prometheus translation)', () => {
    assert.equal(METRIC.cicdSystemErrors, 'cicd_system_errors_total');
    assert.equal(METRIC.cicdPipelineRunDuration, 'cicd_pipeline_run_duration_seconds');
    assert.equal(METRIC.cicdWorkerCount, 'cicd_worker_count');
    assert.equal(METRIC.cicdPipelineRunActive, 'cicd_pipeline_run_active');
    assert.equal(METRIC.cicdPipelineRunErrors, 'cicd_pipeline_run_errors_total');
    assert.deepEqual(LABEL, {
      errorType: 'error_type',
      cicdSystemComponent: 'cicd_system_component',
      cicdPipelineResult: 'cicd_pipeline_result',
      cicdPipelineRunState: 'cicd_pipeline_run_state',
      cicdWorkerState: 'cicd_worker_state',
    });
  });

  test('two coordinators on fresh registries do not collide; the registry passed in is used', async () => {
    const reg = new Registry();
    const a = createCoordinatorMetrics(reg);
    createCoordinatorMetrics();
    assert.equal(a.registry, reg);
    assert.throws(() => createCoordinatorMetrics(reg), /already been registered/);
  });

  test('an infra failure counts in faultline_jobs_finished_total and cicd_system_errors_total; a build failure only in the first', async () => {
    const m = createCoordinatorMetrics();
    m.recordJobFinished({
      status: 'failed',
      failure: { class: 'infra', cause: 'registry_unreachable', reason: 'image_pull_failure', stage: 'pull_image' },
      executor: 'docker',
      runner: 'r1',
      durationSeconds: 12,
    });
    m.recordJobFinished({
      status: 'failed',
      failure: { class: 'build', cause: 'test_failed', reason: 'script_failure', stage: 'step_script' },
      executor: 'docker',
      runner: 'r1',
      durationSeconds: 30,
    });
    m.recordJobFinished({
      status: 'failed',
      failure: { class: 'infra', cause: 'no_runner', reason: 'stuck_pending_no_matching_runners', stage: 'coordinator' },
      executor: null,
      runner: null,
    });
    m.recordJobFinished({ status: 'success', executor: 'shell', runner: 'r2', durationSeconds: 5 });
    const reg = m.registry;
    assert.equal(
      await value(reg, METRIC.jobsFinished, {
        status: 'success',
        failure_class: '',
        failure_reason: '',
        failure_cause: '',
        executor: 'shell',
        runner: 'r2',
      }),
      1,
    );
    assert.equal(
      await value(reg, METRIC.jobsFinished, {
        status: 'failed',
        failure_class: 'build',
        failure_reason: 'script_failure',
        failure_cause: 'test_failed',
        executor: 'docker',
        runner: 'r1',
      }),
      1,
    );
    // error.type is the classified cause, not the runner's reason.
    assert.equal(await value(reg, METRIC.cicdSystemErrors, { error_type: 'registry_unreachable', cicd_system_component: 'runner' }), 1);
    assert.equal(await value(reg, METRIC.cicdSystemErrors, { error_type: 'no_runner', cicd_system_component: 'coordinator' }), 1);
    assert.equal(await value(reg, METRIC.cicdSystemErrors, { error_type: 'test_failed', cicd_system_component: 'runner' }), undefined);
    // cicd.pipeline.run.errors counts every failed job, build ones too, by cause.
    assert.equal(await value(reg, METRIC.cicdPipelineRunErrors, { error_type: 'test_failed', failure_class: 'build' }), 1);
    assert.equal(await value(reg, METRIC.cicdPipelineRunErrors, { error_type: 'registry_unreachable', failure_class: 'infra' }), 1);
    assert.equal(await value(reg, `${METRIC.jobDuration}_count`, { status: 'failed', failure_class: 'infra', executor: 'docker' }), 1);
    assert.equal(await value(reg, `${METRIC.jobDuration}_sum`, { status: 'failed', failure_class: 'build', executor: 'docker' }), 30);
  });

  test('a failed job without a classification counts as class unknown', async () => {
    const m = createCoordinatorMetrics();
    m.recordJobFinished({ status: 'failed', executor: 'shell', runner: 'r1' });
    assert.equal(
      await value(m.registry, METRIC.jobsFinished, {
        status: 'failed',
        failure_class: 'unknown',
        failure_reason: '',
        failure_cause: '',
        executor: 'shell',
        runner: 'r1',
      }),
      1,
    );
  });

  test('faultline_build_info names the version on the coordinator and the runner', async () => {
    const version = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string;
    for (const m of [createCoordinatorMetrics(), createRunnerMetrics()])
      assert.equal(await value(m.registry, METRIC.buildInfo, { version, node_version: process.version }), 1);
  });

  test('runner counts set every state on faultline_runners and cicd_worker_count', async () => {
    const m = createCoordinatorMetrics();
    m.setRunnerCounts({ available: 2, busy: 1 });
    for (const [state, n] of [
      ['available', 2],
      ['busy', 1],
      ['offline', 0],
    ] as const) {
      assert.equal(await value(m.registry, METRIC.runners, { state }), n);
      assert.equal(await value(m.registry, METRIC.cicdWorkerCount, { cicd_worker_state: state }), n);
    }
  });

  test('heartbeat ages are read at scrape time and forgotten runners disappear', async () => {
    const m = createCoordinatorMetrics();
    let ages = [
      { runner: 'r1', ageSeconds: 3 },
      { runner: 'r2', ageSeconds: 40 },
    ];
    m.setHeartbeatSource(() => ages);
    assert.equal(await value(m.registry, METRIC.runnerHeartbeatAge, { runner: 'r2' }), 40);
    ages = [{ runner: 'r1', ageSeconds: 9 }];
    assert.equal(await value(m.registry, METRIC.runnerHeartbeatAge, { runner: 'r1' }), 9);
    assert.equal(await value(m.registry, METRIC.runnerHeartbeatAge, { runner: 'r2' }), undefined);
  });

  test('engine catch-ups are read from the engine cache at scrape time', async () => {
    const m = createCoordinatorMetrics();
    assert.equal(await value(m.registry, METRIC.engineCatchups, { how: 'refreshed' }), undefined, 'no source: no series');
    const stats = { refreshes: 3, rebuilds: 1 };
    m.setEngineSource(() => stats);
    assert.equal(await value(m.registry, METRIC.engineCatchups, { how: 'refreshed' }), 3);
    stats.refreshes = 7;
    assert.equal(await value(m.registry, METRIC.engineCatchups, { how: 'refreshed' }), 7);
    assert.equal(await value(m.registry, METRIC.engineCatchups, { how: 'rebuilt' }), 1);
  });

  test('pipelines: OTel result maps infra failures to error, build to failure', async () => {
    assert.equal(cicdPipelineResult({ status: 'failed', failureClass: 'infra' }), 'error');
    assert.equal(cicdPipelineResult({ status: 'failed', failureClass: 'build' }), 'failure');
    assert.equal(cicdPipelineResult({ status: 'failed', failureClass: 'infra', timedOut: true }), 'timeout');
    assert.equal(cicdPipelineResult({ status: 'canceled' }), 'cancellation');
    assert.equal(cicdPipelineResult({ status: 'skipped' }), 'skip');
    assert.equal(cicdPipelineResult({ status: 'success' }), 'success');
    const m = createCoordinatorMetrics();
    m.recordPipelineFinished({ status: 'failed', failureClass: 'infra', durationSeconds: 60, pendingSeconds: 4, errorType: 'dns_failure' });
    m.recordPipelineFinished({ status: 'success', durationSeconds: 30, pendingSeconds: 2 });
    m.recordPipelineFinished({ status: 'failed', failureClass: 'infra', durationSeconds: 3600, errorType: 'no_runner' });
    assert.equal(await value(m.registry, METRIC.pipelinesFinished, { status: 'failed', failure_class: 'infra' }), 2);
    assert.equal(await value(m.registry, METRIC.pipelinesFinished, { status: 'success', failure_class: '' }), 1);
    const dur = `${METRIC.cicdPipelineRunDuration}_sum`;
    // Time per cicd.pipeline.run.state; the result (and error.type) on the state the run ended in.
    assert.equal(
      await value(m.registry, dur, { cicd_pipeline_run_state: 'executing', cicd_pipeline_result: 'error', error_type: 'dns_failure' }),
      60,
    );
    assert.equal(await value(m.registry, dur, { cicd_pipeline_run_state: 'pending', cicd_pipeline_result: '', error_type: '' }), 6);
    assert.equal(
      await value(m.registry, dur, { cicd_pipeline_run_state: 'executing', cicd_pipeline_result: 'success', error_type: '' }),
      30,
    );
    assert.equal(
      await value(m.registry, dur, { cicd_pipeline_run_state: 'pending', cicd_pipeline_result: 'error', error_type: 'no_runner' }),
      3600,
    );
    m.setPipelineRunCounts({ executing: 2 });
    assert.equal(await value(m.registry, METRIC.cicdPipelineRunActive, { cicd_pipeline_run_state: 'executing' }), 2);
    assert.equal(await value(m.registry, METRIC.cicdPipelineRunActive, { cicd_pipeline_run_state: 'pending' }), 0);
    assert.equal(await value(m.registry, `${METRIC.pipelineDuration}_sum`, { status: 'success' }), 30);
  });

  test('image pulls: bounded labels, no duration sample for local images, same on runner and coordinator', async () => {
    assert.deepEqual(imagePullLabels({ registry: 'reg:5000', policy: 'always', outcome: 'failure', kind: 'weird' }), {
      registry: 'reg:5000',
      policy: 'always',
      outcome: 'failure',
      kind: 'other',
    });
    assert.deepEqual(imagePullLabels({ registry: '', policy: '', outcome: 'success', kind: 'not_found' }), {
      registry: 'unknown',
      policy: 'unknown',
      outcome: 'success',
      kind: '',
    });
    for (const m of [createCoordinatorMetrics(), createRunnerMetrics()]) {
      const at = new Date().toISOString();
      m.recordImagePull({
        image: 'reg:5000/a:1',
        registry: 'reg:5000',
        policy: 'always',
        outcome: 'failure',
        kind: 'registry_unreachable',
        duration_ms: 1500,
        at,
      });
      m.recordImagePull({
        image: 'reg:5000/a:1',
        registry: 'reg:5000',
        policy: 'always',
        outcome: 'local',
        kind: null,
        duration_ms: 1,
        at,
      });
      assert.equal(
        await value(m.registry, METRIC.imagePulls, {
          registry: 'reg:5000',
          policy: 'always',
          outcome: 'failure',
          kind: 'registry_unreachable',
        }),
        1,
      );
      assert.equal(await value(m.registry, METRIC.imagePulls, { registry: 'reg:5000', policy: 'always', outcome: 'local', kind: '' }), 1);
      assert.equal(await value(m.registry, `${METRIC.imagePullDuration}_count`, { registry: 'reg:5000', policy: 'always' }), 1);
      assert.equal(await value(m.registry, `${METRIC.imagePullDuration}_sum`, { registry: 'reg:5000', policy: 'always' }), 1.5);
    }
  });

  test('incidents, MTTR, classifications and queue gauges', async () => {
    const m = createCoordinatorMetrics();
    const inc = { cause: 'registry_unreachable', dependency: 'registry', target: 'reg:5000' };
    m.recordIncidentOpened(inc);
    assert.equal(await value(m.registry, METRIC.incidentOpen, { ...inc, state: 'open' }), 1);
    m.recordIncidentAcknowledged(inc);
    assert.equal(await value(m.registry, METRIC.incidentOpen, { ...inc, state: 'open' }), undefined);
    assert.equal(await value(m.registry, METRIC.incidentOpen, { ...inc, state: 'acknowledged' }), 1);
    m.recordIncidentClosed({ ...inc, durationSeconds: 600 });
    // A closed incident leaves no series (no 0-valued leftovers per target).
    assert.equal((await m.registry.getSingleMetric(METRIC.incidentOpen)!.get()).values.length, 0);
    assert.equal(await value(m.registry, METRIC.incidentsTotal, { cause: 'registry_unreachable' }), 1);
    assert.equal(await value(m.registry, `${METRIC.incidentDuration}_sum`, { cause: 'registry_unreachable' }), 600);
    // MTTR is a histogram of recoveries (sum/count aggregate), not a precomputed gauge.
    m.recordRecovery('pipeline', 'infra', 'dns_failure', 300);
    assert.equal(
      await value(m.registry, `${METRIC.recovery}_sum`, { kind: 'incident', class: 'infra', cause: 'registry_unreachable' }),
      600,
    );
    assert.equal(await value(m.registry, `${METRIC.recovery}_count`, { kind: 'pipeline', class: 'infra', cause: 'dns_failure' }), 1);
    m.recordClassification({ class: 'build', cause: 'test_failed', fallback: false });
    assert.equal(await value(m.registry, METRIC.classifications, { class: 'build', cause: 'test_failed', fallback: 'false' }), 1);
    m.setJobCounts({ running: 2, pending: 5 });
    assert.equal(await value(m.registry, METRIC.jobsPending), 5);
    m.recordJobStarted({ executor: 'docker', queuedSeconds: 7 });
    m.recordJobStarted({ executor: 'docker', queuedSeconds: Number.NaN }); // ignored, not a crash
    assert.equal(await value(m.registry, `${METRIC.jobQueued}_count`, { executor: 'docker' }), 1);
  });

  test('runner: stage durations and running jobs', async () => {
    const m = createRunnerMetrics();
    m.recordStage('pull_image', 'docker', 2);
    m.recordStage('pull_image', 'docker', -1); // ignored
    m.runnerJobsRunning.set(1);
    assert.equal(await value(m.registry, `${METRIC.runnerJobStageDuration}_count`, { stage: 'pull_image', executor: 'docker' }), 1);
    assert.equal(await value(m.registry, METRIC.runnerJobsRunning), 1);
  });

  test('exposition contains no label outside the declared sets (no job names or images)', async () => {
    const m = createCoordinatorMetrics();
    m.recordJobFinished({ status: 'success', executor: 'shell', runner: 'r1', durationSeconds: 1 });
    m.recordImagePull({
      image: 'reg/secret-project/app:feature-x',
      registry: 'reg',
      policy: 'always',
      outcome: 'success',
      kind: null,
      duration_ms: 5,
      at: '',
    });
    const text = await m.registry.metrics();
    assert.doesNotMatch(text, /secret-project|feature-x/);
  });
});
