/**
 * Prometheus metrics of the coordinator and the runner (prom-client).
 *
 * Each factory registers its metrics on the given registry (a fresh one by default, so
 * tests and several in-process instances never collide) and returns typed handles plus
 * small `record*` helpers. Prefer the helpers: they keep the faultline_* series and their
 * OTel CI/CD-convention twins (cicd_*) consistent and normalise label values to the closed
 * sets in metric-names.ts. Names/labels: see metric-names.ts and docs/runbooks.md.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FailureClass, FailureReason, FailureStage } from '../protocol/failure.js';
import type { ImagePullRecord } from '../protocol/runner-api.js';
import { FAULTLINE_VERSION } from './build-info.js';
import {
  BUCKETS,
  IMAGE_PULL_FAILURE_KINDS,
  IMAGE_PULL_OUTCOMES,
  CICD_PIPELINE_RUN_STATES,
  LABEL,
  METRIC,
  RUNNER_STATES,
  type CicdPipelineResult,
  type CicdPipelineRunState,
  type CicdSystemComponent,
  type FinishedJobStatus,
  type ImagePullOutcome,
  type RecoveryKind,
  type RunnerState,
} from './metric-names.js';

export * from './metric-names.js';

export interface MetricsOptions {
  /** Also collect prom-client's process_* / nodejs_* metrics on this registry. */
  defaultMetrics?: boolean;
}

/** The part of a FailureClassification the metrics need. */
export interface ClassifiedFailure {
  class: FailureClass;
  cause: string;
  reason: FailureReason;
  stage?: FailureStage | null;
}

export interface JobFinishedEvent {
  status: FinishedJobStatus;
  /** Null/undefined for success, cancel and skip. */
  failure?: ClassifiedFailure | null;
  executor: string | null;
  runner: string | null;
  /** Run time (started → finished); omit when the job never started. */
  durationSeconds?: number | null;
}

export interface PipelineFinishedEvent {
  status: FinishedJobStatus;
  /** Class of the failure that failed the pipeline (infra wins over build when both). */
  failureClass?: FailureClass | null;
  /** The pipeline failed because a job hit its timeout (OTel result `timeout`). */
  timedOut?: boolean;
  /** First job started → finished (created → finished when no job ever started). */
  durationSeconds: number;
  /** Created → first job started (OTel state `pending`); null/absent when no job ever started. */
  pendingSeconds?: number | null;
  /** Cause of the failure that failed the pipeline (OTel `error.type` on failure/error). */
  errorType?: string | null;
}

type ImagePullLabels = 'registry' | 'policy' | 'outcome' | 'kind';

function imagePullMetrics(registry: Registry) {
  return {
    imagePulls: new Counter<ImagePullLabels>({
      name: METRIC.imagePulls,
      help: 'Image pull attempts by registry host, pull policy and outcome (success|failure|local); kind is the ImagePullError kind on failure, else empty.',
      labelNames: ['registry', 'policy', 'outcome', 'kind'] as const,
      registers: [registry],
    }),
    imagePullDuration: new Histogram<'registry' | 'policy'>({
      name: METRIC.imagePullDuration,
      help: 'Duration of image pull attempts in seconds.',
      labelNames: ['registry', 'policy'] as const,
      buckets: [...BUCKETS.imagePull],
      registers: [registry],
    }),
  };
}

/** Normalises one pull record to bounded label values. */
export function imagePullLabels(r: Pick<ImagePullRecord, 'registry' | 'policy' | 'outcome' | 'kind'>): Record<ImagePullLabels, string> {
  const outcome: ImagePullOutcome = (IMAGE_PULL_OUTCOMES as readonly string[]).includes(r.outcome) ? r.outcome : 'failure';
  let kind = '';
  if (outcome === 'failure') kind = (IMAGE_PULL_FAILURE_KINDS as readonly string[]).includes(r.kind ?? '') ? (r.kind as string) : 'other';
  return { registry: r.registry || 'unknown', policy: r.policy || 'unknown', outcome, kind };
}

function recordPull(m: ReturnType<typeof imagePullMetrics>, r: ImagePullRecord): void {
  const l = imagePullLabels(r);
  m.imagePulls.inc(l);
  // A local (cached) image is not a pull against the registry: no duration sample.
  if (l.outcome !== 'local' && Number.isFinite(r.duration_ms)) {
    m.imagePullDuration.observe({ registry: l.registry, policy: l.policy }, Math.max(0, r.duration_ms) / 1000);
  }
}

/** OTel `cicd.pipeline.result` for a finished pipeline: an infra failure is the system's `error`. */
export function cicdPipelineResult(e: Pick<PipelineFinishedEvent, 'status' | 'failureClass' | 'timedOut'>): CicdPipelineResult {
  switch (e.status) {
    case 'success':
      return 'success';
    case 'canceled':
      return 'cancellation';
    case 'skipped':
      return 'skip';
    case 'failed':
      if (e.timedOut) return 'timeout';
      return e.failureClass === 'infra' ? 'error' : 'failure';
  }
}

/** OTel `error.type` of a failed job: the classified cause (bounded: the rules' causes), else the reason. */
export function errorType(f: Pick<ClassifiedFailure, 'cause' | 'reason'> | null | undefined): string {
  return f?.cause || f?.reason || 'unknown';
}

/** `cicd.system.component` of an infra failure: the coordinator's own reasons, else the runner. */
export function cicdSystemComponent(f: Pick<ClassifiedFailure, 'stage'>): CicdSystemComponent {
  return f.stage === 'coordinator' ? 'coordinator' : 'runner';
}

/** faultline_build_info{version, node_version} 1: which build runs where (join on it in PromQL). */
function buildInfo(registry: Registry): Gauge<'version' | 'node_version'> {
  const g = new Gauge<'version' | 'node_version'>({
    name: METRIC.buildInfo,
    help: 'Always 1; labels name the faultline version and the Node.js version of this process.',
    labelNames: ['version', 'node_version'] as const,
    registers: [registry],
  });
  g.set({ version: FAULTLINE_VERSION, node_version: process.version }, 1);
  return g;
}

/** Engine steps that caught up with other writers, by how (the coordinator's EngineCache.stats). */
export interface EngineCatchups {
  refreshes: number;
  rebuilds: number;
}

const seconds = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) && x >= 0 ? x : null);

export function createCoordinatorMetrics(registry: Registry = new Registry(), opts: MetricsOptions = {}) {
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const r = [registry];
  let heartbeatSource: (() => Iterable<{ runner: string; ageSeconds: number }>) | null = null;
  let engineSource: (() => EngineCatchups) | null = null;

  const m = {
    registry,
    jobsFinished: new Counter<'status' | 'failure_class' | 'failure_reason' | 'failure_cause' | 'executor' | 'runner'>({
      name: METRIC.jobsFinished,
      help: 'Finished jobs by status and, for failures, classification (class, reason, cause); empty strings on success.',
      labelNames: ['status', 'failure_class', 'failure_reason', 'failure_cause', 'executor', 'runner'] as const,
      registers: r,
    }),
    jobDuration: new Histogram<'status' | 'failure_class' | 'executor'>({
      name: METRIC.jobDuration,
      help: 'Run time of finished jobs in seconds (start to finish).',
      labelNames: ['status', 'failure_class', 'executor'] as const,
      buckets: [...BUCKETS.job],
      registers: r,
    }),
    jobQueued: new Histogram<'executor'>({
      name: METRIC.jobQueued,
      help: 'Time jobs waited in pending before a runner picked them up, in seconds.',
      labelNames: ['executor'] as const,
      buckets: [...BUCKETS.queued],
      registers: r,
    }),
    jobsRunning: new Gauge({ name: METRIC.jobsRunning, help: 'Jobs running now.', registers: r }),
    jobsPending: new Gauge({ name: METRIC.jobsPending, help: 'Jobs pending (waiting for a runner) now.', registers: r }),
    pipelinesFinished: new Counter<'status' | 'failure_class'>({
      name: METRIC.pipelinesFinished,
      help: 'Finished pipelines by status and failure class (empty unless failed).',
      labelNames: ['status', 'failure_class'] as const,
      registers: r,
    }),
    pipelineDuration: new Histogram<'status'>({
      name: METRIC.pipelineDuration,
      help: 'Duration of finished pipelines in seconds.',
      labelNames: ['status'] as const,
      buckets: [...BUCKETS.pipeline],
      registers: r,
    }),
    ...imagePullMetrics(registry),
    runners: new Gauge<'state'>({
      name: METRIC.runners,
      help: 'Registered runners by state (available|busy|offline).',
      labelNames: ['state'] as const,
      registers: r,
    }),
    engineCatchups: new Counter<'how'>({
      name: METRIC.engineCatchups,
      help:
        "Engine steps that found this coordinator's engine of the pipeline behind the database, by how it caught up: " +
        'refreshed (took the rows another coordinator wrote since) or rebuilt (read every row: first step here, a restart).',
      labelNames: ['how'] as const,
      registers: r,
      // The engine cache counts; read at scrape time.
      collect() {
        if (!engineSource) return;
        const s = engineSource();
        this.reset();
        this.inc({ how: 'refreshed' }, s.refreshes);
        this.inc({ how: 'rebuilt' }, s.rebuilds);
      },
    }),
    runnerHeartbeatAge: new Gauge<'runner'>({
      name: METRIC.runnerHeartbeatAge,
      help: 'Seconds since each runner last contacted the coordinator.',
      labelNames: ['runner'] as const,
      registers: r,
      // Ages are computed at scrape time so they keep growing while a runner is silent.
      collect() {
        if (!heartbeatSource) return;
        this.reset();
        for (const { runner, ageSeconds } of heartbeatSource()) this.set({ runner }, Math.max(0, ageSeconds));
      },
    }),
    incidentOpen: new Gauge<'cause' | 'dependency' | 'target' | 'state'>({
      name: METRIC.incidentOpen,
      help: '1 while an infra incident (cause, dependency kind, target) is open or acknowledged (state); no series once resolved.',
      labelNames: ['cause', 'dependency', 'target', 'state'] as const,
      registers: r,
    }),
    incidentsTotal: new Counter<'cause'>({
      name: METRIC.incidentsTotal,
      help: 'Infra incidents opened, by cause.',
      labelNames: ['cause'] as const,
      registers: r,
    }),
    incidentDuration: new Histogram<'cause'>({
      name: METRIC.incidentDuration,
      help: 'Duration of closed infra incidents in seconds.',
      labelNames: ['cause'] as const,
      buckets: [...BUCKETS.incident],
      registers: r,
    }),
    recovery: new Histogram<'kind' | 'class' | 'cause'>({
      name: METRIC.recovery,
      help:
        'Recovery times in seconds (MTTR = rate(_sum)/rate(_count)): kind="pipeline" a ref from its first failed pipeline to the next green one, ' +
        'kind="incident" an infra incident from opened to resolved; by class (infra|build) and cause.',
      labelNames: ['kind', 'class', 'cause'] as const,
      buckets: [...BUCKETS.recovery],
      registers: r,
    }),
    classifications: new Counter<'class' | 'cause' | 'fallback'>({
      name: METRIC.classifications,
      help: 'Failure classifications by class and cause; fallback="true" when no rule matched and the reason decided.',
      labelNames: ['class', 'cause', 'fallback'] as const,
      registers: r,
    }),
    buildInfo: buildInfo(registry),
    cicdSystemErrors: new Counter<string>({
      name: METRIC.cicdSystemErrors,
      help: 'OTel cicd.system.errors: errors of the CI/CD system itself (infra-class job failures only; build failures excluded); error_type is the classified cause (registry_unreachable, disk_full, oom_killed, ...).',
      labelNames: [LABEL.errorType, LABEL.cicdSystemComponent],
      registers: r,
    }),
    cicdPipelineRunDuration: new Histogram<string>({
      name: METRIC.cicdPipelineRunDuration,
      help: 'OTel cicd.pipeline.run.duration: time a pipeline run spent in each cicd.pipeline.run.state (pending, executing); cicd.pipeline.result on the state it ended in, error_type = the failing cause on failure/error (pipeline name left out: unbounded).',
      labelNames: [LABEL.cicdPipelineRunState, LABEL.cicdPipelineResult, LABEL.errorType],
      buckets: [...BUCKETS.pipeline],
      registers: r,
    }),
    cicdPipelineRunActive: new Gauge<string>({
      name: METRIC.cicdPipelineRunActive,
      help: 'OTel cicd.pipeline.run.active: pipeline runs active now by cicd.pipeline.run.state.',
      labelNames: [LABEL.cicdPipelineRunState],
      registers: r,
    }),
    cicdPipelineRunErrors: new Counter<string>({
      name: METRIC.cicdPipelineRunErrors,
      help: 'OTel cicd.pipeline.run.errors: failed jobs of pipeline runs; error_type is the classified cause, failure_class says whose it is (infra|build|unknown).',
      labelNames: [LABEL.errorType, 'failure_class'],
      registers: r,
    }),
    cicdWorkerCount: new Gauge<string>({
      name: METRIC.cicdWorkerCount,
      help: 'OTel cicd.worker.count: runners by cicd.worker.state.',
      labelNames: [LABEL.cicdWorkerState],
      registers: r,
    }),
  };

  // Recovery series that exist (observed or zeroed): zero() on an existing one would reset it.
  const recoverySeries = new Set<string>();
  /**
   * Creates a recovery series at 0 before its first observation: Prometheus' increase()
   * cannot see the first sample of a new series, so a first recovery would otherwise be lost.
   */
  const expectRecovery = (kind: RecoveryKind, cls: 'infra' | 'build', cause: string): void => {
    const key = `${kind}\0${cls}\0${cause}`;
    if (recoverySeries.has(key)) return;
    recoverySeries.add(key);
    m.recovery.zero({ kind, class: cls, cause });
  };
  const recordRecovery = (kind: RecoveryKind, cls: 'infra' | 'build', cause: string, secondsValue: number): void => {
    const d = seconds(secondsValue);
    if (d === null) return;
    recoverySeries.add(`${kind}\0${cls}\0${cause}`);
    m.recovery.observe({ kind, class: cls, cause }, d);
  };

  return {
    ...m,

    /** A job reached a terminal status. Counts infra failures as cicd.system.errors too. */
    recordJobFinished(e: JobFinishedEvent): void {
      const f = e.status === 'failed' ? (e.failure ?? null) : null;
      const executor = e.executor ?? '';
      m.jobsFinished.inc({
        status: e.status,
        failure_class: f?.class ?? (e.status === 'failed' ? 'unknown' : ''),
        failure_reason: f?.reason ?? '',
        failure_cause: f?.cause ?? '',
        executor,
        runner: e.runner ?? '',
      });
      const d = seconds(e.durationSeconds);
      if (d !== null) m.jobDuration.observe({ status: e.status, failure_class: f?.class ?? '', executor }, d);
      if (e.status === 'failed') {
        m.cicdPipelineRunErrors.inc({ [LABEL.errorType]: errorType(f), failure_class: f?.class ?? 'unknown' });
      }
      if (f?.class === 'infra') {
        // The cause, not the runner's reason: DNS, disk and OOM all arrive as script_failure.
        m.cicdSystemErrors.inc({ [LABEL.errorType]: errorType(f), [LABEL.cicdSystemComponent]: cicdSystemComponent(f) });
      }
    },

    /** A runner picked up a job after it waited `queuedSeconds` in pending. */
    recordJobStarted(e: { executor: string | null; queuedSeconds: number }): void {
      const q = seconds(e.queuedSeconds);
      if (q !== null) m.jobQueued.observe({ executor: e.executor ?? '' }, q);
    },

    setJobCounts(c: { running: number; pending: number }): void {
      m.jobsRunning.set(c.running);
      m.jobsPending.set(c.pending);
    },

    recordPipelineFinished(e: PipelineFinishedEvent): void {
      const failureClass = e.status === 'failed' ? (e.failureClass ?? 'unknown') : '';
      m.pipelinesFinished.inc({ status: e.status, failure_class: failureClass });
      const d = seconds(e.durationSeconds);
      if (d !== null) {
        m.pipelineDuration.observe({ status: e.status }, d);
        const result = cicdPipelineResult(e);
        const ended = {
          [LABEL.cicdPipelineResult]: result,
          [LABEL.errorType]: result === 'failure' || result === 'error' || result === 'timeout' ? (e.errorType ?? 'unknown') : '',
        };
        const pending = seconds(e.pendingSeconds);
        if (pending === null) {
          // Never started (e.g. stuck, canceled while pending): the run ended in pending.
          m.cicdPipelineRunDuration.observe({ [LABEL.cicdPipelineRunState]: 'pending', ...ended }, d);
        } else {
          m.cicdPipelineRunDuration.observe(
            { [LABEL.cicdPipelineRunState]: 'pending', [LABEL.cicdPipelineResult]: '', [LABEL.errorType]: '' },
            pending,
          );
          m.cicdPipelineRunDuration.observe({ [LABEL.cicdPipelineRunState]: 'executing', ...ended }, d);
        }
      }
    },

    /** Active pipeline runs by state (every state set, zeros included). */
    setPipelineRunCounts(counts: Partial<Record<CicdPipelineRunState, number>>): void {
      for (const state of CICD_PIPELINE_RUN_STATES)
        m.cicdPipelineRunActive.set({ [LABEL.cicdPipelineRunState]: state }, counts[state] ?? 0);
    },

    /** One pull attempt reported by a runner (JobUpdateRequest.image_pulls). */
    recordImagePull(rec: ImagePullRecord): void {
      recordPull(m, rec);
    },

    /** Sets every state (zeros included, so `== 0` alerts see a series) on both gauges. */
    setRunnerCounts(counts: Partial<Record<RunnerState, number>>): void {
      for (const state of RUNNER_STATES) {
        const n = counts[state] ?? 0;
        m.runners.set({ state }, n);
        m.cicdWorkerCount.set({ [LABEL.cicdWorkerState]: state }, n);
      }
    },

    /** Where the engine catch-up counts come from at scrape time (the coordinator's engine cache). */
    setEngineSource(fn: () => EngineCatchups): void {
      engineSource = fn;
    },

    /** Where heartbeat ages come from at scrape time (the coordinator's runner table). */
    setHeartbeatSource(fn: () => Iterable<{ runner: string; ageSeconds: number }>): void {
      heartbeatSource = fn;
    },

    recordClassification(c: { class: FailureClass; cause: string; fallback: boolean }): void {
      m.classifications.inc({ class: c.class, cause: c.cause, fallback: String(c.fallback) });
    },

    /** Also for an incident restored after a restart (`restored`: not counted again). */
    recordIncidentOpened(
      i: { cause: string; dependency: string; target: string; state?: 'open' | 'acknowledged' },
      restored = false,
    ): void {
      m.incidentOpen.set({ cause: i.cause, dependency: i.dependency, target: i.target, state: i.state ?? 'open' }, 1);
      if (!restored) m.incidentsTotal.inc({ cause: i.cause });
      expectRecovery('incident', 'infra', i.cause);
    },

    expectRecovery,

    recordIncidentAcknowledged(i: { cause: string; dependency: string; target: string }): void {
      m.incidentOpen.remove({ cause: i.cause, dependency: i.dependency, target: i.target, state: 'open' });
      m.incidentOpen.set({ cause: i.cause, dependency: i.dependency, target: i.target, state: 'acknowledged' }, 1);
    },

    /** A resolved incident leaves no series behind; its duration goes to the histograms. */
    recordIncidentClosed(i: { cause: string; dependency: string; target: string; durationSeconds: number }): void {
      for (const state of ['open', 'acknowledged'])
        m.incidentOpen.remove({ cause: i.cause, dependency: i.dependency, target: i.target, state });
      const d = seconds(i.durationSeconds);
      if (d === null) return;
      m.incidentDuration.observe({ cause: i.cause }, d);
      recordRecovery('incident', 'infra', i.cause, d);
    },

    recordRecovery,
  };
}
export type CoordinatorMetrics = ReturnType<typeof createCoordinatorMetrics>;

export function createRunnerMetrics(registry: Registry = new Registry(), opts: MetricsOptions = {}) {
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const m = {
    registry,
    buildInfo: buildInfo(registry),
    runnerJobsRunning: new Gauge({
      name: METRIC.runnerJobsRunning,
      help: 'Jobs this runner is running now (teardown included).',
      registers: [registry],
    }),
    ...imagePullMetrics(registry),
    jobStageDuration: new Histogram<'stage' | 'executor'>({
      name: METRIC.runnerJobStageDuration,
      help: 'Duration of job stages (prepare_executor, pull_image, get_sources, step_script, ...) in seconds.',
      labelNames: ['stage', 'executor'] as const,
      buckets: [...BUCKETS.stage],
      registers: [registry],
    }),
  };
  return {
    ...m,
    recordImagePull(rec: ImagePullRecord): void {
      recordPull(m, rec);
    },
    recordStage(stage: string, executor: string, durationSeconds: number): void {
      const d = seconds(durationSeconds);
      if (d !== null) m.jobStageDuration.observe({ stage, executor }, d);
    },
  };
}
export type RunnerMetrics = ReturnType<typeof createRunnerMetrics>;
