/**
 * The per-job rules, apart from the bookkeeping: what a finished job's result
 * means (`on_status`), and what a job whose predecessors are complete becomes
 * (`when`). Pure functions, table-tested.
 */
import type { CompositeStatus } from './composite.js';
import type { JobSpec, Outcome } from './model.js';
import type { DisplayStatus, JobStatus } from './status.js';

export interface Finished {
  status: 'success' | 'failed';
  outcome: Outcome;
}

/**
 * Applies `on_status` to a finished attempt. Exit 0 (result success) → success,
 * outcome on_status.success. Otherwise exit_codes[code] ?? on_status.failure:
 * `warn` → failed with outcome warn (shown success_with_warnings), `pass_pipeline`
 * → success (the job ends the pipeline early), `fail_pipeline` → failed.
 * Infrastructure failures (no exit code, or runner_system_failure …) go through
 * on_status.failure too: `allow_failure` covers them, like GitLab.
 */
export function resolveFinish(spec: Pick<JobSpec, 'on_status'>, result: 'success' | 'failed', exitCode: number | null): Finished {
  const os = spec.on_status;
  if (result === 'success') return { status: 'success', outcome: os.success };
  const mapped = exitCode !== null ? os.exit_codes[String(exitCode)] : undefined;
  const outcome = mapped ?? os.failure;
  return { status: outcome === 'pass_pipeline' ? 'success' : 'failed', outcome };
}

/** What predecessors amount to for a job that may now be decided. */
export type Gate = 'success' | 'failed' | 'canceled' | 'skipped';

/** Reduces a settled composite (stage or needs kind) to a gate. */
export function gateOf(c: CompositeStatus): Gate | null {
  switch (c) {
    case 'success':
    case 'failed':
    case 'canceled':
    case 'skipped':
      return c;
    default:
      return null; // not complete: wait
  }
}

export interface Decision {
  status: Extract<JobStatus, 'pending' | 'manual' | 'skipped'>;
  note: string | null;
}

const SKIP_NOTES: Record<Gate, string> = {
  success: 'skipped: no predecessor failed',
  failed: 'skipped: a predecessor failed',
  canceled: 'skipped: a predecessor was canceled',
  skipped: 'skipped: a predecessor was skipped or an optional manual job was not played',
};

/**
 * `when` applied to the gate. on_success/manual run after success (warnings
 * included); on_failure after a counting failure; always in any case.
 * `skippedRuns`: in stage mode skipped earlier jobs count as success (GitLab).
 */
export function decide(when: JobSpec['when'], gate: Gate, skippedRuns: boolean): Decision {
  const ok = gate === 'success' || (gate === 'skipped' && skippedRuns);
  switch (when) {
    case 'always':
      return { status: 'pending', note: null };
    case 'on_failure':
      return gate === 'failed' ? { status: 'pending', note: null } : { status: 'skipped', note: SKIP_NOTES[gate] };
    case 'manual':
      return ok ? { status: 'manual', note: null } : { status: 'skipped', note: SKIP_NOTES[gate] };
    case 'on_success':
      return ok ? { status: 'pending', note: null } : { status: 'skipped', note: SKIP_NOTES[gate] };
  }
}

/** The status shown to users: a `warn` failure is success_with_warnings. */
export function displayStatus(s: { status: JobStatus; outcome: Outcome | null }): DisplayStatus {
  return s.status === 'failed' && s.outcome === 'warn' ? 'success_with_warnings' : s.status;
}
