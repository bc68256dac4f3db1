/** The `jobs` table: one row per attempt. Status changes are compare-and-set where a race is possible. */
import type { FailureClassification } from '../../protocol/failure.js';
import type { Db } from './db.js';

export interface JobRow {
  id: number;
  pipeline_id: number;
  project: string;
  ref: string;
  name: string;
  stage: string;
  stage_index: number;
  attempt: number;
  retry_of: number | null;
  status: string;
  exit_code: number | null;
  outcome: string | null;
  note: string | null;
  tags_json: string;
  needs_json: string | null;
  when_: string;
  manual: string | null;
  interruptible: string;
  allow_failure: number;
  runner_id: number | null;
  token_hash: string | null;
  failure_class: string | null;
  failure_reason: string | null;
  failure_stage: string | null;
  failure_cause: string | null;
  failure_summary: string | null;
  failure_owner: string | null;
  failure_rule_id: string | null;
  failure_rule_version: string | null;
  failure_fallback: number | null;
  failure_evidence_json: string | null;
  failure_message: string | null;
  failure_executor: string | null;
  failure_image: string | null;
  failure_registry: string | null;
  failure_kind: string | null;
  failure_baseline_job_id: number | null;
  failure_new_lines_json: string | null;
  after_script_json: string | null;
  stopped_by: string | null;
  stages_json: string | null;
  cancel_requested: number;
  graceful: number;
  finish_pending: number;
  trace_bytes: number;
  created_at: number;
  queued_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  last_update_at: number | null;
}

export type NewJob = Pick<
  JobRow,
  | 'pipeline_id'
  | 'project'
  | 'ref'
  | 'name'
  | 'stage'
  | 'stage_index'
  | 'attempt'
  | 'retry_of'
  | 'status'
  | 'tags_json'
  | 'needs_json'
  | 'when_'
  | 'manual'
  | 'interruptible'
  | 'allow_failure'
  | 'created_at'
  | 'queued_at'
>;

/** What the runner reported with its final update. */
export interface FinalReport {
  status: 'success' | 'failed' | 'canceled';
  exit_code: number | null;
  failure: {
    reason: string;
    stage: string;
    message: string | null;
    executor: string | null;
    image: string | null;
    registry: string | null;
    kind: string | null;
  } | null;
  after_script_json: string | null;
  stopped_by: string | null;
  stages_json?: string | null;
}

const TERMINAL = `('success', 'failed', 'canceled', 'skipped')`;

/** What a runner-API request needs of its job (Job-Token check + update): a narrow read. */
export type JobAuthRow = Pick<JobRow, 'id' | 'status' | 'runner_id' | 'token_hash' | 'cancel_requested' | 'last_update_at' | 'finished_at'>;
/** The latest attempt of a job as an engine step needs it (the whole row only for a new attempt). */
export type JobRef = Pick<JobRow, 'id' | 'attempt' | 'outcome' | 'note'>;
/** What a job payload is built from right after dispatch. */
export type DispatchedJob = Pick<JobRow, 'id' | 'pipeline_id' | 'name' | 'stage' | 'attempt' | 'started_at' | 'trace_bytes'>;
/** A pending job as the dispatcher walks them. */
export interface PendingJob {
  id: number;
  pipeline_id: number;
  name: string;
  tags_json: string;
}

export class JobStore {
  private readonly s;
  constructor(private readonly db: Db) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO jobs (pipeline_id, project, ref, name, stage, stage_index, attempt, retry_of, status, tags_json, needs_json,
           when_, manual, interruptible, allow_failure, created_at, queued_at)
         VALUES (@pipeline_id, @project, @ref, @name, @stage, @stage_index, @attempt, @retry_of, @status, @tags_json, @needs_json,
           @when_, @manual, @interruptible, @allow_failure, @created_at, @queued_at)`,
      ),
      get: db.prepare('SELECT * FROM jobs WHERE id = ?'),
      byPipeline: db.prepare('SELECT * FROM jobs WHERE pipeline_id = ? ORDER BY id'),
      countingTimeout: db.prepare(
        `SELECT 1 FROM jobs WHERE pipeline_id = ? AND status = 'failed' AND allow_failure = 0 AND failure_reason = 'job_execution_timeout' LIMIT 1`,
      ),
      firstCountingFailure: db.prepare(
        `SELECT * FROM jobs WHERE pipeline_id = ? AND status = 'failed' AND allow_failure = 0 AND failure_class IS NOT NULL
         ORDER BY (failure_class = ?) DESC, id LIMIT 1`,
      ),
      countOf: db.prepare('SELECT COUNT(*) AS n, MIN(id) AS first FROM jobs WHERE pipeline_id = ?'),
      // `+pipeline_id`: walk the primary key from `id`, not the name index (a pipeline's jobs are
      // mostly consecutive ids, so a page reads about `limit` rows, already in order).
      page: db.prepare('SELECT * FROM jobs WHERE id >= ? AND +pipeline_id = ? ORDER BY id LIMIT ?'),
      latestByName: db.prepare('SELECT * FROM jobs WHERE pipeline_id = ? AND name = ? ORDER BY attempt DESC LIMIT 1'),
      latestRef: db.prepare('SELECT id, attempt, outcome, note FROM jobs WHERE pipeline_id = ? AND name = ? ORDER BY attempt DESC LIMIT 1'),
      refs: db.prepare('SELECT id, name, attempt, outcome, note FROM jobs WHERE pipeline_id = ? ORDER BY attempt'),
      dispatched: db.prepare('SELECT id, pipeline_id, name, stage, attempt, started_at, trace_bytes FROM jobs WHERE id = ?'),
      auth: db.prepare('SELECT id, status, runner_id, token_hash, cancel_requested, last_update_at, finished_at FROM jobs WHERE id = ?'),
      finishPendingOf: db.prepare('SELECT finish_pending FROM jobs WHERE id = ?'),
      pendingAfter: db.prepare(
        `SELECT id, pipeline_id, name, tags_json FROM jobs INDEXED BY jobs_pending_tags WHERE status = 'pending' AND tags_json = ? AND id > ? ORDER BY id LIMIT ?`,
      ),
      // A skip scan of jobs_pending_tags: one index seek per distinct tag set, not one row per job.
      pendingTagSets: db.prepare(
        `WITH RECURSIVE t(tags) AS (
           SELECT (SELECT MIN(tags_json) FROM jobs INDEXED BY jobs_pending_tags WHERE status = 'pending')
           UNION ALL
           SELECT (SELECT MIN(tags_json) FROM jobs INDEXED BY jobs_pending_tags WHERE status = 'pending' AND tags_json > t.tags) FROM t WHERE t.tags IS NOT NULL
         ) SELECT tags FROM t WHERE tags IS NOT NULL`,
      ),
      pending: db.prepare(`SELECT id, pipeline_id, tags_json FROM jobs WHERE status = 'pending' ORDER BY id LIMIT ?`),
      casStart: db.prepare(
        `UPDATE jobs SET status = 'running', runner_id = @runner_id, token_hash = @token_hash, started_at = @now, last_update_at = @now
         WHERE id = @id AND status = 'pending'`,
      ),
      transition: db.prepare(
        `UPDATE jobs SET status = @to,
           note = COALESCE(@note, note),
           graceful = MAX(graceful, @graceful),
           cancel_requested = CASE WHEN @to = 'canceling' THEN 1 ELSE cancel_requested END,
           queued_at = CASE WHEN @to = 'pending' THEN @now ELSE queued_at END,
           finished_at = CASE WHEN @to IN ${TERMINAL} THEN COALESCE(finished_at, @now) ELSE finished_at END
         WHERE id = @id AND NOT (finish_pending = 1 AND @to NOT IN ${TERMINAL})`,
      ),
      engineState: db.prepare('UPDATE jobs SET outcome = @outcome, note = @note WHERE id = @id'),
      final: db.prepare(
        `UPDATE jobs SET status = @status, exit_code = @exit_code, finish_pending = 1, finished_at = @now, last_update_at = @now,
           failure_reason = @reason, failure_stage = @stage, failure_message = @message, failure_executor = @executor,
           failure_image = @image, failure_registry = @registry, failure_kind = @kind,
           after_script_json = @after_script_json, stopped_by = @stopped_by, stages_json = @stages_json
         WHERE id = @id AND status IN ('running', 'canceling') AND finish_pending = 0`,
      ),
      // The runner's own final report over the coordinator's "runner lost" verdict, until the finisher applied it.
      lateFinal: db.prepare(
        `UPDATE jobs SET status = @status, exit_code = @exit_code, finished_at = @now, last_update_at = @now,
           failure_reason = @reason, failure_stage = @stage, failure_message = @message, failure_executor = @executor,
           failure_image = @image, failure_registry = @registry, failure_kind = @kind,
           after_script_json = @after_script_json, stopped_by = @stopped_by, stages_json = @stages_json
         WHERE id = @id AND status = 'failed' AND finish_pending = 1 AND failure_stage = 'coordinator'`,
      ),
      finalPending: db.prepare(
        `UPDATE jobs SET status = 'failed', finish_pending = 1, finished_at = @now, last_update_at = @now,
           failure_reason = @reason, failure_stage = @stage, failure_message = @message, failure_executor = @executor,
           failure_image = @image, failure_registry = @registry, failure_kind = @kind
         WHERE id = @id AND status = 'pending' AND finish_pending = 0`,
      ),
      classification: db.prepare(
        `UPDATE jobs SET failure_class = @class, failure_reason = @reason, failure_stage = @stage, failure_cause = @cause,
           failure_summary = @summary, failure_owner = @owner, failure_rule_id = @rule_id, failure_rule_version = @rule_version,
           failure_fallback = @fallback, failure_evidence_json = @evidence_json, failure_message = @message,
           failure_executor = @executor, failure_image = @image, failure_registry = @registry, failure_kind = @kind,
           failure_baseline_job_id = @baseline_job_id, failure_new_lines_json = @new_lines_json
         WHERE id = @id`,
      ),
      lastGreen: db.prepare(
        `SELECT id FROM jobs INDEXED BY jobs_last_green WHERE project = ? AND name = ? AND status = 'success' AND id < ? ORDER BY id DESC LIMIT 1`,
      ),
      finished: db.prepare('UPDATE jobs SET finish_pending = 0 WHERE id = ?'),
      finishPending: db.prepare('SELECT id FROM jobs WHERE finish_pending = 1 ORDER BY id'),
      touch: db.prepare('UPDATE jobs SET last_update_at = ? WHERE id = ?'),
      cancelForRunner: db.prepare(
        `SELECT id FROM jobs WHERE runner_id = ? AND status = 'canceling' AND cancel_requested = 1 AND finish_pending = 0`,
      ),
      lost: db.prepare(
        `SELECT j.id, j.runner_id, r.last_heartbeat_at FROM jobs j JOIN runners r ON r.id = j.runner_id
         WHERE j.status IN ('running', 'canceling') AND j.finish_pending = 0 AND COALESCE(r.last_heartbeat_at, 0) < ?`,
      ),
      stuck: db.prepare(`SELECT id, tags_json, queued_at FROM jobs WHERE status = 'pending' AND queued_at < ? ORDER BY id`),
      vanished: db.prepare(
        `SELECT * FROM jobs WHERE runner_id = ? AND status IN ('running', 'canceling') AND finish_pending = 0
           AND COALESCE(last_update_at, started_at) < ?`,
      ),
      markStarted: db.prepare('UPDATE jobs SET started_at = COALESCE(started_at, ?), last_update_at = ? WHERE id = ?'),
      runningWithoutRunner: db.prepare(
        `SELECT id, pipeline_id, name, status FROM jobs WHERE status IN ('running', 'canceling') AND runner_id IS NULL AND finish_pending = 0 ORDER BY id`,
      ),
      statusOf: db.prepare('SELECT id, status, runner_id, failure_stage FROM jobs WHERE id = ?'),
      activeInProject: db.prepare(`SELECT pipeline_id, name FROM jobs WHERE project = ? AND status IN ('running', 'canceling')`),
    };
  }

  insert(j: NewJob): number {
    return Number(this.s.insert.run(j).lastInsertRowid);
  }
  get(id: number): JobRow | undefined {
    return this.s.get.get(id) as JobRow | undefined;
  }
  /** The columns the runner API checks and updates by (see JobAuthRow). */
  authRow(id: number): JobAuthRow | undefined {
    return this.s.auth.get(id) as JobAuthRow | undefined;
  }
  /** finish_pending of a job, or undefined when there is no such job. */
  finishPendingOf(id: number): number | undefined {
    return (this.s.finishPendingOf.get(id) as { finish_pending: number } | undefined)?.finish_pending;
  }
  byPipeline(pipelineId: number): JobRow[] {
    return this.s.byPipeline.all(pipelineId) as JobRow[];
  }
  latestByName(pipelineId: number, name: string): JobRow | undefined {
    return this.s.latestByName.get(pipelineId, name) as JobRow | undefined;
  }
  latestRef(pipelineId: number, name: string): JobRef | undefined {
    return this.s.latestRef.get(pipelineId, name) as JobRef | undefined;
  }
  /** latestRef of every job name of a pipeline, in one query (for events touching thousands of jobs). */
  /** Whether a job of the pipeline that does not allow failure failed for job_execution_timeout. */
  countingTimeout(pipelineId: number): boolean {
    return this.s.countingTimeout.get(pipelineId) !== undefined;
  }
  /** The failed job that counts and decided the pipeline's class (that class first, then the earliest). */
  firstCountingFailure(pipelineId: number, failureClass: string | null): JobRow | undefined {
    return this.s.firstCountingFailure.get(pipelineId, failureClass ?? '') as JobRow | undefined;
  }
  /** How many job rows (attempts) a pipeline has, and its first job id. */
  countOf(pipelineId: number): { n: number; first: number | null } {
    return this.s.countOf.get(pipelineId) as { n: number; first: number | null };
  }
  /** Up to `limit` attempts of a pipeline from job id `fromId` on, in id order (paged reads of big pipelines). */
  page(pipelineId: number, fromId: number, limit: number): JobRow[] {
    return this.s.page.all(fromId, pipelineId, limit) as JobRow[];
  }
  latestRefs(pipelineId: number): Map<string, JobRef> {
    const out = new Map<string, JobRef>();
    for (const r of this.s.refs.all(pipelineId) as (JobRef & { name: string })[]) {
      out.set(r.name, { id: r.id, attempt: r.attempt, outcome: r.outcome, note: r.note });
    }
    return out;
  }
  dispatched(id: number): DispatchedJob | undefined {
    return this.s.dispatched.get(id) as DispatchedJob | undefined;
  }
  /** Latest attempt of every job name of a pipeline. */
  latestPerName(pipelineId: number): JobRow[] {
    const latest = new Map<string, JobRow>();
    for (const j of this.byPipeline(pipelineId)) {
      const cur = latest.get(j.name);
      if (!cur || cur.attempt < j.attempt) latest.set(j.name, j);
    }
    return [...latest.values()];
  }
  pending(limit = 1000): { id: number; pipeline_id: number; tags_json: string }[] {
    return this.s.pending.all(limit) as { id: number; pipeline_id: number; tags_json: string }[];
  }
  /** The distinct `tags_json` values of pending jobs (few, however many jobs wait). */
  pendingTagSets(): string[] {
    return (this.s.pendingTagSets.all() as { tags: string }[]).map((r) => r.tags);
  }
  /**
   * Pending jobs with one of these tag sets, oldest first, read lazily: the caller usually
   * stops at the first one, so the first batches are small and later ones grow. Jobs of
   * other tag sets are never read.
   */
  *pendingIter(tagSets: readonly string[]): Generator<PendingJob> {
    const heads = tagSets.map((tags) => this.pendingOf(tags));
    const cur = heads.map((h) => h.next());
    for (;;) {
      let best = -1;
      for (let i = 0; i < cur.length; i++) if (!cur[i]!.done && (best === -1 || cur[i]!.value!.id < cur[best]!.value!.id)) best = i;
      if (best === -1) return;
      yield cur[best]!.value as PendingJob;
      cur[best] = heads[best]!.next();
    }
  }
  private *pendingOf(tags: string): Generator<PendingJob> {
    let batch = 4;
    let after = 0;
    for (;;) {
      const rows = this.s.pendingAfter.all(tags, after, batch) as PendingJob[];
      yield* rows;
      if (rows.length < batch) return;
      after = rows[rows.length - 1]!.id;
      batch = Math.min(batch * 4, 256);
    }
  }
  /** pending → running for one runner; false when someone else got there first. */
  casStart(id: number, runnerId: number | null, tokenHash: string | null, now: number): boolean {
    return this.s.casStart.run({ id, runner_id: runnerId, token_hash: tokenHash, now }).changes === 1;
  }
  applyTransition(id: number, to: string, now: number, note: string | null, graceful: boolean): boolean {
    return this.s.transition.run({ id, to, now, note, graceful: graceful ? 1 : 0 }).changes === 1;
  }
  setEngineState(id: number, outcome: string | null, note: string | null): void {
    this.s.engineState.run({ id, outcome, note });
  }
  /** running/canceling → final state reported by the runner (or reaper); false if already final. */
  storeFinal(id: number, r: FinalReport, now: number): boolean {
    return this.s.final.run(finalParams(id, r, now)).changes === 1;
  }
  /**
   * A late final update from the runner that still holds the job token replaces the
   * coordinator's own verdict (runner lost) while that is not applied yet; false otherwise.
   */
  storeLateFinal(id: number, r: FinalReport, now: number): boolean {
    return this.s.lateFinal.run(finalParams(id, r, now)).changes === 1;
  }
  /** pending → failed by the coordinator (stuck: no runner took it); false if it moved meanwhile. */
  failPending(id: number, f: NonNullable<FinalReport['failure']>, now: number): boolean {
    return this.s.finalPending.run({ id, now, ...f }).changes === 1;
  }
  /** started_at of a job the coordinator itself runs (a trigger: job). */
  markStarted(id: number, now: number): void {
    this.s.markStarted.run(now, now, id);
  }
  /** Running jobs no runner holds: trigger: jobs, which run on the coordinator. */
  runningWithoutRunner(): { id: number; pipeline_id: number; name: string; status: string }[] {
    return this.s.runningWithoutRunner.all() as { id: number; pipeline_id: number; name: string; status: string }[];
  }
  storeClassification(id: number, c: FailureClassification): void {
    this.s.classification.run({
      id,
      class: c.class,
      reason: c.reason,
      stage: c.stage,
      cause: c.cause,
      summary: c.summary,
      owner: c.owner,
      rule_id: c.rule?.id ?? null,
      rule_version: c.rule?.version ?? null,
      fallback: c.fallback ? 1 : 0,
      evidence_json: JSON.stringify(c.evidence ?? []),
      message: c.message,
      executor: c.executor,
      image: c.image,
      registry: c.registry,
      kind: c.kind ?? null,
      baseline_job_id: c.baseline_job_id ?? null,
      new_lines_json: c.new_lines ? JSON.stringify(c.new_lines) : null,
    });
  }
  /** The latest successful job of this project and job name created before job `beforeId`. */
  lastGreen(project: string, name: string, beforeId: number): number | undefined {
    return (this.s.lastGreen.get(project, name, beforeId) as { id: number } | undefined)?.id;
  }
  clearFinishPending(id: number): void {
    this.s.finished.run(id);
  }
  finishPendingIds(): number[] {
    return (this.s.finishPending.all() as { id: number }[]).map((r) => r.id);
  }
  touch(id: number, now: number): void {
    this.s.touch.run(now, id);
  }
  cancelRequestedFor(runnerId: number): number[] {
    return (this.s.cancelForRunner.all(runnerId) as { id: number }[]).map((r) => r.id);
  }
  /** running/canceling jobs whose runner has not been heard from since `cutoff`. */
  lost(cutoff: number): { id: number; runner_id: number; last_heartbeat_at: number | null }[] {
    return this.s.lost.all(cutoff) as { id: number; runner_id: number; last_heartbeat_at: number | null }[];
  }
  stuck(cutoff: number): { id: number; tags_json: string; queued_at: number }[] {
    return this.s.stuck.all(cutoff) as { id: number; tags_json: string; queued_at: number }[];
  }
  /** Running/canceling jobs of a project (for `resource_group`: one job at a time per group). */
  activeInProject(project: string): { pipeline_id: number; name: string }[] {
    return this.s.activeInProject.all(project) as { pipeline_id: number; name: string }[];
  }
  /** This runner's running jobs not heard of since `cutoff`. */
  quietFor(runnerId: number, cutoff: number): JobRow[] {
    return this.s.vanished.all(runnerId, cutoff) as JobRow[];
  }
  statusOf(id: number): { id: number; status: string; runner_id: number | null; failure_stage: string | null } | undefined {
    return this.s.statusOf.get(id) as { id: number; status: string; runner_id: number | null; failure_stage: string | null } | undefined;
  }
}

/** The parameters of a final update (on time or late): the report's columns, nulls for what it lacks. */
function finalParams(id: number, r: FinalReport, now: number) {
  const f = r.failure;
  return {
    id,
    now,
    status: r.status,
    exit_code: r.exit_code,
    reason: f?.reason ?? null,
    stage: f?.stage ?? null,
    message: f?.message ?? null,
    executor: f?.executor ?? null,
    image: f?.image ?? null,
    registry: f?.registry ?? null,
    kind: f?.kind ?? null,
    after_script_json: r.after_script_json,
    stopped_by: r.stopped_by,
    stages_json: r.stages_json ?? null,
  };
}
