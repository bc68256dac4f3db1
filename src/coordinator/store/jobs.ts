/** The `jobs` table: one row per attempt. Status changes are compare-and-set where a race is possible. */
import type { FailureClassification } from '../../protocol/failure.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { inList, type Sql } from './engine.js';

export type EngineStateRow = Pick<
  JobRow,
  'name' | 'status' | 'exit_code' | 'outcome' | 'attempt' | 'note' | 'finish_pending' | 'started_at' | 'cancel_requested'
>;

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
  /** When the runner first used the job token (an update, a trace chunk, an upload); null: never. */
  received_at: number | null;
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
export type JobAuthRow = Pick<
  JobRow,
  'id' | 'status' | 'runner_id' | 'token_hash' | 'cancel_requested' | 'last_update_at' | 'finished_at' | 'received_at'
>;
/** The latest attempt of a job as an engine step needs it (the whole row only for a new attempt). */
export type JobRef = Pick<JobRow, 'id' | 'attempt' | 'outcome' | 'note'>;
/** What a job payload is built from right after dispatch. */
export type DispatchedJob = Pick<JobRow, 'id' | 'pipeline_id' | 'name' | 'stage' | 'attempt' | 'started_at' | 'trace_bytes'>;
/** A job just handed out: its payload's fields and its engine reference. */
export type StartedJob = DispatchedJob & JobRef;
/** A pending job as the dispatcher walks them. */
export interface PendingJob {
  id: number;
  pipeline_id: number;
  name: string;
  tags_json: string;
}

const PENDING_COLS = 'id, pipeline_id, name, tags_json';

/** Which pending jobs of a pipeline a hand-out may take: these tag sets, but the ids of `except`. */
export interface PendingInPipeline {
  pipelineId: number;
  tagSets: readonly string[];
  except: readonly number[];
}

/** SELECT `cols` of the oldest such job (`lock`: a row-lock clause to append), and its parameters. */
function oldestPendingIn(cols: string, p: PendingInPipeline, lock = ''): { sql: string; params: unknown[] } {
  return {
    sql: `SELECT ${cols} FROM jobs WHERE pipeline_id = ? AND status = 'pending' AND tags_json IN (${inList(p.tagSets)})
       ${p.except.length ? `AND id NOT IN (${inList(p.except)})` : ''} ORDER BY id LIMIT 1${lock}`,
    params: [p.pipelineId, ...p.tagSets, ...p.except],
  };
}

/**
 * Rows per multi-row INSERT / id-list UPDATE: few round trips, well under both engines' parameter
 * limits. Between batches the event loop takes a turn: SQLite runs each statement synchronously,
 * and 25,000 jobs in one go held every request for seconds (issue 14); queries of others wait for
 * the transaction either way, but /healthz and requests that need no store are answered.
 */
const BATCH = 500;
const JOB_COLUMNS = [
  'pipeline_id',
  'project',
  'ref',
  'name',
  'stage',
  'stage_index',
  'attempt',
  'retry_of',
  'status',
  'tags_json',
  'needs_json',
  'when_',
  'manual',
  'interruptible',
  'allow_failure',
  'created_at',
  'queued_at',
] as const satisfies readonly (keyof NewJob)[];

/** One bulk transition: jobs moved to `to` with the same note and graceful flag. */
export interface TransitionGroup {
  ids: number[];
  to: string;
  note: string | null;
  graceful: boolean;
}

export class JobStore {
  constructor(private readonly sql: Sql) {}

  async insert(j: NewJob): Promise<number> {
    return (await this.insertMany([j]))[0]!;
  }
  /** Many rows in few statements (a 25,000-job pipeline is 50 INSERTs); ids in the order given. */
  async insertMany(rows: readonly NewJob[]): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 0; i < rows.length; i += BATCH) {
      if (i > 0) await nextTurn();
      const chunk = rows.slice(i, i + BATCH);
      const tuple = `(${JOB_COLUMNS.map(() => '?').join(', ')})`;
      const out = await this.sql.all<{ id: number }>(
        `INSERT INTO jobs (${JOB_COLUMNS.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')} RETURNING id`,
        chunk.flatMap((r) => JOB_COLUMNS.map((c) => r[c])),
      );
      // RETURNING order is not promised by either engine: ids are ascending in insert order.
      ids.push(...out.map((r) => r.id).sort((a, b) => a - b));
    }
    return ids;
  }
  get(id: number): Promise<JobRow | undefined> {
    return this.sql.get<JobRow>('SELECT * FROM jobs WHERE id = ?', [id]);
  }
  /** The job and, in the same read, the name and executor of its runner (null: none, or no such row). */
  withRunner(id: number): Promise<(JobRow & { runner_name: string | null; runner_executor: string | null }) | undefined> {
    return this.sql.get(
      'SELECT j.*, r.name AS runner_name, r.executor AS runner_executor FROM jobs j LEFT JOIN runners r ON r.id = j.runner_id WHERE j.id = ?',
      [id],
    );
  }
  /** The columns the runner API checks and updates by (see JobAuthRow). */
  authRow(id: number): Promise<JobAuthRow | undefined> {
    return this.sql.get<JobAuthRow>(
      'SELECT id, status, runner_id, token_hash, cancel_requested, last_update_at, finished_at, received_at FROM jobs WHERE id = ?',
      [id],
    );
  }
  /** finish_pending of a job, or undefined when there is no such job. */
  async finishPendingOf(id: number): Promise<number | undefined> {
    return (await this.sql.get<{ finish_pending: number }>('SELECT finish_pending FROM jobs WHERE id = ?', [id]))?.finish_pending;
  }
  byPipeline(pipelineId: number): Promise<JobRow[]> {
    return this.sql.all<JobRow>('SELECT * FROM jobs WHERE pipeline_id = ? ORDER BY id', [pipelineId]);
  }
  latestByName(pipelineId: number, name: string): Promise<JobRow | undefined> {
    return this.sql.get<JobRow>('SELECT * FROM jobs WHERE pipeline_id = ? AND name = ? ORDER BY attempt DESC LIMIT 1', [pipelineId, name]);
  }
  latestRef(pipelineId: number, name: string): Promise<JobRef | undefined> {
    return this.sql.get<JobRef>(
      'SELECT id, attempt, outcome, note FROM jobs WHERE pipeline_id = ? AND name = ? ORDER BY attempt DESC LIMIT 1',
      [pipelineId, name],
    );
  }
  /** Whether a job of the pipeline that does not allow failure failed for job_execution_timeout. */
  async countingTimeout(pipelineId: number): Promise<boolean> {
    const hit = await this.sql.get(
      `SELECT 1 AS hit FROM jobs WHERE pipeline_id = ? AND status = 'failed' AND allow_failure = 0 AND failure_reason = 'job_execution_timeout' LIMIT 1`,
      [pipelineId],
    );
    return hit !== undefined;
  }
  /** The failed job that counts and decided the pipeline's class (that class first, then the earliest). */
  firstCountingFailure(pipelineId: number, failureClass: string | null): Promise<JobRow | undefined> {
    return this.sql.get<JobRow>(
      `SELECT * FROM jobs WHERE pipeline_id = ? AND status = 'failed' AND allow_failure = 0 AND failure_class IS NOT NULL
       ORDER BY CASE WHEN failure_class = ? THEN 0 ELSE 1 END, id LIMIT 1`,
      [pipelineId, failureClass ?? ''],
    );
  }
  /** How many job rows (attempts) a pipeline has, and its first job id. */
  async countOf(pipelineId: number): Promise<{ n: number; first: number | null }> {
    return (await this.sql.get<{ n: number; first: number | null }>(
      'SELECT COUNT(*) AS n, MIN(id) AS first FROM jobs WHERE pipeline_id = ?',
      [pipelineId],
    ))!;
  }
  /** Up to `limit` attempts of a pipeline from job id `fromId` on, in id order (paged reads of big pipelines). */
  page(pipelineId: number, fromId: number, limit: number): Promise<JobRow[]> {
    // On SQLite, walk the primary key from `id`, not the name index (a pipeline's jobs are mostly
    // consecutive ids, so a page reads about `limit` rows, already in order).
    return this.sql.all<JobRow>(`SELECT * FROM jobs WHERE id >= ? AND ${this.sql.dialect.noIndex('pipeline_id')} = ? ORDER BY id LIMIT ?`, [
      fromId,
      pipelineId,
      limit,
    ]);
  }
  /** latestRef of every job name of a pipeline, in one query (for events touching thousands of jobs). */
  async latestRefs(pipelineId: number): Promise<Map<string, JobRef>> {
    const out = new Map<string, JobRef>();
    const rows = await this.sql.all<JobRef & { name: string }>(
      'SELECT id, name, attempt, outcome, note FROM jobs WHERE pipeline_id = ? ORDER BY attempt',
      [pipelineId],
    );
    for (const r of rows) out.set(r.name, { id: r.id, attempt: r.attempt, outcome: r.outcome, note: r.note });
    return out;
  }
  /** Latest attempt of every job name of a pipeline. */
  async latestPerName(pipelineId: number): Promise<JobRow[]> {
    const latest = new Map<string, JobRow>();
    for (const j of await this.byPipeline(pipelineId)) {
      const cur = latest.get(j.name);
      if (!cur || cur.attempt < j.attempt) latest.set(j.name, j);
    }
    return [...latest.values()];
  }
  /** The latest attempt of each job, with what an engine restore reads of it (EngineCache). */
  async engineStates(pipelineId: number): Promise<EngineStateRow[]> {
    const latest = new Map<string, EngineStateRow>();
    const rows = await this.sql.all<EngineStateRow>(
      `SELECT name, status, exit_code, outcome, attempt, note, finish_pending, started_at, cancel_requested
       FROM jobs WHERE pipeline_id = ? ORDER BY attempt`,
      [pipelineId],
    );
    for (const r of rows) latest.set(r.name, r);
    return [...latest.values()];
  }

  /** The distinct `tags_json` values of pending jobs (few, however many jobs wait). */
  async pendingTagSets(): Promise<string[]> {
    const ix = this.sql.dialect.indexedBy('jobs_pending_tags');
    // A skip scan of jobs_pending_tags: one index seek per distinct tag set, not one row per job.
    const rows = await this.sql.all<{ tags: string }>(
      `WITH RECURSIVE t(tags) AS (
         SELECT (SELECT MIN(tags_json) FROM jobs${ix} WHERE status = 'pending')
         UNION ALL
         SELECT (SELECT MIN(tags_json) FROM jobs${ix} WHERE status = 'pending' AND tags_json > t.tags) FROM t WHERE t.tags IS NOT NULL
       ) SELECT tags FROM t WHERE tags IS NOT NULL`,
    );
    return rows.map((r) => r.tags);
  }
  /**
   * Pending jobs with one of these tag sets, oldest first, read lazily: the caller usually
   * stops at one of the first ones, so the first batches are small and later ones grow. The
   * first holds 16, not fewer: under load the oldest jobs are being claimed by this
   * coordinator's other hand-outs (skipped), and a batch of 4 then cost each hand-out a second
   * read (2.8 reads per job handed out in bench/dispatch-engines.ts). Jobs of
   * other tag sets are never read. `skipPipelines`: pipelines whose jobs the caller no longer
   * wants, as the set stands when each further batch is read (it may grow meanwhile).
   */
  async *pendingIter(tagSets: readonly string[], skipPipelines: ReadonlySet<number> = new Set()): AsyncGenerator<PendingJob> {
    const heads = tagSets.map((tags) => this.pendingOf(tags, skipPipelines));
    const cur = await Promise.all(heads.map((h) => h.next()));
    for (;;) {
      let best = -1;
      for (let i = 0; i < cur.length; i++) if (!cur[i]!.done && (best === -1 || cur[i]!.value!.id < cur[best]!.value!.id)) best = i;
      if (best === -1) return;
      yield cur[best]!.value as PendingJob;
      cur[best] = await heads[best]!.next();
    }
  }
  private async *pendingOf(tags: string, skip: ReadonlySet<number>): AsyncGenerator<PendingJob> {
    const ix = this.sql.dialect.indexedBy('jobs_pending_tags');
    let batch = 16;
    let after = 0;
    for (;;) {
      const without = [...skip];
      const rows = await this.sql.all<PendingJob>(
        `SELECT ${PENDING_COLS} FROM jobs${ix} WHERE status = 'pending' AND tags_json = ? AND id > ?
         ${without.length ? `AND pipeline_id NOT IN (${inList(without)})` : ''} ORDER BY id LIMIT ?`,
        [tags, after, ...without, batch],
      );
      yield* rows;
      if (rows.length < batch) return;
      after = rows[rows.length - 1]!.id;
      batch = Math.min(batch * 4, 256);
    }
  }
  /** The oldest pending job of one pipeline with one of these tag sets, but those of `except`. */
  pendingIn(pipelineId: number, tagSets: readonly string[], except: readonly number[]): Promise<PendingJob | undefined> {
    const q = oldestPendingIn(PENDING_COLS, { pipelineId, tagSets, except });
    return this.sql.get<PendingJob>(q.sql, q.params);
  }
  /**
   * pending → running for one runner, one statement; undefined when someone else got there first.
   * On PostgreSQL the row is claimed with `FOR UPDATE SKIP LOCKED`: a job another
   * coordinator's transaction is deciding is skipped, not waited for, and the UPDATE is a
   * compare-and-set. Returns what the engine step and the payload need of the row.
   *
   * `orNext`: when job `id` is no longer pending, claim instead the oldest pending job of that
   * pipeline with one of those tag sets, but those of `except` (see pendingIn), in the same
   * statement. Under the pipeline's lock no other step can take that one in between.
   */
  casStart(
    id: number,
    runnerId: number | null,
    tokenHash: string | null,
    now: number,
    orNext?: PendingInPipeline,
  ): Promise<StartedJob | undefined> {
    const skip = this.sql.dialect.forUpdateSkipLocked;
    const first = `(SELECT id FROM jobs WHERE id = ? AND status = 'pending'${skip})`;
    const next = orNext ? oldestPendingIn('id', orNext, skip) : undefined;
    return this.sql.get<StartedJob>(
      `UPDATE jobs SET status = 'running', runner_id = ?, token_hash = ?, started_at = ?, last_update_at = ?
       WHERE id = ${next ? `COALESCE(${first}, (${next.sql}))` : first} AND status = 'pending'
       RETURNING id, pipeline_id, name, stage, attempt, started_at, trace_bytes, outcome, note`,
      [runnerId, tokenHash, now, now, id, ...(next?.params ?? [])],
    );
  }
  /** The runner used the job token for the first time. */
  async received(id: number, now: number): Promise<void> {
    await this.sql.run('UPDATE jobs SET received_at = ? WHERE id = ? AND received_at IS NULL', [now, id]);
  }
  /**
   * A running job its runner never received back to pending, for another hand-out (compare-and-set:
   * still running on that runner, still never received). Its token no longer opens it.
   */
  requeue(id: number, runnerId: number, now: number): Promise<JobRef | undefined> {
    return this.sql.get<JobRef>(
      `UPDATE jobs SET status = 'pending', runner_id = NULL, token_hash = NULL, started_at = NULL, last_update_at = NULL, queued_at = @now
       WHERE id = @id AND status = 'running' AND runner_id = @runner_id AND received_at IS NULL AND finish_pending = 0
       RETURNING id, attempt, outcome, note`,
      { id, runner_id: runnerId, now },
    );
  }
  async applyTransition(id: number, to: string, now: number, note: string | null, graceful: boolean): Promise<boolean> {
    return (await this.applyTransitions({ ids: [id], to, note, graceful }, now)).has(id);
  }
  /** One transition for many jobs (id lists per statement); returns the ids that changed. */
  async applyTransitions(g: TransitionGroup, now: number): Promise<Set<number>> {
    const changed = new Set<number>();
    for (let i = 0; i < g.ids.length; i += BATCH) {
      if (i > 0) await nextTurn();
      const ids = g.ids.slice(i, i + BATCH);
      const rows = await this.sql.all<{ id: number }>(
        `UPDATE jobs SET status = ?,
           note = COALESCE(?, note),
           graceful = CASE WHEN graceful = 1 OR ? = 1 THEN 1 ELSE 0 END,
           cancel_requested = CASE WHEN ? = 'canceling' THEN 1 ELSE cancel_requested END,
           queued_at = CASE WHEN ? = 'pending' THEN ? ELSE queued_at END,
           finished_at = CASE WHEN ? IN ${TERMINAL} THEN COALESCE(finished_at, ?) ELSE finished_at END
         WHERE id IN (${inList(ids)}) AND NOT (finish_pending = 1 AND ? NOT IN ${TERMINAL})
         RETURNING id`,
        [g.to, g.note, g.graceful ? 1 : 0, g.to, g.to, now, g.to, now, ...ids, g.to],
      );
      for (const r of rows) changed.add(r.id);
    }
    return changed;
  }
  async setEngineState(id: number, outcome: string | null, note: string | null): Promise<void> {
    await this.setEngineStates([id], outcome, note);
  }
  /** outcome/note for many jobs at once (the engine's on_status decisions after a big event). */
  async setEngineStates(ids: readonly number[], outcome: string | null, note: string | null): Promise<void> {
    for (let i = 0; i < ids.length; i += BATCH) {
      if (i > 0) await nextTurn();
      const chunk = ids.slice(i, i + BATCH);
      await this.sql.run(`UPDATE jobs SET outcome = ?, note = ? WHERE id IN (${inList(chunk)})`, [outcome, note, ...chunk]);
    }
  }
  /** running/canceling → final state reported by the runner (or reaper); false if already final. */
  async storeFinal(id: number, r: FinalReport, now: number): Promise<boolean> {
    const res = await this.sql.run(
      `UPDATE jobs SET status = @status, exit_code = @exit_code, finish_pending = 1, finished_at = @now, last_update_at = @now,
         failure_reason = @reason, failure_stage = @stage, failure_message = @message, failure_executor = @executor,
         failure_image = @image, failure_registry = @registry, failure_kind = @kind,
         after_script_json = @after_script_json, stopped_by = @stopped_by, stages_json = @stages_json
       WHERE id = @id AND status IN ('running', 'canceling') AND finish_pending = 0`,
      finalParams(id, r, now),
    );
    return res.changes === 1;
  }
  /**
   * A late final update from the runner that still holds the job token replaces the
   * coordinator's own verdict (runner lost) while that is not applied yet; false otherwise.
   */
  async storeLateFinal(id: number, r: FinalReport, now: number): Promise<boolean> {
    const res = await this.sql.run(
      `UPDATE jobs SET status = @status, exit_code = @exit_code, finished_at = @now, last_update_at = @now,
         failure_reason = @reason, failure_stage = @stage, failure_message = @message, failure_executor = @executor,
         failure_image = @image, failure_registry = @registry, failure_kind = @kind,
         after_script_json = @after_script_json, stopped_by = @stopped_by, stages_json = @stages_json
       WHERE id = @id AND status = 'failed' AND finish_pending = 1 AND failure_stage = 'coordinator'`,
      finalParams(id, r, now),
    );
    return res.changes === 1;
  }
  /** pending → failed by the coordinator (stuck: no runner took it); false if it moved meanwhile. */
  async failPending(id: number, f: NonNullable<FinalReport['failure']>, now: number): Promise<boolean> {
    const res = await this.sql.run(
      `UPDATE jobs SET status = 'failed', finish_pending = 1, finished_at = @now, last_update_at = @now,
         failure_reason = @reason, failure_stage = @stage, failure_message = @message, failure_executor = @executor,
         failure_image = @image, failure_registry = @registry, failure_kind = @kind
       WHERE id = @id AND status = 'pending' AND finish_pending = 0`,
      { id, now, ...f },
    );
    return res.changes === 1;
  }
  /** started_at of a job the coordinator itself runs (a trigger: job). */
  async markStarted(id: number, now: number): Promise<void> {
    await this.sql.run('UPDATE jobs SET started_at = COALESCE(started_at, ?), last_update_at = ? WHERE id = ?', [now, now, id]);
  }
  /** Running jobs no runner holds: trigger: jobs, which run on the coordinator. */
  runningWithoutRunner(): Promise<{ id: number; pipeline_id: number; name: string; status: string }[]> {
    return this.sql.all(
      `SELECT id, pipeline_id, name, status FROM jobs WHERE status IN ('running', 'canceling') AND runner_id IS NULL AND finish_pending = 0 ORDER BY id`,
    );
  }
  async storeClassification(id: number, c: FailureClassification): Promise<void> {
    await this.sql.run(
      `UPDATE jobs SET failure_class = @class, failure_reason = @reason, failure_stage = @stage, failure_cause = @cause,
         failure_summary = @summary, failure_owner = @owner, failure_rule_id = @rule_id, failure_rule_version = @rule_version,
         failure_fallback = @fallback, failure_evidence_json = @evidence_json, failure_message = @message,
         failure_executor = @executor, failure_image = @image, failure_registry = @registry, failure_kind = @kind,
         failure_baseline_job_id = @baseline_job_id, failure_new_lines_json = @new_lines_json
       WHERE id = @id`,
      {
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
      },
    );
  }
  /** The latest successful job of this project and job name created before job `beforeId`. */
  async lastGreen(project: string, name: string, beforeId: number): Promise<number | undefined> {
    const ix = this.sql.dialect.indexedBy('jobs_last_green');
    const r = await this.sql.get<{ id: number }>(
      `SELECT id FROM jobs${ix} WHERE project = ? AND name = ? AND status = 'success' AND id < ? ORDER BY id DESC LIMIT 1`,
      [project, name, beforeId],
    );
    return r?.id;
  }
  /**
   * The finisher's claim of a stored final update, one statement: clears finish_pending if the
   * report is still the one read at `lastUpdateAt`, and gives the row's engine reference.
   * `replaced` when a late final update came meanwhile (finish that one), `done` when something
   * else finished it.
   */
  async takeFinish(id: number, lastUpdateAt: number | null): Promise<JobRef | 'replaced' | 'done'> {
    const taken = await this.sql.get<JobRef>(
      `UPDATE jobs SET finish_pending = 0 WHERE id = ? AND finish_pending = 1 AND COALESCE(last_update_at, -1) = ?
       RETURNING id, attempt, outcome, note`,
      [id, lastUpdateAt ?? -1],
    );
    if (taken) return taken;
    return (await this.finishPendingOf(id)) === 1 ? 'replaced' : 'done';
  }
  async clearFinishPending(id: number): Promise<void> {
    await this.sql.run('UPDATE jobs SET finish_pending = 0 WHERE id = ?', [id]);
  }
  async finishPendingIds(before = Number.MAX_SAFE_INTEGER): Promise<number[]> {
    const rows = await this.sql.all<{ id: number }>(
      'SELECT id FROM jobs WHERE finish_pending = 1 AND COALESCE(last_update_at, 0) < ? ORDER BY id',
      [before],
    );
    return rows.map((r) => r.id);
  }
  async touch(id: number, now: number): Promise<void> {
    await this.sql.run('UPDATE jobs SET last_update_at = ? WHERE id = ?', [now, id]);
  }
  async cancelRequestedFor(runnerId: number): Promise<number[]> {
    const rows = await this.sql.all<{ id: number }>(
      `SELECT id FROM jobs WHERE runner_id = ? AND status = 'canceling' AND cancel_requested = 1 AND finish_pending = 0`,
      [runnerId],
    );
    return rows.map((r) => r.id);
  }
  /** running/canceling jobs whose runner has not been heard from since `cutoff`. */
  lost(cutoff: number): Promise<{ id: number; runner_id: number; last_heartbeat_at: number | null }[]> {
    return this.sql.all(
      `SELECT j.id, j.runner_id, r.last_heartbeat_at FROM jobs j JOIN runners r ON r.id = j.runner_id
       WHERE j.status IN ('running', 'canceling') AND j.finish_pending = 0 AND COALESCE(r.last_heartbeat_at, 0) < ?`,
      [cutoff],
    );
  }
  stuck(cutoff: number): Promise<{ id: number; tags_json: string; queued_at: number }[]> {
    return this.sql.all(`SELECT id, tags_json, queued_at FROM jobs WHERE status = 'pending' AND queued_at < ? ORDER BY id`, [cutoff]);
  }
  /** Running/canceling jobs of a project (for `resource_group`: one job at a time per group). */
  activeInProject(project: string): Promise<{ pipeline_id: number; name: string }[]> {
    return this.sql.all(`SELECT pipeline_id, name FROM jobs WHERE project = ? AND status IN ('running', 'canceling')`, [project]);
  }
  /** This runner's running jobs not heard of since `cutoff`. */
  quietFor(runnerId: number, cutoff: number): Promise<JobRow[]> {
    return this.sql.all<JobRow>(
      `SELECT * FROM jobs WHERE runner_id = ? AND status IN ('running', 'canceling') AND finish_pending = 0
         AND COALESCE(last_update_at, started_at) < ?`,
      [runnerId, cutoff],
    );
  }
  statusOf(id: number): Promise<{ id: number; status: string; runner_id: number | null; failure_stage: string | null } | undefined> {
    return this.sql.get('SELECT id, status, runner_id, failure_stage FROM jobs WHERE id = ?', [id]);
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
