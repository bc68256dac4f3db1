/**
 * The coordinators a runner may talk to: several URLs of coordinators on one database (any of
 * them accepts the runner's and a job's token), used one at a time. A connection error, a
 * timeout or a 502/503/504 (a proxy without a backend, a coordinator going down or unable to
 * write) moves to the next; an answer of any other kind is the coordinator's word and stays.
 * There is no fail-back: the runner stays on the one that works until it stops working.
 */
import type { RunnerLogger } from './logger.js';

/** `a,b` / ['a', 'b,c'] → the distinct http(s) URLs, without trailing slashes. Throws naming the bad one. */
export function parseCoordinatorUrls(input: string | readonly string[], what = '--url'): string[] {
  const parts = (typeof input === 'string' ? [input] : input).flatMap((s) => s.split(',')).map((s) => s.trim());
  const out: string[] = [];
  for (const p of parts) {
    if (!p) continue;
    let u: URL;
    try {
      u = new URL(p);
    } catch {
      throw new Error(`${what}: "${p}" is not a URL (expected http://host:port, several separated by commas)`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`${what}: "${p}" is not an http:// or https:// URL`);
    const norm = p.replace(/\/+$/, '');
    if (!out.includes(norm)) out.push(norm);
  }
  if (out.length === 0) throw new Error(`${what}: no coordinator URL given`);
  return out;
}

/** Statuses that say "this coordinator cannot serve you now", as opposed to an answer. */
export const FAILOVER_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

export class CoordinatorSet {
  readonly urls: readonly string[];
  private index = 0;

  constructor(
    urls: string | readonly string[],
    private readonly log: RunnerLogger,
  ) {
    this.urls = parseCoordinatorUrls(urls);
  }

  /** The coordinator in use. */
  get current(): string {
    return this.urls[this.index]!;
  }

  /**
   * `url` failed (a request that started on it): the next one becomes current, unless another
   * request already moved on. Returns whether a switch happened.
   */
  failed(url: string, reason: string): boolean {
    if (this.urls.length < 2 || url !== this.current) return false;
    this.index = (this.index + 1) % this.urls.length;
    this.log.warn({ from: url, to: this.current, reason }, `coordinator ${url} unavailable (${reason}); using ${this.current}`);
    return true;
  }
}

/** Why a fetch that rejected is worth trying on another coordinator (null: the caller's own abort). */
export function failoverReason(err: unknown, callerSignal?: AbortSignal): string | null {
  if (callerSignal?.aborted) return null;
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'timeout';
  const code = e?.cause?.code ?? (e as { code?: string })?.code;
  return code ?? e?.cause?.message ?? e?.message ?? String(err);
}
