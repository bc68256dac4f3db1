/**
 * Runner job-request latency with 50,000 pending jobs no runner matches, next to the
 * same requests with none, in the same run (the hand-out is indexed by tags: the
 * unmatched jobs are never read).
 */
import pino from 'pino';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCoordinator, type Coordinator } from '../src/coordinator/index.js';

const UNMATCHED = 50_000;
const REQUESTS = 200;

async function api(c: Coordinator, path: string, body: unknown): Promise<{ id: number }> {
  const r = await fetch(c.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${c.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (r.status !== 201) throw new Error(`${path} → ${r.status} ${await r.text()}`);
  return (await r.json()) as { id: number };
}

/** n more pending jobs cloned from a real job row of `pipelineId` (one transaction). */
async function clonePending(c: Coordinator, pipelineId: number, name: string, tags: string[], n: number): Promise<void> {
  const base = (await c.store.jobs.latestByName(pipelineId, name))!;
  const row = { ...base, tags_json: JSON.stringify(tags), status: 'pending', retry_of: null, queued_at: Date.now() };
  await c.store.tx(() => c.store.jobs.insertMany(Array.from({ length: n }, () => row)));
}

/** Median ms of REQUESTS job requests, each handed the oldest matching job. */
async function requestLatency(unmatched: number): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'faultline-bench-handout-'));
  const c = await createCoordinator({ dataDir, port: 0, longPollMs: 1000, logger: pino({ level: 'warn' }) });
  try {
    if (unmatched > 0) {
      const gpu = await api(c, '/api/v1/pipelines', { yaml: 'train:\n  tags: [gpu]\n  script: echo train\n', ref: 'gpu' });
      await clonePending(c, gpu.id, 'train', ['gpu'], unmatched - 1);
    }
    // The jobs handed out are real ones (one pipeline each), newer than the unmatched ones.
    for (let i = 0; i < REQUESTS; i++)
      await api(c, '/api/v1/pipelines', { yaml: 'build:\n  tags: [linux]\n  script: echo build\n', ref: `linux-${i}` });
    const reg = await fetch(`${c.url}/api/v1/runners/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        registration_token: c.registrationToken,
        name: 'bench',
        tags: ['linux'],
        run_untagged: false,
        executor: 'shell',
        concurrency: 1,
      }),
    });
    const { token } = (await reg.json()) as { token: string };
    const ms: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const t0 = performance.now();
      const r = await fetch(`${c.url}/api/v1/jobs/request`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'runner-token': token },
        body: '{}',
      });
      await r.arrayBuffer();
      ms.push(performance.now() - t0);
      if (r.status !== 201) throw new Error(`request ${i} → ${r.status}`);
    }
    ms.sort((a, b) => a - b);
    return ms[Math.floor(ms.length / 2)]!;
  } finally {
    await c.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchHandout(): Promise<Record<string, number>> {
  const none = await requestLatency(0);
  const many = await requestLatency(UNMATCHED);
  return {
    job_request_0_unmatched_ms: +none.toFixed(2),
    job_request_50k_unmatched_ms: +many.toFixed(2),
    job_request_50k_over_0_ratio: +(many / none).toFixed(2),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchHandout());
