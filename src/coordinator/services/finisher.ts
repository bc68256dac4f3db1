/**
 * After a job's final state is stored: classify (failed jobs), store the verdict, then
 * feed job_finished to the engine — off the runner-API hot path, one job at a time.
 * Jobs left half-finished by a crash (finish_pending = 1) are picked up at start.
 */
import type { Logger } from 'pino';
import type { FailureClassification, FailureReason, FailureReport, FailureStage } from '../../protocol/failure.js';
import type { CoordinatorEvents } from '../events.js';
import type { Store } from '../store/index.js';
import type { JobRow } from '../store/jobs.js';
import { jobJson } from '../views.js';
import { newErrorLines, type ClassifyReports } from '../../classify/index.js';
import { resolveFinish } from '../../pipeline/rules.js';
import { fallbackClassification, type FailureClassifier } from './classifier.js';
import type { PipelineService } from './pipeline-service.js';

/** How much of the log end the classifier sees. */
export const CLASSIFY_TAIL_BYTES = 1024 * 1024;
/** How many lines new since the last green run a fallback verdict carries. */
const MAX_NEW_LINES = 5;

export class Finisher {
  private readonly queue: number[] = [];
  private readonly queued = new Set<number>();
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Parsed test reports of a job, passed to the classifier as evidence (set by the artifact service). */
  reportsOf: (jobId: number) => Promise<ClassifyReports | undefined> = () => Promise.resolve(undefined);

  constructor(
    private readonly store: Store,
    private readonly pipelines: PipelineService,
    private readonly events: CoordinatorEvents,
    private readonly classifier: () => FailureClassifier,
    private readonly log: Logger,
  ) {}

  enqueue(jobId: number): void {
    if (this.stopped || this.queued.has(jobId)) return;
    this.queued.add(jobId);
    this.queue.push(jobId);
    if (!this.running) this.running = new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
  }

  /** Re-queue jobs whose final update was stored but not finished (crash/restart), optionally only those stored before `before`. */
  async recover(before?: number): Promise<void> {
    for (const id of await this.store.jobs.finishPendingIds(before)) this.enqueue(id);
  }

  /** Resolves when the queue is empty. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    await this.idle();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const id = this.queue.shift()!;
        this.queued.delete(id);
        try {
          await this.finish(id);
        } catch (err) {
          this.log.error({ err, job: id }, 'finishing job failed');
        }
      }
    } finally {
      this.running = null;
    }
  }

  private async finish(jobId: number): Promise<void> {
    const job = await this.store.jobs.get(jobId);
    if (!job || job.finish_pending !== 1) return;
    // An exit code on_status maps to pass_pipeline ends the pipeline early on purpose: the job
    // passes (the engine makes it success), so it is no failure to classify, list or count.
    const failure = needsClassification(job) && !(await this.passesEarly(job)) ? await this.classify(job) : null;
    if (this.stopped) return; // the DB may be closing; recover() picks it up next start
    const result = job.status as 'success' | 'failed' | 'canceled';
    let replaced = false;
    try {
      await this.pipelines.apply(
        job.pipeline_id,
        {
          type: 'job_finished',
          name: job.name,
          result,
          exit_code: job.exit_code,
          failure_reason: failure?.reason ?? null,
          failure_class: failure?.class ?? null,
        },
        {
          // Only if nothing finished it meanwhile; the verdict and the engine step commit together.
          guard: async () => {
            const taken = await this.store.jobs.takeFinish(jobId, job.last_update_at);
            // A late final update replaced the report while it was being classified: finish that one.
            replaced = taken === 'replaced';
            if (taken === 'replaced' || taken === 'done') return false;
            if (failure) await this.store.jobs.storeClassification(jobId, failure);
            // The row already holds the final status (stored with the report): a step that moves
            // the job there neither reads nor writes it again.
            return { name: job.name, to: result, ref: taken };
          },
        },
      );
    } catch (err) {
      // The engine refused (state drift): keep the verdict, never loop on this job.
      this.log.error({ err, job: jobId }, 'engine refused job_finished');
      await this.store.tx(async () => {
        if (failure) await this.store.jobs.storeClassification(jobId, failure);
        await this.store.jobs.clearFinishPending(jobId);
      });
    }
    if (replaced) return this.enqueue(jobId);
    const { runner_name, runner_executor, ...row } = (await this.store.jobs.withRunner(jobId))!;
    this.events.safeEmit('job_finished', {
      job: jobJson(row),
      runner_id: row.runner_id,
      runner: runner_name !== null && runner_executor !== null ? { name: runner_name, executor: runner_executor } : null,
      queued_ms: row.queued_at !== null && row.started_at !== null ? row.started_at - row.queued_at : null,
      duration_ms: row.started_at !== null && row.finished_at !== null ? row.finished_at - row.started_at : null,
      stages: row.stages_json ? JSON.parse(row.stages_json) : [],
    });
  }

  private async passesEarly(job: JobRow): Promise<boolean> {
    if (job.status !== 'failed') return false;
    const spec = (await this.pipelines.model(job.pipeline_id)).jobs.find((j) => j.name === job.name);
    return !!spec && resolveFinish(spec, 'failed', job.exit_code).outcome === 'pass_pipeline';
  }

  private async classify(job: JobRow): Promise<FailureClassification> {
    const report: FailureReport = {
      reason: (job.failure_reason ?? 'script_failure') as FailureReason,
      stage: (job.failure_stage ?? 'step_script') as FailureStage,
      exit_code: job.exit_code,
      executor: job.failure_executor,
      message: job.failure_message,
      image: job.failure_image,
      registry: job.failure_registry,
      kind: job.failure_kind,
    };
    const { start, data } = await this.tail(job.id);
    let verdict: FailureClassification;
    let lineOffset = 0;
    try {
      lineOffset = start > 0 ? await this.store.traces.countLines(job.id, start) : 0;
      const reports = await this.reportsOf(job.id);
      verdict = await this.classifier().classify(report, data, { lineOffset, ...(reports ? { reports } : {}) });
    } catch (err) {
      this.log.error({ err, job: job.id }, 'classifier failed; falling back to the reason');
      verdict = fallbackClassification(report);
    }
    return verdict.fallback ? this.withBaseline(job, verdict, data, lineOffset) : verdict;
  }

  /** The log end the classifier reads, from a line boundary (line numbers stay whole-log ones). */
  private async tail(jobId: number): Promise<{ start: number; data: Buffer }> {
    let { start, data } = await this.store.traces.tail(jobId, CLASSIFY_TAIL_BYTES);
    if (start > 0) {
      const nl = data.indexOf(10);
      if (nl !== -1) {
        data = data.subarray(nl + 1);
        start += nl + 1;
      }
    }
    return { start, data };
  }

  /**
   * No rule matched: compare with the last green run of the same job (same project and
   * name) — the error-like lines it did not print are where to look. Both logs are read
   * up to the classifier's window; a failed comparison never costs the verdict.
   */
  private async withBaseline(
    job: JobRow,
    verdict: FailureClassification,
    data: Buffer,
    lineOffset: number,
  ): Promise<FailureClassification> {
    try {
      const green = await this.store.jobs.lastGreen(job.project, job.name, job.id);
      if (green === undefined) return { ...verdict, baseline_job_id: null, new_lines: null };
      const lines = newErrorLines(data, (await this.tail(green)).data, MAX_NEW_LINES, CLASSIFY_TAIL_BYTES, lineOffset);
      return { ...verdict, baseline_job_id: green, new_lines: lines };
    } catch (err) {
      this.log.error({ err, job: job.id }, 'comparing with the last green run failed');
      return verdict;
    }
  }
}

/** Failed jobs, and canceled ones the runner gave a failure for (a timeout under graceful). */
const needsClassification = (j: JobRow): boolean => j.status === 'failed' || (j.status === 'canceled' && j.failure_reason !== null);
