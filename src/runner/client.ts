/**
 * HTTP client of the runner API (src/protocol/runner-api.ts) over `fetch`.
 *
 * Retry policy, by call:
 *   register     network errors / 5xx retried a few times (the coordinator may be starting)
 *   requestJob   loops until a job arrives or the signal aborts; 204 after a long poll →
 *                poll again, a 204 that came back fast → wait pollIntervalMs; errors → backoff
 *   updateJob    network errors / 5xx / 429 retried; a *final* update is retried until it
 *                lands or the signal (runner shutdown) aborts, because losing it leaves the
 *                job running on the coordinator until the reaper fails it as infra
 *   appendTrace  one attempt; the trace buffer owns pacing and 416 resync
 *   heartbeat    one attempt; the heartbeat loop owns pacing
 *
 * Several coordinator URLs (coordinators.ts): every request starts on the coordinator in use
 * and, on a connection error, a timeout or a 502/503/504, is sent again at once to the next one
 * (each tried once per request); the retry loops above then pace the next round. Job and runner
 * tokens are valid on every coordinator of one database, so a running job's trace and updates
 * carry on where they land; a trace chunk the dead one stored is answered 416 by the next, and
 * the trace buffer resyncs.
 */
import type {
  HeartbeatResponse,
  JobPayload,
  JobUpdateRequest,
  JobUpdateResponse,
  RegisterRunnerRequest,
  RegisterRunnerResponse,
} from '../protocol/runner-api.js';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactUploadResponse } from '../protocol/runner-api.js';
import { backoffDelay, sleep, type BackoffOptions, DEFAULT_BACKOFF } from '../util/backoff.js';
import { CoordinatorSet, FAILOVER_STATUSES, failoverReason } from './coordinators.js';
import { silentLogger, type RunnerLogger } from './logger.js';

export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  constructor(
    readonly status: number,
    readonly body: string,
    what: string,
  ) {
    super(`${what}: HTTP ${status}${body ? ` ${body.slice(0, 300)}` : ''}`);
  }
  /** Worth retrying: the server may answer differently later. */
  get transient(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

export interface ClientOptions {
  /**
   * Coordinator base URL, e.g. http://127.0.0.1:8080 (routes live under /api/v1), or several
   * (a list, or commas) of coordinators on one database, tried in order.
   */
  url: string | readonly string[];
  token?: string | null;
  logger?: RunnerLogger;
  backoff?: BackoffOptions;
  /** Idle wait after a 204 that came back before the long poll could have waited (ms). */
  pollIntervalMs?: number;
  /** Per-request timeout (ms); job requests get longPollMs + this. */
  requestTimeoutMs?: number;
  /** Upper bound of the coordinator's long poll (ms). */
  longPollMs?: number;
}

export type TraceAppendResult =
  | { ok: true; offset: number }
  | { ok: false; kind: 'range'; offset: number }
  | { ok: false; kind: 'too_large'; offset: number | null }
  | { ok: false; kind: 'gone'; status: number };

export type JobRef = Pick<JobPayload, 'id' | 'token'>;

export type ArtifactUploadResult =
  { ok: true; body: ArtifactUploadResponse } | { ok: false; status: number; error: string; limit?: number };

function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return !!signal?.aborted || (err as Error)?.name === 'AbortError';
}

export class RunnerClient {
  token: string | null;
  readonly coordinators: CoordinatorSet;
  private readonly log: RunnerLogger;
  private readonly backoff: BackoffOptions;
  private readonly pollIntervalMs: number;
  private readonly requestTimeoutMs: number;
  private readonly longPollMs: number;

  constructor(o: ClientOptions) {
    this.log = o.logger ?? silentLogger;
    this.coordinators = new CoordinatorSet(o.url, this.log);
    this.token = o.token ?? null;
    this.backoff = o.backoff ?? DEFAULT_BACKOFF;
    this.pollIntervalMs = o.pollIntervalMs ?? 3000;
    this.requestTimeoutMs = o.requestTimeoutMs ?? 30_000;
    this.longPollMs = o.longPollMs ?? 30_000;
  }

  /** The coordinator in use (it changes on fail-over). */
  get url(): string {
    return this.coordinators.current;
  }

  /** The API root of the coordinator in use. */
  get base(): string {
    return this.coordinators.current + '/api/v1';
  }

  /**
   * One request, failed over: tries the coordinator in use, then each other one once. Returns
   * the first answer that is not a 502/503/504 (or the last answer); throws the last
   * connection error or timeout, or at once when the caller's signal aborts.
   */
  private async send(
    method: string,
    path: string,
    o: { headers?: Record<string, string>; json?: unknown; body?: Buffer; signal?: AbortSignal; timeoutMs?: number | null },
  ): Promise<Response> {
    const headers: Record<string, string> = { ...o.headers };
    let body: BodyInit | undefined;
    if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    } else if (o.body) {
      headers['content-type'] = 'application/octet-stream';
      body = o.body as unknown as BodyInit; // a Buffer is a Uint8Array; the DOM typings disagree on its ArrayBuffer type
    }
    const n = this.coordinators.urls.length;
    let lastErr: unknown;
    for (let tried = 0; tried < n; tried++) {
      const url = this.coordinators.current;
      const ms = o.timeoutMs === undefined ? this.requestTimeoutMs : o.timeoutMs;
      const signals = [o.signal, ms === null ? undefined : AbortSignal.timeout(ms)].filter((s): s is AbortSignal => !!s);
      const signal = signals.length ? AbortSignal.any(signals) : undefined;
      try {
        const res = await fetch(`${url}/api/v1${path}`, { method, headers, body, signal });
        if (!FAILOVER_STATUSES.has(res.status)) return res;
        this.coordinators.failed(url, `HTTP ${res.status}`);
        if (tried + 1 >= n) return res;
        await res.arrayBuffer().catch(() => undefined);
      } catch (err) {
        const reason = failoverReason(err, o.signal);
        if (reason === null) throw err;
        this.coordinators.failed(url, reason);
        lastErr = err;
      }
    }
    throw lastErr;
  }

  private runnerHeaders(): Record<string, string> {
    if (!this.token) throw new Error('runner client: no runner token (register first)');
    return { 'Runner-Token': this.token };
  }

  private static async fail(res: Response, what: string): Promise<never> {
    throw new HttpStatusError(res.status, await res.text().catch(() => ''), what);
  }

  /** Registers and keeps the returned token. Retries transient failures `attempts` times. */
  async register(req: RegisterRunnerRequest, o: { signal?: AbortSignal; attempts?: number } = {}): Promise<RegisterRunnerResponse> {
    const attempts = o.attempts ?? 6;
    for (let i = 0; ; i++) {
      try {
        const res = await this.send('POST', '/runners/register', { json: req, signal: o.signal });
        if (res.status !== 201 && res.status !== 200) await RunnerClient.fail(res, 'register');
        const out = (await res.json()) as RegisterRunnerResponse;
        this.token = out.token;
        return out;
      } catch (err) {
        const transient = !(err instanceof HttpStatusError) || err.transient;
        if (isAbort(err, o.signal) || !transient || i + 1 >= attempts) throw err;
        this.log.warn({ err: String(err) }, 'register failed; retrying');
        if (!(await sleep(backoffDelay(i, this.backoff), o.signal))) throw err;
      }
    }
  }

  /**
   * Long-polls until a job is handed out; null only when `signal` aborts. Never spins:
   * every path back to the top of the loop either waited on the server or sleeps.
   */
  async requestJob(signal: AbortSignal, capacity = 1): Promise<JobPayload | null> {
    let failures = 0;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        const res = await this.send('POST', '/jobs/request', {
          headers: this.runnerHeaders(),
          json: { capacity },
          signal,
          timeoutMs: this.longPollMs + this.requestTimeoutMs,
        });
        if (res.status === 201 || res.status === 200) return (await res.json()) as JobPayload;
        if (res.status === 204) {
          await res.arrayBuffer().catch(() => undefined);
          failures = 0;
          // A server without long polling (or one that answered at once) must not make us spin.
          if (Date.now() - started < this.pollIntervalMs) await sleep(this.pollIntervalMs * (0.5 + Math.random() / 2), signal);
          continue;
        }
        await RunnerClient.fail(res, 'job request');
      } catch (err) {
        if (signal.aborted) return null;
        const delay = backoffDelay(failures++, this.backoff);
        this.log.warn({ err: String(err), retryInMs: delay }, 'job request failed');
        await sleep(delay, signal);
      }
    }
    return null;
  }

  /**
   * PUT /jobs/:id. Returns the coordinator's answer, or null when it could not be
   * delivered (a non-final update after a few tries, or any update once `signal` aborts
   * or the coordinator refuses it with a 4xx — e.g. the job no longer exists).
   */
  async updateJob(
    job: JobRef,
    update: JobUpdateRequest,
    o: { final?: boolean; signal?: AbortSignal; attempts?: number } = {},
  ): Promise<JobUpdateResponse | null> {
    const attempts = o.final ? Infinity : (o.attempts ?? 3);
    for (let i = 0; ; i++) {
      try {
        const res = await this.send('PUT', `/jobs/${job.id}`, { headers: { 'Job-Token': job.token }, json: update, signal: o.signal });
        if (res.ok) return (await res.json()) as JobUpdateResponse;
        await RunnerClient.fail(res, `update of job ${job.id}`);
      } catch (err) {
        if (isAbort(err, o.signal) && o.signal?.aborted) {
          this.log.error({ job: job.id, state: update.state }, 'job update abandoned: runner shutting down');
          return null;
        }
        if (err instanceof HttpStatusError && !err.transient) {
          this.log.error({ job: job.id, state: update.state, err: err.message }, 'job update refused');
          return null;
        }
        if (i + 1 >= attempts) {
          this.log.warn({ job: job.id, err: String(err) }, 'job update failed');
          return null;
        }
        const delay = backoffDelay(i, this.backoff);
        this.log.warn({ job: job.id, state: update.state, err: String(err), retryInMs: delay }, 'job update failed; retrying');
        if (!(await sleep(delay, o.signal))) return null;
      }
    }
  }

  /** PATCH /jobs/:id/trace with bytes [offset, offset+len). Network errors throw. */
  async appendTrace(job: JobRef, offset: number, bytes: Buffer, signal?: AbortSignal): Promise<TraceAppendResult> {
    const end = bytes.length === 0 ? offset : offset + bytes.length - 1;
    const res = await this.send('PATCH', `/jobs/${job.id}/trace`, {
      headers: { 'Job-Token': job.token, 'Content-Range': `${offset}-${end}` },
      body: bytes,
      signal,
    });
    const text = await res.text().catch(() => '');
    const parsed = (() => {
      try {
        return JSON.parse(text) as { offset?: unknown };
      } catch {
        return {};
      }
    })();
    const serverOffset = typeof parsed.offset === 'number' ? parsed.offset : null;
    if (res.ok) return { ok: true, offset: serverOffset ?? offset + bytes.length };
    if (res.status === 416 && serverOffset !== null) return { ok: false, kind: 'range', offset: serverOffset };
    if (res.status === 413) return { ok: false, kind: 'too_large', offset: serverOffset };
    if (res.status === 403 || res.status === 404 || res.status === 401) return { ok: false, kind: 'gone', status: res.status };
    throw new HttpStatusError(res.status, text, `trace of job ${job.id}`);
  }

  /**
   * PUT /jobs/:id/artifacts/:kind with the zip streamed (chunked). A 4xx answer (too large,
   * not accepted) is a result; network errors and 5xx throw (the caller may retry: a PUT
   * replaces an earlier upload). Stops sending as soon as the coordinator answers.
   */
  uploadArtifact(job: JobRef, kind: string, body: NodeJS.ReadableStream, signal?: AbortSignal): Promise<ArtifactUploadResult> {
    // A stream cannot be sent twice: a failure moves to the next coordinator for the caller's retry.
    const coordinator = this.coordinators.current;
    const url = new URL(`${coordinator}/api/v1/jobs/${job.id}/artifacts/${encodeURIComponent(kind)}`);
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, {
        method: 'PUT',
        headers: { 'Job-Token': job.token, 'content-type': 'application/zip', 'transfer-encoding': 'chunked' },
        signal,
      });
      let answered = false;
      let localError = false; // the archive could not be read: not the coordinator's failure
      req.on('response', (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = JSON.parse(text) as Record<string, unknown>;
          } catch {
            /* not JSON */
          }
          const status = res.statusCode ?? 0;
          if (status === 201 || status === 200) resolve({ ok: true, body: parsed as unknown as ArtifactUploadResponse });
          else if (status >= 400 && status < 500)
            resolve({
              ok: false,
              status,
              error: String(parsed.error ?? text),
              ...(typeof parsed.limit === 'number' ? { limit: parsed.limit } : {}),
            });
          else {
            if (FAILOVER_STATUSES.has(status)) this.coordinators.failed(coordinator, `HTTP ${status}`);
            reject(new HttpStatusError(status, text, `artifact upload of job ${job.id}`));
          }
          (body as unknown as { destroy?: () => void }).destroy?.();
          req.destroy();
        });
      });
      req.on('error', (err) => {
        if (answered) return;
        const reason = localError ? null : failoverReason(err, signal);
        if (reason !== null) this.coordinators.failed(coordinator, reason);
        reject(err);
      });
      body.on('error', (err: Error) => {
        localError = true;
        req.destroy(err);
      });
      body.pipe(req);
    });
  }

  /** GET /jobs/:fromJobId/artifacts (with this job's token) into `dest`; 404 → 'missing'. */
  async downloadArtifact(job: JobRef, fromJobId: number, dest: string, signal?: AbortSignal): Promise<'ok' | 'missing'> {
    for (let i = 0; ; i++) {
      try {
        // No timeout: the body streams for as long as the archive takes.
        const res = await this.send('GET', `/jobs/${fromJobId}/artifacts`, {
          headers: { 'Job-Token': job.token },
          signal,
          timeoutMs: null,
        });
        if (res.status === 404) {
          await res.arrayBuffer().catch(() => undefined);
          return 'missing';
        }
        if (!res.ok || !res.body) await RunnerClient.fail(res, `artifact download of job ${fromJobId}`);
        await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(dest));
        return 'ok';
      } catch (err) {
        const transient = !(err instanceof HttpStatusError) || err.transient;
        if (isAbort(err, signal) || !transient || i >= 2) throw err;
        this.log.warn({ job: job.id, from: fromJobId, err: String(err) }, 'artifact download failed; retrying');
        await sleep(backoffDelay(i, this.backoff), signal);
      }
    }
  }

  /** POST /runners/heartbeat: reports running jobs, returns the ids to cancel. */
  async heartbeat(runningJobIds: number[], signal?: AbortSignal): Promise<HeartbeatResponse> {
    const res = await this.send('POST', '/runners/heartbeat', {
      headers: this.runnerHeaders(),
      json: { running_job_ids: runningJobIds },
      signal,
      timeoutMs: 10_000,
    });
    if (!res.ok) await RunnerClient.fail(res, 'heartbeat');
    const body = (await res.json()) as Partial<HeartbeatResponse>;
    return { cancel_job_ids: Array.isArray(body.cancel_job_ids) ? body.cancel_job_ids : [] };
  }
}
