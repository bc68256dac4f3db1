/** The express app: runner API, user API, static UI, health, JSON 404/errors. */
import express, { type Express } from 'express';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { requireApiToken } from './api/auth.js';
import { errorHandler, notFound } from './api/errors.js';
import { openapi } from './api/openapi.js';
import { runnerApi, type RunnerApiDeps } from './api/runner-api.js';
import { securityHeaders } from './api/security-headers.js';
import { userApi, type UserApiDeps } from './api/user-api.js';
import { artifactsRunnerApi, artifactsUserApi } from './api/artifacts-api.js';
import type { ArtifactService } from './artifacts/service.js';
import type { LiveEvents } from './api/events-api.js';

export const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));
/** The alerts' runbooks: runbook_url = <faultline_url>/docs/runbooks.md#<alert> (rules/alerts). */
const RUNBOOKS = fileURLToPath(new URL('../../docs/runbooks.md', import.meta.url));
/** uPlot's browser build, served from node_modules as is (the UI has no build step). */
export const UPLOT_DIR = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');

export function createApp(
  d: RunnerApiDeps &
    UserApiDeps & {
      log: Logger;
      mount?: (app: Express) => void;
      artifacts?: ArtifactService;
      live?: LiveEvents;
      /** The database engine and whether this coordinator leads (runs the cluster-wide workers). */
      cluster?: () => { database: 'sqlite' | 'postgres'; leader: boolean };
    },
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  app.use(securityHeaders);

  // The store's state, probed without blocking; 503 naming the cause when it cannot take writes.
  app.get('/healthz', (_req, res) => {
    const store = d.store.health.check();
    res.status(store.ok ? 200 : 503).json({
      ok: store.ok,
      store: {
        ok: store.ok,
        free_bytes: store.free_bytes ?? null,
        ...(store.problem ? { cause: `storage_${store.problem.kind}`, error: store.problem.message } : {}),
      },
      ...(d.cluster ? { cluster: d.cluster() } : {}),
    });
  });
  // A write request that went through ends an earlier storage failure.
  app.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') res.once('finish', () => res.statusCode < 500 && d.store.health.writeSucceeded());
    next();
  });
  app.get('/api/v1/openapi.json', (_req, res) => void res.json(openapi));
  app.use('/api/v1', runnerApi(d));
  const artifacts = d.artifacts;
  if (artifacts) app.use('/api/v1', artifactsRunnerApi({ store: d.store, artifacts }));
  // The event stream takes its token from ?token= too (EventSource sends no headers).
  if (d.live) app.use('/api/v1', d.live.router(d.store));
  app.use('/api/v1', requireApiToken(d.store), ...(artifacts ? [artifactsUserApi({ store: d.store, artifacts })] : []), userApi(d));
  d.mount?.(app); // /metrics and the incidents/MTTR API (services/telemetry.ts)
  app.use('/api', notFound);

  app.get('/docs/runbooks.md', (_req, res) => {
    if (!existsSync(RUNBOOKS)) return res.status(404).json({ error: 'runbooks not installed' });
    res.type('text/markdown; charset=utf-8').sendFile(RUNBOOKS);
  });

  // The web UI (written separately); until it exists, / is a JSON 404.
  app.use(express.static(UI_DIR, { index: 'index.html', fallthrough: true }));
  app.use('/vendor/uplot', express.static(UPLOT_DIR, { index: false, fallthrough: true }));
  app.get('/', (_req, res) => {
    if (existsSync(UI_DIR + 'index.html')) return res.sendFile(UI_DIR + 'index.html');
    res.status(404).json({ error: 'web UI not installed' });
  });

  app.use(notFound);
  app.use(errorHandler(d.log, d.store.health));
  return app;
}
