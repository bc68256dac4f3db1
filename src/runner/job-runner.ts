/**
 * The job orchestrator: drives one job through
 *   prepare_executor → get_sources → step_script → after_script → cleanup
 * and reports it. Outcomes:
 *   - step_script exits non-zero → failed, script_failure at step_script, exact exit code
 *   - a BuildError → its reason/stage; any other error → runner_system_failure at the
 *     stage that was running
 *   - timeout (job.timeout_seconds over the whole job) → failed, job_execution_timeout
 *   - cancel (heartbeat cancel_job_ids or an update's cancel_requested) → canceled
 *   - runner shutdown (`interrupt`) → failed, runner_interrupted
 * after_script runs after a step_script that ended by itself (CI_JOB_STATUS success|
 * failed) and, under `interruptible: graceful`, after a step_script stopped by cancel or
 * timeout (CI_JOB_STATUS canceled|timedout) — never after a non-graceful stop. It has
 * its own timeout and its own stop signal, and never changes the job's result.
 * Cleanup runs once, on a context the cancel does not touch, before the final update.
 */
import { mkdirSync, rmSync } from 'node:fs';
import type { FailureReason, FailureStage } from '../protocol/failure.js';
import type { JobPayload, JobUpdateRequest } from '../protocol/runner-api.js';
import type { RunnerClient } from './client.js';
import { BuildError, type Executor, type JobContext, type StepResult } from './executor.js';
import { expandString } from '../pipeline/variables.js';
import { jobDirs, jobEnv, jobMasks, type RunnerIdentity } from './job-env.js';
import { Masker } from './trace.js';
import { silentLogger, type RunnerLogger } from './logger.js';
import { buildScript } from './script.js';
import { restoreCaches, saveCaches, type CacheRun } from './cache.js';
import { getSources } from './sources.js';
import { TraceBuffer } from './trace.js';
import { collectArtifactFiles, downloadDependencies, uploadsFor, zipStream } from './artifacts.js';

export interface RunJobOptions {
  job: JobPayload;
  client: Pick<RunnerClient, 'updateJob' | 'appendTrace'> & Partial<Pick<RunnerClient, 'uploadArtifact' | 'downloadArtifact'>>;
  /** A fresh executor for this job (executors keep per-job state). */
  executor: Executor;
  runner: RunnerIdentity;
  buildsDir: string;
  /** Concurrency slot of this runner running the job (keeps build dirs apart). */
  slot?: number;
  logger?: RunnerLogger;
  /** Runner is going down: stop the job now and report runner_interrupted. */
  interrupt?: AbortSignal;
  /** Runner is gone: stop retrying updates. */
  shutdown?: AbortSignal;
  traceIntervalMs?: number;
  /** Period of `update(running)` keep-alives (also a cancel check). */
  keepaliveMs?: number;
  cleanupTimeoutMs?: number;
  /** Local cache root (per coordinator, shared by this host's runners); absent = no cache. */
  cacheDir?: string;
}

export interface JobHandle {
  readonly jobId: number;
  /** Ask the job to stop (as the coordinator's cancel): graceful or not per job.interruptible. */
  cancel(): void;
  /** The final update (as sent, or as attempted when the coordinator was unreachable). */
  readonly done: Promise<JobUpdateRequest>;
}

type StopReason = 'cancel' | 'timeout' | 'interrupt';
type Outcome =
  | { kind: 'success' }
  | { kind: 'script'; exitCode: number | null; signal: string | null }
  | { kind: 'error'; err: unknown; stage: FailureStage }
  | { kind: 'stopped' };

type AfterInfo = NonNullable<JobUpdateRequest['after_script']>;

export function startJob(o: RunJobOptions): JobHandle {
  const run = new JobRun(o);
  return { jobId: o.job.id, cancel: () => run.cancel(), done: run.run() };
}

export function runJob(o: RunJobOptions): Promise<JobUpdateRequest> {
  return startJob(o).done;
}

class JobRun {
  private readonly job: JobPayload;
  private readonly log: RunnerLogger;
  private readonly trace: TraceBuffer;
  private readonly ctx: JobContext;
  private readonly perJobDir: boolean;
  private readonly stop = new AbortController();
  private stage: FailureStage = 'prepare_executor';
  private phase: 'main' | 'after_script' | 'finishing' = 'main';
  private stopReason: StopReason | null = null;
  private stopStage: FailureStage | null = null;
  /** A cancel that arrived once the script was over (graceful after_script keeps running). */
  private lateCancel = false;
  private afterStop: AbortController | null = null;
  private preparing: Promise<void> | null = null;
  private readonly stages: NonNullable<JobUpdateRequest['stages']> = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private cacheKeys: string[] | null = null;

  constructor(private readonly o: RunJobOptions) {
    this.job = o.job;
    this.log = o.logger ?? silentLogger;
    const slot = o.slot ?? 0;
    const dirs = jobDirs(o.buildsDir, o.runner, slot, o.job);
    this.perJobDir = dirs.perJob;
    const env = jobEnv(o.job, { runner: o.runner, buildDir: dirs.buildDir, buildsDir: o.buildsDir, slot });
    // gitlab-runner expands variables in the image name (`image: $CI_REGISTRY_IMAGE:$TAG`).
    if (o.job.image && o.job.image.name.includes('$'))
      this.job = { ...o.job, image: { ...o.job.image, name: expandString(o.job.image.name, env) } };
    this.trace = new TraceBuffer({
      send: (offset, bytes, signal) => o.client.appendTrace(o.job, offset, bytes, signal ?? o.shutdown),
      startOffset: o.job.trace_offset ?? 0,
      masks: jobMasks(o.job, env),
      intervalMs: o.traceIntervalMs,
      logger: this.log,
    });
    this.ctx = {
      job: this.job,
      buildDir: dirs.buildDir,
      tmpDir: dirs.tmpDir,
      trace: this.trace,
      env,
      imagePulls: [],
      onStage: (stage, start, end, attributes) =>
        this.stages.push({ stage, start: start.toISOString(), end: end.toISOString(), ...(attributes ? { attributes } : {}) }),
    };
  }

  private get graceful(): boolean {
    return this.job.interruptible === 'graceful';
  }

  private get graceMs(): number {
    return Math.max(0, this.job.cancel_grace_seconds) * 1000;
  }

  cancel(): void {
    if (this.phase === 'finishing' || this.stopReason === 'cancel' || this.lateCancel) return;
    if (this.phase === 'after_script') {
      // The script is over; a graceful job lets its after_script finish, others stop it.
      this.lateCancel = true;
      this.trace.line('WARNING: job canceled while running after_script');
      if (!this.graceful) this.afterStop?.abort();
      return;
    }
    this.requestStop('cancel');
  }

  private requestStop(reason: StopReason): void {
    if (this.stopReason || this.phase !== 'main') return;
    this.stopReason = reason;
    this.stopStage = this.stage;
    const why =
      reason === 'cancel'
        ? 'Job canceled'
        : reason === 'timeout'
          ? `Job execution timed out after ${this.job.timeout_seconds} seconds`
          : 'Runner is shutting down';
    this.trace.line(`\nWARNING: ${why}: stopping the ${this.stage} stage${this.graceful && reason !== 'interrupt' ? ' (graceful)' : ''}`);
    this.log.info({ job: this.job.id, reason, stage: this.stage }, 'stopping job');
    this.stop.abort();
  }

  async run(): Promise<JobUpdateRequest> {
    const { job, o } = this;
    this.trace.begin();
    const onInterrupt = () => {
      this.requestStop('interrupt');
      this.afterStop?.abort();
    };
    if (o.interrupt?.aborted) queueMicrotask(onInterrupt);
    else o.interrupt?.addEventListener('abort', onInterrupt, { once: true });
    this.timers.push(setTimeout(() => this.requestStop('timeout'), job.timeout_seconds * 1000));
    const keepalive = setInterval(() => void this.keepalive(), o.keepaliveMs ?? 15_000);
    keepalive.unref();
    this.timers.push(keepalive);

    void this.keepalive();
    this.trace.line(`Running with faultline runner ${o.runner.name}${o.runner.id !== null ? ` (#${o.runner.id})` : ''}`);
    this.trace.line(`Job ${job.id} "${job.name}" (stage ${job.stage}, attempt ${job.attempt})`);

    let outcome: Outcome = { kind: 'stopped' };
    let after: AfterInfo | null = null;
    try {
      outcome = await this.main();
      if (this.phase === 'main') this.phase = 'after_script';
      clearTimeout(this.timers[0]);
      after = await this.afterScript(outcome);
      if (outcome.kind === 'success' || outcome.kind === 'script') await this.cacheStep('archive_cache', outcome.kind === 'success');
      outcome = await this.uploadArtifacts(outcome);
    } catch (err) {
      outcome = { kind: 'error', err, stage: this.stage };
    }
    this.phase = 'finishing';
    for (const t of this.timers) clearTimeout(t);
    o.interrupt?.removeEventListener('abort', onInterrupt);
    await this.cleanup();
    const final = this.finalUpdate(outcome, after);
    this.trace.line(this.summary(final));
    await this.trace.close({ timeoutMs: 30_000, signal: o.shutdown });
    if (this.trace.sentBytes < this.trace.bytes) this.log.warn({ job: job.id }, 'final trace not fully delivered');
    final.trace_bytes = this.trace.bytes;
    const res = await o.client.updateJob(job, final, { final: true, signal: o.shutdown });
    if (!res) this.log.error({ job: job.id, state: final.state }, 'final job update could not be delivered');
    return final;
  }

  private async keepalive(): Promise<void> {
    if (this.phase === 'finishing') return;
    const res = await this.o.client.updateJob(this.job, { state: 'running' }, { attempts: 1, signal: this.o.shutdown }).catch(() => null);
    if (res?.cancel_requested) this.cancel();
  }

  private async inStage<T>(stage: FailureStage, fn: () => Promise<T>): Promise<T> {
    this.stage = stage;
    const start = new Date();
    try {
      return await fn();
    } finally {
      this.stages.push({ stage, start: start.toISOString(), end: new Date().toISOString() });
    }
  }

  /** Resolves with `p`, or undefined as soon as the job is told to stop. */
  private untilStopped<T>(p: Promise<T>): Promise<T | undefined> {
    if (this.stop.signal.aborted) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const onStop = () => resolve(undefined);
      this.stop.signal.addEventListener('abort', onStop, { once: true });
      p.then(resolve, reject).finally(() => this.stop.signal.removeEventListener('abort', onStop));
    });
  }

  /** restore_cache / archive_cache: warnings only, never a failure (src/runner/cache.ts). */
  private async cacheStep(step: 'restore_cache' | 'archive_cache', ok: boolean): Promise<void> {
    const specs = this.job.cache ?? [];
    if (specs.length === 0) return;
    const { ctx } = this;
    if (!this.o.cacheDir || this.o.executor.name === 'kubernetes') {
      if (step === 'restore_cache')
        ctx.trace.line(
          `WARNING: cache: is not supported by the ${this.o.executor.name} executor of this runner; the job runs without a cache`,
        );
      return;
    }
    const run: CacheRun = { cacheDir: this.o.cacheDir, buildDir: ctx.buildDir, env: ctx.env, trace: ctx.trace };
    const start = new Date();
    try {
      if (step === 'restore_cache') this.cacheKeys = await restoreCaches(specs, run);
      else await saveCaches(specs, run, ok, this.cacheKeys ?? undefined);
    } catch (e) {
      ctx.trace.line(`WARNING: ${step}: ${(e as Error).message}`);
    }
    this.stages.push({ stage: step, start: start.toISOString(), end: new Date().toISOString() });
  }

  /**
   * `hooks: pre_get_sources_script`, as gitlab-runner's get_sources script runs it: first, in the
   * get_sources stage, its commands echoed (`$ cmd`); skipped with GIT_STRATEGY none (no sources are
   * got). A non-zero exit fails the job there with script_failure, like gitlab-runner, marked
   * kind `pre_get_sources_script` so the classifier can tell the job's own hook from a failed fetch.
   */
  private async preGetSourcesHook(): Promise<void> {
    const { job, ctx } = this;
    const hook = job.hooks?.pre_get_sources_script ?? [];
    if (hook.length === 0 || job.git.strategy === 'none') return;
    ctx.trace.line('Running hooks: pre_get_sources_script');
    const r = await this.o.executor.runScript(ctx, 'get_sources', buildScript(hook), { signal: this.stop.signal, graceMs: this.graceMs });
    if (r.aborted || this.stopReason || r.exitCode === 0) return;
    const how = r.exitCode === null ? `signal ${r.signal}` : `exit code ${r.exitCode}`;
    throw new BuildError(
      `hooks: pre_get_sources_script failed with ${how}, before the sources were fetched`,
      'script_failure',
      'get_sources',
      {
        exitCode: r.exitCode,
        kind: 'pre_get_sources_script',
      },
    );
  }

  /** Refuse what this executor cannot run, before anything runs (faultline's gap, not the build's). */
  private checkSupported(): void {
    const { job, ctx } = this;
    const executor = this.o.executor.name;
    const services = job.services ?? [];
    if (services.length > 0 && executor !== 'docker') {
      throw new BuildError(
        `the job has services: (${services.map((s) => s.name).join(', ')}) but this runner uses the ${executor} executor, ` +
          'which cannot start service containers (only the docker executor can); the job was not run. ' +
          'Run it on a docker-executor runner (tags:) or remove services:',
        'runner_unsupported',
        'prepare_executor',
      );
    }
    if (executor === 'shell' && job.image) {
      ctx.trace.line(`WARNING: image: ${job.image.name} is ignored: the shell executor runs the script directly on the runner host`);
    }
  }

  private async main(): Promise<Outcome> {
    const { ctx, job } = this;
    try {
      await this.inStage('prepare_executor', async () => {
        ctx.trace.line(`Preparing the "${this.o.executor.name}" executor`);
        this.checkSupported();
        // Executors run things in / write scripts to these before get_sources (custom
        // drivers' cwd, docker bind mounts): they must exist from the start.
        mkdirSync(ctx.buildDir, { recursive: true });
        mkdirSync(ctx.tmpDir, { recursive: true });
        this.preparing = this.o.executor.prepare(ctx);
        await this.untilStopped(this.preparing);
      });
      if (this.stopReason) return { kind: 'stopped' };
      await this.inStage('get_sources', async () => {
        await this.preGetSourcesHook();
        if (this.stopReason) return;
        ctx.trace.line('Getting source from Git repository');
        await getSources({ job, buildDir: ctx.buildDir, trace: ctx.trace, signal: this.stop.signal });
      });
      if (this.stopReason) return { kind: 'stopped' };
      await this.cacheStep('restore_cache', true);
      if (this.stopReason) return { kind: 'stopped' };
      const deps = job.dependencies ?? [];
      if (deps.some((d) => d.artifacts !== 'none')) {
        await this.inStage('download_artifacts', () => {
          const client = this.o.client;
          if (!client.downloadArtifact) throw new Error('this runner client cannot download artifacts');
          return downloadDependencies(deps, {
            job,
            buildDir: ctx.buildDir,
            tmpDir: ctx.tmpDir,
            client: { downloadArtifact: (j, from, dest) => client.downloadArtifact!(j, from, dest, this.stop.signal) },
            trace: ctx.trace,
          });
        });
        if (this.stopReason) return { kind: 'stopped' };
      }
      const r: StepResult = await this.inStage('step_script', () => {
        ctx.trace.line('Executing "step_script" stage of the job script');
        const script = buildScript([...job.before_script, ...job.script]);
        return this.o.executor.runScript(ctx, 'step_script', script, { signal: this.stop.signal, graceMs: this.graceMs });
      });
      if (this.stopReason) return { kind: 'stopped' };
      return r.exitCode === 0 ? { kind: 'success' } : { kind: 'script', exitCode: r.exitCode, signal: r.signal };
    } catch (err) {
      // A git process killed by our stop, or an executor that gave up because of it.
      if (this.stopReason) return { kind: 'stopped' };
      return { kind: 'error', err, stage: this.stage };
    }
  }

  private async afterScript(outcome: Outcome): Promise<AfterInfo | null> {
    const { job } = this;
    if (job.after_script.length === 0) return null;
    const notRan: AfterInfo = { ran: false, exit_code: null, timed_out: false };
    let status: string;
    if (outcome.kind === 'success') status = 'success';
    else if (outcome.kind === 'script') status = 'failed';
    else if (outcome.kind === 'stopped' && this.stopStage === 'step_script' && this.graceful && this.stopReason !== 'interrupt')
      status = this.stopReason === 'cancel' ? 'canceled' : 'timedout';
    else return notRan;
    if (this.o.interrupt?.aborted) return notRan;

    this.phase = 'after_script';
    const ctl = new AbortController();
    this.afterStop = ctl;
    if (this.lateCancel && !this.graceful) return notRan;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, job.after_script_timeout_seconds * 1000);
    try {
      const r = await this.inStage('after_script', () => {
        this.ctx.trace.line('Running after_script');
        return this.o.executor.runScript(this.ctx, 'after_script', buildScript(job.after_script), {
          signal: ctl.signal,
          graceMs: this.graceMs,
          extraEnv: { CI_JOB_STATUS: status },
        });
      });
      if (timedOut) this.ctx.trace.line(`WARNING: after_script timed out after ${job.after_script_timeout_seconds} seconds`);
      else if (r.exitCode !== 0)
        this.ctx.trace.line(`WARNING: after_script failed with ${r.exitCode === null ? `signal ${r.signal}` : `exit code ${r.exitCode}`}`);
      return { ran: true, exit_code: r.exitCode, timed_out: timedOut };
    } catch (err) {
      this.ctx.trace.line(`WARNING: after_script could not run: ${(err as Error).message}`);
      return { ran: true, exit_code: null, timed_out: timedOut };
    } finally {
      clearTimeout(timer);
      this.afterStop = null;
    }
  }

  /**
   * After after_script: archive and reports per `artifacts: when`. A failed upload fails a
   * job that had succeeded (as in gitlab-runner); a failed job keeps its own failure.
   */
  private async uploadArtifacts(outcome: Outcome): Promise<Outcome> {
    const spec = this.job.artifacts;
    if (!spec || (outcome.kind !== 'success' && outcome.kind !== 'script')) return outcome;
    const succeeded = outcome.kind === 'success';
    if (!uploadsFor(spec.when, succeeded)) return outcome;
    const client = this.o.client;
    const kinds: Array<[string, { paths: string[]; exclude?: string[]; untracked?: boolean }]> = [];
    if (spec.paths.length > 0 || spec.untracked) kinds.push(['archive', spec]);
    for (const [kind, paths] of Object.entries(spec.reports)) kinds.push([kind, { paths }]);
    if (kinds.length === 0) return outcome;
    const fail = (reason: FailureReason, message: string): Outcome =>
      succeeded ? { kind: 'error', err: new BuildError(message, reason, 'upload'), stage: 'upload' } : outcome;
    return this.inStage('upload', async () => {
      this.ctx.trace.line(`Uploading artifacts for ${succeeded ? 'successful' : 'failed'} job`);
      if (!client.uploadArtifact) return fail('runner_system_failure', 'this runner client cannot upload artifacts');
      for (const [kind, sel] of kinds) {
        const files = await collectArtifactFiles(this.ctx.buildDir, sel, this.ctx.trace);
        if (files.length === 0) {
          if (kind === 'archive') this.ctx.trace.line('WARNING: Uploading artifacts: no files to upload');
          continue;
        }
        let lastErr: unknown = null;
        for (let attempt = 0; attempt < 3; attempt++) {
          try {
            const r = await client.uploadArtifact(this.job, kind, zipStream(this.ctx.buildDir, files), this.o.shutdown);
            if (r.ok) {
              this.ctx.trace.line(
                `Uploading artifacts as "${kind}" to coordinator... 201 Created  id=${this.job.id} files=${r.body.files} size=${r.body.size}`,
              );
              lastErr = null;
              break;
            }
            this.ctx.trace.line(`ERROR: Uploading artifacts as "${kind}" to coordinator... ${r.status} ${r.error}`);
            // The coordinator refused what the job produced (too large, bad dotenv): the job's to fix.
            return fail('runner_configuration_error', `artifacts "${kind}" not accepted by the coordinator (HTTP ${r.status}): ${r.error}`);
          } catch (err) {
            lastErr = err;
            this.ctx.trace.line(
              `WARNING: Uploading artifacts as "${kind}" to coordinator... failed: ${(err as Error).message}${attempt < 2 ? '; retrying' : ''}`,
            );
            await new Promise((res) => setTimeout(res, 500 * (attempt + 1)));
          }
        }
        if (lastErr) return fail('runner_system_failure', `uploading artifacts "${kind}" failed: ${(lastErr as Error).message}`);
      }
      return outcome;
    });
  }

  /** Once, whatever happened, on a context no cancel reaches; bounded in time. */
  private async cleanup(): Promise<void> {
    const limit = this.o.cleanupTimeoutMs ?? 5 * 60_000;
    const bounded = <T>(p: Promise<T>) =>
      Promise.race([
        p,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out after ${limit} ms`)), limit).unref()),
      ]);
    const start = new Date();
    this.stage = 'cleanup';
    try {
      // A prepare we stopped waiting for may still be creating things: let it settle first.
      if (this.preparing) await bounded(this.preparing.catch(() => undefined));
      await bounded(this.o.executor.cleanup(this.ctx));
    } catch (err) {
      this.ctx.trace.line(`WARNING: cleanup failed: ${(err as Error).message}`);
      this.log.warn({ job: this.job.id, err: String(err) }, 'executor cleanup failed');
    }
    try {
      rmSync(this.ctx.tmpDir, { recursive: true, force: true });
      if (this.perJobDir) rmSync(this.ctx.buildDir, { recursive: true, force: true });
    } catch (err) {
      this.log.warn({ job: this.job.id, err: String(err) }, 'removing job directories failed');
    }
    this.stages.push({ stage: 'cleanup', start: start.toISOString(), end: new Date().toISOString() });
  }

  private failure(reason: FailureReason, stage: FailureStage, message: string | null, extra: BuildError['extra'] = {}) {
    // Executor and git error texts can quote masked variables: mask them as the trace is.
    const masker = message === null ? null : new Masker(jobMasks(this.job, this.ctx.env));
    return {
      reason,
      stage,
      message: masker ? masker.push(message!) + masker.end() : null,
      executor: this.o.executor.name,
      image: extra.image ?? this.job.image?.name ?? null,
      registry: extra.registry ?? null,
      kind: extra.kind ?? null,
    };
  }

  private finalUpdate(outcome: Outcome, after: AfterInfo | null): JobUpdateRequest {
    const base = {
      after_script: after,
      image_pulls: this.ctx.imagePulls,
      stages: this.stages,
    };
    const lateCancel = this.lateCancel && (outcome.kind === 'success' || outcome.kind === 'script');
    if (outcome.kind === 'stopped' || lateCancel) {
      const reason = this.stopReason ?? 'cancel';
      const stage = this.stopStage ?? 'step_script';
      if (reason === 'cancel') return { ...base, state: 'canceled', exit_code: null, failure: null, stopped_by: 'cancel' };
      if (reason === 'timeout')
        return {
          ...base,
          state: 'failed',
          exit_code: null,
          stopped_by: 'timeout',
          failure: this.failure('job_execution_timeout', stage, `execution took longer than ${this.job.timeout_seconds} seconds`),
        };
      return {
        ...base,
        state: 'failed',
        exit_code: null,
        stopped_by: null,
        failure: this.failure('runner_interrupted', stage, 'the runner was shut down while the job ran'),
      };
    }
    if (outcome.kind === 'success') return { ...base, state: 'success', exit_code: 0, failure: null, stopped_by: null };
    if (outcome.kind === 'script') {
      const msg = outcome.exitCode === null ? `killed by ${outcome.signal}` : `exit code ${outcome.exitCode}`;
      return {
        ...base,
        state: 'failed',
        exit_code: outcome.exitCode,
        stopped_by: null,
        failure: this.failure('script_failure', 'step_script', msg),
      };
    }
    const err = outcome.err;
    if (err instanceof BuildError)
      return {
        ...base,
        state: 'failed',
        exit_code: err.extra.exitCode ?? null,
        stopped_by: null,
        failure: this.failure(err.reason, err.stage, err.message, err.extra),
      };
    const message = err instanceof Error ? err.message : String(err);
    this.log.error({ job: this.job.id, stage: outcome.stage, err: err instanceof Error ? err.stack : message }, 'runner error during job');
    return {
      ...base,
      state: 'failed',
      exit_code: null,
      stopped_by: null,
      failure: this.failure('runner_system_failure', outcome.stage, message),
    };
  }

  /** on_status: pass_pipeline for this exit code (the coordinator decides; this is only the wording). */
  private passesEarly(code: number | null | undefined): boolean {
    const e = this.job.early_pass;
    if (!e || code === null || code === undefined) return false;
    return e.exit_codes[String(code)] ?? e.on_failure;
  }

  private summary(f: JobUpdateRequest): string {
    if (f.state === 'success') return 'Job succeeded';
    if (f.state === 'canceled') return 'ERROR: Job canceled';
    const r = f.failure;
    if (r?.reason === 'script_failure' && r.stage === 'step_script' && this.passesEarly(f.exit_code))
      return `Job ended the pipeline early on purpose (exit code ${f.exit_code}: on_status pass_pipeline)`;
    if (r?.reason === 'script_failure' && r.stage === 'step_script') return `ERROR: Job failed: ${r.message}`;
    return `ERROR: Job failed (${r?.reason} at ${r?.stage}): ${r?.message ?? ''}`;
  }
}
