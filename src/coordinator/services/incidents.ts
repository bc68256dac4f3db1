/**
 * Infra incidents: infra-class job failures with the same cause and target are ONE
 * incident. It opens at the first such failure and resolves at the first success through
 * the same path:
 *   registry-scoped (registry_* causes, or a pull that could not reach the registry):
 *     the next successful image pull from that registry host;
 *   runner-scoped (runner_lost, disk_full, docker_daemon_unreachable): the next
 *     successful job on that runner;
 *   executor-scoped (default when the failure names an executor): the next successful
 *     job run by a runner of that executor;
 *   global: the next successful job of any kind.
 * Fed only by coordinator events (job_finished, image_pulls); persisted so open incidents
 * survive restarts.
 */
import type { ImagePullRecord } from '../../protocol/runner-api.js';
import type { JobJson } from '../../protocol/user-api.js';
import { iso } from '../store/db.js';
import type { Store } from '../store/index.js';
import { IncidentStore, type IncidentRow, type IncidentScope, type ResolvingEvent } from '../store/incidents.js';

/** Causes whose blast radius is one runner host. */
export const RUNNER_SCOPED_CAUSES: readonly string[] = ['runner_lost', 'disk_full', 'docker_daemon_unreachable'];

export interface IncidentKey {
  cause: string;
  target: string;
  scope: IncidentScope;
  runner_id: number | null;
}

export interface IncidentJson {
  id: number;
  cause: string;
  target: string;
  scope: IncidentScope;
  state: 'open' | 'resolved';
  opened_at: string;
  last_failure_at: string;
  resolved_at: string | null;
  /** Resolved: resolved_at − opened_at; open: time open so far. */
  duration_seconds: number;
  job_count: number;
}

export interface IncidentDetailJson extends IncidentJson {
  jobs: Array<{
    id: number;
    name: string | null;
    pipeline_id: number | null;
    project: string | null;
    ref: string | null;
    status: string | null;
    failure_reason: string | null;
    summary: string | null;
    failed_at: string;
  }>;
  resolved_by: ResolvingEvent | null;
  /** opened, each affected job, resolved — in time order. */
  timeline: Array<{ at: string; event: 'opened' | 'job_failed' | 'resolved'; job_id?: number; detail: string }>;
}

export interface IncidentHooks {
  opened?(i: IncidentRow): void;
  resolved?(i: IncidentRow, durationSeconds: number): void;
}

/** Which incident an infra failure belongs to. `runner` resolves runner ids to name/executor. */
export function incidentKeyOf(
  job: Pick<JobJson, 'failure' | 'runner_id'>,
  runner: (id: number) => { name: string; executor: string } | undefined,
): IncidentKey | null {
  const f = job.failure;
  if (!f || f.class !== 'infra') return null;
  const cause = f.cause || f.reason;
  const registryPath = f.registry && (cause.startsWith('registry_') || f.kind === 'registry_unreachable');
  if (registryPath) return { cause, target: f.registry!, scope: 'registry', runner_id: null };
  if (RUNNER_SCOPED_CAUSES.includes(cause) && job.runner_id !== null) {
    const r = runner(job.runner_id);
    return { cause, target: r?.name ?? `runner-${job.runner_id}`, scope: 'runner', runner_id: job.runner_id };
  }
  const executor = f.executor ?? (job.runner_id !== null ? runner(job.runner_id)?.executor : undefined);
  if (executor) return { cause, target: executor, scope: 'executor', runner_id: null };
  return { cause, target: 'global', scope: 'global', runner_id: null };
}

const seconds = (from: number, to: number) => Math.max(0, to - from) / 1000;

export class IncidentService {
  readonly rows: IncidentStore;
  /** Open incidents, mirrored in memory so success events cost no query when none is open. */
  private open: IncidentRow[];

  constructor(
    private readonly store: Store,
    private readonly hooks: IncidentHooks = {},
  ) {
    this.rows = new IncidentStore(store.db);
    this.open = this.rows.open();
  }

  openIncidents(): readonly IncidentRow[] {
    return this.open;
  }

  private runner = (id: number) => this.store.runners.get(id);

  /** job_finished: infra failures join/open incidents; successes may resolve them. */
  onJobFinished(job: JobJson): void {
    const at = job.finished_at ? Date.parse(job.finished_at) : Date.now();
    if (job.status === 'success') return this.onJobSuccess(job, at);
    if (job.status !== 'failed') return;
    const key = incidentKeyOf(job, this.runner);
    if (!key) return;
    const { incident, opened } = this.rows.recordFailure(key, job.id, at);
    if (opened) {
      this.open.push(incident);
      this.hooks.opened?.(incident);
      // The path may already have recovered before this failure was classified (the
      // finisher runs behind the runner API): close at once on that later success.
      if (key.scope === 'registry') this.resolveFromStoredPulls(incident);
    } else {
      const i = this.open.findIndex((o) => o.id === incident.id);
      if (i >= 0) this.open[i] = incident;
    }
  }

  private onJobSuccess(job: JobJson, at: number): void {
    if (this.open.length === 0) return;
    const runner = job.runner_id !== null ? this.runner(job.runner_id) : undefined;
    const executor = runner?.executor;
    for (const inc of [...this.open]) {
      if (at < inc.opened_at) continue;
      const match =
        inc.scope === 'global' ||
        // Same runner, or one that re-registered under the same name (host rebuilt).
        (inc.scope === 'runner' && (inc.runner_id === job.runner_id || (runner !== undefined && runner.name === inc.target))) ||
        (inc.scope === 'executor' && executor === inc.target);
      if (match)
        this.resolve(inc, at, {
          kind: 'job_success',
          at: iso(at)!,
          job_id: job.id,
          job_name: job.name,
          pipeline_id: job.pipeline_id,
          runner_id: job.runner_id,
        });
    }
  }

  /** image_pulls: a successful pull from a registry resolves that registry's incidents. */
  onImagePulls(jobId: number, pulls: readonly ImagePullRecord[]): void {
    if (!this.open.some((o) => o.scope === 'registry')) return;
    for (const p of pulls) {
      if (p.outcome !== 'success') continue;
      const at = Number.isFinite(Date.parse(p.at)) ? Date.parse(p.at) : Date.now();
      for (const inc of [...this.open]) {
        if (inc.scope === 'registry' && inc.target === p.registry && at >= inc.opened_at)
          this.resolve(inc, at, { kind: 'image_pull', at: iso(at)!, job_id: jobId, registry: p.registry, image: p.image });
      }
    }
  }

  private resolveFromStoredPulls(inc: IncidentRow): void {
    const p = this.store.db
      .prepare(
        `SELECT job_id, image, registry, at FROM image_pulls WHERE registry = ? AND outcome = 'success' AND at >= ? ORDER BY at LIMIT 1`,
      )
      .get(inc.target, inc.opened_at) as { job_id: number; image: string; registry: string; at: number } | undefined;
    if (p) this.resolve(inc, p.at, { kind: 'image_pull', at: iso(p.at)!, job_id: p.job_id, registry: p.registry, image: p.image });
  }

  private resolve(inc: IncidentRow, at: number, by: ResolvingEvent): void {
    this.open = this.open.filter((o) => o.id !== inc.id);
    if (!this.rows.resolve(inc.id, at, by)) return;
    this.hooks.resolved?.(this.rows.get(inc.id)!, seconds(inc.opened_at, at));
  }

  json(r: IncidentRow, now = Date.now()): IncidentJson {
    return {
      id: r.id,
      cause: r.cause,
      target: r.target,
      scope: r.scope,
      state: r.resolved_at === null ? 'open' : 'resolved',
      opened_at: iso(r.opened_at)!,
      last_failure_at: iso(r.last_failure_at)!,
      resolved_at: iso(r.resolved_at),
      duration_seconds: seconds(r.opened_at, r.resolved_at ?? now),
      job_count: r.job_count,
    };
  }

  list(q: { state?: 'open' | 'resolved'; since?: number; limit?: number }): IncidentJson[] {
    const now = Date.now();
    return this.rows.list({ ...q, limit: q.limit ?? 100 }).map((r) => this.json(r, now));
  }

  detail(id: number): IncidentDetailJson | null {
    const r = this.rows.get(id);
    if (!r) return null;
    const jobs = this.rows.jobs(id).map((j) => ({
      id: j.job_id,
      name: j.name,
      pipeline_id: j.pipeline_id,
      project: j.project,
      ref: j.ref,
      status: j.status,
      failure_reason: j.failure_reason,
      summary: j.failure_summary,
      failed_at: iso(j.at)!,
    }));
    const by = r.resolved_by_json ? (JSON.parse(r.resolved_by_json) as ResolvingEvent) : null;
    const timeline: IncidentDetailJson['timeline'] = [
      { at: iso(r.opened_at)!, event: 'opened', detail: `${r.cause} on ${r.target}` },
      ...jobs.map((j) => ({
        at: j.failed_at,
        event: 'job_failed' as const,
        job_id: j.id,
        detail: `${j.name ?? `job ${j.id}`} (pipeline ${j.pipeline_id ?? '?'}) failed: ${j.failure_reason ?? r.cause}`,
      })),
    ];
    if (r.resolved_at !== null && by) {
      const detail =
        by.kind === 'image_pull'
          ? `image ${by.image} pulled from ${by.registry}`
          : `job ${by.job_name} (pipeline ${by.pipeline_id}) succeeded`;
      timeline.push({ at: iso(r.resolved_at)!, event: 'resolved', job_id: by.job_id, detail });
    }
    return { ...this.json(r), jobs, resolved_by: by, timeline };
  }
}
