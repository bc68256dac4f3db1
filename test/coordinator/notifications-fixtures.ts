/** Shared by the notification/backtest tests: a real webhook receiver and runner-API-driven job outcomes. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PipelineJson } from '../../src/protocol/user-api.js';
import type { Harness } from './helpers.js';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
}

/**
 * A local HTTP server recording every POST; `answers` are the status codes to reply, in
 * order (then 200); 0 = never answer (a hung receiver).
 */
export async function receiver(answers: number[] = []) {
  const got: Received[] = [];
  const queue = [...answers];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        /* recorded as text */
      }
      got.push({ path: req.url ?? '', headers: req.headers, body, json });
      const code = queue.shift() ?? 200;
      if (code === 0) return;
      res.writeHead(code, { 'content-type': 'text/plain' }).end(code < 300 ? 'ok' : `status ${code}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    got,
    port,
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    /** Posts received at `path`. */
    at: (path: string) => got.filter((g) => g.path === path),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export const ONE_JOB = 'test:\n  script: npm test\n';

/** Creates a one-job pipeline, takes its job with `runner` and lets `finish` report the outcome. */
async function runOne(
  h: Harness,
  runnerToken: string,
  yaml: string,
  finish: (job: { id: number; token: string }) => Promise<void>,
): Promise<PipelineJson> {
  const p = await h.createPipeline(yaml);
  const { job } = await h.request(runnerToken);
  if (!job || job.pipeline_id !== p.id) throw new Error(`expected a job of pipeline ${p.id}, got ${JSON.stringify(job)}`);
  await h.update(job, { state: 'running' });
  await finish(job);
  return h.waitFor(async () => {
    const pl = await h.pipeline(p.id);
    return ['success', 'failed', 'canceled'].includes(pl.status) ? pl : null;
  });
}

/** A registry outage while pulling the job's image: infra. */
export function failInfra(h: Harness, runnerToken: string, yaml = ONE_JOB): Promise<PipelineJson> {
  return runOne(h, runnerToken, yaml, async (job) => {
    const r = await h.update(job, {
      state: 'failed',
      exit_code: null,
      failure: {
        reason: 'image_pull_failure',
        stage: 'pull_image',
        kind: 'registry_unreachable',
        message: 'dial tcp 127.0.0.1:5999: connect: connection refused',
        executor: 'docker',
        image: '127.0.0.1:5999/node:20',
        registry: '127.0.0.1:5999',
      },
    });
    if (r.status !== 200) throw new Error(`update → ${r.status} ${JSON.stringify(r.body)}`);
  });
}

export const JEST_FAILURE =
  '$ npm test\n\n FAIL  src/sum.test.ts\n  ● sum › adds\n\n    expect(received).toBe(expected)\n\nTests:       1 failed, 3 passed, 4 total\nnpm ERR! Test failed.\n';

/** Failing tests (a jest report, exit 1): build. */
export function failBuild(h: Harness, runnerToken: string, yaml = ONE_JOB, exitCode = 1, log = JEST_FAILURE): Promise<PipelineJson> {
  return runOne(h, runnerToken, yaml, async (job) => {
    const t = await h.trace(job, 0, log);
    if (t.status !== 202) throw new Error(`trace → ${t.status}`);
    const r = await h.update(job, {
      state: 'failed',
      exit_code: exitCode,
      failure: { reason: 'script_failure', stage: 'step_script', message: null, executor: 'shell', image: null, registry: null },
    });
    if (r.status !== 200) throw new Error(`update → ${r.status} ${JSON.stringify(r.body)}`);
  });
}

export function pass(h: Harness, runnerToken: string, yaml = ONE_JOB): Promise<PipelineJson> {
  return runOne(h, runnerToken, yaml, async (job) => {
    await h.update(job, { state: 'success', exit_code: 0 });
  });
}
