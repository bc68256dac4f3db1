/**
 * Issue 14, defects 5 and 7, against a real coordinator over real HTTP: trace uploads are
 * refused from their headers before the body is read, valid ones are streamed to the
 * store, and a job token stops working shortly after its job reached a final state.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { harness, type Harness } from './helpers.js';

const ONE = 'build:\n  script: echo hi\n';

/**
 * Starts a PATCH that declares `declared` bytes but sends only `sent` of them, and resolves
 * with the status the coordinator answers while the body is still incomplete (or 'no answer').
 */
function partialUpload(
  url: string,
  jobId: number,
  token: string,
  declared: number,
  sent: number,
  waitMs = 3000,
): Promise<number | 'no answer'> {
  return new Promise((resolve, reject) => {
    const u = new URL(`${url}/api/v1/jobs/${jobId}/trace`);
    const req = request({
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      method: 'PATCH',
      headers: {
        'job-token': token,
        'content-range': `0-${declared - 1}`,
        'content-length': String(declared),
        'content-type': 'application/octet-stream',
      },
    });
    const timer = setTimeout(() => {
      req.destroy();
      resolve('no answer');
    }, waitMs);
    req.once('response', (res) => {
      clearTimeout(timer);
      res.resume();
      resolve(res.statusCode!);
      req.destroy();
    });
    req.once('error', (err) => {
      if (!req.destroyed) reject(err);
    });
    req.write(Buffer.alloc(sent, 120));
  });
}

describe('trace uploads are authenticated before their body is read (issue 14 #5)', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ maxTraceBytes: 8 << 20 });
  });
  after(() => h.close());

  test('a wrong job token gets 403 while the 64 MiB body is still being sent', async () => {
    const runner = await h.register();
    await h.createPipeline(ONE);
    const job = (await h.request(runner.token)).job!;
    // Today's buffering parser would wait for the whole declared body before checking anything.
    assert.equal(await partialUpload(h.c.url, job.id, 'not-the-token', 64 << 20, 64 * 1024), 403);
    assert.equal(await partialUpload(h.c.url, job.id, '', 64 << 20, 64 * 1024), 401);
    await h.update(job, { state: 'success', exit_code: 0 });
  });

  test('a body larger than the room left is refused (413) from its Content-Length, unread', async () => {
    const runner = await h.register();
    await h.createPipeline(ONE);
    const job = (await h.request(runner.token)).job!;
    assert.equal(await partialUpload(h.c.url, job.id, job.token, 9 << 20, 64 * 1024), 413);
    assert.equal((await h.trace(job, 0, 'still fine\n')).status, 202);
    await h.update(job, { state: 'success', exit_code: 0 });
  });

  test('a 5 MiB chunk sent with chunked encoding (no Content-Length) is streamed in and stored intact', async () => {
    const runner = await h.register();
    await h.createPipeline(ONE);
    const job = (await h.request(runner.token)).job!;
    const total = Buffer.from(Array.from({ length: 5 << 20 }, (_, i) => 97 + (i % 26)));
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${h.c.url}/api/v1/jobs/${job.id}/trace`);
      const req = request({
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'PATCH',
        headers: { 'job-token': job.token, 'content-range': `0-${total.length - 1}`, 'transfer-encoding': 'chunked' },
      });
      req.once('response', (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.once('error', reject);
      for (let off = 0; off < total.length; off += 100_000) req.write(total.subarray(off, off + 100_000));
      req.end();
    });
    assert.equal(status, 202);
    const res = await fetch(`${h.c.url}/api/v1/jobs/${job.id}/trace`, { headers: { authorization: `Bearer ${h.c.apiToken}` } });
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(total));
    await h.update(job, { state: 'success', exit_code: 0 });
  });

  test('a gzip-encoded upload is refused with a message naming Content-Encoding', async () => {
    const runner = await h.register();
    await h.createPipeline(ONE);
    const job = (await h.request(runner.token)).job!;
    const res = await fetch(`${h.c.url}/api/v1/jobs/${job.id}/trace`, {
      method: 'PATCH',
      headers: { 'job-token': job.token, 'content-range': '0-2', 'content-encoding': 'gzip' },
      body: 'abc',
    });
    assert.equal(res.status, 415);
    assert.match(((await res.json()) as { error: string }).error, /Content-Encoding/);
    await h.update(job, { state: 'success', exit_code: 0 });
  });
});

describe('job tokens expire when the job is final (issue 14 #7)', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ jobTokenGraceMs: 300 });
  });
  after(() => h.close());

  test('a finished job takes its last trace chunk within the grace, and nothing after it', async () => {
    const runner = await h.register();
    await h.createPipeline(ONE);
    const job = (await h.request(runner.token)).job!;
    assert.equal((await h.trace(job, 0, 'hello\n')).status, 202);
    assert.equal((await h.update(job, { state: 'success', exit_code: 0 })).status, 200);
    assert.equal((await h.trace(job, 6, 'last chunk\n')).status, 202, 'within the grace');
    await new Promise((r) => setTimeout(r, 400));
    const late = await h.trace(job, 17, 'appended later\n');
    assert.equal(late.status, 403);
    assert.match(late.body.error, /expired/);
    const update = await h.update(job, { state: 'running' });
    assert.equal(update.status, 403);
    const tr = await h.api('GET', `/api/v1/jobs/${job.id}/trace`);
    assert.equal(tr.body, 'hello\nlast chunk\n');
  });

  test('a running job keeps its token however long it runs', async () => {
    const runner = await h.register();
    await h.createPipeline(ONE);
    const job = (await h.request(runner.token)).job!;
    await new Promise((r) => setTimeout(r, 400));
    assert.equal((await h.trace(job, 0, 'x\n')).status, 202);
    assert.equal((await h.update(job, { state: 'success', exit_code: 0 })).status, 200);
  });
});
