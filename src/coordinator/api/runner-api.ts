/** The runner API of src/protocol/runner-api.ts. */
import express, { Router } from 'express';
import type { Logger } from 'pino';
import type { RegisterRunnerResponse, HeartbeatResponse, JobUpdateRequest } from '../../protocol/runner-api.js';
import type { ResolvedOptions } from '../config.js';
import type { CoordinatorEvents } from '../events.js';
import type { Dispatcher } from '../services/dispatcher.js';
import type { Hearing } from '../services/hearing.js';
import type { JobService } from '../services/job-service.js';
import type { Store } from '../store/index.js';
import { newToken, sha256 } from '../store/tokens.js';
import type { RunnerRow } from '../store/runners.js';
import { jobFrom, runnerFrom } from './auth.js';
import { HttpError, parse } from './errors.js';
import { traceUpload } from './trace-upload.js';
import { heartbeatSchema, jobRequestSchema, jobUpdateSchema, registerSchema } from './schemas.js';

export interface RunnerApiDeps {
  store: Store;
  jobs: JobService;
  dispatcher: Dispatcher;
  events: CoordinatorEvents;
  opts: ResolvedOptions;
  log: Logger;
  /** Told of every runner contact before it is stored (the reaper asks it; see services/hearing.ts). */
  hearing?: Hearing;
}

export function runnerApi(d: RunnerApiDeps): Router {
  const r = Router();
  const json = express.json({ limit: '2mb' });
  const heard = (runnerId: number | null) => {
    if (runnerId !== null) d.hearing?.runnerHeard(runnerId, Date.now());
  };
  const seen = async (runner: RunnerRow) => {
    heard(runner.id);
    if (await d.store.runners.seen(runner, Date.now()))
      d.events.safeEmit('runner_state', { runner_id: runner.id, name: runner.name, state: 'online', at: new Date().toISOString() });
  };

  r.post('/runners/register', json, async (req, res) => {
    const body = parse(registerSchema, req.body);
    // Checked against the database (hashed), so a token set on any coordinator of it is accepted.
    if (!(await d.store.apiTokens.isRegistration(body.registration_token))) throw new HttpError(403, 'invalid registration token');
    const token = newToken('flrt_');
    const { id, replaced } = await d.store.runners.register(
      {
        name: body.name,
        token_hash: sha256(token),
        tags: body.tags,
        run_untagged: body.run_untagged ?? true,
        executor: body.executor,
        concurrency: body.concurrency,
        host: body.host ?? null,
        version: body.version ?? null,
      },
      Date.now(),
    );
    d.log.info(
      { runner: id, name: body.name, host: body.host, tags: body.tags, replaced },
      replaced ? 'runner registered again; its record is replaced' : 'runner registered',
    );
    d.events.safeEmit('runner_state', { runner_id: id, name: body.name, state: 'online', at: new Date().toISOString() });
    res.status(201).json({ id, token } satisfies RegisterRunnerResponse);
  });

  r.post('/runners/heartbeat', json, async (req, res) => {
    const runner = await runnerFrom(d.store, req);
    const body = parse(heartbeatSchema, req.body ?? {});
    await seen(runner);
    // Jobs this runner holds but no longer runs (e.g. it restarted): nobody will report them.
    // One it never received goes to another runner; one it had is failed, runner lost.
    for (const j of await d.jobs.vanished(runner, body.running_job_ids, d.opts.heartbeatTimeoutMs)) {
      if (j.received_at === null && (await d.jobs.requeue(j))) {
        d.log.warn({ job: j.id, runner: runner.id }, 'runner never received the job it was handed; pending again');
        continue;
      }
      await d.jobs.failRunning(j.id, {
        reason: 'no_updates_running',
        stage: 'coordinator',
        message: `runner ${runner.name} no longer reports job ${j.id} as running`,
        executor: runner.executor,
        image: null,
        registry: null,
        kind: null,
      });
    }
    res.json({ cancel_job_ids: await d.jobs.cancelIdsFor(runner, body.running_job_ids) } satisfies HeartbeatResponse);
  });

  r.post('/jobs/request', json, async (req, res) => {
    const runner = await runnerFrom(d.store, req);
    parse(jobRequestSchema, req.body ?? {});
    await seen(runner);
    const job = await d.dispatcher.request(runner, d.opts.longPollMs, {
      gone: () => res.destroyed,
      onGone: (cb) => {
        res.once('close', cb);
        return () => res.off('close', cb);
      },
    });
    if (res.writableEnded || res.destroyed) {
      if (job) d.log.warn({ job: job.id, runner: runner.id }, 'runner went away as it was handed a job; the reaper will settle it');
      return;
    }
    if (!job) return void res.status(204).end();
    res.status(201).json(job);
  });

  r.put('/jobs/:id', json, async (req, res) => {
    const job = await jobFrom(d.store, req, d.opts.jobTokenGraceMs);
    heard(job.runner_id);
    const body = parse(jobUpdateSchema, req.body) as JobUpdateRequest;
    res.json(await d.jobs.update(job, body));
  });

  r.patch('/jobs/:id/trace', traceUpload({ store: d.store, maxBytes: d.opts.maxTraceBytes, tokenGraceMs: d.opts.jobTokenGraceMs, heard }));

  return r;
}
