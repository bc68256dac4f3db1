/** Queries behind GET /api/v1/failures and /failures/summary (keyset paging on finished_at, id). */
import { inList, type Sql } from './engine.js';
import type { JobRow } from './jobs.js';

export interface FailureFilter {
  class?: string;
  reason?: string;
  cause?: string;
  ref?: string;
  job?: string;
  runner?: number;
  image?: string;
  /** Any of these executors / registries / runner names (the dashboards' label values). */
  executor?: string[];
  registry?: string[];
  runnerName?: string[];
  since?: number;
  until?: number;
  limit: number;
  /** Exclusive keyset position: rows strictly older than this. */
  before?: { finished_at: number; id: number };
}

export async function listFailures(
  sql: Sql,
  f: FailureFilter,
): Promise<{ rows: JobRow[]; next: { finished_at: number; id: number } | null }> {
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
  const anyOf = (sql: string, vs: string[] | undefined) => {
    if (vs?.length) {
      where.push(sql.replace('?', inList(vs)));
      args.push(...vs);
    }
  };
  anyOf('failure_executor IN (?)', f.executor);
  anyOf('failure_registry IN (?)', f.registry);
  // Removed runners have no row any more: their failures no longer match a name.
  anyOf('runner_id IN (SELECT id FROM runners WHERE name IN (?))', f.runnerName);
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
  const rows = await sql.all<JobRow>(`SELECT * FROM jobs WHERE ${where.join(' AND ')} ORDER BY finished_at DESC, id DESC LIMIT ?`, [
    ...args,
    f.limit + 1,
  ]);
  const more = rows.length > f.limit;
  if (more) rows.length = f.limit;
  const last = rows[rows.length - 1];
  return { rows, next: more && last ? { finished_at: last.finished_at!, id: last.id } : null };
}

/** NULLS FIRST: an unknown cause sorts before named ones on both engines (PostgreSQL would put it last). */
export function summarizeFailures(sql: Sql, since: number, until: number): Promise<{ class: string; cause: string; count: number }[]> {
  return sql.all(
    `SELECT failure_class AS class, failure_cause AS cause, COUNT(*) AS count FROM jobs
     WHERE failure_class IS NOT NULL AND finished_at >= ? AND finished_at < ?
     GROUP BY failure_class, failure_cause ORDER BY count DESC, class, cause NULLS FIRST`,
    [since, until],
  );
}

/**
 * Finished jobs (passed or failed) per time bucket, with the infra and build failures among
 * them: the infra failure ratio of the overview. Buckets start at `since` and are `bucketMs` wide.
 */
export async function failureRatioBuckets(
  sql: Sql,
  since: number,
  until: number,
  bucketMs: number,
): Promise<{ t: number; infra: number; build: number; total: number }[]> {
  // CAST: better-sqlite3 binds JS numbers as REAL, so the division alone gives a fraction on SQLite
  // (integer division on PostgreSQL). CASE, not SUM(boolean), for PostgreSQL.
  const rows = await sql.all<{ b: number; infra: number; build: number; total: number }>(
    `SELECT CAST((finished_at - @since) / @w AS INTEGER) AS b,
            SUM(CASE WHEN failure_class = 'infra' THEN 1 ELSE 0 END) AS infra,
            SUM(CASE WHEN failure_class = 'build' THEN 1 ELSE 0 END) AS build, COUNT(*) AS total
     FROM jobs WHERE status IN ('success', 'failed') AND finished_at >= @since AND finished_at < @until
     GROUP BY CAST((finished_at - @since) / @w AS INTEGER)`,
    { since, until, w: Math.floor(bucketMs) },
  );
  const n = Math.ceil((until - since) / bucketMs);
  const out = Array.from({ length: n }, (_, i) => ({ t: since + i * bucketMs, infra: 0, build: 0, total: 0 }));
  for (const r of rows) if (out[r.b]) Object.assign(out[r.b]!, { infra: r.infra ?? 0, build: r.build ?? 0, total: r.total });
  return out;
}

/** Failures since `since` that no rule decided (the fallback by reason did): where rules are missing. */
export async function fallbackDecided(sql: Sql, since: number, limit: number): Promise<{ count: number; rows: JobRow[] }> {
  const c = await sql.get<{ count: number }>(`SELECT COUNT(*) AS count FROM jobs WHERE failure_fallback = 1 AND finished_at >= ?`, [since]);
  const rows = await sql.all<JobRow>(
    `SELECT * FROM jobs WHERE failure_fallback = 1 AND finished_at >= ? ORDER BY finished_at DESC, id DESC LIMIT ?`,
    [since, limit],
  );
  return { count: c?.count ?? 0, rows };
}

/** Failed jobs per pipeline by class (latest attempts only), for "3 infra · 1 build" in lists. */
export async function failureCountsByPipeline(sql: Sql, pipelineIds: number[]): Promise<Map<number, Record<string, number>>> {
  const out = new Map<number, Record<string, number>>();
  if (!pipelineIds.length) return out;
  const rows = await sql.all<{ pipeline_id: number; class: string; n: number }>(
    `SELECT pipeline_id, failure_class AS class, COUNT(*) AS n FROM jobs j
     WHERE pipeline_id IN (${inList(pipelineIds)}) AND failure_class IS NOT NULL AND status = 'failed'
       AND attempt = (SELECT MAX(attempt) FROM jobs k WHERE k.pipeline_id = j.pipeline_id AND k.name = j.name)
     GROUP BY pipeline_id, failure_class`,
    pipelineIds,
  );
  for (const r of rows) {
    const m = out.get(r.pipeline_id) ?? {};
    m[r.class] = r.n;
    out.set(r.pipeline_id, m);
  }
  return out;
}
