/**
 * Infra incident + MTTR from a REAL registry outage: docker-registry stopped and started
 * again, podman behind the docker executor of a real runner (in-process), a real
 * coordinator (in-process). Checks the incident (open → resolved by the next successful
 * pull from that registry host), its metrics, MTTR, the runner's own /metrics and the
 * per-attempt pull_image spans.
 */
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createCoordinator, type Coordinator } from '../../src/coordinator/index.js';
import type { IncidentDetailJson, IncidentJson } from '../../src/coordinator/services/incidents.js';
import type { MttrJson } from '../../src/coordinator/services/mttr.js';
import { silentLogger } from '../../src/runner/logger.js';
import { startRunner, type RunnerHandle } from '../../src/runner/index.js';
import { initTracing, type Tracing } from '../../src/telemetry/tracing.js';
import { startContainerInfra, type ContainerInfra } from '../helpers/container-infra.js';
import { userApi } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { requireTools } from '../helpers/tools.js';
import { scrape, samples, sum, type Sample } from '../telemetry/prom-text.js';
import { dockerRunnerConfig, runRegistryScenario, type RegistryScenario } from '../telemetry/registry-scenario.js';

describe('registry outage → infra incident and MTTR (docker executor, podman, docker-registry)', () => {
  const tmp = tempDir();
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing | undefined;
  let infra: ContainerInfra | undefined;
  let c: Coordinator | undefined;
  let runner: RunnerHandle | undefined;
  let s: RegistryScenario;
  let whileDown: { incidents: IncidentJson[]; metrics: Sample[] };
  let coordMetrics: Sample[];
  let runnerMetrics: Sample[];

  before(async (t) => {
    if (!requireTools(t as never, 'podman', 'docker-registry', 'runc', 'busybox')) return;
    tracing = initTracing('faultline-test', exporter);
    infra = await startContainerInfra();
    c = await createCoordinator({ dataDir: `${tmp.path}/data`, longPollMs: 500, incidents: { failures: 1 } });
    runner = await startRunner({
      url: c.url,
      registrationToken: c.registrationToken,
      name: 'docker-runner',
      executor: 'docker',
      executorConfig: dockerRunnerConfig(infra),
      concurrency: 2,
      heartbeatMs: 300,
      buildsDir: `${tmp.path}/builds`,
      logger: silentLogger,
      metricsPort: 0,
    });
    const api = userApi(c.url, c.apiToken);
    s = await runRegistryScenario(api, infra, () => c!.idle(), {
      whileDown: async () => {
        whileDown = {
          incidents: (await api.call<{ incidents: IncidentJson[] }>('GET', '/api/v1/incidents?state=open')).body.incidents,
          metrics: await scrape(`${c!.url}/metrics`),
        };
      },
    });
    coordMetrics = await scrape(`${c.url}/metrics`);
    runnerMetrics = await scrape(`${runner.metricsUrl}/metrics`);
  });
  after(async () => {
    await runner?.stop({ timeoutMs: 5000 });
    await c?.close();
    await tracing?.shutdown();
    await infra?.dispose();
    tmp.dispose();
  });

  test('while the registry is down: one open incident for (registry_unreachable, 127.0.0.1:<port>)', (t) => {
    if (!infra) return t.skip('no container infrastructure');
    assert.equal(whileDown.incidents.length, 1);
    const i = whileDown.incidents[0]!;
    assert.deepEqual(
      [i.cause, i.target, i.dependency.kind, i.state, i.job_count],
      ['registry_unreachable', infra.registry, 'registry', 'open', 1],
    );
    assert.equal(sum(whileDown.metrics, 'faultline_incident_open', { cause: 'registry_unreachable', target: infra.registry }), 1);
    assert.equal(sum(whileDown.metrics, 'faultline_incidents_total', { cause: 'registry_unreachable' }), 1);
    assert.ok(
      sum(whileDown.metrics, 'faultline_image_pulls_total', {
        registry: infra.registry,
        policy: 'always',
        outcome: 'failure',
        kind: 'registry_unreachable',
      }) >= 1,
    );
    assert.equal(sum(whileDown.metrics, 'cicd_system_errors_total', { error_type: 'registry_unreachable' }), 1);
  });

  test('registry back: the next successful pull from that host resolves the incident', async (t) => {
    if (!infra || !c) return t.skip('no container infrastructure');
    const api = userApi(c.url, c.apiToken);
    const list = (await api.call<{ incidents: IncidentJson[] }>('GET', '/api/v1/incidents')).body.incidents;
    assert.equal(list.length, 1, 'one outage is one incident');
    const d = (await api.call<IncidentDetailJson>('GET', `/api/v1/incidents/${list[0]!.id}`)).body;
    assert.equal(d.state, 'resolved');
    assert.equal(d.resolved_by, 'evidence');
    const ev = d.resolving_event;
    assert.ok(ev?.kind === 'image_pull' && ev.registry === infra.registry && ev.image === infra.image);
    const resolvingJob = s.recovered.jobs!.find((j) => j.id === ev.job_id);
    assert.ok(resolvingJob, 'resolved by a job of the pipeline after the outage');
    assert.deepEqual(
      d.jobs.map((j) => j.id),
      [s.outage.jobs![0]!.id],
    );
    assert.ok(d.duration_seconds > 0 && d.duration_seconds * 1000 <= s.downMs + 60_000, `duration ${d.duration_seconds}s`);
    assert.ok(Date.parse(d.resolved_at!) > Date.parse(d.opened_at!));

    assert.equal(
      sum(coordMetrics, 'faultline_incident_open', { cause: 'registry_unreachable', target: infra.registry }),
      0,
      'no series once resolved',
    );
    assert.equal(sum(coordMetrics, 'faultline_incident_duration_seconds_count', { cause: 'registry_unreachable' }), 1);
    assert.ok(
      Math.abs(sum(coordMetrics, 'faultline_incident_duration_seconds_sum', { cause: 'registry_unreachable' }) - d.duration_seconds) < 0.01,
    );
    assert.equal(sum(coordMetrics, 'faultline_recovery_seconds_count', { kind: 'incident', cause: 'registry_unreachable' }), 1);
    assert.ok(sum(coordMetrics, 'faultline_image_pulls_total', { registry: infra.registry, policy: 'always', outcome: 'success' }) >= 3);
  });

  test('pipeline MTTR on the ref: infra outage, then a build failure, then green', async (t) => {
    if (!infra || !c) return t.skip('no container infrastructure');
    const r = (await userApi(c.url, c.apiToken).call<MttrJson>('GET', '/api/v1/mttr?since=1h')).body;
    // The ref broke on the infra failure (first failure decides the class) and recovered at the green pipeline.
    assert.equal(r.pipelines.infra.count, 1);
    assert.equal(r.pipelines.build.count, 0);
    const ref = r.pipelines.refs.find((x) => x.project === 'acme/registry')!;
    assert.deepEqual(
      ref.recoveries.map((x) => [x.class, x.failed_pipeline_id, x.recovered_pipeline_id]),
      [['infra', s.outage.id, s.green.id]],
    );
    assert.equal(r.incidents.count, 1);
    const infraRecovery = { kind: 'pipeline', class: 'infra' };
    assert.equal(sum(coordMetrics, 'faultline_recovery_seconds_count', infraRecovery), 1);
    assert.ok(Math.abs(sum(coordMetrics, 'faultline_recovery_seconds_sum', infraRecovery) - r.pipelines.infra.mean_seconds!) < 0.01);
  });

  test("the runner's own /metrics: pulls by registry/policy/outcome, stage durations", (t) => {
    if (!infra) return t.skip('no container infrastructure');
    assert.ok(
      sum(runnerMetrics, 'faultline_image_pulls_total', {
        registry: infra.registry,
        policy: 'always',
        outcome: 'failure',
        kind: 'registry_unreachable',
      }) >= 1,
    );
    assert.ok(sum(runnerMetrics, 'faultline_image_pulls_total', { registry: infra.registry, policy: 'always', outcome: 'success' }) >= 3);
    for (const stage of ['prepare_executor', 'pull_image', 'step_script', 'cleanup'])
      assert.ok(
        sum(runnerMetrics, 'faultline_runner_job_stage_duration_seconds_count', { stage, executor: 'docker' }) >= 1,
        `stage ${stage}`,
      );
    assert.equal(samples(runnerMetrics, 'faultline_runner_jobs_running')[0]?.value, 0);
  });

  test('pull_image spans: one per attempt, with the policy, under the job span', (t) => {
    if (!infra) return t.skip('no container infrastructure');
    const spans = exporter.getFinishedSpans();
    const job = spans.find((x) => x.attributes['cicd.pipeline.task.run.id'] === String(s.outage.jobs![0]!.id))!;
    assert.ok(job, 'job span of the outage job');
    const pulls = spans.filter((x) => x.name === 'pull_image' && x.parentSpanContext?.spanId === job.spanContext().spanId);
    assert.equal(pulls.length, 2, 'two tries (pull_retry.attempts = 2), two spans');
    for (const p of pulls) {
      assert.equal(p.attributes['faultline.pull.policy'], 'always');
      assert.equal(p.attributes['faultline.pull.outcome'], 'failure');
      assert.equal(p.attributes['faultline.registry'], infra.registry);
    }
    assert.equal(job.attributes['cicd.pipeline.task.run.result'], 'error');
    assert.equal(job.attributes['faultline.failure.cause'], 'registry_unreachable');
  });
});
