/**
 * Numbered, append-only schema migrations recorded in `schema_migrations`.
 * Times are INTEGER milliseconds since epoch (cheap to compare and index).
 */
import type Database from 'better-sqlite3';

const MIGRATIONS: { version: number; sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE pipelines (
  id INTEGER PRIMARY KEY,
  project TEXT NOT NULL,
  ref TEXT NOT NULL,
  sha TEXT,
  name TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT 'api',
  yaml TEXT NOT NULL,
  model_json TEXT NOT NULL,
  variables_json TEXT NOT NULL,
  status TEXT NOT NULL,
  halted_by_job_id INTEGER,
  canceled INTEGER NOT NULL DEFAULT 0,
  has_warnings INTEGER NOT NULL DEFAULT 0,
  failure_class TEXT,
  warnings_json TEXT NOT NULL DEFAULT '[]',
  repository_url TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER
);
CREATE INDEX pipelines_project_ref ON pipelines(project, ref, id);
CREATE INDEX pipelines_ref ON pipelines(ref, id);
CREATE INDEX pipelines_status ON pipelines(status, id);

CREATE TABLE runners (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  tags_json TEXT NOT NULL DEFAULT '[]',
  run_untagged INTEGER NOT NULL DEFAULT 1,
  executor TEXT NOT NULL,
  concurrency INTEGER NOT NULL DEFAULT 1,
  state TEXT NOT NULL DEFAULT 'online',
  last_heartbeat_at INTEGER,
  created_at INTEGER NOT NULL
);

CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  pipeline_id INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
  project TEXT NOT NULL,
  ref TEXT NOT NULL,
  name TEXT NOT NULL,
  stage TEXT NOT NULL,
  stage_index INTEGER NOT NULL DEFAULT 0,
  attempt INTEGER NOT NULL DEFAULT 1,
  retry_of INTEGER REFERENCES jobs(id),
  status TEXT NOT NULL,
  exit_code INTEGER,
  outcome TEXT,
  note TEXT,
  tags_json TEXT NOT NULL DEFAULT '[]',
  needs_json TEXT,
  when_ TEXT NOT NULL DEFAULT 'on_success',
  manual TEXT,
  interruptible TEXT NOT NULL DEFAULT 'false',
  allow_failure INTEGER NOT NULL DEFAULT 0,
  runner_id INTEGER REFERENCES runners(id),
  token_hash TEXT,
  failure_class TEXT,
  failure_reason TEXT,
  failure_stage TEXT,
  failure_cause TEXT,
  failure_summary TEXT,
  failure_owner TEXT,
  failure_rule_id TEXT,
  failure_rule_version TEXT,
  failure_fallback INTEGER,
  failure_evidence_json TEXT,
  failure_message TEXT,
  failure_executor TEXT,
  failure_image TEXT,
  failure_registry TEXT,
  failure_kind TEXT,
  after_script_json TEXT,
  stopped_by TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  graceful INTEGER NOT NULL DEFAULT 0,
  -- 1 between the runner's final update and the finisher (classification + engine).
  finish_pending INTEGER NOT NULL DEFAULT 0,
  trace_bytes INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  queued_at INTEGER,
  started_at INTEGER,
  finished_at INTEGER,
  last_update_at INTEGER
);
CREATE INDEX jobs_pipeline ON jobs(pipeline_id, name, attempt);
CREATE INDEX jobs_status ON jobs(status, id);
CREATE INDEX jobs_runner_active ON jobs(runner_id, status);
CREATE INDEX jobs_finish_pending ON jobs(finish_pending) WHERE finish_pending = 1;
-- /api/v1/failures: every filter has an index ending in (finished_at, id) for keyset paging.
CREATE INDEX jobs_failures ON jobs(finished_at, id) WHERE failure_class IS NOT NULL;
CREATE INDEX jobs_failures_class ON jobs(failure_class, finished_at, id) WHERE failure_class IS NOT NULL;
CREATE INDEX jobs_failures_cause ON jobs(failure_cause, finished_at, id) WHERE failure_class IS NOT NULL;
CREATE INDEX jobs_failures_reason ON jobs(failure_reason, finished_at, id) WHERE failure_class IS NOT NULL;
CREATE INDEX jobs_failures_ref ON jobs(ref, finished_at, id) WHERE failure_class IS NOT NULL;
CREATE INDEX jobs_failures_name ON jobs(name, finished_at, id) WHERE failure_class IS NOT NULL;
CREATE INDEX jobs_failures_runner ON jobs(runner_id, finished_at, id) WHERE failure_class IS NOT NULL;
CREATE INDEX jobs_failures_image ON jobs(failure_image, finished_at, id) WHERE failure_class IS NOT NULL;

CREATE TABLE trace_chunks (
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  offset INTEGER NOT NULL,
  data BLOB NOT NULL,
  PRIMARY KEY (job_id, offset)
);

CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  token_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE image_pulls (
  id INTEGER PRIMARY KEY,
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  runner_id INTEGER,
  image TEXT NOT NULL,
  registry TEXT NOT NULL,
  policy TEXT NOT NULL,
  outcome TEXT NOT NULL,
  kind TEXT,
  duration_ms INTEGER NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX image_pulls_at ON image_pulls(at);
CREATE INDEX image_pulls_job ON image_pulls(job_id);
`,
  },
  {
    version: 2,
    // Per-stage timings the runner reports with its final update (for spans).
    sql: `ALTER TABLE jobs ADD COLUMN stages_json TEXT;`,
  },
  {
    version: 3,
    // Covering index for /failures/summary: the window scan never touches the table.
    sql: `CREATE INDEX jobs_failures_summary ON jobs(finished_at, failure_class, failure_cause) WHERE failure_class IS NOT NULL;`,
  },
  {
    version: 4,
    // Infra incidents (services/incidents.ts): one open row per (cause, target), its failed jobs.
    sql: `
CREATE TABLE incidents (
  id INTEGER PRIMARY KEY,
  cause TEXT NOT NULL,
  target TEXT NOT NULL,
  scope TEXT NOT NULL,
  runner_id INTEGER,
  opened_at INTEGER NOT NULL,
  last_failure_at INTEGER NOT NULL,
  job_count INTEGER NOT NULL DEFAULT 0,
  resolved_at INTEGER,
  resolved_by_json TEXT
);
CREATE UNIQUE INDEX incidents_open ON incidents(cause, target) WHERE resolved_at IS NULL;
CREATE INDEX incidents_opened ON incidents(opened_at, id);
CREATE INDEX incidents_resolved ON incidents(resolved_at) WHERE resolved_at IS NOT NULL;
-- No foreign key to jobs: an incident's history outlives deleted pipelines.
CREATE TABLE incident_jobs (
  incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
  job_id INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (incident_id, job_id)
);
CREATE INDEX incident_jobs_job ON incident_jobs(job_id);
`,
  },
  {
    version: 5,
    // Webhook deliveries (services/notifier.ts): written before the first attempt, so a
    // restart resumes what is pending. No foreign keys: the record outlives pipelines.
    sql: `
CREATE TABLE notifications (
  id INTEGER PRIMARY KEY,
  target TEXT NOT NULL,
  event TEXT NOT NULL,
  pipeline_id INTEGER NOT NULL,
  job_id INTEGER,
  payload_json TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending',
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  last_status_code INTEGER,
  next_attempt_at INTEGER,
  created_at INTEGER NOT NULL,
  delivered_at INTEGER
);
CREATE INDEX notifications_pipeline ON notifications(pipeline_id, id);
CREATE INDEX notifications_pending ON notifications(next_attempt_at) WHERE status = 'pending';
`,
  },
  {
    version: 6,
    // Job hand-out by tags (JobStore.pendingTagSets / pendingIter): the distinct tag sets of
    // pending jobs, then the oldest pending jobs of the sets a runner matches.
    sql: `CREATE INDEX jobs_pending_tags ON jobs(tags_json, id) WHERE status = 'pending';`,
  },
  {
    version: 7,
    // Evidence without a rule (services/finisher.ts): a fallback verdict is compared with the
    // last green run of the same job; the index finds that run with one seek.
    sql: `
ALTER TABLE jobs ADD COLUMN failure_baseline_job_id INTEGER;
ALTER TABLE jobs ADD COLUMN failure_new_lines_json TEXT;
CREATE INDEX jobs_last_green ON jobs(project, name, id) WHERE status = 'success';
`,
  },
  {
    version: 8,
    // Job artifacts (one row per job and kind: archive, junit, dotenv …; files live in the
    // artifact storage), parsed test reports and dotenv variables.
    sql: `
CREATE TABLE artifacts (
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  storage_key TEXT NOT NULL,
  name TEXT,
  expose_as TEXT,
  size INTEGER NOT NULL,
  files INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expire_at INTEGER,
  expired_at INTEGER,
  PRIMARY KEY (job_id, kind)
);
CREATE INDEX artifacts_expiry ON artifacts(expire_at) WHERE expired_at IS NULL AND expire_at IS NOT NULL;
CREATE TABLE job_test_reports (
  job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
  tests INTEGER NOT NULL,
  failures INTEGER NOT NULL,
  errors INTEGER NOT NULL,
  skipped INTEGER NOT NULL,
  time REAL NOT NULL,
  failed_json TEXT NOT NULL,
  parse_error TEXT
);
CREATE TABLE job_dotenv (
  job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
  variables_json TEXT NOT NULL
);
CREATE INDEX jobs_token_hash ON jobs(token_hash) WHERE token_hash IS NOT NULL;
`,
  },
  {
    version: 9,
    // Child pipelines (trigger: include:): the parent pipeline and its trigger job.
    sql: `
ALTER TABLE pipelines ADD COLUMN parent_pipeline_id INTEGER REFERENCES pipelines(id);
ALTER TABLE pipelines ADD COLUMN trigger_job_id INTEGER;
CREATE INDEX pipelines_parent ON pipelines(parent_pipeline_id) WHERE parent_pipeline_id IS NOT NULL;
CREATE INDEX pipelines_trigger_job ON pipelines(trigger_job_id) WHERE trigger_job_id IS NOT NULL;
`,
  },
  {
    version: 10,
    // Incidents keyed by dependency (services/incidents.ts): pending until a threshold, then
    // open → acknowledged → resolved (by evidence, a person or the runner's removal). The old
    // opened_at was the first failure; opened_at is now when the threshold was crossed.
    // Plus the error lines of fallback-decided failures, for widespread unknown errors.
    sql: `
ALTER TABLE incidents RENAME COLUMN opened_at TO first_failure_at;
ALTER TABLE incidents ADD COLUMN opened_at INTEGER;
ALTER TABLE incidents ADD COLUMN dependency_kind TEXT NOT NULL DEFAULT 'unknown';
ALTER TABLE incidents ADD COLUMN state TEXT NOT NULL DEFAULT 'open';
ALTER TABLE incidents ADD COLUMN acknowledged_at INTEGER;
ALTER TABLE incidents ADD COLUMN resolved_reason TEXT;
ALTER TABLE incidents ADD COLUMN note TEXT;
UPDATE incidents SET opened_at = first_failure_at,
  dependency_kind = CASE scope WHEN 'registry' THEN 'registry' WHEN 'runner' THEN 'runner' WHEN 'executor' THEN 'executor_host' ELSE 'unknown' END,
  state = CASE WHEN resolved_at IS NULL THEN 'open' ELSE 'resolved' END,
  resolved_reason = CASE WHEN resolved_at IS NULL THEN NULL ELSE 'evidence' END;
DROP INDEX incidents_open;
CREATE UNIQUE INDEX incidents_active ON incidents(cause, dependency_kind, target) WHERE resolved_at IS NULL;
CREATE TABLE error_lines (
  normalized TEXT NOT NULL,
  job_id INTEGER NOT NULL,
  example TEXT NOT NULL,
  project TEXT NOT NULL,
  ref TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (normalized, job_id)
);
CREATE INDEX error_lines_at ON error_lines(at);
`,
  },
  {
    version: 11,
    // Runner fleet (store/runners.ts): what a runner says of itself at register, so a runner
    // registering again from the same host with the same name takes over its record instead of
    // leaving a ghost; removed runners keep their row (jobs reference it) but lose their token.
    sql: `
ALTER TABLE runners ADD COLUMN host TEXT;
ALTER TABLE runners ADD COLUMN version TEXT;
ALTER TABLE runners ADD COLUMN removed_at INTEGER;
CREATE INDEX runners_name_host ON runners(name, host) WHERE removed_at IS NULL;
`,
  },
  {
    version: 12,
    // Several coordinators on one database (issue 15): every engine step bumps its pipeline's
    // version under the row lock, so a coordinator whose in-memory engine is older rebuilds it.
    sql: `ALTER TABLE pipelines ADD COLUMN version INTEGER NOT NULL DEFAULT 0;`,
  },
  {
    version: 13,
    // When the runner first used the job's token: a hand-out never received (its coordinator
    // died before answering) is handed out again instead of failing (JobService.requeue).
    sql: `ALTER TABLE jobs ADD COLUMN received_at INTEGER;`,
  },
  {
    version: 14,
    // The pipeline version of the last write to a job's engine-visible columns, so a coordinator
    // whose engine is behind reads only the rows changed since (PostgreSQL keeps it by trigger;
    // see pg-migrations.ts). Stays 0 here: one coordinator per SQLite file, never behind.
    sql: `
ALTER TABLE jobs ADD COLUMN step_version INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_step_version ON jobs(pipeline_id, step_version);
`,
  },
  {
    version: 15,
    // PostgreSQL's try_begin_step (a hand-out does not wait for a pipeline another coordinator is
    // stepping). Nothing to do here: one coordinator per SQLite file, its steps queue in-process.
    // Kept as a version so both engines count the same schema versions.
    sql: `SELECT 1;`,
  },
];

export function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const done = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, Date.now());
    })();
  }
}

export const LATEST_SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));
/** Every version, in order (numbers are assigned per feature, so a branch may skip some). */
export const SCHEMA_VERSIONS: readonly number[] = MIGRATIONS.map((m) => m.version);
