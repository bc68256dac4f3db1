/** The `pipelines` table. */
import type { Db } from './db.js';

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
/** The columns an engine step compares and rewrites (see PipelineService.persistSummary). */
export type PipelineSummaryRow = Pick<
  PipelineRow,
  'status' | 'halted_by_job_id' | 'has_warnings' | 'started_at' | 'finished_at' | 'failure_class' | 'canceled'
>;

export class PipelineStore {
  private readonly s;
  constructor(private readonly db: Db) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO pipelines (id, project, ref, sha, name, source, yaml, model_json, variables_json, status, warnings_json, repository_url, created_at)
         VALUES (@id, @project, @ref, @sha, @name, @source, @yaml, @model_json, @variables_json, @status, @warnings_json, @repository_url, @created_at)`,
      ),
      get: db.prepare('SELECT * FROM pipelines WHERE id = ?'),
      light: db.prepare(`SELECT ${LIGHT_COLUMNS} FROM pipelines WHERE id = ?`),
      summaryOf: db.prepare(
        'SELECT status, halted_by_job_id, has_warnings, started_at, finished_at, failure_class, canceled FROM pipelines WHERE id = ?',
      ),
      nextId: db.prepare('SELECT COALESCE(MAX(id), 0) + 1 AS id FROM pipelines'),
      summary: db.prepare(
        `UPDATE pipelines SET status = @status, halted_by_job_id = @halted_by_job_id, has_warnings = @has_warnings,
           started_at = @started_at, finished_at = @finished_at, failure_class = @failure_class, canceled = @canceled WHERE id = @id`,
      ),
      setParent: db.prepare('UPDATE pipelines SET parent_pipeline_id = ?, trigger_job_id = ? WHERE id = ?'),
      children: db.prepare('SELECT id, trigger_job_id, status FROM pipelines WHERE parent_pipeline_id = ? ORDER BY id'),
      childOfJob: db.prepare('SELECT id, trigger_job_id, status FROM pipelines WHERE trigger_job_id = ? ORDER BY id DESC LIMIT 1'),
      parentOf: db.prepare('SELECT parent_pipeline_id AS parent, trigger_job_id FROM pipelines WHERE id = ?'),
      unfinishedOnRef: db.prepare(
        `SELECT id FROM pipelines WHERE project = ? AND ref = ? AND id < ?
           AND status NOT IN ('success', 'failed', 'canceled', 'skipped') ORDER BY id`,
      ),
    };
  }

  /** The id the next insert will get (used to expose CI_PIPELINE_ID to `rules:` before inserting). */
  nextId(): number {
    return (this.s.nextId.get() as { id: number }).id;
  }

  insert(p: NewPipeline): number {
    return Number(this.s.insert.run({ ...p, id: p.id ?? null }).lastInsertRowid);
  }

  get(id: number): PipelineRow | undefined {
    return this.s.get.get(id) as PipelineRow | undefined;
  }

  getLight(id: number): LightPipelineRow | undefined {
    return this.s.light.get(id) as LightPipelineRow | undefined;
  }

  summaryOf(id: number): PipelineSummaryRow | undefined {
    return this.s.summaryOf.get(id) as PipelineSummaryRow | undefined;
  }

  updateSummary(id: number, u: PipelineSummaryUpdate): void {
    this.s.summary.run({ ...u, has_warnings: u.has_warnings ? 1 : 0, canceled: u.canceled ? 1 : 0, id });
  }

  /** Marks `id` as the child pipeline started by `triggerJobId` of `parentId`. */
  setParent(id: number, parentId: number, triggerJobId: number): void {
    this.s.setParent.run(parentId, triggerJobId, id);
  }

  children(parentId: number): ChildRef[] {
    return this.s.children.all(parentId) as ChildRef[];
  }

  /** The child pipeline a trigger job created (its latest), if any. */
  childOfJob(jobId: number): ChildRef | undefined {
    return this.s.childOfJob.get(jobId) as ChildRef | undefined;
  }

  /** Parent pipeline and trigger job of a child pipeline; undefined for a top-level one. */
  parentOf(id: number): { parent: number; trigger_job_id: number } | undefined {
    const r = this.s.parentOf.get(id) as { parent: number | null; trigger_job_id: number } | undefined;
    return r && r.parent !== null ? { parent: r.parent, trigger_job_id: r.trigger_job_id } : undefined;
  }

  /** How many parents above `id` (0 for a top-level pipeline). */
  depth(id: number): number {
    let d = 0;
    for (let p = this.parentOf(id); p && d < 100; p = this.parentOf(p.parent)) d++;
    return d;
  }

  unfinishedOnRef(project: string, ref: string, beforeId: number): number[] {
    return (this.s.unfinishedOnRef.all(project, ref, beforeId) as { id: number }[]).map((r) => r.id);
  }

  list(q: { limit: number; offset: number; ref?: string; status?: string; project?: string }): { rows: PipelineRow[]; total: number } {
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
    const total = (this.db.prepare(`SELECT COUNT(*) AS n FROM pipelines ${w}`).get(...args) as { n: number }).n;
    const rows = this.db
      .prepare(`SELECT * FROM pipelines ${w} ORDER BY id DESC LIMIT ? OFFSET ?`)
      .all(...args, q.limit, q.offset) as PipelineRow[];
    return { rows, total };
  }
}
