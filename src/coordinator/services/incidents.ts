/**
 * Infra incidents track a dependency, not a job (issue 12). An infra failure's dependency
 * (registry host, git host, DNS name, package registry, runner, executor host — see
 * classify/dependency.ts) and cause key the incident; repeated failures join it. It stays
 * `pending` (a failure, not an incident) until the threshold: `failures` failures, or a
 * second failure `windowMs` or more after the first, whichever comes first. It resolves only
 * on evidence about the same dependency:
 *   registry        a successful image pull from that registry host;
 *   git_host        a job of a pipeline fetched from that host got past get_sources;
 *   runner          a successful job on that runner (or the runner's removal);
 *   executor_host   a successful job on a runner of that executor;
 *   dns, package_registry, unknown
 *                   the same job (project and name) that failed now succeeded, or a pull /
 *                   fetch from that very host;
 * or by a person (ack, resolve with a note). A pending incident with no failure for
 * `pendingExpireMs` expires silently. Fed by coordinator events; persisted.
 */
import type { ImagePullRecord } from '../../protocol/runner-api.js';
import type { JobJson } from '../../protocol/user-api.js';
import { dependencyOf, hostOf, type Dependency, type DependencyKind } from '../../classify/dependency.js';
import { iso } from '../store/db.js';
import type { Store } from '../store/index.js';
import {
  IncidentStore,
  type IncidentKeyRow,
  type IncidentListState,
  type IncidentRow,
  type IncidentState,
  type ResolvedReason,
  type ResolvingEvent,
} from '../store/incidents.js';

export interface IncidentThresholds {
  /** Failures that open an incident (default 3). */
  failures: number;
  /** A later failure this long after the first opens it too (default 2 min). */
  windowMs: number;
  /** A pending incident with no failure for this long is dropped (default 30 min). */
  pendingExpireMs: number;
}
export const DEFAULT_THRESHOLDS: IncidentThresholds = { failures: 3, windowMs: 120_000, pendingExpireMs: 30 * 60_000 };

export interface IncidentJson {
  id: number;
  cause: string;
  dependency: Dependency;
  state: IncidentState;
  failure_count: number;
  first_failure_at: string;
  last_failure_at: string;
  opened_at: string | null;
  acknowledged_at: string | null;
  resolved_at: string | null;
  resolved_by: ResolvedReason | null;
  note: string | null;
  /** The dependency's name (kept for older clients). */
  target: string;
  /** Open: time open so far; resolved: opened → resolved; pending: 0. */
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
  resolving_event: ResolvingEvent | null;
  timeline: Array<{ at: string; event: 'opened' | 'job_failed' | 'acknowledged' | 'resolved'; job_id?: number; detail: string }>;
}

export interface IncidentHooks {
  opened?(i: IncidentRow): void;
  acknowledged?(i: IncidentRow): void;
  /** Only incidents that had opened; a pending one that resolves was never an incident. */
  resolved?(i: IncidentRow, durationSeconds: number): void;
}

export type IncidentKey = IncidentKeyRow;

/** Which incident an infra failure belongs to; null for build/unknown failures. */
export function incidentKeyOf(
  job: Pick<JobJson, 'failure' | 'runner_id'>,
  ctx: { runner?: { name: string; executor: string }; repositoryUrl?: string | null },
): IncidentKey | null {
  const f = job.failure;
  if (!f || f.class !== 'infra') return null;
  const d = dependencyOf(f, {
    runnerName: ctx.runner?.name ?? (job.runner_id !== null ? `runner-${job.runner_id}` : null),
    executor: ctx.runner?.executor,
    repositoryUrl: ctx.repositoryUrl,
  });
  return { cause: f.cause || f.reason, dependency_kind: d.kind, target: d.name, runner_id: d.kind === 'runner' ? job.runner_id : null };
}

const seconds = (from: number, to: number) => Math.max(0, to - from) / 1000;
/** Stages after get_sources: a failure there still proves the fetch worked. */
const AFTER_SOURCES = ['step_script', 'after_script', 'upload', 'cleanup', 'download_artifacts'];
const bareHost = (h: string) => h.replace(/:\d+$/, '');
/** A DNS name, git host or package registry incident that names this very host. */
const sameHost = (kind: DependencyKind, target: string, host: string) =>
  (kind === 'dns' || kind === 'package_registry' || kind === 'registry' || kind === 'git_host') &&
  (target === host || (kind === 'dns' && target === bareHost(host)));

export class HttpishError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class IncidentService {
  readonly rows: IncidentStore;
  readonly thresholds: IncidentThresholds;
  /** Unresolved incidents, mirrored in memory so success events cost no query when none is. */
  private live: IncidentRow[] = [];
  /**
   * Every change runs after the previous one finished: `live` is read and written around store
   * awaits, and two job events interleaving would track stale rows.
   */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly hooks: IncidentHooks = {},
    thresholds: Partial<IncidentThresholds> = {},
  ) {
    this.rows = new IncidentStore(store.sql);
    this.thresholds = { ...DEFAULT_THRESHOLDS, ...thresholds };
  }

  /** Reads the unresolved incidents (once, at start). */
  async load(): Promise<void> {
    this.live = await this.rows.unresolved();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Open and acknowledged incidents (pending ones are not incidents yet). */
  openIncidents(): readonly IncidentRow[] {
    return this.live.filter((i) => i.state === 'open' || i.state === 'acknowledged');
  }

  /** job_finished: infra failures join incidents; successes (and later-stage failures) are evidence. */
  onJobFinished(job: JobJson, runner: { name: string; executor: string } | undefined): Promise<void> {
    return this.serial(() => this.onJobFinishedWith(job, runner));
  }

  private async onJobFinishedWith(job: JobJson, runner: { name: string; executor: string } | undefined): Promise<void> {
    const at = job.finished_at ? Date.parse(job.finished_at) : Date.now();
    const pipeline = await this.store.pipelines.identity(job.pipeline_id);
    if (job.status === 'success' || job.status === 'failed') await this.onEvidence(job, at, pipeline, runner);
    if (job.status !== 'failed') return;
    const key = incidentKeyOf(job, { runner, repositoryUrl: pipeline?.repository_url });
    if (!key) return;
    const prior = this.live.find((o) => o.cause === key.cause && o.dependency_kind === key.dependency_kind && o.target === key.target);
    if (prior && prior.state === 'pending' && at - prior.last_failure_at > this.thresholds.pendingExpireMs)
      await this.resolve(prior, at, null, { kind: 'expired', at: iso(at)! });
    let inc = await this.rows.recordFailure(key, job.id, at);
    if (inc.state === 'pending' && this.crossed(inc)) {
      await this.rows.markOpen(inc.id, at);
      inc = (await this.rows.get(inc.id))!;
      this.track(inc);
      this.hooks.opened?.(inc);
      // The registry may already have recovered before this failure was classified (the
      // finisher runs behind the runner API): close at once on that later success.
      if (inc.dependency_kind === 'registry') await this.resolveFromStoredPulls(inc);
    } else this.track(inc);
  }

  private crossed(i: IncidentRow): boolean {
    return (
      i.job_count >= this.thresholds.failures || (i.job_count >= 2 && i.last_failure_at - i.first_failure_at >= this.thresholds.windowMs)
    );
  }

  private track(i: IncidentRow): void {
    const k = this.live.findIndex((o) => o.id === i.id);
    if (k >= 0) this.live[k] = i;
    else this.live.push(i);
  }

  private async onEvidence(
    job: JobJson,
    at: number,
    pipeline: { project: string; repository_url: string | null } | undefined,
    runner: { name: string; executor: string } | undefined,
  ): Promise<void> {
    if (this.live.length === 0) return;
    const success = job.status === 'success';
    const fetched =
      pipeline?.repository_url && (success || AFTER_SOURCES.includes(job.failure?.stage ?? '')) ? hostOf(pipeline.repository_url) : null;
    for (const inc of [...this.live]) {
      if (at < inc.first_failure_at) continue;
      let by: ResolvingEvent | null = null;
      if (fetched && sameHost(inc.dependency_kind, inc.target, fetched) && inc.dependency_kind !== 'registry')
        by = { kind: 'sources_fetched', at: iso(at)!, job_id: job.id, job_name: job.name, pipeline_id: job.pipeline_id, host: fetched };
      else if (success) {
        const match =
          // Same runner, or one that re-registered under the same name (host rebuilt).
          (inc.dependency_kind === 'runner' && (inc.runner_id === job.runner_id || (runner !== undefined && runner.name === inc.target))) ||
          (inc.dependency_kind === 'executor_host' && runner?.executor === inc.target) ||
          ((inc.dependency_kind === 'dns' || inc.dependency_kind === 'package_registry' || inc.dependency_kind === 'unknown') &&
            pipeline !== undefined &&
            (await this.rows.jobKeys(inc.id)).some((k) => k.project === pipeline.project && k.name === job.name));
        if (match)
          by = {
            kind: 'job_success',
            at: iso(at)!,
            job_id: job.id,
            job_name: job.name,
            pipeline_id: job.pipeline_id,
            runner_id: job.runner_id,
          };
      }
      if (by) await this.resolve(inc, at, 'evidence', by);
    }
  }

  /** image_pulls: a successful pull from a registry host resolves that host's incidents. */
  onImagePulls(jobId: number, pulls: readonly ImagePullRecord[]): Promise<void> {
    return this.serial(() => this.onImagePullsNow(jobId, pulls));
  }

  private async onImagePullsNow(jobId: number, pulls: readonly ImagePullRecord[]): Promise<void> {
    if (this.live.length === 0) return;
    for (const p of pulls) {
      if (p.outcome !== 'success') continue;
      const at = Number.isFinite(Date.parse(p.at)) ? Date.parse(p.at) : Date.now();
      for (const inc of [...this.live])
        if (
          at >= inc.first_failure_at &&
          (inc.dependency_kind === 'registry' || inc.dependency_kind === 'dns') &&
          sameHost(inc.dependency_kind, inc.target, p.registry)
        )
          await this.resolve(inc, at, 'evidence', {
            kind: 'image_pull',
            at: iso(at)!,
            job_id: jobId,
            registry: p.registry,
            image: p.image,
          });
    }
  }

  /** runner_removed: that runner's incidents can never see evidence again. */
  onRunnerRemoved(runnerId: number, at = Date.now()): Promise<void> {
    return this.serial(async () => {
      for (const inc of [...this.live])
        if (inc.dependency_kind === 'runner' && inc.runner_id === runnerId)
          await this.resolve(inc, at, 'runner_removed', { kind: 'runner_removed', at: iso(at)!, runner_id: runnerId });
    });
  }

  /** A person acknowledges an open incident (it stays unresolved). */
  acknowledge(id: number, note: string | null, at = Date.now()): Promise<IncidentJson> {
    return this.serial(() => this.acknowledgeNow(id, note, at));
  }

  private async acknowledgeNow(id: number, note: string | null, at: number): Promise<IncidentJson> {
    const inc = await this.rows.get(id);
    if (!inc) throw new HttpishError(404, `incident ${id} not found`);
    if (inc.state !== 'open') throw new HttpishError(409, `incident ${id} is ${inc.state}; only an open incident can be acknowledged`);
    await this.rows.acknowledge(id, at, note);
    const row = (await this.rows.get(id))!;
    this.track(row);
    this.hooks.acknowledged?.(row);
    return this.json(row);
  }

  /** A person resolves an open or acknowledged incident, with a note saying why. */
  resolveByPerson(id: number, note: string, at = Date.now()): Promise<IncidentJson> {
    return this.serial(() => this.resolveByPersonNow(id, note, at));
  }

  private async resolveByPersonNow(id: number, note: string, at: number): Promise<IncidentJson> {
    const inc = await this.rows.get(id);
    if (!inc) throw new HttpishError(404, `incident ${id} not found`);
    if (inc.state === 'resolved') throw new HttpishError(409, `incident ${id} is already resolved`);
    if (inc.state === 'pending')
      throw new HttpishError(409, `incident ${id} is pending (below the threshold); there is nothing to resolve`);
    await this.resolve(inc, at, 'person', { kind: 'person', at: iso(at)!, note }, note);
    return this.json((await this.rows.get(id))!);
  }

  private async resolveFromStoredPulls(inc: IncidentRow): Promise<void> {
    const p = await this.store.sql.get<{ job_id: number; image: string; registry: string; at: number }>(
      `SELECT job_id, image, registry, at FROM image_pulls WHERE registry = ? AND outcome = 'success' AND at >= ? ORDER BY at LIMIT 1`,
      [inc.target, inc.first_failure_at],
    );
    if (p)
      await this.resolve(inc, p.at, 'evidence', {
        kind: 'image_pull',
        at: iso(p.at)!,
        job_id: p.job_id,
        registry: p.registry,
        image: p.image,
      });
  }

  private async resolve(
    inc: IncidentRow,
    at: number,
    reason: ResolvedReason | null,
    by: ResolvingEvent,
    note: string | null = null,
  ): Promise<void> {
    this.live = this.live.filter((o) => o.id !== inc.id);
    if (!(await this.rows.resolve(inc.id, at, reason, by, note))) return;
    const row = (await this.rows.get(inc.id))!;
    if (row.opened_at !== null) this.hooks.resolved?.(row, seconds(row.opened_at, at));
  }

  json(r: IncidentRow, now = Date.now()): IncidentJson {
    return {
      id: r.id,
      cause: r.cause,
      dependency: { kind: r.dependency_kind, name: r.target },
      state: r.state,
      failure_count: r.job_count,
      first_failure_at: iso(r.first_failure_at)!,
      last_failure_at: iso(r.last_failure_at)!,
      opened_at: iso(r.opened_at),
      acknowledged_at: iso(r.acknowledged_at),
      resolved_at: iso(r.resolved_at),
      resolved_by: r.resolved_reason,
      note: r.note,
      target: r.target,
      duration_seconds: r.opened_at === null ? 0 : seconds(r.opened_at, r.resolved_at ?? now),
      job_count: r.job_count,
    };
  }

  async list(q: { state?: IncidentListState; since?: number; limit?: number }): Promise<IncidentJson[]> {
    const now = Date.now();
    return (await this.rows.list({ ...q, limit: q.limit ?? 100 })).map((r) => this.json(r, now));
  }

  async detail(id: number): Promise<IncidentDetailJson | null> {
    const r = await this.rows.get(id);
    if (!r) return null;
    const jobs = (await this.rows.jobs(id)).map((j) => ({
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
    const timeline: IncidentDetailJson['timeline'] = jobs.map((j) => ({
      at: j.failed_at,
      event: 'job_failed' as const,
      job_id: j.id,
      detail: `${j.name ?? `job ${j.id}`} (pipeline ${j.pipeline_id ?? '?'}) failed: ${j.failure_reason ?? r.cause}`,
    }));
    if (r.opened_at !== null)
      timeline.push({
        at: iso(r.opened_at)!,
        event: 'opened',
        detail: `${r.cause} on ${r.dependency_kind} ${r.target} (${r.job_count} failures)`,
      });
    if (r.acknowledged_at !== null) timeline.push({ at: iso(r.acknowledged_at)!, event: 'acknowledged', detail: r.note ?? 'acknowledged' });
    if (r.resolved_at !== null && by)
      timeline.push({ at: iso(r.resolved_at)!, event: 'resolved', ...('job_id' in by ? { job_id: by.job_id } : {}), detail: describe(by) });
    timeline.sort((a, b) => a.at.localeCompare(b.at));
    return { ...this.json(r), jobs, resolving_event: by, timeline };
  }
}

function describe(by: ResolvingEvent): string {
  switch (by.kind) {
    case 'image_pull':
      return `image ${by.image} pulled from ${by.registry}`;
    case 'job_success':
      return `job ${by.job_name} (pipeline ${by.pipeline_id}) succeeded`;
    case 'sources_fetched':
      return `job ${by.job_name} (pipeline ${by.pipeline_id}) fetched its sources from ${by.host}`;
    case 'person':
      return `resolved by a person: ${by.note}`;
    case 'runner_removed':
      return `runner ${by.runner_id} was removed`;
    case 'expired':
      return 'no further failure: a failure, not an incident';
  }
}
