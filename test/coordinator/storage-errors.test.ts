/**
 * Storage failures are named: disk full and a locked database answer 503 with the cause
 * and /healthz reflects the store; a data dir that cannot be used is refused at start-up
 * naming the path and what is wrong; a second coordinator on one data dir is refused
 * with the first one's PID.
 *
 * "Disk full" is SQLite's own SQLITE_FULL, produced by capping the database's pages
 * (PRAGMA max_page_count) — the error a full disk gives, without filling a disk here.
 */
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCoordinator } from '../../src/coordinator/index.js';
import { spawnFaultline } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { harness, type Harness } from './helpers.js';

const bigYaml = (n: number) =>
  `big:\n  script:\n${Array.from({ length: n }, (_, i) => `    - echo line ${i} ${'x'.repeat(60)}\n`).join('')}`;

describe('storage failures at run time', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ longPollMs: 200 });
  });
  after(() => h.close());

  const healthz = async () => {
    const r = await fetch(`${h.c.url}/healthz`);
    return { status: r.status, body: (await r.json()) as { ok: boolean; store: { ok: boolean; cause?: string; error?: string } } };
  };

  test('disk full (SQLITE_FULL): 503 naming the cause and the file, /healthz 503 until a write goes through again', async () => {
    assert.equal((await healthz()).status, 200);
    const db = h.c.store.db;
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages}`);
    try {
      const r = await h.api('POST', '/api/v1/pipelines', { yaml: bigYaml(3000), ref: 'main' });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.cause, 'storage_full');
      assert.match(r.body.error, /storage full: the disk holding .*faultline\.db is full/);
      const hz = await healthz();
      assert.equal(hz.status, 503);
      assert.equal(hz.body.store.cause, 'storage_full');
    } finally {
      db.pragma('max_page_count = 1073741823');
    }
    assert.equal((await h.api('POST', '/api/v1/pipelines', { yaml: bigYaml(10), ref: 'main' })).status, 201);
    assert.equal((await healthz()).status, 200);
  });

  test('a database locked by another process (SQLITE_BUSY): 503 with Retry-After, /healthz 503 at once', async () => {
    const other = new Database(join(h.dir, 'faultline.db'));
    const db = h.c.store.db;
    db.pragma('busy_timeout = 50'); // the real one waits 5 s first; the answer is the same
    other.exec('BEGIN IMMEDIATE');
    try {
      const hz = await healthz();
      assert.equal(hz.status, 503);
      assert.equal(hz.body.store.cause, 'storage_busy');
      assert.match(hz.body.store.error ?? '', /locked by another process/);
      const r = await h.api('POST', '/api/v1/pipelines', { yaml: bigYaml(1), ref: 'main' });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.cause, 'storage_busy');
      assert.equal(r.headers.get('retry-after'), '5');
    } finally {
      other.exec('ROLLBACK');
      other.close();
      db.pragma('busy_timeout = 5000');
    }
    assert.equal((await healthz()).status, 200);
  });
});

describe('data directory at start-up', () => {
  test('a data dir below a regular file: the error names the path and the problem', async () => {
    const tmp = tempDir('faultline-datadir-');
    try {
      writeFileSync(join(tmp.path, 'file'), 'x');
      const dir = join(tmp.path, 'file', 'data');
      await assert.rejects(createCoordinator({ dataDir: dir, port: 0 }), (e: Error) => {
        assert.match(e.message, new RegExp(`cannot create the data directory ${dir}: a part of the path is not a directory \\[ENOTDIR\\]`));
        return true;
      });
    } finally {
      tmp.dispose();
    }
  });

  test('a read-only data dir (real process; as root it runs as nobody): exit 1 naming the path, "permission denied"', async () => {
    const tmp = tempDir('faultline-ro-');
    try {
      const ro = join(tmp.path, 'ro');
      mkdirSync(ro);
      chmodSync(tmp.path, 0o755);
      chmodSync(ro, 0o555);
      const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
      const child = spawn(
        process.execPath,
        [new URL('../../bin/faultline.js', import.meta.url).pathname, 'coordinator', '--port', '0', '--data', join(ro, 'data')],
        {
          ...asNobody,
          env: { ...process.env, NO_COLOR: '1', HOME: tmp.path },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      assert.equal(code, 1, out);
      assert.match(out, new RegExp(`cannot create the data directory ${join(ro, 'data')}: permission denied \\[EACCES\\]; check ${ro}`));
    } finally {
      tmp.dispose();
    }
  });

  test("a second coordinator (a real process) on the same data dir is refused with the first one's PID; a dead one's lock is taken over", async () => {
    const tmp = tempDir('faultline-lock-');
    const lockPath = join(tmp.path, 'coordinator.lock');
    const readLock = () => JSON.parse(readFileSync(lockPath, 'utf8')) as { pid: number; host: string };
    try {
      const first = await createCoordinator({ dataDir: tmp.path, port: 0 });
      try {
        assert.equal(readLock().pid, process.pid);
        const second = spawnFaultline(['coordinator', '--port', '0', '--data', tmp.path]);
        assert.equal(await second.exited, 1, second.output());
        assert.match(
          second.output(),
          new RegExp(`data directory ${tmp.path} is in use by another coordinator \\(pid ${process.pid} on ${hostname()}`),
        );
        assert.match(second.output(), /coordinator\.lock/);
      } finally {
        await first.close();
      }
      assert.throws(() => readFileSync(lockPath), /ENOENT/, 'close() releases the lock');

      // A coordinator killed with SIGKILL leaves its lock behind: its PID is gone, the next one takes over.
      const dead = spawn('true');
      await new Promise((r) => dead.once('exit', r));
      writeFileSync(lockPath, JSON.stringify({ pid: dead.pid, host: hostname(), started_at: new Date().toISOString() }));
      const next = await createCoordinator({ dataDir: tmp.path, port: 0 });
      assert.equal(readLock().pid, process.pid);
      // In this process a second coordinator is refused too …
      await assert.rejects(createCoordinator({ dataDir: tmp.path, port: 0 }), /in use by another coordinator/);
      await next.close();
      // … but a lock with this PID that this process does not hold is a former incarnation's
      // (a restarted container's coordinator is PID 1 again).
      writeFileSync(lockPath, JSON.stringify({ pid: process.pid, host: hostname(), started_at: '2026-01-01T00:00:00.000Z' }));
      await (await createCoordinator({ dataDir: tmp.path, port: 0 })).close();
    } finally {
      tmp.dispose();
    }
  });
});
