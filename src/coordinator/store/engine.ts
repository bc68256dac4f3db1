/**
 * The one seam between the store's tables and a database engine (SQLite embedded, PostgreSQL for
 * several coordinators). Store classes write portable SQL against `Sql`; each engine adapts it.
 *
 * Portable SQL, as both engines run it:
 * - parameters: `?` (positional, array) or `@name` (named, object) — never both in one statement;
 *   the PostgreSQL engine rewrites them to `$n` outside string literals.
 * - `INSERT … ON CONFLICT (cols) DO NOTHING | DO UPDATE SET x = excluded.x`, `RETURNING …`,
 *   `COALESCE`, `CASE`, `||`; no `INSERT OR …`, `last_insert_rowid()`, `IFNULL`, `json_*`,
 *   `GLOB`, `LIMIT -1`, `datetime()`, or SQLite's `+col` index hint (use `dialect` below).
 * - integers (ms timestamps, ids, counts) come back as JS numbers from both engines; flags are
 *   INTEGER 0/1 on both (never SQL booleans); text compares case-sensitively (no `LIKE` for
 *   equality: SQLite's LIKE ignores ASCII case, PostgreSQL's does not).
 * - `ORDER BY` a column that can be NULL says `NULLS FIRST` or `NULLS LAST` (SQLite puts NULL
 *   first, PostgreSQL last, ascending).
 */

export type Params = readonly unknown[] | Readonly<Record<string, unknown>>;

/** Fragments whose spelling differs between engines. */
export interface Dialect {
  /** Appended to a SELECT that claims rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, '' on SQLite). */
  readonly forUpdateSkipLocked: string;
  /**
   * Appended to a SELECT that locks its row until the transaction ends (`FOR UPDATE` on
   * PostgreSQL; '' on SQLite, whose `BEGIN IMMEDIATE` already holds the one write lock).
   */
  readonly forUpdate: string;
  /** After a table name: use this index (SQLite's `INDEXED BY`; '' on PostgreSQL, whose planner takes no hints). */
  indexedBy(index: string): string;
  /** `col` without letting the planner use an index on it (`+col` on SQLite, `col + 0`/`col || ''` is engine-specific). */
  noIndex(col: string): string;
}

export interface Sql {
  readonly kind: 'sqlite' | 'postgres';
  readonly dialect: Dialect;
  all<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: Params): Promise<T | undefined>;
  /** `changes`: rows inserted/updated/deleted. Use `RETURNING id` + `get` for new ids. */
  run(sql: string, params?: Params): Promise<{ changes: number }>;
  /**
   * Runs `fn` in one transaction. Every query issued from `fn`'s async context joins it
   * (AsyncLocalStorage), so store methods need no transaction argument; a nested `tx` becomes a
   * savepoint. On SQLite (one connection) other queries wait until the transaction ends; on
   * PostgreSQL the transaction has its own pooled connection.
   */
  tx<T>(fn: () => Promise<T>): Promise<T>;
  /** Is the caller's async context inside an open transaction? */
  inTx(): boolean;
  close(): Promise<void>;
}

/** `?, ?, …` for an IN list (portable; callers page big id lists, so it stays under either engine's limit). */
export function inList(ids: readonly unknown[]): string {
  return ids.map(() => '?').join(', ');
}
