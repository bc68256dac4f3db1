/** GET /api/v1/notifications: the record of webhook deliveries (what was sent, to whom, how it went). */
import { Router } from 'express';
import { z } from 'zod';
import { iso } from '../store/db.js';
import { NOTIFICATION_STATUSES, type NotificationRow, type NotificationStore } from '../store/notifications.js';
import { parse } from './errors.js';

export interface NotificationsApiDeps {
  notifications: NotificationStore;
}

const listQuery = z.object({
  pipeline_id: z
    .string()
    .regex(/^[1-9][0-9]{0,15}$/, 'must be a pipeline id')
    .transform(Number)
    .optional(),
  status: z.enum(NOTIFICATION_STATUSES).optional(),
  limit: z
    .string()
    .regex(/^[0-9]+$/, 'must be a non-negative integer')
    .transform(Number)
    .pipe(z.number().int().min(1).max(500))
    .default('100'),
});

export function notificationJson(n: NotificationRow) {
  return {
    id: n.id,
    target: n.target,
    event: n.event,
    pipeline_id: n.pipeline_id,
    job_id: n.job_id,
    status: n.status,
    attempts: n.attempts,
    last_error: n.last_error,
    last_status_code: n.last_status_code,
    next_attempt_at: n.status === 'pending' ? iso(n.next_attempt_at) : null,
    created_at: iso(n.created_at)!,
    delivered_at: iso(n.delivered_at),
    payload: JSON.parse(n.payload_json) as unknown,
  };
}

export function notificationsApi(d: NotificationsApiDeps): Router {
  const r = Router();
  r.get('/notifications', async (req, res) => {
    const q = parse(listQuery, req.query, 'query');
    res.json({ notifications: (await d.notifications.list(q)).map(notificationJson) });
  });
  return r;
}
