/**
 * better-sqlite3 behind the `Sql` seam (engine.ts). One connection, so a transaction that spans
 * awaits must keep every other caller out until it ends: a FIFO queue holds queries and
 * transactions that arrive while one is open. Queries issued from the transaction's own async
 * context (AsyncLocalStorage) run at once; a nested `tx` becomes a SAVEPOINT.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import type { Dialect, Params, Sql } from './engine.js';
import { storageProblem, type StorageProblem } from './health.js';

type Db = Database.Database;
type Statement = Database.Statement<unknown[], unknown>;

/** One open transaction; `open` goes false when it ends, so a late query from its context queues normally. */
interface Frame {
  open: boolean;
  /** Nested transactions of this frame run one after another (savepoints are a stack). */
  nested: Promise<unknown>;
}

type Waiter = { kind: 'query'; run: () => void } | { kind: 'tx'; start: () => void };

const DIALECT: Dialect = {
  forUpdateSkipLocked: '',
  forUpdate: '',
  indexedBy: (index) => ` INDEXED BY ${index}`,
  noIndex: (col) => `+${col}`,
};
const CACHE_LIMIT = 500;

export class SqliteSql implements Sql {
  readonly kind = 'sqlite' as const;
  readonly dialect = DIALECT;
  private readonly cache = new Map<string, Statement>();
  private readonly als = new AsyncLocalStorage<Frame>();
  /** The transaction holding the connection, if any. */
  private owner: Frame | null = null;
  private readonly queue: Waiter[] = [];
  private savepoints = 0;

  constructor(readonly db: Db) {}

  /** The better-sqlite3 statement for this text (compiled once). */
  private prepare(sql: string): Statement {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      // Dynamic SQL (IN lists, filters) could grow the cache without end: keep the newest.
      if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(sql, s);
    }
    return s;
  }

  /** Runs `op` now if the connection is ours to use, else when the queue reaches it. */
  private query<T>(op: () => T): Promise<T> {
    const mine = this.owner !== null && this.als.getStore() === this.owner;
    if (mine || (this.owner === null && this.queue.length === 0)) {
      try {
        return Promise.resolve(op());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        kind: 'query',
        run: () => {
          try {
            resolve(op());
          } catch (err) {
            reject(err as Error);
          }
        },
      });
    });
  }

  /** Hands the connection on: queued queries run in order until a queued transaction takes it. */
  private pump(): void {
    while (this.owner === null && this.queue.length > 0) {
      const w = this.queue.shift()!;
      if (w.kind === 'query') w.run();
      else w.start();
    }
  }

  all<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T[]> {
    return this.query(() => bind(this.prepare(sql), params, 'all') as T[]);
  }

  get<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T | undefined> {
    return this.query(() => bind(this.prepare(sql), params, 'get') as T | undefined);
  }

  run(sql: string, params?: Params): Promise<{ changes: number }> {
    return this.query(() => ({ changes: (bind(this.prepare(sql), params, 'run') as Database.RunResult).changes }));
  }

  inTx(): boolean {
    const f = this.als.getStore();
    return f !== undefined && f === this.owner;
  }

  async tx<T>(fn: () => Promise<T>): Promise<T> {
    const outer = this.als.getStore();
    if (outer && outer === this.owner) return this.savepoint(outer, fn);
    const frame: Frame = { open: true, nested: Promise.resolve() };
    await new Promise<void>((resolve) => {
      const start = () => {
        this.owner = frame;
        resolve();
      };
      if (this.owner === null && this.queue.length === 0) start();
      else this.queue.push({ kind: 'tx', start });
    });
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      this.end(frame);
      throw err;
    }
    try {
      const result = await this.als.run(frame, fn);
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      throw err;
    } finally {
      this.end(frame);
    }
  }

  private end(frame: Frame): void {
    frame.open = false;
    if (this.owner === frame) this.owner = null;
    this.pump();
  }

  /** A nested transaction: a savepoint, after any sibling nested one of the same frame finished. */
  private savepoint<T>(frame: Frame, fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (!frame.open) throw new Error('transaction already ended');
      const name = `sp${++this.savepoints}`;
      this.db.exec(`SAVEPOINT ${name}`);
      try {
        const result = await fn();
        this.db.exec(`RELEASE ${name}`);
        return result;
      } catch (err) {
        if (frame.open && this.db.inTransaction) {
          this.db.exec(`ROLLBACK TO ${name}`);
          this.db.exec(`RELEASE ${name}`);
        }
        throw err;
      }
    };
    const p = frame.nested.then(run, run);
    frame.nested = p.catch(() => undefined);
    return p;
  }

  /**
   * Can a write start now? Tries the write lock without waiting (for /healthz). While one of our
   * own transactions is open we hold the lock ourselves: writable.
   */
  probeWrite(dbPath: string): StorageProblem | null {
    if (!this.db.open) return { kind: 'io', code: 'CLOSED', message: `storage closed: ${dbPath}`, at: Date.now() };
    if (this.owner !== null || this.db.inTransaction) return null;
    const timeout = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma('busy_timeout = 0');
    try {
      this.db.exec('BEGIN IMMEDIATE');
      this.db.exec('ROLLBACK');
      return null;
    } catch (err) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      return (
        storageProblem(err, dbPath) ?? {
          kind: 'io',
          code: 'UNKNOWN',
          message: `storage probe failed: ${(err as Error).message}`,
          at: Date.now(),
        }
      );
    } finally {
      this.db.pragma(`busy_timeout = ${timeout}`);
    }
  }

  async close(): Promise<void> {
    // Let an open transaction and whatever is queued behind it finish first.
    await this.query(() => undefined);
    this.cache.clear();
    if (this.db.open) this.db.close();
  }
}

function bind(s: Statement, params: Params | undefined, how: 'all' | 'get' | 'run'): unknown {
  if (params === undefined) return s[how]();
  if (Array.isArray(params)) return s[how](...(params as unknown[]));
  return s[how](params);
}
