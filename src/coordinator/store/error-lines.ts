/**
 * The `error_lines` table (migration 10): normalised error lines of fallback-decided
 * failures, one row per (line, job), grouped at read time into widespread lines.
 */
import type { Sql } from './engine.js';

export interface ErrorLineRow {
  normalized: string;
  job_id: number;
  example: string;
  project: string;
  ref: string;
  at: number;
}

export interface WidespreadRow {
  normalized: string;
  example_line: string;
  job_count: number;
  project_count: number;
  ref_count: number;
  first_at: number;
  last_at: number;
  job_ids: string;
}

export class ErrorLineStore {
  constructor(private readonly sql: Sql) {}
  async insert(r: ErrorLineRow): Promise<void> {
    await this.sql.run(
      `INSERT INTO error_lines (normalized, job_id, example, project, ref, at) VALUES (@normalized, @job_id, @example, @project, @ref, @at)
       ON CONFLICT DO NOTHING`,
      { ...r },
    );
  }
  async prune(before: number): Promise<void> {
    await this.sql.run('DELETE FROM error_lines WHERE at < ?', [before]);
  }
  widespread(since: number, minJobs: number, limit: number): Promise<WidespreadRow[]> {
    // The one aggregate spelled differently; HAVING repeats the expressions (PostgreSQL has no aliases there).
    const ids = this.sql.kind === 'postgres' ? `string_agg(job_id::text, ',')` : 'GROUP_CONCAT(job_id)';
    return this.sql.all<WidespreadRow>(
      `SELECT normalized, MIN(example) AS example_line, COUNT(DISTINCT job_id) AS job_count,
              COUNT(DISTINCT project) AS project_count, COUNT(DISTINCT ref) AS ref_count,
              MIN(at) AS first_at, MAX(at) AS last_at, ${ids} AS job_ids
       FROM error_lines WHERE at >= ?
       GROUP BY normalized
       HAVING COUNT(DISTINCT job_id) >= ? AND (COUNT(DISTINCT project) >= 2 OR COUNT(DISTINCT ref) >= 2)
       ORDER BY job_count DESC, last_at DESC LIMIT ?`,
      [since, minJobs, limit],
    );
  }
}
