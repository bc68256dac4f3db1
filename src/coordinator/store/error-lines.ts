/**
 * The `error_lines` table (migration 10): normalised error lines of fallback-decided
 * failures, one row per (line, job), grouped at read time into widespread lines.
 */
import type { Db } from './db.js';

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
  private readonly s;
  constructor(db: Db) {
    this.s = {
      insert: db.prepare(
        'INSERT OR IGNORE INTO error_lines (normalized, job_id, example, project, ref, at) VALUES (@normalized, @job_id, @example, @project, @ref, @at)',
      ),
      prune: db.prepare('DELETE FROM error_lines WHERE at < ?'),
      widespread: db.prepare(
        `SELECT normalized, MIN(example) AS example_line, COUNT(DISTINCT job_id) AS job_count,
                COUNT(DISTINCT project) AS project_count, COUNT(DISTINCT ref) AS ref_count,
                MIN(at) AS first_at, MAX(at) AS last_at, GROUP_CONCAT(job_id) AS job_ids
         FROM error_lines WHERE at >= ?
         GROUP BY normalized
         HAVING job_count >= ? AND (project_count >= 2 OR ref_count >= 2)
         ORDER BY job_count DESC, last_at DESC LIMIT ?`,
      ),
    };
  }
  insert(r: ErrorLineRow): void {
    this.s.insert.run(r);
  }
  prune(before: number): void {
    this.s.prune.run(before);
  }
  widespread(since: number, minJobs: number, limit: number): WidespreadRow[] {
    return this.s.widespread.all(since, minJobs, limit) as WidespreadRow[];
  }
}
