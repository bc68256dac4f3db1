/**
 * Mean time to recovery, two kinds:
 *  - pipeline recovery per ref (project + ref): from the first failed pipeline to the next
 *    successful one on that ref, split by the first failure's class (infra vs build;
 *    `unknown` counts as build: nobody showed it was the platform's fault);
 *  - infra incidents (services/incidents.ts): opened_at → resolved_at.
 * The API computes them from the store (pure functions over rows). Prometheus gets each
 * recovery once, as it happens, in the faultline_recovery_seconds histogram (`recoveryAt`):
 * sums and counts aggregate across instances and windows, where a precomputed mean cannot.
 */
import type { Sql } from '../store/engine.js';
import { iso } from '../store/db.js';
import type { IncidentStore } from '../store/incidents.js';

export interface PipelineOutcomeRow {
  id: number;
  project: string;
  ref: string;
  status: string;
  failure_class: string | null;
  finished_at: number;
}

export interface Recovery {
  project: string;
  ref: string;
  class: 'infra' | 'build';
  failed_pipeline_id: number;
  failed_at: number;
  recovered_pipeline_id: number;
  recovered_at: number;
  seconds: number;
}

export interface Broken {
  project: string;
  ref: string;
  class: 'infra' | 'build';
  failed_pipeline_id: number;
  failed_at: number;
}

export interface Stats {
  count: number;
  mean_seconds: number | null;
  p50_seconds: number | null;
  max_seconds: number | null;
}

/** Walks finished pipelines in time order; rows must be sorted by finished_at, id. */
export function pipelineRecoveries(rows: Iterable<PipelineOutcomeRow>): { recoveries: Recovery[]; broken: Broken[] } {
  const open = new Map<string, Broken>();
  const recoveries: Recovery[] = [];
  for (const r of rows) {
    const key = JSON.stringify([r.project, r.ref]);
    if (r.status === 'failed') {
      if (!open.has(key))
        open.set(key, {
          project: r.project,
          ref: r.ref,
          class: r.failure_class === 'infra' ? 'infra' : 'build',
          failed_pipeline_id: r.id,
          failed_at: r.finished_at,
        });
    } else if (r.status === 'success') {
      const b = open.get(key);
      if (b) {
        open.delete(key);
        recoveries.push({
          ...b,
          recovered_pipeline_id: r.id,
          recovered_at: r.finished_at,
          seconds: Math.max(0, r.finished_at - b.failed_at) / 1000,
        });
      }
    }
  }
  return { recoveries, broken: [...open.values()] };
}

export function stats(values: readonly number[]): Stats {
  if (values.length === 0) return { count: 0, mean_seconds: null, p50_seconds: null, max_seconds: null };
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const p50 = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { count: s.length, mean_seconds: s.reduce((a, b) => a + b, 0) / s.length, p50_seconds: p50, max_seconds: s[s.length - 1]! };
}

export interface MttrJson {
  since: string;
  until: string;
  pipelines: {
    infra: Stats;
    build: Stats;
    /** Per ref: its recoveries in the window (newest first, at most 20) and whether it is broken now. */
    refs: Array<{
      project: string;
      ref: string;
      recoveries: Array<{
        class: 'infra' | 'build';
        failed_pipeline_id: number;
        failed_at: string;
        recovered_pipeline_id: number;
        recovered_at: string;
        seconds: number;
      }>;
      broken_since: string | null;
      broken_class: 'infra' | 'build' | null;
    }>;
  };
  incidents: Stats & { open: number };
}

/** How far before `since` to look for the failure that started a recovery ending in the window. */
export const LOOKBACK_MS = 7 * 86_400_000;

export class MttrService {
  constructor(
    private readonly sql: Sql,
    private readonly incidents: IncidentStore,
  ) {}

  /** Recoveries and incident durations whose recovery falls in [since, until]. */
  async compute(since: number, until: number) {
    const rows = await this.sql.all<PipelineOutcomeRow>(
      `SELECT id, project, ref, status, failure_class, finished_at FROM pipelines
       WHERE finished_at IS NOT NULL AND finished_at >= ? AND finished_at <= ? AND status IN ('success', 'failed')
       ORDER BY finished_at, id`,
      [since - LOOKBACK_MS, until],
    );
    const { recoveries, broken } = pipelineRecoveries(rows);
    const inWindow = recoveries.filter((r) => r.recovered_at >= since);
    const incidentSeconds = (await this.incidents.resolvedBetween(since, until)).map(
      (i) => Math.max(0, i.resolved_at! - i.opened_at!) / 1000,
    );
    return { recoveries: inWindow, broken, incidentSeconds };
  }

  /**
   * The recovery a green pipeline ends, if its ref was broken: from the first failed pipeline
   * after the ref's previous green one, with that pipeline's class and first infra/build cause.
   */
  async recoveryAt(p: {
    id: number;
    project: string;
    ref: string;
    finished_at: number;
  }): Promise<{ class: 'infra' | 'build'; cause: string; seconds: number } | null> {
    const prevGreen = await this.sql.get<{ finished_at: number; id: number }>(
      `SELECT id, finished_at FROM pipelines WHERE project = ? AND ref = ? AND status = 'success' AND finished_at IS NOT NULL
         AND finished_at <= ? AND id <> ? ORDER BY finished_at DESC, id DESC LIMIT 1`,
      [p.project, p.ref, p.finished_at, p.id],
    );
    const failed = await this.sql.get<{ id: number; failure_class: string | null; finished_at: number }>(
      `SELECT id, failure_class, finished_at FROM pipelines WHERE project = ? AND ref = ? AND status = 'failed' AND finished_at IS NOT NULL
         AND finished_at > ? AND finished_at <= ? AND id <> ? ORDER BY finished_at, id LIMIT 1`,
      [p.project, p.ref, prevGreen?.finished_at ?? -1, p.finished_at, p.id],
    );
    if (!failed) return null;
    const cls = failed.failure_class === 'infra' ? 'infra' : 'build';
    const cause =
      (
        await this.sql.get<{ failure_cause: string | null }>(
          `SELECT failure_cause FROM jobs WHERE pipeline_id = ? AND status = 'failed' AND allow_failure = 0 AND failure_cause IS NOT NULL
           ORDER BY (CASE WHEN failure_class = ? THEN 0 ELSE 1 END), id LIMIT 1`,
          [failed.id, cls],
        )
      )?.failure_cause ?? 'unknown';
    return { class: cls, cause, seconds: Math.max(0, p.finished_at - failed.finished_at) / 1000 };
  }

  async report(since: number, until: number): Promise<MttrJson> {
    const c = await this.compute(since, until);
    const open = await this.sql.get<{ n: number }>(`SELECT COUNT(*) AS n FROM incidents WHERE state IN ('open', 'acknowledged')`);
    const refs = new Map<string, MttrJson['pipelines']['refs'][number]>();
    const refOf = (project: string, ref: string) => {
      const k = JSON.stringify([project, ref]);
      let e = refs.get(k);
      if (!e) refs.set(k, (e = { project, ref, recoveries: [], broken_since: null, broken_class: null }));
      return e;
    };
    for (const r of [...c.recoveries].reverse()) {
      const e = refOf(r.project, r.ref);
      if (e.recoveries.length < 20)
        e.recoveries.push({
          class: r.class,
          failed_pipeline_id: r.failed_pipeline_id,
          failed_at: iso(r.failed_at)!,
          recovered_pipeline_id: r.recovered_pipeline_id,
          recovered_at: iso(r.recovered_at)!,
          seconds: r.seconds,
        });
    }
    for (const b of c.broken) {
      const e = refOf(b.project, b.ref);
      e.broken_since = iso(b.failed_at);
      e.broken_class = b.class;
    }
    return {
      since: iso(since)!,
      until: iso(until)!,
      pipelines: {
        infra: stats(c.recoveries.filter((r) => r.class === 'infra').map((r) => r.seconds)),
        build: stats(c.recoveries.filter((r) => r.class === 'build').map((r) => r.seconds)),
        refs: [...refs.values()],
      },
      incidents: { ...stats(c.incidentSeconds), open: open?.n ?? 0 },
    };
  }
}
