import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireTools } from '../helpers/tools.js';
import { tempDir } from '../helpers/tmp.js';
import { CustomExecutor, type CustomExecutorConfig } from '../../src/runner/executors/custom.js';
import { BuildError } from '../../src/runner/executor.js';
import { makeCtx, run } from './ctx.js';

const EX = new URL('../../examples/custom-executor/', import.meta.url).pathname;

describe('custom executor (example tempdir-machine driver)', () => {
  const work = tempDir('faultline-custom-');
  after(() => work.dispose());
  process.env.FAULTLINE_MACHINES_DIR = work.path;
  const config: CustomExecutorConfig = {
    config_exec: join(EX, 'config.sh'),
    prepare_exec: join(EX, 'prepare.sh'),
    run_exec: join(EX, 'run.sh'),
    cleanup_exec: join(EX, 'cleanup.sh'),
    prepare_exec_timeout: 30,
  };
  const machineOf = (id: number) => join(work.path, `faultline-machine-${id}`);

  test('success: sources copied to the machine, job variables without prefix, after_script, cleanup removes the machine', async (t) => {
    if (!requireTools(t, 'bash')) return;
    const ctx = makeCtx(work.path, { env: { GREETING: 'hi there' } });
    writeFileSync(join(ctx.buildDir, 'src.txt'), 'source file\n');
    const ex = new CustomExecutor(config);
    await ex.prepare(ctx);
    assert.ok(existsSync(machineOf(ctx.job.id)), 'machine created');
    const r = await ex.runScript(
      ctx,
      'step_script',
      'echo "$GREETING"; cat src.txt; echo "dir=$MACHINE_DIR"; echo "bfe=${BUILD_FAILURE_EXIT_CODE:-unset}"',
      run(),
    );
    assert.deepEqual(r, { exitCode: 0, signal: null, aborted: false });
    const a = await ex.runScript(ctx, 'after_script', 'echo "after $CI_JOB_STATUS"', run(undefined, 1000, { CI_JOB_STATUS: 'success' }));
    assert.equal(a.exitCode, 0);
    await ex.cleanup(ctx);
    await ex.cleanup(ctx);
    const text = ctx.text();
    assert.match(text, /Using Custom executor with driver tempdir-machine v1\.0\.0\.\.\./);
    assert.match(text, /hi there\nsource file\n/);
    assert.match(text, /bfe=unset/, 'the job sees only its own variables');
    assert.match(text, /after success/);
    assert.ok(!existsSync(machineOf(ctx.job.id)), 'machine removed');
  });

  test('build failure: the driver exits BUILD_FAILURE_EXIT_CODE and reports the exact exit code', async (t) => {
    if (!requireTools(t, 'bash')) return;
    const ctx = makeCtx(work.path);
    const ex = new CustomExecutor(config);
    try {
      await ex.prepare(ctx);
      const r = await ex.runScript(ctx, 'step_script', 'echo failing; exit 42', run());
      assert.deepEqual(r, { exitCode: 42, signal: null, aborted: false });
      assert.match(ctx.text(), /failing/);
    } finally {
      await ex.cleanup(ctx);
    }
  });

  test('system failure: the machine vanished → run_exec exits SYSTEM_FAILURE_EXIT_CODE → runner_system_failure', async (t) => {
    if (!requireTools(t, 'bash')) return;
    const ctx = makeCtx(work.path);
    const ex = new CustomExecutor(config);
    try {
      await ex.prepare(ctx);
      rmSync(machineOf(ctx.job.id), { recursive: true, force: true });
      const err = await ex.runScript(ctx, 'step_script', 'echo never', run()).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof BuildError, String(err));
      assert.equal(err.reason, 'runner_system_failure');
      assert.equal(err.stage, 'step_script');
      assert.match(err.message, /machine .* is gone/);
      assert.doesNotMatch(ctx.text(), /never/);
    } finally {
      await ex.cleanup(ctx);
    }
  });

  test('machine creation failed in prepare_exec → runner_system_failure at prepare_executor with the driver text', async (t) => {
    if (!requireTools(t, 'bash')) return;
    const ctx = makeCtx(work.path, { env: { MACHINE_CREATION_FAIL: '1' } });
    const ex = new CustomExecutor(config);
    const err = await ex.prepare(ctx).then(
      () => null,
      (e: unknown) => e,
    );
    await ex.cleanup(ctx);
    assert.ok(err instanceof BuildError, String(err));
    assert.equal(err.reason, 'runner_system_failure');
    assert.equal(err.stage, 'prepare_executor');
    assert.match(err.message, /^ERROR: Machine creation failed/);
    assert.match(ctx.text(), /ERROR: Machine creation failed/);
  });

  test('cancel stops run_exec and its children; exits not 0/1/2 are system failures', async (t) => {
    if (!requireTools(t, 'bash')) return;
    const ctx = makeCtx(work.path);
    const ex = new CustomExecutor(config);
    try {
      await ex.prepare(ctx);
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 300);
      const t0 = Date.now();
      const r = await ex.runScript(ctx, 'step_script', 'sleep 30', run(ac.signal, 1000));
      assert.equal(r.aborted, true);
      assert.ok(Date.now() - t0 < 10_000);
      const odd = new CustomExecutor({ run_exec: '/bin/sh', run_args: ['-c', 'exit 7', 'x'] });
      const err = await odd.runScript(ctx, 'step_script', 'true', run()).then(
        () => null,
        (e: unknown) => e,
      );
      assert.ok(err instanceof BuildError);
      assert.equal(err.reason, 'runner_system_failure');
      assert.match(err.message, /unknown custom executor executable exit code 7/);
    } finally {
      await ex.cleanup(ctx);
    }
  });
});
