/**
 * What a coordinator shares with the others of its database: who leads (the cluster-wide
 * workers: reaper, recovery of orphaned finishes and trigger jobs, replayed notifications,
 * cluster gauges) and the wake-ups (a job became pending; the rules were reloaded).
 * On SQLite there is one coordinator: always the leader, wake-ups in process.
 */
import type { Logger } from 'pino';
import type { Sql } from '../store/engine.js';
import { alwaysLeader, startPgLeadership, type Leadership } from './leader.js';
import { localWake, pgWake, type Wake } from './wake.js';

/** Wake payloads (a wake is a hint: listeners re-read the store). */
export const WAKE_PENDING = 'pending';
export const WAKE_RULES = 'rules';

export interface Cluster {
  readonly shared: boolean;
  readonly leadership: Leadership;
  readonly wake: Wake;
  close(): Promise<void>;
}

export function localCluster(): Cluster {
  const wake = localWake();
  return { shared: false, leadership: alwaysLeader(), wake, close: () => wake.close() };
}

export async function pgCluster(sql: Sql, url: string, log: Logger): Promise<Cluster> {
  const wake = pgWake(sql, url, {
    applicationName: 'faultline-wake',
    onError: (err) => log.warn({ err }, 'wake listener connection failed; reconnecting'),
  });
  await wake.listening();
  const leadership = startPgLeadership(url, {
    applicationName: 'faultline-leader',
    onError: (err) => log.warn({ err }, 'leader election connection failed; retrying'),
  });
  leadership.onChange((leader) => log.info({ leader }, leader ? 'this coordinator leads the cluster' : 'this coordinator follows'));
  return {
    shared: true,
    leadership,
    wake,
    async close() {
      await leadership.stop();
      await wake.close();
    },
  };
}
