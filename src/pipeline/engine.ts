/**
 * The pure pipeline engine: events in, job transitions and the pipeline summary
 * out (contract: ./events.ts). No I/O, no clock; the whole state is the list of
 * JobState plus {halted_by, canceled}, so `restore` rebuilds an identical engine.
 *
 * Linear time: nothing rescans the pipeline per event. Each job keeps a counter
 * of its needs' composite keys (updated through reverse edges when a need
 * changes), each stage a counter of its jobs, and `frontier` is the number of
 * leading stages that are settled; a stage-mode job of stage k may be decided
 * once frontier >= k, from the counter `prefix` (= all stages before frontier).
 * A change re-examines only the dependents whose counters became settled and the
 * stage-mode jobs of stages the frontier passes: O(jobs + edges) per pipeline.
 *
 * Semantics decided here (beyond GitLab's):
 * - Stage mode follows GitLab: a skipped job in an earlier stage does not skip
 *   later stages (the failure that caused it is itself an earlier predecessor).
 *   In DAG mode a skipped need skips an on_success dependent.
 * - A played manual job (any mode) is an ordinary job for everything not yet
 *   decided: those jobs wait for it and its result counts. Unplayed: `required`
 *   blocks, `optional` is neutral for stages and skips jobs that need it,
 *   `ignored` is absent. Playing an optional job re-evaluates the jobs skipped
 *   (through needs) because it had not been played.
 * - `pipeline_cancel {only_interruptible}` (auto-cancel of a redundant pipeline)
 *   does nothing once a non-interruptible job has run (GitLab); otherwise it is a
 *   full cancel: running jobs are all interruptible then, and unstarted jobs lose
 *   nothing.
 * - `job_retry` resumes a canceled or early-passed pipeline (clears both flags)
 *   and resets the retried job's downstream skipped/canceled jobs to `created`.
 * - A job still `pending` may be finished as `failed` by the coordinator with a
 *   stuck_pending_* reason (no runner took it).
 * - Before `start`, only `start` and `pipeline_cancel` apply. `start` is
 *   idempotent: after `restore` it reconciles (normally no transitions).
 */
import { retryApplies } from '../protocol/failure.js';
import { CompositeCounter, compositeKey, type CompositeKey, type CompositeResult } from './composite.js';
import { EngineError } from './errors.js';
import type { EngineResult, JobState, PipelineEvent, PipelineSummary, Transition } from './events.js';
import { buildGraph, downstream, type PipelineGraph } from './graph.js';
import type { JobSpec, PipelineModel } from './model.js';
import { decide, gateOf, resolveFinish, type Gate } from './rules.js';
import { JOB_STATUSES, type JobStatus, type PipelineStatus } from './status.js';

export interface EngineMeta {
  halted_by: string | null;
  canceled: boolean;
}

/** Work counters, to prove (in tests) that processing stays linear. */
export interface EngineStats {
  /** Times a job was looked at to be decided. */
  examinations: number;
  /** Counter updates through reverse edges and stage counters. */
  counter_updates: number;
}

export interface StageSummary {
  name: string;
  status: PipelineStatus;
  warnings: boolean;
}

const RAN: ReadonlySet<JobStatus> = new Set(['running', 'canceling', 'success', 'failed']);
const STUCK_REASONS: ReadonlySet<string> = new Set(['stuck_pending_no_matching_runners', 'stuck_pending_with_matching_runners']);

/** A stored state's status must be one the engine knows (restore, overwrite). */
function knownStatus(s: JobState): void {
  if (!(JOB_STATUSES as readonly string[]).includes(s.status)) {
    throw new EngineError('invalid_state', `state for job "${s.name}": unknown status "${s.status}"`, s.name);
  }
}

export class PipelineEngine {
  readonly stats: EngineStats = { examinations: 0, counter_updates: 0 };
  private readonly g: PipelineGraph;
  private readonly specs: readonly JobSpec[];
  private readonly st: JobState[];
  private readonly keys: CompositeKey[];
  /** Per DAG job: composite keys of its needs. */
  private readonly needCounters: (CompositeCounter | null)[];
  private readonly stageCounters: CompositeCounter[];
  private readonly all = new CompositeCounter();
  private prefix = new CompositeCounter();
  private frontier = 0;
  private haltedBy: string | null = null;
  private canceled = false;
  private started = false;
  private queue: number[] = [];
  private out: Transition[] = [];

  private constructor(model: PipelineModel, states: JobState[], meta: EngineMeta) {
    this.g = buildGraph(model);
    this.specs = model.jobs;
    this.st = states;
    this.haltedBy = meta.halted_by;
    this.canceled = meta.canceled;
    this.started = states.some((s) => s.status !== 'created');
    this.keys = states.map((s, i) => compositeKey({ ...s, manual: this.specs[i].manual }));
    this.stageCounters = model.stages.map(() => new CompositeCounter());
    this.keys.forEach((k, i) => {
      this.all.add(k);
      this.stageCounters[this.specs[i].stage_index].add(k);
    });
    this.needCounters = this.g.needs.map((n) => {
      if (n === null) return null;
      const c = new CompositeCounter();
      for (const k of n) c.add(this.keys[k]);
      return c;
    });
    this.rebuildPrefix(model.stages.length);
  }

  /** A new pipeline: every job `created`, attempt 1. Throws EngineError for a bad model. */
  static create(model: PipelineModel): PipelineEngine {
    const states = model.jobs.map((j): JobState => ({
      name: j.name,
      status: 'created',
      exit_code: null,
      outcome: null,
      attempt: 1,
      note: null,
    }));
    return new PipelineEngine(model, states, { halted_by: null, canceled: false });
  }

  /** Rebuilds an engine from stored latest-attempt states (e.g. after a crash). Emits nothing. */
  static restore(model: PipelineModel, states: JobState[], meta: EngineMeta): PipelineEngine {
    const byName = new Map<string, JobState>();
    for (const s of states) {
      if (byName.has(s.name)) throw new EngineError('invalid_state', `state for job "${s.name}" given twice`, s.name);
      knownStatus(s);
      byName.set(s.name, s);
    }
    const ordered = model.jobs.map((j) => {
      const s = byName.get(j.name);
      if (!s) throw new EngineError('invalid_state', `no stored state for job "${j.name}"`, j.name);
      byName.delete(j.name);
      return { ...s };
    });
    const extra = [...byName.keys()][0];
    if (extra !== undefined) throw new EngineError('invalid_state', `stored state for unknown job "${extra}"`, extra);
    if (meta.halted_by !== null && !model.jobs.some((j) => j.name === meta.halted_by)) {
      throw new EngineError('invalid_state', `halted_by names unknown job "${meta.halted_by}"`);
    }
    return new PipelineEngine(model, ordered, { ...meta });
  }

  /**
   * Takes stored states of some jobs (and the meta) as they now stand, as `restore` would from the
   * full list with these in place: another writer moved them on. Cost is O(changed jobs × their
   * dependents + stages), not a rebuild. Emits nothing. Validated before anything changes.
   */
  overwrite(states: readonly JobState[], meta: EngineMeta): void {
    const at = states.map((s) => (knownStatus(s), this.job(s.name)));
    if (new Set(at).size !== at.length) throw new EngineError('invalid_state', 'a job state given twice');
    if (meta.halted_by !== null) this.job(meta.halted_by);
    states.forEach((s, n) => {
      const i = at[n];
      this.st[i] = { ...s };
      this.rekey(i);
    });
    this.queue = []; // rekey queues dependents to examine; a restored engine has examined nothing
    this.haltedBy = meta.halted_by;
    this.canceled = meta.canceled;
    this.started = this.st.some((s) => s.status !== 'created');
    this.rebuildPrefix(this.stageCounters.length);
  }

  state(name: string): JobState {
    return { ...this.st[this.job(name)] };
  }

  states(): JobState[] {
    return this.st.map((s) => ({ ...s }));
  }

  /** What `restore` needs besides the job states. */
  meta(): EngineMeta {
    return { halted_by: this.haltedBy, canceled: this.canceled };
  }

  summary(): PipelineSummary {
    return { status: this.pipelineStatus(), halted_by: this.haltedBy, warnings: this.warnings() };
  }

  /** Stage composites (GitLab's stage table), in stage order. */
  stageSummaries(): StageSummary[] {
    return this.g.model.stages.map((name, s) => {
      const r = this.stageCounters[s].status('stage');
      return { name, status: r.status, warnings: r.warnings };
    });
  }

  apply(event: PipelineEvent): EngineResult {
    this.out = [];
    if (!this.started && event.type !== 'start' && event.type !== 'pipeline_cancel') {
      throw new EngineError('invalid_transition', `${event.type}: the pipeline has not started`);
    }
    switch (event.type) {
      case 'start':
        this.started = true;
        for (let i = 0; i < this.st.length; i++) this.queue.push(i);
        break;
      case 'job_started':
        this.onStarted(this.job(event.name));
        break;
      case 'job_requeued':
        this.expect(this.job(event.name), ['running'], 'requeue');
        this.set(this.job(event.name), 'pending', {});
        break;
      case 'job_finished':
        this.onFinished(this.job(event.name), event);
        break;
      case 'job_play':
        this.onPlay(this.job(event.name));
        break;
      case 'job_cancel':
        this.onCancel(this.job(event.name));
        break;
      case 'pipeline_cancel':
        this.onPipelineCancel(event.only_interruptible === true);
        break;
      case 'job_retry':
        this.onRetry(this.job(event.name));
        break;
      default:
        throw new EngineError('invalid_transition', `unknown event type "${(event as { type: string }).type}"`);
    }
    this.drain();
    return { transitions: this.out, pipeline: this.summary() };
  }

  // ── events ────────────────────────────────────────────────────────────────

  private onStarted(i: number): void {
    this.expect(i, ['pending'], 'start');
    this.set(i, 'running', {});
  }

  private onFinished(i: number, e: Extract<PipelineEvent, { type: 'job_finished' }>): void {
    const s = this.st[i];
    const stuck = s.status === 'pending' && e.result === 'failed' && STUCK_REASONS.has(e.failure_reason ?? '');
    if (!stuck) this.expect(i, ['running', 'canceling'], 'finish');
    const wasCanceling = s.status === 'canceling';
    if (e.result === 'canceled') {
      this.set(i, 'canceled', { exit_code: e.exit_code, outcome: null });
      return;
    }
    const spec = this.specs[i];
    const f = resolveFinish(spec, e.result, e.exit_code);
    const live = !wasCanceling && !this.canceled && this.haltedBy === null;
    if (
      f.status === 'failed' &&
      live &&
      s.attempt - 1 < spec.retry.max &&
      (retryApplies(spec.retry.when, e.failure_reason, e.failure_class) ||
        (e.exit_code !== null && (spec.retry.exit_codes?.includes(e.exit_code) ?? false)))
    ) {
      // Record the failed attempt, then a new attempt: dependents never see the failure.
      this.out.push({ name: s.name, from: s.status, to: 'failed' });
      s.status = 'failed';
      this.set(i, 'pending', { newAttempt: true });
      return;
    }
    this.set(i, f.status, { exit_code: e.exit_code, outcome: f.outcome, note: null });
    if (f.outcome === 'pass_pipeline' && !this.canceled && this.haltedBy === null) this.halt(i);
  }

  private onPlay(i: number): void {
    this.expect(i, ['manual'], 'play');
    const optional = this.specs[i].manual === 'optional';
    this.set(i, 'pending', {});
    if (optional) {
      // Jobs skipped (through needs) because this job was not played: decide again.
      const skipped = (k: number) => this.st[k].status === 'skipped';
      const reset = downstream(this.g, i, (k) => skipped(k) && this.g.needs[k] !== null).filter(
        (k) => skipped(k) && this.g.needs[k] !== null,
      );
      for (const k of reset) this.set(k, 'created', { note: null });
      this.queue.push(...reset);
    }
  }

  private onCancel(i: number): void {
    this.expect(i, ['created', 'pending', 'manual', 'running'], 'cancel');
    this.cancelJob(i, 'canceled by user');
  }

  private onPipelineCancel(onlyInterruptible: boolean): void {
    if (onlyInterruptible && this.st.some((s, i) => RAN.has(s.status) && this.specs[i].interruptible === false)) {
      return; // a non-interruptible job has run: the pipeline is not auto-canceled
    }
    const open = this.st.filter((s) => !isDone(s.status));
    if (open.length === 0) return;
    this.canceled = true;
    const note = onlyInterruptible ? 'canceled: redundant pipeline' : 'pipeline canceled';
    this.st.forEach((s, i) => {
      if (s.status !== 'canceling' && !isDone(s.status)) this.cancelJob(i, note);
    });
  }

  private onRetry(i: number): void {
    this.expect(i, ['success', 'failed', 'canceled'], 'retry');
    // Predecessors are never downstream (acyclic), so the gate can be checked first.
    const gate = this.gate(i);
    const runs = gate === null || decide(this.specs[i].when, gate, this.g.needs[i] === null).status !== 'skipped';
    if (!runs) {
      throw new EngineError(
        'invalid_transition',
        `cannot retry job "${this.st[i].name}": its predecessors no longer allow it to run (${gate})`,
        this.st[i].name,
      );
    }
    this.canceled = false;
    this.haltedBy = null;
    for (const k of downstream(this.g, i)) {
      const s = this.st[k].status;
      if (s === 'skipped') this.set(k, 'created', { note: null });
      else if (s === 'canceled') this.set(k, 'created', { note: null, newAttempt: true });
      else continue;
      this.queue.push(k);
    }
    this.set(i, gate === null ? 'created' : 'pending', { newAttempt: true });
  }

  // ── decisions ─────────────────────────────────────────────────────────────

  private drain(): void {
    for (;;) {
      for (let h = 0; h < this.queue.length; h++) this.examine(this.queue[h]);
      this.queue = [];
      if (!this.advance()) return;
    }
  }

  /** Moves the frontier over settled stages; queues the stage-mode jobs it reaches. */
  private advance(): boolean {
    let moved = false;
    const n = this.stageCounters.length;
    while (this.frontier < n && this.stageCounters[this.frontier].settled()) {
      this.prefix.merge(this.stageCounters[this.frontier]);
      this.stats.counter_updates++;
      this.frontier++;
      if (this.frontier < n) {
        this.queue.push(...this.g.stageModeJobs[this.frontier]);
        moved = true;
      }
    }
    return moved;
  }

  private examine(i: number): void {
    this.stats.examinations++;
    if (!this.started || this.canceled || this.haltedBy !== null || this.st[i].status !== 'created') return;
    const gate = this.gate(i);
    if (gate === null) return;
    const d = decide(this.specs[i].when, gate, this.g.needs[i] === null);
    this.set(i, d.status, { note: d.note });
  }

  /** What job i's predecessors amount to, or null while they are not complete. */
  private gate(i: number): Gate | null {
    const needs = this.needCounters[i];
    if (needs) return gateOf(needs.status('needs').status);
    const k = this.specs[i].stage_index;
    if (k > this.frontier) return null;
    if (k === this.frontier) return gateOf(this.prefix.status('stage').status);
    // Only for a retry of a job in a settled stage: merge the stages before it.
    const before = new CompositeCounter();
    for (let t = 0; t < k; t++) before.merge(this.stageCounters[t]);
    return gateOf(before.status('stage').status);
  }

  private halt(i: number): void {
    this.haltedBy = this.st[i].name;
    const note = `pipeline passed early by job ${this.st[i].name}`;
    this.st.forEach((s, k) => {
      if (s.status === 'created' || s.status === 'pending' || s.status === 'manual') this.set(k, 'skipped', { note });
      else if (s.status === 'running') this.set(k, 'canceling', { graceful: this.specs[k].interruptible === 'graceful', note });
    });
  }

  private cancelJob(i: number, note: string): void {
    if (this.st[i].status === 'running') {
      this.set(i, 'canceling', { graceful: this.specs[i].interruptible === 'graceful', note });
    } else {
      this.set(i, 'canceled', { note });
    }
  }

  // ── bookkeeping ───────────────────────────────────────────────────────────

  /** The one place a job's status changes: records the transition, updates every counter. */
  private set(
    i: number,
    to: JobStatus,
    o: { note?: string | null; newAttempt?: boolean; graceful?: boolean; exit_code?: number | null; outcome?: JobState['outcome'] },
  ): void {
    const s = this.st[i];
    const t: Transition = { name: s.name, from: s.status, to };
    if (o.newAttempt) {
      t.new_attempt = true;
      s.attempt++;
      s.exit_code = null;
      s.outcome = null;
      s.note = null;
    }
    if (o.graceful !== undefined) t.graceful = o.graceful;
    if (o.note) t.note = o.note;
    if (o.note !== undefined) s.note = o.note;
    if (o.exit_code !== undefined) s.exit_code = o.exit_code;
    if (o.outcome !== undefined) s.outcome = o.outcome;
    s.status = to;
    this.out.push(t);
    this.rekey(i);
  }

  private rekey(i: number): void {
    const from = this.keys[i];
    const to = compositeKey({ status: this.st[i].status, outcome: this.st[i].outcome, manual: this.specs[i].manual });
    if (from === to) return;
    this.keys[i] = to;
    this.all.move(from, to);
    const stage = this.specs[i].stage_index;
    this.stageCounters[stage].move(from, to);
    this.stats.counter_updates++;
    if (stage < this.frontier) {
      if (this.stageCounters[stage].settled()) this.prefix.move(from, to);
      else this.rebuildPrefix(stage); // the frontier moves back (retry, play)
    }
    for (const d of this.g.dependents[i]) {
      const c = this.needCounters[d]!;
      c.move(from, to);
      this.stats.counter_updates++;
      if (this.st[d].status === 'created' && c.settled()) this.queue.push(d);
    }
  }

  /** frontier := min(limit, leading settled stages); prefix := their merge. */
  private rebuildPrefix(limit: number): void {
    this.prefix = new CompositeCounter();
    this.frontier = 0;
    while (this.frontier < limit && this.stageCounters[this.frontier].settled()) {
      this.prefix.merge(this.stageCounters[this.frontier]);
      this.frontier++;
    }
  }

  private pipelineStatus(): PipelineStatus {
    if (this.all.count('canceling') > 0) return 'canceling';
    if (this.haltedBy !== null) return 'success';
    if (this.canceled && this.all.settled()) return 'canceled';
    return this.composite().status;
  }

  private warnings(): boolean {
    if (this.haltedBy !== null) return true;
    const c = this.composite();
    return c.status === 'success' && c.warnings;
  }

  private composite(): CompositeResult {
    return this.all.status('pipeline');
  }

  private job(name: string): number {
    const i = this.g.index.get(name);
    if (i === undefined) throw new EngineError('unknown_job', `no job named "${name}" in this pipeline`, name);
    return i;
  }

  private expect(i: number, allowed: readonly JobStatus[], what: string): void {
    const s = this.st[i];
    if (!allowed.includes(s.status)) {
      throw new EngineError(
        'invalid_transition',
        `cannot ${what} job "${s.name}": it is ${s.status} (expected ${allowed.join(' or ')})`,
        s.name,
      );
    }
  }
}

function isDone(s: JobStatus): boolean {
  return s === 'success' || s === 'failed' || s === 'canceled' || s === 'skipped';
}
