/** The user API of src/protocol/user-api.ts (Bearer token; JSON in, JSON out). */
import express, { Router } from 'express';
import type { FailureListJson, FailureSummaryJson } from '../../protocol/user-api.js';
import type { PipelineEvent } from '../../pipeline/events.js';
import type { FailureClassifier } from '../services/classifier.js';
import type { Fleet } from '../services/fleet.js';
import type { PipelineService } from '../services/pipeline-service.js';
import { failureCountsByPipeline, listFailures, summarizeFailures } from '../store/failures.js';
import { iso } from '../store/db.js';
import type { Store } from '../store/index.js';
import type { JobRow } from '../store/jobs.js';
import { failureJson, jobJson, pipelineJson } from '../views.js';
import { artifactExtras } from './artifacts-api.js';
import { notificationsApi, type NotificationsApiDeps } from './notifications-api.js';
import { rulesApi, type RulesApiDeps } from './rules-api.js';
import { HttpError, idParam, parse } from './errors.js';
import { sendPipeline } from './pipeline-answer.js';
import { createPipelineSchema, failuresQuery, listPipelinesQuery, summaryQuery, traceQuery } from './schemas.js';
import { decodeCursor, encodeCursor, parseTime } from './time.js';

export interface UserApiDeps extends RulesApiDeps, NotificationsApiDeps {
  store: Store;
  pipelines: PipelineService;
  classifier: () => FailureClassifier;
  /** A reload here succeeded: the other coordinators of the database reload too (cluster/index.ts). */
  rulesReloaded?: () => void;
  fleet: Fleet;
}

const TERMINAL = new Set(['success', 'failed', 'canceled', 'skipped']);

export function userApi(d: UserApiDeps): Router {
  const r = Router();
  r.use(express.json({ limit: '2mb' }));

  const pipelineOr404 = async (raw: unknown) => {
    const id = idParam(raw);
    const p = await d.store.pipelines.getLight(id);
    if (!p) throw new HttpError(404, `pipeline ${id} not found`);
    return p;
  };
  const jobOr404 = async (raw: unknown): Promise<JobRow> => {
    const id = idParam(raw);
    const j = await d.store.jobs.get(id);
    if (!j) throw new HttpError(404, `job ${id} not found`);
    return j;
  };

  r.post('/pipelines', async (req, res) => {
    if (req.body === undefined || req.body === null || typeof req.body !== 'object' || Array.isArray(req.body))
      throw new HttpError(400, 'request body must be a JSON object with a "yaml" field', [
        { path: '(body)', message: 'expected a JSON object' },
      ]);
    const body = parse(createPipelineSchema, req.body);
    const out = await d.pipelines.create({
      yaml: body.yaml,
      ref: body.ref,
      project: body.project,
      name: body.name,
      variables: body.variables,
      repository: body.repository ? { url: body.repository.url, sha: body.repository.sha ?? null } : null,
      ...(body.source ? { source: body.source } : {}),
      ...(body.default_branch ? { defaultBranch: body.default_branch } : {}),
    });
    if (!out.ok) {
      const first = out.errors[0];
      throw new HttpError(
        422,
        `invalid pipeline configuration: ${out.errors.length} error(s)${first ? `; first at ${first.file ? `${first.file} ` : ''}line ${first.line}, column ${first.column}: ${first.message}` : ''}`,
        out.errors.map((e) => ({ path: e.path, line: e.line, column: e.column, message: e.message, ...(e.file ? { file: e.file } : {}) })),
      );
    }
    await sendPipeline(d.store, res, out.id, 201);
  });

  r.get('/pipelines', async (req, res) => {
    const q = parse(listPipelinesQuery, req.query, 'query');
    const { rows, total } = await d.store.pipelines.list(q);
    const counts = await failureCountsByPipeline(
      d.store.sql,
      rows.map((p) => p.id),
    );
    const pipelines = [];
    for (const p of rows)
      pipelines.push({ ...pipelineJson(p, undefined, await haltedName(p.halted_by_job_id)), failure_counts: counts.get(p.id) ?? {} });
    res.json({ pipelines, total });
  });
  const haltedName = async (id: number | null) => (id === null ? null : ((await d.store.jobs.get(id))?.name ?? null));

  r.get('/pipelines/:id', async (req, res) => {
    await sendPipeline(d.store, res, (await pipelineOr404(req.params.id)).id);
  });

  r.post('/pipelines/:id/cancel', async (req, res) => {
    const p = await pipelineOr404(req.params.id);
    if (!TERMINAL.has(p.status)) await d.pipelines.apply(p.id, { type: 'pipeline_cancel' });
    await sendPipeline(d.store, res, p.id);
  });

  r.get('/jobs/:id', async (req, res) => {
    const j = await jobOr404(req.params.id);
    res.json({ ...jobJson(j), ...(await artifactExtras(d.store, j.id)) });
  });

  const jobAction = (type: 'job_play' | 'job_cancel' | 'job_retry') =>
    (async (req, res) => {
      const job = await jobOr404(req.params.id);
      const latest = (await d.store.jobs.latestByName(job.pipeline_id, job.name))!;
      if (latest.id !== job.id)
        throw new HttpError(409, `job ${job.id} is attempt ${job.attempt} of ${job.name}; act on the latest attempt (job ${latest.id})`);
      await d.pipelines.apply(job.pipeline_id, { type, name: job.name } as PipelineEvent);
      const after = (type === 'job_retry' ? await d.store.jobs.latestByName(job.pipeline_id, job.name) : await d.store.jobs.get(job.id))!;
      res.json(jobJson(after));
    }) satisfies express.RequestHandler;
  r.post('/jobs/:id/play', jobAction('job_play'));
  r.post('/jobs/:id/cancel', jobAction('job_cancel'));
  r.post('/jobs/:id/retry', jobAction('job_retry'));

  r.get('/jobs/:id/trace', async (req, res) => {
    const job = await jobOr404(req.params.id);
    const { offset } = parse(traceQuery, req.query, 'query');
    const data = await d.store.traces.read(job.id, offset);
    const complete = TERMINAL.has(job.status) && job.finish_pending === 0;
    res.set({
      'content-type': 'text/plain; charset=utf-8',
      'x-trace-complete': String(complete),
      'x-trace-size': String(job.trace_bytes),
      'cache-control': 'no-store',
    });
    res.send(data);
  });

  r.get('/failures', async (req, res) => {
    const q = parse(failuresQuery, req.query, 'query');
    const { rows, next } = await listFailures(d.store.sql, {
      class: q.class,
      reason: q.reason,
      cause: q.cause,
      ref: q.ref,
      job: q.job,
      runner: q.runner,
      image: q.image,
      executor: q.executor,
      registry: q.registry,
      runnerName: q.runner_name,
      since: parseTime(q.since, 'since'),
      until: parseTime(q.until, 'until'),
      limit: q.limit,
      before: decodeCursor(q.cursor),
    });
    res.json({ failures: rows.map(failureJson), next_cursor: next ? encodeCursor(next) : null } satisfies FailureListJson);
  });

  r.get('/failures/summary', async (req, res) => {
    const q = parse(summaryQuery, req.query, 'query');
    const now = Date.now();
    const until = parseTime(q.until, 'until', now) ?? now;
    const since = parseTime(q.since, 'since', now) ?? until - 86_400_000;
    if (since > until) throw new HttpError(400, 'since must not be after until', [{ path: 'since', message: 'after until' }]);
    const groups = await summarizeFailures(d.store.sql, since, until);
    const byClass = new Map<string, number>();
    for (const g of groups) byClass.set(g.class, (byClass.get(g.class) ?? 0) + g.count);
    res.json({
      since: iso(since)!,
      until: iso(until)!,
      total: groups.reduce((n, g) => n + g.count, 0),
      by_class: [...byClass].map(([c, count]) => ({ class: c as 'infra', count })).sort((a, b) => b.count - a.count),
      by_cause: groups.map((g) => ({ class: g.class as 'infra', cause: g.cause ?? 'unknown', count: g.count })),
    } satisfies FailureSummaryJson);
  });

  r.post('/rules/reload', async (_req, res) => {
    const c = d.classifier();
    if (!c.reload) throw new HttpError(409, 'the classifier in use has no rules to reload');
    const out = await c.reload();
    if (!out.ok)
      throw new HttpError(
        422,
        `rules not reloaded (the previous rules stay in force): ${out.errors.length} error(s)`,
        out.errors.map((e) => ({ path: e.file ?? '(rules)', line: e.line, column: e.column, message: e.message })),
      );
    d.rulesReloaded?.();
    res.json({ ok: true });
  });

  r.get('/runners', async (_req, res) => {
    res.json({ runners: await d.fleet.list() });
  });

  r.delete('/runners/:id', async (req, res) => {
    const id = idParam(req.params.id);
    if (!(await d.fleet.remove(id, 'deleted'))) throw new HttpError(404, `runner ${id} not found`);
    res.status(204).end();
  });

  r.use(rulesApi(d), notificationsApi(d));

  return r;
}
