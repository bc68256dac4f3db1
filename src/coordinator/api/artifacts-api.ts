/**
 * Artifact routes. Runner side (before the Bearer check): PUT an upload with the job's own
 * Job-Token; GET a dependency's archive with the Job-Token of a running job of the same
 * pipeline. User side (Bearer): the archive, its file list (`?list=true`), one file.
 */
import { Router, type Request, type Response } from 'express';
import { pipeline } from 'node:stream/promises';
import type { ArtifactJson, TestReportJson } from '../../protocol/user-api.js';
import { ArtifactInputError, type ArtifactService } from '../artifacts/service.js';
import { ArtifactTooLargeError } from '../artifacts/storage.js';
import { iso } from '../store/db.js';
import type { Store } from '../store/index.js';
import type { ArtifactRow, TestReportRow } from '../store/artifacts.js';
import { sha256 } from '../store/tokens.js';
import { jobFrom } from './auth.js';
import { HttpError, idParam } from './errors.js';

export interface ArtifactsApiDeps {
  store: Store;
  artifacts: ArtifactService;
}

const LIVE = new Set(['running', 'canceling']);
/** How much of an oversized upload is read past the limit so that its sender gets the 413. */
const DRAIN_BEYOND_LIMIT = 64 * 1024 * 1024;

/** Consume a request body up to `max` bytes (then stop reading: the connection is closed after the answer). */
function drain(req: NodeJS.ReadableStream, max: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      req.removeListener('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > max) {
        req.pause();
        done();
      }
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('error', done);
    req.once('close', done);
    req.resume();
  });
}

export function artifactsRunnerApi(d: ArtifactsApiDeps): Router {
  const r = Router();

  r.put('/jobs/:id/artifacts/:kind', async (req, res) => {
    const job = await jobFrom(d.store, req, 30_000 /* the job-token grace: a final job's upload is answered 409, naming why */);
    if (!LIVE.has(job.status)) throw new HttpError(409, `job ${job.id} is ${job.status}; artifacts are uploaded while it runs`);
    const row = (await d.store.jobs.get(job.id))!;
    try {
      const out = await d.artifacts.upload(row, String(req.params.kind), req);
      res.status(201).json(out);
    } catch (err) {
      if (err instanceof ArtifactTooLargeError) {
        // Read (and discard) the rest of the body before answering, up to a bound: a client still
        // streaming when the socket closes sees a reset instead of this 413 and cannot say why.
        await drain(req, err.limit + DRAIN_BEYOND_LIMIT);
        res.status(413).set('connection', 'close').json({ error: err.message, limit: err.limit });
        return;
      }
      if (err instanceof ArtifactInputError) throw new HttpError(422, err.message, [{ path: 'body', message: err.message }]);
      throw err;
    }
  });

  r.get('/jobs/:id/artifacts', async (req, res, next) => {
    const token = req.get('job-token');
    if (!token) return next(); // the user API's route (Bearer)
    const caller = await d.store.artifacts.jobByTokenHash(sha256(token));
    const id = idParam(req.params.id);
    const target = await d.store.jobs.get(id);
    if (!caller || !LIVE.has(caller.status)) throw new HttpError(403, 'job token is not valid (not a running job)');
    if (!target || target.pipeline_id !== caller.pipeline_id)
      throw new HttpError(403, `job ${caller.id} may only read artifacts of its own pipeline`);
    return sendArchive(d, id, req, res);
  });

  return r;
}

export function artifactsUserApi(d: ArtifactsApiDeps): Router {
  const r = Router();
  r.get('/jobs/:id/artifacts', async (req, res) => {
    const id = idParam(req.params.id);
    if (!(await d.store.jobs.get(id))) throw new HttpError(404, `job ${id} not found`);
    if (req.query.list === 'true') {
      const row = await d.artifacts.archive(id);
      if (!row) throw new HttpError(404, `job ${id} has no artifacts archive (none kept, or expired)`);
      return void res.json({ files: await d.artifacts.list(row) });
    }
    return sendArchive(d, id, req, res);
  });

  r.get('/jobs/:id/artifacts/*path', async (req, res) => {
    const id = idParam(req.params.id);
    const parts = (req.params as { path?: string[] | string }).path;
    const path = Array.isArray(parts) ? parts.join('/') : String(parts ?? '');
    const row = await d.artifacts.archive(id);
    if (!row) throw new HttpError(404, `job ${id} has no artifacts archive (none kept, or expired)`);
    const entry = await d.artifacts.file(row, path);
    if (!entry) throw new HttpError(404, `no file ${JSON.stringify(path)} in the artifacts of job ${id}`);
    const textual = /\.(txt|log|json|xml|md|csv|env|ya?ml)$/i.test(path);
    res.set({
      'content-type': textual ? 'text/plain; charset=utf-8' : 'application/octet-stream',
      'content-length': String(entry.size),
      'x-content-type-options': 'nosniff',
      'content-disposition': `${textual ? 'inline' : 'attachment'}; filename="${path
        .split('/')
        .pop()!
        .replace(/["\\\r\n]/g, '_')}"`,
    });
    await pipeline(entry.stream, res);
  });
  return r;
}

async function sendArchive(d: ArtifactsApiDeps, id: number, _req: Request, res: Response): Promise<void> {
  const row = await d.artifacts.archive(id);
  if (!row) {
    const had = await d.store.artifacts.get(id, 'archive');
    throw new HttpError(404, had ? `the artifacts of job ${id} expired or were lost` : `job ${id} has no artifacts archive`);
  }
  const filename = `${(row.name ?? `job-${id}-artifacts`).replace(/[^A-Za-z0-9._-]+/g, '_')}.zip`;
  res.set({
    'content-type': 'application/zip',
    'content-length': String(row.size),
    'content-disposition': `attachment; filename="${filename}"`,
  });
  await pipeline(d.artifacts.storage.read(row.storage_key), res);
}

/** Extra fields of JobJson: the kept artifacts and the parsed test report. */
type Extras = { artifacts: ArtifactJson[]; test_report: TestReportJson | null };

export async function artifactExtras(store: Store, jobId: number): Promise<Extras> {
  return extrasOf(await store.artifacts.ofJob(jobId), await store.artifacts.testReport(jobId));
}

/** artifactExtras of many jobs with two queries, not two per job (a 25,000-job pipeline). */
export async function artifactExtrasOf(store: Store, jobIds: number[]): Promise<(id: number) => Extras> {
  const rows = await store.artifacts.ofJobs(jobIds);
  const reports = await store.artifacts.testReports(jobIds);
  return (id) => extrasOf(rows.get(id) ?? [], reports.get(id) ?? null);
}

function extrasOf(rows: ArtifactRow[], t: TestReportRow | null): Extras {
  return {
    artifacts: rows.map((a) => ({
      kind: a.kind,
      name: a.name,
      expose_as: a.expose_as,
      size: a.size,
      files: a.files,
      created_at: iso(a.created_at)!,
      expire_at: iso(a.expire_at),
      expired: a.expired_at !== null,
    })),
    test_report: t
      ? {
          tests: t.tests,
          failures: t.failures,
          errors: t.errors,
          skipped: t.skipped,
          time: t.time,
          failed: t.failed,
          parse_error: t.parse_error,
        }
      : null,
  };
}
