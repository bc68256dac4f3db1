/**
 * The `incidents` and `incident_jobs` tables (migrations 4, 10): infra incidents grouped by
 * (cause, dependency kind, dependency name = target). At most one unresolved incident per
 * key, enforced by a partial unique index, so a restart or a race never splits one outage.
 * States: pending (below the threshold) → open → acknowledged → resolved.
 */
import type { DependencyKind } from '../../classify/dependency.js';
import type { Db } from './db.js';

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
  private readonly s;
  constructor(private readonly db: Db) {
    this.s = {
      unresolved: db.prepare('SELECT * FROM incidents WHERE resolved_at IS NULL ORDER BY first_failure_at, id'),
      unresolvedFor: db.prepare('SELECT * FROM incidents WHERE resolved_at IS NULL AND cause = ? AND dependency_kind = ? AND target = ?'),
      get: db.prepare('SELECT * FROM incidents WHERE id = ?'),
      insert: db.prepare(
        `INSERT INTO incidents (cause, target, scope, dependency_kind, runner_id, state, first_failure_at, last_failure_at, job_count)
         VALUES (@cause, @target, @dependency_kind, @dependency_kind, @runner_id, 'pending', @at, @at, 0)`,
      ),
      addJob: db.prepare('INSERT OR IGNORE INTO incident_jobs (incident_id, job_id, at) VALUES (?, ?, ?)'),
      bump: db.prepare(
        `UPDATE incidents SET job_count = job_count + 1, last_failure_at = MAX(last_failure_at, ?),
           first_failure_at = MIN(first_failure_at, ?) WHERE id = ?`,
      ),
      open: db.prepare(`UPDATE incidents SET state = 'open', opened_at = ? WHERE id = ? AND state = 'pending'`),
      ack: db.prepare(
        `UPDATE incidents SET state = 'acknowledged', acknowledged_at = ?, note = COALESCE(?, note) WHERE id = ? AND state = 'open'`,
      ),
      resolve: db.prepare(
        `UPDATE incidents SET state = 'resolved', resolved_at = ?, resolved_reason = ?, resolved_by_json = ?, note = COALESCE(?, note)
         WHERE id = ? AND resolved_at IS NULL`,
      ),
      jobs: db.prepare(
        `SELECT ij.job_id, ij.at, j.name, j.pipeline_id, j.project, j.ref, j.status, j.failure_reason, j.failure_summary
         FROM incident_jobs ij LEFT JOIN jobs j ON j.id = ij.job_id
         WHERE ij.incident_id = ? ORDER BY ij.at, ij.job_id`,
      ),
      jobKeys: db.prepare(
        `SELECT DISTINCT j.project, j.name FROM incident_jobs ij JOIN jobs j ON j.id = ij.job_id WHERE ij.incident_id = ?`,
      ),
      resolvedSince: db.prepare(
        `SELECT * FROM incidents WHERE resolved_at IS NOT NULL AND opened_at IS NOT NULL AND resolved_at >= ? AND resolved_at <= ?
         ORDER BY resolved_at`,
      ),
    };
  }

  /** Pending, open and acknowledged incidents. */
  unresolved(): IncidentRow[] {
    return this.s.unresolved.all() as IncidentRow[];
  }
  get(id: number): IncidentRow | undefined {
    return this.s.get.get(id) as IncidentRow | undefined;
  }

  /** Adds a failed job to the unresolved incident of the key, creating a pending one if needed. */
  recordFailure(k: IncidentKeyRow, jobId: number, at: number): IncidentRow {
    return this.db.transaction(() => {
      let row = this.s.unresolvedFor.get(k.cause, k.dependency_kind, k.target) as IncidentRow | undefined;
      if (!row) row = this.get(Number(this.s.insert.run({ ...k, at }).lastInsertRowid))!;
      if (this.s.addJob.run(row.id, jobId, at).changes > 0) this.s.bump.run(at, at, row.id);
      return this.get(row.id)!;
    })();
  }

  /** pending → open; false when it was not pending. */
  markOpen(id: number, at: number): boolean {
    return this.s.open.run(at, id).changes > 0;
  }
  /** open → acknowledged; false when it was not open. */
  acknowledge(id: number, at: number, note: string | null): boolean {
    return this.s.ack.run(at, note, id).changes > 0;
  }
  /** Marks an unresolved incident resolved; false when it was already resolved. */
  resolve(id: number, at: number, reason: ResolvedReason | null, by: ResolvingEvent, note: string | null = null): boolean {
    return this.s.resolve.run(at, reason, JSON.stringify(by), note, id).changes > 0;
  }

  jobs(id: number): IncidentJobRow[] {
    return this.s.jobs.all(id) as IncidentJobRow[];
  }
  /** (project, job name) pairs that failed in the incident. */
  jobKeys(id: number): Array<{ project: string; name: string }> {
    return this.s.jobKeys.all(id) as Array<{ project: string; name: string }>;
  }

  /** Incidents that were open (crossed the threshold) and resolved in [since, until]. */
  resolvedBetween(since: number, until: number): IncidentRow[] {
    return this.s.resolvedSince.all(since, until) as IncidentRow[];
  }

  /**
   * Newest first. By default every incident that opened (a pending one that never crossed the
   * threshold is a failure, not an incident); `all` adds those. `since` keeps incidents
   * active at or after it.
   */
  list(q: { state?: IncidentListState; since?: number; limit: number }): IncidentRow[] {
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
    return this.db.prepare(sql).all(...args, q.limit) as IncidentRow[];
  }
}
