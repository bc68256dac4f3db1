/**
 * The PostgreSQL engine behind `Sql` (engine.ts), for several coordinators on one database.
 *
 * - Parameters are rewritten once per SQL text (pg-params.ts) and, for the first
 *   PREPARED_LIMIT texts, sent as named prepared statements: parsed and planned once per
 *   connection, as SQLite's statement cache does. Dynamic texts beyond the limit go unnamed, so
 *   a caller building `IN (?, ?, …)` lists cannot grow every connection's statements forever.
 * - int8 (ids, ms timestamps, COUNT) and numeric (SUM, AVG) come back as JS numbers like SQLite's
 *   integers, per pool (not pg's global parsers). Values stay below 2^53: ms until year 285 616.
 * - `tx` checks a client out of the pool and binds it to the async context (AsyncLocalStorage),
 *   so every query from inside `fn` runs on it; nested `tx` is a SAVEPOINT (siblings serialized).
 *   READ COMMITTED, PostgreSQL's default: a read-modify-write that must not race another
 *   coordinator claims its rows (dialect.forUpdateSkipLocked, or a conditional UPDATE).
 * - A database that cannot be reached raises DatabaseUnavailableError (isDatabaseUnavailable),
 *   so the coordinator can answer 503 naming the cause instead of a 500.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import type { Dialect, Params, Sql } from './engine.js';
import { bindParams, rewriteParams, type Rewritten } from './pg-params.js';
import { migratePostgres } from './pg-migrations.js';

export interface PostgresOptions {
  /** Pool size per coordinator (default 10). */
  max?: number;
  /** Give up connecting after this long, so a down database fails requests instead of stalling them (default 5000). */
  connectTimeoutMs?: number;
  /** Server-side statement_timeout (default none). */
  statementTimeoutMs?: number;
  applicationName?: string;
  /** Apply pg-migrations.ts at open, as the SQLite store does (default true). */
  migrate?: boolean;
}

const PREPARED_LIMIT = 500;

const toNumber = (v: string) => Number(v);
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC
      ? toNumber
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

export const postgresDialect: Dialect = {
  forUpdateSkipLocked: ' FOR UPDATE SKIP LOCKED',
  forUpdate: ' FOR UPDATE',
  indexedBy: () => '',
  // PostgreSQL's planner takes no per-query hints and chooses well from statistics.
  noIndex: (col) => col,
};

/** postgres://user@host:port/db with the password left out: safe for messages and logs. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || new URLSearchParams(u.search).get('host') || 'localhost';
    return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${host}:${u.port || 5432}${u.pathname}`;
  } catch {
    return '(unparseable database URL)';
  }
}

const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ENOENT',
]);
// SQLSTATE: class 08 connection exception; 57P01-03 server shutting down/crashed/starting; 53300 too many connections.
const PG_CODES = /^(08...|57P0[123]|53300)$/;
const PG_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|connection error and is not queryable/;

/** The database could not be reached (network, server down or restarting): retry later, answer 503. */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';
  constructor(
    readonly target: string,
    override readonly cause: unknown,
  ) {
    super(`database unreachable: PostgreSQL at ${target}: ${(cause as Error)?.message ?? String(cause)}`);
  }
}

/** A raw pg/net error that means the server cannot be reached (classification inside the engine). */
export function looksUnreachable(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (NET_CODES.has(code) || PG_CODES.test(code))) return true;
  if (e instanceof AggregateError) return e.errors.some(looksUnreachable); // net's happy-eyeballs
  return PG_MESSAGES.test(e.message);
}

/**
 * True for the engine's "database unreachable" errors: answer 503 with its message. Only the
 * wrapped error counts — a bare ECONNRESET or ENOENT elsewhere (a runner's socket, an artifact
 * file) is not the database's fault.
 */
export function isDatabaseUnavailable(e: unknown): e is DatabaseUnavailableError {
  return e instanceof DatabaseUnavailableError;
}

/** One transaction or savepoint level. Siblings at one level run one after another (`chain`). */
interface TxState {
  client: pg.PoolClient;
  counter: { savepoints: number };
  done: boolean;
  parent?: TxState;
  chain: Promise<unknown>;
}

/**
 * The innermost level still open. Work started inside a tx but running after it ended (a timer,
 * an event listener) inherits its async context; like on SQLite it runs outside the transaction
 * instead of on a client that has gone back to the pool.
 */
const openLevel = (s: TxState | undefined): TxState | undefined => (s && !s.done ? s : s?.parent ? openLevel(s.parent) : undefined);

export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<Sql> {
  const target = describeTarget(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    statement_timeout: opts.statementTimeoutMs,
    application_name: opts.applicationName ?? 'faultline',
    keepAlive: true,
    types: TYPES,
  });
  // An idle connection dropped by the server (restart, pg_terminate_backend) is discarded by the
  // pool; without a listener the 'error' would crash the process. The next query reconnects.
  pool.on('error', () => {});
  const als = new AsyncLocalStorage<TxState>();
  const texts = new Map<string, Rewritten & { name?: string }>();

  const fail = (e: unknown, sql: string): never => {
    if (looksUnreachable(e)) throw new DatabaseUnavailableError(target, e);
    if (e instanceof Error && !e.message.includes('\n  in: ')) e.message += `\n  in: ${sql}`;
    throw e;
  };

  const exec = async (sql: string, params: Params | undefined): Promise<pg.QueryResult> => {
    let r = texts.get(sql);
    if (!r) {
      r = rewriteParams(sql);
      if (texts.size < PREPARED_LIMIT) r = { ...r, name: `faultline_${texts.size + 1}` };
      texts.set(sql, r);
    }
    const values = bindParams(r, params, sql);
    // No parameters → simple protocol (several statements allowed: migrations).
    const q: pg.QueryConfig = values.length > 0 ? { text: r.text, values, name: r.name } : { text: r.text };
    const tx = openLevel(als.getStore());
    try {
      const res = tx ? await tx.client.query(q) : await pool.query(q);
      return Array.isArray(res) ? (res as pg.QueryResult[])[(res as pg.QueryResult[]).length - 1] : res;
    } catch (e) {
      return fail(e, sql);
    }
  };

  const raw = async (client: pg.PoolClient, sql: string) => {
    try {
      await client.query(sql);
    } catch (e) {
      fail(e, sql);
    }
  };

  const sqlApi: Sql = {
    kind: 'postgres',
    dialect: postgresDialect,
    async all<T>(sql: string, params?: Params) {
      return (await exec(sql, params)).rows as T[];
    },
    async get<T>(sql: string, params?: Params) {
      return (await exec(sql, params)).rows[0] as T | undefined;
    },
    async run(sql: string, params?: Params) {
      return { changes: (await exec(sql, params)).rowCount ?? 0 };
    },
    async tx<T>(fn: () => Promise<T>): Promise<T> {
      const parent = openLevel(als.getStore());
      if (parent) {
        const savepoint = async () => {
          const sp = `faultline_sp_${++parent.counter.savepoints}`;
          const level: TxState = { client: parent.client, counter: parent.counter, done: false, parent, chain: Promise.resolve() };
          await raw(parent.client, `SAVEPOINT ${sp}`);
          try {
            const result = await als.run(level, fn);
            await raw(parent.client, `RELEASE SAVEPOINT ${sp}`);
            return result;
          } catch (e) {
            await raw(parent.client, `ROLLBACK TO SAVEPOINT ${sp}`).catch(() => {});
            await raw(parent.client, `RELEASE SAVEPOINT ${sp}`).catch(() => {});
            throw e;
          } finally {
            level.done = true;
          }
        };
        // savepoints are a stack: two nested tx started side by side must not interleave
        const p = parent.chain.then(savepoint, savepoint);
        parent.chain = p.catch(() => {});
        return p;
      }
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (e) {
        return fail(e, 'BEGIN');
      }
      const state: TxState = { client, counter: { savepoints: 0 }, done: false, chain: Promise.resolve() };
      let broken: Error | undefined;
      try {
        await raw(client, 'BEGIN');
        const result = await als.run(state, fn);
        await raw(client, 'COMMIT');
        return result;
      } catch (e) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackError) {
          broken = rollbackError as Error; // the connection is gone: do not return it to the pool
        }
        throw e;
      } finally {
        state.done = true;
        client.release(broken);
      }
    },
    inTx() {
      return openLevel(als.getStore()) !== undefined;
    },
    async close() {
      await pool.end();
    },
  };

  // Fail at start with a clear message rather than on the first request.
  try {
    if (opts.migrate !== false) await migratePostgres(sqlApi);
    else await sqlApi.get('SELECT 1 AS ok', []);
  } catch (e) {
    await pool.end().catch(() => {});
    throw e;
  }
  return sqlApi;
}
