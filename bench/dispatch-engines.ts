/**
 * Dispatch on each store (issue 15): jobs handed out per second and pickup latency for SQLite
 * (one coordinator), PostgreSQL with one coordinator and PostgreSQL with two coordinators on one
 * database, in one run, next to each other.
 *
 * - Coordinators are child processes (`bin/faultline.js coordinator`), one per coordinator, so two
 *   of them do not share an event loop with each other or with this client; the same for SQLite.
 * - PostgreSQL is Debian's server (test/helpers/postgres.ts) with its durable defaults (fsync and
 *   synchronous_commit on), a fresh database per setup. SQLite is the coordinator's own file (WAL).
 * - Real HTTP on the runner API: runners register, long-poll `POST /api/v1/jobs/request` and
 *   report each job finished with `PUT /api/v1/jobs/:id`. With two coordinators the runners are
 *   split between them and pipelines are created on both, alternately.
 * - Throughput: RUNNERS runner loops drain TOTAL pending jobs; the clock stops at the last one.
 *   ROUNDS rounds, each setup in turn within a round (the first one rotating): the setups stay up
 *   side by side, so a noisy neighbour on this shared machine slows all of them rather than one.
 *   Each figure is the median over the rounds (its range beside it), and the ratios are medians of
 *   the same round's ratios. Between rounds the setup's pipelines are waited terminal, so its
 *   finisher's tail is not billed to the next setup.
 * - Engine catch-ups per job: steps whose engine was behind another coordinator's steps (or
 *   missing), from the coordinators' faultline_engine_catchups_total: how much the two
 *   coordinators stepped the same pipelines by turns.
 * - Pickup: from the job's `queued_at` (the coordinator's clock when the job became pending, read
 *   from the database afterwards) to the moment the runner's request received it (this process's
 *   clock; same machine). Runners are already parked; one single-job pipeline at a time.
 *   PostgreSQL ×2 also measures the wake path alone: created on one coordinator, the only
 *   runners parked on the other (LISTEN/NOTIFY).
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { newToken } from '../src/coordinator/store/tokens.js';
import type { JobPayload } from '../src/protocol/runner-api.js';
import { startPostgres, type PgServer } from '../test/helpers/postgres.js';
import { cpuSeconds, selfCpuSeconds } from './cpu.js';
import { median, percentile } from './percentile.js';

const RUNNERS = 50;
const TOTAL = 400;
/** A round not done by then is a failure (its jobs were lost), not a longer wait. */
const ROUND_DEADLINE_MS = 120_000;
/** BENCH_ROUNDS: throughput rounds per setup (default 5). */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
/** Of 300, the p99 is the 297th: one stray sample moves it less than it moved the 99th of 100. */
const PICKUPS = 300;
const PICKUP_RUNNERS = 10;
/** BENCH_ENGINES=pg1,pg2 runs only those setups (for profiling one). */
const ONLY = (process.env.BENCH_ENGINES ?? '').split(',').filter(Boolean);
/** BENCH_CPU_PROF=dir: each coordinator writes a V8 CPU profile there when it stops. */
const CPU_PROF = process.env.BENCH_CPU_PROF;
/** BENCH_COORDINATOR_LOGS=dir: each coordinator's output (warnings and errors) goes to a file there. */
const LOGS = process.env.BENCH_COORDINATOR_LOGS;
/** BENCH_PG_STATEMENTS=1: print PostgreSQL's statement counts of each throughput phase (pg_stat_statements), and `*_statements_sent_per_job`: those the coordinators sent, one round trip each. */
const PG_STATEMENTS = process.env.BENCH_PG_STATEMENTS === '1';
/** BENCH_PG_POOL=n: each PostgreSQL coordinator's --database-pool-size (default: the coordinator's, 10). */
const PG_POOL = process.env.BENCH_PG_POOL;
const BIN = new URL('../bin/faultline.js', import.meta.url).pathname;

interface Coord {
  url: string;
  child: ChildProcess;
}

interface Setup {
  coords: Coord[];
  apiToken: string;
  registrationToken: string;
  /** The PostgreSQL server's postmaster, whose children are its backends. */
  pgPid?: number;
  /** SQL as the superuser (PostgreSQL). */
  admin?: PgServer['admin'];
  /** queued_at (ms since the epoch) of these jobs, from the database. */
  queuedAt(ids: number[]): Promise<Map<number, number>>;
  stop(): Promise<void>;
}

/**
 * The wall clock, as the coordinator's queued_at is. Not timeOrigin + performance.now(): that is
 * the monotonic clock, and while the wall clock is being slewed the two part by milliseconds per
 * second (measured 5 ms/s here), which made pickups come out negative.
 */
const nowMs = () => Date.now();

async function startCoordinator(dataDir: string, databaseUrl?: string): Promise<Coord> {
  const args = [
    ...(CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []),
    BIN,
    'coordinator',
    '--port',
    '0',
    '--data',
    dataDir,
    '--heartbeat-timeout',
    '600',
  ];
  if (databaseUrl) args.push('--database-url', databaseUrl, ...(PG_POOL ? ['--database-pool-size', PG_POOL] : []));
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FAULTLINE_LOG_LEVEL: 'warn', NO_COLOR: '1' },
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`coordinator did not start in 60 s:\n${out}`)), 60_000);
    const seen = (b: Buffer) => {
      if (LOGS) appendFileSync(join(LOGS, `coordinator-${child.pid}.log`), b);
      out += b.toString();
      const m = /coordinator listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', seen);
    child.stderr!.on('data', seen);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`coordinator exited (${code}) before listening:\n${out}`));
    });
  });
  return { url, child };
}

async function stopCoordinator(c: Coord): Promise<void> {
  if (c.child.exitCode !== null) return;
  const exited = new Promise((r) => c.child.once('exit', r));
  c.child.kill('SIGTERM');
  const t = setTimeout(() => c.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

/** Data dirs holding the same tokens, so every coordinator of a database accepts them. */
function dataDirs(n: number): { dirs: string[]; apiToken: string; registrationToken: string } {
  const apiToken = newToken('flapi_');
  const registrationToken = newToken('flreg_');
  const dirs = Array.from({ length: n }, () => {
    const d = mkdtempSync(join(tmpdir(), 'faultline-bench-engines-'));
    writeFileSync(join(d, 'api-token'), `${apiToken}\n`, { mode: 0o600 });
    writeFileSync(join(d, 'registration-token'), `${registrationToken}\n`, { mode: 0o600 });
    return d;
  });
  return { dirs, apiToken, registrationToken };
}

async function sqliteSetup(): Promise<Setup> {
  const { dirs, apiToken, registrationToken } = dataDirs(1);
  const coords = [await startCoordinator(dirs[0]!)];
  return {
    coords,
    apiToken,
    registrationToken,
    async queuedAt(ids) {
      const db = new Database(join(dirs[0]!, 'faultline.db'), { readonly: true, fileMustExist: true });
      try {
        const get = db.prepare('SELECT queued_at FROM jobs WHERE id = ?');
        return new Map(ids.map((id) => [id, (get.get(id) as { queued_at: number }).queued_at]));
      } finally {
        db.close();
      }
    },
    async stop() {
      await Promise.all(coords.map(stopCoordinator));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

async function pgSetup(server: PgServer, n: number): Promise<Setup> {
  const db = await server.createDatabase();
  const { dirs, apiToken, registrationToken } = dataDirs(n);
  const coords: Coord[] = [];
  for (const d of dirs) coords.push(await startCoordinator(d, db.url)); // one by one: the first migrates
  const pgPid = Number(readFileSync(join(server.socketDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  return {
    coords,
    apiToken,
    registrationToken,
    pgPid,
    admin: (sql, params) => server.admin(sql, params),
    async queuedAt(ids) {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const r = await c.query<{ id: number; queued_at: string }>('SELECT id, queued_at FROM jobs WHERE id = ANY($1::bigint[])', [ids]);
        return new Map(r.rows.map((x) => [Number(x.id), Number(x.queued_at)]));
      } finally {
        await c.end();
      }
    },
    async stop() {
      await Promise.all(coords.map(stopCoordinator));
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
      await db.drop();
    },
  };
}

async function register(url: string, registrationToken: string, name: string, tags: string[]): Promise<string> {
  const r = await fetch(`${url}/api/v1/runners/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      registration_token: registrationToken,
      name,
      tags,
      run_untagged: tags.length === 0,
      executor: 'shell',
      concurrency: 1,
    }),
  });
  if (r.status !== 201) throw new Error(`register → ${r.status} ${await r.text()}`);
  return ((await r.json()) as { token: string }).token;
}

async function createPipeline(s: Setup, url: string, yaml: string, ref: string): Promise<number> {
  const r = await fetch(`${url}/api/v1/pipelines`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.apiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ yaml, ref }),
  });
  if (r.status !== 201) throw new Error(`create pipeline → ${r.status} ${await r.text()}`);
  return ((await r.json()) as { id: number }).id;
}

/** Waits until these pipelines are terminal (their last finishes stepped), 60 s at most. */
async function settled(s: Setup, url: string, ids: number[]): Promise<void> {
  const until = Date.now() + 60_000;
  for (const id of ids) {
    for (;;) {
      const r = await fetch(`${url}/api/v1/pipelines/${id}`, { headers: { authorization: `Bearer ${s.apiToken}` } });
      const status = ((await r.json()) as { status: string }).status;
      if (['success', 'failed', 'canceled', 'skipped'].includes(status)) break;
      if (Date.now() > until) throw new Error(`pipeline ${id} still ${status} after 60 s`);
      await new Promise((res) => setTimeout(res, 20));
    }
  }
}

/** One long-poll; null on 204 or when `signal` aborted it. */
async function requestJob(url: string, token: string, signal: AbortSignal): Promise<JobPayload | null> {
  try {
    const r = await fetch(`${url}/api/v1/jobs/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'runner-token': token },
      body: '{}',
      signal,
    });
    if (r.status === 204) return null;
    if (r.status !== 201) throw new Error(`job request → ${r.status} ${await r.text()}`);
    return (await r.json()) as JobPayload;
  } catch (e) {
    if (signal.aborted) return null;
    throw e;
  }
}

async function finishJob(url: string, job: JobPayload): Promise<void> {
  const r = await fetch(`${url}/api/v1/jobs/${job.id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'job-token': job.token },
    body: '{"state":"success","exit_code":0}',
  });
  if (r.status !== 200) throw new Error(`final update of job ${job.id} → ${r.status} ${await r.text()}`);
  await r.arrayBuffer();
}

function pipelineYaml(jobs: number): string {
  let y = 'stages: [test]\n';
  for (let i = 0; i < jobs; i++) y += `j${i}:\n  stage: test\n  needs: []\n  script: echo ${i}\n`;
  return y;
}

/**
 * `n` runners registered round-robin on the coordinators. Each phase has its own runners and tag
 * (`tags` empty: untagged jobs only), so a long-poll of an earlier phase still parked on a
 * coordinator never takes a later phase's job.
 */
async function runners(s: Setup, coords: Coord[], n: number, tag: string, tags: string[]): Promise<Array<{ url: string; token: string }>> {
  const out: Array<{ url: string; token: string }> = [];
  for (let i = 0; i < n; i++) {
    const url = coords[i % coords.length]!.url;
    out.push({ url, token: await register(url, s.registrationToken, `${tag}-${i}`, tags) });
  }
  return out;
}

/** Prints the phase's statements (nested ones too) and returns those the coordinators sent (round trips) per job. */
async function printStatements(s: Setup): Promise<number> {
  const rows = await s.admin!<{ calls: string; ms: string; q: string }>(
    `SELECT calls, round(total_exec_time::numeric, 1) AS ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS q
     FROM pg_stat_statements WHERE calls >= 10 ORDER BY calls DESC`,
  );
  for (const r of rows) process.stderr.write(`  ${r.calls.padStart(6)} ${r.ms.padStart(9)} ms  ${r.q}\n`);
  const [top] = await s.admin!<{ n: string }>('SELECT COALESCE(SUM(calls), 0) AS n FROM pg_stat_statements WHERE toplevel');
  return Number(top!.n) / TOTAL;
}

/** CPU seconds so far of the coordinators, the database server and this client (the runners). */
function cpuNow(s: Setup): { coordinators: number; postgres: number; client: number } {
  return {
    coordinators: s.coords.reduce((t, c) => t + cpuSeconds(c.child.pid!), 0),
    postgres: s.pgPid ? cpuSeconds(s.pgPid, true) : 0,
    client: selfCpuSeconds(),
  };
}

interface Throughput {
  jobsPerS: number;
  /** CPU milliseconds per job handed out and finished, by whom; `busy` is all of them over wall time and cores. */
  cpuMsPerJob: { coordinators: number; postgres: number; client: number };
  busy: number;
  /** Engine steps per job that first caught up with another coordinator's (faultline_engine_catchups_total). */
  catchupsPerJob: number;
}

/** The coordinators' engine catch-ups so far (refreshed + rebuilt), from their /metrics. */
async function catchups(s: Setup): Promise<number> {
  let n = 0;
  for (const c of s.coords) {
    const text = await (await fetch(`${c.url}/metrics`)).text();
    for (const m of text.matchAll(/^faultline_engine_catchups_total\{[^}]*\} (\d+)$/gm)) n += Number(m[1]);
  }
  return n;
}

/** One round: TOTAL jobs in 200-job pipelines created on the coordinators in turn, drained by `rs`. */
async function throughput(s: Setup, rs: Array<{ url: string; token: string }>, round: number): Promise<Throughput> {
  const ids: number[] = [];
  for (let i = 0; i < TOTAL / 200; i++)
    ids.push(await createPipeline(s, s.coords[i % s.coords.length]!.url, pipelineYaml(200), `tp-${round}-${i}`));
  const caught0 = await catchups(s);
  const stop = new AbortController();
  let jobs = 0;
  let doneAt = 0;
  const cpu0 = cpuNow(s);
  let cpuEnd = cpu0;
  const t0 = performance.now();
  const loops = rs.map(async (r) => {
    while (!stop.signal.aborted) {
      const job = await requestJob(r.url, r.token, stop.signal);
      if (!job) continue;
      await finishJob(r.url, job);
      if (++jobs === TOTAL) {
        doneAt = performance.now();
        cpuEnd = cpuNow(s);
        stop.abort(); // the others' parked long-polls go away (the coordinator drops their waiters)
      }
    }
  });
  // A job claimed for a request nobody reads (it stays running) would leave the loops waiting forever.
  const deadline = setTimeout(() => stop.abort(), ROUND_DEADLINE_MS);
  await Promise.all(loops);
  clearTimeout(deadline);
  if (jobs !== TOTAL) throw new Error(`handed out ${jobs} of ${TOTAL} jobs in ${ROUND_DEADLINE_MS / 1000} s`);
  await settled(s, s.coords[0]!.url, ids);
  const wallS = (doneAt - t0) / 1000;
  const per = (k: keyof typeof cpu0) => ((cpuEnd[k] - cpu0[k]) * 1000) / TOTAL;
  const cpuMsPerJob = { coordinators: per('coordinators'), postgres: per('postgres'), client: per('client') };
  const used = ((cpuMsPerJob.coordinators + cpuMsPerJob.postgres + cpuMsPerJob.client) * TOTAL) / 1000;
  const catchupsPerJob = ((await catchups(s)) - caught0) / TOTAL;
  return { jobsPerS: TOTAL / wallS, cpuMsPerJob, busy: used / wallS / availableParallelism(), catchupsPerJob };
}

/** Pickup latencies (ms): pipelines created on `createOn` in turn, runners parked on `parkOn`. */
async function pickup(s: Setup, createOn: Coord[], parkOn: Coord[], tag: string): Promise<number[]> {
  const rs = await runners(s, parkOn, PICKUP_RUNNERS, tag, [tag]);
  const stop = new AbortController();
  const received = new Map<number, number>();
  let picked: (() => void) | null = null;
  const loops = rs.map(async (r) => {
    while (!stop.signal.aborted) {
      const job = await requestJob(r.url, r.token, stop.signal);
      if (!job) continue;
      received.set(job.id, nowMs());
      await finishJob(r.url, job);
      picked?.();
    }
  });
  for (let i = 0; i < PICKUPS; i++) {
    await new Promise((r) => setTimeout(r, 5)); // let the runner that took the last job park again
    const done = new Promise<void>((r) => (picked = r));
    await createPipeline(s, createOn[i % createOn.length]!.url, `one:\n  tags: [${tag}]\n  script: echo 1\n`, `${tag}-${i}`);
    await done;
  }
  stop.abort();
  await Promise.all(loops);
  const queued = await s.queuedAt([...received.keys()]);
  return [...received].map(([id, at]) => at - queued.get(id)!).sort((a, b) => a - b);
}

const round1 = (x: number) => +x.toFixed(1);
const round2 = (x: number) => +x.toFixed(2);

export async function benchDispatchEngines(): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {
    engines_coordinators_as: 'child processes',
    engines_rounds: ROUNDS,
    engines_pg_pool_size: PG_POOL ? Number(PG_POOL) : 10,
  };
  const keys = (['sqlite', 'pg1', 'pg2'] as const).filter((k) => !ONLY.length || ONLY.includes(k));
  const step = (key: string, what: string) => process.stderr.write(`dispatch-engines: ${key} ${what}\n`);
  const server = await startPostgres({
    durable: true,
    settings: PG_STATEMENTS ? { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' } : {},
  });
  const setups = new Map<string, Setup>();
  try {
    if (PG_STATEMENTS) await server.admin('CREATE EXTENSION pg_stat_statements');
    for (const k of keys) setups.set(k, k === 'sqlite' ? await sqliteSetup() : await pgSetup(server, k === 'pg1' ? 1 : 2));
    const tpRunners = new Map<string, Array<{ url: string; token: string }>>();
    for (const [k, s] of setups) tpRunners.set(k, await runners(s, s.coords, RUNNERS, 'tp', []));
    const rounds = new Map<string, Throughput[]>(keys.map((k) => [k, []]));
    const sent = new Map<string, number[]>(keys.map((k) => [k, []]));
    // Round 0 warms each setup up (JIT, pools, caches) and is not counted.
    for (let r = -1; r < ROUNDS; r++) {
      for (let i = 0; i < keys.length; i++) {
        const k = keys[(r + 1 + i) % keys.length]!;
        const s = setups.get(k)!;
        step(k, r < 0 ? 'throughput warm-up' : `throughput round ${r + 1}/${ROUNDS}`);
        if (PG_STATEMENTS && s.pgPid) await s.admin!('SELECT pg_stat_statements_reset()');
        const tp = await throughput(s, tpRunners.get(k)!, r + 1);
        if (r >= 0) rounds.get(k)!.push(tp);
        if (PG_STATEMENTS && s.pgPid) {
          const perJob = await printStatements(s);
          if (r >= 0) sent.get(k)!.push(perJob);
        }
      }
    }
    for (const [k, tps] of rounds) {
      const rates = tps.map((t) => t.jobsPerS);
      out[`${k}_dispatch_jobs_per_s`] = round1(median(rates));
      out[`${k}_dispatch_jobs_per_s_range`] = `${round1(Math.min(...rates))}–${round1(Math.max(...rates))}`;
      for (const part of ['coordinators', 'postgres', 'client'] as const)
        out[`${k}_cpu_ms_per_job_${part === 'client' ? 'runners_client' : part}`] = round2(median(tps.map((t) => t.cpuMsPerJob[part])));
      out[`${k}_cores_busy`] = round2(median(tps.map((t) => t.busy)));
      out[`${k}_engine_catchups_per_job`] = round2(median(tps.map((t) => t.catchupsPerJob)));
      if (sent.get(k)!.length) out[`${k}_statements_sent_per_job`] = round1(median(sent.get(k)!));
    }
    for (const [k, s] of setups) {
      step(k, 'pickup');
      const lat = await pickup(s, s.coords, s.coords, 'lat');
      out[`${k}_pickup_p50_ms`] = round1(percentile(lat, 50));
      out[`${k}_pickup_p99_ms`] = round1(percentile(lat, 99));
      if (s.coords.length > 1) {
        step(k, 'pickup across coordinators');
        const x = await pickup(s, [s.coords[0]!], [s.coords[1]!], 'cross');
        out[`${k}_cross_pickup_p50_ms`] = round1(percentile(x, 50));
        out[`${k}_cross_pickup_p99_ms`] = round1(percentile(x, 99));
      }
    }
    /** The median of the rounds' own ratios (a round's two setups ran back to back). */
    const ratio = (a: string, b: string) => {
      const ra = rounds.get(a);
      const rb = rounds.get(b);
      if (!ra || !rb) return;
      const each = ra.map((t, i) => t.jobsPerS / rb[i]!.jobsPerS);
      out[`${a}_over_${b}_dispatch_ratio`] = +median(each).toFixed(3);
      out[`${a}_over_${b}_dispatch_ratio_range`] = `${Math.min(...each).toFixed(2)}–${Math.max(...each).toFixed(2)}`;
    };
    ratio('pg1', 'sqlite');
    ratio('pg2', 'pg1');
  } finally {
    for (const [k, s] of setups) {
      step(k, 'stop');
      await s.stop();
    }
    await server.stop();
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await benchDispatchEngines());
