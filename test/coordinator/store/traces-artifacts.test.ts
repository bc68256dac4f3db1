// The trace_chunks, artifacts (+ test reports, dotenv) and notifications tables, each test run on
// SQLite and on a real PostgreSQL server (test/helpers/store-engines.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TestReportSummary } from '../../../src/coordinator/artifacts/junit.js';
import { ArtifactStore } from '../../../src/coordinator/store/artifacts.js';
import { NotificationStore } from '../../../src/coordinator/store/notifications.js';
import { TraceStore } from '../../../src/coordinator/store/traces.js';
import { forEachEngine } from '../../helpers/store-engines.js';
import { addJob, addPipeline } from '../../helpers/store-rows.js';

const MAX = 1 << 20;
const b = (s: string) => Buffer.from(s);

forEachEngine('trace_chunks table', (open) => {
  test('appends at the end; reads of any range across chunks; tail, length and line counts; bytes kept exactly', async () => {
    const sql = await open();
    const traces = new TraceStore(sql);
    const job = await addJob(sql);
    assert.deepEqual(await traces.append(job, 0, b('line 1\nli'), MAX), { ok: true, offset: 9 });
    assert.deepEqual(await traces.append(job, 9, b('ne 2\n'), MAX), { ok: true, offset: 14 });
    assert.deepEqual(await traces.append(job, 14, Buffer.from([0, 0xff, 10]), MAX), { ok: true, offset: 17 });
    assert.equal(await traces.length(job), 17);
    assert.deepEqual(await traces.read(job, 0), Buffer.concat([b('line 1\nline 2\n'), Buffer.from([0, 0xff, 10])]));
    assert.equal((await traces.read(job, 5, 6)).toString(), '1\nline');
    assert.equal((await traces.read(job, 9, 5)).toString(), 'ne 2\n', 'exactly one chunk');
    assert.deepEqual(await traces.read(job, 12, 100), Buffer.from([0x32, 10, 0, 0xff, 10]));
    assert.equal((await traces.read(job, 17)).length, 0);
    assert.equal((await traces.read(job, 50)).length, 0);
    const tail = await traces.tail(job, 4);
    assert.deepEqual([tail.start, [...tail.data]], [13, [10, 0, 0xff, 10]]);
    assert.deepEqual(await Promise.all([traces.countLines(job, 17), traces.countLines(job, 7), traces.countLines(job, 6)]), [3, 1, 0]);
    assert.equal(await traces.length(job + 1000), undefined);
    assert.equal((await traces.read(job + 1000, 0)).length, 0);
  });

  test('a retried chunk with the same bytes is accepted (only its new tail stored); a gap, a different overlap, too much or no job are refused', async () => {
    const sql = await open();
    const traces = new TraceStore(sql);
    const job = await addJob(sql);
    await traces.append(job, 0, b('hello '), 20);
    assert.deepEqual(await traces.append(job, 0, b('hello world'), 20), { ok: true, offset: 11 });
    assert.deepEqual(await traces.append(job, 6, b('world'), 20), { ok: true, offset: 11 }, 'a full resend changes nothing');
    const chunks = await sql.all<{ offset: number; n: number }>(
      'SELECT "offset", length(data) AS n FROM trace_chunks WHERE job_id = ? ORDER BY "offset"',
      [job],
    );
    assert.deepEqual(chunks, [
      { offset: 0, n: 6 },
      { offset: 6, n: 5 },
    ]);
    const gap = await traces.append(job, 12, b('x'), 20);
    assert.deepEqual(gap.ok ? null : [gap.kind, gap.offset, gap.message], ['range', 11, 'chunk starts at 12 but the trace has 11 bytes']);
    const differs = await traces.append(job, 6, b('W'), 20);
    assert.deepEqual(differs.ok ? null : [differs.kind, differs.offset], ['range', 11]);
    const big = await traces.append(job, 11, b('0123456789'), 20);
    assert.deepEqual(big.ok ? null : [big.kind, big.offset], ['too_large', 11]);
    const none = await traces.append(job + 1000, 0, b('x'), 20);
    assert.deepEqual(none.ok ? null : none.kind, 'no_job');
    assert.equal((await traces.read(job, 0)).toString(), 'hello world');
  });

  test('appends at the same offset at once (one per connection on PostgreSQL): one is stored, the others refused, the log stays whole', async () => {
    const sql = await open();
    const traces = new TraceStore(sql);
    const job = await addJob(sql);
    await traces.append(job, 0, b('start\n'), MAX);
    // open the pool's connections first, so the appends really run side by side
    await Promise.all(Array.from({ length: 8 }, () => sql.tx(() => sql.get('SELECT 1 AS one'))));
    const texts = Array.from({ length: 8 }, (_, i) => `from ${i}${'!'.repeat(i)}\n`);
    const results = await Promise.all(texts.map((t) => traces.append(job, 6, b(t), MAX)));
    assert.equal(results.filter((r) => r.ok).length, 1, JSON.stringify(results));
    assert.ok(results.every((r) => r.ok || r.kind === 'range'));
    const text = (await traces.read(job, 0)).toString();
    assert.ok(
      texts.some((t) => text === `start\n${t}`),
      JSON.stringify(text),
    );
    assert.equal(await traces.length(job), text.length);
  });
});

const artifact = (job_id: number, kind: string, over: Record<string, unknown> = {}) => ({
  job_id,
  kind,
  storage_key: `k/${job_id}/${kind}`,
  name: null,
  expose_as: null,
  size: 5_000_000_000, // beyond 32 bits: a BIGINT that must come back as a number
  files: 3,
  sha256: 'ab'.repeat(32),
  created_at: 1_764_000_000_000,
  expire_at: null as number | null,
  ...over,
});

forEachEngine('artifacts tables', (open) => {
  test('upsert replaces a retried upload (and un-expires it); get, ofJob, ofJobs; numbers stay numbers', async () => {
    const sql = await open();
    const store = new ArtifactStore(sql);
    const j1 = await addJob(sql);
    const j2 = await addJob(sql);
    await store.upsert(artifact(j1, 'junit', { expire_at: 100 }));
    await store.upsert(artifact(j1, 'archive', { name: 'dist', expose_as: 'Build output', expire_at: 100 }));
    await store.markExpired(j1, 'archive', 150);
    assert.equal((await store.get(j1, 'archive'))?.expired_at, 150);
    await store.upsert(artifact(j1, 'archive', { storage_key: 'k2', size: 7, expire_at: 900 }));
    assert.deepEqual(await store.get(j1, 'archive'), {
      ...artifact(j1, 'archive'),
      storage_key: 'k2',
      size: 7,
      expire_at: 900,
      expired_at: null,
    });
    await store.upsert(artifact(j2, 'dotenv'));
    assert.deepEqual(
      (await store.ofJob(j1)).map((r) => [r.kind, r.size]),
      [
        ['archive', 7],
        ['junit', 5_000_000_000],
      ],
    );
    const many = await store.ofJobs([j2, j1, j1 + j2 + 100]);
    assert.deepEqual(
      [...many].map(([id, rows]) => [id, rows.map((r) => r.kind)]),
      [
        [j1, ['archive', 'junit']],
        [j2, ['dotenv']],
      ],
    );
    assert.deepEqual(await store.ofJobs([]), new Map());
    assert.equal(await store.get(j2, 'junit'), undefined);
  });

  test('expired: past expiry and still holding a file, at most `limit`; markExpired takes one out', async () => {
    const sql = await open();
    const store = new ArtifactStore(sql);
    const job = await addJob(sql);
    await store.upsert(artifact(job, 'a', { expire_at: 100 }));
    await store.upsert(artifact(job, 'b', { expire_at: 200 }));
    await store.upsert(artifact(job, 'c', { expire_at: 300 }));
    await store.upsert(artifact(job, 'never'));
    const kinds = async (now: number, limit?: number) => (await store.expired(now, limit)).map((r) => r.kind).sort();
    assert.deepEqual(await kinds(200), ['a', 'b']);
    assert.equal((await kinds(1000, 2)).length, 2);
    await store.markExpired(job, 'a', 250);
    assert.deepEqual(await kinds(1000), ['b', 'c']);
  });

  test('test reports and dotenv: upserted per job, read back one or many; the job a job token names', async () => {
    const sql = await open();
    const store = new ArtifactStore(sql);
    const pipeline = await addPipeline(sql);
    const j1 = await addJob(sql, { pipeline_id: pipeline, token_hash: 'tok1', status: 'running' });
    const j2 = await addJob(sql, { pipeline_id: pipeline });
    const failed = [{ name: 'adds', classname: 'math', message: 'expected 2' }] as unknown as TestReportSummary['failed'];
    await store.putTestReport(j1, { tests: 3, failures: 1, errors: 0, skipped: 0, time: 0.5, failed: [] }, null);
    await store.putTestReport(j1, { tests: 4, failures: 1, errors: 1, skipped: 1, time: 1.25, failed }, 'case 4: no name');
    const report = await store.testReport(j1);
    assert.deepEqual(
      report && [report.tests, report.failures, report.errors, report.skipped, report.time, report.failed, report.parse_error],
      [4, 1, 1, 1, 1.25, failed, 'case 4: no name'],
    );
    assert.equal(await store.testReport(j2), null);
    await store.putTestReport(j2, { tests: 0, failures: 0, errors: 0, skipped: 0, time: 0, failed: [] }, null);
    const both = await store.testReports([j1, j2]);
    assert.deepEqual(
      [...both.keys()].sort((x, y) => x - y),
      [j1, j2],
    );
    assert.deepEqual([both.get(j2)?.time, both.get(j2)?.failed, both.get(j1)?.tests], [0, [], 4]);
    await store.putDotenv(j1, { A: '1' });
    await store.putDotenv(j1, { A: '2', B: 'x y' });
    assert.deepEqual([await store.dotenv(j1), await store.dotenv(j2)], [{ A: '2', B: 'x y' }, null]);
    assert.deepEqual(await store.jobByTokenHash('tok1'), { id: j1, pipeline_id: pipeline, status: 'running' });
    assert.equal(await store.jobByTokenHash('nope'), undefined);
  });
});

forEachEngine('notifications table', (open) => {
  const n = (pipeline_id: number, at: number, target = 'ops') => ({
    target,
    event: 'pipeline_failed',
    pipeline_id,
    job_id: null,
    payload_json: '{"x":1}',
    created_at: at,
  });

  test('insert → pending at created_at; attempts counted; delivered once, never reopened; giveUp fails a pending one', async () => {
    const sql = await open();
    const store = new NotificationStore(sql);
    const a = await store.insert(n(7, 1000));
    const b = await store.insert({ ...n(7, 500), job_id: 42 });
    const c = await store.insert(n(8, 2000));
    assert.deepEqual(await store.get(a), {
      id: a,
      target: 'ops',
      event: 'pipeline_failed',
      pipeline_id: 7,
      job_id: null,
      payload_json: '{"x":1}',
      status: 'pending',
      attempts: 0,
      last_error: null,
      last_status_code: null,
      next_attempt_at: 1000,
      created_at: 1000,
      delivered_at: null,
    });
    assert.deepEqual(
      (await store.pending()).map((r) => r.id),
      [b, a, c],
      'soonest first',
    );
    assert.equal(
      await store.recordAttempt(a, { status: 'pending', error: 'HTTP 500', status_code: 500, next_attempt_at: 3000, at: 1100 }),
      true,
    );
    assert.equal(
      await store.recordAttempt(a, { status: 'delivered', error: null, status_code: 200, next_attempt_at: null, at: 3100 }),
      true,
    );
    const done = (await store.get(a))!;
    assert.deepEqual(
      [done.status, done.attempts, done.last_error, done.last_status_code, done.next_attempt_at, done.delivered_at],
      ['delivered', 2, null, 200, null, 3100],
    );
    assert.equal(
      await store.recordAttempt(a, { status: 'failed', error: 'late', status_code: null, next_attempt_at: null, at: 4000 }),
      false,
    );
    assert.equal((await store.get(a))!.status, 'delivered');
    assert.equal(
      await store.recordAttempt(b, { status: 'failed', error: 'HTTP 400', status_code: 400, next_attempt_at: null, at: 600 }),
      true,
    );
    assert.deepEqual([(await store.get(b))!.status, (await store.get(b))!.delivered_at], ['failed', null]);
    assert.equal(await store.giveUp(c, 'target removed from the configuration'), true);
    assert.equal(await store.giveUp(c, 'again'), false);
    assert.deepEqual([(await store.get(c))!.status, (await store.get(c))!.last_error], ['failed', 'target removed from the configuration']);
    assert.deepEqual(await store.pending(), []);
  });

  test('list: newest first, by pipeline and status, limited', async () => {
    const sql = await open();
    const store = new NotificationStore(sql);
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await store.insert(n(i % 2 ? 1 : 2, i)));
    await store.giveUp(ids[4]!, 'x');
    assert.deepEqual(
      (await store.list({ limit: 3 })).map((r) => r.id),
      [ids[4], ids[3], ids[2]],
    );
    assert.deepEqual(
      (await store.list({ pipeline_id: 2, limit: 10 })).map((r) => r.id),
      [ids[4], ids[2], ids[0]],
    );
    assert.deepEqual(
      (await store.list({ pipeline_id: 2, status: 'pending', limit: 10 })).map((r) => r.id),
      [ids[2], ids[0]],
    );
    assert.deepEqual(await store.list({ status: 'delivered', limit: 10 }), []);
  });
});
