/** Options of createCoordinator and their defaults. */
import type { Logger } from 'pino';
import type { FailureClassifier } from './services/classifier.js';
import type { NotificationTarget } from './services/notifier.js';
import { gitlabFromEnv, type GitLabInstance } from './includes/index.js';

export interface CoordinatorOptions {
  dataDir: string;
  /** postgres:// URL of a database shared by several coordinators; absent = SQLite in dataDir (database-url.ts). */
  databaseUrl?: string;
  /**
   * PostgreSQL connections this coordinator opens at most (default 10; LISTEN and the leader lock take one more each).
   * Every coordinator's pool counts against the server's max_connections (default 100).
   */
  databasePoolSize?: number;
  /** 0 = random free port (default 8080 via the CLI; 0 here). */
  port?: number;
  host?: string;
  registrationToken?: string;
  apiToken?: string;
  /** A running job whose runner was silent this long fails with runner_system_failure (default 60 s). */
  heartbeatTimeoutMs?: number;
  /** A pending job no runner took this long fails as stuck (default 1 h). */
  stuckTimeoutMs?: number;
  /** Longest wait of POST /jobs/request (default 30 s). */
  longPollMs?: number;
  /** A runner not heard of this long is stale and removed by the sweep (default 7 days, as GitLab). */
  runnerStaleMs?: number;
  /** Largest job log (default 64 MiB). */
  maxTraceBytes?: number;
  /** A job token still works this long after its job reached a final state (default 30 s). */
  jobTokenGraceMs?: number;
  /** New pipelines cancel interruptible jobs of older unfinished ones on the same project+ref. */
  autoCancel?: boolean;
  /** SIGTERM→SIGKILL grace sent to runners (default 10 s). */
  cancelGraceSeconds?: number;
  classifier?: FailureClassifier;
  rulesDir?: string;
  /** The UI's event stream: heartbeat interval and the unsent bytes a slow client may hold. */
  liveEvents?: { heartbeatMs?: number; maxBufferedBytes?: number };
  logger?: Logger;
  /** Public URL for CI_SERVER_URL (default: the listening URL). */
  publicUrl?: string;
  /** Webhook targets for failed pipelines/jobs, routed by failure class (services/notifier.ts). */
  notifications?: NotificationTarget[];
  /** GitLab instance for include:project/template/component (default: FAULTLINE_GITLAB_URL / FAULTLINE_GITLAB_TOKEN). */
  gitlab?: GitLabInstance;
  /**
   * include:local reads a local repository's working tree instead of its commit (the
   * embedded coordinator of `faultline run`, whose repository is the user's checkout).
   */
  includesFromWorktree?: boolean;
  /** Largest artifact upload, per archive (default 100 MiB, GitLab's default). */
  maxArtifactBytes?: number;
  /** How often expired artifacts are deleted (default 1 min). */
  artifactSweepIntervalMs?: number;
  /**
   * When repeated infra failures of one dependency become an incident (default: 3 failures,
   * or a second failure 2 min after the first), and when a pending one is dropped (30 min).
   */
  incidents?: { failures?: number; windowMs?: number; pendingExpireMs?: number };
  /** When an error line no rule knows counts as widespread (default: 5 jobs within 30 min). */
  widespread?: { minJobs?: number; windowMs?: number };
}

export interface ResolvedOptions {
  dataDir: string;
  heartbeatTimeoutMs: number;
  stuckTimeoutMs: number;
  longPollMs: number;
  runnerStaleMs: number;
  maxTraceBytes: number;
  jobTokenGraceMs: number;
  autoCancel: boolean;
  cancelGraceSeconds: number;
  maxArtifactBytes: number;
  artifactSweepIntervalMs: number;
  /** Filled once the server listens. */
  serverUrl: string;
  gitlab?: GitLabInstance;
  includesFromWorktree: boolean;
}

export function resolveOptions(o: CoordinatorOptions): ResolvedOptions {
  const pos = (v: number | undefined, d: number, field: string): number => {
    if (v === undefined) return d;
    if (!Number.isFinite(v) || v <= 0) throw new Error(`coordinator option ${field} must be a positive number, got ${v}`);
    return v;
  };
  return {
    dataDir: o.dataDir,
    heartbeatTimeoutMs: pos(o.heartbeatTimeoutMs, 60_000, 'heartbeatTimeoutMs'),
    stuckTimeoutMs: pos(o.stuckTimeoutMs, 3_600_000, 'stuckTimeoutMs'),
    longPollMs: pos(o.longPollMs, 30_000, 'longPollMs'),
    runnerStaleMs: pos(o.runnerStaleMs, 7 * 86_400_000, 'runnerStaleMs'),
    maxTraceBytes: pos(o.maxTraceBytes, 64 * 1024 * 1024, 'maxTraceBytes'),
    jobTokenGraceMs: pos(o.jobTokenGraceMs, 30_000, 'jobTokenGraceMs'),
    autoCancel: o.autoCancel ?? false,
    cancelGraceSeconds: pos(o.cancelGraceSeconds, 10, 'cancelGraceSeconds'),
    maxArtifactBytes: pos(o.maxArtifactBytes, 100 * 1024 * 1024, 'maxArtifactBytes'),
    artifactSweepIntervalMs: pos(o.artifactSweepIntervalMs, 60_000, 'artifactSweepIntervalMs'),
    serverUrl: o.publicUrl ?? '',
    ...(gitlabFromEnv(o.gitlab) ? { gitlab: gitlabFromEnv(o.gitlab) } : {}),
    includesFromWorktree: o.includesFromWorktree ?? false,
  };
}
