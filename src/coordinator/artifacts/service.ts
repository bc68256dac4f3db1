/**
 * Artifacts on the coordinator: take a streamed upload (bounded, replace-on-retry), read
 * the reports it understands (junit → test summary, dotenv → variables for later jobs),
 * say what a job's dependencies left behind, serve archives and single files, and expire
 * them (the sweeper).
 */
import { PassThrough, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { ArtifactsSpec, JobSpec } from '../../pipeline/model.js';
import type { ArtifactDependency, ArtifactUploadResponse, JobPayload } from '../../protocol/runner-api.js';
import { REPORT_KINDS } from '../../config/artifacts.js';
import type { Store } from '../store/index.js';
import type { ArtifactRow } from '../store/artifacts.js';
import { parseDotenv, DOTENV_MAX_BYTES } from './dotenv.js';
import { addJunit, emptySummary, JunitParseError, type TestReportSummary } from './junit.js';
import type { ArtifactStorage } from './storage.js';
import { listZip, openZipEntry, readZipTexts, type ZipEntryInfo } from './zip.js';

export const ARTIFACT_KINDS: readonly string[] = ['archive', ...REPORT_KINDS];
const MAX_JUNIT_FILE_BYTES = 30 * 1024 * 1024;

export class ArtifactInputError extends Error {
  override readonly name = 'ArtifactInputError';
}

export interface ArtifactServiceOptions {
  maxBytes: number;
  sweepIntervalMs: number;
}

export class ArtifactService {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    readonly storage: ArtifactStorage,
    readonly opts: ArtifactServiceOptions,
    private readonly specOf: (pipelineId: number, name: string) => Promise<JobSpec | undefined>,
    private readonly log: Logger,
  ) {}

  /** Store one upload of `kind` for a running job; a repeated upload replaces the earlier one. */
  async upload(job: { id: number; pipeline_id: number; name: string }, kind: string, body: Readable): Promise<ArtifactUploadResponse> {
    if (!ARTIFACT_KINDS.includes(kind))
      throw new ArtifactInputError(`unknown artifact kind '${kind}' (archive or a report kind: ${REPORT_KINDS.join(', ')})`);
    const spec: ArtifactsSpec | null = (await this.specOf(job.pipeline_id, job.name))?.artifacts ?? null;
    const key = `jobs/${job.id}/${kind}.zip`;
    let entries: ZipEntryInfo[] = [];
    let junit: { sum: TestReportSummary; problems: string | null } | null = null;
    let dotenv: Record<string, string> | null = null;
    // Read before the upload replaces anything: a refused report leaves the earlier one alone.
    const stored = await this.storage.put(key, detach(body), this.opts.maxBytes, async (tmp) => {
      try {
        entries = await listZip(tmp);
      } catch (err) {
        throw new ArtifactInputError(`the upload is not a zip archive: ${(err as Error).message}`);
      }
      if (kind === 'junit') junit = await readJunit(tmp);
      if (kind === 'dotenv') dotenv = await readDotenv(tmp);
    });
    const now = Date.now();
    await this.store.artifacts.upsert({
      job_id: job.id,
      kind,
      storage_key: key,
      name: kind === 'archive' ? (spec?.name ?? null) : null,
      expose_as: kind === 'archive' ? (spec?.expose_as ?? null) : null,
      size: stored.size,
      files: entries.length,
      sha256: stored.sha256,
      created_at: now,
      expire_at: spec?.expire_in_seconds ? now + spec.expire_in_seconds * 1000 : null,
    });
    const j = junit as { sum: TestReportSummary; problems: string | null } | null;
    if (j) await this.store.artifacts.putTestReport(job.id, j.sum, j.problems);
    if (dotenv) await this.store.artifacts.putDotenv(job.id, dotenv);
    return { kind, size: stored.size, files: entries.length };
  }

  /** What each dependency left, and the dotenv variables they export (later ones win). */
  async dependencies(pipelineId: number, spec: JobSpec): Promise<{ deps: ArtifactDependency[]; dotenv: Record<string, string> }> {
    const deps: ArtifactDependency[] = [];
    const dotenv: Record<string, string> = {};
    for (const name of spec.artifact_dependencies ?? []) {
      const j = await this.store.jobs.latestByName(pipelineId, name);
      if (!j) continue;
      const row = await this.store.artifacts.get(j.id, 'archive');
      let state: ArtifactDependency['artifacts'] = 'none';
      if (row) state = row.expired_at === null && this.storage.stat(row.storage_key) ? 'available' : 'missing';
      deps.push({ job_id: j.id, name, artifacts: state, size: row?.size ?? null });
      Object.assign(dotenv, (await this.store.artifacts.dotenv(j.id)) ?? {});
    }
    return { deps, dotenv };
  }

  /** Fills payload.dependencies and lays dependency dotenv variables over job variables (not over pipeline ones). */
  async extendPayload(payload: JobPayload, spec: JobSpec, pipelineVarKeys: ReadonlySet<string>): Promise<void> {
    payload.artifacts = spec.artifacts ?? null;
    const { deps, dotenv } = await this.dependencies(payload.pipeline_id, spec);
    payload.dependencies = deps;
    for (const [key, value] of Object.entries(dotenv)) {
      if (pipelineVarKeys.has(key) || key === 'CI_JOB_TOKEN') continue;
      const i = payload.variables.findIndex((v) => v.key === key);
      if (i >= 0) payload.variables[i] = { key, value, masked: payload.variables[i]!.masked };
      else payload.variables.push({ key, value, masked: false });
    }
  }

  /** The stored, unexpired archive of a job, or null. */
  async archive(jobId: number): Promise<ArtifactRow | null> {
    const row = await this.store.artifacts.get(jobId, 'archive');
    if (!row || row.expired_at !== null || !this.storage.stat(row.storage_key)) return null;
    return row;
  }

  list(row: ArtifactRow): Promise<ZipEntryInfo[]> {
    return listZip(this.storage.localPath(row.storage_key));
  }

  file(row: ArtifactRow, path: string) {
    return openZipEntry(this.storage.localPath(row.storage_key), path);
  }

  start(): void {
    this.timer = setInterval(() => {
      this.sweep(Date.now()).catch((err: unknown) => this.log.warn({ err }, 'artifact sweep failed'));
    }, this.opts.sweepIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Deletes expired archives (the row stays, marked expired, so dependents can tell "missing"). */
  async sweep(now: number): Promise<number> {
    let n = 0;
    for (const row of await this.store.artifacts.expired(now)) {
      try {
        this.storage.delete(row.storage_key);
        await this.store.artifacts.markExpired(row.job_id, row.kind, now);
        n++;
      } catch (err) {
        this.log.warn({ err, job: row.job_id, kind: row.kind }, 'could not delete an expired artifact');
      }
    }
    if (n) this.log.info({ count: n }, 'expired artifacts deleted');
    return n;
  }
}

async function readJunit(zipPath: string): Promise<{ sum: TestReportSummary; problems: string | null }> {
  const { texts, tooBig } = await readZipTexts(zipPath, MAX_JUNIT_FILE_BYTES);
  const sum = emptySummary();
  const problems: string[] = tooBig.map((f) => `${f}: larger than ${MAX_JUNIT_FILE_BYTES} bytes; not read`);
  for (const t of texts) {
    try {
      addJunit(t.text, t.path, sum);
    } catch (err) {
      if (!(err instanceof JunitParseError)) throw err;
      problems.push(err.message);
    }
  }
  return { sum, problems: problems.length ? problems.join('; ') : null };
}

/** A bad dotenv report is the job's error (as in GitLab): refused with the reason. */
async function readDotenv(zipPath: string): Promise<Record<string, string>> {
  const { texts, tooBig } = await readZipTexts(zipPath, DOTENV_MAX_BYTES);
  if (tooBig.length) throw new ArtifactInputError(`${tooBig[0]}: dotenv report is larger than the limit of ${DOTENV_MAX_BYTES} bytes`);
  const vars: Record<string, string> = {};
  for (const t of texts) {
    const r = parseDotenv(t.text, t.path);
    if (!r.ok) throw new ArtifactInputError(r.message);
    Object.assign(vars, r.variables);
  }
  const parsed = parseDotenv(
    Object.entries(vars)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n'),
    'dotenv reports',
  );
  if (!parsed.ok) throw new ArtifactInputError(parsed.message);
  return vars;
}

/**
 * A stream the storage may destroy on error without destroying the HTTP request (so the
 * route can still answer 413); a request that aborts mid-body fails the copy.
 */
function detach(body: Readable): Readable {
  const pass = new PassThrough();
  body.pipe(pass);
  body.once('error', (err) => pass.destroy(err));
  body.once('close', () => {
    if (!body.readableEnded) pass.destroy(new Error('the upload was interrupted'));
  });
  return pass;
}
