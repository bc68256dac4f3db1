/**
 * Runner-API dispatch throughput with 100 concurrent long-polling runners (request +
 * running update + trace + final update per job), next to a bare express JSON handler
 * hit by the same client in the same run; and pickup latency (job pending → handed to
 * an already-waiting runner).
 */
import express from 'express';
import pino from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCoordinator } from '../src/coordinator/index.js';
import type { JobPayload } from '../src/protocol/runner-api.js';
import { percentile } from './percentile.js';

const RUNNERS = 100;

async function registerRunners(url: string, registrationToken: string, n: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await fetch(`${url}/api/v1/runners/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ registration_token: registrationToken, name: `bench-${i}`, tags: [], executor: 'shell', concurrency: 1 }),
    });
    tokens.push(((await r.json()) as { token: string }).token);
  }
  return tokens;
}

async function requestJob(url: string, token: string): Promise<JobPayload | null> {
  const r = await fetch(`${url}/api/v1/jobs/request`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'runner-token': token },
    body: '{}',
  });
  if (r.status === 204) return null;
  return (await r.json()) as JobPayload;
}

async function finishJob(url: string, job: JobPayload): Promise<number> {
  const h = { 'content-type': 'application/json', 'job-token': job.token };
  await (await fetch(`${url}/api/v1/jobs/${job.id}`, { method: 'PUT', headers: h, body: '{"state":"running"}' })).arrayBuffer();
  const line = Buffer.from(`$ echo bench\nbench job ${job.id}\n`);
  await (
    await fetch(`${url}/api/v1/jobs/${job.id}/trace`, {
      method: 'PATCH',
      headers: { 'job-token': job.token, 'content-range': `0-${line.length - 1}`, 'content-type': 'application/octet-stream' },
      body: line,
    })
  ).arrayBuffer();
  await (
    await fetch(`${url}/api/v1/jobs/${job.id}`, { method: 'PUT', headers: h, body: '{"state":"success","exit_code":0}' })
  ).arrayBuffer();
  return 4; // requests per job, counting the job request
}

/** n jobs, each needing up to 3 earlier ones (untagged, so any bench runner takes them). */
function dagYaml(n: number): string {
  let y = 'stages: [test]\n';
  for (let i = 0; i < n; i++) {
    const needs = [...new Set([i - 1, i - 7, i - 31].filter((x) => x >= 0))].map((x) => `d${x}`);
    y += `d${i}:\n  stage: test\n  needs: [${needs.join(', ')}]\n  script: echo ${i}\n`;
  }
  return y;
}

function pipelineYaml(jobs: number): string {
  let y = 'stages: [test]\n';
  for (let i = 0; i < jobs; i++) y += `j${i}:\n  stage: test\n  needs: []\n  script: echo ${i}\n`;
  return y;
}

async function bareExpress(durationMs: number): Promise<number> {
  const app = express();
  app.use(express.json());
  app.put('/x', (req, res) => {
    res.json({ status: 'ok', echo: req.body?.state ?? null });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
  let count = 0;
  const end = performance.now() + durationMs;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: RUNNERS }, async () => {
      while (performance.now() < end) {
        const r = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"state":"running"}' });
        await r.arrayBuffer();
        count++;
      }
    }),
  );
  const rps = count / ((performance.now() - t0) / 1000);
  server.closeAllConnections();
  server.close();
  return rps;
}

export async function benchDispatch(): Promise<Record<string, number>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'faultline-bench-'));
  const c = await createCoordinator({ dataDir, port: 0, longPollMs: 2000, logger: pino({ level: 'warn' }) });
  try {
    const api = (path: string, body: unknown) =>
      fetch(c.url + path, {
        method: 'POST',
        headers: { authorization: `Bearer ${c.apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    const tokens = await registerRunners(c.url, c.registrationToken, RUNNERS);

    // Throughput: 100 runner loops drain 2,000 pending jobs.
    const TOTAL = 2000;
    for (let i = 0; i < TOTAL / 200; i++) await api('/api/v1/pipelines', { yaml: pipelineYaml(200), ref: `bench-${i}` });
    let requests = 0;
    let jobs = 0;
    let doneAt: number | undefined;
    const t0 = performance.now();
    await Promise.all(
      tokens.map(async (tok) => {
        for (;;) {
          const job = await requestJob(c.url, tok);
          if (!job) return;
          const n = await finishJob(c.url, job); // read `requests` after the await, not before
          requests += n;
          jobs++;
          if (jobs >= TOTAL) {
            doneAt = performance.now();
            return;
          }
        }
      }),
    );
    // The clock stops when the last job is done: the other runners' long-polls then idle out
    // their window (204), which is waiting, not dispatch work.
    const seconds = ((doneAt ?? performance.now()) - t0) / 1000;
    const runnerRps = requests / seconds;

    // A 1,000-job DAG pipeline (each job needs up to 3 earlier ones) end to end through the
    // coordinator: SQLite, engine and runner API, drained by the same 100 runners.
    const dagStart = performance.now();
    const dag = (await api('/api/v1/pipelines', { yaml: dagYaml(1000), ref: 'bench-dag' })) as { id: number };
    let dagJobs = 0;
    let dagDoneAt: number | undefined;
    await Promise.all(
      tokens.map(async (tok) => {
        while (dagJobs < 1000) {
          const job = await requestJob(c.url, tok); // parks until a job is released (or 204 after the window)
          if (!job) continue;
          await finishJob(c.url, job);
          if (++dagJobs === 1000) dagDoneAt = performance.now();
        }
      }),
    );
    const dagSeconds = ((dagDoneAt ?? performance.now()) - dagStart) / 1000;
    const dagStatus = (
      (await (await fetch(`${c.url}/api/v1/pipelines/${dag.id}`, { headers: { authorization: `Bearer ${c.apiToken}` } })).json()) as {
        status: string;
      }
    ).status;
    if (dagStatus !== 'success' && dagStatus !== 'running') throw new Error(`DAG pipeline ended ${dagStatus}`);
    const bareRps = await bareExpress(Math.max(2000, seconds * 1000));

    // Pickup latency: 10 long-polling runners wait; one single-job pipeline at a time.
    const latencies: number[] = [];
    let createdAt = 0;
    let picked: (() => void) | null = null;
    let stop = false;
    const loops = tokens.slice(0, 10).map(async (tok) => {
      while (!stop) {
        const job = await requestJob(c.url, tok);
        if (!job) continue;
        latencies.push(performance.now() - createdAt);
        await finishJob(c.url, job);
        picked?.();
      }
    });
    for (let i = 0; i < 200; i++) {
      await new Promise((r) => setTimeout(r, 5)); // let the long-polls park again
      const done = new Promise<void>((r) => (picked = r));
      createdAt = performance.now();
      await api('/api/v1/pipelines', { yaml: 'one:\n  script: echo 1\n', ref: `lat-${i}` });
      await done;
    }
    stop = true;
    await Promise.all(loops); // each returns after its long-poll window
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => percentile(latencies, p);
    return {
      dispatch_jobs_per_s: +(jobs / seconds).toFixed(1),
      dag_1000_through_coordinator_s: +dagSeconds.toFixed(2),
      runner_api_requests_per_s: +runnerRps.toFixed(0),
      bare_express_requests_per_s: +bareRps.toFixed(0),
      runner_api_over_bare_ratio: +(runnerRps / bareRps).toFixed(3),
      pickup_p50_ms: +pct(50).toFixed(2),
      pickup_p99_ms: +pct(99).toFixed(2),
    };
  } finally {
    await c.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchDispatch());
