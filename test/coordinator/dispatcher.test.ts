// The long-poll waiters (services/dispatcher.ts) on their own, with a scripted hand-out: who is
// asked for a job on a wake, and that a requester gone before it parked leaves no waiter behind.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Dispatcher, type Requester } from '../../src/coordinator/services/dispatcher.js';
import type { RunnerRow } from '../../src/coordinator/store/runners.js';
import type { JobPayload } from '../../src/protocol/runner-api.js';

const runner = (id: number, tags: string[], runUntagged = false): RunnerRow => ({
  id,
  name: `r${id}`,
  token_hash: `h${id}`,
  tags_json: JSON.stringify(tags),
  run_untagged: runUntagged ? 1 : 0,
  executor: 'shell',
  concurrency: 1,
  state: 'online',
  last_heartbeat_at: null,
  created_at: 0,
  host: null,
  version: null,
  removed_at: null,
});

const job = (id: number) => ({ id }) as JobPayload;
/** A requester that stays. */
const stays: Requester = { gone: () => false, onGone: () => () => {} };
const turns = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

test('a wake asks only the waiters some pending job could go to, and stops once none is left', async () => {
  let pending: string[] = [];
  const asked: number[] = [];
  const given: (string[] | undefined)[] = [];
  const d = new Dispatcher(
    async (r, sets) => {
      asked.push(r.id);
      given.push(sets);
      const hit = r.tags_json === '["gpu"]' && pending.length > 0;
      if (hit) pending = pending.filter((p) => p !== '["gpu"]');
      return hit ? job(100 + r.id) : null;
    },
    async () => pending,
  );
  const parked = [
    ...Array.from({ length: 20 }, (_, i) => d.request(runner(i + 1, ['linux']), 60_000, stays)),
    d.request(runner(50, ['gpu']), 60_000, stays),
    d.request(runner(51, ['gpu']), 60_000, stays),
  ];
  await turns();
  asked.length = 0; // the first hand-out of each request, before it parked
  assert.ok(
    given.every((g) => g === undefined),
    'a request reads the pending tag sets itself',
  );
  given.length = 0;
  pending = ['["gpu"]', '["linux","windows"]'];
  d.wake();
  assert.deepEqual(await parked[20], job(150));
  await turns();
  // runner 51 is not asked: the pending tag sets are read again after each hand-out
  assert.deepEqual(asked, [50]);
  assert.deepEqual(given, [['["gpu"]']], 'the serve pass hands on the sets this runner can take, already read');
  assert.equal(d.waiting, 21);
  d.close();
  assert.deepEqual(await Promise.all(parked.slice(0, 20)), Array(20).fill(null));
});

test('a requester that went away during its first hand-out does not park', async () => {
  let release!: () => void;
  const slow = new Promise<void>((r) => (release = r));
  let gone = false;
  const asked: boolean[] = [];
  const d = new Dispatcher(
    async (_r, _sets, isGone) => {
      await slow;
      asked.push(isGone());
      return null;
    },
    async () => [],
  );
  const answer = d.request(runner(1, []), 60_000, { gone: () => gone, onGone: () => assert.fail('it must not subscribe') });
  gone = true; // runner-api.ts: the response closed
  release();
  assert.equal(await answer, null);
  assert.deepEqual(asked, [true], 'the hand-out can ask whether its requester is still there');
  assert.equal(d.waiting, 0);
});

test('a waiter that goes away while its hand-out is in flight is answered with what it was given, not dropped', async () => {
  let claim!: (j: JobPayload | null) => void;
  let calls = 0;
  const d = new Dispatcher(
    async () => (++calls === 1 ? null : new Promise<JobPayload | null>((r) => (claim = r))),
    async () => ['[]'],
  );
  let goneCb: (() => void) | undefined;
  let gone = false;
  const answer = d.request(runner(1, [], true), 60_000, {
    gone: () => gone,
    onGone: (cb) => {
      goneCb = cb;
      return () => (goneCb = undefined);
    },
  });
  await turns();
  assert.equal(d.waiting, 1);
  d.wake();
  await turns();
  assert.equal(calls, 2, 'the serve pass is handing it a job');
  gone = true;
  goneCb!(); // went away mid-claim
  claim(job(7)); // the claim had committed
  // runner-api.ts logs a job handed to a request that went away (the reaper settles it); answered
  // null instead, the claimed job would be dropped without a trace.
  assert.deepEqual(await answer, job(7));
  assert.equal(d.waiting, 0);
  assert.equal(goneCb, undefined, 'unsubscribed');
});
