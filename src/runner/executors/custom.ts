/**
 * Custom executor: gitlab-runner's driver contract.
 *
 *   config_exec  [config_args]                      → optional JSON on stdout (driver, job_env, …)
 *   prepare_exec [prepare_args]                     → create the environment ("machine")
 *   run_exec     [run_args] <script path> <stage>   → once per stage
 *   cleanup_exec [cleanup_args]                     → always, failures only warned about
 *
 * Every executable gets the job variables as CUSTOM_ENV_<NAME>, plus
 * BUILD_FAILURE_EXIT_CODE / SYSTEM_FAILURE_EXIT_CODE so the driver can say whose fault a
 * failure was, and BUILD_EXIT_CODE_FILE where it may write the script's real exit code.
 */
import { hostEnv } from '../host-env.js';
import { guardProcessGroup } from '../lifeline.js';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BuildError, type Executor, type JobContext, type RunScriptOptions, type ScriptStep, type StepResult } from '../executor.js';
import type { FailureStage } from '../../protocol/failure.js';

/** `[runners.custom]` of config.toml (gitlab-runner's names; timeouts in seconds). */
export interface CustomExecutorConfig {
  config_exec?: string;
  config_args?: string[];
  config_exec_timeout?: number;
  prepare_exec?: string;
  prepare_args?: string[];
  prepare_exec_timeout?: number;
  run_exec: string;
  run_args?: string[];
  cleanup_exec?: string;
  cleanup_args?: string[];
  cleanup_exec_timeout?: number;
  /** SIGTERM → SIGKILL delay when a stage executable is stopped by a timeout. */
  graceful_kill_timeout?: number;
}

export const BUILD_FAILURE_EXIT_CODE = 1;
export const SYSTEM_FAILURE_EXIT_CODE = 2;

interface ExecResult {
  code: number | null;
  signal: string | null;
  stderr: string;
  stdout: string;
  timedOut: boolean;
  aborted: boolean;
}

/** Driver output from config_exec (the fields faultline uses). */
interface DriverConfig {
  driver?: { name?: string; version?: string };
  job_env?: Record<string, string>;
}

export class CustomExecutor implements Executor {
  readonly name = 'custom';
  private jobEnv: Record<string, string> = {};
  private prepared = false;
  private cleaned = false;

  constructor(private readonly config: CustomExecutorConfig) {
    if (!config?.run_exec) throw new Error('custom executor: run_exec is required (runners.custom.run_exec)');
  }

  /** The environment every driver executable sees. */
  private env(ctx: JobContext, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const custom = Object.fromEntries(Object.entries({ ...ctx.env, ...extra }).map(([k, v]) => [`CUSTOM_ENV_${k}`, v]));
    return {
      ...hostEnv(), // without the runner's secrets
      ...custom,
      ...this.jobEnv,
      BUILD_FAILURE_EXIT_CODE: String(BUILD_FAILURE_EXIT_CODE),
      SYSTEM_FAILURE_EXIT_CODE: String(SYSTEM_FAILURE_EXIT_CODE),
      BUILD_EXIT_CODE_FILE: join(ctx.tmpDir, 'build-exit-code'),
      // where the sources are on the runner host (the driver copies/mounts them)
      CUSTOM_ENV_CI_PROJECT_DIR: ctx.env.CI_PROJECT_DIR ?? ctx.buildDir,
      FAULTLINE_BUILD_DIR: ctx.buildDir,
    };
  }

  private exec(
    ctx: JobContext,
    file: string,
    args: string[],
    o: { timeoutS?: number; signal?: AbortSignal; graceMs?: number; env?: NodeJS.ProcessEnv; stream: boolean },
  ): Promise<ExecResult> {
    return new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      let aborted = false;
      let killTimer: NodeJS.Timeout | undefined;
      const child = spawn(file, args, {
        cwd: ctx.buildDir,
        env: o.env ?? this.env(ctx),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const release = child.pid ? guardProcessGroup(child.pid) : () => undefined; // dies with the runner (lifeline.ts)
      // the driver may fork (ssh, VMs …): signal its whole process group
      const stop = () => {
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          /* gone */
        }
        killTimer = setTimeout(
          () => {
            try {
              process.kill(-child.pid!, 'SIGKILL');
            } catch {
              /* gone */
            }
          },
          o.graceMs ?? (this.config.graceful_kill_timeout ?? 10) * 1000,
        );
      };
      const timer = o.timeoutS ? setTimeout(() => ((timedOut = true), stop()), o.timeoutS * 1000) : undefined;
      const onAbort = () => ((aborted = true), stop());
      if (o.signal?.aborted) queueMicrotask(onAbort);
      else o.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (d: Buffer) => {
        if (o.stream) ctx.trace.write(d);
        else stdout += d.toString('utf8');
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString('utf8');
        ctx.trace.write(d);
      });
      child.on('error', (e) => {
        release();
        clearTimeout(timer);
        resolve({ code: null, signal: null, stdout, stderr: stderr + e.message, timedOut, aborted });
      });
      child.on('close', (code, signal) => {
        release();
        clearTimeout(timer);
        clearTimeout(killTimer);
        o.signal?.removeEventListener('abort', onAbort);
        resolve({ code, signal, stdout, stderr, timedOut, aborted });
      });
    });
  }

  /** The driver's own words for a failure: the last non-empty stderr lines. */
  private static message(what: string, r: ExecResult): string {
    const tail = r.stderr.trim().split('\n').slice(-5).join('\n').trim();
    const how = r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`;
    return tail ? `${tail} (${what}: ${how})` : `${what} failed: ${how}`;
  }

  async prepare(ctx: JobContext): Promise<void> {
    const c = this.config;
    if (c.config_exec) {
      const r = await this.exec(ctx, c.config_exec, c.config_args ?? [], { timeoutS: c.config_exec_timeout ?? 3600, stream: false });
      if (r.code !== 0) throw new BuildError(CustomExecutor.message('config_exec', r), 'runner_system_failure', 'prepare_executor');
      let parsed: DriverConfig = {};
      if (r.stdout.trim()) {
        try {
          parsed = JSON.parse(r.stdout) as DriverConfig;
        } catch (e) {
          throw new BuildError(
            `config_exec printed invalid JSON: ${(e as Error).message}`,
            'runner_configuration_error',
            'prepare_executor',
          );
        }
      }
      this.jobEnv = Object.fromEntries(Object.entries(parsed.job_env ?? {}).map(([k, v]) => [k, String(v)]));
      if (parsed.driver?.name)
        ctx.trace.line(`Using Custom executor with driver ${parsed.driver.name} ${parsed.driver.version ?? ''}...`.replace(' ...', '...'));
    } else {
      ctx.trace.line('Using Custom executor...');
    }
    this.prepared = true;
    if (c.prepare_exec) {
      const r = await this.exec(ctx, c.prepare_exec, c.prepare_args ?? [], { timeoutS: c.prepare_exec_timeout ?? 3600, stream: true });
      this.raiseFor('prepare_exec', r, 'prepare_executor');
    }
  }

  /** Map a stage executable's exit to gitlab-runner's meaning. */
  private raiseFor(what: string, r: ExecResult, stage: FailureStage): void {
    if (r.code === 0) return;
    if (r.code === BUILD_FAILURE_EXIT_CODE && !r.timedOut) {
      throw new BuildError(CustomExecutor.message(what, r), 'script_failure', stage, { exitCode: r.code });
    }
    throw new BuildError(CustomExecutor.message(what, r), 'runner_system_failure', stage, { exitCode: r.code });
  }

  async runScript(ctx: JobContext, step: ScriptStep, script: string, opts: RunScriptOptions): Promise<StepResult> {
    const path = join(ctx.tmpDir, `${step}.sh`);
    writeFileSync(path, script, { mode: 0o755 });
    const codeFile = join(ctx.tmpDir, 'build-exit-code');
    rmSync(codeFile, { force: true });
    const r = await this.exec(ctx, this.config.run_exec, [...(this.config.run_args ?? []), path, step], {
      signal: opts.signal,
      graceMs: opts.graceMs,
      env: this.env(ctx, opts.extraEnv),
      stream: true,
    });
    if (r.aborted) return { exitCode: r.signal ? null : r.code, signal: r.signal, aborted: true };
    if (r.code === 0) return { exitCode: 0, signal: null, aborted: false };
    if (r.code === BUILD_FAILURE_EXIT_CODE) {
      // The driver may report the script's real exit code (BUILD_EXIT_CODE_FILE), else it is 1.
      const reported = existsSync(codeFile) ? Number.parseInt(readFileSync(codeFile, 'utf8').trim(), 10) : NaN;
      return { exitCode: Number.isInteger(reported) && reported > 0 ? reported : BUILD_FAILURE_EXIT_CODE, signal: null, aborted: false };
    }
    if (r.code === SYSTEM_FAILURE_EXIT_CODE) {
      throw new BuildError(CustomExecutor.message('run_exec', r), 'runner_system_failure', step, { exitCode: r.code });
    }
    throw new BuildError(
      CustomExecutor.message(`run_exec: unknown custom executor executable exit code ${r.code}`, r),
      'runner_system_failure',
      step,
      { exitCode: r.code },
    );
  }

  async cleanup(ctx: JobContext): Promise<void> {
    if (this.cleaned || !this.prepared || !this.config.cleanup_exec) return;
    this.cleaned = true;
    const r = await this.exec(ctx, this.config.cleanup_exec, this.config.cleanup_args ?? [], {
      timeoutS: this.config.cleanup_exec_timeout ?? 3600,
      stream: true,
    });
    if (r.code !== 0) ctx.trace.line(`WARNING: Cleanup script failed: ${CustomExecutor.message('cleanup_exec', r)}`);
  }
}

export function createCustomExecutor(config: CustomExecutorConfig): Executor {
  return new CustomExecutor(config);
}
