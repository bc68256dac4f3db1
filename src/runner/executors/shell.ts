/**
 * Shell executor: runs each script step as `bash --noprofile --norc -eo pipefail
 * <script>` (through a /bin/sh lifeline, below) on the runner host, in the build dir, in its own process group so a stop
 * reaches everything the script started (background children included).
 *
 * The environment is the runner's own (PATH, HOME … as gitlab-runner's shell executor
 * does) without the runner's secrets (host-env.ts), overlaid with the job's variables and
 * the step's extra variables.
 *
 * Jobs run as the runner's user — they can read whatever the runner can — unless `user`
 * names another one (the runner must then be root): the checkout and the scripts are
 * handed to that user before each step and the shell is spawned with its uid/gid. Each
 * step's process group is registered with the lifeline watchdog so it dies with the
 * runner (lifeline.ts).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { hostEnv } from '../host-env.js';
import { chownTree, resolveJobUser, type JobUser } from '../job-user.js';
import { guardProcessGroup } from '../lifeline.js';
import { BuildError, type Executor, type JobContext, type RunScriptOptions, type ScriptStep, type StepResult } from '../executor.js';

/** `[runners.shell]` of config.toml. */
export interface ShellExecutorConfig {
  /** Shell binary (default "bash"). */
  shell?: string;
  /** Run jobs as this user (name or uid); needs a root runner. */
  user?: string;
}

/**
 * Runs the shell with a lifeline inside the job's own process group (a second guard
 * beside the watchdog of lifeline.ts): a background reader holds the pipe the runner
 * gives as stdin and, at EOF (the runner died), SIGKILLs its group. `exec` keeps the job
 * shell's pid, exit status and signals exactly as if it had been spawned directly; the
 * script itself gets /dev/null as stdin, as before.
 */
const IN_GROUP_LIFELINE = [
  'exec 3<&0',
  '( while read -r _; do :; done; kill -KILL 0 ) <&3 >/dev/null 2>&1 &',
  'exec "$0" "$@" </dev/null 3<&-',
].join('\n');

export class ShellExecutor implements Executor {
  readonly name = 'shell';
  private readonly shell: string;
  private readonly user: JobUser | null;

  constructor(config: ShellExecutorConfig = {}) {
    this.shell = config.shell ?? 'bash';
    this.user = config.user ? resolveJobUser(config.user) : null;
  }

  async prepare(ctx: JobContext): Promise<void> {
    ctx.trace.line(`Using Shell (${this.shell}) executor${this.user ? ` as user ${this.user.name}` : ''}...`);
    try {
      mkdirSync(ctx.buildDir, { recursive: true });
      mkdirSync(ctx.tmpDir, { recursive: true });
    } catch (err) {
      throw new BuildError(
        `shell executor: cannot create the build directories: ${(err as Error).message}`,
        'runner_system_failure',
        'prepare_executor',
      );
    }
  }

  runScript(ctx: JobContext, step: ScriptStep, script: string, opts: RunScriptOptions): Promise<StepResult> {
    const file = join(ctx.tmpDir, `${step}.sh`);
    writeFileSync(file, script, { mode: 0o700 });
    const u = this.user;
    if (u) {
      // The sources were fetched (as the runner) after prepare: hand everything over now.
      chownTree(ctx.buildDir, u);
      chownTree(ctx.tmpDir, u);
    }
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', IN_GROUP_LIFELINE, this.shell, '--noprofile', '--norc', '-eo', 'pipefail', file], {
        cwd: ctx.buildDir,
        env: { ...hostEnv(), ...(u ? { HOME: u.home, USER: u.name, LOGNAME: u.name } : {}), ...ctx.env, ...opts.extraEnv },
        detached: true, // own process group: -pid reaches the script's children too
        stdio: ['pipe', 'pipe', 'pipe'], // stdin: the lifeline; never written, closed when the step is over
        ...(u ? { uid: u.uid, gid: u.gid } : {}),
      });
      child.stdin?.on('error', () => undefined);
      const release = child.pid ? guardProcessGroup(child.pid) : () => undefined;
      let aborted = false;
      let killTimer: NodeJS.Timeout | null = null;
      const group = (sig: NodeJS.Signals) => {
        try {
          if (child.pid) process.kill(-child.pid, sig);
        } catch {
          // the group is already gone
        }
      };
      const onAbort = () => {
        if (aborted) return;
        aborted = true;
        if (opts.graceMs <= 0) return group('SIGKILL');
        group('SIGTERM');
        killTimer = setTimeout(() => group('SIGKILL'), opts.graceMs);
      };
      child.stdout.on('data', (d: Buffer) => ctx.trace.write(d));
      child.stderr.on('data', (d: Buffer) => ctx.trace.write(d));
      child.once('error', (err) => {
        release();
        opts.signal.removeEventListener('abort', onAbort);
        reject(new BuildError(`shell executor: cannot start ${this.shell}: ${err.message}`, 'runner_system_failure', step));
      });
      child.once('exit', (code, signal) => {
        opts.signal.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        // Background children left by a finished script would keep its output pipes (and
        // the build dir) busy: the step is over, so the whole group goes.
        group('SIGKILL');
        release();
        child.stdin?.destroy();
        const result: StepResult = signal
          ? // Killed by a signal we did not send: report it as the shell would (128 + n).
            { exitCode: aborted ? null : 128 + constants.signals[signal as NodeJS.Signals], signal, aborted }
          : { exitCode: code, signal: null, aborted };
        // Wait for the pipes to drain so no output is lost, but not forever (a child may
        // have escaped the group with setsid and kept them open).
        const done = () => {
          clearTimeout(t);
          resolve(result);
        };
        const t = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          done();
        }, 2000);
        if (child.stdout.closed && child.stderr.closed) done();
        else child.once('close', done);
      });
      if (opts.signal.aborted) onAbort();
      else opts.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async cleanup(_ctx: JobContext): Promise<void> {
    // Nothing host-side beyond what the orchestrator removes (the job's tmp dir).
  }
}

export function createShellExecutor(config: ShellExecutorConfig = {}): Executor {
  return new ShellExecutor(config);
}
