import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { harness, type Harness } from './helpers.js';
import { failBuild, failInfra, pass, receiver } from './notifications-fixtures.js';

const SECRET = 'dev-hook-secret';

/** The delivery records of a pipeline, once none is pending. */
async function settledRecords(h: Harness, pipelineId: number, timeoutMs = 10_000): Promise<any[]> {
  return h.waitFor(async () => {
    const r = await h.api('GET', `/api/v1/notifications?pipeline_id=${pipelineId}`);
    assert.equal(r.status, 200);
    const rows = r.body.notifications as any[];
    return rows.length > 0 && rows.every((n) => n.status !== 'pending') ? rows : null;
  }, timeoutMs);
}

describe('notifications: routing by failure class', () => {
  test('infra → operators only, build → developers only; job_failed targets; signature; nothing for passes', async (t) => {
    const rx = await receiver();
    const h = await harness({
      longPollMs: 200,
      notifications: [
        { name: 'operators', url: rx.url('/ops'), classes: ['infra'] },
        { name: 'developers', url: rx.url('/devs'), classes: ['build'], secret: SECRET },
        { name: 'job-watch', url: rx.url('/jobs'), classes: ['infra', 'build', 'unknown'], events: ['job_failed'] },
      ],
    });
    t.after(async () => {
      await h.close();
      await rx.close();
    });
    const runner = await h.register();

    // infra: a registry outage
    const infra = await failInfra(h, runner.token);
    assert.equal(infra.status, 'failed');
    assert.equal(infra.failure_class, 'infra');
    const infraRecs = await settledRecords(h, infra.id);
    assert.deepEqual(infraRecs.map((n) => `${n.target}:${n.event}:${n.status}`).sort(), [
      'job-watch:job_failed:delivered',
      'operators:pipeline_failed:delivered',
    ]);
    assert.equal(rx.at('/ops').length, 1);
    assert.equal(rx.at('/devs').length, 0);
    const ops = rx.at('/ops')[0]!.json;
    assert.equal(ops.event, 'pipeline_failed');
    assert.deepEqual(
      {
        id: ops.pipeline.id,
        status: ops.pipeline.status,
        failure_class: ops.pipeline.failure_class,
        ref: ops.pipeline.ref,
        project: ops.pipeline.project,
      },
      { id: infra.id, status: 'failed', failure_class: 'infra', ref: 'main', project: 'default' },
    );
    assert.equal(ops.pipeline.url, `${h.c.url}/#/pipelines/${infra.id}`);
    assert.equal(ops.job, undefined);
    assert.equal(ops.failed_jobs.length, 1);
    assert.equal(ops.failed_jobs[0].failure.class, 'infra');
    assert.equal(ops.failed_jobs[0].failure.reason, 'image_pull_failure');
    assert.equal(ops.failed_jobs[0].failure.cause, 'registry_unreachable');
    assert.equal(ops.failed_jobs[0].failure.owner, 'operators');
    assert.match(ops.failed_jobs[0].failure.summary, /127\.0\.0\.1:5999/);
    assert.equal(rx.at('/ops')[0]!.headers['x-faultline-signature'], undefined, 'no secret, no signature');
    assert.equal(rx.at('/ops')[0]!.headers['x-faultline-event'], 'pipeline_failed');
    // The record's payload is what was sent.
    assert.deepEqual(infraRecs.find((n) => n.target === 'operators').payload, ops);

    // build: failing jest tests
    const build = await failBuild(h, runner.token);
    assert.equal(build.failure_class, 'build');
    const buildRecs = await settledRecords(h, build.id);
    assert.deepEqual(buildRecs.map((n) => `${n.target}:${n.event}:${n.status}`).sort(), [
      'developers:pipeline_failed:delivered',
      'job-watch:job_failed:delivered',
    ]);
    assert.equal(rx.at('/ops').length, 1, 'operators got nothing for a build failure');
    assert.equal(rx.at('/devs').length, 1);
    const devs = rx.at('/devs')[0]!;
    assert.equal(devs.json.pipeline.id, build.id);
    assert.equal(devs.json.failed_jobs[0].failure.cause, 'test_failure');
    assert.ok(devs.json.failed_jobs[0].failure.evidence.some((e: { text: string }) => /1 failed/.test(e.text)));
    // What decided is in the payload too (issue 9, item 6): a rule here, not the fallback.
    assert.equal(devs.json.failed_jobs[0].failure.fallback, false);
    assert.ok(devs.json.failed_jobs[0].failure.rule?.id, JSON.stringify(devs.json.failed_jobs[0].failure));
    // The signature is the HMAC of the exact body bytes.
    const sig = devs.headers['x-faultline-signature'];
    assert.equal(sig, `sha256=${createHmac('sha256', SECRET).update(devs.body).digest('hex')}`);
    assert.notEqual(sig, `sha256=${createHmac('sha256', 'wrong').update(devs.body).digest('hex')}`);

    // job_failed: one per failed job, with the job itself.
    const jobs = rx.at('/jobs').map((g) => g.json);
    assert.deepEqual(
      jobs.map((j) => [j.event, j.pipeline.id, j.job.failure.class]),
      [
        ['job_failed', infra.id, 'infra'],
        ['job_failed', build.id, 'build'],
      ],
    );
    assert.equal(jobs[1].job.name, 'test');
    assert.equal(jobs[1].job.id, buildRecs.find((n) => n.event === 'job_failed').job_id);

    const before = rx.got.length;
    // A pipeline that passed early (exit code 3 → pass_pipeline) sends nothing…
    const early = await failBuild(h, runner.token, 'test:\n  script: npm test\n  on_status: {exit_codes: {3: pass_pipeline}}\n', 3);
    assert.equal(early.status, 'success');
    assert.ok(early.halted_by, 'halted by the job');
    // …nor does an allowed failure (success with warnings), nor a plain success.
    const allowed = await failBuild(h, runner.token, 'test:\n  script: npm test\n  allow_failure: true\n');
    assert.equal(allowed.display_status, 'success_with_warnings');
    const ok = await pass(h, runner.token);
    assert.equal(ok.status, 'success');
    await h.c.idle();
    for (const p of [early, allowed, ok]) {
      const r = await h.api('GET', `/api/v1/notifications?pipeline_id=${p.id}`);
      assert.deepEqual(r.body.notifications, [], `no notification for pipeline ${p.id} (${p.display_status})`);
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(rx.got.length, before);

    // The list API: filters and bad input.
    const all = await h.api('GET', '/api/v1/notifications');
    assert.equal(all.body.notifications.length, 4);
    assert.deepEqual((await h.api('GET', '/api/v1/notifications?status=failed')).body.notifications, []);
    assert.equal((await h.api('GET', '/api/v1/notifications?status=delivered')).body.notifications.length, 4);
    const bad = await h.api('GET', '/api/v1/notifications?status=sent');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.details[0].path, 'status');
    assert.equal((await fetch(`${h.c.url}/api/v1/notifications`)).status, 401);
  });
});

describe('notifications: delivery', () => {
  const target = (url: string, extra: object = {}) => ({
    name: 'ops',
    url,
    classes: ['infra' as const],
    retryBaseMs: 20,
    retryMaxMs: 200,
    ...extra,
  });

  test('500 twice then 200 → 3 attempts, delivered; the same delivery id and body each time', async (t) => {
    const rx = await receiver([500, 500]);
    const h = await harness({ longPollMs: 200, notifications: [target(rx.url('/ops'))] });
    t.after(async () => {
      await h.close();
      await rx.close();
    });
    const p = await failInfra(h, (await h.register()).token);
    const [rec] = await settledRecords(h, p.id);
    assert.equal(rec.status, 'delivered');
    assert.equal(rec.attempts, 3);
    assert.equal(rec.last_status_code, 200);
    assert.equal(rec.last_error, null);
    assert.ok(rec.delivered_at);
    assert.equal(rx.got.length, 3);
    assert.equal(new Set(rx.got.map((g) => g.headers['x-faultline-delivery'])).size, 1);
    assert.equal(rx.got[0]!.headers['x-faultline-delivery'], String(rec.id));
    assert.equal(new Set(rx.got.map((g) => g.body)).size, 1);
  });

  test('400 → failed at once, no retry', async (t) => {
    const rx = await receiver([400]);
    const h = await harness({ longPollMs: 200, notifications: [target(rx.url('/ops'))] });
    t.after(async () => {
      await h.close();
      await rx.close();
    });
    const p = await failInfra(h, (await h.register()).token);
    const [rec] = await settledRecords(h, p.id);
    assert.equal(rec.status, 'failed');
    assert.equal(rec.attempts, 1);
    assert.equal(rec.last_status_code, 400);
    assert.match(rec.last_error, /HTTP 400/);
    await new Promise((r) => setTimeout(r, 300)); // well past the retry delays
    assert.equal(rx.got.length, 1);
  });

  test('429 is retried; an unreachable target fails after max_attempts with the network error', async (t) => {
    const rx = await receiver([429]);
    const gone = await receiver();
    await gone.close(); // nothing listens on its port any more
    const h = await harness({
      longPollMs: 200,
      notifications: [target(rx.url('/ops')), target(gone.url('/x'), { name: 'gone', maxAttempts: 3 })],
    });
    t.after(async () => {
      await h.close();
      await rx.close();
    });
    const p = await failInfra(h, (await h.register()).token);
    const recs = await settledRecords(h, p.id);
    const ops = recs.find((n) => n.target === 'ops');
    assert.deepEqual([ops.status, ops.attempts], ['delivered', 2]);
    const g = recs.find((n) => n.target === 'gone');
    assert.deepEqual([g.status, g.attempts, g.last_status_code], ['failed', 3, null]);
    assert.match(g.last_error, /ECONNREFUSED|fetch failed/);
  });

  test('bad targets are refused at start, naming the field', async () => {
    await assert.rejects(harness({ notifications: [{ name: 'x', url: 'ftp://h/', classes: ['infra'] }] }), /notifications\[0\]\.url/);
    await assert.rejects(harness({ notifications: [{ name: 'x', url: 'http://h/', classes: [] }] }), /notifications\[0\]\.classes/);
    await assert.rejects(
      harness({
        notifications: [
          { name: 'x', url: 'http://h/', classes: ['infra'] },
          { name: 'x', url: 'http://h/', classes: ['build'] },
        ],
      }),
      /notifications\[1\]\.name: duplicate/,
    );
  });
});

describe('notifications: pure parts', () => {
  test('backoff doubles per attempt, is capped, and jitters within [½, 1] of the step', async () => {
    const { backoffDelay } = await import('../../src/coordinator/services/notifier.js');
    const t = { retryBaseMs: 1000, retryMaxMs: 10_000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 40].map((n) => backoffDelay(n, t, () => 1)),
      [1000, 2000, 4000, 8000, 10_000, 10_000],
    );
    assert.deepEqual(
      [1, 2, 5].map((n) => backoffDelay(n, t, () => 0)),
      [500, 1000, 5000],
    );
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, t);
      assert.ok(d >= 2000 && d <= 4000, String(d));
    }
  });

  test('config parsing never throws on arbitrary input', async () => {
    const fc = (await import('fast-check')).default;
    const { parseCoordinatorConfig } = await import('../../src/coordinator/config-file.js');
    const { stringify } = await import('yaml');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => stringify(v)),
          fc
            .dictionary(fc.constantFrom('port', 'long_poll', 'notifications', 'max_trace_bytes', 'x'), fc.jsonValue())
            .map((v) => stringify(v)),
        ),
        (text) => {
          const r = parseCoordinatorConfig(text, 'f.yml');
          if (!r.ok) for (const p of r.problems) assert.ok(p.line >= 1 && p.column >= 1 && p.message.length > 0, JSON.stringify(p));
        },
      ),
      { numRuns: 300 },
    );
  });
});
