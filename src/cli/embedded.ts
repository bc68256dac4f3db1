/**
 * The embedded default: coordinator + N shell runners in one process, SQLite under
 * the data dir, UI and /metrics on localhost. Used by `faultline up` and by
 * `faultline run` when no coordinator is given.
 */
import { join } from 'node:path';
import pino from 'pino';
import { createCoordinator } from '../coordinator/index.js';
import { startRunner, type RunnerHandle } from '../runner/index.js';

export interface EmbeddedOptions {
  dataDir: string;
  port?: number;
  host?: string;
  runners?: number;
  concurrency?: number;
  rulesDir?: string;
  /** Only warnings and errors from the coordinator's and runners' logs (for `faultline run`). */
  quiet?: boolean;
  /** include:local reads a local repository's working tree (faultline run: the user's checkout). */
  includesFromWorktree?: boolean;
}

export type Embedded = Awaited<ReturnType<typeof startEmbedded>>;

export async function startEmbedded(opts: EmbeddedOptions) {
  const coordinator = await createCoordinator({
    dataDir: opts.dataDir,
    port: opts.port ?? 8080,
    host: opts.host ?? '127.0.0.1',
    rulesDir: opts.rulesDir,
    includesFromWorktree: opts.includesFromWorktree ?? false,
    ...(opts.quiet ? { logger: pino({ level: 'warn', name: 'coordinator' }) } : {}),
  });
  const runners: RunnerHandle[] = [];
  for (let i = 0; i < (opts.runners ?? 2); i++) {
    runners.push(
      await startRunner({
        url: coordinator.url,
        registrationToken: coordinator.registrationToken,
        name: `embedded-shell-${i + 1}`,
        executor: 'shell',
        concurrency: opts.concurrency ?? 1,
        tags: [],
        buildsDir: join(opts.dataDir, 'builds'),
        ...(opts.quiet ? { logger: pino({ level: 'warn', name: 'runner' }) } : {}),
      }),
    );
  }
  let stopped = false;
  return {
    coordinator,
    runners,
    url: coordinator.url as string,
    apiToken: coordinator.apiToken as string,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      await Promise.all(runners.map((r) => r.stop()));
      await coordinator.close();
    },
  };
}
