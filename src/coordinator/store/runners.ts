/** The `runners` table. Runner tokens are stored as sha256 hashes only. */
import type { Db } from './db.js';

export interface RunnerRow {
  id: number;
  name: string;
  token_hash: string;
  tags_json: string;
  run_untagged: number;
  executor: string;
  concurrency: number;
  state: string;
  last_heartbeat_at: number | null;
  created_at: number;
  host: string | null;
  version: string | null;
  removed_at: number | null;
}

export interface RunnerRegistration {
  name: string;
  token_hash: string;
  tags: string[];
  run_untagged: boolean;
  executor: string;
  concurrency: number;
  host: string | null;
  version: string | null;
}

const SEEN_RESOLUTION_MS = 250;

export class RunnerStore {
  private readonly s;
  constructor(db: Db) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO runners (name, token_hash, tags_json, run_untagged, executor, concurrency, state, last_heartbeat_at, created_at, host, version)
         VALUES (@name, @token_hash, @tags_json, @run_untagged, @executor, @concurrency, 'online', @now, @now, @host, @version)`,
      ),
      // Same name on the same host = the same runner registering again (its config was lost or
      // re-created): it takes over the record, so the fleet shows no ghost of its former self.
      sameRunner: db.prepare('SELECT * FROM runners WHERE name = ? AND host = ? AND removed_at IS NULL ORDER BY id DESC LIMIT 1'),
      takeOver: db.prepare(
        `UPDATE runners SET token_hash = @token_hash, tags_json = @tags_json, run_untagged = @run_untagged, executor = @executor,
           concurrency = @concurrency, version = @version, state = 'online', last_heartbeat_at = @now WHERE id = @id`,
      ),
      byHash: db.prepare('SELECT * FROM runners WHERE token_hash = ? AND removed_at IS NULL'),
      get: db.prepare('SELECT * FROM runners WHERE id = ?'),
      seen: db.prepare(`UPDATE runners SET last_heartbeat_at = ?, state = 'online' WHERE id = ?`),
      online: db.prepare(`SELECT * FROM runners WHERE state = 'online' AND removed_at IS NULL AND last_heartbeat_at >= ?`),
      goneOffline: db.prepare(`SELECT * FROM runners WHERE state = 'online' AND removed_at IS NULL AND COALESCE(last_heartbeat_at, 0) < ?`),
      setState: db.prepare('UPDATE runners SET state = ? WHERE id = ?'),
      all: db.prepare('SELECT * FROM runners WHERE removed_at IS NULL ORDER BY id'),
      // The token is overwritten with a value no token hashes to: a removed runner is refused (403).
      remove: db.prepare(
        `UPDATE runners SET removed_at = ?, state = 'offline', token_hash = 'removed:' || id WHERE id = ? AND removed_at IS NULL`,
      ),
      running: db.prepare(
        `SELECT runner_id, COUNT(*) AS n FROM jobs WHERE status IN ('running', 'canceling') AND runner_id IS NOT NULL GROUP BY runner_id`,
      ),
      runningOf: db.prepare(`SELECT id FROM jobs WHERE runner_id = ? AND status IN ('running', 'canceling') ORDER BY id`),
      infraSince: db.prepare(
        `SELECT runner_id, COUNT(*) AS n FROM jobs WHERE failure_class = 'infra' AND finished_at >= ? AND runner_id IS NOT NULL GROUP BY runner_id`,
      ),
      staleSince: db.prepare('SELECT * FROM runners WHERE removed_at IS NULL AND COALESCE(last_heartbeat_at, created_at) < ?'),
    };
  }
  /** A new record, or the old one of the same name and host taken over (`replaced`). */
  register(r: RunnerRegistration, now: number): { id: number; replaced: boolean } {
    const row = {
      name: r.name,
      token_hash: r.token_hash,
      tags_json: JSON.stringify(r.tags),
      run_untagged: r.run_untagged ? 1 : 0,
      executor: r.executor,
      concurrency: r.concurrency,
      host: r.host,
      version: r.version,
      now,
    };
    const old = r.host === null ? undefined : (this.s.sameRunner.get(r.name, r.host) as RunnerRow | undefined);
    if (old) {
      this.s.takeOver.run({ ...row, id: old.id });
      return { id: old.id, replaced: true };
    }
    return { id: Number(this.s.insert.run(row).lastInsertRowid), replaced: false };
  }
  /** Soft delete (jobs keep their runner_id); false if unknown or already removed. */
  remove(id: number, now: number): boolean {
    return this.s.remove.run(now, id).changes === 1;
  }
  /** Running jobs per runner id. */
  runningCounts(): Map<number, number> {
    return new Map((this.s.running.all() as { runner_id: number; n: number }[]).map((r) => [r.runner_id, r.n]));
  }
  /** Ids of the jobs this runner is running. */
  runningJobIds(runnerId: number): number[] {
    return (this.s.runningOf.all(runnerId) as { id: number }[]).map((r) => r.id);
  }
  /** Infra failures per runner id since `since`. */
  infraFailuresSince(since: number): Map<number, number> {
    return new Map((this.s.infraSince.all(since) as { runner_id: number; n: number }[]).map((r) => [r.runner_id, r.n]));
  }
  /** Runners not heard of since `cutoff` (candidates of the stale sweep). */
  staleSince(cutoff: number): RunnerRow[] {
    return this.s.staleSince.all(cutoff) as RunnerRow[];
  }
  byTokenHash(hash: string): RunnerRow | undefined {
    return this.s.byHash.get(hash) as RunnerRow | undefined;
  }
  get(id: number): RunnerRow | undefined {
    return this.s.get.get(id) as RunnerRow | undefined;
  }
  /** Record contact; returns true if the runner was offline before. */
  seen(r: RunnerRow, now: number): boolean {
    // Liveness is judged in seconds: skip the write when the last one is fresh.
    if (r.state === 'online' && r.last_heartbeat_at !== null && now - r.last_heartbeat_at < SEEN_RESOLUTION_MS) return false;
    this.s.seen.run(now, r.id);
    return r.state !== 'online';
  }
  onlineSince(cutoff: number): RunnerRow[] {
    return this.s.online.all(cutoff) as RunnerRow[];
  }
  silentSince(cutoff: number): RunnerRow[] {
    return this.s.goneOffline.all(cutoff) as RunnerRow[];
  }
  setState(id: number, state: 'online' | 'offline'): void {
    this.s.setState.run(state, id);
  }
  all(): RunnerRow[] {
    return this.s.all.all() as RunnerRow[];
  }
}

export type FleetState = 'online' | 'offline' | 'stale';

/**
 * GitLab's runner states: online when heard within the heartbeat timeout, stale when not heard
 * for `staleMs` (GitLab: 7 days), offline in between.
 */
export function fleetState(r: RunnerRow, now: number, heartbeatTimeoutMs: number, staleMs: number): FleetState {
  const last = r.last_heartbeat_at ?? r.created_at;
  if (now - last >= staleMs) return 'stale';
  return r.state === 'online' && now - last < heartbeatTimeoutMs ? 'online' : 'offline';
}

/** Can this runner take a job with these tags? (all job tags present; untagged only if run_untagged) */
export function runnerMatches(runnerTags: readonly string[], runUntagged: boolean, jobTags: readonly string[]): boolean {
  if (jobTags.length === 0) return runUntagged;
  return jobTags.every((t) => runnerTags.includes(t));
}
