/**
 * The coordinator's /metrics, incidents and MTTR after a real scenario: an in-process
 * coordinator and an in-process shell runner run pipelines with a success, a build
 * failure (test output) and infra failures (disk full, classified by the shipped rules).
 * Then a restart: incidents and MTTR come back from the store.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCoordinator, type Coordinator } from '../../src/coordinator/index.js';
import type { IncidentDetailJson, IncidentJson } from '../../src/coordinator/services/incidents.js';
import type { MttrJson } from '../../src/coordinator/services/mttr.js';
import { silentLogger } from '../../src/runner/logger.js';
import { startRunner, type RunnerHandle } from '../../src/runner/index.js';
import { userApi } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { scrape, samples, sum, type Sample } from './prom-text.js';

const RUNNER = 'metrics-runner';
const BUILD_FAIL = `    - "echo 'FAIL src/sum.test.js'"\n    - "echo 'Tests:       1 failed, 3 passed, 4 total'"\n    - exit 1\n`;
const DISK_FULL = `    - "echo 'tar: ./node_modules/x: Cannot write: No space left on device'"\n    - exit 1\n`;

const MIXED = `stages: [test, after]
ok:
  stage: test
  script: [echo fine]
build:
  stage: test
  script:
${BUILD_FAIL}infra:
  stage: test
  script:
${DISK_FULL}recover:
  stage: after
  when: always
  script: [echo recovered]
`;
const SUCCESS = `ok:\n  script: [echo fine]\n`;
const INFRA_ONLY = `infra:\n  script:\n${DISK_FULL}`;

describe('coordinator metrics, incidents and MTTR after a scenario', () => {
  const tmp = tempDir();
  let c: Coordinator;
  let runner: RunnerHandle;
  let api: ReturnType<typeof userApi>;
  let m: Sample[];
  const pipelines: number[] = [];

  const run = async (yaml: string) => {
    const p = await api.createPipeline(yaml, { ref: 'main', project: 'acme/app' });
    pipelines.push(p.id);
    const done = await api.waitPipeline(p.id);
    await c.idle();
    return done;
  };
  const startOurRunner = (url: string, token: string) =>
    startRunner({
      url,
      registrationToken: token,
      name: RUNNER,
      executor: 'shell',
      concurrency: 1,
      heartbeatMs: 300,
      buildsDir: `${tmp.path}/builds`,
      logger: silentLogger,
    });

  before(async () => {
    c = await createCoordinator({ dataDir: `${tmp.path}/data`, longPollMs: 500, incidents: { failures: 1 } });
    api = userApi(c.url, c.apiToken);
    runner = await startOurRunner(c.url, c.registrationToken);
    const p1 = await run(MIXED);
    assert.equal(p1.status, 'failed');
    assert.equal(p1.failure_class, 'build', 'a build failure makes the pipeline build-failed');
    assert.equal((await run(SUCCESS)).status, 'success');
    const p3 = await run(INFRA_ONLY);
    assert.equal(p3.failure_class, 'infra');
    assert.equal((await run(SUCCESS)).status, 'success');
    m = await scrape(`${c.url}/metrics`);
  });
  after(async () => {
    await runner?.stop({ timeoutMs: 2000 });
    await c?.close();
    tmp.dispose();
  });

  test('jobs finished by status, class, cause, executor and runner', () => {
    const base = { executor: 'shell', runner: RUNNER };
    assert.equal(sum(m, 'faultline_jobs_finished_total', { ...base, status: 'success', failure_class: '' }), 4);
    assert.equal(
      sum(m, 'faultline_jobs_finished_total', {
        ...base,
        status: 'failed',
        failure_class: 'build',
        failure_cause: 'test_failure',
        failure_reason: 'script_failure',
      }),
      1,
    );
    assert.equal(
      sum(m, 'faultline_jobs_finished_total', {
        ...base,
        status: 'failed',
        failure_class: 'infra',
        failure_cause: 'disk_full',
        failure_reason: 'script_failure',
      }),
      2,
    );
    assert.equal(sum(m, 'faultline_job_duration_seconds_count'), 7);
    assert.equal(sum(m, 'faultline_job_queued_seconds_count', { executor: 'shell' }), 7);
  });

  test('classifications, and cicd.system.errors counts infra failures only', () => {
    assert.equal(sum(m, 'faultline_classifications_total', { class: 'infra', cause: 'disk_full', fallback: 'false' }), 2);
    assert.equal(sum(m, 'faultline_classifications_total', { class: 'build', cause: 'test_failure' }), 1);
    assert.equal(sum(m, 'cicd_system_errors_total'), 2);
    // The cause survives: a full disk reported as script_failure is counted as disk_full.
    assert.equal(sum(m, 'cicd_system_errors_total', { error_type: 'disk_full', cicd_system_component: 'runner' }), 2);
    assert.equal(sum(m, 'cicd_system_errors_total', { error_type: 'script_failure' }), 0);
    assert.equal(sum(m, 'cicd_pipeline_run_errors_total', { error_type: 'disk_full', failure_class: 'infra' }), 2);
  });

  test('pipelines finished by status and class, with the OTel duration twin', () => {
    assert.equal(sum(m, 'faultline_pipelines_finished_total', { status: 'success' }), 2);
    assert.equal(sum(m, 'faultline_pipelines_finished_total', { status: 'failed', failure_class: 'build' }), 1);
    assert.equal(sum(m, 'faultline_pipelines_finished_total', { status: 'failed', failure_class: 'infra' }), 1);
    assert.equal(sum(m, 'cicd_pipeline_run_duration_seconds_count', { cicd_pipeline_result: 'success' }), 2);
    assert.equal(sum(m, 'cicd_pipeline_run_duration_seconds_count', { cicd_pipeline_result: 'failure' }), 1);
    assert.equal(sum(m, 'cicd_pipeline_run_duration_seconds_count', { cicd_pipeline_result: 'error', error_type: 'disk_full' }), 1);
    assert.equal(sum(m, 'cicd_pipeline_run_duration_seconds_count', { cicd_pipeline_run_state: 'pending', cicd_pipeline_result: '' }), 4);
    assert.equal(sum(m, 'cicd_pipeline_run_active'), 0);
    assert.equal(samples(m, 'faultline_build_info').length, 1);
  });

  test('scrape-time gauges: jobs, runners by state, heartbeat age', () => {
    assert.equal(sum(m, 'faultline_jobs_pending'), 0);
    assert.equal(sum(m, 'faultline_jobs_running'), 0);
    assert.equal(sum(m, 'faultline_runners', { state: 'available' }), 1);
    assert.equal(sum(m, 'faultline_runners', { state: 'busy' }), 0);
    assert.equal(sum(m, 'faultline_runners', { state: 'offline' }), 0);
    assert.equal(sum(m, 'cicd_worker_count', { cicd_worker_state: 'available' }), 1);
    const age = samples(m, 'faultline_runner_heartbeat_age_seconds', { runner: RUNNER });
    assert.equal(age.length, 1);
    assert.ok(age[0]!.value >= 0 && age[0]!.value < 30, `heartbeat age ${age[0]!.value}`);
  });

  test('runner-scoped incidents: opened by disk_full, resolved by the next success on that runner', async () => {
    assert.equal(sum(m, 'faultline_incidents_total', { cause: 'disk_full' }), 2);
    // Closed incidents leave no series behind.
    assert.deepEqual(samples(m, 'faultline_incident_open'), []);
    assert.equal(sum(m, 'faultline_incident_duration_seconds_count', { cause: 'disk_full' }), 2);

    const list = (await api.call<{ incidents: IncidentJson[] }>('GET', '/api/v1/incidents?state=resolved')).body.incidents;
    assert.equal(list.length, 2);
    assert.ok(
      list.every(
        (i) =>
          i.cause === 'disk_full' && i.target === RUNNER && i.dependency.kind === 'runner' && i.state === 'resolved' && i.job_count === 1,
      ),
    );
    assert.equal((await api.call<{ incidents: IncidentJson[] }>('GET', '/api/v1/incidents?state=open')).body.incidents.length, 0);

    const first = list[list.length - 1]!; // newest first
    const d = (await api.call<IncidentDetailJson>('GET', `/api/v1/incidents/${first.id}`)).body;
    const p1 = await api.pipeline(pipelines[0]!);
    const infraJob = p1.jobs!.find((j) => j.name === 'infra')!;
    const recoverJob = p1.jobs!.find((j) => j.name === 'recover')!;
    assert.deepEqual(
      d.jobs.map((j) => [j.id, j.name, j.pipeline_id, j.project, j.ref]),
      [[infraJob.id, 'infra', p1.id, 'acme/app', 'main']],
    );
    assert.equal(d.resolved_by, 'evidence');
    assert.ok(d.resolving_event?.kind === 'job_success' && d.resolving_event.job_id === recoverJob.id);
    assert.deepEqual(
      d.timeline.map((e) => e.event),
      ['job_failed', 'opened', 'resolved'],
    );
    assert.equal(d.opened_at, infraJob.finished_at);
    assert.equal(d.resolved_at, recoverJob.finished_at);
    assert.ok(d.duration_seconds > 0);
  });

  test('MTTR: pipeline recovery per ref split infra/build, and incidents; the recovery histogram agrees with the API', async () => {
    const r = (await api.call<MttrJson>('GET', '/api/v1/mttr?since=1h')).body;
    assert.equal(r.pipelines.build.count, 1);
    assert.equal(r.pipelines.infra.count, 1);
    assert.equal(r.incidents.count, 2);
    assert.equal(r.incidents.open, 0);
    const ref = r.pipelines.refs.find((x) => x.project === 'acme/app' && x.ref === 'main')!;
    assert.deepEqual(
      ref.recoveries.map((x) => [x.class, x.failed_pipeline_id, x.recovered_pipeline_id]),
      [
        ['infra', pipelines[2], pipelines[3]],
        ['build', pipelines[0], pipelines[1]],
      ],
    );
    assert.equal(ref.broken_since, null);
    for (const x of ref.recoveries) assert.ok(x.seconds > 0);
    // MTTR = _sum / _count of the recovery histogram, aggregable across instances.
    const mean = (labels: Record<string, string>) =>
      sum(m, 'faultline_recovery_seconds_sum', labels) / sum(m, 'faultline_recovery_seconds_count', labels);
    assert.equal(sum(m, 'faultline_recovery_seconds_count', { kind: 'pipeline', class: 'build' }), 1);
    assert.equal(sum(m, 'faultline_recovery_seconds_count', { kind: 'pipeline', class: 'infra', cause: 'disk_full' }), 1);
    assert.ok(Math.abs(mean({ kind: 'pipeline', class: 'build' }) - r.pipelines.build.mean_seconds!) < 0.01);
    assert.ok(Math.abs(mean({ kind: 'pipeline', class: 'infra' }) - r.pipelines.infra.mean_seconds!) < 0.01);
    assert.ok(Math.abs(mean({ kind: 'incident' }) - r.incidents.mean_seconds!) < 0.01);
    assert.equal(samples(m, 'faultline_mttr_seconds').length, 0, 'no precomputed MTTR gauge');

    const bad = await api.call<{ error: string }>('GET', '/api/v1/mttr?since=yesterday');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /since/);
    assert.equal((await api.call('GET', '/api/v1/incidents?state=closed')).status, 400);
    assert.equal((await api.call('GET', '/api/v1/incidents/99999')).status, 404);
    assert.equal((await fetch(`${c.url}/api/v1/incidents`)).status, 401, 'the incidents API needs the API token');
  });

  test('an open incident survives a restart and resolves after it', async () => {
    const p5 = await run(INFRA_ONLY);
    assert.equal(p5.failure_class, 'infra');
    const open = (await api.call<{ incidents: IncidentJson[] }>('GET', '/api/v1/incidents?state=open')).body.incidents;
    assert.equal(open.length, 1);
    await runner.stop({ timeoutMs: 2000 });
    await c.close();

    c = await createCoordinator({ dataDir: `${tmp.path}/data`, longPollMs: 500, incidents: { failures: 1 } });
    api = userApi(c.url, c.apiToken);
    let after = await scrape(`${c.url}/metrics`);
    assert.equal(
      sum(after, 'faultline_incident_open', { cause: 'disk_full', dependency: 'runner', target: RUNNER, state: 'open' }),
      1,
      'open incident restored from the store',
    );
    assert.deepEqual(
      (await api.call<{ incidents: IncidentJson[] }>('GET', '/api/v1/incidents?state=open')).body.incidents.map((i) => i.id),
      [open[0]!.id],
    );

    runner = await startOurRunner(c.url, c.registrationToken); // same name, new registration
    assert.equal((await run(SUCCESS)).status, 'success');
    after = await scrape(`${c.url}/metrics`);
    assert.equal(sum(after, 'faultline_incident_open', { cause: 'disk_full', target: RUNNER }), 0);
    const d = (await api.call<IncidentDetailJson>('GET', `/api/v1/incidents/${open[0]!.id}`)).body;
    assert.equal(d.state, 'resolved');
    assert.equal(d.resolving_event?.kind, 'job_success');
    const r = (await api.call<MttrJson>('GET', '/api/v1/mttr?since=1h')).body;
    assert.equal(r.incidents.count, 3);
    assert.equal(r.pipelines.infra.count, 2);
  });
});
