/**
 * The `notifications` table (migration 5): one row per webhook delivery, written before
 * the first attempt and updated after each one, so what was sent (or not) is on record
 * and pending deliveries survive a restart.
 */
import type { Sql } from './engine.js';

export const NOTIFICATION_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

export interface NotificationRow {
  id: number;
  target: string;
  event: string;
  pipeline_id: number;
  job_id: number | null;
  payload_json: string;
  status: NotificationStatus;
  attempts: number;
  last_error: string | null;
  last_status_code: number | null;
  next_attempt_at: number | null;
  created_at: number;
  delivered_at: number | null;
}

export type NewNotification = Pick<NotificationRow, 'target' | 'event' | 'pipeline_id' | 'job_id' | 'payload_json' | 'created_at'>;

/** The outcome of one attempt. */
export interface AttemptRecord {
  status: NotificationStatus;
  error: string | null;
  status_code: number | null;
  /** Pending only: when to try again. */
  next_attempt_at: number | null;
  at: number;
}

export class NotificationStore {
  constructor(private readonly sql: Sql) {}

  async insert(n: NewNotification): Promise<number> {
    const row = await this.sql.get<{ id: number }>(
      `INSERT INTO notifications (target, event, pipeline_id, job_id, payload_json, status, attempts, next_attempt_at, created_at)
       VALUES (@target, @event, @pipeline_id, @job_id, @payload_json, 'pending', 0, @created_at, @created_at) RETURNING id`,
      { ...n },
    );
    return row!.id;
  }

  get(id: number): Promise<NotificationRow | undefined> {
    return this.sql.get<NotificationRow>('SELECT * FROM notifications WHERE id = ?', [id]);
  }

  /** Every pending delivery, soonest first (resumed at start). */
  pending(): Promise<NotificationRow[]> {
    return this.sql.all<NotificationRow>(`SELECT * FROM notifications WHERE status = 'pending' ORDER BY next_attempt_at, id`);
  }

  /** Counts one attempt and its outcome; false when the row was no longer pending (a delivery is never reopened). */
  async recordAttempt(id: number, a: AttemptRecord): Promise<boolean> {
    const r = await this.sql.run(
      `UPDATE notifications SET status = @status, attempts = attempts + 1, last_error = @error,
         last_status_code = @status_code, next_attempt_at = @next_attempt_at,
         delivered_at = CASE WHEN @status = 'delivered' THEN @at ELSE delivered_at END
       WHERE id = @id AND status = 'pending'`,
      { id, ...a },
    );
    return r.changes === 1;
  }

  /** Fails a pending delivery without an attempt (e.g. its target left the configuration). */
  async giveUp(id: number, reason: string): Promise<boolean> {
    const r = await this.sql.run(
      `UPDATE notifications SET status = 'failed', last_error = ?, next_attempt_at = NULL WHERE id = ? AND status = 'pending'`,
      [reason, id],
    );
    return r.changes === 1;
  }

  /** Newest first. */
  list(q: { pipeline_id?: number; status?: NotificationStatus; limit: number }): Promise<NotificationRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.pipeline_id !== undefined) {
      where.push('pipeline_id = ?');
      args.push(q.pipeline_id);
    }
    if (q.status !== undefined) {
      where.push('status = ?');
      args.push(q.status);
    }
    const sql = `SELECT * FROM notifications ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return this.sql.all<NotificationRow>(sql, [...args, q.limit]);
  }
}
