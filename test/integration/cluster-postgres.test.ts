/**
 * Two coordinator processes on one real PostgreSQL database (issue 15), with runners on each:
 * pipelines created on both, one coordinator SIGKILLed mid-run. Every pipeline must end through
 * the survivor with each job run exactly once; the survivor takes over the leader's workers (its
 * reaper fails the job of a runner killed at the same moment) and sees the pipelines the other
 * created.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { PipelineJson } from '../../src/protocol/user-api.js';
import { jobsByName, startCoordinator, startRunnerProcess, summarize, userApi, type Proc } from '../helpers/system.js';
import { tempDir } from '../helpers/tmp.js';
import { withPostgres } from '../helpers/with-postgres.js';

/** Three stages; every job appends its name to `$MARKS/<file>` once it runs. */
function stagedYaml(marks: string, file: string): string {
  const job = (name: string, stage: string, sleep: boolean) =>
    `${name}:\n  stage: ${stage}\n  script: mkdir -p $MARKS && echo $CI_JOB_NAME >> $MARKS/${file}${sleep ? ' && sleep 1' : ''}`;
  return [
    'stages: [a, b, c]',
    `variables: {MARKS: "${marks}"}`,
    ...[1, 2, 3].map((i) => job(`a${i}`, 'a', true)),
    ...[1, 2, 3].map((i) => job(`b${i}`, 'b', true)),
    job('c1', 'c', false),
  ].join('\n');
}

withPostgres('two coordinators on one PostgreSQL database (real processes, real PostgreSQL)', (pg) => {
  test('one coordinator SIGKILLed mid-run: every pipeline ends through the survivor, no job lost or run twice, leadership taken over', async () => {
    const db = await pg.database();
    const dir = tempDir('faultline-cluster-');
    const procs: Proc[] = [];
    pg.defer(async () => {
      for (const p of procs.reverse()) await p.kill('SIGKILL');
      dir.dispose();
    });
    const env = { FAULTLINE_DATABASE_URL: db.url };
    const dataA = join(dir.path, 'a');
    const dataB = join(dir.path, 'b');
    const marks = join(dir.path, 'marks');

    // A starts first (it creates the tokens and takes the leader lock); B is given the same tokens.
    const a = await startCoordinator({ dataDir: dataA, heartbeatTimeoutSec: 3, env });
    procs.push(a);
    mkdirSync(dataB, { recursive: true, mode: 0o700 });
    for (const f of ['api-token', 'registration-token']) copyFileSync(join(dataA, f), join(dataB, f));
    const b = await startCoordinator({ dataDir: dataB, heartbeatTimeoutSec: 3, env });
    procs.push(b);
    const leads = async (url: string) => ((await (await fetch(`${url}/healthz`)).json()) as { cluster: { leader: boolean } }).cluster;
    assert.deepEqual(await leads(a.url), { database: 'postgres', leader: true });
    assert.deepEqual(await leads(b.url), { database: 'postgres', leader: false });

    // Runners: one on A that fails over to B, one on B, and a victim on A killed with A.
    const rA = await startRunnerProcess({ url: `${a.url},${b.url}`, registrationToken: a.registrationToken, name: 'ra', concurrency: 3 });
    procs.push(rA);
    const rB = await startRunnerProcess({ url: b.url, registrationToken: a.registrationToken, name: 'rb', concurrency: 3 });
    procs.push(rB);
    const victimConfig = join(dir.path, 'victim.toml');
    writeFileSync(
      victimConfig,
      [
        '[[runners]]',
        '  name = "victim"',
        `  url = ${JSON.stringify(a.url)}`,
        `  registration_token = ${JSON.stringify(a.registrationToken)}`,
        '  executor = "shell"',
        '  tags = ["victim"]',
        '  run_untagged = false',
        '',
      ].join('\n'),
    );
    const victim = await startRunnerProcess({ config: victimConfig });
    procs.push(victim);

    const apiA = userApi(a.url, a.apiToken);
    const apiB = userApi(b.url, b.apiToken);
    const ids = [
      (await apiA.createPipeline(stagedYaml(marks, 'p1'))).id,
      (await apiB.createPipeline(stagedYaml(marks, 'p2'))).id,
      (await apiA.createPipeline(stagedYaml(marks, 'p3'))).id,
      (await apiB.createPipeline(stagedYaml(marks, 'p4'))).id,
    ];
    const held = (await apiA.createPipeline('held:\n  tags: [victim]\n  script: sleep 120\n')).id;
    await apiB.waitPipeline(held, (p) => jobsByName(p)['held']?.status === 'running', 60_000);
    await apiB.waitPipeline(ids[0]!, (p) => (p.jobs ?? []).some((j) => j.status === 'success'), 60_000);

    await Promise.all([a.kill('SIGKILL'), victim.kill('SIGKILL')]);

    const terminal = (p: PipelineJson) =>
      ['success', 'failed', 'canceled'].includes(p.status) && (p.jobs ?? []).every((j) => j.status !== 'failed' || j.failure !== null);
    for (const id of ids) {
      const p = await apiB.waitPipeline(id, terminal, 90_000);
      assert.equal(
        p.status,
        'success',
        `pipeline ${id} ends successfully through B: ${JSON.stringify(summarize(p))} ${JSON.stringify((p.jobs ?? []).map((j) => j.failure?.message).filter(Boolean))}`,
      );
    }
    for (const file of ['p1', 'p2', 'p3', 'p4']) {
      assert.ok(existsSync(join(marks, file)), `${file} ran`);
      const runs = readFileSync(join(marks, file), 'utf8').trim().split('\n').sort();
      assert.deepEqual(runs, ['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'c1'], `${file}: every job ran exactly once`);
    }

    // B leads now, and its reaper failed the killed runner's job (the one A's reaper would have).
    const reaped = jobsByName(await apiB.waitPipeline(held, terminal, 60_000))['held']!;
    assert.equal(reaped.status, 'failed');
    assert.equal(reaped.failure?.reason, 'runner_system_failure');
    assert.equal(reaped.failure?.class, 'infra');
    assert.deepEqual(await leads(b.url), { database: 'postgres', leader: true });
    // The cluster gauges come from the leader: B counts the runners now, victim among the offline.
    const metrics = await (await fetch(`${b.url}/metrics`)).text();
    assert.match(metrics, /^faultline_runners\{state="offline"\} [1-9]/m);
  });
});
