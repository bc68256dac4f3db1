/** The `pipelines` table. */
import type { Sql } from './engine.js';
import type { EngineStateRow } from './jobs.js';
import { remember } from './remember.js';

export interface PipelineRow {
  id: number;
  project: string;
  ref: string;
  sha: string | null;
  name: string;
  source: string;
  yaml: string;
  model_json: string;
  variables_json: string;
  status: string;
  halted_by_job_id: number | null;
  canceled: number;
  has_warnings: number;
  failure_class: string | null;
  warnings_json: string;
  repository_url: string | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  /** A child pipeline's parent and the parent's trigger job (migration 9); null otherwise. */
  parent_pipeline_id?: number | null;
  trigger_job_id?: number | null;
}

export type NewPipeline = Omit<
  PipelineRow,
  | 'id'
  | 'halted_by_job_id'
  | 'canceled'
  | 'has_warnings'
  | 'failure_class'
  | 'started_at'
  | 'finished_at'
  | 'parent_pipeline_id'
  | 'trigger_job_id'
> & { id?: number };

/** A child pipeline as its parent sees it. */
export interface ChildRef {
  id: number;
  trigger_job_id: number;
  status: string;
}

export interface PipelineSummaryUpdate {
  status: string;
  halted_by_job_id: number | null;
  has_warnings: boolean;
  started_at: number | null;
  finished_at: number | null;
  failure_class: string | null;
  canceled: boolean;
}

/** Every column but the big ones (yaml, model_json): for hot paths. */
const LIGHT_COLUMNS =
  'id, project, ref, sha, name, source, variables_json, status, halted_by_job_id, canceled, has_warnings, failure_class, warnings_json, repository_url, created_at, started_at, finished_at';
export type LightPipelineRow = Omit<PipelineRow, 'yaml' | 'model_json'>;
/** The columns written once, at creation: what hot paths (a job's payload, a finish's listeners) read of a pipeline. */
const IDENTITY_COLUMNS = 'id, project, ref, sha, name, source, variables_json, repository_url, created_at';
export type PipelineIdentity = Pick<
  PipelineRow,
  'id' | 'project' | 'ref' | 'sha' | 'name' | 'source' | 'variables_json' | 'repository_url' | 'created_at'
>;
const MAX_IDENTITIES = 1000;
/** The columns an engine step compares and rewrites (see PipelineService.persistSummary). */
export type PipelineSummaryRow = Pick<
  PipelineRow,
  'status' | 'halted_by_job_id' | 'has_warnings' | 'started_at' | 'finished_at' | 'failure_class' | 'canceled'
>;

export interface BegunStep {
  version: number;
  summary: PipelineSummaryRow;
  /** The latest attempts written after the `since` asked for, when the row had moved past it. */
  changed?: (EngineStateRow & { id: number })[];
}

export class PipelineStore {
  /** Never rewritten and never deleted, so every coordinator may keep them (least recently used out). */
  private readonly identities = new Map<number, PipelineIdentity>();

  constructor(private readonly sql: Sql) {}

  /**
   * An id for the next pipeline, reserved before it is inserted (CI_PIPELINE_ID is exposed to
   * `rules:` before the row exists). PostgreSQL takes it from the identity's sequence, so
   * coordinators sharing the database never hand out one twice; the embedded SQLite store has
   * one coordinator, which serialises creation (PipelineService.create).
   */
  async reserveId(): Promise<number> {
    const q =
      this.sql.kind === 'postgres'
        ? `SELECT nextval(pg_get_serial_sequence('pipelines', 'id')) AS id`
        : 'SELECT COALESCE(MAX(id), 0) + 1 AS id FROM pipelines';
    return (await this.sql.get<{ id: number }>(q))!.id;
  }

  async insert(p: NewPipeline): Promise<number> {
    const row = await this.sql.get<{ id: number }>(
      `INSERT INTO pipelines (id, project, ref, sha, name, source, yaml, model_json, variables_json, status, warnings_json, repository_url, created_at)
       VALUES (@id, @project, @ref, @sha, @name, @source, @yaml, @model_json, @variables_json, @status, @warnings_json, @repository_url, @created_at)
       RETURNING id`,
      { ...p, id: p.id ?? (await this.reserveId()) },
    );
    return row!.id;
  }

  get(id: number): Promise<PipelineRow | undefined> {
    return this.sql.get<PipelineRow>('SELECT * FROM pipelines WHERE id = ?', [id]);
  }

  getLight(id: number): Promise<LightPipelineRow | undefined> {
    return this.sql.get<LightPipelineRow>(`SELECT ${LIGHT_COLUMNS} FROM pipelines WHERE id = ?`, [id]);
  }

  /**
   * The pipeline's creation-time columns, read once per pipeline rather than once per job. Only
   * a committed row is kept: one read inside a transaction that rolls back (SQLite may then give
   * its id to the next pipeline) is answered but not remembered.
   */
  async identity(id: number): Promise<PipelineIdentity | undefined> {
    const hit = this.identities.get(id);
    if (hit) {
      remember(this.identities, id, hit, MAX_IDENTITIES);
      return hit;
    }
    const row = await this.sql.get<PipelineIdentity>(`SELECT ${IDENTITY_COLUMNS} FROM pipelines WHERE id = ?`, [id]);
    if (row && !this.sql.inTx()) remember(this.identities, id, row, MAX_IDENTITIES);
    return row;
  }

  summaryOf(id: number): Promise<PipelineSummaryRow | undefined> {
    return this.sql.get<PipelineSummaryRow>(
      'SELECT status, halted_by_job_id, has_warnings, started_at, finished_at, failure_class, canceled FROM pipelines WHERE id = ?',
      [id],
    );
  }

  /**
   * The start of an engine step, one round trip: bumps the row's version, which locks the row
   * until the transaction ends (PostgreSQL; SQLite's transaction holds the only write lock
   * anyway), and returns the new version with the summary as it stood. Steps on one pipeline
   * run one at a time across coordinators, each on the latest state; a rolled-back step rolls
   * its version back too.
   *
   * `since`: the version the caller's engine reflects. When the row had moved past it (another
   * coordinator stepped), `changed` holds the latest attempts written since (jobs.step_version,
   * read after the lock was taken; PostgreSQL's begin_step). SQLite never gives it: one
   * coordinator per file, never behind.
   */
  async beginStep(id: number, since?: number): Promise<BegunStep | undefined> {
    const begun = await this.stepBegun(id, since, false);
    return begun === 'locked' ? undefined : begun; // never: begin_step waits for the lock
  }

  /**
   * beginStep, but when another transaction holds the row lock (another coordinator's step) it
   * answers 'locked' at once rather than wait (PostgreSQL's try_begin_step); nothing is bumped
   * then. On SQLite the lock is never another's: this transaction holds the file's.
   */
  tryBeginStep(id: number, since?: number): Promise<BegunStep | 'locked' | undefined> {
    return this.stepBegun(id, since, true);
  }

  private async stepBegun(id: number, since: number | undefined, tryLock: boolean): Promise<BegunStep | 'locked' | undefined> {
    if (this.sql.kind === 'postgres') {
      const row = await this.sql.get<PipelineSummaryRow & { locked?: boolean; version: number; changed: BegunStep['changed'] | null }>(
        tryLock ? 'SELECT * FROM try_begin_step(?, ?)' : 'SELECT * FROM begin_step(?, ?)',
        [id, since ?? null],
      );
      if (!row) return undefined;
      if (row.locked) return 'locked';
      const { version, changed, locked: _, ...summary } = row;
      return changed ? { version, summary, changed } : { version, summary };
    }
    const row = await this.sql.get<PipelineSummaryRow & { version: number }>(
      `UPDATE pipelines SET version = version + 1 WHERE id = ?
       RETURNING version, status, halted_by_job_id, has_warnings, started_at, finished_at, failure_class, canceled`,
      [id],
    );
    if (!row) return undefined;
    const { version, ...summary } = row;
    return { version, summary };
  }

  async updateSummary(id: number, u: PipelineSummaryUpdate): Promise<void> {
    await this.sql.run(
      `UPDATE pipelines SET status = @status, halted_by_job_id = @halted_by_job_id, has_warnings = @has_warnings,
         started_at = @started_at, finished_at = @finished_at, failure_class = @failure_class, canceled = @canceled WHERE id = @id`,
      { ...u, has_warnings: u.has_warnings ? 1 : 0, canceled: u.canceled ? 1 : 0, id },
    );
  }

  /** Marks `id` as the child pipeline started by `triggerJobId` of `parentId`. */
  async setParent(id: number, parentId: number, triggerJobId: number): Promise<void> {
    await this.sql.run('UPDATE pipelines SET parent_pipeline_id = ?, trigger_job_id = ? WHERE id = ?', [parentId, triggerJobId, id]);
  }

  children(parentId: number): Promise<ChildRef[]> {
    return this.sql.all<ChildRef>('SELECT id, trigger_job_id, status FROM pipelines WHERE parent_pipeline_id = ? ORDER BY id', [parentId]);
  }

  /** The child pipeline a trigger job created (its latest), if any. */
  childOfJob(jobId: number): Promise<ChildRef | undefined> {
    return this.sql.get<ChildRef>('SELECT id, trigger_job_id, status FROM pipelines WHERE trigger_job_id = ? ORDER BY id DESC LIMIT 1', [
      jobId,
    ]);
  }

  /** Parent pipeline and trigger job of a child pipeline; undefined for a top-level one. */
  async parentOf(id: number): Promise<{ parent: number; trigger_job_id: number } | undefined> {
    const r = await this.sql.get<{ parent: number | null; trigger_job_id: number }>(
      'SELECT parent_pipeline_id AS parent, trigger_job_id FROM pipelines WHERE id = ?',
      [id],
    );
    return r && r.parent !== null ? { parent: r.parent, trigger_job_id: r.trigger_job_id } : undefined;
  }

  /** How many parents above `id` (0 for a top-level pipeline). */
  async depth(id: number): Promise<number> {
    let d = 0;
    for (let p = await this.parentOf(id); p && d < 100; p = await this.parentOf(p.parent)) d++;
    return d;
  }

  async unfinishedOnRef(project: string, ref: string, beforeId: number): Promise<number[]> {
    const rows = await this.sql.all<{ id: number }>(
      `SELECT id FROM pipelines WHERE project = ? AND ref = ? AND id < ?
         AND status NOT IN ('success', 'failed', 'canceled', 'skipped') ORDER BY id`,
      [project, ref, beforeId],
    );
    return rows.map((r) => r.id);
  }

  async list(q: {
    limit: number;
    offset: number;
    ref?: string;
    status?: string;
    project?: string;
  }): Promise<{ rows: PipelineRow[]; total: number }> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.ref !== undefined) {
      where.push('ref = ?');
      args.push(q.ref);
    }
    if (q.status !== undefined) {
      where.push('status = ?');
      args.push(q.status);
    }
    if (q.project !== undefined) {
      where.push('project = ?');
      args.push(q.project);
    }
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (await this.sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM pipelines ${w}`, args))!.n;
    const rows = await this.sql.all<PipelineRow>(`SELECT * FROM pipelines ${w} ORDER BY id DESC LIMIT ? OFFSET ?`, [
      ...args,
      q.limit,
      q.offset,
    ]);
    return { rows, total };
  }
}
