/**
 * The executor contract. The job orchestrator (src/runner/job-runner.ts) drives every
 * executor through the same stages; an executor only knows how to set up an
 * environment, run one script in it, and tear it down.
 *
 *   prepare(ctx)            prepare_executor (+ pull_image for container executors)
 *   runScript(ctx, step)    step_script (before_script + script) / after_script
 *   cleanup(ctx)            cleanup — must be safe to call twice and after a failed prepare
 *
 * Sources are fetched by the orchestrator on the runner host into ctx.buildDir before
 * step_script; container executors mount that directory into the job container.
 * Failures other than a non-zero script exit are thrown as BuildError (typed reason +
 * stage); any other thrown error becomes runner_system_failure at the current stage.
 * A non-zero exit of the script is a normal StepResult, not an error.
 */
import type { FailureReason, FailureStage } from '../protocol/failure.js';
import type { ImagePullRecord, JobPayload } from '../protocol/runner-api.js';

/** `get_sources`: the `hooks: pre_get_sources_script` commands, before the checkout (as gitlab-runner's get_sources script). */
export type ScriptStep = 'step_script' | 'after_script' | 'get_sources';

/** Where log output goes: the orchestrator masks secrets and streams it to the coordinator. */
export interface TraceSink {
  /** Raw output bytes/text from the job (stdout+stderr interleaved). */
  write(chunk: string | Buffer): void;
  /** A runner-authored line (e.g. "Using effective pull policy …"), newline added. */
  line(text: string): void;
}

export interface JobContext {
  job: JobPayload;
  /** Host directory with the job's sources; the working directory of the scripts. */
  buildDir: string;
  /** Per-job scratch dir on the host (scripts are written here). */
  tmpDir: string;
  trace: TraceSink;
  /** Environment for the scripts: job variables + CI_* (already merged). */
  env: Record<string, string>;
  /** Container executors append one record per pull attempt. */
  imagePulls: ImagePullRecord[];
  /** Executor-reported stage timings/attributes go to spans via the orchestrator. */
  onStage?: (stage: string, start: Date, end: Date, attributes?: Record<string, string | number | boolean>) => void;
}

export interface RunScriptOptions {
  /** Abort = stop the script: SIGTERM to the process group / container, SIGKILL after graceMs. */
  signal: AbortSignal;
  graceMs: number;
  /** Extra env for this step (e.g. CI_JOB_STATUS for after_script). */
  extraEnv?: Record<string, string>;
}

export interface StepResult {
  /** Exit code of the script; null if killed by a signal. */
  exitCode: number | null;
  /** Signal name when killed (e.g. "SIGTERM"). */
  signal: string | null;
  /** True when the step ended because opts.signal aborted it. */
  aborted: boolean;
}

export interface Executor {
  readonly name: string; // 'shell' | 'docker' | 'kubernetes' | 'custom'
  prepare(ctx: JobContext): Promise<void>;
  /** Run `script` (a bash script text) for `step`. */
  runScript(ctx: JobContext, step: ScriptStep, script: string, opts: RunScriptOptions): Promise<StepResult>;
  cleanup(ctx: JobContext): Promise<void>;
}

/** A typed failure that carries its reason and stage (gitlab-runner's BuildError). */
export class BuildError extends Error {
  override readonly name = 'BuildError';
  constructor(
    message: string,
    readonly reason: FailureReason,
    readonly stage: FailureStage,
    readonly extra: { exitCode?: number | null; image?: string | null; registry?: string | null; kind?: string | null } = {},
  ) {
    super(message);
  }
}
