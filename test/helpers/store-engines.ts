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
import { afterEach, before, describe } from 'node:test';
import { openDb } from '../../src/coordinator/store/db.js';
import type { Sql } from '../../src/coordinator/store/engine.js';
import { openPostgres } from '../../src/coordinator/store/pg-engine.js';
import { migratePostgres } from '../../src/coordinator/store/pg-migrations.js';
import { SqliteSql } from '../../src/coordinator/store/sqlite-engine.js';
import { postgresMissing, sharedPostgres } from './postgres.js';
import { tempDir } from './tmp.js';

export type EngineName = 'sqlite' | 'postgres';
export const ENGINE_NAMES: readonly EngineName[] = ['sqlite', 'postgres'];
export type OpenSql = () => Promise<Sql>;

async function openSqliteSql(): Promise<{ sql: Sql; cleanup: () => Promise<void> }> {
  const dir = tempDir('faultline-engine-');
  const sql = new SqliteSql(openDb(dir.path));
  return { sql, cleanup: async () => (await sql.close().catch(() => {}), dir.dispose()) };
}

let template: Promise<string> | null = null;
/** A database migrated once per test process; each test's database is a file copy of it. */
function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    const server = await sharedPostgres();
    const db = await server.createDatabase({ name: 'faultline_template' });
    const sql = await openPostgres(db.url, { migrate: false });
    try {
      await migratePostgres(sql);
    } finally {
      await sql.close(); // a template must have no connections when it is copied
    }
    return db.name;
  })();
  return template;
}

async function openPostgresSql(): Promise<{ sql: Sql; cleanup: () => Promise<void> }> {
  const server = await sharedPostgres();
  const db = await server.createDatabase({ template: await migratedTemplate() });
  const sql = await openPostgres(db.url, { migrate: false });
  return { sql, cleanup: async () => (await sql.close().catch(() => {}), await db.drop()) };
}

function selected(): readonly EngineName[] {
  const env = process.env.FAULTLINE_TEST_ENGINES;
  if (!env || process.env.CI === 'true') return ENGINE_NAMES;
  return ENGINE_NAMES.filter((e) => env.split(',').includes(e));
}

function whyNot(engine: EngineName): string | false {
  if (process.env.CI === 'true') return false; // under CI nothing is skipped: a missing part fails
  return (engine === 'postgres' ? postgresMissing() : null) ?? false;
}

export function forEachEngine(
  name: string,
  body: (open: OpenSql, engine: EngineName) => void,
  opts: { engines?: readonly EngineName[] } = {},
): void {
  for (const engine of (opts.engines ?? ENGINE_NAMES).filter((e) => selected().includes(e))) {
    describe(`${name} [${engine}]`, { skip: whyNot(engine) }, () => {
      const cleanups: (() => Promise<void>)[] = [];
      // start the server (and migrate the template) before the first test's clock starts
      if (engine === 'postgres') before(async () => void (await migratedTemplate()));
      afterEach(async () => {
        for (const c of cleanups.splice(0)) await c();
      });
      const open: OpenSql = async () => {
        const { sql, cleanup } = await (engine === 'postgres' ? openPostgresSql() : openSqliteSql());
        cleanups.push(cleanup);
        return sql;
      };
      body(open, engine);
    });
  }
}
