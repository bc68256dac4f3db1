import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { byName, forEachCoordinatorEngine, type Harness } from './helpers.js';

const ONE = 'build:\n  script: echo hi\n';

forEachCoordinatorEngine('runner API', (harness, engine) => {
  let h: Harness;
  before(async () => {
    h = await harness({ longPollMs: 300 });
  });
  after(() => h.close());

  test('register → request → running → trace (retry, 416) → success', async () => {
    const runner = await h.register();
    const p = await h.createPipeline(ONE, { variables: { SECRET: 'x' } });
    const { status, job } = await h.request(runner.token);
    assert.equal(status, 201);
    assert.ok(job);
    assert.equal(job.pipeline_id, p.id);
    assert.equal(job.name, 'build');
    assert.deepEqual(job.script, ['echo hi']);
    assert.equal(job.trace_offset, 0);
    assert.equal(job.cancel_grace_seconds, 10);
    const vars = Object.fromEntries(job.variables.map((v) => [v.key, v]));
    assert.equal(vars.CI?.value, 'true');
    assert.equal(vars.CI_JOB_ID?.value, String(job.id));
    assert.equal(vars.CI_PIPELINE_ID?.value, String(p.id));
    assert.equal(vars.CI_JOB_TOKEN?.masked, true);
    assert.equal(vars.SECRET?.value, 'x');

    assert.deepEqual((await h.update(job, { state: 'running' })).body, { status: 'running', cancel_requested: false });
    assert.equal((await h.job(job.id)).status, 'running');

    const a = await h.trace(job, 0, 'hello ');
    assert.deepEqual([a.status, a.body], [202, { offset: 6 }]);
    // The same chunk again (a retry after a lost answer) is accepted without duplicating.
    const again = await h.trace(job, 0, 'hello ');
    assert.deepEqual([again.status, again.body], [202, { offset: 6 }]);
    // Overlapping retry with new bytes appends only the new tail.
    const overlap = await h.trace(job, 3, 'lo world\n');
    assert.deepEqual([overlap.status, overlap.body], [202, { offset: 12 }]);
    // A gap → 416 with the offset to resend from.
    const gap = await h.trace(job, 20, 'zzz');
    assert.equal(gap.status, 416);
    assert.equal(gap.body.offset, 12);
    assert.match(gap.body.error, /12/);
    // Different bytes over stored ones → 416 too.
    const diff = await h.trace(job, 0, 'HELLO');
    assert.equal(diff.status, 416);
    // A Content-Range that does not match the body.
    const bad = await h.trace(job, 12, 'abc', '12-99');
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /Content-Range/);

    const fin = await h.update(job, { state: 'success', exit_code: 0 });
    assert.equal(fin.status, 200);
    assert.equal(fin.body.status, 'success');
    const done = await h.waitFor(async () => {
      const pl = await h.pipeline(p.id);
      return pl.status === 'success' && pl;
    });
    assert.equal(byName(done).build?.exit_code, 0);
    const tr = await h.api('GET', `/api/v1/jobs/${job.id}/trace`);
    assert.equal(tr.body, 'hello world\n');
    assert.equal(tr.headers.get('x-trace-complete'), 'true');
    const tail = await h.api('GET', `/api/v1/jobs/${job.id}/trace?offset=6`);
    assert.equal(tail.body, 'world\n');
  });

  test('a job token works only for its own job (403)', async () => {
    const runner = await h.register();
    await h.createPipeline('a:\n  script: echo a\nb:\n  script: echo b\n');
    const j1 = (await h.request(runner.token)).job!;
    const j2 = (await h.request(runner.token)).job!;
    assert.notEqual(j1.id, j2.id);
    const cross = await h.update({ id: j1.id, token: j2.token }, { state: 'running' });
    assert.equal(cross.status, 403);
    assert.match(cross.body.error, /not valid/);
    assert.equal((await h.trace({ id: j2.id, token: j1.token }, 0, 'x')).status, 403);
    const none = await fetch(`${h.c.url}/api/v1/jobs/${j1.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: '{"state":"running"}',
    });
    assert.equal(none.status, 401);
    for (const j of [j1, j2]) await h.update(j, { state: 'success', exit_code: 0 });
  });

  test('unknown runner token → 403, wrong registration token → 403', async () => {
    const r = await fetch(`${h.c.url}/api/v1/jobs/request`, {
      method: 'POST',
      headers: { 'runner-token': 'nope', 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(r.status, 403);
    const reg = await fetch(`${h.c.url}/api/v1/runners/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ registration_token: 'wrong', name: 'x', tags: [], executor: 'shell', concurrency: 1 }),
    });
    assert.equal(reg.status, 403);
  });

  test('20 concurrent requests for one pending job: exactly one gets it', async () => {
    const runners = await Promise.all(Array.from({ length: 20 }, (_, i) => h.register({ name: `cas-${i}` })));
    await h.createPipeline(ONE);
    const results = await Promise.all(runners.map((r) => h.request(r.token)));
    const got = results.filter((r) => r.status === 201);
    assert.equal(got.length, 1, `statuses: ${results.map((r) => r.status).join(',')}`);
    assert.equal(results.filter((r) => r.status === 204).length, 19);
    await h.update(got[0]!.job!, { state: 'success', exit_code: 0 });
  });

  test('tags: a tagged job goes only to a runner having all its tags; run_untagged=false skips untagged', async () => {
    const plain = await h.register({ name: 'plain' });
    const docker = await h.register({ name: 'docker', tags: ['docker'] });
    const both = await h.register({ name: 'both', tags: ['docker', 'gpu'], run_untagged: false });
    const p = await h.createPipeline('gpu:\n  tags: [docker, gpu]\n  script: x\n');
    assert.equal((await h.request(plain.token)).status, 204);
    assert.equal((await h.request(docker.token)).status, 204);
    const got = await h.request(both.token);
    assert.equal(got.status, 201);
    assert.equal(got.job!.name, 'gpu');
    await h.update(got.job!, { state: 'success', exit_code: 0 });
    // Untagged job: not for `both` (run_untagged false), fine for `docker`.
    await h.createPipeline(ONE);
    assert.equal((await h.request(both.token)).status, 204);
    const d = await h.request(docker.token);
    assert.equal(d.status, 201);
    await h.update(d.job!, { state: 'success', exit_code: 0 });
    assert.ok(p.id > 0);
  });

  test('a parked long-poll wakes as soon as a pipeline is created', async () => {
    const local = await harness({ longPollMs: 5000 });
    try {
      const runner = await local.register();
      const waiting = local.request(runner.token);
      await new Promise((r) => setTimeout(r, 100)); // let it park
      const t0 = performance.now();
      await local.createPipeline(ONE);
      const res = await waiting;
      const latency = performance.now() - t0;
      assert.equal(res.status, 201);
      assert.ok(latency < 500, `pickup took ${latency.toFixed(1)} ms`);
      // Without work the long-poll ends with 204 after the window.
      const idle = await harness({ longPollMs: 150 });
      try {
        const r2 = await idle.register();
        const empty = await idle.request(r2.token);
        assert.equal(empty.status, 204);
        assert.ok(empty.ms >= 140, `returned after ${empty.ms} ms`);
      } finally {
        await idle.close();
      }
    } finally {
      await local.close();
    }
  });

  test('trace over the maximum size → 413 with a clear message', async () => {
    const local = await harness({ maxTraceBytes: 1000 });
    try {
      const runner = await local.register();
      await local.createPipeline(ONE);
      const job = (await local.request(runner.token)).job!;
      assert.equal((await local.trace(job, 0, Buffer.alloc(900, 97))).status, 202);
      const over = await local.trace(job, 900, Buffer.alloc(200, 98));
      assert.equal(over.status, 413);
      assert.match(over.body.error, /maximum size of 1000 bytes/);
    } finally {
      await local.close();
    }
  });

  // SQLite only, to keep the PostgreSQL half quick (13 s there): the trace table keeps bytes
  // across chunks on both engines (store/traces-artifacts.test.ts).
  if (engine === 'sqlite')
    test('a 10 MB log in 64 KiB chunks is stored and read back intact', async () => {
      const runner = await h.register();
      await h.createPipeline(ONE);
      const job = (await h.request(runner.token)).job!;
      const line = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz-log-line\n');
      const total = Buffer.concat(Array.from({ length: Math.ceil((10 << 20) / line.length) }, () => line));
      const CH = 64 * 1024;
      for (let off = 0; off < total.length; off += CH) {
        const r = await h.trace(job, off, total.subarray(off, off + CH));
        assert.equal(r.status, 202);
      }
      const res = await fetch(`${h.c.url}/api/v1/jobs/${job.id}/trace`, { headers: { authorization: `Bearer ${h.c.apiToken}` } });
      const got = Buffer.from(await res.arrayBuffer());
      assert.equal(got.length, total.length);
      assert.ok(got.equals(total));
      await h.update(job, { state: 'failed', exit_code: 2 });
      const failed = await h.waitFor(async () => (await h.job(job.id)).failure);
      assert.equal(failed.reason, 'script_failure');
      assert.equal(failed.exit_code, 2);
    });

  test('heartbeat: liveness and cancel_job_ids for a job canceled by the user', async () => {
    const runner = await h.register();
    await h.createPipeline(ONE);
    const job = (await h.request(runner.token)).job!;
    await h.update(job, { state: 'running' });
    const hb = async () =>
      (await fetch(`${h.c.url}/api/v1/runners/heartbeat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'runner-token': runner.token },
        body: JSON.stringify({ running_job_ids: [job.id] }),
      }).then((r) => r.json())) as { cancel_job_ids: number[] };
    assert.deepEqual(await hb(), { cancel_job_ids: [] });
    const canceled = await h.api('POST', `/api/v1/jobs/${job.id}/cancel`);
    assert.equal(canceled.body.status, 'canceling');
    assert.deepEqual(await hb(), { cancel_job_ids: [job.id] });
    // The update answer says so too, and the trace keeps streaming while canceling.
    assert.deepEqual((await h.update(job, { state: 'running' })).body, { status: 'canceling', cancel_requested: true });
    assert.equal((await h.trace(job, 0, 'teardown\n')).status, 202);
    await h.update(job, { state: 'canceled', stopped_by: 'cancel' });
    const j = await h.waitFor(async () => {
      const x = await h.job(job.id);
      return x.status === 'canceled' && x;
    });
    assert.equal(j.failure, null);
  });
});
