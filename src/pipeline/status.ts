/** Job and pipeline statuses (pure; no I/O). The vocabulary itself lives in src/protocol. */
import { type JobStatus } from '../protocol/status.js';

export * from '../protocol/status.js';

export const TERMINAL_JOB_STATUSES: ReadonlySet<JobStatus> = new Set(['success', 'failed', 'canceled', 'skipped']);
export const isTerminal = (s: JobStatus): boolean => TERMINAL_JOB_STATUSES.has(s);
