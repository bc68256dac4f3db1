/**
 * A tiny coordinator speaking the runner API (src/protocol/runner-api.ts), recording
 * what a runner sends: updates, trace chunks (with arrival times) and heartbeats.
 */
import express from 'express';
import type { Server } from 'node:http';
import type { JobPayload, JobUpdateRequest } from '../../src/protocol/runner-api.js';

export interface Recorded<T> {
  at: number;
  body: T;
}

export async function startFakeCoordinator() {
  const app = express();
  const queue: JobPayload[] = [];
  const waiting: Array<() => void> = [];
  const updates = new Map<number, Array<Recorded<JobUpdateRequest>>>();
  const traces = new Map<number, Buffer>();
  const chunks = new Map<number, Array<Recorded<string>>>();
  const cancel = new Set<number>();
  const heartbeats: Array<Recorded<number[]>> = [];
  const finals = new Map<number, (u: JobUpdateRequest) => void>();
  const finalP = new Map<number, Promise<JobUpdateRequest>>();
  let nextId = 1;
  /** Every request, with the port it arrived on (which listener of a pair served it). */
  const hits: Array<{ port: number; method: string; path: string }> = [];
  app.use((req, _res, next) => {
    hits.push({ port: req.socket.localPort ?? 0, method: req.method, path: req.path });
    next();
  });

  app.post('/api/v1/runners/register', express.json(), (req, res) => {
    res.status(201).json({ id: 7, token: `rt-${req.body.name}` });
  });
  app.post('/api/v1/runners/heartbeat', express.json(), (req, res) => {
    heartbeats.push({ at: Date.now(), body: req.body.running_job_ids });
    res.json({ cancel_job_ids: (req.body.running_job_ids as number[]).filter((id) => cancel.has(id)) });
  });
  app.post('/api/v1/jobs/request', express.json(), async (req, res) => {
    if (queue.length === 0)
      await new Promise<void>((r) => {
        const t = setTimeout(r, 500);
        waiting.push(() => (clearTimeout(t), r()));
      });
    if (req.socket.destroyed) return; // the runner is gone (a listener of a pair died): keep the job for the next poll
    const job = queue.shift();
    if (!job) return void res.status(204).end();
    res.status(201).json(job);
  });
  app.put('/api/v1/jobs/:id', express.json(), (req, res) => {
    const id = Number(req.params.id);
    const list = updates.get(id) ?? [];
    list.push({ at: Date.now(), body: req.body });
    updates.set(id, list);
    if (req.body.state !== 'running') finals.get(id)?.(req.body);
    res.json({ status: req.body.state, cancel_requested: cancel.has(id) });
  });
  app.patch('/api/v1/jobs/:id/trace', express.raw({ type: () => true, limit: '20mb' }), (req, res) => {
    const id = Number(req.params.id);
    const have = traces.get(id) ?? Buffer.alloc(0);
    const m = /^(\d+)-(\d+)$/.exec(req.get('content-range') ?? '');
    const body = req.body as Buffer;
    if (!m || Number(m[1]) !== have.length) return void res.status(416).json({ error: 'range', offset: have.length });
    traces.set(id, Buffer.concat([have, body]));
    const list = chunks.get(id) ?? [];
    list.push({ at: Date.now(), body: body.toString('utf8') });
    chunks.set(id, list);
    res.status(202).json({ offset: have.length + body.length });
  });

  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  return {
    url,
    heartbeats,
    hits,
    /** Queues a job (defaults filled in) and returns it. */
    addJob(over: Partial<JobPayload> = {}): JobPayload {
      const id = over.id ?? nextId++;
      const job: JobPayload = {
        id,
        token: `jt-${id}-secret-token`,
        pipeline_id: 1,
        name: `job-${id}`,
        stage: 'test',
        attempt: 1,
        image: null,
        before_script: [],
        script: ['echo hello'],
        after_script: [],
        variables: [],
        timeout_seconds: 60,
        after_script_timeout_seconds: 60,
        interruptible: false,
        cancel_grace_seconds: 2,
        repository: null,
        git: { strategy: 'none', depth: null },
        trace_context: null,
        trace_offset: 0,
        ...over,
      };
      finalP.set(id, new Promise((r) => finals.set(id, r)));
      queue.push(job);
      waiting.splice(0).forEach((w) => w());
      return job;
    },
    final: (id: number) => finalP.get(id)!,
    updates: (id: number) => updates.get(id) ?? [],
    trace: (id: number) => (traces.get(id) ?? Buffer.alloc(0)).toString('utf8'),
    chunks: (id: number) => chunks.get(id) ?? [],
    cancel: (id: number) => cancel.add(id),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
    /**
     * The same coordinator state on a second port: a fake of two coordinators on one database
     * (each accepts the other's tokens and sees the same jobs and traces). close() of either
     * kills only that listener.
     */
    async listenAgain(): Promise<{ url: string; close: () => Promise<void> }> {
      const second: Server = await new Promise((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      return {
        url: `http://127.0.0.1:${(second.address() as { port: number }).port}`,
        close: () =>
          new Promise<void>((r) => {
            second.closeAllConnections();
            second.close(() => r());
          }),
      };
    },
  };
}

export async function waitFor(pred: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
