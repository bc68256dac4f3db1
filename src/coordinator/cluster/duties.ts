/**
 * The workers exactly one coordinator of a database runs (issue 15): the reaper, the recovery of
 * finishes and trigger jobs a dead coordinator left half done, the replay of pending
 * notifications, and the cluster-wide gauges. They start when this coordinator becomes the leader
 * and stop when it steps down; on SQLite it leads from the start.
 */
import type { Logger } from 'pino';
import type { FailureClassifier } from '../services/classifier.js';
import type { Finisher } from '../services/finisher.js';
import type { Notifier } from '../services/notifier.js';
import type { Reaper } from '../services/reaper.js';
import type { TriggerService } from '../services/triggers.js';
import type { Leadership } from './leader.js';

/** A final update stored this long ago and still not finished was left by a coordinator that died. */
export const ORPHAN_AFTER_MS = 10_000;
/** A notification overdue this long is nobody's (its coordinator died): the leader delivers it. */
const NOTIFICATION_ORPHAN_MS = 60_000;
const ORPHAN_SWEEP_MS = 5_000;

export interface LeaderWorkers {
  reaper: Pick<Reaper, 'start' | 'stop'>;
  finisher: Pick<Finisher, 'recover'>;
  triggers: Pick<TriggerService, 'recover'>;
  notifier: Pick<Notifier, 'resume'>;
}

export class LeaderDuties {
  private sweep: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  /** Leadership changes are handled one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly leadership: Leadership,
    /** Other coordinators share the database: recover only what is orphaned, not what they are doing. */
    private readonly shared: boolean,
    private readonly w: LeaderWorkers,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = this.leadership.onChange((leader) => this.queue(leader));
    if (this.leadership.isLeader()) await this.queue(true);
  }

  private queue(leader: boolean): Promise<void> {
    this.chain = this.chain
      .then(() => (leader ? this.lead() : this.follow()))
      .catch((err: unknown) => this.log.error({ err, leader }, 'taking up or handing over the leader workers failed'));
    return this.chain;
  }

  private async lead(): Promise<void> {
    if (this.sweep) return;
    const now = Date.now();
    // Notifications before the finishes: replayed finishes notify too.
    await this.w.notifier.resume(this.shared ? now - NOTIFICATION_ORPHAN_MS : undefined);
    await this.w.finisher.recover(this.shared ? now - ORPHAN_AFTER_MS : undefined);
    await this.w.triggers.recover();
    this.w.reaper.start();
    // Finishes another coordinator stored and then died before applying (its queue died with it).
    this.sweep = setInterval(() => {
      const t = Date.now();
      Promise.all([this.w.finisher.recover(t - ORPHAN_AFTER_MS), this.w.notifier.resume(t - NOTIFICATION_ORPHAN_MS)]).catch(
        (err: unknown) => this.log.error({ err }, 'sweep for orphaned finishes and notifications failed'),
      );
    }, ORPHAN_SWEEP_MS);
    this.sweep.unref();
  }

  private async follow(): Promise<void> {
    this.w.reaper.stop();
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.chain;
    await this.follow();
  }
}

/** Another coordinator reloaded the rules: this one reloads the same directory. */
export async function reloadRules(classifier: FailureClassifier, log: Logger): Promise<void> {
  try {
    const out = await classifier.reload?.();
    if (out && !out.ok) log.error({ errors: out.errors }, 'rules reload asked by another coordinator failed; the previous rules stay');
    else if (out) log.info('rules reloaded (asked by another coordinator)');
  } catch (err) {
    log.error({ err }, 'rules reload asked by another coordinator failed');
  }
}
