/**
 * The job trace: masks secrets, keeps the masked bytes, and streams them to the
 * coordinator in order with byte offsets while the job runs.
 *
 * Masking works on decoded text (a StringDecoder keeps UTF-8 characters split across
 * chunks whole). A secret can also be split across two writes: the masker (util/masker.ts)
 * holds back the tail that could still be the start of a secret and emits it with the
 * next write (or at close).
 */
import { StringDecoder } from 'node:string_decoder';
import type { TraceSink } from './executor.js';
import type { TraceAppendResult } from './client.js';
import { backoffDelay, sleep } from '../util/backoff.js';
import { silentLogger, type RunnerLogger } from './logger.js';
import { Masker } from '../util/masker.js';

export { MASK, Masker } from '../util/masker.js';

export type TraceSender = (offset: number, bytes: Buffer, signal?: AbortSignal) => Promise<TraceAppendResult>;

export interface TraceBufferOptions {
  send: TraceSender;
  /** Absolute offset the trace continues from (JobPayload.trace_offset). */
  startOffset?: number;
  masks?: Iterable<string>;
  /** Flush period while the job runs. */
  intervalMs?: number;
  /** Pending bytes that trigger an immediate flush. */
  flushBytes?: number;
  /** Largest single PATCH body. */
  maxRequestBytes?: number;
  logger?: RunnerLogger;
}

export class TraceBuffer implements TraceSink {
  private readonly decoder = new StringDecoder('utf8');
  private readonly masker: Masker;
  private readonly send: TraceSender;
  private readonly start: number;
  private readonly intervalMs: number;
  private readonly flushBytes: number;
  private readonly maxRequestBytes: number;
  private readonly log: RunnerLogger;
  private data = Buffer.alloc(64 * 1024);
  private length = 0; // masked bytes produced
  private acked: number; // absolute offset the coordinator has
  private inflight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private retryAt = 0;
  private stopped: string | null = null; // why we stopped sending
  private closed = false;

  constructor(o: TraceBufferOptions) {
    this.send = o.send;
    this.start = o.startOffset ?? 0;
    this.acked = this.start;
    this.masker = new Masker(o.masks ?? []);
    this.intervalMs = o.intervalMs ?? 250;
    this.flushBytes = o.flushBytes ?? 64 * 1024;
    this.maxRequestBytes = o.maxRequestBytes ?? 1024 * 1024;
    this.log = o.logger ?? silentLogger;
  }

  /** Starts periodic flushing. */
  begin(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  write(chunk: string | Buffer): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    this.append(this.masker.push(text));
  }

  line(text: string): void {
    this.write(text.endsWith('\n') ? text : text + '\n');
  }

  /** Absolute end offset of everything produced so far. */
  get bytes(): number {
    return this.start + this.length;
  }

  /** Absolute offset the coordinator has confirmed. */
  get sentBytes(): number {
    return this.acked;
  }

  /** The masked log produced by this runner (from startOffset), for logs and tests. */
  text(): string {
    return this.data.subarray(0, this.length).toString('utf8');
  }

  private append(text: string): void {
    if (!text) return;
    const b = Buffer.from(text, 'utf8');
    if (this.length + b.length > this.data.length) {
      const grown = Buffer.alloc(Math.max(this.data.length * 2, this.length + b.length));
      this.data.copy(grown, 0, 0, this.length);
      this.data = grown;
    }
    b.copy(this.data, this.length);
    this.length += b.length;
    if (this.bytes - this.acked >= this.flushBytes) void this.flush();
  }

  /** Sends what is pending (one request in flight at a time). */
  flush(signal?: AbortSignal): Promise<void> {
    if (this.inflight) return this.inflight;
    if (this.stopped || this.acked >= this.bytes || Date.now() < this.retryAt) return Promise.resolve();
    this.inflight = this.sendOnce(signal).finally(() => (this.inflight = null));
    return this.inflight;
  }

  private async sendOnce(signal?: AbortSignal): Promise<void> {
    const from = this.acked;
    const rel = from - this.start;
    const chunk = Buffer.from(this.data.subarray(rel, Math.min(this.length, rel + this.maxRequestBytes)));
    try {
      const r = await this.send(from, chunk, signal);
      this.failures = 0;
      this.retryAt = 0;
      if (r.ok) {
        this.acked = Math.min(this.bytes, Math.max(this.acked, r.offset));
      } else if (r.kind === 'range') {
        // The coordinator has a different offset (a lost response, or a restart): continue from its.
        if (r.offset < this.start) this.stop(`coordinator wants the trace from ${r.offset}, before this runner's start ${this.start}`);
        else this.acked = Math.min(this.bytes, r.offset);
        this.log.warn({ from, serverOffset: r.offset }, 'trace offset resynced');
      } else if (r.kind === 'too_large') {
        this.stop('trace size limit reached on the coordinator');
      } else {
        this.stop(`coordinator refused the trace (HTTP ${r.status})`);
      }
    } catch (err) {
      if (signal?.aborted) return;
      const delay = backoffDelay(this.failures++, { minMs: this.intervalMs, maxMs: 10_000 });
      this.retryAt = Date.now() + delay;
      this.log.warn({ err: String(err), retryInMs: delay }, 'trace upload failed');
    }
  }

  private stop(why: string): void {
    this.stopped = why;
    this.log.warn({ why }, 'trace upload stopped');
  }

  /**
   * Emits what the masker held back and sends everything; resolves when the coordinator
   * has it all, sending stopped for good, or `timeoutMs` / `signal` ran out.
   */
  async close(o: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      this.append(this.masker.push(this.decoder.end()));
      this.append(this.masker.end());
    }
    const deadline = Date.now() + (o.timeoutMs ?? 30_000);
    while (!this.stopped && this.acked < this.bytes && Date.now() < deadline && !o.signal?.aborted) {
      if (this.inflight) await this.inflight;
      const wait = this.retryAt - Date.now();
      if (wait > 0 && !(await sleep(Math.min(wait, deadline - Date.now()), o.signal))) break;
      await this.flush(o.signal);
    }
  }
}
