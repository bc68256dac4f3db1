/**
 * GET /api/v1/overview: the operators' home in one answer —
 *   infra_ratio: { now (last hour, null without finished jobs), last_24h: hourly {t, infra, build, total} },
 *   incidents_open: [{ id, cause, dependency: {kind, name}, state, failure_count, opened_at }],
 *   runners_by_state: { online, offline, stale },
 *   fallback_decided: { count (last 24 h), recent: failures no rule decided }.
 */
import { Router } from 'express';
import type { IncidentService } from '../services/incidents.js';
import { iso } from '../store/db.js';
import { failureRatioBuckets, fallbackDecided } from '../store/failures.js';
import type { Store } from '../store/index.js';

const HOUR = 3_600_000;
/** A runner not seen for this long is stale (GitLab's default for cleaning runners). */
export const STALE_AFTER_MS = 7 * 24 * HOUR;

export function runnerState(r: { state: string; last_heartbeat_at: number | null }, now: number, heartbeatTimeoutMs: number) {
  const seen = r.last_heartbeat_at;
  if (seen !== null && now - seen > STALE_AFTER_MS) return 'stale';
  return r.state === 'online' && seen !== null && now - seen <= heartbeatTimeoutMs ? 'online' : 'offline';
}

export function overviewApi(d: { store: Store; incidents: IncidentService; heartbeatTimeoutMs: number }): Router {
  const r = Router();
  r.get('/overview', async (_req, res) => {
    const now = Date.now();
    // Whole hours, so a bucket does not shift while the page watches it.
    const until = Math.floor(now / HOUR) * HOUR + HOUR;
    const buckets = await failureRatioBuckets(d.store.sql, until - 24 * HOUR, until, HOUR);
    const [lastHour] = await failureRatioBuckets(d.store.sql, now - HOUR, now + 1, HOUR + 1);
    const byState = { online: 0, offline: 0, stale: 0 };
    for (const x of await d.store.runners.all()) byState[runnerState(x, now, d.heartbeatTimeoutMs)]++;
    const fb = await fallbackDecided(d.store.sql, now - 24 * HOUR, 20);
    res.json({
      infra_ratio: {
        now: lastHour && lastHour.total ? lastHour.infra / lastHour.total : null,
        last_24h: buckets.map((b) => ({ t: iso(b.t)!, infra: b.infra, build: b.build, total: b.total })),
      },
      incidents_open: (await d.incidents.list({ state: 'open', limit: 100 })).map((i) => ({
        id: i.id,
        cause: i.cause,
        dependency: i.dependency,
        state: i.state,
        failure_count: i.failure_count,
        opened_at: i.opened_at,
      })),
      runners_by_state: byState,
      fallback_decided: {
        count: fb.count,
        recent: fb.rows.map((j) => ({
          job_id: j.id,
          pipeline_id: j.pipeline_id,
          name: j.name,
          ref: j.ref,
          class: j.failure_class,
          cause: j.failure_cause,
          reason: j.failure_reason,
          finished_at: iso(j.finished_at),
        })),
      },
    });
  });
  return r;
}
