/**
 * The artifact routes over real HTTP on an in-process coordinator (real SQLite, real data
 * dir): a retried upload replaces the first (idempotent), bad bodies are 4xx naming the
 * problem, job tokens only reach their own pipeline, the sweeper expires archives.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import yazl from 'yazl';
import { createCoordinator, type Coordinator } from '../../src/coordinator/index.js';
import type { JobPayload } from '../../src/protocol/runner-api.js';
import { RunnerClient } from '../../src/runner/client.js';
import { tempDir } from '../helpers/tmp.js';

async function zipOf(files: Record<string, string>): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const [k, v] of Object.entries(files)) z.addBuffer(Buffer.from(v), k);
  z.end();
  const chunks: Buffer[] = [];
  for await (const c of z.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('artifact API (in-process coordinator, real HTTP)', () => {
  const dir = tempDir();
  let coord: Coordinator;
  let client: RunnerClient;
  const bearer = () => ({ authorization: `Bearer ${coord.apiToken}` });
  const newJob = async (yaml: string): Promise<JobPayload> => {
    const r = await fetch(`${coord.url}/api/v1/pipelines`, {
      method: 'POST',
      headers: { ...bearer(), 'content-type': 'application/json' },
      body: JSON.stringify({ yaml }),
    });
    assert.equal(r.status, 201);
    return (await client.requestJob(AbortSignal.timeout(5000)))!;
  };

  before(async () => {
    coord = await createCoordinator({
      dataDir: dir.path,
      maxArtifactBytes: 64 * 1024,
      artifactSweepIntervalMs: 3_600_000,
      longPollMs: 200,
    });
    client = new RunnerClient({ url: coord.url });
    await client.register({ registration_token: coord.registrationToken, name: 'r', tags: [], executor: 'shell', concurrency: 1 });
  });
  after(async () => {
    await coord.close();
    dir.dispose();
  });

  test('a retried upload replaces the first; bad input is a 4xx that says why', async () => {
    const job = await newJob('a:\n  script: [x]\n  artifacts: {paths: [out/], expire_in: 1 hour}\n');
    assert.ok((await client.uploadArtifact(job, 'archive', Readable.from([await zipOf({ 'out/a.txt': 'first' })]))).ok);
    const second = await client.uploadArtifact(job, 'archive', Readable.from([await zipOf({ 'out/a.txt': 'second', 'out/b.txt': 'b' })]));
    assert.deepEqual(second.ok && { files: second.body.files }, { files: 2 });
    const one = await fetch(`${coord.url}/api/v1/jobs/${job.id}/artifacts/out/a.txt`, { headers: bearer() });
    assert.equal(await one.text(), 'second');

    const notZip = await client.uploadArtifact(job, 'archive', Readable.from([Buffer.from('hello')]));
    assert.deepEqual(notZip.ok ? null : [notZip.status, /not a zip archive/.test(notZip.error)], [422, true]);
    const kind = await client.uploadArtifact(job, 'junitt', Readable.from([await zipOf({ 'r.xml': '<testsuite/>' })]));
    assert.deepEqual(kind.ok ? null : [kind.status, /unknown artifact kind 'junitt'/.test(kind.error)], [422, true]);
    const big = await client.uploadArtifact(job, 'archive', Readable.from([Buffer.alloc(200 * 1024, 1)]));
    assert.deepEqual(big.ok ? null : [big.status, big.limit], [413, 64 * 1024]);
    // The refused uploads left the stored archive alone.
    assert.equal(await (await fetch(`${coord.url}/api/v1/jobs/${job.id}/artifacts/out/a.txt`, { headers: bearer() })).text(), 'second');
    const bad = await client.uploadArtifact(job, 'dotenv', Readable.from([await zipOf({ 'b.env': 'not a pair' })]));
    assert.deepEqual(bad.ok ? null : [bad.status, /b\.env:1: expected KEY=VALUE/.test(bad.error)], [422, true]);
    await client.updateJob(job, { state: 'success', exit_code: 0 }, { final: true });
    const late = await client.uploadArtifact(job, 'archive', Readable.from([await zipOf({ x: 'y' })]));
    assert.equal(late.ok ? 0 : late.status, 409);

    // The sweeper: past expire_in the file goes, the row says expired, downloads are 404.
    coord.store.db.prepare('UPDATE artifacts SET expire_at = 1 WHERE job_id = ?').run(job.id);
    assert.equal(await coord.artifacts.sweep(Date.now()), 1);
    const gone = await fetch(`${coord.url}/api/v1/jobs/${job.id}/artifacts`, { headers: bearer() });
    assert.equal(gone.status, 404);
    assert.match(((await gone.json()) as { error: string }).error, /expired or were lost/);
    const j = (await (await fetch(`${coord.url}/api/v1/jobs/${job.id}`, { headers: bearer() })).json()) as {
      artifacts: { kind: string; expired: boolean }[];
    };
    assert.deepEqual(j.artifacts.find((x) => x.kind === 'archive')?.expired, true);
  });

  test('a job token reads artifacts of its own pipeline only', async () => {
    const a = await newJob('a:\n  script: [x]\n  artifacts: {paths: [out/]}\n');
    assert.ok((await client.uploadArtifact(a, 'archive', Readable.from([await zipOf({ 'out/x': 'x' })]))).ok);
    const b = await newJob('b:\n  script: [x]\n');
    const r = await fetch(`${coord.url}/api/v1/jobs/${a.id}/artifacts`, { headers: { 'Job-Token': b.token } });
    assert.equal(r.status, 403);
    assert.match(((await r.json()) as { error: string }).error, /only read artifacts of its own pipeline/);
    const own = await fetch(`${coord.url}/api/v1/jobs/${a.id}/artifacts`, { headers: { 'Job-Token': a.token } });
    assert.equal(own.status, 200);
    assert.equal(own.headers.get('content-type'), 'application/zip');
  });
});
