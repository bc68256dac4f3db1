/**
 * Periodic checks no runner can make: running jobs whose runner went silent, and
 * pending jobs nobody picked up in time.
 */
import type { Logger } from 'pino';
import type { ResolvedOptions } from '../config.js';
import type { CoordinatorEvents } from '../events.js';
import type { Store } from '../store/index.js';
import { runnerMatches } from '../store/runners.js';
import type { Fleet } from './fleet.js';
import { Hearing } from './hearing.js';
import type { JobService } from './job-service.js';

export class Reaper {
  private timer: NodeJS.Timeout | null = null;
  /** When the previous tick ran: a tick much later than its period means the coordinator was stalled. */
  private lastTick: number | null = null;
  readonly every: number;
  /** Removes stale runners (services/fleet.ts), at most once a minute. */
  fleet?: Fleet;
  private lastStaleSweep = 0;

  constructor(
    private readonly store: Store,
    private readonly jobs: JobService,
    private readonly events: CoordinatorEvents,
    private readonly opts: ResolvedOptions,
    private readonly log: Logger,
    /** Heartbeats sent while this coordinator was down or stalled were never heard. */
    readonly hearing = new Hearing(),
  ) {
    this.every = Math.min(5000, Math.max(100, Math.floor(Math.min(this.opts.heartbeatTimeoutMs, this.opts.stuckTimeoutMs) / 4)));
  }

  start(): void {
    this.lastTick = Date.now();
    let busy = false;
    this.timer = setInterval(async () => {
      if (busy) return; // the previous tick still awaits the store: never two at once
      busy = true;
      try {
        await this.tick();
      } catch (err) {
        // A store error (e.g. SQLITE_BUSY) blocked this tick: whatever it would have heard meanwhile is lost.
        this.hearing.deafUntil(Date.now());
        this.store.health.record(err);
        this.log.error({ err }, 'reaper tick failed');
      } finally {
        busy = false;
      }
    }, this.every);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async tick(now = Date.now()): Promise<void> {
    // Late by more than a period: the event loop (or a store call) was blocked, and requests
    // queued meanwhile are handled only after this tick. Silence counts from now on.
    if (this.lastTick !== null && now - this.lastTick > 2 * this.every) {
      this.log.warn({ stalledMs: now - this.lastTick - this.every }, 'coordinator was stalled; runner silence counts from now');
      this.hearing.deafUntil(now);
    }
    this.lastTick = now;
    const cutoff = now - this.opts.heartbeatTimeoutMs;
    if (this.hearing.listeningSince < cutoff) await this.reapSilent(cutoff, now);
    await this.failStuck(cutoff, now);
    if (this.fleet && now - this.lastStaleSweep >= Math.min(60_000, this.opts.runnerStaleMs / 4)) {
      this.lastStaleSweep = now;
      await this.fleet.sweepStale(now);
    }
  }

  /** Runners silent since `cutoff` go offline and their running jobs fail. */
  private async reapSilent(cutoff: number, now: number): Promise<void> {
    for (const r of await this.store.runners.silentSince(cutoff)) {
      if (this.hearing.lastContact(r.id, r.last_heartbeat_at) >= cutoff) continue; // heard, but not stored
      await this.store.runners.setState(r.id, 'offline');
      this.events.safeEmit('runner_state', { runner_id: r.id, name: r.name, state: 'offline', at: new Date(now).toISOString() });
    }
    for (const lost of await this.store.jobs.lost(cutoff)) {
      if (this.hearing.lastContact(lost.runner_id, lost.last_heartbeat_at) >= cutoff) continue;
      const silentS = Math.round((now - (lost.last_heartbeat_at ?? 0)) / 1000);
      const runner = await this.store.runners.get(lost.runner_id);
      this.log.warn({ job: lost.id, runner: lost.runner_id }, 'runner lost; failing its job');
      await this.jobs.failRunning(lost.id, {
        reason: 'runner_system_failure',
        stage: 'coordinator',
        message: `runner lost: no heartbeat for ${silentS}s`,
        executor: runner?.executor ?? null,
        image: null,
        registry: null,
        kind: null,
      });
    }
  }

  /** Pending jobs no runner took within the stuck timeout fail, telling whether any runner could. */
  private async failStuck(cutoff: number, now: number): Promise<void> {
    const online = (await this.store.runners.onlineSince(cutoff)).map((r) => ({
      tags: JSON.parse(r.tags_json) as string[],
      untagged: r.run_untagged === 1,
    }));
    for (const s of await this.store.jobs.stuck(now - this.opts.stuckTimeoutMs)) {
      const tags = JSON.parse(s.tags_json) as string[];
      const matching = online.some((r) => runnerMatches(r.tags, r.untagged, tags));
      const job = await this.store.jobs.get(s.id);
      if (!job) continue;
      if (await this.jobs.waitsForResource(job)) continue; // waiting for its resource_group, not stuck
      const waited = Math.round((now - s.queued_at) / 1000);
      try {
        await this.jobs.failPending(job, {
          reason: matching ? 'stuck_pending_with_matching_runners' : 'stuck_pending_no_matching_runners',
          stage: 'coordinator',
          message: matching
            ? `no matching runner picked the job up in ${waited}s`
            : `no online runner matches the job's tags [${tags.join(', ')}] (waited ${waited}s)`,
          executor: null,
          image: null,
          registry: null,
          kind: null,
        });
      } catch (err) {
        this.log.error({ err, job: s.id }, 'failing stuck job refused');
      }
    }
  }
}
