/**
 * Crashes, with real processes: a runner killed with SIGKILL mid-job, and the coordinator
 * killed with SIGKILL mid-pipeline and restarted on the same SQLite file.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { jobsByName, startCoordinator, startRunnerProcess, summarize, userApi } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';

test('a runner killed with SIGKILL mid-job → runner_system_failure within the heartbeat timeout', async () => {
  const dir = tempDir();
  const coord = await startCoordinator({ dataDir: join(dir.path, 'data'), heartbeatTimeoutSec: 2 });
  const runner = await startRunnerProcess({ url: coord.url, registrationToken: coord.registrationToken });
  try {
    const api = userApi(coord.url, coord.apiToken);
    const p = await api.createPipeline('victim:\n  script: sleep 60\n');
    await api.waitPipeline(p.id, (x) => jobsByName(x)['victim']?.status === 'running');
    const killedAt = Date.now();
    await runner.kill('SIGKILL');
    const done = await api.waitPipeline(p.id, undefined, 15_000);
    const job = jobsByName(done)['victim']!;
    assert.equal(job.status, 'failed');
    assert.equal(job.failure?.reason, 'runner_system_failure');
    assert.equal(job.failure?.class, 'infra');
    assert.ok(Date.now() - killedAt < 2000 + 8000, 'failed within the heartbeat timeout (+ reaper interval)');
  } finally {
    await runner.kill();
    await coord.kill();
    dir.dispose();
  }
});

test('the coordinator killed with SIGKILL mid-pipeline and restarted: no job lost, none run twice', async () => {
  const dir = tempDir();
  const data = join(dir.path, 'data');
  const marks = join(dir.path, 'marks');
  let coord = await startCoordinator({ dataDir: data });
  const port = coord.port;
  const runner = await startRunnerProcess({ url: coord.url, registrationToken: coord.registrationToken, concurrency: 3 });
  try {
    let api = userApi(coord.url, coord.apiToken);
    const yaml = `
stages: [a, b, c]
variables: {MARKS: "${marks}"}
${[1, 2, 3].map((i) => `a${i}:\n  stage: a\n  script: mkdir -p $MARKS && echo $CI_JOB_NAME >> $MARKS/runs && sleep 1`).join('\n')}
${[1, 2, 3].map((i) => `b${i}:\n  stage: b\n  script: echo $CI_JOB_NAME >> $MARKS/runs && sleep 1`).join('\n')}
c1:
  stage: c
  script: echo $CI_JOB_NAME >> $MARKS/runs
`;
    const ids = [(await api.createPipeline(yaml)).id, (await api.createPipeline(yaml.replaceAll('$MARKS/runs', '$MARKS/runs2'))).id];
    await api.waitPipeline(ids[0]!, (x) => (x.jobs ?? []).some((j) => j.status === 'success'));
    await coord.kill('SIGKILL');
    // Down for longer than the heartbeat timeout (3 s): the restarted coordinator must not
    // take the silence it could not hear for lost runners.
    await new Promise((r) => setTimeout(r, 4000)); // the runner keeps working and retrying its updates
    coord = await startCoordinator({ dataDir: data, port });
    api = userApi(coord.url, coord.apiToken);
    for (const id of ids) {
      const p = await api.waitPipeline(id, undefined, 40_000);
      assert.equal(
        p.status,
        'success',
        `pipeline ${id} terminal and successful after the restart: ${JSON.stringify(summarize(p))} ${JSON.stringify((p.jobs ?? []).map((j) => j.failure?.message).filter(Boolean))}`,
      );
    }
    for (const file of ['runs', 'runs2']) {
      assert.ok(existsSync(join(marks, file)));
      const runs = readFileSync(join(marks, file), 'utf8').trim().split('\n').sort();
      assert.deepEqual(runs, ['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'c1'], `${file}: every job ran exactly once`);
    }
  } finally {
    await runner.kill();
    await coord.kill();
    dir.dispose();
  }
});
