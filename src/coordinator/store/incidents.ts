/**
 * The `incidents` and `incident_jobs` tables (migration 4): infra incidents grouped by
 * (cause, target). At most one open incident per (cause, target), enforced by a partial
 * unique index, so a restart or a race never splits one outage into two.
 */
import type { Db } from './db.js';

export const INCIDENT_SCOPES = ['registry', 'runner', 'executor', 'global'] as const;
export type IncidentScope = (typeof INCIDENT_SCOPES)[number];

/** What ended an incident: a successful pull from the registry, or a successful job. */
export type ResolvingEvent =
  | { kind: 'image_pull'; at: string; job_id: number; registry: string; image: string }
  | { kind: 'job_success'; at: string; job_id: number; job_name: string; pipeline_id: number; runner_id: number | null };

export interface IncidentRow {
  id: number;
  cause: string;
  target: string;
  scope: IncidentScope;
  runner_id: number | null;
  opened_at: number;
  last_failure_at: number;
  job_count: number;
  resolved_at: number | null;
  resolved_by_json: string | null;
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

export class IncidentStore {
  private readonly s;
  constructor(private readonly db: Db) {
    this.s = {
      open: db.prepare('SELECT * FROM incidents WHERE resolved_at IS NULL ORDER BY opened_at, id'),
      openFor: db.prepare('SELECT * FROM incidents WHERE resolved_at IS NULL AND cause = ? AND target = ?'),
      get: db.prepare('SELECT * FROM incidents WHERE id = ?'),
      insert: db.prepare(
        `INSERT INTO incidents (cause, target, scope, runner_id, opened_at, last_failure_at, job_count)
         VALUES (@cause, @target, @scope, @runner_id, @at, @at, 0)`,
      ),
      addJob: db.prepare('INSERT OR IGNORE INTO incident_jobs (incident_id, job_id, at) VALUES (?, ?, ?)'),
      bump: db.prepare('UPDATE incidents SET job_count = job_count + 1, last_failure_at = MAX(last_failure_at, ?) WHERE id = ?'),
      resolve: db.prepare('UPDATE incidents SET resolved_at = ?, resolved_by_json = ? WHERE id = ? AND resolved_at IS NULL'),
      jobs: db.prepare(
        `SELECT ij.job_id, ij.at, j.name, j.pipeline_id, j.project, j.ref, j.status, j.failure_reason, j.failure_summary
         FROM incident_jobs ij LEFT JOIN jobs j ON j.id = ij.job_id
         WHERE ij.incident_id = ? ORDER BY ij.at, ij.job_id`,
      ),
      resolvedSince: db.prepare(
        'SELECT * FROM incidents WHERE resolved_at IS NOT NULL AND resolved_at >= ? AND resolved_at <= ? ORDER BY resolved_at',
      ),
    };
  }

  open(): IncidentRow[] {
    return this.s.open.all() as IncidentRow[];
  }
  get(id: number): IncidentRow | undefined {
    return this.s.get.get(id) as IncidentRow | undefined;
  }

  /**
   * Adds a failed job to the open incident of (cause, target), opening one if needed.
   * Returns the incident and whether it was opened now.
   */
  recordFailure(
    i: { cause: string; target: string; scope: IncidentScope; runner_id: number | null },
    jobId: number,
    at: number,
  ): { incident: IncidentRow; opened: boolean } {
    return this.db.transaction(() => {
      let row = this.s.openFor.get(i.cause, i.target) as IncidentRow | undefined;
      let opened = false;
      if (!row) {
        const id = Number(this.s.insert.run({ ...i, at }).lastInsertRowid);
        row = this.get(id)!;
        opened = true;
      }
      if (this.s.addJob.run(row.id, jobId, at).changes > 0) this.s.bump.run(at, row.id);
      return { incident: this.get(row.id)!, opened };
    })();
  }

  /** Marks an open incident resolved; false when it was already resolved. */
  resolve(id: number, at: number, by: ResolvingEvent): boolean {
    return this.s.resolve.run(at, JSON.stringify(by), id).changes > 0;
  }

  jobs(id: number): IncidentJobRow[] {
    return this.s.jobs.all(id) as IncidentJobRow[];
  }

  resolvedBetween(since: number, until: number): IncidentRow[] {
    return this.s.resolvedSince.all(since, until) as IncidentRow[];
  }

  /** Newest first; `state` filters open/resolved; `since` keeps incidents active at or after it. */
  list(q: { state?: 'open' | 'resolved'; since?: number; limit: number }): IncidentRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.state === 'open') where.push('resolved_at IS NULL');
    if (q.state === 'resolved') where.push('resolved_at IS NOT NULL');
    if (q.since !== undefined) {
      where.push('(resolved_at IS NULL OR resolved_at >= ?)');
      args.push(q.since);
    }
    const sql = `SELECT * FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY opened_at DESC, id DESC LIMIT ?`;
    return this.db.prepare(sql).all(...args, q.limit) as IncidentRow[];
  }
}
