/** Token checks for the runner API (Runner-Token, Job-Token) and the user API (Bearer). */
import type { Request, RequestHandler } from 'express';
import type { Store } from '../store/index.js';
import type { JobAuthRow } from '../store/jobs.js';
import type { RunnerRow } from '../store/runners.js';
import { hashEquals, sha256 } from '../store/tokens.js';
import { HttpError, idParam } from './errors.js';

export async function runnerFrom(store: Store, req: Request): Promise<RunnerRow> {
  const token = req.get('runner-token');
  if (!token) throw new HttpError(401, 'missing Runner-Token header');
  const runner = await store.runners.byTokenHash(sha256(token));
  if (!runner) throw new HttpError(403, 'unknown runner token');
  return runner;
}

const FINAL = new Set(['success', 'failed', 'canceled', 'skipped']);

/**
 * The job of `:id`, only for the holder of its own job token, and only while the job
 * runs: the token expires `graceMs` after the job reached a final state (the grace lets a
 * last trace chunk or a retried final update land), so a leaked token cannot extend a
 * finished job's log.
 */
export async function jobFrom(store: Store, req: Request, graceMs: number, now = Date.now()): Promise<JobAuthRow> {
  const id = idParam(req.params.id);
  const token = req.get('job-token');
  if (!token) throw new HttpError(401, 'missing Job-Token header');
  const job = await store.jobs.authRow(id);
  if (!job) throw new HttpError(404, `job ${id} not found`);
  if (!job.token_hash || !hashEquals(job.token_hash, sha256(token))) throw new HttpError(403, `job token is not valid for job ${id}`);
  if (FINAL.has(job.status) && job.finished_at !== null && now - job.finished_at > graceMs)
    throw new HttpError(403, `job token expired: job ${id} is ${job.status} since ${new Date(job.finished_at).toISOString()}`);
  // The runner has the job: from now on a heartbeat without it fails it instead of handing it out again.
  if (job.received_at === null) {
    await store.jobs.received(id, now);
    job.received_at = now;
  }
  return job;
}

export function requireApiToken(store: Store): RequestHandler {
  return async (req, _res, next) => {
    const h = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m) return next(new HttpError(401, 'missing "Authorization: Bearer <api token>" header'));
    if (!(await store.apiTokens.isValid(m[1]!))) return next(new HttpError(401, 'invalid API token'));
    next();
  };
}
