/** Artifact rows, parsed test reports and dotenv variables (tables of migration 6). */
import type { Db } from './db.js';
import type { TestReportSummary } from '../artifacts/junit.js';

export interface ArtifactRow {
  job_id: number;
  kind: string;
  storage_key: string;
  name: string | null;
  expose_as: string | null;
  size: number;
  files: number;
  sha256: string;
  created_at: number;
  expire_at: number | null;
  expired_at: number | null;
}

export interface TestReportRow extends TestReportSummary {
  parse_error: string | null;
}

export class ArtifactStore {
  constructor(private readonly db: Db) {}

  /** Insert or replace (a retried upload replaces the earlier one). */
  upsert(r: Omit<ArtifactRow, 'expired_at'>): void {
    this.db
      .prepare(
        `INSERT INTO artifacts (job_id, kind, storage_key, name, expose_as, size, files, sha256, created_at, expire_at, expired_at)
         VALUES (@job_id, @kind, @storage_key, @name, @expose_as, @size, @files, @sha256, @created_at, @expire_at, NULL)
         ON CONFLICT (job_id, kind) DO UPDATE SET storage_key = excluded.storage_key, name = excluded.name, expose_as = excluded.expose_as,
           size = excluded.size, files = excluded.files, sha256 = excluded.sha256, created_at = excluded.created_at,
           expire_at = excluded.expire_at, expired_at = NULL`,
      )
      .run(r);
  }

  get(jobId: number, kind: string): ArtifactRow | undefined {
    return this.db.prepare('SELECT * FROM artifacts WHERE job_id = ? AND kind = ?').get(jobId, kind) as ArtifactRow | undefined;
  }

  ofJob(jobId: number): ArtifactRow[] {
    return this.db.prepare('SELECT * FROM artifacts WHERE job_id = ? ORDER BY kind').all(jobId) as ArtifactRow[];
  }

  /** Rows past their expiry that still hold a file. */
  expired(now: number, limit = 500): ArtifactRow[] {
    return this.db
      .prepare('SELECT * FROM artifacts WHERE expired_at IS NULL AND expire_at IS NOT NULL AND expire_at <= ? LIMIT ?')
      .all(now, limit) as ArtifactRow[];
  }

  markExpired(jobId: number, kind: string, now: number): void {
    this.db.prepare('UPDATE artifacts SET expired_at = ? WHERE job_id = ? AND kind = ?').run(now, jobId, kind);
  }

  /** The running job holding this job-token hash (runners download with their own job's token). */
  jobByTokenHash(hash: string): { id: number; pipeline_id: number; status: string } | undefined {
    return this.db.prepare('SELECT id, pipeline_id, status FROM jobs WHERE token_hash = ?').get(hash) as
      { id: number; pipeline_id: number; status: string } | undefined;
  }

  putTestReport(jobId: number, r: TestReportSummary, parseError: string | null): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO job_test_reports (job_id, tests, failures, errors, skipped, time, failed_json, parse_error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(jobId, r.tests, r.failures, r.errors, r.skipped, r.time, JSON.stringify(r.failed), parseError);
  }

  /** Artifacts of many jobs in one query (a big pipeline's page), by job id. */
  ofJobs(jobIds: number[]): Map<number, ArtifactRow[]> {
    const out = new Map<number, ArtifactRow[]>();
    const rows = this.db
      .prepare('SELECT * FROM artifacts WHERE job_id IN (SELECT value FROM json_each(?)) ORDER BY job_id, kind')
      .all(JSON.stringify(jobIds)) as ArtifactRow[];
    for (const r of rows) out.set(r.job_id, [...(out.get(r.job_id) ?? []), r]);
    return out;
  }

  /** Test reports of many jobs in one query, by job id. */
  testReports(jobIds: number[]): Map<number, TestReportRow> {
    const rows = this.db
      .prepare('SELECT * FROM job_test_reports WHERE job_id IN (SELECT value FROM json_each(?))')
      .all(JSON.stringify(jobIds)) as (Omit<TestReportRow, 'failed'> & { job_id: number; failed_json: string })[];
    return new Map(
      rows.map(({ job_id, failed_json, ...r }) => [job_id, { ...r, failed: JSON.parse(failed_json) as TestReportSummary['failed'] }]),
    );
  }

  testReport(jobId: number): TestReportRow | null {
    const row = this.db.prepare('SELECT * FROM job_test_reports WHERE job_id = ?').get(jobId) as
      | { tests: number; failures: number; errors: number; skipped: number; time: number; failed_json: string; parse_error: string | null }
      | undefined;
    if (!row) return null;
    return { ...row, failed: JSON.parse(row.failed_json) as TestReportSummary['failed'] };
  }

  putDotenv(jobId: number, vars: Record<string, string>): void {
    this.db.prepare('INSERT OR REPLACE INTO job_dotenv (job_id, variables_json) VALUES (?, ?)').run(jobId, JSON.stringify(vars));
  }

  dotenv(jobId: number): Record<string, string> | null {
    const row = this.db.prepare('SELECT variables_json FROM job_dotenv WHERE job_id = ?').get(jobId) as
      { variables_json: string } | undefined;
    return row ? (JSON.parse(row.variables_json) as Record<string, string>) : null;
  }
}
