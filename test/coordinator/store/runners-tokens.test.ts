// The runners, api_tokens and image_pulls tables, each test run on SQLite and on a real
// PostgreSQL server (test/helpers/store-engines.ts): same calls, same answers, same JS types.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImagePullStore } from '../../../src/coordinator/store/image-pulls.js';
import { RunnerStore, type RunnerRegistration } from '../../../src/coordinator/store/runners.js';
import { ApiTokenStore, REGISTRATION_TOKEN_NAME, sha256 } from '../../../src/coordinator/store/tokens.js';
import { forEachEngine } from '../../helpers/store-engines.js';
import { addJob, addRunner } from '../../helpers/store-rows.js';

const reg = (over: Partial<RunnerRegistration> = {}): RunnerRegistration => ({
  name: 'r1',
  token_hash: 'h1',
  tags: ['docker', 'linux'],
  run_untagged: false,
  executor: 'docker',
  concurrency: 2,
  host: 'build-1',
  version: '1.0.0',
  ...over,
});

const pick = (r: { state: string; last_heartbeat_at: number | null } | undefined) =>
  r && { state: r.state, last_heartbeat_at: r.last_heartbeat_at };

forEachEngine('runners table', (open) => {
  test('register: a new record with numbers and 0/1 flags; the same name on the same host takes it over, elsewhere not', async () => {
    const sql = await open();
    const runners = new RunnerStore(sql);
    const first = await runners.register(reg(), 1_764_000_000_000);
    assert.equal(first.replaced, false);
    assert.deepEqual(await runners.get(first.id), {
      id: first.id,
      name: 'r1',
      token_hash: 'h1',
      tags_json: '["docker","linux"]',
      run_untagged: 0,
      executor: 'docker',
      concurrency: 2,
      state: 'online',
      last_heartbeat_at: 1_764_000_000_000,
      created_at: 1_764_000_000_000,
      host: 'build-1',
      version: '1.0.0',
      removed_at: null,
    });
    const again = await runners.register(reg({ token_hash: 'h2', tags: [], run_untagged: true, version: '1.1.0' }), 1_764_000_000_500);
    assert.deepEqual(again, { id: first.id, replaced: true });
    const row = (await runners.byTokenHash('h2'))!;
    assert.deepEqual(
      [row.id, row.run_untagged, row.tags_json, row.version, row.last_heartbeat_at, row.created_at],
      [first.id, 1, '[]', '1.1.0', 1_764_000_000_500, 1_764_000_000_000],
    );
    assert.equal(await runners.byTokenHash('h1'), undefined, 'the old token no longer matches');
    const elsewhere = await runners.register(reg({ token_hash: 'h3', host: 'build-2' }), 2);
    const noHost = await runners.register(reg({ token_hash: 'h4', host: null }), 3);
    const noHostAgain = await runners.register(reg({ token_hash: 'h5', host: null }), 4);
    assert.deepEqual(
      [elsewhere.replaced, noHost.replaced, noHostAgain.replaced],
      [false, false, false],
      'another host, or no host, is another runner',
    );
    assert.equal(new Set([first.id, elsewhere.id, noHost.id, noHostAgain.id]).size, 4);
    assert.deepEqual(
      (await runners.all()).map((r) => r.token_hash),
      ['h2', 'h3', 'h4', 'h5'],
    );
  });

  test('the same runner registering twice at once (two coordinators): one record, the later call takes it over', async () => {
    const sql = await open();
    const runners = new RunnerStore(sql);
    // open the pool's connections first, so on PostgreSQL the registrations really run side by side
    await Promise.all(Array.from({ length: 4 }, () => sql.tx(() => sql.get('SELECT 1 AS one'))));
    const got = await Promise.all([1, 2, 3, 4].map((i) => runners.register(reg({ token_hash: `h${i}` }), i)));
    assert.equal(new Set(got.map((g) => g.id)).size, 1, JSON.stringify(got));
    assert.deepEqual(got.map((g) => g.replaced).sort(), [false, true, true, true]);
    assert.equal((await runners.all()).length, 1);
  });

  test('remove: soft, once; the token is voided, the record leaves all() but get() still finds it', async () => {
    const sql = await open();
    const runners = new RunnerStore(sql);
    const { id } = await runners.register(reg(), 10);
    assert.equal(await runners.remove(id, 20), true);
    assert.equal(await runners.remove(id, 30), false);
    assert.equal(await runners.remove(id + 100, 30), false);
    const row = (await runners.get(id))!;
    assert.deepEqual([row.removed_at, row.state, row.token_hash], [20, 'offline', `removed:${id}`]);
    assert.equal(await runners.byTokenHash('h1'), undefined);
    assert.deepEqual(await runners.all(), []);
    // removed: the same name on the same host registers as a new record
    assert.equal((await runners.register(reg(), 40)).replaced, false);
  });

  test('seenById: a contact this coordinator wrote within the resolution is not sent again', async () => {
    const sql = await open();
    const runners = new RunnerStore(sql);
    const a = await runners.register(reg({ name: 'a', token_hash: 'ha' }), 1000);
    // Written by this coordinator within the resolution: not even sent. Seen here through a change
    // made behind its back (no coordinator makes one that soon after a contact).
    await runners.seen((await runners.get(a.id))!, 3000);
    await sql.run(`UPDATE runners SET last_heartbeat_at = 1 WHERE id = ?`, [a.id]);
    await runners.seenById(a.id, 3100);
    assert.equal((await runners.get(a.id))!.last_heartbeat_at, 1, 'this coordinator wrote it 100 ms ago: no statement');
    await new RunnerStore(sql).seenById(a.id, 3100);
    assert.equal((await runners.get(a.id))!.last_heartbeat_at, 3100, 'another coordinator asks the database');
  });

  test('seen, setState and the liveness queries (online, silent, stale) by their cutoffs', async () => {
    const sql = await open();
    const runners = new RunnerStore(sql);
    const a = await runners.register(reg({ name: 'a', token_hash: 'ha' }), 1000);
    const b = await runners.register(reg({ name: 'b', token_hash: 'hb' }), 5000);
    await runners.setState(a.id, 'offline');
    assert.equal(await runners.seen((await runners.get(a.id))!, 1100), true, 'was offline');
    assert.equal(await runners.seen((await runners.get(a.id))!, 1200), false, 'fresh contact: no write');
    assert.equal((await runners.get(a.id))!.last_heartbeat_at, 1100);
    assert.equal(await runners.seen((await runners.get(a.id))!, 2000), false);
    assert.equal((await runners.get(a.id))!.last_heartbeat_at, 2000);
    // By id (a job update): the same rule, decided by the database.
    await runners.setState(a.id, 'offline');
    await runners.seenById(a.id, 2100);
    assert.deepEqual(pick(await runners.get(a.id)), { state: 'online', last_heartbeat_at: 2100 }, 'was offline: written');
    await runners.seenById(a.id, 2300);
    assert.equal((await runners.get(a.id))!.last_heartbeat_at, 2100, 'fresh contact: no write');
    await runners.seenById(a.id, 2350);
    assert.equal((await runners.get(a.id))!.last_heartbeat_at, 2350, 'a resolution later: written');
    await runners.seenById(a.id, 2000);
    assert.equal((await runners.get(a.id))!.last_heartbeat_at, 2350, 'an earlier clock: no write');
    const names = (rows: { name: string }[]) => rows.map((r) => r.name).sort();
    assert.deepEqual(names(await runners.onlineSince(3000)), ['b']);
    assert.deepEqual(names(await runners.onlineSince(2000)), ['a', 'b']);
    assert.deepEqual(names(await runners.silentSince(3000)), ['a']);
    assert.deepEqual(names(await runners.staleSince(5001)), ['a', 'b']);
    assert.deepEqual(names(await runners.staleSince(5000)), ['a']);
    await runners.remove(a.id, 6000);
    assert.deepEqual(names(await runners.staleSince(10_000)), ['b'], 'a removed runner is not swept again');
    await runners.setState(b.id, 'offline');
    assert.deepEqual([await runners.onlineSince(0), await runners.silentSince(10_000)], [[], []], 'offline: neither online nor silent');
  });

  test('running and infra-failure counts per runner come from its jobs', async () => {
    const sql = await open();
    const runners = new RunnerStore(sql);
    const r1 = await addRunner(sql, { name: 'r1' });
    const r2 = await addRunner(sql, { name: 'r2' });
    const j1 = await addJob(sql, { runner_id: r1, status: 'running' });
    const j2 = await addJob(sql, { runner_id: r1, status: 'canceling' });
    await addJob(sql, { runner_id: r2, status: 'running' });
    await addJob(sql, { runner_id: r1, status: 'failed', failure_class: 'infra', finished_at: 100 });
    await addJob(sql, { runner_id: r1, status: 'failed', failure_class: 'infra', finished_at: 50 });
    await addJob(sql, { runner_id: r2, status: 'failed', failure_class: 'build', finished_at: 100 });
    await addJob(sql, { status: 'running' }); // no runner
    assert.deepEqual(
      await runners.runningCounts(),
      new Map([
        [r1, 2],
        [r2, 1],
      ]),
    );
    assert.deepEqual(await runners.runningJobIds(r1), [j1, j2]);
    assert.deepEqual(await runners.runningJobIds(999), []);
    assert.deepEqual(await runners.infraFailuresSince(60), new Map([[r1, 1]]));
    assert.deepEqual(await runners.infraFailuresSince(0), new Map([[r1, 2]]));
  });
});

forEachEngine('api_tokens table', (open) => {
  test('stored as sha256 only; created, unchanged, replaced; an API token is never the registration token, nor back', async () => {
    const sql = await open();
    const tokens = new ApiTokenStore(sql);
    assert.equal(await tokens.set('default', 'api-secret', 1), 'created');
    assert.equal(await tokens.set('default', 'api-secret', 2), 'unchanged');
    assert.equal(await tokens.setRegistration('reg-secret', 3), 'created');
    const rows = await sql.all('SELECT name, token_hash, created_at FROM api_tokens ORDER BY name');
    assert.deepEqual(rows, [
      { name: REGISTRATION_TOKEN_NAME, token_hash: sha256('reg-secret'), created_at: 3 },
      { name: 'default', token_hash: sha256('api-secret'), created_at: 1 },
    ]);
    assert.deepEqual(
      [await tokens.isValid('api-secret'), await tokens.isValid('reg-secret'), await tokens.isValid('nope')],
      [true, false, false],
    );
    assert.deepEqual([await tokens.isRegistration('reg-secret'), await tokens.isRegistration('api-secret')], [true, false]);
    assert.equal(await tokens.setRegistration('rotated', 4), 'replaced');
    assert.deepEqual([await tokens.isRegistration('rotated'), await tokens.isRegistration('reg-secret')], [true, false]);
    assert.deepEqual([await tokens.has('default'), await tokens.has('other'), await tokens.hasRegistration()], [true, false, true]);
    await assert.rejects(() => tokens.set(REGISTRATION_TOKEN_NAME, 'x', 5), /reserved for the registration token/);
    assert.equal(await tokens.set('Default', 'api-secret', 6), 'created', 'names compare case-sensitively');
  });

  test('no registration token stored: nothing is the registration token', async () => {
    const tokens = new ApiTokenStore(await open());
    assert.deepEqual([await tokens.hasRegistration(), await tokens.isRegistration('')], [false, false]);
  });
});

forEachEngine('image_pulls table', (open) => {
  test('one row per attempt: ISO time as ms, duration rounded, kind null on success, bad time → now', async () => {
    const sql = await open();
    const pulls = new ImagePullStore(sql);
    const runner = await addRunner(sql);
    const job = await addJob(sql, { runner_id: runner });
    const pull = { image: 'busybox:1', registry: 'docker.io', policy: 'always', kind: null, at: '2026-12-01T10:00:00.250Z' };
    await pulls.insert(job, runner, { ...pull, outcome: 'failure', kind: 'registry_unreachable', duration_ms: 12.6 });
    await pulls.insert(job, null, { ...pull, outcome: 'success', duration_ms: 3 });
    const t0 = Date.now();
    await pulls.insert(job, null, { ...pull, outcome: 'success', duration_ms: 0.4, at: 'not a time' });
    const rows = await sql.all<Record<string, unknown>>(
      'SELECT job_id, runner_id, image, registry, policy, outcome, kind, duration_ms, at FROM image_pulls ORDER BY id',
    );
    const at = Date.parse(pull.at);
    const common = { job_id: job, image: 'busybox:1', registry: 'docker.io', policy: 'always' };
    assert.deepEqual(rows.slice(0, 2), [
      { ...common, runner_id: runner, outcome: 'failure', kind: 'registry_unreachable', duration_ms: 13, at },
      { ...common, runner_id: null, outcome: 'success', kind: null, duration_ms: 3, at },
    ]);
    assert.equal(rows[2]!.duration_ms, 0);
    assert.ok(typeof rows[2]!.at === 'number' && rows[2]!.at >= t0 && rows[2]!.at <= Date.now(), `at ${String(rows[2]!.at)}`);
  });
});
