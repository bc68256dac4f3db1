import { test, describe, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/tmp.js';
import { startFakeKubeApi, type FakeKubeApi, type FakeKubeNode } from '../fakes/kube-api.js';
import { KubernetesExecutor, type KubernetesExecutorConfig } from '../../src/runner/executors/kubernetes.js';
import { BuildError } from '../../src/runner/executor.js';
import type { PullPolicy } from '../../src/pipeline/model.js';
import { makeCtx, run } from './ctx.js';

const IMAGE = 'registry.example.com/busybox:1.36';

describe('kubernetes executor', () => {
  const work = tempDir('faultline-k8s-');
  let api: FakeKubeApi | null = null;
  afterEach(async () => {
    await api?.close();
    api = null;
  });
  const setup = async (node: Partial<FakeKubeNode>, extra: KubernetesExecutorConfig = {}) => {
    api = await startFakeKubeApi({ registryImages: new Set([IMAGE]), ...node });
    return new KubernetesExecutor({
      host: api.url,
      namespace: 'ci',
      poll_timeout: 2,
      pull_retry: { attempts: 1, backoffMs: 1 },
      allowed_pull_policies: ['always', 'if-not-present', 'never'],
      service_account: 'runner',
      node_selector: { pool: 'ci' },
      image_pull_secrets: ['regcred'],
      memory_limit: '256Mi',
      ...extra,
    });
  };
  const ctxFor = (pull_policy: PullPolicy[] = ['always'], name = IMAGE) =>
    makeCtx(work.path, { image: { name, pull_policy }, env: { GREETING: 'hello' } });
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => null,
      (e: unknown) => e,
    );

  test('script passes and fails with exact exit codes, logs streamed, pods deleted (fake Kubernetes API)', async () => {
    const ex = await setup({});
    const ctx = ctxFor();
    writeFileSync(join(ctx.buildDir, 'src.txt'), 'sources here\n');
    try {
      await ex.prepare(ctx);
      const r = await ex.runScript(ctx, 'step_script', 'echo "$GREETING"; cat src.txt; exit 3', run());
      assert.deepEqual(r, { exitCode: 3, signal: null, aborted: false });
      const a = await ex.runScript(ctx, 'after_script', 'echo "after $CI_JOB_STATUS"', run(undefined, 1000, { CI_JOB_STATUS: 'failed' }));
      assert.deepEqual(a, { exitCode: 0, signal: null, aborted: false });
      assert.match(ctx.text(), /hello\nsources here\n/);
      assert.match(ctx.text(), /after failed/);
      const pod = api!.created[0]!;
      assert.equal(pod.metadata.namespace, 'ci');
      assert.equal(pod.spec.serviceAccountName, 'runner');
      assert.deepEqual(pod.spec.nodeSelector, { pool: 'ci' });
      assert.deepEqual(pod.spec.imagePullSecrets, [{ name: 'regcred' }]);
      assert.equal(pod.spec.containers[0].resources.limits.memory, '256Mi');
      assert.equal(pod.spec.containers[0].imagePullPolicy, 'Always');
      assert.deepEqual(
        ctx.imagePulls.map((p) => [p.policy, p.outcome, p.registry]),
        [['always', 'success', 'registry.example.com']],
      );
    } finally {
      await ex.cleanup(ctx);
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(api!.livePods().length, 0, 'pods deleted');
  });

  test('ErrImagePull → pod recreated with the next policy, for the failing image only (fake Kubernetes API)', async () => {
    const ex = await setup({ registryDown: true, localImages: new Set([IMAGE]) });
    const ctx = ctxFor(['always', 'if-not-present']);
    try {
      await ex.prepare(ctx);
      const r = await ex.runScript(ctx, 'step_script', 'echo ran from cache', run());
      assert.equal(r.exitCode, 0);
      const lines = ctx.lines();
      const fail = lines.find((l) =>
        l.startsWith(`Failed to pull image "${IMAGE}" for container "build" with policy "always": ErrImagePull: `),
      );
      assert.ok(fail, ctx.text());
      assert.match(fail!, /connection refused/);
      assert.ok(lines.includes('Attempt #2: Trying "if-not-present" pull policy'));
      assert.deepEqual(
        api!.created.map((p) => p.spec.containers[0].imagePullPolicy),
        ['Always', 'IfNotPresent'],
      );
      assert.deepEqual(
        ctx.imagePulls.map((p) => [p.policy, p.outcome, p.kind]),
        [
          ['always', 'failure', 'registry_unreachable'],
          ['if-not-present', 'success', null],
        ],
      );
      assert.match(ctx.text(), /ran from cache/);
    } finally {
      await ex.cleanup(ctx);
    }
  });

  test('registry down and no fallback → image_pull_failure at pull_image (fake Kubernetes API)', async () => {
    const ex = await setup({ registryDown: true });
    const ctx = ctxFor(['always']);
    await ex.prepare(ctx);
    const err = await failure(ex.runScript(ctx, 'step_script', 'true', run()));
    await ex.cleanup(ctx);
    assert.ok(err instanceof BuildError, String(err));
    assert.equal(err.reason, 'image_pull_failure');
    assert.equal(err.stage, 'pull_image');
    assert.deepEqual(err.extra, { image: IMAGE, registry: 'registry.example.com', kind: 'registry_unreachable' });
  });

  test('missing image → runner_configuration_error; InvalidImageName → runner_configuration_error (fake Kubernetes API)', async () => {
    const ex = await setup({});
    const ctx = ctxFor(['always'], 'registry.example.com/busybox:nope');
    await ex.prepare(ctx);
    const err = await failure(ex.runScript(ctx, 'step_script', 'true', run()));
    await ex.cleanup(ctx);
    assert.ok(err instanceof BuildError, String(err));
    assert.equal(err.reason, 'runner_configuration_error');
    assert.equal(err.extra.kind, 'not_found');

    const bad = ctxFor(['always'], 'registry.example.com/BusyBox:1');
    const ex2 = new KubernetesExecutor({ host: api!.url, namespace: 'ci', poll_timeout: 2 });
    await ex2.prepare(bad);
    const err2 = await failure(ex2.runScript(bad, 'step_script', 'true', run()));
    await ex2.cleanup(bad);
    assert.ok(err2 instanceof BuildError, String(err2));
    assert.equal(err2.reason, 'runner_configuration_error');
    assert.equal(err2.stage, 'prepare_executor');
    assert.match(err2.message, /^InvalidImageName: /);
  });

  test('pod never ready / unschedulable within poll_timeout → runner_system_failure naming the condition (fake Kubernetes API)', async () => {
    const ex = await setup({ stuckCreating: true }, { poll_timeout: 1 });
    const ctx = ctxFor();
    await ex.prepare(ctx);
    const err = await failure(ex.runScript(ctx, 'step_script', 'true', run()));
    await ex.cleanup(ctx);
    assert.ok(err instanceof BuildError, String(err));
    assert.equal(err.reason, 'runner_system_failure');
    assert.equal(err.stage, 'prepare_executor');
    assert.match(err.message, /ContainersNotReady: containers with unready status: \[build\]/);
    await api!.close();

    const ex2 = await setup({ unschedulable: true }, { poll_timeout: 1 });
    const ctx2 = ctxFor();
    await ex2.prepare(ctx2);
    const err2 = await failure(ex2.runScript(ctx2, 'step_script', 'true', run()));
    await ex2.cleanup(ctx2);
    assert.ok(err2 instanceof BuildError);
    assert.equal(err2.reason, 'runner_system_failure');
    assert.match(err2.message, /Unschedulable: 0\/1 nodes are available/);
  });

  test('eviction (DisruptionTarget) → runner_system_failure; cancel deletes the pod and after_script still runs (fake Kubernetes API)', async () => {
    const ex = await setup({ evictAfterMs: 300 });
    const ctx = ctxFor();
    await ex.prepare(ctx);
    const err = await failure(ex.runScript(ctx, 'step_script', 'echo working; sleep 30', run()));
    await ex.cleanup(ctx);
    assert.ok(err instanceof BuildError, String(err));
    assert.equal(err.reason, 'runner_system_failure');
    assert.match(err.message, /DisruptionTarget: EvictionByEvictionAPI: Eviction API: evicting/);
    await api!.close();

    const ex2 = await setup({});
    const c2 = ctxFor();
    try {
      await ex2.prepare(c2);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 500);
      const r = await ex2.runScript(c2, 'step_script', 'echo started; sleep 30; echo never', run(ac.signal, 2000));
      assert.equal(r.aborted, true);
      assert.equal(r.signal, 'SIGTERM');
      assert.doesNotMatch(c2.text(), /never/);
      const a = await ex2.runScript(c2, 'after_script', 'echo graceful after', run());
      assert.equal(a.exitCode, 0);
      assert.match(c2.text(), /graceful after/);
    } finally {
      await ex2.cleanup(c2);
    }
  });

  test('unreachable API server → runner_system_failure at prepare_executor (fake Kubernetes API)', async () => {
    const ex = new KubernetesExecutor({ host: 'http://127.0.0.1:1', namespace: 'ci' });
    const err = await failure(ex.prepare(ctxFor()));
    assert.ok(err instanceof BuildError, String(err));
    assert.equal(err.reason, 'runner_system_failure');
    assert.equal(err.stage, 'prepare_executor');
  });
});
