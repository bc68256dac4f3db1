/**
 * The runner fleet as operators see it: states, removal, and the stale sweep.
 *
 * Removing a runner (as GitLab does when a runner is deleted) revokes its token: it can no longer
 * heartbeat or ask for jobs, so nobody would ever settle the jobs it holds. GitLab leaves those to
 * its stuck-job worker; here they fail at once as runner_system_failure (infra: the job did not
 * fail, its runner went away), so nothing stays "running" on a runner no one can see.
 */
import type { Logger } from 'pino';
import type { RunnerJson } from '../../protocol/user-api.js';
import type { ResolvedOptions } from '../config.js';
import type { CoordinatorEvents } from '../events.js';
import { iso } from '../store/db.js';
import type { Store } from '../store/index.js';
import { fleetState } from '../store/runners.js';
import type { JobService } from './job-service.js';

const RECENT_MS = 86_400_000;

export class Fleet {
  constructor(
    private readonly store: Store,
    private readonly jobs: JobService,
    private readonly events: CoordinatorEvents,
    private readonly opts: ResolvedOptions,
    private readonly log: Logger,
  ) {}

  async list(now = Date.now()): Promise<RunnerJson[]> {
    const running = await this.store.runners.runningCounts();
    const infra = await this.store.runners.infraFailuresSince(now - RECENT_MS);
    return (await this.store.runners.all()).map((r) => ({
      id: r.id,
      name: r.name,
      host: r.host,
      state: fleetState(r, now, this.opts.heartbeatTimeoutMs, this.opts.runnerStaleMs),
      last_contact_at: iso(r.last_heartbeat_at),
      version: r.version,
      executor: r.executor,
      tags: JSON.parse(r.tags_json) as string[],
      run_untagged: r.run_untagged === 1,
      concurrency: r.concurrency,
      jobs_running: running.get(r.id) ?? 0,
      recent_infra_failures: infra.get(r.id) ?? 0,
    }));
  }

  /** False when the runner is unknown or already removed. */
  async remove(id: number, reason: 'deleted' | 'stale', now = Date.now()): Promise<boolean> {
    const r = await this.store.runners.get(id);
    if (!r || r.removed_at !== null) return false;
    const held = await this.store.runners.runningJobIds(id);
    if (!(await this.store.runners.remove(id, now))) return false;
    for (const jobId of held) {
      await this.jobs.failRunning(jobId, {
        reason: 'runner_system_failure',
        stage: 'coordinator',
        message: `runner ${r.name} was removed (${reason === 'stale' ? 'stale' : 'deleted by an operator'}) while running the job`,
        executor: r.executor,
        image: null,
        registry: null,
        kind: null,
      });
    }
    this.log.info({ runner: id, name: r.name, reason, failedJobs: held.length }, 'runner removed');
    this.events.safeEmit('runner_removed', { runner_id: id, name: r.name, reason, at: new Date(now).toISOString() });
    return true;
  }

  /** Remove runners not heard of for the stale time (GitLab's stale runner cleanup). */
  async sweepStale(now = Date.now()): Promise<number> {
    let n = 0;
    for (const r of await this.store.runners.staleSince(now - this.opts.runnerStaleMs)) if (await this.remove(r.id, 'stale', now)) n++;
    return n;
  }
}
