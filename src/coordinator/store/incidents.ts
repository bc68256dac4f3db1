/**
 * The `incidents` and `incident_jobs` tables (migrations 4, 10): infra incidents grouped by
 * (cause, dependency kind, dependency name = target). At most one unresolved incident per
 * key, enforced by a partial unique index, so a restart or a race never splits one outage.
 * States: pending (below the threshold) → open → acknowledged → resolved.
 */
import type { DependencyKind } from '../../classify/dependency.js';
import type { Sql } from './engine.js';

export type IncidentState = 'pending' | 'open' | 'acknowledged' | 'resolved';
export type ResolvedReason = 'evidence' | 'person' | 'runner_removed';

/** What ended an incident. */
export type ResolvingEvent =
  | { kind: 'image_pull'; at: string; job_id: number; registry: string; image: string }
  | { kind: 'job_success'; at: string; job_id: number; job_name: string; pipeline_id: number; runner_id: number | null }
  | { kind: 'sources_fetched'; at: string; job_id: number; job_name: string; pipeline_id: number; host: string }
  | { kind: 'person'; at: string; note: string }
  | { kind: 'runner_removed'; at: string; runner_id: number }
  /** A pending incident that never reached the threshold and saw no failure for a while. */
  | { kind: 'expired'; at: string };

export interface IncidentKeyRow {
  cause: string;
  dependency_kind: DependencyKind;
  target: string;
  runner_id: number | null;
}

export interface IncidentRow extends IncidentKeyRow {
  id: number;
  /** The legacy scope column, kept equal to dependency_kind for new rows. */
  scope: string;
  state: IncidentState;
  first_failure_at: number;
  last_failure_at: number;
  opened_at: number | null;
  acknowledged_at: number | null;
  job_count: number;
  resolved_at: number | null;
  resolved_reason: ResolvedReason | null;
  resolved_by_json: string | null;
  note: string | null;
}

export interface IncidentJobRow {
  job_id: number;
  at: number;
  name: string | null;
  pipeline_id: number | null;
  project: string | null;
  ref: string | null;
  status: string | null;
  failure_reason: string | null;
  failure_summary: string | null;
}

export type IncidentListState = 'open' | 'acknowledged' | 'resolved' | 'pending' | 'all';

export class IncidentStore {
  constructor(private readonly sql: Sql) {}

  /** Pending, open and acknowledged incidents. */
  unresolved(): Promise<IncidentRow[]> {
    return this.sql.all<IncidentRow>('SELECT * FROM incidents WHERE resolved_at IS NULL ORDER BY first_failure_at, id');
  }
  get(id: number): Promise<IncidentRow | undefined> {
    return this.sql.get<IncidentRow>('SELECT * FROM incidents WHERE id = ?', [id]);
  }

  /** Adds a failed job to the unresolved incident of the key, creating a pending one if needed (one transaction). */
  recordFailure(k: IncidentKeyRow, jobId: number, at: number): Promise<IncidentRow> {
    return this.sql.tx(async () => {
      let row = await this.sql.get<IncidentRow>(
        'SELECT * FROM incidents WHERE resolved_at IS NULL AND cause = ? AND dependency_kind = ? AND target = ?',
        [k.cause, k.dependency_kind, k.target],
      );
      if (!row) {
        // The partial unique index keeps one unresolved incident per key: a racing insert (another
        // coordinator) does nothing here and the row it made is read back.
        await this.sql.run(
          `INSERT INTO incidents (cause, target, scope, dependency_kind, runner_id, state, first_failure_at, last_failure_at, job_count)
           VALUES (@cause, @target, @dependency_kind, @dependency_kind, @runner_id, 'pending', @at, @at, 0)
           ON CONFLICT DO NOTHING`,
          { cause: k.cause, target: k.target, dependency_kind: k.dependency_kind, runner_id: k.runner_id, at },
        );
        row = (await this.sql.get<IncidentRow>(
          'SELECT * FROM incidents WHERE resolved_at IS NULL AND cause = ? AND dependency_kind = ? AND target = ?',
          [k.cause, k.dependency_kind, k.target],
        ))!;
      }
      const added = await this.sql.run('INSERT INTO incident_jobs (incident_id, job_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING', [
        row.id,
        jobId,
        at,
      ]);
      if (added.changes > 0)
        await this.sql.run(
          `UPDATE incidents SET job_count = job_count + 1,
             last_failure_at = CASE WHEN last_failure_at > ? THEN last_failure_at ELSE ? END,
             first_failure_at = CASE WHEN first_failure_at < ? THEN first_failure_at ELSE ? END WHERE id = ?`,
          [at, at, at, at, row.id],
        );
      return (await this.get(row.id))!;
    });
  }

  /** pending → open; false when it was not pending. */
  async markOpen(id: number, at: number): Promise<boolean> {
    return (
      (await this.sql.run(`UPDATE incidents SET state = 'open', opened_at = ? WHERE id = ? AND state = 'pending'`, [at, id])).changes > 0
    );
  }
  /** open → acknowledged; false when it was not open. */
  async acknowledge(id: number, at: number, note: string | null): Promise<boolean> {
    const r = await this.sql.run(
      `UPDATE incidents SET state = 'acknowledged', acknowledged_at = ?, note = COALESCE(?, note) WHERE id = ? AND state = 'open'`,
      [at, note, id],
    );
    return r.changes > 0;
  }
  /** Marks an unresolved incident resolved; false when it was already resolved. */
  async resolve(id: number, at: number, reason: ResolvedReason | null, by: ResolvingEvent, note: string | null = null): Promise<boolean> {
    const r = await this.sql.run(
      `UPDATE incidents SET state = 'resolved', resolved_at = ?, resolved_reason = ?, resolved_by_json = ?, note = COALESCE(?, note)
       WHERE id = ? AND resolved_at IS NULL`,
      [at, reason, JSON.stringify(by), note, id],
    );
    return r.changes > 0;
  }

  jobs(id: number): Promise<IncidentJobRow[]> {
    return this.sql.all<IncidentJobRow>(
      `SELECT ij.job_id, ij.at, j.name, j.pipeline_id, j.project, j.ref, j.status, j.failure_reason, j.failure_summary
       FROM incident_jobs ij LEFT JOIN jobs j ON j.id = ij.job_id
       WHERE ij.incident_id = ? ORDER BY ij.at, ij.job_id`,
      [id],
    );
  }
  /** (project, job name) pairs that failed in the incident. */
  jobKeys(id: number): Promise<Array<{ project: string; name: string }>> {
    return this.sql.all(
      `SELECT DISTINCT j.project, j.name FROM incident_jobs ij JOIN jobs j ON j.id = ij.job_id WHERE ij.incident_id = ?`,
      [id],
    );
  }

  /** Incidents that were open (crossed the threshold) and resolved in [since, until]. */
  resolvedBetween(since: number, until: number): Promise<IncidentRow[]> {
    return this.sql.all<IncidentRow>(
      `SELECT * FROM incidents WHERE resolved_at IS NOT NULL AND opened_at IS NOT NULL AND resolved_at >= ? AND resolved_at <= ?
       ORDER BY resolved_at`,
      [since, until],
    );
  }

  /**
   * Newest first. By default every incident that opened (a pending one that never crossed the
   * threshold is a failure, not an incident); `all` adds those. `since` keeps incidents
   * active at or after it.
   */
  list(q: { state?: IncidentListState; since?: number; limit: number }): Promise<IncidentRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const state = q.state;
    if (state === undefined) where.push('opened_at IS NOT NULL');
    else if (state === 'resolved') where.push(`state = 'resolved' AND opened_at IS NOT NULL`);
    else if (state !== 'all') {
      where.push('state = ?');
      args.push(state);
    }
    if (q.since !== undefined) {
      where.push('(resolved_at IS NULL OR resolved_at >= ?)');
      args.push(q.since);
    }
    const sql = `SELECT * FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY COALESCE(opened_at, first_failure_at) DESC, id DESC LIMIT ?`;
    return this.sql.all<IncidentRow>(sql, [...args, q.limit]);
  }
}
