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
}

const SEEN_RESOLUTION_MS = 250;

export class RunnerStore {
  private readonly s;
  constructor(db: Db) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO runners (name, token_hash, tags_json, run_untagged, executor, concurrency, state, last_heartbeat_at, created_at)
         VALUES (@name, @token_hash, @tags_json, @run_untagged, @executor, @concurrency, 'online', @now, @now)`,
      ),
      byHash: db.prepare('SELECT * FROM runners WHERE token_hash = ?'),
      get: db.prepare('SELECT * FROM runners WHERE id = ?'),
      seen: db.prepare(`UPDATE runners SET last_heartbeat_at = ?, state = 'online' WHERE id = ?`),
      online: db.prepare(`SELECT * FROM runners WHERE state = 'online' AND last_heartbeat_at >= ?`),
      goneOffline: db.prepare(`SELECT * FROM runners WHERE state = 'online' AND COALESCE(last_heartbeat_at, 0) < ?`),
      setState: db.prepare('UPDATE runners SET state = ? WHERE id = ?'),
      all: db.prepare('SELECT * FROM runners ORDER BY id'),
    };
  }
  insert(
    r: { name: string; token_hash: string; tags: string[]; run_untagged: boolean; executor: string; concurrency: number },
    now: number,
  ): number {
    return Number(
      this.s.insert.run({
        name: r.name,
        token_hash: r.token_hash,
        tags_json: JSON.stringify(r.tags),
        run_untagged: r.run_untagged ? 1 : 0,
        executor: r.executor,
        concurrency: r.concurrency,
        now,
      }).lastInsertRowid,
    );
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

/** Can this runner take a job with these tags? (all job tags present; untagged only if run_untagged) */
export function runnerMatches(runnerTags: readonly string[], runUntagged: boolean, jobTags: readonly string[]): boolean {
  if (jobTags.length === 0) return runUntagged;
  return jobTags.every((t) => runnerTags.includes(t));
}
