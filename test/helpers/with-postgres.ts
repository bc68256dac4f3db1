/**
 * The one set-up of every test file that needs a real PostgreSQL server (postgres.ts):
 *
 *   withPostgres('leadership (real PostgreSQL advisory lock)', (pg) => {
 *     test('…', async () => {
 *       const db = await pg.database();        // a fresh database on the file's one server
 *       const sql = await pg.open(db.url);     // openPostgres, migrate: false unless asked
 *       pg.defer(() => leadership.stop());     // anything else to undo after this test
 *     });
 *   });
 *
 * - One server per test file (sharedPostgres), started in `before`, so the first test's clock
 *   does not include it; a database per test, dropped after it.
 * - Everything a test opened or deferred is undone after that test, newest first (engines are
 *   closed before their database is dropped), even when the test failed.
 * - Locally a machine without PostgreSQL skips the suite (naming why); under CI=true it runs and
 *   fails, as the guide asks of every missing tool.
 */
import { afterEach, before, describe } from 'node:test';
import type { Sql } from '../../src/coordinator/store/engine.js';
import { openPostgres, type PostgresOptions } from '../../src/coordinator/store/pg-engine.js';
import { migratePostgres } from '../../src/coordinator/store/pg-migrations.js';
import { postgresMissing, sharedPostgres, startPostgres, type PgDatabase, type PgServer, type StartOptions } from './postgres.js';

export interface PgSuite {
  /** The file's one server; set before the first test runs. */
  readonly server: PgServer;
  /** A new empty database (or a copy of `template`), dropped after the test. */
  database(opts?: { template?: string }): Promise<PgDatabase>;
  /** The engine on `url` (migrate: false unless `opts.migrate`), closed after the test. */
  open(url: string, opts?: PostgresOptions): Promise<Sql>;
  /** A fresh database with the whole schema (a copy of one migrated once per file), and its engine. */
  migrated(): Promise<{ db: PgDatabase; sql: Sql }>;
  /** A server of the test's own (for tests that stop or break it), stopped after the test. */
  ownServer(opts?: StartOptions): Promise<PgServer>;
  /** Runs `fn` after the current test, before what was registered earlier. */
  defer(fn: () => unknown): void;
}

/** `describe`'s skip value for a PostgreSQL suite: why not, locally; never under CI=true. */
export function postgresSkip(): string | false {
  if (process.env.CI === 'true') return false;
  return postgresMissing() ?? false;
}

let template: Promise<string> | null = null;
/** The name of a database migrated once per test process; `migrated()` databases are file copies of it. */
export function migratedTemplate(): Promise<string> {
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

export function withPostgres(name: string, body: (pg: PgSuite) => void, opts: { migratedTemplate?: boolean } = {}): void {
  describe(name, { skip: postgresSkip() }, () => {
    let server: PgServer | undefined;
    const undo: (() => unknown)[] = [];
    before(async () => {
      server = await sharedPostgres();
      if (opts.migratedTemplate) await migratedTemplate();
    });
    afterEach(async () => {
      const errors: unknown[] = [];
      for (const fn of undo.splice(0).reverse()) {
        try {
          await fn();
        } catch (e) {
          errors.push(e);
        }
      }
      if (errors.length) throw new AggregateError(errors, 'cleaning up after the test failed');
    });
    const suite: PgSuite = {
      get server() {
        if (!server) throw new Error('withPostgres: the server is ready in tests, not while declaring them');
        return server;
      },
      async database(o) {
        const db = await suite.server.createDatabase(o);
        undo.push(() => db.drop());
        return db;
      },
      async open(url, o = {}) {
        const sql = await openPostgres(url, { migrate: false, ...o });
        undo.push(() => sql.close().catch(() => {})); // closing it yourself first is fine
        return sql;
      },
      async migrated() {
        const db = await suite.database({ template: await migratedTemplate() });
        return { db, sql: await suite.open(db.url) };
      },
      async ownServer(o) {
        const s = await startPostgres(o);
        undo.push(() => s.stop());
        return s;
      },
      defer(fn) {
        undo.push(fn);
      },
    };
    body(suite);
  });
}
