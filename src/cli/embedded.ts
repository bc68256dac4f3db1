/**
 * The embedded default: coordinator + N shell runners in one process, SQLite under
 * the data dir, UI and /metrics on localhost. Used by `faultline up` and by
 * `faultline run` when no coordinator is given.
 *
 * Jobs run as this process's user (or `jobUser`), so their builds dir is kept out of the
 * data dir: a job must not find the tokens and the database next to its checkout.
 */
import { userInfo } from 'node:os';
import { isAbsolute, relative, resolve } from 'node:path';
import { createCoordinator } from '../coordinator/index.js';
import { defaultBuildsDir, startRunner, type RunnerHandle } from '../runner/index.js';
import { cliLogger } from './log.js';
import { removeServerFile, writeServerFile } from './local.js';

export interface EmbeddedOptions {
  dataDir: string;
  /** Default: the shell runner's own default (under the OS temp dir, keyed by the coordinator's address). */
  buildsDir?: string;
  port?: number;
  host?: string;
  runners?: number;
  concurrency?: number;
  rulesDir?: string;
  /** Run jobs as this user (needs root; see the shell executor). */
  jobUser?: string;
  /** Only warnings and errors from the coordinator's and runners' logs (for `faultline run`). */
  quiet?: boolean;
  /** include:local reads a local repository's working tree (faultline run: the user's checkout). */
  includesFromWorktree?: boolean;
}

/** As the coordinator's own default: info, silent under the test runner, FAULTLINE_LOG_LEVEL over both. */
export const coordinatorLevel = () => process.env.FAULTLINE_LOG_LEVEL ?? (process.env.NODE_TEST_CONTEXT ? 'silent' : 'info');

export type Embedded = Awaited<ReturnType<typeof startEmbedded>>;

/** True when `inner` is `outer` or lies below it. */
export function isWithin(inner: string, outer: string): boolean {
  const rel = relative(resolve(outer), resolve(inner));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export async function startEmbedded(opts: EmbeddedOptions) {
  const inside = (dir: string) =>
    new Error(
      `the builds dir ${dir} is inside the data dir ${resolve(opts.dataDir)}: jobs could read its tokens and database; choose a builds dir outside it`,
    );
  if (opts.buildsDir && isWithin(opts.buildsDir, opts.dataDir)) throw inside(resolve(opts.buildsDir));
  const coordinator = await createCoordinator({
    dataDir: opts.dataDir,
    port: opts.port ?? 8080,
    host: opts.host ?? '127.0.0.1',
    rulesDir: opts.rulesDir,
    includesFromWorktree: opts.includesFromWorktree ?? false,
    logger: opts.quiet ? cliLogger('coordinator', 'warn', 2) : cliLogger('coordinator', coordinatorLevel()),
  });
  const buildsDir = resolve(opts.buildsDir ?? defaultBuildsDir(coordinator.url));
  const runners: RunnerHandle[] = [];
  try {
    if (isWithin(buildsDir, opts.dataDir)) throw inside(buildsDir);
    for (let i = 0; i < (opts.runners ?? 2); i++) {
      runners.push(
        await startRunner({
          url: coordinator.url,
          registrationToken: coordinator.registrationToken,
          name: `embedded-shell-${i + 1}`,
          executor: 'shell',
          concurrency: opts.concurrency ?? 1,
          tags: [],
          buildsDir,
          ...(opts.jobUser ? { executorConfig: { user: opts.jobUser } } : {}),
          // The coordinator's tokens live in this process too: never hand them to a job.
          secrets: [coordinator.apiToken, coordinator.registrationToken],
          logger: cliLogger('runner', process.env.FAULTLINE_RUNNER_LOG_LEVEL ?? 'warn', 2),
        }),
      );
    }
  } catch (err) {
    await Promise.all(runners.map((r) => r.stop()));
    await coordinator.close();
    throw err;
  }
  // The other commands run in this directory find this process by it (see local.ts).
  writeServerFile(opts.dataDir, coordinator.url);
  let stopped = false;
  return {
    coordinator,
    runners,
    buildsDir,
    jobUser: opts.jobUser ?? userInfo().username,
    url: coordinator.url as string,
    apiToken: coordinator.apiToken as string,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      removeServerFile(opts.dataDir);
      await Promise.all(runners.map((r) => r.stop()));
      await coordinator.close();
    },
  };
}
