/** `npm start` (faultline up --example): the demo shows a green, a build-failed and an infra-failed pipeline; restarts add nothing. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, spawnFaultline, userApi } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

async function waitOutput(up: ReturnType<typeof spawnFaultline>, re: RegExp): Promise<void> {
  const deadline = Date.now() + 90_000; // the compile worker is slow on a loaded 2-core machine
  while (!re.test(up.output())) {
    if (Date.now() > deadline || up.child.exitCode !== null) throw new Error(up.output());
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('faultline up --example: an infra failure on first start, token-carrying links, no duplicates after a restart', async () => {
  const dir = tempDir();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const args = ['up', '--port', String(port), '--data', join(dir.path, 'data'), '--runners', '1', '--example'];
  let up = spawnFaultline(args);
  try {
    await waitOutput(up, /example pipeline #3/);
    const token = /Bearer (\S+)\)/.exec(up.output())![1]!;
    for (const id of [1, 2, 3]) assert.match(up.output(), new RegExp(`${base}/\\?token=${token}#/pipelines/${id}\\b`));
    const api = userApi(base, token);
    assert.equal((await api.waitPipeline(1)).status, 'success');
    assert.equal((await api.waitPipeline(2)).failure_class, 'build');
    const infra = await api.waitPipeline(3);
    assert.equal(infra.status, 'failed');
    assert.equal(infra.failure_class, 'infra');
    assert.equal(await up.kill('SIGTERM'), 0);

    up = spawnFaultline(args);
    await waitOutput(up, /examples: already submitted/);
    const list = (await (await fetch(`${base}/api/v1/pipelines`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      total: number;
    };
    assert.equal(list.total, 3, 'a restart submits no more examples');
    const fleet = (await (await fetch(`${base}/api/v1/runners`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
      runners: { name: string }[];
    };
    assert.deepEqual(
      fleet.runners.map((r) => r.name),
      ['embedded-shell-1'],
      'the restarted runner replaced its record',
    );
    assert.equal(await up.kill('SIGTERM'), 0);
  } finally {
    await up.kill('SIGKILL');
    dir.dispose();
  }
});
