/**
 * "A job became pending": wakes long-polling runners on every coordinator, not only the one whose
 * request made the job pending. A wake is a hint to look again, never the data itself: a listener
 * re-reads the jobs table, so a lost or extra wake costs latency, not correctness.
 *
 * PostgreSQL: NOTIFY through the store's `Sql` — inside a transaction PostgreSQL delivers it at
 * COMMIT, so nobody is woken before the pending job is visible — and LISTEN on a dedicated
 * connection that reconnects (backoff up to 2 s). After a reconnect it wakes everyone once,
 * because notifications sent while it was away are gone.
 * SQLite: one coordinator, an in-process EventEmitter.
 */
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Sql } from '../store/engine.js';

export interface Wake {
  /** Announce; `payload` (e.g. the job's tags) is passed to listeners as is. */
  notify(payload?: string): Promise<void>;
  /** Returns an unsubscribe function. */
  onWake(cb: (payload: string) => void): () => void;
  close(): Promise<void>;
}

export const WAKE_CHANNEL = 'faultline_job_pending';

function emitter() {
  const e = new EventEmitter();
  e.setMaxListeners(0); // one per long-polling request
  return {
    on(cb: (payload: string) => void) {
      e.on('wake', cb);
      return () => void e.off('wake', cb);
    },
    emit: (payload: string) => e.emit('wake', payload),
  };
}

export function localWake(): Wake {
  const subs = emitter();
  return {
    // next turn, not inside the notifier's call stack (which may hold a SQLite transaction)
    notify: async (payload = '') => void setImmediate(() => subs.emit(payload)),
    onWake: (cb) => subs.on(cb),
    close: async () => {},
  };
}

export interface PgWakeOptions {
  applicationName?: string;
  /** Ping period (and ping timeout) of the LISTEN connection (default 5000 ms). */
  heartbeatMs?: number;
  /** Listener connection errors (it keeps reconnecting); for logs. */
  onError?: (e: unknown) => void;
}

export interface PgWake extends Wake {
  /** Resolves once the current connection is LISTENing (tests, startup). */
  listening(): Promise<void>;
}

export function pgWake(sql: Sql, url: string, opts: PgWakeOptions = {}): PgWake {
  const subs = emitter();
  const heartbeatMs = opts.heartbeatMs ?? 5000;
  let closed = false;
  let current: pg.Client | null = null;
  let ready!: () => void;
  let isListening = new Promise<void>((r) => (ready = r));

  const session = async (everListened: boolean): Promise<boolean> => {
    const c = new pg.Client({
      connectionString: url,
      application_name: opts.applicationName ?? 'faultline-wake',
      keepAlive: true,
      connectionTimeoutMillis: 5000,
      query_timeout: heartbeatMs,
    });
    const ended = new Promise<void>((resolve) => {
      c.on('error', (e) => (opts.onError?.(e), resolve()));
      c.on('end', () => resolve());
    });
    c.on('notification', (m) => {
      if (m.channel === WAKE_CHANNEL) subs.emit(m.payload ?? '');
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${WAKE_CHANNEL}`);
      if (closed) throw new Error('closed');
    } catch (e) {
      if (!closed) opts.onError?.(e);
      await c.end().catch(() => {});
      return false;
    }
    current = c;
    ready();
    if (everListened) subs.emit('');
    // A silently dead connection (no RST: a partition, a dropped NAT entry) delivers nothing and
    // errors nowhere; TCP keepalive takes hours. Ping, and reconnect when the ping fails.
    const heartbeat = setInterval(() => {
      c.query('SELECT 1').catch(() => void c.end().catch(() => {}));
    }, heartbeatMs);
    heartbeat.unref();
    await ended;
    clearInterval(heartbeat);
    current = null;
    isListening = new Promise<void>((r) => (ready = r));
    await c.end().catch(() => {});
    return true;
  };

  let wakeEarly = () => {};
  const loop = (async () => {
    let everListened = false;
    let backoff = 100;
    while (!closed) {
      const listened = await session(everListened);
      everListened ||= listened;
      backoff = listened ? 100 : Math.min(backoff * 2, 2000);
      if (!closed) await new Promise<void>((r) => ((wakeEarly = r), setTimeout(r, backoff)));
    }
  })();

  return {
    async notify(payload = '') {
      await sql.get('SELECT pg_notify(?, ?) AS sent', [WAKE_CHANNEL, payload]);
    },
    onWake: (cb) => subs.on(cb),
    listening: () => isListening,
    async close() {
      closed = true;
      wakeEarly();
      await current?.end().catch(() => {});
      await loop;
    },
  };
}
