/**
 * A pipeline with its jobs as one JSON answer. A big one is read, shaped and written a page of
 * jobs at a time with a turn of the event loop between pages: 25,000 jobs at once held the loop
 * for seconds (issue 14), every runner and request waiting. The bytes are the same as one
 * `res.json` of the whole pipeline. Pages are read at different moments, so a job may have moved
 * on since the pipeline's head was read — as in any answer about a running pipeline.
 */
import type { Response } from 'express';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Store } from '../store/index.js';
import { jobJson, pipelineJson } from '../views.js';
import { artifactExtrasOf } from './artifacts-api.js';
import type { PipelineJson } from '../../protocol/user-api.js';
import type { PipelineStatus } from '../../pipeline/status.js';

/** Jobs per page: a few milliseconds of work each. */
export const JOBS_PER_PAGE = 500;

/** Answers `status` with the pipeline (which must exist) and all its jobs, artifacts and test reports included. */
export async function sendPipeline(store: Store, res: Response, id: number, status = 200): Promise<void> {
  const p = (await store.pipelines.get(id))!;
  const { n, first } = await store.jobs.countOf(id);
  if (n <= JOBS_PER_PAGE || first === null) {
    const out = pipelineJson(p, await store.jobs.byPipeline(id));
    const extras = await artifactExtrasOf(
      store,
      (out.jobs ?? []).map((j) => j.id),
    );
    const links = await childLinks(store, id, out);
    for (const j of out.jobs ?? []) Object.assign(j, extras(j.id), links(j.id));
    res.status(status).json(out);
    return;
  }
  const halted = p.halted_by_job_id === null ? null : ((await store.jobs.get(p.halted_by_job_id))?.name ?? '');
  const headJson = pipelineJson(p, undefined, halted);
  const links = await childLinks(store, id, headJson);
  const head = JSON.stringify(headJson);
  res.status(status).type('application/json');
  let more = res.write(`${head.slice(0, -1)},"jobs":[`);
  let from = first;
  let sep = '';
  for (;;) {
    if (!more) await drained(res); // may come without a turn of the loop (a socket that took it all)
    await nextTurn();
    if (res.destroyed) return; // the client went away: nothing more to read for it
    const rows = await store.jobs.page(id, from, JOBS_PER_PAGE);
    if (rows.length === 0) break;
    const extras = await artifactExtrasOf(
      store,
      rows.map((r) => r.id),
    );
    more = res.write(sep + rows.map((r) => JSON.stringify({ ...jobJson(r), ...extras(r.id), ...links(r.id) })).join(','));
    sep = ',';
    from = rows[rows.length - 1]!.id + 1;
    if (rows.length < JOBS_PER_PAGE) break;
  }
  res.end(']}');
}

/**
 * Child pipelines, linked both ways: sets `parent`/`downstream` on the pipeline's head and gives
 * the extra fields of each trigger job (`downstream_pipeline_id`).
 */
async function childLinks(store: Store, id: number, head: PipelineJson): Promise<(jobId: number) => { downstream_pipeline_id?: number }> {
  const parent = await store.pipelines.parentOf(id);
  if (parent) head.parent = { pipeline_id: parent.parent, trigger_job_id: parent.trigger_job_id };
  const children = await store.pipelines.children(id);
  if (children.length === 0) return () => ({});
  head.downstream = children.map((c) => ({ id: c.id, trigger_job_id: c.trigger_job_id, status: c.status as PipelineStatus }));
  const byJob = new Map(children.map((c) => [c.trigger_job_id, c.id]));
  return (jobId) => (byJob.has(jobId) ? { downstream_pipeline_id: byJob.get(jobId)! } : {});
}

function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
