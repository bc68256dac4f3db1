/**
 * `masked: true` in the YAML (globally and per job) is masked like an API-masked variable:
 * in the job payload, the trace, failure messages and every API answer. In-process
 * coordinator + shell runner, real HTTP and SQLite.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startRunner, type RunnerHandle } from '../../src/runner/index.js';
import { silentLogger } from '../../src/runner/logger.js';
import { MASK } from '../../src/util/masker.js';
import { harness, type Harness } from '../coordinator/helpers.js';
import { tempDir } from '../helpers/tmp.js';

const GLOBAL_SECRET = 'yaml-global-secret-3141';
const JOB_SECRET = 'yaml-job-secret-2718';
const YAML = `variables:
  DEPLOY_KEY: {value: "${GLOBAL_SECRET}", masked: true}
  PLAIN: visible-value-1
leak:
  variables:
    JOB_KEY: {value: "${JOB_SECRET}", masked: true}
  script:
    - echo "deploy=$DEPLOY_KEY job=$JOB_KEY plain=$PLAIN"
    - 'echo "error: authentication failed for $DEPLOY_KEY" >&2'
    - exit 1
`;

describe('masked: true in the YAML', () => {
  let h: Harness;
  before(async () => {
    h = await harness({ longPollMs: 200 });
  });
  after(() => h.close());

  test('the payload marks YAML-masked variables masked, whichever layer set them', async () => {
    const runner = await h.register({ name: 'payload' });
    await h.createPipeline(YAML, { variables: [{ key: 'DEPLOY_KEY', value: 'api-override-value', masked: false }] });
    const { job } = await h.request(runner.token);
    assert.ok(job);
    const vars = Object.fromEntries(job.variables.map((v) => [v.key, v]));
    assert.deepEqual(vars.DEPLOY_KEY, { key: 'DEPLOY_KEY', value: 'api-override-value', masked: true });
    assert.equal(vars.JOB_KEY?.masked, true);
    assert.equal(vars.PLAIN?.masked, false);
    // A runner that quotes the value in its failure message: the coordinator masks it too.
    await h.update(job, { state: 'running' });
    await h.update(job, {
      state: 'failed',
      exit_code: null,
      failure: {
        reason: 'runner_system_failure',
        stage: 'prepare_executor',
        message: `cannot log in with api-override-value and ${JOB_SECRET}`,
        executor: 'shell',
        image: null,
        registry: null,
      },
    });
    await h.c.idle();
    const stored = await h.job(job.id);
    assert.equal(stored.failure?.message, `cannot log in with ${MASK} and ${MASK}`);
  });

  test('a real shell job: the values never reach the trace, the failure or the API', async () => {
    const tmp = tempDir('faultline-masked-');
    let runner: RunnerHandle | undefined;
    try {
      runner = await startRunner({
        url: h.c.url,
        registrationToken: h.c.registrationToken,
        name: 'shell',
        executor: 'shell',
        heartbeatMs: 300,
        buildsDir: `${tmp.path}/builds`,
        logger: silentLogger,
      });
      const p = await h.createPipeline(YAML);
      const done = await h.waitFor(async () => {
        const pl = await h.pipeline(p.id);
        return pl.status === 'failed' && pl;
      }, 30_000);
      await h.c.idle();
      const job = done.jobs!.find((j) => j.name === 'leak')!;
      const trace = (await h.api('GET', `/api/v1/jobs/${job.id}/trace`)).body as string;
      assert.ok(trace.includes(`deploy=${MASK} job=${MASK} plain=visible-value-1`), trace);
      assert.ok(trace.includes(`authentication failed for ${MASK}`), trace);
      const answers = [
        trace,
        JSON.stringify((await h.api('GET', `/api/v1/jobs/${job.id}`)).body),
        JSON.stringify((await h.api('GET', `/api/v1/pipelines/${p.id}`)).body),
        JSON.stringify((await h.api('GET', '/api/v1/failures')).body),
      ];
      for (const a of answers) {
        assert.ok(!a.includes(GLOBAL_SECRET), `global masked value leaked: ${a.slice(0, 400)}`);
        assert.ok(!a.includes(JOB_SECRET), `job masked value leaked: ${a.slice(0, 400)}`);
      }
    } finally {
      await runner?.stop({ timeoutMs: 2000 });
      tmp.dispose();
    }
  });
});
