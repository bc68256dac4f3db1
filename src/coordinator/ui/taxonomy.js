// Closed sets the UI needs, mirrored from src/protocol/failure.ts and
// src/pipeline/status.ts (no build step, so they cannot be imported);
// test/ui/taxonomy.test.ts fails if they drift apart.

export const FAILURE_REASONS = [
  'script_failure',
  'job_execution_timeout',
  'image_pull_failure',
  'runner_system_failure',
  'runner_configuration_error',
  'runner_external_dependency_failure',
  'runner_interrupted',
  'runner_unsupported',
  'missing_dependency_failure',
  'unknown_failure',
  'no_updates_running',
  'stuck_pending_no_matching_runners',
  'stuck_pending_with_matching_runners',
  'downstream_pipeline_creation_failed',
  'downstream_pipeline_failed',
];

export const FAILURE_CLASSES = ['infra', 'build', 'unknown'];

/** Label, icon and who fixes it: the three differ in colour, icon AND words. */
export const CLASS_INFO = {
  infra: { icon: '⚙', label: 'Infrastructure', owner: "operators' to fix" },
  build: { icon: '✎', label: 'Build', owner: 'yours to fix' },
  unknown: { icon: '?', label: 'Unclassified', owner: '' },
};

export const DISPLAY_STATUSES = [
  'created',
  'pending',
  'running',
  'success',
  'failed',
  'canceling',
  'canceled',
  'skipped',
  'manual',
  'success_with_warnings',
  'blocked',
];

const STATUS_LABEL = {
  created: 'created',
  pending: 'pending',
  running: 'running',
  success: 'passed',
  failed: 'failed',
  canceling: 'canceling',
  canceled: 'canceled',
  skipped: 'skipped',
  manual: 'manual',
  success_with_warnings: 'passed with warnings',
  blocked: 'blocked',
};
const STATUS_ICON = {
  created: '○',
  pending: '◔',
  running: '◑',
  success: '✓',
  failed: '✕',
  canceling: '⊘',
  canceled: '⊘',
  skipped: '»',
  manual: '▶',
  success_with_warnings: '!',
  blocked: '▶',
};
export const statusLabel = (s) => STATUS_LABEL[s] ?? String(s);
export const statusIcon = (s) => STATUS_ICON[s] ?? '•';

/** Statuses that may still change on their own: keep polling while any is shown. */
export const ACTIVE_STATUSES = new Set(['created', 'pending', 'running', 'canceling']);
