/**
 * createCoordinator: one SQLite store, the engines, the runner and user APIs, the
 * reaper and the finisher, listening on host:port. Public surface of src/coordinator.
 */
import type { Express } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { createApp } from './app.js';
import { resolveOptions, type CoordinatorOptions } from './config.js';
import { CoordinatorEvents } from './events.js';
import { setupTokens, type CoordinatorTokens } from './secrets.js';
import { chooseDatabase, type DatabaseChoice } from './database-url.js';
import { localCluster, pgCluster, WAKE_PENDING, WAKE_RULES, type Cluster } from './cluster/index.js';
import { LeaderDuties, reloadRules } from './cluster/duties.js';
import { defaultClassifier, type FailureClassifier } from './services/classifier.js';
import { Dispatcher } from './services/dispatcher.js';
import { TriggerService } from './services/triggers.js';
import { Finisher } from './services/finisher.js';
import { JobService } from './services/job-service.js';
import { PipelineService } from './services/pipeline-service.js';
import { Fleet } from './services/fleet.js';
import { Reaper } from './services/reaper.js';
import { Hearing } from './services/hearing.js';
import { Notifier } from './services/notifier.js';
import { SHIPPED_RULES_DIR } from '../classify/index.js';
import { createTelemetry, type CoordinatorTelemetry } from './services/telemetry.js';
import { Store } from './store/index.js';
import { DataDirError, prepareDataDir, type DataDirLock } from './store/data-dir.js';
import { storageProblem } from './store/health.js';
import { join } from 'node:path';
import { ArtifactService } from './artifacts/service.js';
import { FsArtifactStorage } from './artifacts/storage.js';
import { LiveEvents } from './api/events-api.js';

export interface Coordinator {
  app: Express;
  server: Server;
  url: string;
  apiToken: string;
  registrationToken: string;
  /** Which tokens this start generated, and the files they are saved in (secrets.ts). */
  tokens: Pick<CoordinatorTokens, 'created' | 'files'>;
  store: Store;
  events: CoordinatorEvents;
  /** The UI's server-sent event streams (GET /api/v1/events). */
  live: LiveEvents;
  pipelines: PipelineService;
  /** Job hand-out and runner updates (tests drive a hand-out directly). */
  jobs: JobService;
  classifier: FailureClassifier;
  /** Metrics (GET /metrics), traces, infra incidents and MTTR. */
  telemetry: CoordinatorTelemetry;
  /** Artifact storage, reports and the expiry sweeper. */
  artifacts: ArtifactService;
  /** Resolves once every stored final update has been classified and fed to its engine. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

function defaultLogger(): Logger {
  const level = process.env.FAULTLINE_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? 'silent' : 'info');
  return pino({ level, name: 'coordinator' });
}

export async function createCoordinator(options: CoordinatorOptions): Promise<Coordinator> {
  const opts = resolveOptions(options);
  const database = chooseDatabase(options.databaseUrl); // refuses a URL it cannot open, before anything is created
  const log = options.logger ?? defaultLogger();
  const poolSize = options.databasePoolSize;
  if (poolSize !== undefined && !(Number.isInteger(poolSize) && poolSize >= 1))
    throw new Error(`databasePoolSize: expected a whole number of connections, at least 1 (got ${poolSize})`);
  if (poolSize !== undefined && database.kind === 'sqlite')
    log.warn({ databasePoolSize: poolSize }, 'database pool size applies to PostgreSQL only: the SQLite store ignores it');
  const { store, lock } = await openStore(database, opts.dataDir, poolSize);
  let server: Server | undefined;
  let cluster: Cluster | undefined;
  try {
    cluster = database.kind === 'postgres' ? await pgCluster(store.sql, database.url, log) : localCluster();
    const { registrationToken, apiToken, created, files } = await setupTokens(store, opts.dataDir, options, {
      shared: cluster.shared, // PostgreSQL: other coordinators' runners and users hold the tokens in the database
      onReplaced: (which) =>
        log.warn({ token: which }, `the ${which} token in the database was replaced: the previous one is refused from now on`),
    });
    const classifier = options.classifier ?? defaultClassifier(options.rulesDir);
    const events = new CoordinatorEvents();
    events.onListenerError = (err) => log.error({ err }, 'event listener threw');

    const pipelines = new PipelineService(store, events, opts, log);
    const jobs = new JobService(store, pipelines, events, opts, log);
    const dispatcher = new Dispatcher(
      (r, sets, gone) => jobs.assign(r, sets, gone),
      () => store.jobs.pendingTagSets(),
    );
    const finisher = new Finisher(store, pipelines, events, () => classifier, log);
    const hearing = new Hearing();
    const fleet = new Fleet(store, jobs, events, opts, log);
    const reaper = new Reaper(store, jobs, events, opts, log, hearing);
    reaper.fleet = fleet;
    const wake = cluster.wake;
    pipelines.onPending = () => {
      dispatcher.wake();
      if (cluster!.shared) wake.notify(WAKE_PENDING).catch((err: unknown) => log.warn({ err }, 'wake: NOTIFY failed'));
    };
    jobs.onFinal = (id) => finisher.enqueue(id);
    const notifier = new Notifier(store, events, options.notifications ?? [], () => opts.serverUrl, log);
    const telemetry = await createTelemetry(store, events, log, {
      heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
      isLeader: () => cluster!.leadership.isLeader(),
      engineStats: () => pipelines.engines.stats,
      baseUrl: () => opts.serverUrl,
      incidentThresholds: definedOnly(options.incidents),
      widespread: definedOnly(options.widespread),
    });
    jobs.traceContext = telemetry.traceContext;
    const artifacts = new ArtifactService(
      store,
      new FsArtifactStorage(opts.dataDir),
      { maxBytes: opts.maxArtifactBytes, sweepIntervalMs: opts.artifactSweepIntervalMs },
      async (pid, name) => (await pipelines.model(pid)).jobs.find((j) => j.name === name),
      log,
    );
    jobs.extendPayload = (payload, spec, pipelineVarKeys) => artifacts.extendPayload(payload, spec, pipelineVarKeys);
    const triggers = new TriggerService(store, pipelines, events, log);
    triggers.storage = artifacts.storage;
    finisher.reportsOf = async (jobId) => ({ junit: await store.artifacts.testReport(jobId) });

    const live = new LiveEvents(events, options.liveEvents);
    const app = createApp({
      live,
      store,
      jobs,
      dispatcher,
      events,
      opts,
      log,
      hearing,
      fleet,
      pipelines,
      classifier: () => classifier,
      rulesReloaded: () => void wake.notify(WAKE_RULES).catch((err: unknown) => log.warn({ err }, 'wake: NOTIFY failed')),
      rulesDir: options.rulesDir ?? SHIPPED_RULES_DIR,
      notifications: notifier.records,
      mount: telemetry.mount,
      artifacts,
      cluster: () => ({ database: database.kind, leader: cluster!.leadership.isLeader() }),
    });
    server = app.listen(options.port ?? 0, options.host ?? '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      server!.once('listening', resolve);
      server!.once('error', reject);
    });
    const addr = server.address() as AddressInfo;
    const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    if (!opts.serverUrl) opts.serverUrl = url;
    server.keepAliveTimeout = Math.max(server.keepAliveTimeout, 5000);
    log.info({ url }, 'coordinator listening');

    // Wake-ups from the other coordinators of the database (and our own NOTIFY: harmless).
    const unwake = wake.onWake((what) => {
      if (what === WAKE_RULES && cluster!.shared) void reloadRules(classifier, log);
      else dispatcher.wake();
    });
    notifier.start();
    const leader = new LeaderDuties(cluster.leadership, cluster.shared, { reaper, finisher, triggers, notifier }, log);
    await leader.start();
    artifacts.start();

    let closing: Promise<void> | null = null;
    const srv = server;
    return {
      app,
      server: srv,
      url,
      apiToken,
      registrationToken,
      tokens: { created, files },
      store,
      events,
      live,
      pipelines,
      jobs,
      classifier,
      telemetry,
      artifacts,
      idle: () => finisher.idle(),
      close: () =>
        (closing ??= (async () => {
          unwake();
          await leader.stop();
          artifacts.stop();
          dispatcher.close(); // parked long-polls answer 204 now
          live.close(); // event streams end: they must not hold the server open
          await new Promise<void>((r) => {
            srv.close(() => r());
            srv.closeIdleConnections();
            setTimeout(() => srv.closeAllConnections(), 1000).unref();
          });
          await finisher.stop();
          await notifier.close();
          await telemetry.close();
          if (classifier !== options.classifier) (classifier as { close?: () => void }).close?.();
          await cluster!.close();
          await store.close();
          lock.release();
        })()),
    };
  } catch (err) {
    server?.close();
    await cluster?.close();
    await store.close();
    lock.release();
    throw err;
  }
}

export type { CoordinatorOptions } from './config.js';
export { CoordinatorEvents, type CoordinatorEventMap } from './events.js';
export type { FailureClassifier, ReloadOutcome } from './services/classifier.js';
export { fallbackClassifier, fallbackClassification } from './services/classifier.js';
export { Store } from './store/index.js';

/**
 * The store and this coordinator's data dir lock. PostgreSQL is reached (and migrated) first, so
 * an unreachable database leaves nothing behind; SQLite lives in the data dir, locked first.
 */
async function openStore(database: DatabaseChoice, dataDir: string, poolSize?: number): Promise<{ store: Store; lock: DataDirLock }> {
  if (database.kind === 'postgres') {
    const store = await Store.openPostgres(database.url, dataDir, { poolSize }); // DatabaseUnavailableError names the server
    try {
      return { store, lock: prepareDataDir(dataDir) }; // names the path and the problem; refuses a second coordinator
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  const lock = prepareDataDir(dataDir);
  try {
    return { store: await Store.openSqlite(dataDir), lock };
  } catch (err) {
    lock.release();
    const path = join(dataDir, 'faultline.db');
    throw new DataDirError(`cannot open ${path}: ${storageProblem(err, path)?.message ?? (err as Error).message}`);
  }
}

/** Drops undefined fields, so they never override a default when spread. */
function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
}
