/**
 * Big and alias-heavy pipelines (issue 14): compile time of 2,000 vs 8,000 aliases (linear: 4× the
 * aliases ≤ 4.5× the time), of a 25,000-job file, and the coordinator's /healthz response time
 * while it creates that pipeline through the API, answers it (GET) and cancels a 30,000-job one — next to
 * /healthz of the same coordinator idle, measured in the same process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { compilePipeline } from '../src/config/index.js';
import { createCoordinator, type Coordinator } from '../src/coordinator/index.js';
import { aliasYaml, manyJobsYaml } from './yaml.js';

function bestMs(yaml: string, runs = 3): number {
  let best = Infinity;
  for (let k = 0; k < runs; k++) {
    const t0 = performance.now();
    const r = compilePipeline(yaml);
    best = Math.min(best, performance.now() - t0);
    if (!r.ok) throw new Error(`bench pipeline refused: ${r.errors[0]?.message}`);
  }
  return best;
}

/** Polls /healthz back to back while `work` runs; the slowest answer is what a runner would wait. */
async function healthDuring(
  c: Coordinator,
  work: () => Promise<unknown>,
): Promise<{ workMs: number; maxMs: number; answers: number; resets: number }> {
  let done = false;
  let maxMs = 0;
  let answers = 0;
  let resets = 0;
  const poll = (async () => {
    while (!done) {
      const t0 = performance.now();
      try {
        await (await fetch(`${c.url}/healthz`)).arrayBuffer();
        answers++;
      } catch {
        resets++; // a keep-alive socket the stalled server timed out: what a runner would see too
      }
      maxMs = Math.max(maxMs, performance.now() - t0); // back to back: a stall always catches one in flight
    }
  })();
  const t0 = performance.now();
  await work();
  const workMs = performance.now() - t0;
  done = true;
  await poll;
  return { workMs, maxMs, answers, resets };
}

async function api(c: Coordinator, method: string, path: string, body?: unknown): Promise<{ status: number; id: number }> {
  const res = await fetch(c.url + path, {
    method,
    headers: { authorization: `Bearer ${c.apiToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // Not parsed whole: JSON.parse of a 25,000-job answer would stall this (shared) event loop too.
  const text = Buffer.from(await res.arrayBuffer()).toString('utf8', 0, 300);
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return { status: res.status, id: Number(/"id":(\d+)/.exec(text)?.[1]) };
}

export async function benchPipelineScale(): Promise<Record<string, number>> {
  compilePipeline(aliasYaml(200)); // warm-up
  const a2 = bestMs(aliasYaml(2000));
  const a8 = bestMs(aliasYaml(8000));
  const big = manyJobsYaml(25_000);
  const c25 = bestMs(big, 1);

  const dir = mkdtempSync(join(tmpdir(), 'faultline-bench-scale-'));
  const c = await createCoordinator({ dataDir: dir, port: 0, logger: pino({ level: 'silent' }) });
  try {
    const idle = await healthDuring(c, () => new Promise((r) => setTimeout(r, 300)));
    let id = 0;
    const create = await healthDuring(c, async () => {
      id = (await api(c, 'POST', '/api/v1/pipelines', { yaml: big, ref: 'main' })).id;
    });
    const get = await healthDuring(c, () => api(c, 'GET', `/api/v1/pipelines/${id}`));
    const y30 = manyJobsYaml(30_000);
    const id30 = (await api(c, 'POST', '/api/v1/pipelines', { yaml: y30, ref: 'other' })).id;
    const cancel = await healthDuring(c, () => api(c, 'POST', `/api/v1/pipelines/${id30}/cancel`));
    return {
      yaml_alias_2000_compile_ms: +a2.toFixed(1),
      yaml_alias_8000_compile_ms: +a8.toFixed(1),
      yaml_alias_scaling_4x: +(a8 / a2).toFixed(2),
      compile_25000_jobs_ms: +c25.toFixed(0),
      healthz_idle_max_ms: +idle.maxMs.toFixed(1),
      create_25000_jobs_api_ms: +create.workMs.toFixed(0),
      healthz_during_create_max_ms: +create.maxMs.toFixed(0),
      healthz_during_create_answers: create.answers,
      get_25000_jobs_api_ms: +get.workMs.toFixed(0),
      healthz_during_get_max_ms: +get.maxMs.toFixed(0),
      cancel_30000_jobs_api_ms: +cancel.workMs.toFixed(0),
      healthz_during_cancel_max_ms: +cancel.maxMs.toFixed(0),
      healthz_failed_during_create_get_or_cancel: create.resets + get.resets + cancel.resets,
    };
  } finally {
    await c.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchPipelineScale());
