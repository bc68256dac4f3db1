/**
 * Which coordinator runs the cluster-wide workers (reaper, finisher, notifier, cluster gauges).
 *
 * PostgreSQL: whoever holds a session advisory lock on its own connection. The lock lives as long
 * as that session, so a holder that dies (SIGKILL, lost machine, pg_terminate_backend) releases it
 * with its connection and a follower's next try — every `intervalMs` — takes over. A leader pings
 * its connection on the same beat and steps down the moment the connection errors, so it stops
 * acting as leader before the server can hand the lock to anyone else.
 * A holder that hangs instead (SIGSTOP, a paused VM) keeps its socket open, so the server would
 * keep its lock forever: the session sets idle_session_timeout, and a leader that misses its
 * pings that long is disconnected by the server itself, releasing the lock.
 * Advisory locks give no fencing: the workers keep their writes conditional (UPDATE … WHERE
 * status = …), so a brief overlap in a network partition does no harm.
 *
 * SQLite: one coordinator per file, so it is always the leader.
 */
import pg from 'pg';

export interface Leadership {
  isLeader(): boolean;
  /** Called with the new state on every change; returns an unsubscribe function. */
  onChange(cb: (leader: boolean) => void): () => void;
  /** Steps down (releasing the lock with the session) and stops trying. */
  stop(): Promise<void>;
}

/** pg_try_advisory_lock key of the leader (any fixed bigint other than the migration lock). */
export const LEADER_LOCK_KEY = 0x66_6c_74_6c_64_72; // "fltldr"

function changes() {
  const subs = new Set<(leader: boolean) => void>();
  return {
    on(cb: (leader: boolean) => void) {
      subs.add(cb);
      return () => void subs.delete(cb);
    },
    emit(leader: boolean) {
      for (const cb of subs) {
        try {
          cb(leader);
        } catch {
          // a subscriber's bug must not stop the election loop
        }
      }
    },
  };
}

export function alwaysLeader(): Leadership {
  return { isLeader: () => true, onChange: () => () => {}, stop: async () => {} };
}

export interface PgLeaderOptions {
  key?: number;
  /** How often a follower tries the lock and a leader pings its connection (default 1000 ms). */
  intervalMs?: number;
  applicationName?: string;
  /** The server ends a session silent this long (a hung holder), freeing the lock (default 5000 ms). */
  hungAfterMs?: number;
  /** Connection errors (the loop keeps going); for logs. */
  onError?: (e: unknown) => void;
}

export function startPgLeadership(url: string, opts: PgLeaderOptions = {}): Leadership {
  const key = opts.key ?? LEADER_LOCK_KEY;
  const intervalMs = opts.intervalMs ?? 1000;
  const hungAfterMs = Math.max(opts.hungAfterMs ?? 5000, intervalMs * 3);
  const subs = changes();
  let leader = false;
  let client: pg.Client | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  /** A leader that lost its session stays out of the race until then: a follower takes over. */
  let asideUntil = 0;

  const set = (v: boolean) => {
    if (v === leader) return;
    leader = v;
    subs.emit(v);
  };
  // Step down first, then drop the connection (which releases the lock if the server still has it).
  const lost = (c: pg.Client, e?: unknown): Promise<void> => {
    if (client !== c) return Promise.resolve();
    // Its session was ended (a terminated backend, a dropped connection): were it to reconnect
    // and try at once it would race the followers for the lock it just lost, and might win.
    if (leader) asideUntil = Date.now() + 2 * intervalMs;
    set(false);
    client = null;
    if (e !== undefined) opts.onError?.(e);
    return c.end().catch(() => {});
  };

  const tick = async () => {
    if (!leader && Date.now() < asideUntil) return;
    let c = client;
    try {
      if (!c) {
        const fresh = new pg.Client({
          connectionString: url,
          application_name: opts.applicationName ?? 'faultline-leader',
          connectionTimeoutMillis: Math.max(intervalMs * 3, 2000),
          query_timeout: Math.max(intervalMs * 3, 2000),
          keepAlive: true,
          // a server setting per session; only counts between statements outside a transaction
          options: `-c idle_session_timeout=${hungAfterMs}`,
        });
        c = client = fresh;
        fresh.on('error', (e) => void lost(fresh, e));
        fresh.on('end', () => void lost(fresh));
        await fresh.connect();
      }
      if (!leader) {
        const r = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
        if (r.rows[0]?.ok && client === c && !stopped) set(true);
      } else {
        await c.query('SELECT 1');
      }
    } catch (e) {
      if (c) await lost(c, e);
    }
  };

  const loop = () => {
    if (stopped) return;
    inFlight = tick().finally(() => {
      if (!stopped) timer = setTimeout(loop, intervalMs);
      timer?.unref();
    });
  };
  loop();

  return {
    isLeader: () => leader,
    onChange: (cb) => subs.on(cb),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
      if (client) await lost(client);
    },
  };
}
