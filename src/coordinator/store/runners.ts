/** The `runners` table. Runner tokens are stored as sha256 hashes only. */
import type { Sql } from './engine.js';

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
/** First key of the PostgreSQL advisory locks serialising registrations (two-key space: apart from the migration and leader locks). */
const REGISTER_LOCK_CLASS = 0x666c_7267; // "flrg"

export class RunnerStore {
  /** When this coordinator last wrote each runner's heartbeat (its own writes only: a lower bound of the row's). */
  private readonly wrote = new Map<number, number>();

  constructor(private readonly sql: Sql) {}
  /** A new record, or the old one of the same name and host taken over (`replaced`). */
  async register(r: RunnerRegistration, now: number): Promise<{ id: number; replaced: boolean }> {
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
    // Same name on the same host = the same runner registering again (its config was lost or
    // re-created): it takes over the record, so the fleet shows no ghost of its former self.
    return this.sql.tx(async () => {
      // Two coordinators registering one runner at once would both find no record and both insert
      // (READ COMMITTED; there is no row to lock yet): serialise on the (name, host) pair. SQLite's
      // transaction already holds the whole database.
      if (r.host !== null && this.sql.kind === 'postgres')
        await this.sql.run('SELECT pg_advisory_xact_lock(?, hashtext(?))', [REGISTER_LOCK_CLASS, JSON.stringify([r.name, r.host])]);
      const old =
        r.host === null
          ? undefined
          : await this.sql.get<RunnerRow>(
              'SELECT * FROM runners WHERE name = ? AND host = ? AND removed_at IS NULL ORDER BY id DESC LIMIT 1',
              [r.name, r.host],
            );
      if (old) {
        await this.sql.run(
          `UPDATE runners SET token_hash = @token_hash, tags_json = @tags_json, run_untagged = @run_untagged, executor = @executor,
             concurrency = @concurrency, version = @version, state = 'online', last_heartbeat_at = @now WHERE id = @id`,
          {
            token_hash: row.token_hash,
            tags_json: row.tags_json,
            run_untagged: row.run_untagged,
            executor: row.executor,
            concurrency: row.concurrency,
            version: row.version,
            now,
            id: old.id,
          },
        );
        return { id: old.id, replaced: true };
      }
      const ins = await this.sql.get<{ id: number }>(
        `INSERT INTO runners (name, token_hash, tags_json, run_untagged, executor, concurrency, state, last_heartbeat_at, created_at, host, version)
         VALUES (@name, @token_hash, @tags_json, @run_untagged, @executor, @concurrency, 'online', @now, @now, @host, @version) RETURNING id`,
        row,
      );
      return { id: ins!.id, replaced: false };
    });
  }
  /** Soft delete (jobs keep their runner_id); false if unknown or already removed. */
  async remove(id: number, now: number): Promise<boolean> {
    this.wrote.delete(id);
    // The token is overwritten with a value no token hashes to: a removed runner is refused (403).
    const r = await this.sql.run(
      `UPDATE runners SET removed_at = ?, state = 'offline', token_hash = 'removed:' || id WHERE id = ? AND removed_at IS NULL`,
      [now, id],
    );
    return r.changes === 1;
  }
  /** Running jobs per runner id. */
  async runningCounts(): Promise<Map<number, number>> {
    const rows = await this.sql.all<{ runner_id: number; n: number }>(
      `SELECT runner_id, COUNT(*) AS n FROM jobs WHERE status IN ('running', 'canceling') AND runner_id IS NOT NULL GROUP BY runner_id`,
    );
    return new Map(rows.map((r) => [r.runner_id, r.n]));
  }
  /** Ids of the jobs this runner is running. */
  async runningJobIds(runnerId: number): Promise<number[]> {
    const rows = await this.sql.all<{ id: number }>(
      `SELECT id FROM jobs WHERE runner_id = ? AND status IN ('running', 'canceling') ORDER BY id`,
      [runnerId],
    );
    return rows.map((r) => r.id);
  }
  /** Infra failures per runner id since `since`. */
  async infraFailuresSince(since: number): Promise<Map<number, number>> {
    const rows = await this.sql.all<{ runner_id: number; n: number }>(
      `SELECT runner_id, COUNT(*) AS n FROM jobs WHERE failure_class = 'infra' AND finished_at >= ? AND runner_id IS NOT NULL GROUP BY runner_id`,
      [since],
    );
    return new Map(rows.map((r) => [r.runner_id, r.n]));
  }
  /** Runners not heard of since `cutoff` (candidates of the stale sweep). */
  staleSince(cutoff: number): Promise<RunnerRow[]> {
    return this.sql.all<RunnerRow>('SELECT * FROM runners WHERE removed_at IS NULL AND COALESCE(last_heartbeat_at, created_at) < ?', [
      cutoff,
    ]);
  }
  byTokenHash(hash: string): Promise<RunnerRow | undefined> {
    return this.sql.get<RunnerRow>('SELECT * FROM runners WHERE token_hash = ? AND removed_at IS NULL', [hash]);
  }
  get(id: number): Promise<RunnerRow | undefined> {
    return this.sql.get<RunnerRow>('SELECT * FROM runners WHERE id = ?', [id]);
  }
  /** Record contact; returns true if the runner was offline before. */
  async seen(r: RunnerRow, now: number): Promise<boolean> {
    // Liveness is judged in seconds: skip the write when the last one is fresh.
    if (r.state === 'online' && r.last_heartbeat_at !== null && now - r.last_heartbeat_at < SEEN_RESOLUTION_MS) return false;
    await this.sql.run(`UPDATE runners SET last_heartbeat_at = ?, state = 'online' WHERE id = ?`, [now, r.id]);
    this.wrote.set(r.id, now);
    return r.state !== 'online';
  }
  /**
   * `seen` for a runner known only by id (a job update): one conditional write instead of a read
   * and a write, skipped by the database when the last contact is fresh, and not sent at all
   * when this coordinator wrote it itself that recently (a runner's request just before).
   */
  async seenById(id: number, now: number): Promise<void> {
    const last = this.wrote.get(id);
    if (last !== undefined && now - last < SEEN_RESOLUTION_MS) return;
    this.wrote.delete(id);
    const r = await this.sql.run(
      `UPDATE runners SET last_heartbeat_at = ?, state = 'online'
       WHERE id = ? AND (state <> 'online' OR last_heartbeat_at IS NULL OR last_heartbeat_at <= ?)`,
      [now, id, now - SEEN_RESOLUTION_MS],
    );
    if (r.changes > 0) this.wrote.set(id, now);
  }
  onlineSince(cutoff: number): Promise<RunnerRow[]> {
    return this.sql.all<RunnerRow>(`SELECT * FROM runners WHERE state = 'online' AND removed_at IS NULL AND last_heartbeat_at >= ?`, [
      cutoff,
    ]);
  }
  silentSince(cutoff: number): Promise<RunnerRow[]> {
    return this.sql.all<RunnerRow>(
      `SELECT * FROM runners WHERE state = 'online' AND removed_at IS NULL AND COALESCE(last_heartbeat_at, 0) < ?`,
      [cutoff],
    );
  }
  async setState(id: number, state: 'online' | 'offline'): Promise<void> {
    this.wrote.delete(id);
    await this.sql.run('UPDATE runners SET state = ? WHERE id = ?', [state, id]);
  }
  all(): Promise<RunnerRow[]> {
    return this.sql.all<RunnerRow>('SELECT * FROM runners WHERE removed_at IS NULL ORDER BY id');
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
