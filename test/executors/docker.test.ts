import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTools } from '../helpers/tools.js';
import { tempDir } from '../helpers/tmp.js';
import { startContainerInfra, type ContainerInfra } from '../helpers/container-infra.js';
import { DockerExecutor, type DockerExecutorConfig } from '../../src/runner/executors/docker.js';
import { BuildError } from '../../src/runner/executor.js';
import type { PullPolicy } from '../../src/pipeline/model.js';
import { makeCtx, run } from './ctx.js';

describe('docker executor (podman API + docker-registry)', () => {
  let infra: ContainerInfra | null = null;
  const work = tempDir('faultline-docker-');
  const cfg = (extra: DockerExecutorConfig = {}): DockerExecutorConfig => ({
    host: infra!.dockerHost,
    allowed_pull_policies: ['always', 'if-not-present', 'never'],
    pull_retry: { attempts: 2, backoffMs: 20 },
    ...extra,
  });
  const ctxFor = (pull_policy: PullPolicy[] = [], name = infra!.image, env?: Record<string, string>) =>
    makeCtx(work.path, { image: { name, pull_policy }, env });

  before(async (t) => {
    if (!requireTools(t as never, 'podman', 'docker-registry', 'runc', 'busybox')) return;
    infra = await startContainerInfra();
  });
  after(async () => {
    await infra?.dispose();
    work.dispose();
  });

  test('a job passes and fails with exact exit codes; after_script runs in a fresh container with the job variables', async (t) => {
    if (!infra) return t.skip('no infra');
    const ctx = ctxFor(['always'], infra.image, { GREETING: 'hello' });
    writeFileSync(join(ctx.buildDir, 'source.txt'), 'from the sources\n');
    const ex = new DockerExecutor(cfg());
    try {
      await ex.prepare(ctx);
      assert.deepEqual(
        ctx.imagePulls.map((p) => [p.policy, p.outcome, p.registry]),
        [['always', 'success', infra.registry]],
      );
      const r = await ex.runScript(ctx, 'step_script', 'echo "$GREETING from $(pwd)"; cat source.txt; echo oops >&2; exit 3', run());
      assert.deepEqual(r, { exitCode: 3, signal: null, aborted: false });
      const a = await ex.runScript(
        ctx,
        'after_script',
        'echo "after $GREETING status=$CI_JOB_STATUS"',
        run(undefined, 2000, { CI_JOB_STATUS: 'failed' }),
      );
      assert.deepEqual(a, { exitCode: 0, signal: null, aborted: false });
      const text = ctx.text();
      assert.match(text, new RegExp(`hello from ${ctx.buildDir}`));
      assert.match(text, /from the sources/);
      assert.match(text, /oops/);
      assert.match(text, /after hello status=failed/);
    } finally {
      await ex.cleanup(ctx);
      await ex.cleanup(ctx); // twice is safe
    }
    const left = infra.podman('ps', '-a', '--filter', `label=com.faultline.job.id=${ctx.job.id}`, '-q');
    assert.equal(left.stdout.trim(), '', 'containers removed');

    const ok = ctxFor(['if-not-present']);
    const ex2 = new DockerExecutor(cfg());
    try {
      await ex2.prepare(ok);
      assert.equal(ok.imagePulls[0]?.outcome, 'local');
      assert.deepEqual(await ex2.runScript(ok, 'step_script', 'echo fine', run()), { exitCode: 0, signal: null, aborted: false });
    } finally {
      await ex2.cleanup(ok);
    }
  });

  test('cancel stops the container with SIGTERM, then after_script still runs', async (t) => {
    if (!infra) return t.skip('no infra');
    const ctx = ctxFor(['if-not-present']);
    const ex = new DockerExecutor(cfg());
    try {
      await ex.prepare(ctx);
      const ac = new AbortController();
      const started = Date.now();
      setTimeout(() => ac.abort(), 1500);
      const r = await ex.runScript(ctx, 'step_script', 'echo started; sleep 60; echo never', run(ac.signal, 3000));
      assert.equal(r.aborted, true);
      assert.equal(r.signal, 'SIGTERM');
      assert.equal(r.exitCode, null);
      assert.ok(Date.now() - started < 20_000, 'stopped well before the sleep ended');
      assert.match(ctx.text(), /started/);
      assert.doesNotMatch(ctx.text(), /never/);
      const a = await ex.runScript(ctx, 'after_script', 'echo graceful after', run(undefined, 2000, { CI_JOB_STATUS: 'canceled' }));
      assert.equal(a.exitCode, 0);
      assert.match(ctx.text(), /graceful after/);
    } finally {
      await ex.cleanup(ctx);
    }
  });

  test('registry down: always → image_pull_failure; [always, if-not-present] falls back to the local image; registry back → always works', async (t) => {
    if (!infra) return t.skip('no infra');
    await infra.stopRegistry();
    try {
      const ctx = ctxFor(['always']);
      const ex = new DockerExecutor(cfg());
      const err = await ex.prepare(ctx).then(
        () => null,
        (e: unknown) => e,
      );
      await ex.cleanup(ctx);
      assert.ok(err instanceof BuildError, String(err));
      assert.equal(err.reason, 'image_pull_failure');
      assert.equal(err.stage, 'pull_image');
      assert.deepEqual(err.extra, { image: infra.image, registry: infra.registry, kind: 'registry_unreachable' });
      assert.match(err.message, /connection refused/);
      assert.match(err.message, /\[always\]/);
      // transient → retried once (pull_retry.attempts 2), both recorded
      assert.deepEqual(
        ctx.imagePulls.map((p) => [p.policy, p.outcome, p.kind]),
        [
          ['always', 'failure', 'registry_unreachable'],
          ['always', 'failure', 'registry_unreachable'],
        ],
      );

      const fb = ctxFor(['always', 'if-not-present']);
      const ex2 = new DockerExecutor(cfg());
      try {
        await ex2.prepare(fb);
        const r = await ex2.runScript(fb, 'step_script', 'echo from local image', run());
        assert.equal(r.exitCode, 0);
      } finally {
        await ex2.cleanup(fb);
      }
      const lines = fb.lines();
      const at = (s: string | RegExp) => lines.findIndex((l) => (typeof s === 'string' ? l === s : s.test(l)));
      const order = [
        at('Using effective pull policy of [always if-not-present] for container build'),
        at('Attempt #1: Trying "always" pull policy'),
        at(/^WARNING: Failed to pull image with policy "always": .*connection refused/),
        at('Attempt #2: Trying "if-not-present" pull policy'),
        at('Using locally found image version due to "if-not-present" pull policy'),
        at('from local image'),
      ];
      assert.ok(
        order.every((i) => i >= 0),
        `all fallback lines present:\n${fb.text()}`,
      );
      assert.deepEqual(
        [...order].sort((a, b) => a - b),
        order,
        'in order',
      );
      assert.deepEqual(fb.imagePulls.map((p) => [p.policy, p.outcome]).at(-1), ['if-not-present', 'local']);
    } finally {
      await infra.startRegistry();
    }
    const back = ctxFor(['always']);
    const ex3 = new DockerExecutor(cfg());
    try {
      await ex3.prepare(back);
      assert.deepEqual(
        back.imagePulls.map((p) => p.outcome),
        ['success'],
      );
    } finally {
      await ex3.cleanup(back);
    }
  });

  test('a missing tag is runner_configuration_error (not infra)', async (t) => {
    if (!infra) return t.skip('no infra');
    const ctx = ctxFor(['always'], `${infra.registry}/busybox:no-such-tag`);
    const ex = new DockerExecutor(cfg());
    const err = await ex.prepare(ctx).then(
      () => null,
      (e: unknown) => e,
    );
    await ex.cleanup(ctx);
    assert.ok(err instanceof BuildError, String(err));
    assert.equal(err.reason, 'runner_configuration_error');
    assert.equal(err.stage, 'pull_image');
    assert.equal(err.extra.kind, 'not_found');
    assert.match(err.message, /manifest unknown/);
    assert.equal(ctx.imagePulls.length, 1, 'not_found is not retried');
  });

  test('a job policy outside allowed_pull_policies is runner_configuration_error naming it', async (t) => {
    if (!infra) return t.skip('no infra');
    const ctx = ctxFor(['never']);
    const ex = new DockerExecutor(cfg({ allowed_pull_policies: ['always', 'if-not-present'] }));
    const err = await ex.prepare(ctx).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof BuildError);
    assert.equal(err.reason, 'runner_configuration_error');
    assert.match(err.message, /\[never\]/);
  });

  test('the engine socket gone → runner_system_failure at prepare_executor', async (t) => {
    if (!infra) return t.skip('no infra');
    const ctx = ctxFor(['always']);
    const ex = new DockerExecutor(cfg({ host: `unix://${infra.dir}/gone.sock` }));
    const err = await ex.prepare(ctx).then(
      () => null,
      (e: unknown) => e,
    );
    await ex.cleanup(ctx);
    assert.ok(err instanceof BuildError, String(err));
    assert.equal(err.reason, 'runner_system_failure');
    assert.equal(err.stage, 'prepare_executor');
    assert.match(err.message, /Cannot connect to the Docker daemon at unix:.*gone\.sock.*ENOENT/);
  });
});
