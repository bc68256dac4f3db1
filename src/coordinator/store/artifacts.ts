/** Artifact rows, parsed test reports and dotenv variables (tables of migration 6). */
import { inList, type Sql } from './engine.js';
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
  constructor(private readonly sql: Sql) {}

  /** Insert or replace (a retried upload replaces the earlier one). */
  async upsert(r: Omit<ArtifactRow, 'expired_at'>): Promise<void> {
    await this.sql.run(
      `INSERT INTO artifacts (job_id, kind, storage_key, name, expose_as, size, files, sha256, created_at, expire_at, expired_at)
       VALUES (@job_id, @kind, @storage_key, @name, @expose_as, @size, @files, @sha256, @created_at, @expire_at, NULL)
       ON CONFLICT (job_id, kind) DO UPDATE SET storage_key = excluded.storage_key, name = excluded.name, expose_as = excluded.expose_as,
         size = excluded.size, files = excluded.files, sha256 = excluded.sha256, created_at = excluded.created_at,
         expire_at = excluded.expire_at, expired_at = NULL`,
      { ...r },
    );
  }

  get(jobId: number, kind: string): Promise<ArtifactRow | undefined> {
    return this.sql.get<ArtifactRow>('SELECT * FROM artifacts WHERE job_id = ? AND kind = ?', [jobId, kind]);
  }

  ofJob(jobId: number): Promise<ArtifactRow[]> {
    return this.sql.all<ArtifactRow>('SELECT * FROM artifacts WHERE job_id = ? ORDER BY kind', [jobId]);
  }

  /** Rows past their expiry that still hold a file. */
  expired(now: number, limit = 500): Promise<ArtifactRow[]> {
    return this.sql.all<ArtifactRow>(
      'SELECT * FROM artifacts WHERE expired_at IS NULL AND expire_at IS NOT NULL AND expire_at <= ? LIMIT ?',
      [now, limit],
    );
  }

  async markExpired(jobId: number, kind: string, now: number): Promise<void> {
    await this.sql.run('UPDATE artifacts SET expired_at = ? WHERE job_id = ? AND kind = ?', [now, jobId, kind]);
  }

  /** The running job holding this job-token hash (runners download with their own job's token). */
  jobByTokenHash(hash: string): Promise<{ id: number; pipeline_id: number; status: string } | undefined> {
    return this.sql.get('SELECT id, pipeline_id, status FROM jobs WHERE token_hash = ?', [hash]);
  }

  async putTestReport(jobId: number, r: TestReportSummary, parseError: string | null): Promise<void> {
    await this.sql.run(
      `INSERT INTO job_test_reports (job_id, tests, failures, errors, skipped, time, failed_json, parse_error)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET tests = excluded.tests, failures = excluded.failures, errors = excluded.errors,
         skipped = excluded.skipped, time = excluded.time, failed_json = excluded.failed_json, parse_error = excluded.parse_error`,
      [jobId, r.tests, r.failures, r.errors, r.skipped, r.time, JSON.stringify(r.failed), parseError],
    );
  }

  /** Artifacts of many jobs in one query (a big pipeline's page), by job id. */
  async ofJobs(jobIds: number[]): Promise<Map<number, ArtifactRow[]>> {
    const out = new Map<number, ArtifactRow[]>();
    if (!jobIds.length) return out;
    const rows = await this.sql.all<ArtifactRow>(
      `SELECT * FROM artifacts WHERE job_id IN (${inList(jobIds)}) ORDER BY job_id, kind`,
      jobIds,
    );
    for (const r of rows) out.set(r.job_id, [...(out.get(r.job_id) ?? []), r]);
    return out;
  }

  /** Test reports of many jobs in one query, by job id. */
  async testReports(jobIds: number[]): Promise<Map<number, TestReportRow>> {
    if (!jobIds.length) return new Map();
    const rows = await this.sql.all<Omit<TestReportRow, 'failed'> & { job_id: number; failed_json: string }>(
      `SELECT * FROM job_test_reports WHERE job_id IN (${inList(jobIds)})`,
      jobIds,
    );
    return new Map(
      rows.map(({ job_id, failed_json, ...r }) => [job_id, { ...r, failed: JSON.parse(failed_json) as TestReportSummary['failed'] }]),
    );
  }

  async testReport(jobId: number): Promise<TestReportRow | null> {
    const row = await this.sql.get<{
      tests: number;
      failures: number;
      errors: number;
      skipped: number;
      time: number;
      failed_json: string;
      parse_error: string | null;
    }>('SELECT * FROM job_test_reports WHERE job_id = ?', [jobId]);
    if (!row) return null;
    return { ...row, failed: JSON.parse(row.failed_json) as TestReportSummary['failed'] };
  }

  async putDotenv(jobId: number, vars: Record<string, string>): Promise<void> {
    await this.sql.run(
      `INSERT INTO job_dotenv (job_id, variables_json) VALUES (?, ?)
       ON CONFLICT (job_id) DO UPDATE SET variables_json = excluded.variables_json`,
      [jobId, JSON.stringify(vars)],
    );
  }

  async dotenv(jobId: number): Promise<Record<string, string> | null> {
    const row = await this.sql.get<{ variables_json: string }>('SELECT variables_json FROM job_dotenv WHERE job_id = ?', [jobId]);
    return row ? (JSON.parse(row.variables_json) as Record<string, string>) : null;
  }
}
