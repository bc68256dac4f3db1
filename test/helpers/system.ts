/**
 * Real processes for integration tests: a coordinator and runners started through
 * the `faultline` CLI (bin/faultline.js), talking real HTTP, with a real SQLite file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before } from 'node:test';
import type { JobJson, PipelineJson } from '../../src/protocol/user-api.js';
import { tempDir } from './tmp.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/faultline.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Proc {
  child: ChildProcess;
  output: () => string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  kill: (sig?: NodeJS.Signals) => Promise<number | null>;
}

export function spawnFaultline(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    output: () => out,
    exited,
    kill: async (sig = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
      return exited;
    },
  };
}

// Generous: on a loaded 2-core machine a cold `node bin/faultline.js` takes over 20 s to listen.
async function waitForOutput(p: Proc, re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = p.output().match(re);
    if (m) return m;
    if (p.child.exitCode !== null) throw new Error(`process exited (${p.child.exitCode}) before ${re}:\n${p.output()}`);
    if (Date.now() > deadline) {
      p.child.kill('SIGKILL'); // a process left running would keep the test file from ever exiting
      throw new Error(`timed out waiting for ${re}:\n${p.output()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface CoordinatorProc extends Proc {
  url: string;
  port: number;
  apiToken: string;
  registrationToken: string;
}

export async function startCoordinator(opts: {
  dataDir: string;
  port?: number;
  heartbeatTimeoutSec?: number;
  extraArgs?: string[];
  env?: Record<string, string>;
}): Promise<CoordinatorProc> {
  const port = opts.port ?? (await freePort());
  const p = spawnFaultline(
    [
      'coordinator',
      '--port',
      String(port),
      '--data',
      opts.dataDir,
      '--heartbeat-timeout',
      String(opts.heartbeatTimeoutSec ?? 3),
      ...(opts.extraArgs ?? []),
    ],
    opts.env,
  );
  const url = (await waitForOutput(p, /listening on (http:\/\/\S+)/))[1]!;
  // The coordinator prints its tokens only on the start that creates them; they are always in the data dir.
  const registrationToken = readFileSync(join(opts.dataDir, 'registration-token'), 'utf8').trim();
  const apiToken = readFileSync(join(opts.dataDir, 'api-token'), 'utf8').trim();
  return { ...p, url, port, apiToken, registrationToken };
}

/** A runner process: from command-line options, or from a config.toml (`config`) that names its coordinators itself. */
export async function startRunnerProcess(
  opts:
    | {
        url: string;
        registrationToken: string;
        name?: string;
        concurrency?: number;
        tags?: string[];
        executor?: string;
        extraArgs?: string[];
        env?: Record<string, string>;
      }
    | { config: string; env?: Record<string, string> },
): Promise<Proc> {
  const args =
    'config' in opts
      ? ['runner', '--config', opts.config]
      : [
          'runner',
          '--url',
          opts.url,
          '--registration-token',
          opts.registrationToken,
          '--name',
          opts.name ?? 'test-runner',
          '--executor',
          opts.executor ?? 'shell',
          '--concurrency',
          String(opts.concurrency ?? 2),
          '--tags',
          (opts.tags ?? []).join(','),
          ...(opts.extraArgs ?? []),
        ];
  const p = spawnFaultline([...args, '--heartbeat', '0.5'], opts.env);
  await waitForOutput(p, /polling/);
  return p;
}

/** A user-API client bound to one coordinator. */
export function userApi(url: string | (() => string), token: string | (() => string)) {
  const at = (v: string | (() => string)) => (typeof v === 'function' ? v() : v);
  async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(at(url) + path, {
      method,
      headers: { authorization: `Bearer ${at(token)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text) as T };
  }
  const ok = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await call<T>(method, path, body);
    if (r.status >= 400) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  return {
    call,
    createPipeline: (yaml: string, extra: Record<string, unknown> = {}) =>
      ok<PipelineJson>('POST', '/api/v1/pipelines', { yaml, ref: 'main', ...extra }),
    pipeline: (id: number) => ok<PipelineJson>('GET', `/api/v1/pipelines/${id}`),
    job: (id: number) => ok<JobJson>('GET', `/api/v1/jobs/${id}`),
    trace: (id: number) => ok<string>('GET', `/api/v1/jobs/${id}/trace`),
    play: (id: number) => ok<JobJson>('POST', `/api/v1/jobs/${id}/play`),
    cancelJob: (id: number) => ok<JobJson>('POST', `/api/v1/jobs/${id}/cancel`),
    retry: (id: number) => ok<JobJson>('POST', `/api/v1/jobs/${id}/retry`),
    cancelPipeline: (id: number) => ok<PipelineJson>('POST', `/api/v1/pipelines/${id}/cancel`),
    /** Poll until `pred` holds (default: pipeline terminal and failed jobs classified). */
    async waitPipeline(
      id: number,
      pred: (p: PipelineJson) => boolean = (p) =>
        ['success', 'failed', 'canceled', 'skipped', 'blocked'].includes(p.status) &&
        (p.jobs ?? []).every((j) => j.status !== 'failed' || j.failure !== null),
      timeoutMs = 30_000,
    ): Promise<PipelineJson> {
      const deadline = Date.now() + timeoutMs;
      let last: PipelineJson | undefined;
      for (;;) {
        last = await ok<PipelineJson>('GET', `/api/v1/pipelines/${id}`);
        if (pred(last)) return last;
        if (Date.now() > deadline) throw new Error(`pipeline ${id} did not reach the state in time: ${JSON.stringify(summarize(last))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

export function summarize(p: PipelineJson) {
  return { status: p.status, jobs: Object.fromEntries((p.jobs ?? []).map((j) => [`${j.name}#${j.attempt}`, j.display_status])) };
}

/** Latest attempt of each job by name. */
export function jobsByName(p: PipelineJson): Record<string, JobJson> {
  const out: Record<string, JobJson> = {};
  for (const j of p.jobs ?? []) if (!out[j.name] || out[j.name]!.attempt < j.attempt) out[j.name] = j;
  return out;
}

/**
 * One coordinator process and one runner process shared by the tests of a `describe`
 * block: started in `before`, stopped (and the temp dir removed) in `after`.
 * Read the fields inside tests, not at describe time.
 */
export function sharedSystem(opts: { heartbeatTimeoutSec?: number; concurrency?: number } = {}) {
  const dir = tempDir();
  const s = { dir: dir.path } as { dir: string; coord: CoordinatorProc; runner: Proc; api: ReturnType<typeof userApi> };
  // The API client resolves the coordinator's address when called, so it can be taken now.
  s.api = userApi(
    () => s.coord.url,
    () => s.coord.apiToken,
  );
  before(async () => {
    s.coord = await startCoordinator({ dataDir: join(dir.path, 'data'), heartbeatTimeoutSec: opts.heartbeatTimeoutSec });
    s.runner = await startRunnerProcess({
      url: s.coord.url,
      registrationToken: s.coord.registrationToken,
      concurrency: opts.concurrency ?? 4,
    });
  });
  after(async () => {
    await s.runner?.kill();
    await s.coord?.kill();
    dir.dispose();
  });
  return s;
}
