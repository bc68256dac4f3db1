/**
 * Runner-facing job life: hand out pending jobs (compare-and-set), take final
 * updates (stored at once, finished later by the Finisher), and build payloads.
 */
import type { Logger } from 'pino';
import type { JobPayload, JobUpdateRequest } from '../../protocol/runner-api.js';
import type { ResolvedOptions } from '../config.js';
import type { CoordinatorEvents } from '../events.js';
import type { Store } from '../store/index.js';
import type { DispatchedJob, FinalReport, JobAuthRow, JobRow, PendingJob, StartedJob } from '../store/jobs.js';
import { runnerMatches, type RunnerRow } from '../store/runners.js';
import { newToken, sha256 } from '../store/tokens.js';
import { slugify } from '../../pipeline/variables.js';
import { maskDeclared, mergeVariables, pipelinePredefined, plain, type PipelineVariable } from './variables.js';
import type { PipelineService } from './pipeline-service.js';
import { Masker } from '../../util/masker.js';
import type { JobSpec } from '../../pipeline/model.js';

const TERMINAL = new Set(['success', 'failed', 'canceled', 'skipped']);
const GIT_STRATEGIES = ['clone', 'fetch', 'none'] as const;
/** A `running` update within this long of the last recorded one stores nothing new. */
const TOUCH_RESOLUTION_MS = 250;

export class JobService {
  /** Called after a job's final state is stored (the finisher takes it from there). */
  onFinal: (jobId: number) => void = () => {};
  /** W3C context of the job span for the payload (set by telemetry when tracing is on). */
  traceContext: (
    p: { id: number; name: string; created_at: number },
    job: { id: number; name: string; started_at: number | null },
    runner: { id: number; name: string },
  ) => JobPayload['trace_context'] = () => null;
  /** Adds artifacts/dependencies (and dependency dotenv variables) to a payload (set by the artifact service). */
  extendPayload: (payload: JobPayload, spec: JobSpec, pipelineVarKeys: ReadonlySet<string>) => Promise<void> = () => Promise.resolve();

  /**
   * Jobs a hand-out of this coordinator is claiming right now. Concurrent requests skip them:
   * otherwise every request reads the same oldest job and all queue on its pipeline's row lock
   * (PostgreSQL: one lock wait and one commit per runner per job handed out, all but one of them
   * losing the compare-and-set). Whichever way the claim ends, the skipped request would have
   * lost it or failed the same check.
   */
  private readonly claiming = new Set<number>();

  constructor(
    private readonly store: Store,
    private readonly pipelines: PipelineService,
    private readonly events: CoordinatorEvents,
    private readonly opts: ResolvedOptions,
    private readonly log: Logger,
  ) {}

  /**
   * Give the oldest pending job this runner can take to it, or null. `matching`: the pending tag
   * sets it can take when the caller has just read them (the dispatcher's serve pass). `gone`:
   * whether the request asking went away — then nothing more is claimed for it.
   */
  async assign(runner: RunnerRow, matching?: string[], gone: () => boolean = () => false): Promise<JobPayload | null> {
    const runnerTags = JSON.parse(runner.tags_json) as string[];
    // Match tag sets, not jobs: pending jobs no runner of these tags can take are never read.
    const sets =
      matching ??
      (await this.store.jobs.pendingTagSets()).filter((t) =>
        runnerMatches(runnerTags, runner.run_untagged === 1, JSON.parse(t) as string[]),
      );
    if (sets.length === 0) return null;
    // Pipelines not to read candidates from any more: those whose claim found no pending job left
    // (the claim's statement takes the pipeline's next one when its candidate was taken: the rest
    // read from it are stale, and each would cost a step of its own), and those another
    // coordinator was stepping (busy: tried again below, waiting, if no other pipeline has a job).
    const skip = new Set<number>();
    const busy: PendingJob[] = [];
    for await (const c of this.store.jobs.pendingIter(sets, skip)) {
      if (gone()) return null;
      if (this.claiming.has(c.id) || skip.has(c.pipeline_id)) continue;
      const r = await this.claim(c, runner, sets, gone, skip, true);
      if (r === 'busy') {
        skip.add(c.pipeline_id);
        busy.push(c);
      } else if (r) return r;
    }
    for (const c of busy) {
      if (gone()) return null;
      const r = await this.claim(c, runner, sets, gone, skip, false);
      if (r && r !== 'busy') return r;
    }
    return null;
  }

  /**
   * One claim, as one engine step on the candidate's pipeline: the candidate or, when it was taken
   * since it was read, the pipeline's next pending job. `tryLock`: answer 'busy' rather than wait
   * while another coordinator steps that pipeline. Marks the pipeline in `drained` when it had no
   * pending job left for these tag sets.
   */
  private async claim(
    c: PendingJob,
    runner: RunnerRow,
    sets: string[],
    gone: () => boolean,
    drained: Set<number>,
    tryLock: boolean,
  ): Promise<JobPayload | null | 'busy'> {
    const token = newToken('fljt_');
    let started: StartedJob | undefined;
    this.claiming.add(c.id);
    try {
      const hooks = {
        // In the claim's transaction: a resource_group check and the start can't be interleaved.
        guard: async () => {
          if (gone()) return false;
          const next = { pipelineId: c.pipeline_id, tagSets: sets, except: [...this.claiming] };
          if (!(await this.hasResourceGroups(c.pipeline_id))) {
            // Taken since it was read (another coordinator's hand-out): under this pipeline's
            // lock the same statement claims its next pending job, rather than start over.
            started = await this.store.jobs.casStart(c.id, runner.id, sha256(token), Date.now(), next);
            if (!started) drained.add(c.pipeline_id);
            return started ? { name: started.name, to: 'running', ref: started } : false;
          }
          const taken: number[] = [];
          for (let job: PendingJob | undefined = c; job;) {
            if (await this.waitsForResource(job)) return false;
            started = await this.store.jobs.casStart(job.id, runner.id, sha256(token), Date.now());
            if (started) return { name: job.name, to: 'running', ref: started };
            taken.push(job.id);
            job = await this.store.jobs.pendingIn(c.pipeline_id, sets, [...taken, ...next.except]);
          }
          drained.add(c.pipeline_id);
          return false;
        },
      };
      const event = { type: 'job_started', name: c.name } as const;
      const r = tryLock
        ? await this.pipelines.tryApply(c.pipeline_id, event, hooks)
        : await this.pipelines.apply(c.pipeline_id, event, hooks);
      if (r === 'busy') return 'busy';
    } catch (err) {
      this.log.error({ err, job: c.id }, 'engine refused job_started; job left as is');
      return null;
    } finally {
      this.claiming.delete(c.id);
    }
    if (!started) return null; // another runner won the race
    return this.payload(started, token, runner);
  }

  /**
   * `resource_group`: a pending job waits while another job of its project with the same
   * group is running (GitLab's unordered process mode).
   */
  async waitsForResource(job: { pipeline_id: number; name: string }): Promise<boolean> {
    const group = await this.resourceGroup(job.pipeline_id, job.name);
    if (!group) return false;
    const project = (await this.store.pipelines.identity(job.pipeline_id))?.project;
    if (project === undefined) return false;
    for (const a of await this.store.jobs.activeInProject(project))
      if ((await this.resourceGroup(a.pipeline_id, a.name)) === group) return true;
    return false;
  }

  /** Whether any job of the pipeline has a resource_group (each candidate must then be checked). */
  private async hasResourceGroups(pipelineId: number): Promise<boolean> {
    try {
      return (await this.pipelines.model(pipelineId)).jobs.some((s) => s.resource_group);
    } catch {
      return true; // unknown: the careful path
    }
  }

  private async resourceGroup(pipelineId: number, name: string): Promise<string | null> {
    try {
      return (await this.pipelines.model(pipelineId)).jobs.find((s) => s.name === name)?.resource_group ?? null;
    } catch {
      return null;
    }
  }

  async payload(job: DispatchedJob, token: string, runner: RunnerRow): Promise<JobPayload> {
    const p = (await this.store.pipelines.identity(job.pipeline_id))!;
    const model = await this.pipelines.model(job.pipeline_id);
    const spec = model.jobs.find((s) => s.name === job.name);
    if (!spec) throw new Error(`job ${job.name} missing from the model of pipeline ${p.id}`);
    const base =
      model.predefined ??
      pipelinePredefined({
        id: p.id,
        project: p.project,
        ref: p.ref,
        sha: p.sha,
        source: p.source,
        serverUrl: this.opts.serverUrl,
        repositoryUrl: p.repository_url,
      });
    const predefined = {
      ...base,
      CI_JOB_ID: String(job.id),
      CI_JOB_NAME: job.name,
      CI_JOB_NAME_SLUG: slugify(job.name),
      CI_JOB_STAGE: job.stage,
      CI_JOB_ATTEMPT: String(job.attempt),
      CI_JOB_URL: `${this.opts.serverUrl.replace(/\/+$/, '')}/#/jobs/${job.id}`,
      CI_JOB_STARTED_AT: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      CI_NODE_TOTAL: '1',
      CI_RUNNER_ID: String(runner.id),
      CI_RUNNER_DESCRIPTION: runner.name,
      CI_RUNNER_TAGS: JSON.stringify(JSON.parse(runner.tags_json)),
    };
    const raw = new Set(spec.raw_variables ?? []);
    const masked = new Set(model.masked_variables ?? []);
    const variables = maskDeclared(
      mergeVariables(
        // Predefined values are facts (a commit message may hold a '$'): never expanded.
        plain(predefined).map((v) => ({ ...v, raw: true })),
        [{ key: 'CI_JOB_TOKEN', value: token, masked: true, raw: true }],
        Object.entries(spec.variables ?? {}).map(([key, value]) => ({
          key,
          value,
          masked: masked.has(key),
          ...(raw.has(key) ? { raw: true } : {}),
        })),
        JSON.parse(p.variables_json) as PipelineVariable[],
      ),
      model.masked_variables,
    );
    const pipelineVars = JSON.parse(p.variables_json) as PipelineVariable[];
    const lookup = (k: string) => variables.find((v) => v.key === k)?.value;
    const strategy = lookup('GIT_STRATEGY');
    const depth = Number.parseInt(lookup('GIT_DEPTH') ?? '', 10);
    const payload: JobPayload = {
      id: job.id,
      token,
      pipeline_id: p.id,
      name: job.name,
      stage: job.stage,
      attempt: job.attempt,
      image: spec.image,
      ...(spec.services?.length ? { services: spec.services } : {}),
      ...(spec.cache?.length ? { cache: spec.cache } : {}),
      ...(spec.hooks ? { hooks: spec.hooks } : {}),
      before_script: spec.before_script,
      script: spec.script,
      after_script: spec.after_script,
      variables,
      timeout_seconds: spec.timeout_seconds,
      after_script_timeout_seconds: spec.after_script_timeout_seconds,
      interruptible: spec.interruptible,
      cancel_grace_seconds: this.opts.cancelGraceSeconds,
      repository: p.repository_url ? { url: p.repository_url, sha: p.sha, ref: p.ref } : null,
      git: {
        strategy: (GIT_STRATEGIES as readonly string[]).includes(strategy ?? '') ? (strategy as 'clone' | 'fetch' | 'none') : 'fetch',
        depth: Number.isFinite(depth) && depth >= 0 ? depth : null,
      },
      trace_context: this.traceContext(p, job, runner),
      trace_offset: job.trace_bytes,
      ...earlyPass(spec),
    };
    await this.extendPayload(payload, spec, new Set(pipelineVars.map((v) => v.key)));
    return payload;
  }

  /**
   * A runner's update. `running` only refreshes liveness; a final state is stored
   * (status + report + image pulls, one transaction) and the answer goes out at once.
   */
  async update(job: JobAuthRow, u: JobUpdateRequest): Promise<{ status: string; cancel_requested: boolean }> {
    const now = Date.now();
    if (job.runner_id !== null) await this.store.runners.seenById(job.runner_id, now);
    // `job` may be stale by now (the store is async, and another coordinator may share it): every
    // write below is a compare-and-set on the row's status (touch only refreshes liveness).
    let status = job.status;
    if (u.state === 'running') {
      // Like runner liveness, job liveness is judged in seconds: skip a write when fresh.
      const fresh = job.last_update_at !== null && now - job.last_update_at < TOUCH_RESOLUTION_MS && now >= job.last_update_at;
      if ((job.status === 'running' || job.status === 'canceling') && !fresh) await this.store.jobs.touch(job.id, now);
    } else {
      const report: FinalReport = {
        status: u.state,
        exit_code: u.exit_code ?? null,
        failure: u.failure
          ? {
              reason: u.failure.reason,
              stage: u.failure.stage,
              message: u.failure.message ? await this.maskMessage(job.id, u.failure.message) : null,
              executor: u.failure.executor ?? null,
              image: u.failure.image ?? null,
              registry: u.failure.registry ?? null,
              kind: u.failure.kind ?? null,
            }
          : null,
        after_script_json: u.after_script ? JSON.stringify(u.after_script) : null,
        stopped_by: u.stopped_by ?? null,
        stages_json: u.stages?.length ? JSON.stringify(u.stages) : null,
      };
      const stored = await this.store.tx(async () => {
        const ok = (await this.store.jobs.storeFinal(job.id, report, now)) || (await this.lateFinal(job, report, now));
        if (ok) for (const pull of u.image_pulls ?? []) await this.store.imagePulls.insert(job.id, job.runner_id, pull);
        return ok;
      });
      if (stored) {
        status = u.state;
        if (u.image_pulls?.length) this.events.safeEmit('image_pulls', { job_id: job.id, runner_id: job.runner_id, pulls: u.image_pulls });
        this.onFinal(job.id);
      }
    }
    const stop =
      job.cancel_requested === 1 && status === 'canceling' ? true : u.state === 'running' && status !== 'running' && status !== 'canceling'; // e.g. reaped meanwhile
    return { status, cancel_requested: stop };
  }

  /** The runner was called lost, yet it reports (with its job token): its real result wins if still possible. */
  private async lateFinal(job: JobAuthRow, report: FinalReport, now: number): Promise<boolean> {
    if (job.status !== 'failed' || !(await this.store.jobs.storeLateFinal(job.id, report, now))) return false;
    this.log.warn({ job: job.id, runner: job.runner_id, status: report.status }, 'late final update replaces the runner-lost verdict');
    return true;
  }

  /**
   * A runner masks its failure message itself; this also covers a runner that does not
   * (or a value it was not told about), so a masked value never reaches the API.
   */
  private async maskMessage(jobId: number, message: string): Promise<string> {
    const j = await this.store.jobs.get(jobId);
    if (!j) return message;
    const model = await this.pipelines.model(j.pipeline_id);
    const spec = model.jobs.find((s) => s.name === j.name);
    const p = await this.store.pipelines.identity(j.pipeline_id);
    if (!spec || !p) return message;
    const vars = maskDeclared(
      mergeVariables(plain(spec.variables ?? {}), JSON.parse(p.variables_json) as PipelineVariable[]),
      model.masked_variables,
    );
    const m = new Masker(vars.filter((v) => v.masked).map((v) => v.value));
    return m.push(message) + m.end();
  }

  /**
   * A job handed to a runner that never used its token and no longer reports it: the answer of
   * its hand-out was lost (the coordinator that claimed it died before replying). Nothing of it
   * ran, so it is pending again for any runner — not a failure. True when it was requeued.
   */
  async requeue(job: JobRow): Promise<boolean> {
    if (job.runner_id === null) return false;
    const runnerId = job.runner_id;
    const r = await this.pipelines.apply(
      job.pipeline_id,
      { type: 'job_requeued', name: job.name },
      {
        guard: async () => {
          const ref = await this.store.jobs.requeue(job.id, runnerId, Date.now());
          return ref ? { name: job.name, to: 'pending', ref } : false;
        },
      },
    );
    return r !== null;
  }

  /** Final failure decided by the coordinator for a running/canceling job (runner lost …). */
  async failRunning(jobId: number, failure: NonNullable<FinalReport['failure']>): Promise<boolean> {
    const ok = await this.store.jobs.storeFinal(
      jobId,
      { status: 'failed', exit_code: null, failure, after_script_json: null, stopped_by: null },
      Date.now(),
    );
    if (ok) this.onFinal(jobId);
    return ok;
  }

  /** A pending job nobody took: pending → failed (the engine accepts stuck_pending_* for pending jobs). */
  async failPending(job: JobRow, failure: NonNullable<FinalReport['failure']>): Promise<boolean> {
    const ok = await this.store.jobs.failPending(job.id, failure, Date.now());
    if (ok) this.onFinal(job.id);
    return ok;
  }

  /** Ids of this runner's jobs to stop: cancel requested, taken from it, or failed by the coordinator. */
  async cancelIdsFor(runner: RunnerRow, running: number[]): Promise<number[]> {
    const ids = new Set(await this.store.jobs.cancelRequestedFor(runner.id));
    for (const id of running) {
      const j = await this.store.jobs.statusOf(id);
      // A job the runner finished itself may still be in teardown: leave that one alone.
      if (!j || j.runner_id !== runner.id || (TERMINAL.has(j.status) && j.failure_stage === 'coordinator')) ids.add(id);
    }
    return [...ids];
  }

  /** Jobs this runner holds but no longer reports running, past a grace period. */
  async vanished(runner: RunnerRow, running: number[], graceMs: number): Promise<JobRow[]> {
    const cutoff = Date.now() - graceMs;
    const reported = new Set(running);
    return (await this.store.jobs.quietFor(runner.id, cutoff)).filter((j) => !reported.has(j.id));
  }
}

/** The payload's `early_pass`, present only when some failure of the job passes the pipeline. */
function earlyPass(spec: JobSpec): Pick<JobPayload, 'early_pass'> {
  const codes = Object.entries(spec.on_status.exit_codes);
  const onFailure = spec.on_status.failure === 'pass_pipeline';
  if (!onFailure && !codes.some(([, o]) => o === 'pass_pipeline')) return {};
  return { early_pass: { on_failure: onFailure, exit_codes: Object.fromEntries(codes.map(([c, o]) => [c, o === 'pass_pipeline'])) } };
}
