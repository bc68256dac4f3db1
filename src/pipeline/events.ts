/**
 * The contract of the pure pipeline engine (src/pipeline/engine.ts implements it).
 * The coordinator feeds events in, persists the transitions that come out (in one
 * SQLite transaction), and can rebuild an engine from stored states after a crash.
 */
import type { FailureClass, FailureReason } from '../protocol/failure.js';
import type { JobStatus, PipelineStatus } from './status.js';

/** Persisted per job name (latest attempt). */
export interface JobState {
  name: string;
  status: JobStatus;
  exit_code: number | null;
  /** How the finished job counts: set by the engine when it applies on_status. */
  outcome: 'continue' | 'warn' | 'fail_pipeline' | 'pass_pipeline' | null;
  /** 1-based attempt number. */
  attempt: number;
  /** Human reason for skipped/canceled, e.g. "pipeline passed early by job check". */
  note: string | null;
}

export type PipelineEvent =
  /** Evaluate the initial state: created → pending / manual / skipped. */
  | { type: 'start' }
  /** A runner picked the job (pending → running). */
  | { type: 'job_started'; name: string }
  /** The runner never received the job it was handed (its answer was lost): running → pending again. */
  | { type: 'job_requeued'; name: string }
  /**
   * A job ended on the runner. `canceled` only after a cancel request (after teardown).
   * failure_reason/failure_class are given for failed jobs so that `retry: when:` can decide.
   */
  | {
      type: 'job_finished';
      name: string;
      result: 'success' | 'failed' | 'canceled';
      exit_code: number | null;
      failure_reason?: FailureReason | null;
      failure_class?: FailureClass | null;
    }
  /** A person plays a manual job (manual → pending). */
  | { type: 'job_play'; name: string }
  /** Cancel one job: created/pending/manual → canceled; running → canceling. */
  | { type: 'job_cancel'; name: string }
  /** Cancel every unfinished job. `only_interruptible` for auto-cancel of redundant pipelines. */
  | { type: 'pipeline_cancel'; only_interruptible?: boolean }
  /** A person retries a finished job: new attempt (→ pending), skipped dependents re-evaluated. */
  | { type: 'job_retry'; name: string };

export interface Transition {
  name: string;
  from: JobStatus;
  to: JobStatus;
  /** A new attempt record must be created (manual or automatic retry). */
  new_attempt?: boolean;
  /** For running jobs being canceled: whether after_script teardown applies (interruptible: graceful). */
  graceful?: boolean;
  note?: string;
}

export interface PipelineSummary {
  status: PipelineStatus;
  /** Set after an early exit by `on_status: pass_pipeline`. */
  halted_by: string | null;
  /** success that includes allowed failures (`warn`) or an early exit. */
  warnings: boolean;
}

export interface EngineResult {
  transitions: Transition[];
  pipeline: PipelineSummary;
}
