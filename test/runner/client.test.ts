import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import type { Server } from 'node:http';
import { RunnerClient } from '../../src/runner/client.js';
import { startRunner } from '../../src/runner/daemon.js';
import { silentLogger } from '../../src/runner/logger.js';
import { tempDir } from '../helpers/tmp.js';
import { startFakeCoordinator, waitFor } from './fake-coordinator.js';

async function serve(app: express.Express): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = await new Promise((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('runner API client', () => {
  test('a coordinator answering 204 at once is polled at pollIntervalMs, not in a tight loop', async () => {
    // Judged by the span of several polls, not by a count in a wall-clock window (a loaded machine
    // only stretches it). The server sees arrival times, which lag the client's starts by a variable
    // delay; over 6 waits of at least 100 ms (pollIntervalMs × [0.5, 1)) a lag cannot hide them all,
    // while a loop that does not wait makes 7 requests in a few milliseconds.
    const at: number[] = [];
    const ac = new AbortController();
    const app = express();
    app.post('/api/v1/jobs/request', (_req, res) => {
      at.push(Date.now());
      if (at.length === 8) ac.abort();
      res.status(204).end();
    });
    const srv = await serve(app);
    try {
      const c = new RunnerClient({ url: srv.url, token: 't', pollIntervalMs: 200 });
      assert.equal(await c.requestJob(ac.signal), null);
      assert.equal(at.length, 8, 'it polls again after each 204');
      const span = at[7]! - at[1]!;
      assert.ok(span >= 300, `7 polls within ${span} ms: ${at.map((t) => t - at[0]!).join(', ')}`);
    } finally {
      await srv.close();
    }
  });

  test('network errors back off (with jitter) and the abort signal ends the loop', async () => {
    const c = new RunnerClient({ url: 'http://127.0.0.1:9', token: 't', backoff: { minMs: 100, maxMs: 400 } });
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 800);
    assert.equal(await c.requestJob(ac.signal), null);
    assert.ok(Date.now() - t0 < 1200);
  });

  test('a final update is retried through 5xx and network errors until it lands', async () => {
    let n = 0;
    const got: unknown[] = [];
    const app = express();
    app.put('/api/v1/jobs/:id', express.json(), (req, res) => {
      n++;
      if (n <= 3) return void res.status(503).json({ error: 'busy' });
      got.push(req.body);
      res.json({ status: 'success', cancel_requested: false });
    });
    const srv = await serve(app);
    try {
      const c = new RunnerClient({ url: srv.url, backoff: { minMs: 20, maxMs: 50 } });
      const r = await c.updateJob({ id: 1, token: 'jt' }, { state: 'success', exit_code: 0 }, { final: true });
      assert.deepEqual(r, { status: 'success', cancel_requested: false });
      assert.equal(n, 4);
      assert.deepEqual(got, [{ state: 'success', exit_code: 0 }]);
      // a non-final update gives up after its attempts
      n = -100;
      const r2 = await c.updateJob({ id: 1, token: 'jt' }, { state: 'running' }, { attempts: 2 });
      assert.equal(r2, null);
    } finally {
      await srv.close();
    }
  });

  test('a final update still lands when the coordinator comes back later', async () => {
    const tmpApp = express();
    const seen: unknown[] = [];
    tmpApp.put(
      '/api/v1/jobs/:id',
      express.json(),
      (req, res) => void (seen.push(req.body), res.json({ status: 'failed', cancel_requested: false })),
    );
    // find a port, close it, send to it (refused), then start the server on that port
    const probe = await serve(express());
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const c = new RunnerClient({ url: `http://127.0.0.1:${port}`, backoff: { minMs: 50, maxMs: 100 } });
    const p = c.updateJob({ id: 2, token: 'jt' }, { state: 'failed', exit_code: 3 }, { final: true });
    await new Promise((r) => setTimeout(r, 300));
    const server: Server = await new Promise((r) => {
      const s = tmpApp.listen(port, '127.0.0.1', () => r(s));
    });
    try {
      assert.deepEqual(await p, { status: 'failed', cancel_requested: false });
      assert.deepEqual(seen, [{ state: 'failed', exit_code: 3 }]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('appendTrace sends Content-Range start-end and reports 416 with the coordinator offset', async () => {
    const ranges: string[] = [];
    const app = express();
    app.patch('/api/v1/jobs/:id/trace', express.raw({ type: () => true }), (req, res) => {
      ranges.push(req.get('content-range')!);
      if (req.get('content-range')!.startsWith('5-')) return void res.status(416).json({ error: 'x', offset: 3 });
      res.status(202).json({ offset: 3 });
    });
    const srv = await serve(app);
    try {
      const c = new RunnerClient({ url: srv.url });
      assert.deepEqual(await c.appendTrace({ id: 1, token: 'jt' }, 0, Buffer.from('abc')), { ok: true, offset: 3 });
      assert.deepEqual(await c.appendTrace({ id: 1, token: 'jt' }, 5, Buffer.from('xy')), { ok: false, kind: 'range', offset: 3 });
      assert.deepEqual(ranges, ['0-2', '5-6']);
    } finally {
      await srv.close();
    }
  });
});

describe('runner daemon', () => {
  test('stop() lets a short job finish, and interrupts a long one as runner_interrupted', async () => {
    const fake = await startFakeCoordinator();
    const tmp = tempDir();
    const runner = await startRunner({
      url: fake.url,
      registrationToken: 'r',
      executor: 'shell',
      concurrency: 2,
      buildsDir: tmp.path,
      heartbeatMs: 300,
      traceIntervalMs: 50,
      logger: silentLogger,
    });
    try {
      assert.equal(runner.runnerId, 7);
      const short = fake.addJob({ script: ['echo s1', 'sleep 0.5', 'echo s2'] });
      const long = fake.addJob({ script: ['echo l1', 'sleep 30'] });
      await waitFor(() => fake.trace(short.id).includes('s1') && fake.trace(long.id).includes('l1'), 10_000, 'both jobs started');
      const t0 = Date.now();
      await runner.stop({ timeoutMs: 1500 });
      assert.ok(Date.now() - t0 < 6000);
      assert.equal((await fake.final(short.id)).state, 'success');
      const f = await fake.final(long.id);
      assert.equal(f.state, 'failed');
      assert.equal(f.failure?.reason, 'runner_interrupted');
      assert.equal(f.failure?.stage, 'step_script');
      assert.deepEqual(runner.runningJobIds(), []);
    } finally {
      await runner.stop();
      await fake.close();
      tmp.dispose();
    }
  });

  test('an unknown executor is refused at start, before registering', async () => {
    await assert.rejects(
      startRunner({ url: 'http://127.0.0.1:9', registrationToken: 'r', executor: 'nope', logger: silentLogger }),
      /unknown executor "nope"/,
    );
  });
});
