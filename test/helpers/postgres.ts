/**
 * A real PostgreSQL server (Debian's `postgresql` package) for tests, on loopback and a Unix
 * socket in a temp dir. Recipe: /work/shared/notes/real-infrastructure-here.md.
 *
 * Fast on purpose: initdb (2–4 s here) runs once per machine into a cached template cluster that
 * every server copies (`cp -a`, ~0.5 s); fsync is off (tests, not durability: `durable: true`
 * turns it on for benchmarks); one server per test file (`sharedPostgres()`), a database per test.
 *
 * The server runs under a tiny shell watchdog whose stdin is a pipe from this process: when the
 * test process ends — normally, by an assertion or by SIGKILL — the pipe closes, the watchdog
 * stops the server and removes its dir, so no test leaves a postgres behind.
 * Runs as the `postgres` user when we are root (the server refuses root).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { freePort } from './container-infra.js';

export interface PgDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export interface PgServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** Directory holding the server's Unix socket (`host=<dir>` for libpq clients). */
  readonly socketDir: string;
  /** Milliseconds from the call to a server accepting queries (copy + start). */
  readonly startMs: number;
  url(database?: string): string;
  /** A fresh database copied from `template` (default template1); FILE_COPY: 3× faster than WAL_LOG here. */
  createDatabase(opts?: { template?: string; name?: string }): Promise<PgDatabase>;
  /** Runs SQL as the superuser on the `postgres` database (pg_terminate_backend, pg_locks …). */
  admin<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Fast shutdown (SIGINT), then the dir is removed. Idempotent. */
  stop(): Promise<void>;
}

/** The newest Debian server bin dir (/usr/lib/postgresql/<v>/bin), or FAULTLINE_PG_BIN. */
export function pgBinDir(): string | null {
  const env = process.env.FAULTLINE_PG_BIN;
  if (env) return existsSync(join(env, 'postgres')) ? env : null;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'postgres')) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], 'bin') : null;
}

const isRoot = () => process.getuid?.() === 0;
const postgresUid = (): { uid: number; gid: number } | null => {
  const u = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  return u.status === 0 && g.status === 0 ? { uid: Number(u.stdout), gid: Number(g.stdout) } : null;
};

/** Why postgres cannot run here, or null when it can. */
export function postgresMissing(): string | null {
  if (!pgBinDir()) return 'PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql: see .ci/run)';
  if (isRoot() && !postgresUid())
    return 'running as root but there is no `postgres` user to run the server as (the postgresql package creates it)';
  return null;
}

/** True when postgres can run; otherwise skips the test locally and fails it under CI=true. */
export function requirePostgres(t: TestContext): boolean {
  const missing = postgresMissing();
  if (!missing) return true;
  if (process.env.CI === 'true') throw new Error(missing);
  t.skip(missing);
  return false;
}

/** Runs a command as the server's user (root → postgres via runuser). */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function ownByServerUser(path: string): void {
  const ids = isRoot() ? postgresUid() : null;
  if (ids) chownSync(path, ids.uid, ids.gid);
}

// C locale: text sorts by bytes, as SQLite's BINARY collation does, so ORDER BY agrees across engines.
const INITDB_ARGS = ['-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '-N', '--no-instructions'];

/** The cached, freshly initdb'd cluster every server copies; created once, atomically (rename). */
function templateCluster(bin: string): string {
  const key = createHash('sha256')
    .update(`${bin}\n${INITDB_ARGS.join(' ')}`)
    .digest('hex')
    .slice(0, 12);
  const final = join(tmpdir(), `faultline-pg-template-${process.getuid?.() ?? 0}-${key}`);
  if (existsSync(join(final, 'PG_VERSION'))) return final;
  const work = mkdtempSync(`${final}.tmp-`);
  ownByServerUser(work);
  const [cmd, args] = asServerUser(join(bin, 'initdb'), ['-D', join(work, 'data'), ...INITDB_ARGS]);
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`initdb failed (${r.status}): ${r.stderr || r.stdout}`);
  }
  try {
    renameSync(join(work, 'data'), final);
  } catch {
    // another test process won the race: its template is as good as ours
  }
  rmSync(work, { recursive: true, force: true });
  return final;
}

// $1 = bin dir, $2 = base dir (data/, postgres.log, socket); the rest are server options.
const WATCHDOG = `
bin=$1; base=$2; shift 2
exec 3<&0 </dev/null
"$bin/postgres" -D "$base/data" "$@" >>"$base/postgres.log" 2>&1 3<&- &
pg=$!
( read -r _ <&3; kill -INT $pg 2>/dev/null ) &
w=$!
wait $pg; st=$?
if kill -0 $w 2>/dev/null; then kill $w; else rm -rf "$base"; fi
exit $st
`;

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('postgres exited during startup');
    const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query('SELECT 1');
      return;
    } catch (e) {
      if (Date.now() > end) throw new Error(`postgres not ready after ${timeoutMs} ms: ${(e as Error).message}`, { cause: e });
    } finally {
      await c.end().catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface StartOptions {
  /** fsync and synchronous_commit on (benchmarks); off by default (tests). */
  durable?: boolean;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
}

export async function startPostgres(opts: StartOptions = {}): Promise<PgServer> {
  const missing = postgresMissing();
  if (missing) throw new Error(missing);
  const bin = pgBinDir() as string;
  const t0 = Date.now();
  const template = templateCluster(bin);
  for (let attempt = 1; ; attempt++) {
    const base = mkdtempSync(join(tmpdir(), 'faultline-pg-'));
    const cp = spawnSync('cp', ['-a', template, join(base, 'data')], { encoding: 'utf8' });
    if (cp.status !== 0) throw new Error(`copying the template cluster failed: ${cp.stderr}`);
    ownByServerUser(base);
    const port = await freePort();
    const settings: Record<string, string | number> = {
      listen_addresses: '127.0.0.1',
      port,
      unix_socket_directories: base,
      fsync: opts.durable ? 'on' : 'off',
      synchronous_commit: opts.durable ? 'on' : 'off',
      full_page_writes: opts.durable ? 'on' : 'off',
      ...opts.settings,
    };
    const serverArgs = Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
    const [cmd, args] = asServerUser('sh', ['-c', WATCHDOG, 'sh', bin, base, ...serverArgs]);
    // detached: its own process group, so a last-resort kill reaches the server too
    const child = spawn(cmd, args, { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const url = (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`;
    try {
      await waitReady(url(), child, 30_000);
    } catch (e) {
      const log = existsSync(join(base, 'postgres.log')) ? readFileSync(join(base, 'postgres.log'), 'utf8') : '';
      child.stdin?.end();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      rmSync(base, { recursive: true, force: true });
      // the free port was taken between freePort() and bind: try another
      if (attempt < 3 && /could not bind|Address already in use/.test(log)) continue;
      throw new Error(`${(e as Error).message}\n${log.slice(-4000)}`, { cause: e });
    }
    // Never keep the test process alive for the server's sake; the pipe closes when we exit.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    const adminPool = new pg.Pool({ connectionString: url(), max: 2, allowExitOnIdle: true });
    adminPool.on('error', () => {}); // an idle admin connection killed by stop(): not a test failure
    let dbCount = 0;
    let stopped: Promise<void> | null = null;
    const server: PgServer = {
      host: '127.0.0.1',
      port,
      socketDir: base,
      startMs: Date.now() - t0,
      url,
      async admin(sql, params) {
        return (await adminPool.query(sql, params)).rows;
      },
      async createDatabase(o = {}) {
        const name = o.name ?? `t${process.pid}_${++dbCount}`;
        await adminPool.query(`CREATE DATABASE "${name}" TEMPLATE "${o.template ?? 'template1'}" STRATEGY FILE_COPY`);
        return {
          name,
          url: url(name),
          drop: async () => void (await adminPool.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
        };
      },
      stop() {
        stopped ??= (async () => {
          await adminPool.end().catch(() => {});
          child.stdin?.end();
          const killed = setTimeout(() => {
            if (child.pid) process.kill(-child.pid, 'SIGKILL');
          }, 15_000);
          await exited;
          clearTimeout(killed);
          rmSync(base, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
    return server;
  }
}

let shared: Promise<PgServer> | null = null;
/**
 * One server for the whole test process (a test file), started on first use and stopped when
 * the process exits (by the watchdog). Tests take a database each (`createDatabase`).
 */
export function sharedPostgres(): Promise<PgServer> {
  shared ??= startPostgres();
  return shared;
}
