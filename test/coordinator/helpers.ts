/** Shared helpers for coordinator tests: a real coordinator on port 0 in a temp dir, real HTTP. */
import { createCoordinator, type Coordinator, type CoordinatorOptions } from '../../src/coordinator/index.js';
import type { JobPayload, JobUpdateRequest } from '../../src/protocol/runner-api.js';
import type { JobJson, PipelineJson } from '../../src/protocol/user-api.js';
import { tempDir } from '../helpers/tmp.js';

export interface Harness {
  c: Coordinator;
  dir: string;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers }>;
  register(opts?: {
    tags?: string[];
    run_untagged?: boolean;
    name?: string;
    host?: string;
    version?: string;
  }): Promise<{ id: number; token: string }>;
  request(runnerToken: string, body?: unknown): Promise<{ status: number; job: JobPayload | null; ms: number }>;
  update(job: { id: number; token: string }, u: JobUpdateRequest): Promise<{ status: number; body: any }>;
  trace(job: { id: number; token: string }, start: number, data: string | Buffer, range?: string): Promise<{ status: number; body: any }>;
  createPipeline(yaml: string, extra?: Record<string, unknown>): Promise<PipelineJson>;
  pipeline(id: number): Promise<PipelineJson>;
  job(id: number): Promise<JobJson>;
  waitFor<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

export async function harness(opts: Partial<CoordinatorOptions> = {}, dir?: string): Promise<Harness> {
  const tmp = dir ? null : tempDir('faultline-coord-');
  const dataDir = dir ?? tmp!.path;
  const c = await createCoordinator({ dataDir, port: 0, ...opts });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(c.url + path, {
      method,
      headers: { authorization: `Bearer ${c.apiToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    const parsed = res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
    return { status: res.status, body: parsed, headers: res.headers };
  };
  const h: Harness = {
    c,
    dir: dataDir,
    api,
    async register(o = {}) {
      const res = await fetch(`${c.url}/api/v1/runners/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          registration_token: c.registrationToken,
          name: o.name ?? 'r',
          tags: o.tags ?? [],
          run_untagged: o.run_untagged,
          executor: 'shell',
          concurrency: 1,
          ...(o.host ? { host: o.host } : {}),
          ...(o.version ? { version: o.version } : {}),
        }),
      });
      if (res.status !== 201) throw new Error(`register → ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: number; token: string };
    },
    async request(token, body = {}) {
      const t0 = performance.now();
      const res = await fetch(`${c.url}/api/v1/jobs/request`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'runner-token': token },
        body: JSON.stringify(body),
      });
      const ms = performance.now() - t0;
      if (res.status === 204) return { status: 204, job: null, ms };
      const json = await res.json();
      return { status: res.status, job: res.status === 201 ? (json as JobPayload) : null, ms };
    },
    async update(job, u) {
      const res = await fetch(`${c.url}/api/v1/jobs/${job.id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'job-token': job.token },
        body: JSON.stringify(u),
      });
      return { status: res.status, body: await res.json() };
    },
    async trace(job, start, data, range) {
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
      const res = await fetch(`${c.url}/api/v1/jobs/${job.id}/trace`, {
        method: 'PATCH',
        headers: {
          'job-token': job.token,
          'content-range': range ?? `${start}-${start + buf.length - 1}`,
          'content-type': 'application/octet-stream',
        },
        body: new Uint8Array(buf),
      });
      return { status: res.status, body: await res.json() };
    },
    async createPipeline(yaml, extra = {}) {
      const r = await api('POST', '/api/v1/pipelines', { yaml, ref: 'main', ...extra });
      if (r.status !== 201) throw new Error(`create pipeline → ${r.status} ${JSON.stringify(r.body)}`);
      return r.body as PipelineJson;
    },
    async pipeline(id) {
      const r = await api('GET', `/api/v1/pipelines/${id}`);
      if (r.status !== 200) throw new Error(`pipeline ${id} → ${r.status}`);
      return r.body as PipelineJson;
    },
    async job(id) {
      const r = await api('GET', `/api/v1/jobs/${id}`);
      if (r.status !== 200) throw new Error(`job ${id} → ${r.status}`);
      return r.body as JobJson;
    },
    async waitFor(fn, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await fn();
        if (v) return v as never;
        if (Date.now() > deadline) throw new Error('condition not reached in time');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      await c.close();
      tmp?.dispose();
    },
  };
  return h;
}

export const byName = (p: PipelineJson): Record<string, JobJson> => {
  const out: Record<string, JobJson> = {};
  for (const j of p.jobs ?? []) if (!out[j.name] || out[j.name]!.attempt < j.attempt) out[j.name] = j;
  return out;
};
