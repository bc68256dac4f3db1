/** The express app: runner API, user API, static UI, health, JSON 404/errors. */
import express, { type Express } from 'express';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { requireApiToken } from './api/auth.js';
import { errorHandler, notFound } from './api/errors.js';
import { openapi } from './api/openapi.js';
import { runnerApi, type RunnerApiDeps } from './api/runner-api.js';
import { userApi, type UserApiDeps } from './api/user-api.js';
import { artifactsRunnerApi, artifactsUserApi } from './api/artifacts-api.js';
import type { ArtifactService } from './artifacts/service.js';

export const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));

export function createApp(
  d: RunnerApiDeps & UserApiDeps & { log: Logger; mount?: (app: Express) => void; artifacts?: ArtifactService },
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.get('/healthz', (_req, res) => void res.json({ ok: true }));
  app.get('/api/v1/openapi.json', (_req, res) => void res.json(openapi));
  app.use('/api/v1', runnerApi(d));
  const artifacts = d.artifacts;
  if (artifacts) app.use('/api/v1', artifactsRunnerApi({ store: d.store, artifacts }));
  app.use('/api/v1', requireApiToken(d.store), ...(artifacts ? [artifactsUserApi({ store: d.store, artifacts })] : []), userApi(d));
  d.mount?.(app); // /metrics and the incidents/MTTR API (services/telemetry.ts)
  app.use('/api', notFound);

  // The web UI (written separately); until it exists, / is a JSON 404.
  app.use(express.static(UI_DIR, { index: 'index.html', fallthrough: true }));
  app.get('/', (_req, res) => {
    if (existsSync(UI_DIR + 'index.html')) return res.sendFile(UI_DIR + 'index.html');
    res.status(404).json({ error: 'web UI not installed' });
  });

  app.use(notFound);
  app.use(errorHandler(d.log));
  return app;
}
