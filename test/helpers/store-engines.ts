/**
 * The store test matrix: one test body, run against every engine behind `Sql` (engine.ts), so
 * SQLite and PostgreSQL are held to the same tests instead of two copies drifting apart.
 *
 *   forEachEngine('job hand-out', (open, engine) => {
 *     test('a pending job goes to one runner', async () => {
 *       const sql = await open();              // a fresh, migrated, empty database
 *       const store = new Store(sql, { … });   // or a table class directly
 *       …
 *     });
 *   });
 *
 * declares `describe('job hand-out [sqlite]')` and `describe('job hand-out [postgres]')`.
 * - `open()` gives a new database per call: SQLite, a file in a temp dir migrated by
 *   migrations.ts; PostgreSQL, a copy of a template database migrated once per test file by
 *   pg-migrations.ts, on the file's one real server (postgres.ts). Everything `open()` returned is
 *   closed and deleted after each test (closing it yourself first is fine).
 * - `{ engines: ['postgres'] }` for a behaviour only one engine has (SKIP LOCKED between
 *   connections, LISTEN/NOTIFY).
 * - Locally, FAULTLINE_TEST_ENGINES=sqlite (comma list) narrows the matrix and a machine without
 *   PostgreSQL skips its half; under CI=true both always run and a missing postgres fails.
 */
import { afterEach, describe } from 'node:test';
import { openDb } from '../../src/coordinator/store/db.js';
import type { Sql } from '../../src/coordinator/store/engine.js';
import { SqliteSql } from '../../src/coordinator/store/sqlite-engine.js';
import { tempDir } from './tmp.js';
import { withPostgres } from './with-postgres.js';

export type EngineName = 'sqlite' | 'postgres';
export const ENGINE_NAMES: readonly EngineName[] = ['sqlite', 'postgres'];
export type OpenSql = () => Promise<Sql>;

/** The engines this run tests: both under CI=true, else FAULTLINE_TEST_ENGINES (default both). */
export function selectedEngines(): readonly EngineName[] {
  const env = process.env.FAULTLINE_TEST_ENGINES;
  if (!env || process.env.CI === 'true') return ENGINE_NAMES;
  return ENGINE_NAMES.filter((e) => env.split(',').includes(e));
}

/** The SQLite half: a migrated file in a temp dir per `open()`, closed and deleted after the test. */
function describeSqlite(name: string, body: (open: OpenSql, engine: EngineName) => void): void {
  describe(name, () => {
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c();
    });
    body(async () => {
      const dir = tempDir('faultline-engine-');
      const sql = new SqliteSql(openDb(dir.path));
      cleanups.push(async () => (await sql.close().catch(() => {}), dir.dispose()));
      return sql;
    }, 'sqlite');
  });
}

export function forEachEngine(
  name: string,
  body: (open: OpenSql, engine: EngineName) => void,
  opts: { engines?: readonly EngineName[] } = {},
): void {
  for (const engine of (opts.engines ?? ENGINE_NAMES).filter((e) => selectedEngines().includes(e))) {
    if (engine === 'sqlite') describeSqlite(`${name} [sqlite]`, body);
    // the template is migrated in `before`, so the first test's clock does not include it
    else withPostgres(`${name} [postgres]`, (pg) => body(async () => (await pg.migrated()).sql, 'postgres'), { migratedTemplate: true });
  }
}
