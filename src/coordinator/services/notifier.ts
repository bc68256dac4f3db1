/**
 * Failure notifications: routes failed pipelines (and, for targets that ask, failed jobs)
 * to webhook targets by failure class — infra to the operators' hook, build to the
 * developers'. Subscribed to the coordinator events, which fire after the store and the
 * classifier; it only reads the job tables and writes its own `notifications` table.
 *
 * Each delivery is recorded before the first attempt, posted off the emitter (timers and
 * a small in-flight limit), retried with exponential backoff and jitter on network
 * errors, timeouts, 5xx and 429, and resumed after a restart while still pending.
 */
import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import { FAILURE_CLASSES, type FailureClass, type FailureClassification } from '../../protocol/failure.js';
import type { JobJson, PipelineJson } from '../../protocol/user-api.js';
import type { CoordinatorEvents, JobFinishedEvent, PipelineFinishedEvent } from '../events.js';
import type { Store } from '../store/index.js';
import type { JobRow } from '../store/jobs.js';
import { NotificationStore } from '../store/notifications.js';
import { failureOf } from '../views.js';
import { backoffDelay as sharedBackoff } from '../../util/backoff.js';

export const NOTIFY_EVENTS = ['job_failed', 'pipeline_failed'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** One webhook target (CoordinatorOptions.notifications; `notifications:` of the config file). */
export interface NotificationTarget {
  /** Unique; deliveries are recorded under it. */
  name: string;
  url: string;
  /** Failure classes routed to this target. */
  classes: FailureClass[];
  /** Default: ['pipeline_failed']. */
  events?: NotifyEvent[];
  /** Signs the body: `X-Faultline-Signature: sha256=<hex HMAC-SHA256 of the body>`. */
  secret?: string;
  /** Per attempt (default 5 s). */
  timeoutMs?: number;
  /** Attempts in all, the first included (default 5). */
  maxAttempts?: number;
  /** First retry delay, doubled per attempt up to retryMaxMs (defaults 1 s, 5 min). */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

export type ResolvedTarget = Required<Omit<NotificationTarget, 'secret'>> & { secret: string | null };

const targetSchema = z
  .object({
    name: z.string().min(1).max(100),
    url: z
      .string()
      .url()
      .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'must be an http:// or https:// URL'),
    classes: z.array(z.enum(FAILURE_CLASSES)).min(1, 'name at least one failure class (infra, build, unknown)'),
    events: z.array(z.enum(NOTIFY_EVENTS)).min(1).default(['pipeline_failed']),
    secret: z.string().min(1).nullable().default(null),
    timeoutMs: z.number().int().positive().max(600_000).default(5_000),
    maxAttempts: z.number().int().min(1).max(100).default(5),
    retryBaseMs: z.number().int().positive().default(1_000),
    retryMaxMs: z.number().int().positive().default(300_000),
  })
  .strict();

/** Validates targets (throws an Error naming `notifications[i].field`) and fills defaults. */
export function resolveTargets(targets: readonly NotificationTarget[]): ResolvedTarget[] {
  const out: ResolvedTarget[] = [];
  const seen = new Set<string>();
  targets.forEach((t, i) => {
    const r = targetSchema.safeParse(t);
    if (!r.success) {
      const iss = r.error.issues[0]!;
      throw new Error(`notifications[${i}]${iss.path.map((p) => `.${p}`).join('')}: ${iss.message}`);
    }
    if (seen.has(r.data.name)) throw new Error(`notifications[${i}].name: duplicate target name ${JSON.stringify(r.data.name)}`);
    seen.add(r.data.name);
    out.push(r.data);
  });
  return out;
}

// ── payload ──

export interface NotificationFailureJson {
  class: FailureClass;
  reason: string;
  cause: string;
  summary: string;
  owner: string;
  /** What decided: the rule (with its evidence), or `fallback: true` when no rule matched. */
  rule: FailureClassification['rule'];
  fallback: boolean;
  evidence: FailureClassification['evidence'];
  /** Fallback verdicts: the last green run compared with, and the lines it did not print. */
  baseline_job_id: number | null;
  new_lines: FailureClassification['evidence'] | null;
}
export interface NotificationJobJson {
  id: number;
  name: string;
  stage: string;
  attempt: number;
  url: string;
  failure: NotificationFailureJson;
}
export interface NotificationPayload {
  event: NotifyEvent;
  pipeline: {
    id: number;
    name: string;
    ref: string;
    project: string;
    status: string;
    failure_class: FailureClass | null;
    url: string;
  };
  /** job_failed only: the job that failed. */
  job?: NotificationJobJson;
  /** The pipeline's failed jobs that count (latest attempts, not allowed to fail). */
  failed_jobs: NotificationJobJson[];
}

const failurePart = (f: FailureClassification): NotificationFailureJson => ({
  class: f.class,
  reason: f.reason,
  cause: f.cause,
  summary: f.summary,
  owner: f.owner,
  rule: f.rule,
  fallback: f.fallback,
  evidence: f.evidence,
  baseline_job_id: f.baseline_job_id ?? null,
  new_lines: f.new_lines ?? null,
});

/** A failed attempt that fails its pipeline: not allowed to fail, not turned into a pass. */
const counts = (j: JobRow): boolean =>
  j.status === 'failed' && j.outcome !== 'warn' && j.outcome !== 'pass_pipeline' && j.outcome !== 'continue';

// ── delivery ──

/** Deliveries posted at once; the rest wait their turn. */
const MAX_IN_FLIGHT = 4;

type Outcome = { kind: 'delivered' | 'retry' | 'fail'; code: number | null; error: string | null; retryAfterMs?: number };

export class Notifier {
  readonly records: NotificationStore;
  private readonly targets: ResolvedTarget[];
  private readonly byName: Map<string, ResolvedTarget>;
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly ready: number[] = [];
  private readonly inFlight = new Map<number, Promise<void>>();
  private readonly abort = new AbortController();
  private closed = false;
  private readonly onJob = (e: JobFinishedEvent) => this.safely(() => this.routeJob(e.job));
  private readonly onPipeline = (e: PipelineFinishedEvent) => this.safely(() => this.routePipeline(e.pipeline));

  constructor(
    private readonly store: Store,
    private readonly events: CoordinatorEvents,
    targets: readonly NotificationTarget[],
    /** Base URL for the links in payloads (the coordinator's public URL). */
    private readonly baseUrl: () => string,
    private readonly log: Logger,
  ) {
    this.targets = resolveTargets(targets);
    this.byName = new Map(this.targets.map((t) => [t.name, t]));
    this.records = new NotificationStore(store.sql);
  }

  /** Subscribes to the events (every coordinator notifies of what happened on it). */
  start(): void {
    this.events.on('job_finished', this.onJob);
    this.events.on('pipeline_finished', this.onPipeline);
  }

  /**
   * Resumes the deliveries a previous run left pending (the leader's work, cluster/duties.ts);
   * with `overdueBefore`, only those due before then — on a shared database, the ones a live
   * coordinator still has scheduled are its own.
   */
  async resume(overdueBefore?: number): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    for (const row of await this.records.pending()) {
      const due = row.next_attempt_at ?? row.created_at;
      if (overdueBefore !== undefined && due >= overdueBefore) continue;
      if (this.timers.has(row.id) || this.inFlight.has(row.id) || this.ready.includes(row.id)) continue;
      this.schedule(row.id, Math.max(0, due - now));
    }
  }

  /** Stops the timers and waits for the posts in flight (an aborted one stays pending). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.events.off('job_finished', this.onJob);
    this.events.off('pipeline_finished', this.onPipeline);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.ready.length = 0;
    this.abort.abort();
    await Promise.allSettled([...this.inFlight.values()]);
  }

  private safely(fn: () => Promise<void>): void {
    if (this.closed || this.targets.length === 0) return;
    fn().catch((err: unknown) => this.log.error({ err }, 'notifier: routing an event failed'));
  }

  private async routeJob(job: JobJson): Promise<void> {
    if (job.status !== 'failed' || !job.failure) return;
    const wanted = this.targets.filter((t) => t.events.includes('job_failed') && t.classes.includes(job.failure!.class));
    if (wanted.length === 0) return;
    const row = await this.store.jobs.get(job.id);
    // Allowed failures, passes, and attempts already retried are no one's alarm.
    if (!row || !counts(row) || (await this.store.jobs.latestByName(row.pipeline_id, row.name))?.id !== row.id) return;
    const payload = await this.payload('job_failed', row.pipeline_id, this.jobPart(row));
    if (payload) for (const t of wanted) this.enqueueLogged(t, payload, row.id);
  }

  private async routePipeline(p: PipelineJson): Promise<void> {
    // Only failed pipelines: a pipeline passed early (halted_by) or with warnings ends success.
    if (p.status !== 'failed') return;
    const cls = p.failure_class ?? 'unknown';
    const wanted = this.targets.filter((t) => t.events.includes('pipeline_failed') && t.classes.includes(cls));
    if (wanted.length === 0) return;
    const payload = await this.payload('pipeline_failed', p.id);
    if (payload) for (const t of wanted) this.enqueueLogged(t, payload, null);
  }

  private jobPart(j: JobRow): NotificationJobJson | null {
    const f = failureOf(j);
    if (!f) return null;
    return { id: j.id, name: j.name, stage: j.stage, attempt: j.attempt, url: `${this.baseUrl()}/#/jobs/${j.id}`, failure: failurePart(f) };
  }

  private async payload(event: NotifyEvent, pipelineId: number, job?: NotificationJobJson | null): Promise<NotificationPayload | null> {
    const p = await this.store.pipelines.getLight(pipelineId);
    if (!p || job === null) return null;
    const failed = (await this.store.jobs.latestPerName(pipelineId))
      .filter(counts)
      .sort((a, b) => a.id - b.id)
      .map((j) => this.jobPart(j))
      .filter((j): j is NotificationJobJson => j !== null);
    return {
      event,
      pipeline: {
        id: p.id,
        name: p.name,
        ref: p.ref,
        project: p.project,
        status: p.status,
        failure_class: p.failure_class as FailureClass | null,
        url: `${this.baseUrl()}/#/pipelines/${p.id}`,
      },
      ...(job ? { job } : {}),
      failed_jobs: failed,
    };
  }

  private enqueueLogged(t: ResolvedTarget, payload: NotificationPayload, jobId: number | null): void {
    this.enqueue(t, payload, jobId).catch((err: unknown) =>
      this.log.error({ err, target: t.name, pipeline: payload.pipeline.id }, 'notifier: could not record the delivery'),
    );
  }

  private async enqueue(t: ResolvedTarget, payload: NotificationPayload, jobId: number | null): Promise<void> {
    const id = await this.records.insert({
      target: t.name,
      event: payload.event,
      pipeline_id: payload.pipeline.id,
      job_id: jobId,
      payload_json: JSON.stringify(payload),
      created_at: Date.now(),
    });
    this.schedule(id, 0);
  }

  private schedule(id: number, delayMs: number): void {
    if (this.closed) return;
    const timer = setTimeout(() => {
      this.timers.delete(id);
      this.ready.push(id);
      this.pump();
    }, delayMs);
    timer.unref();
    this.timers.set(id, timer);
  }

  private pump(): void {
    while (!this.closed && this.inFlight.size < MAX_IN_FLIGHT && this.ready.length > 0) {
      const id = this.ready.shift()!;
      const p = this.attempt(id)
        .catch((err) => this.log.error({ err, notification: id }, 'notifier: delivery attempt failed unexpectedly'))
        .finally(() => {
          this.inFlight.delete(id);
          this.pump();
        });
      this.inFlight.set(id, p);
    }
  }

  private async attempt(id: number): Promise<void> {
    const row = await this.records.get(id);
    if (!row || row.status !== 'pending') return;
    const target = this.byName.get(row.target);
    if (!target) {
      await this.records.giveUp(id, `target ${JSON.stringify(row.target)} is no longer configured`);
      this.log.warn({ notification: id, target: row.target }, 'notifier: target gone; delivery failed');
      return;
    }
    const outcome = await this.post(target, row.id, row.event, row.payload_json);
    if (!outcome) return; // aborted by close(): not counted, resumed on the next start
    const attempts = row.attempts + 1;
    const now = Date.now();
    const retry = outcome.kind === 'retry' && attempts < target.maxAttempts;
    const delay = retry ? Math.max(backoffDelay(attempts, target), Math.min(outcome.retryAfterMs ?? 0, target.retryMaxMs)) : 0;
    const status = outcome.kind === 'delivered' ? 'delivered' : retry ? 'pending' : 'failed';
    await this.records.recordAttempt(id, {
      status,
      error: outcome.error,
      status_code: outcome.code,
      next_attempt_at: retry ? now + delay : null,
      at: now,
    });
    const log = { notification: id, target: target.name, attempts, code: outcome.code, error: outcome.error };
    if (status === 'delivered') this.log.info(log, 'notifier: delivered');
    else if (status === 'failed') this.log.warn(log, 'notifier: delivery failed');
    else {
      this.log.info({ ...log, retry_in_ms: delay }, 'notifier: delivery will be retried');
      this.schedule(id, delay);
    }
  }

  /** One POST; null when close() aborted it. */
  private async post(t: ResolvedTarget, id: number, event: string, body: string): Promise<Outcome | null> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'faultline-coordinator',
      'x-faultline-event': event,
      'x-faultline-delivery': String(id),
    };
    if (t.secret) headers['x-faultline-signature'] = signature(t.secret, body);
    try {
      const res = await fetch(t.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(t.timeoutMs)]),
      });
      const text = await res.text().catch(() => '');
      const code = res.status;
      if (code >= 200 && code < 300) return { kind: 'delivered', code, error: null };
      const error = `HTTP ${code}${text ? `: ${text.slice(0, 200)}` : ''}`;
      if (code === 429 || code >= 500) return { kind: 'retry', code, error, retryAfterMs: retryAfter(res.headers.get('retry-after')) };
      return { kind: 'fail', code, error }; // other 4xx (and unfollowed redirects): retrying will not help
    } catch (err) {
      if (this.abort.signal.aborted) return null;
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const error =
        e.name === 'TimeoutError'
          ? `timed out after ${t.timeoutMs} ms`
          : `${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message})` : ''}`;
      return { kind: 'retry', code: null, error };
    }
  }
}

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes with the target's secret. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Delay before attempt n+1 after n failed ones: base·2^(n-1), capped, with jitter in [½, 1]. */
/** Delay after delivery attempt number `attempts` (1-based), with the target's bounds. */
export function backoffDelay(attempts: number, t: Pick<ResolvedTarget, 'retryBaseMs' | 'retryMaxMs'>, random = Math.random): number {
  return sharedBackoff(attempts - 1, { minMs: t.retryBaseMs, maxMs: t.retryMaxMs }, random);
}

function retryAfter(h: string | null): number | undefined {
  if (!h) return undefined;
  if (/^\d+$/.test(h.trim())) return Number(h.trim()) * 1000;
  const t = Date.parse(h);
  return Number.isFinite(t) ? Math.max(0, t - Date.now()) : undefined;
}
