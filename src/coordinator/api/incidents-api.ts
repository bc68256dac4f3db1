/**
 * Infra incidents and MTTR (Bearer token, like the rest of the user API):
 *   GET  /api/v1/incidents?state=open|acknowledged|resolved|pending|all&since=&limit= → {incidents: IncidentJson[]}
 *        (no state: every incident that opened; pending ones are failures, not incidents yet)
 *   GET  /api/v1/incidents/widespread → {lines: WidespreadLineJson[]} (errors no rule knows, failing many jobs)
 *   GET  /api/v1/incidents/:id → IncidentDetailJson (affected jobs, resolving event, timeline)
 *   POST /api/v1/incidents/:id/ack {note?} → IncidentJson (open → acknowledged)
 *   POST /api/v1/incidents/:id/resolve {note} → IncidentJson (resolved by a person)
 *   GET  /api/v1/mttr?since=&until= → MttrJson (default window: the last 7 days)
 */
import express, { Router } from 'express';
import { z } from 'zod';
import { HttpishError, type IncidentService } from '../services/incidents.js';
import type { MttrService } from '../services/mttr.js';
import type { WidespreadService } from '../services/widespread.js';
import { HttpError, idParam, parse } from './errors.js';
import { parseTime } from './time.js';

const listQuery = z
  .object({
    state: z.enum(['open', 'acknowledged', 'resolved', 'pending', 'all']).optional(),
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
const ackBody = z.object({ note: z.string().max(4000).optional() }).strict();
const resolveBody = z.object({ note: z.string().trim().min(1, 'a note saying why is required').max(4000) }).strict();

export function incidentsApi(d: { incidents: IncidentService; mttr: MttrService; widespread: WidespreadService }): Router {
  const r = Router();
  r.use(express.json({ limit: '64kb' }));
  const act = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f();
    } catch (err) {
      if (err instanceof HttpishError) throw new HttpError(err.status, err.message);
      throw err;
    }
  };

  r.get('/incidents', async (req, res) => {
    const q = parse(listQuery, req.query, 'query');
    res.json({ incidents: await d.incidents.list({ state: q.state, since: parseTime(q.since, 'since'), limit: q.limit }) });
  });

  r.get('/incidents/widespread', async (_req, res) => {
    res.json({
      lines: await d.widespread.list(),
      min_jobs: d.widespread.options.minJobs,
      window_seconds: d.widespread.options.windowMs / 1000,
    });
  });

  r.get('/incidents/:id', async (req, res) => {
    const id = idParam(req.params.id);
    const inc = await d.incidents.detail(id);
    if (!inc) throw new HttpError(404, `incident ${id} not found`);
    res.json(inc);
  });

  r.post('/incidents/:id/ack', async (req, res) => {
    const id = idParam(req.params.id);
    const b = parse(ackBody, req.body ?? {});
    res.json(await act(() => d.incidents.acknowledge(id, b.note?.trim() || null)));
  });

  r.post('/incidents/:id/resolve', async (req, res) => {
    const id = idParam(req.params.id);
    const b = parse(resolveBody, req.body ?? {});
    res.json(await act(() => d.incidents.resolveByPerson(id, b.note)));
  });

  r.get('/mttr', async (req, res) => {
    const q = parse(mttrQuery, req.query, 'query');
    const now = Date.now();
    const until = parseTime(q.until, 'until', now) ?? now;
    const since = parseTime(q.since, 'since', now) ?? until - 7 * 86_400_000;
    if (since > until) throw new HttpError(400, 'since must not be after until', [{ path: 'since', message: 'after until' }]);
    res.json(await d.mttr.report(since, until));
  });

  return r;
}
