/**
 * Long-poll waiters. A runner's request is answered at once when a matching job is
 * pending; otherwise it parks here and is woken in-process the moment a job becomes
 * pending (no polling loop).
 */
import type { JobPayload } from '../../protocol/runner-api.js';
import type { RunnerRow } from '../store/runners.js';

interface Waiter {
  runner: RunnerRow;
  resolve: (p: JobPayload | null) => void;
  timer: NodeJS.Timeout;
}

export class Dispatcher {
  private readonly waiters = new Set<Waiter>();
  private wakeScheduled = false;
  private closed = false;

  constructor(
    /** Hand one pending job matching the runner to it (CAS), or null. */
    private readonly assign: (runner: RunnerRow) => JobPayload | null,
    /** Is any job pending at all? (cheap check before walking the waiters) */
    private readonly anyPending: () => boolean,
  ) {}

  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Resolves with a job, or null after `timeoutMs` / when the requester goes away / on
   * close. `onGone` is called only when the request parks: it subscribes the callback to
   * the requester going away and returns the unsubscribe.
   */
  request(runner: RunnerRow, timeoutMs: number, onGone: (gone: () => void) => () => void): Promise<JobPayload | null> {
    if (this.closed) return Promise.resolve(null);
    const now = this.assign(runner);
    if (now || timeoutMs <= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      let settled = false;
      const w: Waiter = {
        runner,
        resolve: (p) => {
          if (settled) return;
          settled = true;
          clearTimeout(w.timer);
          this.waiters.delete(w);
          unsubscribe();
          resolve(p);
        },
        timer: setTimeout(() => w.resolve(null), timeoutMs),
      };
      const unsubscribe = onGone(() => w.resolve(null));
      this.waiters.add(w);
    });
  }

  /** Jobs became pending: serve waiting runners (coalesced to once per microtask). */
  wake(): void {
    if (this.wakeScheduled || this.waiters.size === 0) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      this.serve();
    });
  }

  private serve(): void {
    for (const w of [...this.waiters]) {
      if (!this.anyPending()) return;
      if (!this.waiters.has(w)) continue;
      const job = this.assign(w.runner);
      if (job) w.resolve(job);
    }
  }

  close(): void {
    this.closed = true;
    for (const w of [...this.waiters]) w.resolve(null);
  }
}
