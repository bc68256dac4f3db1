/**
 * Infra incidents and MTTR (Bearer token, like the rest of the user API):
 *   GET /api/v1/incidents?state=open|resolved&since=&limit= → {incidents: IncidentJson[]}
 *   GET /api/v1/incidents/:id → IncidentDetailJson (affected jobs, resolving event, timeline)
 *   GET /api/v1/mttr?since=&until= → MttrJson (default window: the last 7 days)
 */
import { Router } from 'express';
import { z } from 'zod';
import type { IncidentService } from '../services/incidents.js';
import type { MttrService } from '../services/mttr.js';
import { HttpError, idParam, parse } from './errors.js';
import { parseTime } from './time.js';

const listQuery = z
  .object({
    state: z.enum(['open', 'resolved']).optional(),
    since: z.string().optional(),
    limit: z
      .string()
      .regex(/^[0-9]{1,4}$/, 'must be an integer 1..1000')
      .transform(Number)
      .refine((n) => n >= 1 && n <= 1000, 'must be 1..1000')
      .optional(),
  })
  .strict();
const mttrQuery = z.object({ since: z.string().optional(), until: z.string().optional() }).strict();

export function incidentsApi(d: { incidents: IncidentService; mttr: MttrService }): Router {
  const r = Router();

  r.get('/incidents', (req, res) => {
    const q = parse(listQuery, req.query, 'query');
    res.json({ incidents: d.incidents.list({ state: q.state, since: parseTime(q.since, 'since'), limit: q.limit }) });
  });

  r.get('/incidents/:id', (req, res) => {
    const id = idParam(req.params.id);
    const inc = d.incidents.detail(id);
    if (!inc) throw new HttpError(404, `incident ${id} not found`);
    res.json(inc);
  });

  r.get('/mttr', (req, res) => {
    const q = parse(mttrQuery, req.query, 'query');
    const now = Date.now();
    const until = parseTime(q.until, 'until', now) ?? now;
    const since = parseTime(q.since, 'since', now) ?? until - 7 * 86_400_000;
    if (since > until) throw new HttpError(400, 'since must not be after until', [{ path: 'since', message: 'after until' }]);
    res.json(d.mttr.report(since, until));
  });

  return r;
}
