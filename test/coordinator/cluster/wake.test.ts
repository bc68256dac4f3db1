// "A job became pending" across coordinators: LISTEN/NOTIFY on a real PostgreSQL server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localWake, pgWake, type Wake } from '../../../src/coordinator/cluster/wake.js';
import { withPostgres } from '../../helpers/with-postgres.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Collects payloads with the time they arrived. */
function collect(w: Wake) {
  const got: { payload: string; at: number }[] = [];
  w.onWake((payload) => got.push({ payload, at: Date.now() }));
  const next = async (payload: string, ms: number) => {
    const t0 = Date.now();
    while (!got.some((g) => g.payload === payload)) {
      if (Date.now() - t0 > ms)
        throw new Error(`wake ${JSON.stringify(payload)} not received within ${ms} ms (got ${JSON.stringify(got.map((g) => g.payload))})`);
      await sleep(5);
    }
    return got.find((g) => g.payload === payload)!.at;
  };
  return { got, next };
}

withPostgres('wake (real PostgreSQL LISTEN/NOTIFY)', (pg) => {
  async function coordinator(url: string, app: string, heartbeatMs?: number) {
    const sql = await pg.open(url);
    const wake = pgWake(sql, url, { applicationName: app, heartbeatMs });
    pg.defer(() => wake.close());
    await wake.listening();
    return { sql, wake };
  }

  test('a notify from coordinator A reaches a listener on B within 1 s; inside a tx only at COMMIT', async (t) => {
    const db = await pg.database();
    const a = await coordinator(db.url, 'wake-a');
    const b = await coordinator(db.url, 'wake-b');
    const onB = collect(b.wake);
    const t0 = Date.now();
    await a.wake.notify('tags:docker');
    const latency = (await onB.next('tags:docker', 1000)) - t0;
    t.diagnostic(`NOTIFY → listener on another connection: ${latency} ms`);

    let committed = 0;
    await a.sql.tx(async () => {
      await a.wake.notify('in-tx');
      await sleep(300);
      assert.equal(onB.got.filter((g) => g.payload === 'in-tx').length, 0, 'delivered before COMMIT');
      committed = Date.now();
    });
    assert.ok((await onB.next('in-tx', 1000)) >= committed);
    // a rolled-back notify is never delivered
    await assert.rejects(
      a.sql.tx(async () => {
        await a.wake.notify('rolled-back');
        throw new Error('abort');
      }),
    );
    await a.wake.notify('after-rollback');
    await onB.next('after-rollback', 1000);
    assert.equal(onB.got.filter((g) => g.payload === 'rolled-back').length, 0);
  });

  test("the listener's connection terminated: it reconnects, wakes once (missed notifies), and still receives", async () => {
    const db = await pg.database();
    const a = await coordinator(db.url, 'wake-a');
    const b = await coordinator(db.url, 'wake-b');
    const onB = collect(b.wake);
    const pidOf = async () =>
      (
        await pg.server.admin<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'wake-b'", [
          db.name,
        ])
      ).map((r) => r.pid);
    const [old] = await pidOf();
    assert.ok(old, 'listener session visible on the server');
    await pg.server.admin('SELECT pg_terminate_backend($1)', [old]);
    const t0 = Date.now();
    while (!(await pidOf()).some((p) => p !== old)) {
      assert.ok(Date.now() - t0 < 5000, 'listener did not reconnect within 5 s');
      await sleep(20);
    }
    await b.wake.listening();
    await onB.next('', 1000); // the catch-up wake after reconnecting
    await a.wake.notify('after-reconnect');
    await onB.next('after-reconnect', 1000);
  });

  test('a silently dead listener connection (backend frozen, no RST) is noticed by the heartbeat and replaced', async () => {
    const db = await pg.database();
    const a = await coordinator(db.url, 'wake-a');
    const b = await coordinator(db.url, 'wake-frozen', 300);
    const onB = collect(b.wake);
    const pids = async () =>
      (
        await pg.server.admin<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'wake-frozen'", [
          db.name,
        ])
      ).map((r) => r.pid);
    const [frozen] = await pids();
    process.kill(frozen, 'SIGSTOP'); // the backend stops answering; its socket stays open
    try {
      const t0 = Date.now();
      while (!(await pids()).some((p) => p !== frozen)) {
        assert.ok(Date.now() - t0 < 5000, 'no new listener session within 5 s of freezing the old one');
        await sleep(50);
      }
      await b.wake.listening();
      await a.wake.notify('after-freeze');
      await onB.next('after-freeze', 1000);
    } finally {
      process.kill(frozen, 'SIGCONT');
    }
  });

  test('SQLite variant: in-process, asynchronous, unsubscribable', async () => {
    const w = localWake();
    const got: string[] = [];
    const off = w.onWake((p) => got.push(p));
    await w.notify('x');
    assert.deepEqual(got, [], 'not inside the notifier call');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, ['x']);
    off();
    await w.notify('y');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(got, ['x']);
    await w.close();
  });
});
