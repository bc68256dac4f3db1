/**
 * Long-poll waiters. A runner's request is answered at once when a matching job is
 * pending; otherwise it parks here and is woken in-process the moment a job becomes
 * pending (no polling loop).
 */
import type { JobPayload } from '../../protocol/runner-api.js';
import { runnerMatches, type RunnerRow } from '../store/runners.js';

/** The runner's long-poll request as the dispatcher sees it (runner-api.ts: the HTTP response). */
export interface Requester {
  /**
   * Whether it went away (its connection closed). Asked again under the pipeline's lock right
   * before a job is claimed for it: a job claimed for nobody sits "running", never received,
   * until the heartbeat timeout hands it out again.
   */
  gone(): boolean;
  /** Subscribes to it going away; returns the unsubscribe. Called only when the request parks. */
  onGone(cb: () => void): () => void;
}

interface Waiter {
  runner: RunnerRow;
  requester: Requester;
  resolve: (p: JobPayload | null) => void;
  timer: NodeJS.Timeout;
  /**
   * A hand-out to this waiter is in flight: its timeout, or its requester going away, waits for
   * the outcome, so a claimed job is never dropped here (runner-api.ts logs one nobody took).
   */
  busy: boolean;
  late: boolean;
}

export class Dispatcher {
  private readonly waiters = new Set<Waiter>();
  private wakeScheduled = false;
  /** A serve pass is running (it awaits the store); a wake meanwhile asks for one more pass. */
  private serving = false;
  private again = false;
  private closed = false;

  constructor(
    /**
     * Hand one pending job matching the runner to it (CAS), or null. `tagSets`: the pending tag
     * sets this runner can take, just read (undefined: read them).
     */
    private readonly assign: (runner: RunnerRow, tagSets: string[] | undefined, gone: () => boolean) => Promise<JobPayload | null>,
    /** The distinct tag sets (`tags_json`) of pending jobs: one cheap read per serve pass. */
    private readonly pendingTagSets: () => Promise<string[]>,
  ) {}

  get waiting(): number {
    return this.waiters.size;
  }

  /**
   * Resolves with a job, or null after `timeoutMs` / when the requester goes away / on
   * close. A requester gone during the first hand-out does not park.
   */
  async request(runner: RunnerRow, timeoutMs: number, requester: Requester): Promise<JobPayload | null> {
    if (this.closed) return null;
    const gone = () => requester.gone();
    const now = await this.assign(runner, undefined, gone);
    if (now || timeoutMs <= 0 || this.closed || gone()) return now;
    return new Promise((resolve) => {
      let settled = false;
      let unsubscribe = () => {};
      const w: Waiter = {
        runner,
        requester,
        resolve: (p) => {
          if (settled) return;
          settled = true;
          clearTimeout(w.timer);
          this.waiters.delete(w);
          unsubscribe();
          resolve(p);
        },
        timer: setTimeout(() => {
          if (w.busy) w.late = true;
          else w.resolve(null);
        }, timeoutMs),
        busy: false,
        late: false,
      };
      this.waiters.add(w);
      unsubscribe = requester.onGone(() => {
        if (w.busy) w.late = true;
        else w.resolve(null);
      });
    });
  }

  /** Jobs became pending: serve waiting runners (coalesced to once per microtask). */
  wake(): void {
    if (this.wakeScheduled || this.waiters.size === 0) return;
    this.wakeScheduled = true;
    queueMicrotask(() => {
      this.wakeScheduled = false;
      void this.serve();
    });
  }

  /** One pass at a time: two passes would hand two jobs to one waiter (the second one lost). */
  private async serve(): Promise<void> {
    if (this.serving) {
      this.again = true;
      return;
    }
    this.serving = true;
    try {
      do {
        this.again = false;
        // Read once per pass: a job becoming pending during the pass wakes another pass.
        let sets = parseSets(await this.pendingTagSets());
        for (const w of [...this.waiters]) {
          if (sets.length === 0) break;
          if (!this.waiters.has(w)) continue;
          // No pending job this runner could take: skipped without a store round trip.
          const tags = JSON.parse(w.runner.tags_json) as string[];
          const mine = sets.filter((s) => runnerMatches(tags, w.runner.run_untagged === 1, s.tags)).map((s) => s.raw);
          if (mine.length === 0) continue;
          w.busy = true;
          let job: JobPayload | null;
          try {
            job = await this.assign(w.runner, mine, () => w.requester.gone());
          } finally {
            w.busy = false;
          }
          // One that timed out or went away meanwhile is answered now, with whatever it was given
          // (gone after the claim: runner-api.ts logs the job, and the reaper settles it).
          if (job) w.resolve(job);
          else if (w.late) w.resolve(null);
          // What is left for the others (one read, cheaper than a hand-out that finds nothing).
          sets = parseSets(await this.pendingTagSets());
        }
      } while (this.again && !this.closed);
    } catch {
      // A store failure: the waiters stay parked; the next wake (or their timeout) serves them.
    } finally {
      this.serving = false;
    }
  }

  close(): void {
    this.closed = true;
    for (const w of [...this.waiters]) w.resolve(null);
  }
}

const parseSets = (raw: string[]) => raw.map((r) => ({ raw: r, tags: JSON.parse(r) as string[] }));
