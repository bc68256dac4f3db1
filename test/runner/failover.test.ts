/**
 * Runner fail-over between several coordinator URLs. Two real coordinator processes need a
 * shared database (PostgreSQL), so the pair here is a fake coordinator pair: one fake
 * coordinator's state served on two loopback ports (as two coordinators of one database), and
 * the runner's real HTTP client and shell executor against it. The last test is a real
 * coordinator process behind a dead URL listed first.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { parseCoordinatorUrls } from '../../src/runner/coordinators.js';
import { parseRunnerConfig } from '../../src/runner/config.js';
import { RunnerClient } from '../../src/runner/client.js';
import { startRunner } from '../../src/runner/daemon.js';
import type { RunnerLogger } from '../../src/runner/logger.js';
import { tempDir } from '../helpers/tmp.js';
import { freePort, startCoordinator, startRunnerProcess, userApi } from '../helpers/system.js';
import { startFakeCoordinator, waitFor } from './fake-coordinator.js';

function recordingLogger(): RunnerLogger & { lines: string[] } {
  const lines: string[] = [];
  const rec =
    (level: string) =>
    (a: unknown, b?: unknown): void =>
      void lines.push(`${level} ${typeof a === 'string' ? a : String(b ?? '')} ${typeof a === 'object' ? JSON.stringify(a) : ''}`);
  return { lines, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') } as RunnerLogger & { lines: string[] };
}

async function serve(app: express.Express): Promise<{ url: string; port: number; close: () => Promise<void> }> {
  const server: Server = await new Promise((r) => {
    const s = app.listen(0, '127.0.0.1', () => r(s));
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const portOf = (url: string) => Number(new URL(url).port);
const fast = { minMs: 20, maxMs: 100 };

describe('coordinator URL lists', () => {
  test('repeats and commas give the distinct URLs in order; a bad one is named', () => {
    assert.deepEqual(parseCoordinatorUrls(['http://a:1/', 'http://b:2, http://a:1', 'https://c']), [
      'http://a:1',
      'http://b:2',
      'https://c',
    ]);
    assert.throws(() => parseCoordinatorUrls('http://a:1,nope'), /--url: "nope" is not a URL/);
    assert.throws(() => parseCoordinatorUrls(['ftp://a'], 'FAULTLINE_URL'), /FAULTLINE_URL: "ftp:\/\/a" is not an http/);
    assert.throws(() => parseCoordinatorUrls(' , '), /no coordinator URL/);
  });

  test('config.toml takes url as a list or a comma string, and names a bad entry with its line', () => {
    const base = (url: string) => `[[runners]]\nname = "r"\n${url}\ntoken = "t"\nexecutor = "shell"\n`;
    assert.deepEqual(parseRunnerConfig(base('url = ["http://a:1", "http://b:2"]'))[0]!.url, ['http://a:1', 'http://b:2']);
    assert.deepEqual(parseRunnerConfig(base('url = "http://a:1,http://b:2"'))[0]!.url, ['http://a:1', 'http://b:2']);
    assert.throws(
      () => parseRunnerConfig(base('url = ["http://a:1", "b"]'), 'cfg.toml'),
      /cfg\.toml:3: \[\[runners\]\] #1 \("r"\) url: url: "b" is not a URL/,
    );
  });
});

describe('runner fail-over (fake coordinator pair, real HTTP client)', () => {
  test('first coordinator down: registration, the job, its trace and final update go to the second', async () => {
    const fake = await startFakeCoordinator();
    const dead = `http://127.0.0.1:${await freePort()}`;
    const tmp = tempDir();
    const log = recordingLogger();
    const runner = await startRunner({
      url: [dead, fake.url],
      registrationToken: 'r',
      executor: 'shell',
      buildsDir: tmp.path,
      heartbeatMs: 300,
      traceIntervalMs: 50,
      backoff: fast,
      logger: log,
    });
    try {
      assert.equal(runner.runnerId, 7, 'registered through the second coordinator');
      const job = fake.addJob({ script: ['echo first-line', 'echo "server=$CI_SERVER_URL"', 'echo last-line'] });
      const final = await fake.final(job.id);
      assert.equal(final.state, 'success');
      const trace = fake.trace(job.id);
      assert.match(trace, /first-line[\s\S]*last-line/);
      assert.ok(trace.includes(`server=${fake.url}`), 'CI_SERVER_URL is the coordinator in use');
      assert.equal(final.trace_bytes, Buffer.byteLength(trace), 'the whole trace arrived');
      assert.ok(
        log.lines.some((l) => l.startsWith('warn') && l.includes(`coordinator ${dead} unavailable (ECONNREFUSED); using ${fake.url}`)),
        log.lines.join('\n'),
      );
      assert.ok(
        log.lines.some((l) => l.startsWith('info') && l.includes(`using coordinator ${dead}`)),
        'the start names the coordinator it tries first',
      );
    } finally {
      await runner.stop();
      await fake.close();
      tmp.dispose();
    }
  });

  test('first coordinator answering 503: the runner moves to the second and stays there', async () => {
    let unavailable = 0;
    const app = express();
    app.use((_req, res) => void (unavailable++, res.status(503).json({ error: 'storage_busy' })));
    const sick = await serve(app);
    const fake = await startFakeCoordinator();
    const tmp = tempDir();
    const runner = await startRunner({
      url: [sick.url, fake.url],
      registrationToken: 'r',
      executor: 'shell',
      buildsDir: tmp.path,
      heartbeatMs: 200,
      traceIntervalMs: 50,
      backoff: fast,
      logger: recordingLogger(),
    });
    try {
      const job = fake.addJob({ script: ['echo one', 'sleep 0.5', 'echo two'] });
      const final = await fake.final(job.id);
      assert.equal(final.state, 'success');
      assert.match(fake.trace(job.id), /one[\s\S]*two/);
      assert.equal(unavailable, 1, 'one 503 moved the runner; nothing went back to the sick coordinator');
      assert.ok(fake.heartbeats.length > 0);
    } finally {
      await runner.stop();
      await fake.close();
      await sick.close();
      tmp.dispose();
    }
  });

  test('first coordinator dies mid-job: the trace continues and the final update arrives through the second', async () => {
    const fake = await startFakeCoordinator(); // B: fake.url
    const a = await fake.listenAgain(); // A: same state, the one the runner starts on
    const tmp = tempDir();
    const log = recordingLogger();
    const runner = await startRunner({
      url: [a.url, fake.url],
      registrationToken: 'r',
      executor: 'shell',
      buildsDir: tmp.path,
      heartbeatMs: 200,
      traceIntervalMs: 50,
      keepaliveMs: 200,
      backoff: fast,
      logger: log,
    });
    try {
      const job = fake.addJob({
        script: ['echo before-the-crash', 'sleep 1', 'for i in $(seq 1 300); do echo "line-$i"; done', 'echo after-the-crash'],
      });
      await waitFor(() => fake.trace(job.id).includes('before-the-crash'), 15_000, 'the job started on A');
      assert.ok(
        fake.hits.some((h) => h.port === portOf(a.url) && h.path === `/api/v1/jobs/${job.id}/trace`),
        'the first trace chunks went to A',
      );
      await a.close();
      const final = await fake.final(job.id);
      assert.equal(final.state, 'success');
      const trace = fake.trace(job.id);
      for (let i = 1; i <= 300; i++) assert.equal(trace.split(`\nline-${i}\n`).length, 2, `line-${i} exactly once`);
      assert.match(trace, /before-the-crash[\s\S]*line-300[\s\S]*after-the-crash/);
      assert.equal(final.trace_bytes, Buffer.byteLength(trace));
      const onB = fake.hits.filter((h) => h.port === portOf(fake.url));
      assert.ok(
        onB.some((h) => h.method === 'PATCH' && h.path === `/api/v1/jobs/${job.id}/trace`),
        'trace chunks went to B',
      );
      assert.ok(
        onB.some((h) => h.method === 'PUT' && h.path === `/api/v1/jobs/${job.id}`),
        'the final update went to B',
      );

      // The long poll carries on at B: the next job is handed out there.
      const next = fake.addJob({ script: ['echo next-job'] });
      assert.equal((await fake.final(next.id)).state, 'success');
      assert.ok(onB.length < fake.hits.filter((h) => h.port === portOf(fake.url)).length);
      assert.ok(log.lines.some((l) => l.startsWith('warn') && l.includes(`using ${fake.url}`)));
    } finally {
      await runner.stop();
      await fake.close();
      tmp.dispose();
    }
  });

  test('a coordinator dying under a parked long poll: the job request moves to the other at once', async () => {
    const fake = await startFakeCoordinator();
    const a = await fake.listenAgain();
    // Long polls that park for 30 s (the real coordinator's default), so only fail-over can deliver quickly.
    const client = new RunnerClient({
      url: [a.url, fake.url],
      token: 't',
      pollIntervalMs: 100,
      backoff: { minMs: 5000, maxMs: 5000 },
      logger: recordingLogger(),
    });
    const ac = new AbortController();
    try {
      const got = client.requestJob(ac.signal);
      await waitFor(() => fake.hits.some((h) => h.port === portOf(a.url) && h.path === '/api/v1/jobs/request'), 5000, 'a poll parked on A');
      await a.close(); // the parked request's socket is cut
      const job = fake.addJob();
      const t0 = Date.now();
      const payload = await got;
      assert.equal(payload?.id, job.id);
      assert.ok(Date.now() - t0 < 3000, 'no backoff wait: the next coordinator was asked at once');
      assert.equal(client.url, fake.url);
    } finally {
      ac.abort();
      await fake.close();
    }
  });
});

describe('runner fail-over with a real coordinator', () => {
  test('a runner process with a dead URL listed first registers with and runs jobs of the coordinator listed second', async () => {
    const tmp = tempDir();
    const coord = await startCoordinator({ dataDir: join(tmp.path, 'data') });
    const dead = `http://127.0.0.1:${await freePort()}`;
    const runner = await startRunnerProcess({
      url: dead,
      registrationToken: coord.registrationToken,
      extraArgs: ['--url', coord.url],
      env: { FAULTLINE_RUNNER_LOG_LEVEL: 'info' },
    });
    try {
      const api = userApi(coord.url, coord.apiToken);
      const p = await api.createPipeline('hello:\n  script:\n    - echo hello-from-failover\n');
      const done = await api.waitPipeline(p.id);
      assert.equal(done.status, 'success');
      assert.match(await api.trace(done.jobs![0]!.id), /hello-from-failover/);
      const out = runner.output();
      assert.ok(out.includes(`polling ${dead}, ${coord.url}`), out);
      assert.ok(out.includes(`coordinator ${dead} unavailable (ECONNREFUSED); using ${coord.url}`), out);
    } finally {
      await runner.kill();
      await coord.kill();
      tmp.dispose();
    }
  });
});
