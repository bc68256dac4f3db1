import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ShellExecutor } from '../../src/runner/executors/shell.js';
import { buildScript } from '../../src/runner/script.js';
import { tempDir } from '../helpers/tmp.js';
import { makeCtx, run } from '../executors/ctx.js';

/** Running (a zombie waiting for a non-reaping PID 1 counts as gone). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
};

describe('shell executor', () => {
  const ex = new ShellExecutor();

  for (const [cmd, code] of [
    ['true', 0],
    ['false', 1],
    ['exit 3', 3],
    ['kill -9 $$', 137],
  ] as const) {
    test(`exit code of "${cmd}" is ${code}`, async () => {
      const tmp = tempDir();
      try {
        const ctx = makeCtx(tmp.path);
        await ex.prepare(ctx);
        const r = await ex.runScript(ctx, 'step_script', buildScript(['echo before', cmd, 'echo after']), run());
        assert.equal(r.exitCode, code);
        assert.equal(r.aborted, false);
        assert.match(ctx.text(), /\$ echo before\nbefore\n/);
        assert.equal(ctx.text().includes('\nafter\n'), code === 0, 'set -e stops at the failing command');
      } finally {
        tmp.dispose();
      }
    });
  }

  test('output streams before the process ends; stderr is captured too', async () => {
    const tmp = tempDir();
    try {
      const ctx = makeCtx(tmp.path);
      const seen: Array<{ at: number; text: string }> = [];
      const write = ctx.trace.write;
      ctx.trace.write = (c) => {
        seen.push({ at: Date.now(), text: String(c) });
        write(c);
      };
      const started = Date.now();
      const r = await ex.runScript(ctx, 'step_script', buildScript(['echo first', 'echo oops >&2', 'sleep 1.2', 'echo last']), run());
      const ended = Date.now();
      assert.equal(r.exitCode, 0);
      const first = seen.find((s) => s.text.includes('first'));
      assert.ok(first, 'first line seen');
      assert.ok(
        first.at - started < 900 && ended - first.at > 900,
        `first chunk arrived ${first.at - started} ms in, ${ended - first.at} ms before the end`,
      );
      assert.match(ctx.text(), /oops/);
    } finally {
      tmp.dispose();
    }
  });

  test('env: job variables, extra env, cwd = build dir, runner PATH kept', async () => {
    const tmp = tempDir();
    try {
      const ctx = makeCtx(tmp.path, { env: { MY_VAR: 'hello world', CI_JOB_STATUS: 'nope' } });
      const r = await ex.runScript(
        ctx,
        'after_script',
        buildScript(['echo "v=$MY_VAR s=$CI_JOB_STATUS"', 'pwd', 'command -v git']),
        run(undefined, 1000, { CI_JOB_STATUS: 'canceled' }),
      );
      assert.equal(r.exitCode, 0);
      assert.match(ctx.text(), /v=hello world s=canceled/);
      assert.ok(ctx.text().includes(`\n${ctx.buildDir}\n`));
    } finally {
      tmp.dispose();
    }
  });

  test('abort kills the whole process group, background children included', async () => {
    const tmp = tempDir();
    try {
      const ctx = makeCtx(tmp.path);
      const pidFile = join(tmp.path, 'child.pid');
      const ac = new AbortController();
      const p = ex.runScript(
        ctx,
        'step_script',
        buildScript([`sleep 1000 & echo $! > ${pidFile}`, 'echo started', 'sleep 1000']),
        run(ac.signal, 5000),
      );
      for (let i = 0; i < 100 && !ctx.text().includes('started'); i++) await new Promise((r) => setTimeout(r, 20));
      const child = Number(execFileSync('cat', [pidFile]).toString().trim());
      assert.ok(alive(child));
      const t0 = Date.now();
      ac.abort();
      const r = await p;
      assert.equal(r.aborted, true);
      assert.equal(r.signal, 'SIGTERM');
      assert.equal(r.exitCode, null);
      assert.ok(Date.now() - t0 < 3000, 'SIGTERM ends bash without waiting for the grace period');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(alive(child), false, 'background sleep was killed with the group');
    } finally {
      tmp.dispose();
    }
  });

  test('a script that ignores SIGTERM is SIGKILLed after graceMs', async () => {
    const tmp = tempDir();
    try {
      const ctx = makeCtx(tmp.path);
      const ac = new AbortController();
      const p = ex.runScript(
        ctx,
        'step_script',
        buildScript([`trap 'echo got TERM' TERM`, 'echo ready', 'while true; do sleep 0.05 || true; done']),
        run(ac.signal, 600),
      );
      for (let i = 0; i < 100 && !ctx.text().includes('ready'); i++) await new Promise((r) => setTimeout(r, 20));
      const t0 = Date.now();
      ac.abort();
      const r = await p;
      const took = Date.now() - t0;
      assert.equal(r.signal, 'SIGKILL');
      assert.ok(took >= 550 && took < 3000, `killed after ${took} ms`);
      assert.match(ctx.text(), /got TERM/);
    } finally {
      tmp.dispose();
    }
  });

  test('a finished script leaves no background process behind', async () => {
    const tmp = tempDir();
    try {
      const ctx = makeCtx(tmp.path);
      const pidFile = join(tmp.path, 'bg.pid');
      const r = await ex.runScript(ctx, 'step_script', buildScript([`sleep 1000 & echo $! > ${pidFile}`]), run());
      assert.equal(r.exitCode, 0);
      assert.ok(existsSync(pidFile));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(alive(Number(execFileSync('cat', [pidFile]).toString().trim())), false);
    } finally {
      tmp.dispose();
    }
  });
});
