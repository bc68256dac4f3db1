/**
 * GET /api/v1/events: server-sent events for the UI, fed by the coordinator's event bus.
 * Events are named pipeline | job | incident | runner; data is small JSON ({id, status|state, …})
 * telling the UI what to refetch, never whole objects (a 30,000-job pipeline stays cheap).
 *
 * The API token comes as `Authorization: Bearer` or `?token=` (EventSource cannot set
 * headers). A client that does not read is dropped once its unsent bytes pass a bound, so
 * a slow client never grows the coordinator's memory; close() ends every stream so
 * shutdown is not held up by open connections.
 */
import { Router, type Response } from 'express';
import type { CoordinatorEventMap, CoordinatorEvents } from '../events.js';
import type { Store } from '../store/index.js';
import { HttpError } from './errors.js';

export interface LiveEventsOptions {
  /** Comment line sent this often so proxies and the browser keep the stream (default 15 s). */
  heartbeatMs?: number;
  /** Unsent bytes a client may hold before it is dropped (default 256 KiB). */
  maxBufferedBytes?: number;
}

type Name = 'pipeline' | 'job' | 'incident' | 'runner';

export class LiveEvents {
  private readonly clients = new Set<Response>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly maxBuffered: number;
  private readonly unsubscribe: () => void;
  /** Clients dropped for not reading (for tests and logs). */
  dropped = 0;

  constructor(
    private readonly events: CoordinatorEvents,
    o: LiveEventsOptions = {},
  ) {
    this.maxBuffered = o.maxBufferedBytes ?? 256 * 1024;
    this.heartbeat = setInterval(() => this.writeAll(': ping\n\n'), o.heartbeatMs ?? 15_000);
    this.heartbeat.unref();
    const on = <K extends keyof CoordinatorEventMap>(k: K, f: (...a: CoordinatorEventMap[K]) => void) => {
      events.on(k, f as never);
      return () => events.off(k, f as never);
    };
    const offs = [
      on('job_transition', (e) =>
        this.send('job', {
          id: e.job_id,
          pipeline_id: e.pipeline_id,
          name: e.name,
          status: e.to,
          from: e.from,
          attempt: e.attempt,
          at: e.at,
        }),
      ),
      on('job_finished', ({ job }) =>
        this.send('job', {
          id: job.id,
          pipeline_id: job.pipeline_id,
          name: job.name,
          status: job.status,
          failure_class: job.failure?.class ?? null,
          classified: true,
          at: job.finished_at,
        }),
      ),
      on('pipeline_changed', (e) =>
        this.send('pipeline', { id: e.pipeline_id, status: e.status, failure_class: e.failure_class, at: e.at }),
      ),
      on('incident_changed', (e) =>
        this.send('incident', { id: e.incident_id, state: e.state, cause: e.cause, target: e.target, at: e.at }),
      ),
      on('runner_state', (e) => this.send('runner', { id: e.runner_id, name: e.name, state: e.state, at: e.at })),
      on('runner_removed', (e) => this.send('runner', { id: e.runner_id, name: e.name, state: 'removed', reason: e.reason, at: e.at })),
    ];
    this.unsubscribe = () => offs.forEach((f) => f());
  }

  get size(): number {
    return this.clients.size;
  }

  router(store: Store): Router {
    const r = Router();
    r.get('/events', async (req, res) => {
      const header = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
      const token = header ?? (typeof req.query.token === 'string' ? req.query.token : undefined);
      if (!token) throw new HttpError(401, 'missing API token: "Authorization: Bearer <api token>" header or ?token=');
      if (!(await store.apiTokens.isValid(token))) throw new HttpError(401, 'invalid API token');
      res.status(200).set({
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no', // a proxy must not hold events back
        connection: 'keep-alive',
      });
      res.flushHeaders();
      req.socket.setNoDelay(true);
      this.clients.add(res);
      res.on('close', () => this.clients.delete(res));
      // The browser reconnects after 3 s; the first comment tells it the stream is live.
      this.write(res, 'retry: 3000\n: connected\n\n');
    });
    return r;
  }

  send(name: Name, data: Record<string, unknown>): void {
    if (this.clients.size) this.writeAll(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private writeAll(chunk: string): void {
    for (const c of this.clients) this.write(c, chunk);
  }

  private write(res: Response, chunk: string): void {
    if (res.writableLength + chunk.length > this.maxBuffered) {
      // Not reading: drop it rather than queue without bound (EventSource reconnects and refetches).
      this.clients.delete(res);
      this.dropped++;
      res.destroy();
      return;
    }
    res.write(chunk);
  }

  /** Ends every stream and stops listening (coordinator shutdown). */
  close(): void {
    clearInterval(this.heartbeat);
    this.unsubscribe();
    for (const c of this.clients) c.end();
    this.clients.clear();
  }
}
