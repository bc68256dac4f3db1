/**
 * Shared helpers for coordinator tests: a real coordinator on port 0 in a temp dir, real HTTP,
 * on the embedded SQLite store or (`engine`) on a real PostgreSQL database.
 *
 *   forEachCoordinatorEngine('user API', (harness, engine) => {
 *     test('…', async () => { const h = await harness({ longPollMs: 200 }); … });
 *   });
 *
 * declares `describe('user API [sqlite]')` and `describe('user API [postgres]')`, the second on
 * the file's one PostgreSQL server (with-postgres.ts: skipped locally without it, a failure under
 * CI=true), each harness on a database of its own — the same one again for a data dir reopened
 * (a restart).
 */
import { describe } from 'node:test';
import { createCoordinator, type Coordinator, type CoordinatorOptions } from '../../src/coordinator/index.js';
import type { JobPayload, JobUpdateRequest } from '../../src/protocol/runner-api.js';
import type { JobJson, PipelineJson } from '../../src/protocol/user-api.js';
import type { PgDatabase } from '../helpers/postgres.js';
import { ENGINE_NAMES, selectedEngines, type EngineName } from '../helpers/store-engines.js';
import { tempDir } from '../helpers/tmp.js';
import { migratedTemplate, withPostgres, type PgSuite } from '../helpers/with-postgres.js';

/** Where a harness keeps its state besides the data dir: none (SQLite), or a PostgreSQL database. */
export interface HarnessEngine {
  readonly name: EngineName;
  /** The database URL for a coordinator on `dataDir` (undefined: the embedded SQLite file). */
  databaseUrl(dataDir: string): Promise<string | undefined>;
  /** After the coordinator on `dataDir` closed; `reopenable`: the test owns the dir and may start on it again. */
  released(dataDir: string, reopenable: boolean): Promise<void>;
}

export const SQLITE: HarnessEngine = { name: 'sqlite', databaseUrl: async () => undefined, released: async () => {} };

/**
 * Databases copied from the migrated template, one per data dir, dropped when its coordinator
 * closes; one for a data dir the test reopens lives until the file's server stops at exit.
 */
function postgresEngine(pg: PgSuite): HarnessEngine {
  const dbs = new Map<string, Promise<PgDatabase>>();
  return {
    name: 'postgres',
    async databaseUrl(dataDir) {
      let db = dbs.get(dataDir);
      if (!db) dbs.set(dataDir, (db = (async () => pg.server.createDatabase({ template: await migratedTemplate() }))()));
      return (await db).url;
    },
    async released(dataDir, reopenable) {
      const db = dbs.get(dataDir);
      if (!db || reopenable) return;
      dbs.delete(dataDir);
      await (await db).drop();
    },
  };
}

export type HarnessFn = (opts?: Partial<CoordinatorOptions>, dir?: string) => Promise<Harness>;

/** The suite `body` once per selected engine, its `harness` opening coordinators on that engine. */
export function forEachCoordinatorEngine(
  name: string,
  body: (harness: HarnessFn, engine: EngineName) => void,
  opts: { engines?: readonly EngineName[] } = {},
): void {
  for (const engine of (opts.engines ?? ENGINE_NAMES).filter((e) => selectedEngines().includes(e))) {
    if (engine === 'sqlite') describe(`${name} [sqlite]`, () => body((o, dir) => harness({ ...o, engine: SQLITE }, dir), 'sqlite'));
    else
      withPostgres(
        `${name} [postgres]`,
        (pg) => {
          const e = postgresEngine(pg);
          body((o, dir) => harness({ ...o, engine: e }, dir), 'postgres');
        },
        { migratedTemplate: true },
      );
  }
}

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

export async function harness(
  { engine = SQLITE, ...opts }: Partial<CoordinatorOptions> & { engine?: HarnessEngine } = {},
  dir?: string,
): Promise<Harness> {
  const tmp = dir ? null : tempDir('faultline-coord-');
  const dataDir = dir ?? tmp!.path;
  const databaseUrl = opts.databaseUrl ?? (await engine.databaseUrl(dataDir));
  let c: Coordinator;
  try {
    c = await createCoordinator({ dataDir, port: 0, ...(databaseUrl ? { databaseUrl } : {}), ...opts });
  } catch (err) {
    await engine.released(dataDir, !tmp);
    tmp?.dispose();
    throw err;
  }
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
      await engine.released(dataDir, !tmp);
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
