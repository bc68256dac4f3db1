import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { byName, forEachCoordinatorEngine, type Harness } from './helpers.js';

forEachCoordinatorEngine('user API', (harness, engine) => {
  let h: Harness;
  before(async () => {
    h = await harness({ longPollMs: 200 });
  });
  after(() => h.close());

  test('auth: no token → 401; the API token is saved 0600 in the data dir (and the SQLite file only on SQLite)', async () => {
    const r = await fetch(`${h.c.url}/api/v1/pipelines`);
    assert.equal(r.status, 401);
    assert.match(((await r.json()) as { error: string }).error, /Bearer/);
    const bad = await fetch(`${h.c.url}/api/v1/pipelines`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(bad.status, 401);
    const file = join(h.dir, 'api-token');
    assert.equal(readFileSync(file, 'utf8').trim(), h.c.apiToken);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(existsSync(join(h.dir, 'faultline.db')), engine === 'sqlite');
  });

  test('bad YAML → 422 with line/column for every error, nothing stored', async () => {
    const before = (await h.api('GET', '/api/v1/pipelines')).body.total;
    const r = await h.api('POST', '/api/v1/pipelines', { yaml: 'stages: [a]\nj:\n  stage: nope\n  script: 3\n' });
    assert.equal(r.status, 422);
    assert.match(r.body.error, /invalid pipeline configuration/);
    assert.ok(r.body.details.length >= 2);
    for (const d of r.body.details) {
      assert.equal(typeof d.path, 'string');
      assert.ok(d.line >= 1 && d.column >= 1, JSON.stringify(d));
      assert.ok(d.message.length > 0);
    }
    assert.deepEqual(r.body.details.map((d: { line: number }) => d.line).sort(), [3, 4]);
    assert.equal((await h.api('GET', '/api/v1/pipelines')).body.total, before);
    const unparsable = await h.api('POST', '/api/v1/pipelines', { yaml: 'a: [\n' });
    assert.equal(unparsable.status, 422);
    assert.equal((await h.api('GET', '/api/v1/pipelines')).body.total, before);
  });

  test('bad input: malformed JSON → 400, missing field names it, unknown route → 404 JSON', async () => {
    const malformed = await h.api('POST', '/api/v1/pipelines', '{"yaml": ');
    assert.equal(malformed.status, 400);
    assert.match(malformed.body.error, /malformed JSON/);
    const missing = await h.api('POST', '/api/v1/pipelines', { ref: 'x' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.details[0].path, 'yaml');
    const badId = await h.api('GET', '/api/v1/jobs/abc');
    assert.equal(badId.status, 400);
    assert.match(badId.body.error, /id must be a positive integer/);
    assert.equal((await h.api('GET', '/api/v1/jobs/999999')).status, 404);
    const nope = await h.api('GET', '/api/v1/nothing-here');
    assert.equal(nope.status, 404);
    assert.ok(nope.body.error);
    const root = await fetch(`${h.c.url}/nothing/here`);
    assert.equal(root.status, 404);
    assert.ok(((await root.json()) as { error: string }).error);
  });

  test('cancel: pending/created jobs cancel directly; pipeline cancel', async () => {
    const p = await h.createPipeline('stages: [a, b]\nx:\n  stage: a\n  script: x\ny:\n  stage: b\n  script: y\n');
    const x = byName(p).x!;
    assert.equal(x.status, 'pending');
    const c = await h.api('POST', `/api/v1/jobs/${x.id}/cancel`);
    assert.equal(c.status, 200);
    assert.equal(c.body.status, 'canceled');
    // Canceling a finished job is a conflict, not a crash.
    const again = await h.api('POST', `/api/v1/jobs/${x.id}/cancel`);
    assert.equal(again.status, 409);
    const p2 = await h.createPipeline('stages: [a, b]\nx:\n  stage: a\n  script: x\ny:\n  stage: b\n  script: y\n');
    const pc = await h.api('POST', `/api/v1/pipelines/${p2.id}/cancel`);
    assert.equal(pc.status, 200);
    assert.equal(pc.body.status, 'canceled');
    assert.ok(pc.body.jobs.every((j: { status: string }) => j.status === 'canceled'));
  });

  test('manual play, retry creates a new attempt; failures list and summary', async () => {
    const runner = await h.register({ name: 'release-runner' });
    const p = await h.createPipeline('deploy:\n  when: manual\n  allow_failure: false\n  script: d\n', { ref: 'release' });
    const deploy = byName(p).deploy!;
    assert.equal(deploy.status, 'manual');
    const played = await h.api('POST', `/api/v1/jobs/${deploy.id}/play`);
    assert.equal(played.body.status, 'pending');
    const job = (await h.request(runner.token)).job!;
    assert.equal(job.id, deploy.id);
    await h.trace(job, 0, 'connecting\nERROR: boom\n');
    await h.update(job, {
      state: 'failed',
      exit_code: 1,
      failure: {
        reason: 'runner_system_failure',
        stage: 'prepare_executor',
        message: 'executor crashed',
        executor: 'shell',
        image: null,
        registry: null,
      },
    });
    const failed = await h.waitFor(async () => (await h.job(job.id)).failure);
    assert.equal(failed.reason, 'runner_system_failure');
    assert.equal(failed.class, 'infra');
    const pl = await h.waitFor(async () => {
      const x = await h.pipeline(p.id);
      return x.status === 'failed' && x;
    });
    assert.equal(pl.failure_class, 'infra');

    const retry = await h.api('POST', `/api/v1/jobs/${job.id}/retry`);
    assert.equal(retry.status, 200);
    assert.equal(retry.body.attempt, 2);
    assert.equal(retry.body.retry_of, job.id);
    assert.equal(retry.body.status, 'pending');
    // Acting on the old attempt is refused.
    assert.equal((await h.api('POST', `/api/v1/jobs/${job.id}/retry`)).status, 409);
    assert.equal((await h.api('POST', `/api/v1/jobs/${retry.body.id}/cancel`)).body.status, 'canceled');

    const list = await h.api('GET', '/api/v1/failures?class=infra&ref=release&since=1h');
    assert.equal(list.status, 200);
    assert.equal(list.body.failures.length, 1);
    assert.equal(list.body.failures[0].id, job.id);
    assert.equal(list.body.failures[0].ref, 'release');
    assert.equal(list.body.next_cursor, null);
    assert.equal((await h.api('GET', '/api/v1/failures?class=build&ref=release')).body.failures.length, 0);
    // The dashboards' dimensions (their data links filter by them): executor, registry, runner name; a csv list matches any.
    const ids = async (q: string) => {
      const r = await h.api('GET', `/api/v1/failures?ref=release&${q}`);
      assert.equal(r.status, 200, `${q}: ${JSON.stringify(r.body)}`);
      return r.body.failures.map((f: { id: number }) => f.id);
    };
    assert.deepEqual(await ids('executor=shell'), [job.id]);
    assert.deepEqual(await ids('executor=docker,shell'), [job.id]);
    assert.deepEqual(await ids('executor=docker'), []);
    assert.deepEqual(await ids('runner_name=release-runner'), [job.id]);
    assert.deepEqual(await ids('runner_name=other,release-runner&executor=shell'), [job.id]);
    assert.deepEqual(await ids('runner_name=other'), []);
    assert.deepEqual(await ids('registry=registry.example'), []);
    const empty = await h.api('GET', '/api/v1/failures?executor=shell,');
    assert.equal(empty.status, 400);
    assert.equal(empty.body.details[0].path, 'executor.1');
    assert.equal((await h.api('GET', '/api/v1/failures?since=yesterday')).status, 400);
    assert.equal((await h.api('GET', '/api/v1/failures?limit=501')).status, 400);
    const sum = await h.api('GET', '/api/v1/failures/summary?since=1h');
    assert.equal(sum.status, 200);
    assert.ok(sum.body.total >= 1);
    assert.ok(sum.body.by_class.some((c: { class: string; count: number }) => c.class === 'infra' && c.count >= 1));
    assert.ok(sum.body.by_cause.some((c: { cause: string }) => typeof c.cause === 'string'));
  });

  test('failures paging with a keyset cursor', async () => {
    const runner = await h.register();
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      await h.createPipeline('t:\n  script: x\n', { ref: 'paging' });
      const job = (await h.request(runner.token)).job!;
      await h.update(job, { state: 'failed', exit_code: 1 });
      ids.push(job.id);
    }
    await h.c.idle();
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/api/v1/failures?ref=paging&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await h.api('GET', q);
      assert.equal(r.status, 200);
      assert.ok(r.body.failures.length <= 2);
      seen.push(...r.body.failures.map((f: { id: number }) => f.id));
      cursor = r.body.next_cursor;
    } while (cursor);
    assert.deepEqual(
      seen.sort((a, b) => a - b),
      ids,
    );
    assert.equal((await h.api('GET', '/api/v1/failures?cursor=garbage')).status, 400);
  });

  test('openapi.json covers every route', async () => {
    const r = await fetch(`${h.c.url}/api/v1/openapi.json`);
    const doc = (await r.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.equal(doc.openapi, '3.1.0');
    const expected: [string, string][] = [
      ['/api/v1/runners/register', 'post'],
      ['/api/v1/runners/heartbeat', 'post'],
      ['/api/v1/jobs/request', 'post'],
      ['/api/v1/jobs/{id}', 'put'],
      ['/api/v1/jobs/{id}', 'get'],
      ['/api/v1/jobs/{id}/trace', 'patch'],
      ['/api/v1/jobs/{id}/trace', 'get'],
      ['/api/v1/pipelines', 'post'],
      ['/api/v1/pipelines', 'get'],
      ['/api/v1/pipelines/{id}', 'get'],
      ['/api/v1/pipelines/{id}/cancel', 'post'],
      ['/api/v1/jobs/{id}/play', 'post'],
      ['/api/v1/jobs/{id}/cancel', 'post'],
      ['/api/v1/jobs/{id}/retry', 'post'],
      ['/api/v1/failures', 'get'],
      ['/api/v1/failures/summary', 'get'],
      ['/api/v1/rules/reload', 'post'],
      ['/api/v1/runners', 'get'],
      ['/api/v1/runners/{id}', 'delete'],
      ['/api/v1/openapi.json', 'get'],
      ['/api/v1/events', 'get'],
      ['/api/v1/overview', 'get'],
      ['/api/v1/rules', 'get'],
    ];
    for (const [path, method] of expected) assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} missing`);
  });

  test('rules reload: ok, and 422 naming the errors when the classifier rejects the rules', async () => {
    let good = true;
    const local = await harness({
      classifier: {
        classify: (report) => ({
          ...report,
          class: 'build',
          cause: 'x',
          summary: 's',
          owner: 'developers',
          rule: null,
          fallback: true,
          evidence: [],
        }),
        reload: () =>
          good ? { ok: true, errors: [] } : { ok: false, errors: [{ file: 'r.yml', line: 3, column: 5, message: 'bad regex' }] },
      },
    });
    try {
      assert.equal((await local.api('POST', '/api/v1/rules/reload')).status, 200);
      good = false;
      const r = await local.api('POST', '/api/v1/rules/reload');
      assert.equal(r.status, 422);
      assert.deepEqual(r.body.details, [{ path: 'r.yml', line: 3, column: 5, message: 'bad regex' }]);
    } finally {
      await local.close();
    }
  });
});
