import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tempDir } from '../helpers/tmp.js';
import { harness } from './helpers.js';
import { failInfra, receiver } from './notifications-fixtures.js';

test('a delivery pending at shutdown is delivered after a restart; close() stops its timers', async (t) => {
  const dir = tempDir('faultline-notify-restart-');
  // First run: the receiver hangs on the first post (in flight at close), then the retry
  // delay of the second delivery is far away (a pending timer at close).
  const rx = await receiver([0, 503]);
  t.after(async () => {
    await rx.close();
    dir.dispose();
  });
  const targets = (retryBaseMs: number) => [
    { name: 'ops', url: rx.url('/ops'), classes: ['infra' as const], timeoutMs: 30_000, retryBaseMs, retryMaxMs: retryBaseMs },
  ];
  const h1 = await harness({ longPollMs: 200, notifications: targets(60_000) }, dir.path);
  const runner = await h1.register();
  const hung = await failInfra(h1, runner.token);
  await h1.waitFor(async () => rx.got.length === 1);
  const retried = await failInfra(h1, runner.token);
  const pendingRetry = await h1.waitFor(async () => {
    const n = (await h1.api('GET', `/api/v1/notifications?pipeline_id=${retried.id}`)).body.notifications[0];
    return n?.attempts === 1 ? n : null;
  });
  assert.equal(pendingRetry.status, 'pending');
  assert.equal(pendingRetry.last_status_code, 503);
  assert.ok(Date.parse(pendingRetry.next_attempt_at) > Date.now() + 10_000, 'the retry is far away');

  const t0 = Date.now();
  await h1.close(); // aborts the hung post, clears the retry timer
  assert.ok(Date.now() - t0 < 5_000, `close took ${Date.now() - t0} ms`);
  assert.equal(rx.got.length, 2);

  // Second run on the same data dir. The hung delivery (attempt aborted, not counted) is
  // resumed at once; the other keeps its stored schedule, so shorten it by hand to see it go.
  const { Store } = await import('../../src/coordinator/store/index.js');
  const s = await Store.openSqlite(dir.path);
  const rows = s.db.prepare('SELECT id, pipeline_id, status, attempts FROM notifications ORDER BY id').all() as any[];
  assert.deepEqual(
    rows.map((r) => [r.pipeline_id, r.status, r.attempts]),
    [
      [hung.id, 'pending', 0],
      [retried.id, 'pending', 1],
    ],
  );
  s.db.prepare('UPDATE notifications SET next_attempt_at = ? WHERE pipeline_id = ?').run(Date.now() + 300, retried.id);
  await s.close();

  const h2 = await harness({ longPollMs: 200, notifications: targets(20) }, dir.path);
  t.after(() => h2.c.close());
  for (const p of [hung, retried]) {
    const n = await h2.waitFor(async () => {
      const rec = (await h2.api('GET', `/api/v1/notifications?pipeline_id=${p.id}`)).body.notifications[0];
      return rec?.status === 'delivered' ? rec : null;
    });
    assert.equal(n.last_status_code, 200);
  }
  const ids = rx.got.map((g) => Number(g.headers['x-faultline-delivery']));
  assert.equal(rx.got.length, 4);
  assert.deepEqual(
    rx.got
      .slice(2)
      .map((g) => g.json.pipeline.id)
      .sort(),
    [hung.id, retried.id].sort(),
  );
  assert.equal(new Set(ids).size, 2, 'redeliveries carry the same delivery id');
});
