/**
 * GET /api/v1/events over real HTTP on the real coordinator: a job transition driven through
 * the runner API reaches a connected client before a 1 s deadline; the token is checked; a
 * client that does not read is dropped at its byte bound; heartbeats flow; shutdown ends the
 * streams cleanly instead of cutting them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createCoordinator, type Coordinator } from '../../src/coordinator/index.js';
import type { JobPayload } from '../../src/protocol/runner-api.js';
import { tempDir } from '../helpers/tmp.js';

interface SseEvent {
  event: string;
  data: string;
  comment?: string;
}

/** An EventSource-like reader over fetch: parsed events in arrival order. */
async function openStream(url: string, signal: AbortSignal) {
  const res = await fetch(url, { signal });
  const events: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let ended: 'done' | Error | null = null;
  const done = (async () => {
    if (!res.body) return;
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev: SseEvent = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) ev.comment = line.slice(1).trim();
            else if (line.startsWith('event: ')) ev.event = line.slice(7);
            else if (line.startsWith('data: ')) ev.data += line.slice(6);
          }
          events.push(ev);
          for (const w of waiters) w();
        }
      }
      ended = 'done';
    } catch (err) {
      ended = err as Error;
    }
    for (const w of waiters) w();
  })();
  /** Resolves with the first event matching `pred`; rejects at the deadline. */
  const next = (pred: (e: SseEvent) => boolean, ms: number, what: string) =>
    new Promise<SseEvent>((resolve, reject) => {
      const check = () => {
        const hit = events.find(pred);
        if (hit) {
          cleanup();
          resolve(hit);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${what}: nothing within ${ms} ms; got ${JSON.stringify(events.slice(-5))}`));
      }, ms);
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return { res, events, next, done, ended: () => ended };
}

describe('live events (GET /api/v1/events, real HTTP)', () => {
  let coord: Coordinator;
  let dir: ReturnType<typeof tempDir>;
  const ctl = new AbortController();
  const auth = () => ({ 'content-type': 'application/json', authorization: `Bearer ${coord.apiToken}` });

  before(async () => {
    dir = tempDir('faultline-sse-');
    coord = await createCoordinator({ dataDir: dir.path, port: 0, liveEvents: { heartbeatMs: 100, maxBufferedBytes: 64 * 1024 } });
  });
  after(async () => {
    ctl.abort();
    await coord.close();
    dir.dispose();
  });

  test('refuses a missing or wrong token with 401', async () => {
    const none = await fetch(`${coord.url}/api/v1/events`);
    assert.equal(none.status, 401);
    const wrong = await fetch(`${coord.url}/api/v1/events?token=nope`);
    assert.equal(wrong.status, 401);
    assert.match(((await wrong.json()) as { error: string }).error, /invalid API token/);
  });

  test('a job transition over the runner API reaches the client before a 1 s deadline', async () => {
    const s = await openStream(`${coord.url}/api/v1/events?token=${encodeURIComponent(coord.apiToken)}`, ctl.signal);
    assert.equal(s.res.status, 200);
    assert.match(s.res.headers.get('content-type') ?? '', /^text\/event-stream/);
    await s.next((e) => e.comment === 'connected', 1000, 'stream open');

    const reg = await fetch(`${coord.url}/api/v1/runners/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        registration_token: coord.registrationToken,
        name: 'sse',
        tags: [],
        run_untagged: true,
        executor: 'shell',
        concurrency: 1,
      }),
    });
    const { token } = (await reg.json()) as { token: string };
    const created = await fetch(`${coord.url}/api/v1/pipelines`, {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({ yaml: 'build:\n  script: [make]\n', ref: 'main' }),
    });
    assert.equal(created.status, 201);
    const pid = ((await created.json()) as { id: number }).id;
    const take = await fetch(`${coord.url}/api/v1/jobs/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'runner-token': token },
      body: JSON.stringify({ capacity: 1 }),
    });
    const job = (await take.json()) as JobPayload;

    const sent = Date.now();
    const put = await fetch(`${coord.url}/api/v1/jobs/${job.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'job-token': job.token },
      body: JSON.stringify({ state: 'running' }),
    });
    assert.equal(put.status, 200);
    const isRunning = (e: SseEvent) => e.event === 'job' && JSON.parse(e.data).id === job.id && JSON.parse(e.data).status === 'running';
    const ev = await s.next(isRunning, Math.max(1, 1000 - (Date.now() - sent)), 'job running event');
    assert.equal(JSON.parse(ev.data).pipeline_id, pid);
    // The pipeline's own change comes too, as a pipeline event.
    await s.next(
      (e) => e.event === 'pipeline' && JSON.parse(e.data).id === pid && JSON.parse(e.data).status === 'running',
      1000,
      'pipeline',
    );
    // Heartbeats keep an idle stream alive.
    const pings = s.events.filter((e) => e.comment === 'ping').length;
    await s.next(() => s.events.filter((e) => e.comment === 'ping').length > pings, 1000, 'heartbeat');
  });

  test('a client that does not read is dropped at its byte bound, the others keep their stream', async () => {
    const reader = await openStream(`${coord.url}/api/v1/events?token=${encodeURIComponent(coord.apiToken)}`, ctl.signal);
    await reader.next((e) => e.comment === 'connected', 1000, 'reader open');
    // A raw client that sends the request and then never reads a byte.
    const sock = connect(new URL(coord.url).port ? Number(new URL(coord.url).port) : 80, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.pause();
    sock.write(`GET /api/v1/events?token=${encodeURIComponent(coord.apiToken)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    const before = coord.live.size;
    await waitUntil(() => coord.live.size > before, 1000, 'slow client connected');
    const droppedBefore = coord.live.dropped;
    // Flood through the real bus until the kernel buffers are full and the bound is hit.
    const name = 'x'.repeat(4000);
    for (let i = 0; i < 20_000 && coord.live.dropped === droppedBefore; i++) {
      coord.events.safeEmit('runner_state', { runner_id: i, name, state: 'online', at: new Date().toISOString() });
      if (i % 8 === 0) await new Promise((r) => setImmediate(r)); // small bursts: readers keep up
    }
    assert.equal(coord.live.dropped, droppedBefore + 1, 'the slow client was dropped');
    assert.equal(coord.live.size, before, 'only the slow client went');
    sock.destroy();
    // The reading client still gets events after the flood.
    coord.events.safeEmit('runner_state', { runner_id: -1, name: 'after', state: 'offline', at: new Date().toISOString() });
    await reader.next((e) => e.event === 'runner' && JSON.parse(e.data).name === 'after', 5000, 'event after the flood');
  });

  test('shutdown ends open streams cleanly (the server does not wait for them)', async () => {
    const d2 = tempDir('faultline-sse2-');
    const c2 = await createCoordinator({ dataDir: d2.path, port: 0 });
    const s = await openStream(`${c2.url}/api/v1/events?token=${encodeURIComponent(c2.apiToken)}`, new AbortController().signal);
    await s.next((e) => e.comment === 'connected', 1000, 'open');
    await c2.close();
    await s.done;
    // Ended by the server's end of stream, not cut off when the connections were destroyed.
    assert.equal(s.ended(), 'done');
    d2.dispose();
  });
});

async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
