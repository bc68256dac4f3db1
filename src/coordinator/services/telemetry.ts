/**
 * The coordinator's observability, wired one way: store → classifier → events → here.
 *  - Prometheus metrics: counters/histograms from the typed events; gauges (jobs
 *    running/pending, runners by state, heartbeat ages) computed at scrape time from the
 *    store; recovery times (MTTR) observed into a histogram as each recovery happens.
 *    Served at GET /metrics.
 *  - Traces: CiSpans when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT or an exporter the
 *    embedding process passed to initTracing); the job span's W3C context goes into the
 *    job payload. Nothing is created when tracing is off.
 *  - Infra incidents, widespread unknown errors and MTTR (incidents.ts, widespread.ts,
 *    mttr.ts), persisted in the store.
 */
import { Router, type Express } from 'express';
import type { Logger } from 'pino';
import type { JobPayload } from '../../protocol/runner-api.js';
import { CiSpans } from '../../telemetry/ci-spans.js';
import {
  createCoordinatorMetrics,
  errorType,
  type CoordinatorMetrics,
  type EngineCatchups,
  type RunnerState,
} from '../../telemetry/metrics.js';
import { initTracing, type Tracing } from '../../telemetry/tracing.js';
import { incidentsApi } from '../api/incidents-api.js';
import { overviewApi } from '../api/overview-api.js';
import { requireApiToken } from '../api/auth.js';
import type { CoordinatorEventMap, CoordinatorEvents } from '../events.js';
import type { Store } from '../store/index.js';
import { IncidentService } from './incidents.js';
import { MttrService } from './mttr.js';
import { WidespreadService, type WidespreadOptions } from './widespread.js';
import type { IncidentThresholds } from './incidents.js';

export interface TelemetryOptions {
  /** Runners silent this long count as offline (the coordinator's heartbeat timeout). */
  heartbeatTimeoutMs: number;
  /** When a pending incident opens (default 3 failures or 2 minutes). */
  incidentThresholds?: Partial<IncidentThresholds>;
  /** When an unknown error line counts as widespread (default 5 jobs in 30 minutes). */
  widespread?: Partial<WidespreadOptions>;
  /** The coordinator's public URL (for span links), read lazily. */
  baseUrl: () => string;
  /**
   * Whether this coordinator exports the cluster-wide gauges (jobs, pipelines and runners as the
   * database has them). Only the leader does, so a sum over coordinators counts each once;
   * the others export them as 0 (default: always, as on SQLite).
   */
  isLeader?: () => boolean;
  /** How often engines caught up with other coordinators' steps (EngineCache.stats). */
  engineStats?: () => EngineCatchups;
  /** prom-client's process_* / nodejs_* metrics (default true). */
  defaultMetrics?: boolean;
}

export interface CoordinatorTelemetry {
  metrics: CoordinatorMetrics;
  incidents: IncidentService;
  mttr: MttrService;
  widespread: WidespreadService;
  tracing: Tracing;
  /** Null when tracing is off. */
  spans: CiSpans | null;
  /** Prometheus text exposition, gauges refreshed from the store first. */
  scrape(): Promise<{ contentType: string; body: string }>;
  /** At dispatch: starts the job span and returns its W3C context for the payload (null when off). */
  traceContext(
    p: { id: number; name: string; created_at: number },
    job: { id: number; name: string; started_at: number | null },
    runner: { id: number; name: string },
  ): JobPayload['trace_context'];
  /** Mounts GET /metrics and the incidents/MTTR API on the app. */
  mount(app: Express): void;
  close(): Promise<void>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export async function createTelemetry(
  store: Store,
  events: CoordinatorEvents,
  log: Logger,
  o: TelemetryOptions,
): Promise<CoordinatorTelemetry> {
  const metrics = createCoordinatorMetrics(undefined, { defaultMetrics: o.defaultMetrics ?? true });
  const labels = (i: { cause: string; dependency_kind: string; target: string }) => ({
    cause: i.cause,
    dependency: i.dependency_kind,
    target: i.target,
  });
  // Live UI (GET /api/v1/events): every state change of an incident.
  const changed = (i: { id: number; cause: string; target: string }, state: string) =>
    events.safeEmit('incident_changed', { incident_id: i.id, state, cause: i.cause, target: i.target, at: iso(Date.now()) });
  const incidents = new IncidentService(
    store,
    {
      opened: (i) => {
        metrics.recordIncidentOpened(labels(i));
        changed(i, 'open');
        log.warn(
          { incident: i.id, cause: i.cause, dependency: i.dependency_kind, target: i.target, failures: i.job_count },
          'infra incident opened',
        );
      },
      acknowledged: (i) => {
        metrics.recordIncidentAcknowledged(labels(i));
        changed(i, 'acknowledged');
      },
      resolved: (i, durationSeconds) => {
        metrics.recordIncidentClosed({ ...labels(i), durationSeconds });
        changed(i, 'resolved');
        log.info({ incident: i.id, cause: i.cause, target: i.target, by: i.resolved_reason, durationSeconds }, 'infra incident resolved');
      },
    },
    o.incidentThresholds,
  );
  await incidents.load();
  const mttr = new MttrService(store.sql, incidents.rows);
  const widespread = new WidespreadService(store, o.widespread);
  const tracing = initTracing('faultline-coordinator');
  const spans = tracing.enabled ? new CiSpans(tracing.tracer, o.baseUrl) : null;

  // Series of incidents open before a restart (resolved ones have none).
  for (const i of incidents.openIncidents())
    metrics.recordIncidentOpened({ ...labels(i), state: i.state === 'acknowledged' ? 'acknowledged' : 'open' }, true);

  const pipelineOf = (id: number) => store.pipelines.identity(id);

  const onJobFinished = ({ job, runner, queued_ms, duration_ms }: CoordinatorEventMap['job_finished'][0]) => {
    const executor = runner?.executor ?? job.failure?.executor ?? null;
    if (job.status === 'success' || job.status === 'failed' || job.status === 'canceled' || job.status === 'skipped') {
      metrics.recordJobFinished({
        status: job.status,
        failure: job.failure,
        executor,
        runner: runner?.name ?? null,
        durationSeconds: duration_ms === null ? null : duration_ms / 1000,
      });
    }
    if (queued_ms !== null) metrics.recordJobStarted({ executor, queuedSeconds: queued_ms / 1000 });
    if (job.failure) metrics.recordClassification({ class: job.failure.class, cause: job.failure.cause, fallback: job.failure.fallback });
    incidents.onJobFinished(job, runner ?? undefined).catch((err: unknown) => events.onListenerError?.(err));
    widespread.onJobFinished(job).catch((err: unknown) => events.onListenerError?.(err));
    if (spans && (job.started_at !== null || job.status === 'failed')) {
      const s = spans;
      pipelineOf(job.pipeline_id)
        .then((p) => p && s.jobFinished({ id: p.id, name: p.name, created_at: iso(p.created_at) }, job))
        .catch((err: unknown) => events.onListenerError?.(err));
    }
  };
  const onPipelineFinished = ({ pipeline: p, timed_out, decisive_failure }: CoordinatorEventMap['pipeline_finished'][0]) => {
    if (p.status === 'success' || p.status === 'failed' || p.status === 'canceled' || p.status === 'skipped') {
      const start = Date.parse(p.started_at ?? p.created_at);
      const created = Date.parse(p.created_at);
      const end = p.finished_at ? Date.parse(p.finished_at) : Date.now();
      // error.type: the cause of a failure of the class that failed the pipeline (infra wins).
      metrics.recordPipelineFinished({
        status: p.status,
        failureClass: p.failure_class,
        timedOut: timed_out,
        durationSeconds: Math.max(0, end - start) / 1000,
        pendingSeconds: p.started_at ? Math.max(0, Date.parse(p.started_at) - created) / 1000 : null,
        errorType: decisive_failure ? errorType(decisive_failure) : null,
      });
    }
    if (p.status === 'failed') {
      // The ref may now be broken: its recovery series must exist before the recovery.
      const cls = p.failure_class === 'infra' ? 'infra' : 'build';
      const first = (p.jobs ?? []).find(
        (j) => j.status === 'failed' && !j.allow_failure && j.failure && (j.failure.class === 'infra') === (cls === 'infra'),
      );
      metrics.expectRecovery('pipeline', cls, first?.failure?.cause ?? 'unknown');
    }
    if (p.status === 'success' && p.finished_at) {
      // Recorded when the store answers (after the spans below): the histogram needs no order.
      mttr
        .recoveryAt({ id: p.id, project: p.project, ref: p.ref, finished_at: Date.parse(p.finished_at) })
        .then((r) => {
          if (r) metrics.recordRecovery('pipeline', r.class, r.cause, r.seconds);
        })
        .catch((err: unknown) => events.onListenerError?.(err));
    }
    spans?.pipelineFinished(p);
  };
  const onImagePulls = ({ job_id, pulls }: CoordinatorEventMap['image_pulls'][0]) => {
    for (const pull of pulls) metrics.recordImagePull(pull);
    incidents.onImagePulls(job_id, pulls).catch((err: unknown) => events.onListenerError?.(err));
  };
  events.on('job_finished', onJobFinished);
  events.on('pipeline_finished', onPipelineFinished);
  events.on('image_pulls', onImagePulls);
  const onRunnerRemoved = ({ runner_id }: CoordinatorEventMap['runner_removed'][0]) =>
    void incidents.onRunnerRemoved(runner_id).catch((err: unknown) => events.onListenerError?.(err));
  events.on('runner_removed', onRunnerRemoved);

  // Scrape-time gauges.
  const jobCounts = () =>
    store.sql.all<{ status: string; n: number }>(
      `SELECT status, COUNT(*) AS n FROM jobs WHERE status IN ('pending', 'running', 'canceling') GROUP BY status`,
    );
  const runnerRows = () =>
    store.sql.all<RunnerGaugeRow>(
      `SELECT r.id, r.name, r.state, r.last_heartbeat_at,
            (SELECT COUNT(*) FROM jobs j WHERE j.runner_id = r.id AND j.status IN ('running', 'canceling')) AS active
     FROM runners r WHERE r.removed_at IS NULL`,
    );
  // cicd.pipeline.run.active: created/pending → pending, running → executing, canceling → finalizing
  // (its jobs' teardown). Manual/blocked pipelines wait for a person: not active.
  const pipelineCounts = () =>
    store.sql.all<{ status: string; n: number }>(
      `SELECT status, COUNT(*) AS n FROM pipelines WHERE status IN ('created', 'pending', 'running', 'canceling') GROUP BY status`,
    );
  type RunnerGaugeRow = { id: number; name: string; state: string; last_heartbeat_at: number | null; active: number };
  let heartbeatRows: RunnerGaugeRow[] = [];
  if (o.engineStats) metrics.setEngineSource(o.engineStats);
  metrics.setHeartbeatSource(() => {
    const now = Date.now();
    return heartbeatRows.map((r) => ({ runner: r.name, ageSeconds: (now - (r.last_heartbeat_at ?? now)) / 1000 }));
  });

  async function refreshGauges(): Promise<void> {
    const c = { pending: 0, running: 0 };
    for (const r of await jobCounts()) {
      if (r.status === 'pending') c.pending += r.n;
      else c.running += r.n;
    }
    metrics.setJobCounts(c);
    const runs = { pending: 0, executing: 0, finalizing: 0 };
    for (const r of await pipelineCounts()) {
      if (r.status === 'running') runs.executing += r.n;
      else if (r.status === 'canceling') runs.finalizing += r.n;
      else runs.pending += r.n;
    }
    metrics.setPipelineRunCounts(runs);
    heartbeatRows = await runnerRows();
    const now = Date.now();
    const states: Record<RunnerState, number> = { available: 0, busy: 0, offline: 0 };
    for (const r of heartbeatRows) {
      const silent = r.last_heartbeat_at === null || now - r.last_heartbeat_at > o.heartbeatTimeoutMs;
      states[r.state === 'offline' || silent ? 'offline' : r.active > 0 ? 'busy' : 'available']++;
    }
    metrics.setRunnerCounts(states);
  }

  const t: CoordinatorTelemetry = {
    metrics,
    incidents,
    mttr,
    widespread,
    tracing,
    spans,
    async scrape() {
      try {
        if (o.isLeader?.() ?? true) await refreshGauges();
        else {
          heartbeatRows = [];
          metrics.setJobCounts({ pending: 0, running: 0 });
          metrics.setPipelineRunCounts({});
          metrics.setRunnerCounts({});
        }
      } catch (err) {
        // A closed/locked DB must not break the scrape: counters are still worth serving.
        log.error({ err }, 'refreshing scrape-time gauges failed');
      }
      return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
    },
    traceContext(p, job, runner) {
      if (!spans) return null;
      return spans.jobDispatched(
        { id: p.id, name: p.name, created_at: iso(p.created_at) },
        { id: job.id, name: job.name, started_at: job.started_at === null ? null : iso(job.started_at) },
        runner,
      );
    },
    mount(app) {
      const r = Router();
      r.get('/metrics', async (_req, res) => {
        const out = await t.scrape();
        res.set('content-type', out.contentType).send(out.body);
      });
      app.use(r);
      app.use(
        '/api/v1',
        requireApiToken(store),
        incidentsApi({ incidents, mttr, widespread }),
        overviewApi({ store, incidents, heartbeatTimeoutMs: o.heartbeatTimeoutMs }),
      );
    },
    async close() {
      events.off('job_finished', onJobFinished);
      events.off('pipeline_finished', onPipelineFinished);
      events.off('image_pulls', onImagePulls);
      events.off('runner_removed', onRunnerRemoved);
      await tracing.shutdown(); // flushes batched spans when this coordinator started the SDK
    },
  };
  return t;
}
