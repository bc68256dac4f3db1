/**
 * The runner daemon: registers (when given a registration token), runs `concurrency`
 * long-poll loops that each run one job at a time, and a heartbeat loop that reports
 * the running jobs and routes the coordinator's cancels to them (every heartbeatMs when
 * idle, at least every 1.5 s while jobs run so a cancel lands quickly).
 *
 * Shutdown (stop()): polling stops at once; running jobs get `shutdownTimeoutMs` to
 * finish, then are stopped and reported runner_interrupted; heartbeats continue until
 * the last final update is sent. Signal handling belongs to the CLI.
 */
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { backoffDelay, sleep, type BackoffOptions } from '../util/backoff.js';
import { RunnerClient } from './client.js';
import { BuildError, type Executor } from './executor.js';
import { createExecutor, type RunnerContext } from './executors/index.js';
import { registerRunnerSecret } from './host-env.js';
import { startJob, type JobHandle } from './job-runner.js';
import { defaultLogger, type RunnerLogger } from './logger.js';
import { FAULTLINE_VERSION } from '../telemetry/build-info.js';
import { createRunnerTelemetry } from '../telemetry/runner-telemetry.js';

export interface StartRunnerOptions {
  /** Coordinator URL, or several of coordinators on one database (fail-over in that order; commas allowed). */
  url: string | readonly string[];
  /** Runner token from an earlier registration … */
  token?: string;
  /** … or a registration token to register a new runner. */
  registrationToken?: string;
  /** Runner id, when known with `token` (for CI_RUNNER_ID and build dir names). */
  id?: number;
  name?: string;
  executor: string;
  concurrency?: number;
  tags?: string[];
  runUntagged?: boolean;
  buildsDir?: string;
  /** Local cache root (`cache_dir`); default: per coordinator under the temp dir. */
  cacheDir?: string;
  /** More values jobs must never see in their environment (e.g. an embedded coordinator's tokens). */
  secrets?: string[];
  /** The `[runners.<executor>]` section, passed to the executor factory as-is. */
  executorConfig?: unknown;
  logger?: RunnerLogger;
  heartbeatMs?: number;
  /** Idle wait between job requests when the coordinator answers 204 at once (check_interval). */
  pollIntervalMs?: number;
  /** How long stop() lets running jobs finish before interrupting them. */
  shutdownTimeoutMs?: number;
  traceIntervalMs?: number;
  keepaliveMs?: number;
  backoff?: BackoffOptions;
  /** Serve Prometheus GET /metrics on this port (0 = any free port); off when omitted. */
  metricsPort?: number;
  /** Listen address of the metrics listener (default 127.0.0.1). */
  metricsHost?: string;
}

export interface RunnerHandle {
  runnerId: number | null;
  name: string;
  /** The runner token (save it to skip registration next time). */
  token: string;
  runningJobIds(): number[];
  /** http://host:port of the /metrics listener (null without metricsPort). */
  metricsUrl: string | null;
  /** Stops polling, lets jobs finish (or interrupts them after the timeout), then returns. */
  stop(o?: { timeoutMs?: number }): Promise<void>;
}

/** True when `p` settles within `ms` (the timer is cleared either way). */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  const t = new AbortController();
  try {
    return await Promise.race([p.then(() => true), sleep(ms, t.signal).then(() => false)]);
  } finally {
    t.abort();
  }
}

/** An executor that could not be built still has to fail its job visibly. */
function brokenExecutor(name: string, err: unknown): Executor {
  const message = `cannot create the ${name} executor: ${err instanceof Error ? err.message : String(err)}`;
  return {
    name,
    prepare: async () => {
      throw new BuildError(message, 'runner_configuration_error', 'prepare_executor');
    },
    runScript: async () => {
      throw new BuildError(message, 'runner_configuration_error', 'prepare_executor');
    },
    cleanup: async () => undefined,
  };
}

/** `http://127.0.0.1:8080/` → `127.0.0.1_8080`: a directory name for one coordinator. */
export function coordinatorSlug(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}_${u.port || (u.protocol === 'https:' ? '443' : '80')}${u.pathname.replace(/\/+$/, '')}`.replace(
      /[^A-Za-z0-9._-]/g,
      '_',
    );
  } catch {
    return url.replace(/[^A-Za-z0-9._-]/g, '_');
  }
}

/** The local cache of the coordinator at `url`: shared by all its runners on this host. */
export function defaultCacheDir(url: string): string {
  return join(tmpdir(), 'faultline-cache', coordinatorSlug(url));
}

/** Where a runner of the coordinator at `url` checks out jobs when no builds dir is given. */
export function defaultBuildsDir(url: string): string {
  return join(tmpdir(), 'faultline-builds', coordinatorSlug(url));
}

export async function startRunner(opts: StartRunnerOptions): Promise<RunnerHandle> {
  const log = opts.logger ?? defaultLogger('runner');
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 1));
  const tags = opts.tags ?? [];
  const name = opts.name ?? `${hostname()}-${opts.executor}`;
  const heartbeatMs = opts.heartbeatMs ?? 5000;
  const client = new RunnerClient({
    url: opts.url,
    token: opts.token ?? null,
    logger: log,
    pollIntervalMs: opts.pollIntervalMs,
    backoff: opts.backoff,
  });
  const { urls } = client.coordinators;
  // Runner ids are per coordinator database: the default builds dir is keyed by the (first)
  // coordinator's address too, so runners of two installations on one host never share job directories.
  const buildsDir = resolve(opts.buildsDir ?? defaultBuildsDir(urls[0]!));
  const cacheDir = resolve(opts.cacheDir ?? defaultCacheDir(urls[0]!));
  log.info({ name, coordinator: client.url, coordinators: urls }, `runner ${name} using coordinator ${client.url}`);

  for (const s of [opts.token, opts.registrationToken, ...(opts.secrets ?? [])]) registerRunnerSecret(s);
  let runnerId: number | null = opts.id ?? null;
  const ctxFor = (): RunnerContext => ({ runnerId, name, buildsDir, logger: log });
  // Fail fast on a bad executor name or section, before registering anything.
  await createExecutor(opts.executor, opts.executorConfig, ctxFor());

  if (!opts.token) {
    if (!opts.registrationToken) throw new Error(`runner ${name}: a token or a registration token is required`);
    const reg = await client.register({
      registration_token: opts.registrationToken,
      name,
      tags,
      run_untagged: opts.runUntagged ?? true,
      executor: opts.executor,
      concurrency,
      host: hostname(),
      version: FAULTLINE_VERSION,
    });
    runnerId = reg.id;
    registerRunnerSecret(client.token);
    log.info({ runner: reg.id, name, coordinator: client.url }, 'runner registered');
  }

  // Stage spans (when tracing is on) and the optional /metrics listener, from each final update.
  const telemetry = await createRunnerTelemetry({ metricsPort: opts.metricsPort, metricsHost: opts.metricsHost });
  const polling = new AbortController(); // stop asking for jobs
  const interrupt = new AbortController(); // stop running jobs (runner_interrupted)
  const shutdown = new AbortController(); // stop retrying updates
  const heartbeatStop = new AbortController();
  const jobs = new Map<number, JobHandle>();

  const slot = async (n: number) => {
    while (!polling.signal.aborted) {
      const job = await client.requestJob(polling.signal, 1);
      if (!job) break;
      log.info({ job: job.id, name: job.name, slot: n, coordinator: client.url }, 'job received');
      let executor: Executor;
      try {
        executor = await createExecutor(opts.executor, opts.executorConfig, ctxFor());
      } catch (err) {
        executor = brokenExecutor(opts.executor, err);
      }
      const handle = startJob({
        job,
        client,
        executor,
        runner: { id: runnerId, name, tags, url: client.url },
        buildsDir,
        cacheDir,
        slot: n,
        logger: log,
        interrupt: interrupt.signal,
        shutdown: shutdown.signal,
        traceIntervalMs: opts.traceIntervalMs,
        keepaliveMs: opts.keepaliveMs,
      });
      jobs.set(job.id, handle);
      telemetry.jobStarted(job);
      try {
        const final = await handle.done;
        telemetry.jobFinished(job, final, executor.name);
        log.info({ job: job.id, state: final.state, reason: final.failure?.reason }, 'job finished');
      } catch (err) {
        log.error({ job: job.id, err: String(err) }, 'job orchestration crashed');
        telemetry.jobFinished(job, { state: 'failed' }, executor.name);
      } finally {
        jobs.delete(job.id);
      }
    }
  };

  const heartbeat = async () => {
    let failures = 0;
    while (!heartbeatStop.signal.aborted) {
      try {
        const res = await client.heartbeat([...jobs.keys()], heartbeatStop.signal);
        failures = 0;
        for (const id of res.cancel_job_ids) {
          const h = jobs.get(id);
          if (h) {
            log.info({ job: id }, 'cancel requested by the coordinator');
            h.cancel();
          }
        }
      } catch (err) {
        if (heartbeatStop.signal.aborted) break;
        failures++;
        log.warn({ err: String(err) }, 'heartbeat failed');
      }
      const every = jobs.size > 0 ? Math.min(heartbeatMs, 1500) : heartbeatMs;
      await sleep(failures ? Math.min(every, backoffDelay(failures - 1)) : every, heartbeatStop.signal);
    }
  };

  const slots = Promise.all(Array.from({ length: concurrency }, (_, i) => slot(i)));
  const heartbeating = heartbeat();
  let stopping: Promise<void> | null = null;

  return {
    get runnerId() {
      return runnerId;
    },
    name,
    token: client.token!,
    runningJobIds: () => [...jobs.keys()],
    metricsUrl: telemetry.metricsUrl,
    stop(o = {}) {
      stopping ??= (async () => {
        polling.abort();
        const grace = o.timeoutMs ?? opts.shutdownTimeoutMs ?? 30_000;
        const finished = await within(slots, grace);
        if (!finished) {
          log.warn({ jobs: [...jobs.keys()] }, 'interrupting running jobs');
          interrupt.abort();
          const reported = await within(slots, 30_000);
          if (!reported) shutdown.abort();
        }
        await slots;
        heartbeatStop.abort();
        await heartbeating;
        await telemetry.close();
      })();
      return stopping;
    },
  };
}
