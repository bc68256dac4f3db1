// Leadership by advisory lock on a real PostgreSQL server (test/helpers/postgres.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { alwaysLeader, startPgLeadership, type Leadership } from '../../../src/coordinator/cluster/leader.js';
import { withPostgres } from '../../helpers/with-postgres.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Samples both every 20 ms; records every moment with two leaders. */
function sampler(a: Leadership, b: Leadership) {
  const both: number[] = [];
  const t = setInterval(() => {
    if (a.isLeader() && b.isLeader()) both.push(Date.now());
  }, 20);
  return { both, stop: () => clearInterval(t) };
}

async function until(what: string, cond: () => boolean, ms: number): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(10);
  }
  return Date.now() - t0;
}

withPostgres('leadership (real PostgreSQL advisory lock)', (pg) => {
  const running = (l: Leadership) => (pg.defer(() => l.stop()), l);

  /** The application_name of the session that holds the leader lock, as the server sees it. */
  async function holder(db: string): Promise<{ pid: number; app: string } | undefined> {
    const rows = await pg.server.admin<{ pid: number; app: string }>(
      `SELECT l.pid, a.application_name AS app FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = $1)`,
      [db],
    );
    assert.ok(rows.length <= 1, `advisory lock held by ${rows.length} sessions`);
    return rows[0];
  }

  test('two coordinators: exactly one leads; the holder killed → the other leads within 3 s, never both', async (t) => {
    const db = await pg.database();
    const changes: string[] = [];
    const a = running(startPgLeadership(db.url, { applicationName: 'leader-a' }));
    const b = running(startPgLeadership(db.url, { applicationName: 'leader-b' }));
    a.onChange((v) => changes.push(`a:${v}`));
    b.onChange((v) => changes.push(`b:${v}`));
    const s = sampler(a, b);
    try {
      await until('a leader', () => a.isLeader() || b.isLeader(), 3000);
      await sleep(1500); // several rounds of the follower trying: it must keep failing
      assert.equal(Number(a.isLeader()) + Number(b.isLeader()), 1);
      const [first, second] = a.isLeader() ? [a, b] : [b, a];
      const firstName = first === a ? 'a' : 'b';
      const h = await holder(db.name);
      assert.equal(h?.app, `leader-${firstName}`, 'isLeader() agrees with the server');

      await pg.server.admin('SELECT pg_terminate_backend($1)', [h!.pid]);
      const took = await until('takeover after pg_terminate_backend', () => second.isLeader(), 3000);
      assert.equal(first.isLeader(), false);
      assert.equal((await holder(db.name))?.app, `leader-${firstName === 'a' ? 'b' : 'a'}`);
      // the killed one reconnects and stays a follower
      await sleep(2500);
      assert.deepEqual([first.isLeader(), second.isLeader()], [false, true]);
      assert.ok(took < 3000, `takeover took ${took} ms`);
      t.diagnostic(`takeover after pg_terminate_backend: ${took} ms`);

      // a clean stop hands over too
      await second.stop();
      await until('takeover after stop()', () => first.isLeader(), 3000);
      assert.deepEqual(s.both, [], 'two leaders at once');
      const other = firstName === 'a' ? 'b' : 'a';
      assert.deepEqual(changes, [`${firstName}:true`, `${firstName}:false`, `${other}:true`, `${other}:false`, `${firstName}:true`]);
    } finally {
      s.stop();
    }
  });

  test('a hung holder (process frozen, socket open) loses the lock: the server ends its silent session', async (t) => {
    const db = await pg.database();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('fixtures/leader-child.ts', import.meta.url)), db.url],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await until('child leads', () => out.includes('leader'), 30_000);
      const b = running(startPgLeadership(db.url, { applicationName: 'leader-b', intervalMs: 200 }));
      await sleep(1000);
      assert.equal(b.isLeader(), false, 'the live child holds the lock');
      child.kill('SIGSTOP');
      const took = await until('takeover from a frozen holder', () => b.isLeader(), 5000);
      t.diagnostic(`takeover from a frozen holder (idle_session_timeout 1.5 s): ${took} ms`);
      assert.equal((await holder(db.name))?.app, 'leader-b');
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('database down: the leader steps down within two beats (it must not keep leading blind)', async () => {
    const own = await pg.ownServer(); // its own server: this test stops it
    const db = await own.createDatabase();
    const l = running(startPgLeadership(db.url, { intervalMs: 200 }));
    await until('leader', () => l.isLeader(), 3000);
    await own.stop();
    await until('steps down', () => !l.isLeader(), 2000);
  });

  test('SQLite variant: always the leader', async () => {
    const l = alwaysLeader();
    assert.equal(l.isLeader(), true);
    await l.stop();
  });
});
