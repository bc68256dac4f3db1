/**
 * Pipelines and their engines: every engine event is applied and its transitions
 * persisted in ONE transaction together with the job change that caused it.
 * Side effects (events, waking runners) run only after the commit.
 */
import type { Logger } from 'pino';
import { existsSync, statSync } from 'node:fs';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { join } from 'node:path';
import type { CommitFacts, ConfigError } from '../../config/index.js';
import { PipelineEngine } from '../../pipeline/index.js';
import type { EngineResult, PipelineEvent } from '../../pipeline/events.js';
import type { JobSpec, PipelineModel } from '../../pipeline/model.js';
import type { JobStatus } from '../../pipeline/status.js';
import type { ResolvedOptions } from '../config.js';
import type { CoordinatorEvents } from '../events.js';
import { iso } from '../store/db.js';
import type { Store } from '../store/index.js';
import type { JobRef } from '../store/jobs.js';
import type { PipelineSummaryRow } from '../store/pipelines.js';
import { failureOf, pipelineJson } from '../views.js';
import type { JobRow } from '../store/jobs.js';
import { compileOffThread } from './compiler.js';
import { EngineCache } from './engines.js';
import { StepQueue } from './step-queue.js';
import { readCommit } from './commit-facts.js';
import { pipelinePredefined, type PipelineVariable } from './variables.js';

const TERMINAL_PIPELINE = new Set(['success', 'failed', 'canceled', 'skipped']);
/** Above this many transitions in one event, latest attempts are read in one query. */
const BULK_TRANSITIONS = 32;

export interface CreatePipelineInput {
  yaml: string;
  ref: string;
  project: string;
  name?: string;
  variables: PipelineVariable[];
  repository: { url: string; sha: string | null } | null;
  source?: string;
  /** CI_DEFAULT_BRANCH; 'main' when not given. */
  defaultBranch?: string;
  /** A child pipeline: its parent and the parent's trigger job. */
  parent?: { pipelineId: number; jobId: number };
}

/** What the trigger service (triggers.ts) is told about a trigger: job. */
export type TriggerHook = (what: 'start' | 'cancel', pipelineId: number, name: string, jobId: number) => void;
type Transition = EngineResult['transitions'][number];

export type CreateResult = { ok: true; id: number } | { ok: false; errors: ConfigError[] };

export interface ApplyHooks {
  /**
   * Runs in the transaction before the event; false aborts without applying. A `Written`
   * passes and says the guard already wrote that job's row in the state the event moves it to
   * (a hand-out's compare-and-set): the step does not read or write that row again, and the
   * event applies to that job.
   */
  guard?: () => Promise<boolean | Written>;
  /** Runs in the transaction after the transitions are persisted. */
  after?: () => Promise<void>;
}

/** An event waiting for its pipeline's step. */
interface Queued {
  event: PipelineEvent;
  hooks: ApplyHooks;
  /** tryApply's: answered 'busy' when another coordinator holds the pipeline's row lock. */
  skipLocked?: boolean;
}

/** tryApply's answer when another coordinator was stepping the pipeline: nothing was done. */
export type Busy = 'busy';

/** A job row a guard has already moved to `to` (its latest attempt). */
export interface Written {
  name: string;
  to: string;
  ref: JobRef;
}

/** What one engine step knows of its pipeline's row as it goes (read when the step began). */
interface Step {
  summary: PipelineSummaryRow;
  written?: Written;
}

export class PipelineService {
  readonly engines: EngineCache;
  /** Called after a commit that made at least one job pending. */
  onPending: () => void = () => {};
  /** A trigger: job became pending (it is marked running at once, never handed to a runner) or canceling. */
  onTrigger: TriggerHook = () => {};
  private createChain: Promise<unknown> = Promise.resolve();
  private readonly steps = new StepQueue<Queued, EngineResult | null | Busy>((id, items) => this.applyBatch(id, items));

  constructor(
    private readonly store: Store,
    private readonly events: CoordinatorEvents,
    private readonly opts: ResolvedOptions,
    private readonly log: Logger,
  ) {
    this.engines = new EngineCache(store);
  }

  /** Compile and store a pipeline; nothing is stored when the YAML has errors. */
  create(input: CreatePipelineInput): Promise<CreateResult> {
    // Serialised so the id handed to `rules:` as CI_PIPELINE_ID is the one it gets.
    const run = this.createChain.then(() => this.createNow(input));
    this.createChain = run.catch(() => {});
    return run;
  }

  private async createNow(input: CreatePipelineInput): Promise<CreateResult> {
    const id = await this.store.pipelines.reserveId();
    const source = input.source ?? 'api';
    const now = Date.now();
    const repo = input.repository;
    // The commit's files and diff for rules: changes/exists, and its message (a local repository only).
    const commit = repo?.sha ? await readCommit(repo.url, repo.sha) : null;
    const predefined = pipelinePredefined({
      id,
      project: input.project,
      ref: input.ref,
      sha: repo?.sha ?? null,
      source,
      serverUrl: this.opts.serverUrl,
      repositoryUrl: repo?.url ?? null,
      defaultBranch: input.defaultBranch,
      commitMessage: commit?.message ?? null,
      beforeSha: commit?.before ?? null,
      createdAt: now,
    });
    const variables = Object.fromEntries(input.variables.map((v) => [v.key, v.value]));
    const compiled = await this.compile(input, variables, predefined, commit?.facts ?? null);
    if (!compiled.ok) return { ok: false, errors: compiled.errors };
    const model = compiled.model;
    model.predefined = predefined; // jobs see exactly what rules: saw
    const warnings = compiled.warnings ?? model.warnings ?? [];
    const after: (() => void)[] = [];
    try {
      await this.store.tx(async () => {
        await this.insertPipeline(id, input, model, warnings, source, now);
        const engine = PipelineEngine.create(model);
        const result = engine.apply({ type: 'start' });
        this.engines.set(id, engine, model, 0); // before persist, which reads the model
        const begun = (await this.store.pipelines.beginStep(id))!;
        await this.persist(id, result, engine, after, { summary: begun.summary });
        this.engines.advanced(id, begun.version);
      });
    } catch (err) {
      this.engines.evict(id);
      throw err;
    }
    await runAfter(after);
    if (this.opts.autoCancel && !input.parent) await this.autoCancel(input.project, input.ref, id);
    return { ok: true, id };
  }

  /** The pipeline row and its jobs' first attempts (in few multi-row statements). */
  private async insertPipeline(
    id: number,
    input: CreatePipelineInput,
    model: PipelineModel,
    warnings: unknown[],
    source: string,
    now: number,
  ): Promise<void> {
    await this.store.pipelines.insert({
      id,
      project: input.project,
      ref: input.ref,
      sha: input.repository?.sha ?? null,
      name: input.name ?? input.ref,
      source,
      yaml: input.yaml,
      model_json: JSON.stringify(model),
      variables_json: JSON.stringify(input.variables),
      status: 'created',
      warnings_json: JSON.stringify(warnings),
      repository_url: input.repository?.url ?? null,
      created_at: now,
    });
    if (input.parent) await this.store.pipelines.setParent(id, input.parent.pipelineId, input.parent.jobId);
    await this.store.jobs.insertMany(model.jobs.map((spec) => newJobRow(id, input, spec, now)));
  }

  /**
   * Resolve include: against the pipeline's commit (or, for `faultline run`'s embedded
   * coordinator, the working tree) and compile. An include that cannot be fetched refuses
   * the pipeline, naming it.
   */
  /** Includes resolved and the file compiled off the event loop (see compiler.ts). */
  private async compile(
    input: CreatePipelineInput,
    variables: Record<string, string>,
    predefined: Record<string, string>,
    commit: CommitFacts | null,
  ) {
    const repo = input.repository;
    const isDir = (u: string) => u.startsWith('/') && existsSync(u) && statSync(u).isDirectory();
    const worktree = repo && this.opts.includesFromWorktree && isDir(repo.url) ? repo.url : undefined;
    return compileOffThread({
      yaml: input.yaml,
      opts: { variables, predefined, ...(commit ? { commit } : {}) },
      sources: {
        repository: repo ? { url: repo.url, sha: repo.sha, ref: input.ref } : null,
        ...(worktree ? { worktree } : {}),
        ...(this.opts.gitlab ? { gitlab: this.opts.gitlab } : {}),
        cacheDir: join(this.opts.dataDir, 'include-cache'),
      },
    });
  }

  /**
   * Older unfinished pipelines on the same project+ref are canceled as each one's own
   * `workflow: auto_cancel: on_new_commit` says (GitLab keeps it per pipeline): `interruptible`
   * (faultline's default) cancels their interruptible jobs; `conservative` the whole pipeline
   * while none of its `interruptible: false` jobs has started; `none` nothing.
   */
  private async autoCancel(project: string, ref: string, newId: number): Promise<void> {
    for (const old of await this.store.pipelines.unfinishedOnRef(project, ref, newId)) {
      try {
        const model = await this.engines.model(old);
        const mode = model.auto_cancel?.on_new_commit ?? 'interruptible';
        if (mode === 'none') continue;
        if (mode === 'conservative') {
          const fixed = new Set(model.jobs.filter((j) => j.interruptible === false).map((j) => j.name));
          const started = (await this.store.jobs.latestPerName(old)).some((j) => fixed.has(j.name) && j.started_at !== null);
          if (!started) await this.apply(old, { type: 'pipeline_cancel' });
          continue;
        }
        await this.apply(old, { type: 'pipeline_cancel', only_interruptible: true });
      } catch (err) {
        this.log.warn({ err, pipeline: old }, 'auto-cancel failed');
      }
    }
  }

  /**
   * Apply one engine event in one transaction, under the pipeline's row lock (so steps of one
   * pipeline run one at a time, on every coordinator sharing the database, each on the engine as
   * the last step left it). Returns null when the guard refused. Throws EngineError (→ 409) when
   * the engine refuses the event; nothing is stored then.
   *
   * Events for a pipeline that has a step in flight here wait for it and then go in together
   * (StepQueue). Inside a transaction the event joins it at once: that transaction may already
   * hold the row lock, and a queued event would wait for it forever.
   */
  apply(pipelineId: number, event: PipelineEvent, hooks: ApplyHooks = {}): Promise<EngineResult | null> {
    return this.enqueue(pipelineId, { event, hooks }) as Promise<EngineResult | null>; // 'busy' only for skipLocked items
  }

  /**
   * apply, but when another coordinator is stepping the pipeline (holds its row lock), answer
   * 'busy' at once and do nothing, rather than wait for that step. For a hand-out, which can take
   * a job of another pipeline instead: with two coordinators, both handing out the oldest
   * pipeline's jobs, each step otherwise waited for the other's commit. A batch that holds any
   * event that must not be skipped (a finish) waits as apply does.
   */
  tryApply(pipelineId: number, event: PipelineEvent, hooks: ApplyHooks = {}): Promise<EngineResult | null | Busy> {
    return this.enqueue(pipelineId, { event, hooks, skipLocked: true });
  }

  private enqueue(pipelineId: number, item: Queued): Promise<EngineResult | null | Busy> {
    if (this.store.inTx()) return this.applyAlone(pipelineId, item);
    return this.steps.submit(pipelineId, item);
  }

  /**
   * A batch of events as one step. When any of them fails (an engine refusal, a guard's error)
   * nothing of the batch is stored, and each event is applied alone, so each caller gets its own
   * answer.
   */
  private async applyBatch(pipelineId: number, items: Queued[]): Promise<PromiseSettledResult<EngineResult | null | Busy>[]> {
    if (items.length > 1) {
      try {
        return (await this.applyTogether(pipelineId, items)).map((value) => ({ status: 'fulfilled', value }));
      } catch {
        // fall through: one at a time
      }
    }
    const out: PromiseSettledResult<EngineResult | null | Busy>[] = [];
    for (const item of items) {
      try {
        out.push({ status: 'fulfilled', value: await this.applyAlone(pipelineId, item) });
      } catch (reason) {
        out.push({ status: 'rejected', reason });
      }
    }
    return out;
  }

  private async applyAlone(pipelineId: number, item: Queued): Promise<EngineResult | null | Busy> {
    return (await this.applyTogether(pipelineId, [item]))[0]!;
  }

  /** The events in order, in one transaction under one version bump; side effects after the commit. */
  private async applyTogether(pipelineId: number, items: Queued[]): Promise<(EngineResult | null | Busy)[]> {
    const after: (() => void)[] = [];
    let results: (EngineResult | null | Busy)[];
    try {
      results = await this.store.tx(async () => {
        // The version this coordinator's engine is at: the lock's statement also reads what changed since.
        const since = this.engines.peek(pipelineId)?.version;
        const begun = items.every((i) => i.skipLocked)
          ? await this.store.pipelines.tryBeginStep(pipelineId, since)
          : await this.store.pipelines.beginStep(pipelineId, since);
        if (begun === undefined) throw new Error(`pipeline ${pipelineId} not found`);
        if (begun === 'locked') return items.map((): Busy => 'busy');
        // Engine first: a restore must see the rows as they were before this change.
        const changed = begun.changed && since !== undefined ? { since, rows: begun.changed } : undefined;
        const engine = await this.engines.get(pipelineId, begun.version - 1, begun.summary, changed);
        const step: Step = { summary: begun.summary };
        const out: (EngineResult | null | Busy)[] = [];
        for (const { event, hooks } of items) {
          const passed = hooks.guard ? await hooks.guard() : true;
          if (!passed) {
            out.push(null); // nothing changed (but the version, when this is the only event)
            continue;
          }
          // A guard that wrote a job's row names the job the event is about (a hand-out may claim
          // another job of the pipeline than the one it asked for, when that one was taken).
          const r = engine.apply(passed === true || !('name' in event) ? event : { ...event, name: passed.name });
          if (passed === true) delete step.written;
          else step.written = passed;
          await this.persist(pipelineId, r, engine, after, step);
          await hooks.after?.();
          out.push(r);
        }
        this.engines.advanced(pipelineId, begun.version);
        return out;
      });
    } catch (err) {
      this.engines.evict(pipelineId); // the in-memory engine may be ahead of the rolled-back rows
      throw err;
    }
    await runAfter(after);
    return results;
  }

  private async persist(pipelineId: number, r: EngineResult, engine: PipelineEngine, after: (() => void)[], step: Step): Promise<void> {
    const now = Date.now();
    const jobs = this.store.jobs;
    let woke = false;
    const model = await this.engines.model(pipelineId);
    const triggers = triggerNames(model);
    const startTriggers: string[] = [];
    // Latest attempt of each touched job as it stands after the updates below.
    const touched = new Map<string, { id: number; outcome: string | null; note: string | null }>();
    // A big event (cancel of 30,000 jobs) reads every job's latest attempt in one query, not one
    // query each; `refs` is kept as the rows stand after each update below.
    const refs = r.transitions.length > BULK_TRANSITIONS ? await jobs.latestRefs(pipelineId) : null;
    // Plain transitions are written in groups (one UPDATE per group and 500 jobs); a job named
    // twice, or a new attempt, writes what is grouped first, so rows change in the engine's order.
    const groups = new Map<string, { t: Transition; ref: JobRef }[]>();
    const flush = async () => {
      for (const list of groups.values()) {
        const t0 = list[0]!.t;
        const ids = list.map((g) => g.ref.id);
        const changed = await jobs.applyTransitions({ ids, to: t0.to, note: t0.note ?? null, graceful: !!t0.graceful }, now);
        for (const { t, ref } of list) {
          const note = changed.has(ref.id) && t.note != null ? t.note : ref.note;
          touched.set(t.name, { id: ref.id, outcome: ref.outcome, note });
          refs?.set(t.name, { ...ref, note });
        }
      }
      groups.clear();
    };
    const grouped = new Set<string>();
    for (const t of r.transitions) {
      if (t.new_attempt || grouped.has(t.name)) {
        await flush();
        grouped.clear();
      }
      const written = step.written?.name === t.name && step.written.to === t.to && !t.note && !t.graceful ? step.written : undefined;
      const ref = written ? written.ref : refs ? refs.get(t.name) : await jobs.latestRef(pipelineId, t.name);
      if (!ref) throw new Error(`engine named unknown job ${t.name} in pipeline ${pipelineId}`);
      let row: JobRef = ref;
      if (written && !t.new_attempt) {
        touched.set(t.name, { id: ref.id, outcome: ref.outcome, note: ref.note }); // the guard wrote the row
      } else if (t.new_attempt) {
        row = await this.newAttempt(pipelineId, ref, t, now, touched);
        refs?.set(t.name, { ...row, note: touched.get(t.name)!.note });
      } else {
        const key = `${t.to}\u0000${t.note ?? '\u0001'}\u0000${t.graceful ? 1 : 0}`;
        const list = groups.get(key);
        if (list) list.push({ t, ref });
        else groups.set(key, [{ t, ref }]);
        grouped.add(t.name);
      }
      if (triggers.has(t.name)) {
        if (t.to === 'pending') startTriggers.push(t.name);
        else if (t.to === 'canceling') after.push(() => this.onTrigger('cancel', pipelineId, t.name, row.id));
      } else if (t.to === 'pending') woke = true;
      // A job leaving running frees its resource_group: a job waiting for it may start now.
      else if ((t.from === 'running' || t.from === 'canceling') && holdsResource(model, t.name)) woke = true;
      const ev = {
        job_id: row.id,
        pipeline_id: pipelineId,
        name: t.name,
        attempt: row.attempt,
        from: t.from as JobStatus,
        to: t.to as JobStatus,
        new_attempt: !!t.new_attempt,
        at: iso(now)!,
      };
      after.push(() => this.events.safeEmit('job_transition', ev));
    }
    await flush();
    // Outcome/note are decided by the engine (on_status); mirror them onto the latest attempts.
    const states = new Map<string, { outcome: string | null; note: string | null; ids: number[] }>();
    for (const [name, row] of touched) {
      const s = engine.state(name);
      if (row.outcome === s.outcome && row.note === s.note) continue;
      const key = `${s.outcome ?? '\u0001'}\u0000${s.note ?? '\u0001'}`;
      const g = states.get(key);
      if (g) g.ids.push(row.id);
      else states.set(key, { outcome: s.outcome, note: s.note, ids: [row.id] });
    }
    for (const g of states.values()) await jobs.setEngineStates(g.ids, g.outcome, g.note);
    await this.persistSummary(pipelineId, r, engine.meta().canceled, now, after, step);
    if (woke) after.push(() => this.onPending());
    // workflow: auto_cancel: on_job_failure: all — a failure that fails the pipeline cancels the rest.
    if (model.auto_cancel?.on_job_failure === 'all') {
      const failing = r.transitions.some(
        (t) => t.to === 'failed' && engine.state(t.name).status === 'failed' && engine.state(t.name).outcome === 'fail_pipeline',
      );
      if (failing) after.push(() => void this.cancelRest(pipelineId));
    }
    // A trigger job runs on the coordinator: running in this same transaction, so no runner sees it pending.
    for (const name of startTriggers) {
      await this.persist(pipelineId, engine.apply({ type: 'job_started', name }), engine, after, step);
      const id = touched.get(name)!.id;
      after.push(() => this.onTrigger('start', pipelineId, name, id));
    }
  }

  /** A retry's new attempt: a copy of the latest row with attempt + 1, in the transition's state. */
  private async newAttempt(
    pipelineId: number,
    ref: JobRef,
    t: Transition,
    now: number,
    touched: Map<string, { id: number; outcome: string | null; note: string | null }>,
  ): Promise<JobRef> {
    const jobs = this.store.jobs;
    const cur = (await jobs.get(ref.id))!;
    const id = await jobs.insert({
      pipeline_id: pipelineId,
      project: cur.project,
      ref: cur.ref,
      name: cur.name,
      stage: cur.stage,
      stage_index: cur.stage_index,
      attempt: cur.attempt + 1,
      retry_of: cur.id,
      status: t.to,
      tags_json: cur.tags_json,
      needs_json: cur.needs_json,
      when_: cur.when_,
      manual: cur.manual,
      interruptible: cur.interruptible,
      allow_failure: cur.allow_failure,
      created_at: now,
      queued_at: t.to === 'pending' ? now : null,
    });
    const noted = !!t.note && (await jobs.applyTransition(id, t.to, now, t.note, !!t.graceful));
    touched.set(t.name, { id, outcome: null, note: noted ? t.note! : null });
    return { id, attempt: cur.attempt + 1, outcome: null, note: null };
  }

  private async cancelRest(pipelineId: number): Promise<void> {
    try {
      if (!TERMINAL_PIPELINE.has((await this.store.pipelines.summaryOf(pipelineId))?.status ?? 'success'))
        await this.apply(pipelineId, { type: 'pipeline_cancel' });
    } catch (err) {
      this.log.warn({ err, pipeline: pipelineId }, 'auto_cancel: on_job_failure failed');
    }
  }

  private async persistSummary(
    pipelineId: number,
    r: EngineResult,
    canceled: boolean,
    now: number,
    after: (() => void)[],
    step: Step,
  ): Promise<void> {
    const p = step.summary;
    const s = r.pipeline;
    const terminal = TERMINAL_PIPELINE.has(s.status);
    const wasTerminal = TERMINAL_PIPELINE.has(p.status);
    const haltedBy = s.halted_by === null ? null : ((await this.store.jobs.latestByName(pipelineId, s.halted_by))?.id ?? null);
    const started = p.started_at ?? (s.status === 'running' || terminal ? now : null);
    const update = {
      status: s.status,
      halted_by_job_id: haltedBy,
      has_warnings: s.warnings,
      started_at: started,
      finished_at: terminal ? (wasTerminal && p.finished_at ? p.finished_at : now) : null,
      failure_class: s.status === 'failed' ? await this.failureClass(pipelineId) : null,
      canceled,
    };
    const unchanged =
      p.status === update.status &&
      p.halted_by_job_id === update.halted_by_job_id &&
      (p.has_warnings === 1) === update.has_warnings &&
      p.started_at === update.started_at &&
      p.finished_at === update.finished_at &&
      p.failure_class === update.failure_class &&
      (p.canceled === 1) === canceled;
    if (unchanged) return;
    await this.store.pipelines.updateSummary(pipelineId, update);
    step.summary = { ...update, has_warnings: update.has_warnings ? 1 : 0, canceled: update.canceled ? 1 : 0 };
    const changed = { pipeline_id: pipelineId, status: update.status, failure_class: update.failure_class, at: iso(now)! };
    after.push(() => this.events.safeEmit('pipeline_changed', changed));
    if (terminal && !wasTerminal) {
      // Read in the transaction (the rows as this step leaves them), emitted after the commit.
      const finished = await this.finishedEvent(pipelineId);
      after.push(() => {
        this.engines.evict(pipelineId); // finished: rebuilt on demand (retry of a job)
        if (finished) this.events.safeEmit('pipeline_finished', finished);
      });
    }
  }

  private async finishedEvent(pipelineId: number) {
    const row = await this.store.pipelines.get(pipelineId);
    if (!row) return null;
    const halted = row.halted_by_job_id == null ? null : ((await this.store.jobs.get(row.halted_by_job_id))?.name ?? '');
    return {
      pipeline: pipelineJson(row, undefined, halted),
      timed_out: await this.store.jobs.countingTimeout(pipelineId),
      decisive_failure: decisive(await this.store.jobs.firstCountingFailure(pipelineId, row.failure_class)),
    };
  }

  /** infra when every failed job that counts is infra, build when any is build, else unknown. */
  private async failureClass(pipelineId: number): Promise<'infra' | 'build' | 'unknown'> {
    const counting = (await this.store.jobs.latestPerName(pipelineId)).filter(
      (j) => j.status === 'failed' && j.outcome !== 'warn' && j.outcome !== 'pass_pipeline' && j.outcome !== 'continue',
    );
    if (counting.length === 0) return 'unknown';
    if (counting.some((j) => j.failure_class === 'build')) return 'build';
    if (counting.every((j) => j.failure_class === 'infra')) return 'infra';
    return 'unknown';
  }

  model(pipelineId: number): Promise<PipelineModel> {
    return this.engines.model(pipelineId);
  }
}

/** Side effects after a commit, in order, with a turn of the event loop every 1,000 (a 30,000-job cancel emits 30,000 events). */
async function runAfter(after: readonly (() => void)[]): Promise<void> {
  for (let i = 0; i < after.length; i++) {
    if (i > 0 && i % 1000 === 0) await nextTurn();
    after[i]!();
  }
}

const holdsResource = (model: PipelineModel, name: string): boolean =>
  model.jobs.some((j) => j.name === name && j.resource_group !== undefined);

const triggerCache = new WeakMap<PipelineModel, Set<string>>();
/** Names of a model's trigger: jobs (computed once per model). */
function triggerNames(model: PipelineModel): Set<string> {
  let s = triggerCache.get(model);
  if (!s) triggerCache.set(model, (s = new Set(model.jobs.filter((j) => j.trigger).map((j) => j.name))));
  return s;
}

function newJobRow(pipelineId: number, input: CreatePipelineInput, spec: JobSpec, now: number) {
  return {
    pipeline_id: pipelineId,
    project: input.project,
    ref: input.ref,
    name: spec.name,
    stage: spec.stage,
    stage_index: spec.stage_index,
    attempt: 1,
    retry_of: null,
    status: 'created',
    tags_json: JSON.stringify(spec.tags ?? []),
    needs_json: spec.needs === null ? null : JSON.stringify(spec.needs),
    when_: spec.when,
    manual: spec.manual,
    interruptible: String(spec.interruptible),
    allow_failure: allowsFailure(spec) ? 1 : 0,
    created_at: now,
    queued_at: null,
  };
}

const allowsFailure = (spec: JobSpec): boolean =>
  spec.on_status.failure === 'warn' || Object.values(spec.on_status.exit_codes ?? {}).includes('warn');

function decisive(row: JobRow | undefined) {
  return row ? failureOf(row) : null;
}
