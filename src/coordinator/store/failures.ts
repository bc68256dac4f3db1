/** Queries behind GET /api/v1/failures and /failures/summary (keyset paging on finished_at, id). */
import type { Db } from './db.js';
import type { JobRow } from './jobs.js';

export interface FailureFilter {
  class?: string;
  reason?: string;
  cause?: string;
  ref?: string;
  job?: string;
  runner?: number;
  image?: string;
  since?: number;
  until?: number;
  limit: number;
  /** Exclusive keyset position: rows strictly older than this. */
  before?: { finished_at: number; id: number };
}

export function listFailures(db: Db, f: FailureFilter): { rows: JobRow[]; next: { finished_at: number; id: number } | null } {
  const where = ['failure_class IS NOT NULL', 'finished_at IS NOT NULL'];
  const args: unknown[] = [];
  const eq = (col: string, v: unknown) => {
    if (v !== undefined) {
      where.push(`${col} = ?`);
      args.push(v);
    }
  };
  eq('failure_class', f.class);
  eq('failure_reason', f.reason);
  eq('failure_cause', f.cause);
  eq('ref', f.ref);
  eq('name', f.job);
  eq('runner_id', f.runner);
  eq('failure_image', f.image);
  if (f.since !== undefined) {
    where.push('finished_at >= ?');
    args.push(f.since);
  }
  if (f.until !== undefined) {
    where.push('finished_at < ?');
    args.push(f.until);
  }
  if (f.before) {
    where.push('(finished_at < ? OR (finished_at = ? AND id < ?))');
    args.push(f.before.finished_at, f.before.finished_at, f.before.id);
  }
  const rows = db
    .prepare(`SELECT * FROM jobs WHERE ${where.join(' AND ')} ORDER BY finished_at DESC, id DESC LIMIT ?`)
    .all(...args, f.limit + 1) as JobRow[];
  const more = rows.length > f.limit;
  if (more) rows.length = f.limit;
  const last = rows[rows.length - 1];
  return { rows, next: more && last ? { finished_at: last.finished_at!, id: last.id } : null };
}

export function summarizeFailures(db: Db, since: number, until: number): { class: string; cause: string; count: number }[] {
  return db
    .prepare(
      `SELECT failure_class AS class, failure_cause AS cause, COUNT(*) AS count FROM jobs
       WHERE failure_class IS NOT NULL AND finished_at >= ? AND finished_at < ?
       GROUP BY failure_class, failure_cause ORDER BY count DESC, class, cause`,
    )
    .all(since, until) as { class: string; cause: string; count: number }[];
}
