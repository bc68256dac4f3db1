/** Job and pipeline statuses: wire vocabulary shared by coordinator, runner, CLI and UI. */

export const JOB_STATUSES = ['created', 'pending', 'running', 'success', 'failed', 'canceling', 'canceled', 'skipped', 'manual'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses shown to users: adds derived `success_with_warnings` and pipeline `blocked`. */
export const DISPLAY_STATUSES = [...JOB_STATUSES, 'success_with_warnings', 'blocked'] as const;
export type DisplayStatus = (typeof DISPLAY_STATUSES)[number];

export const PIPELINE_STATUSES = [
  'created',
  'pending',
  'running',
  'success',
  'failed',
  'canceling',
  'canceled',
  'skipped',
  'manual',
  'blocked',
] as const;
export type PipelineStatus = (typeof PIPELINE_STATUSES)[number];
