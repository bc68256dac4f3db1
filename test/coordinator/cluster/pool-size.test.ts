/**
 * `database_pool_size:` / `--database-pool-size` / `databasePoolSize`: how many PostgreSQL
 * connections one coordinator opens at most (every coordinator's pool counts against the server's
 * max_connections). Real PostgreSQL: the connections are counted in pg_stat_activity while more
 * queries than that are in flight. The file and flag cases check the refusals name the field.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Writable } from 'node:stream';
import pino from 'pino';
import { parseCoordinatorConfig } from '../../../src/coordinator/config-file.js';
import { createCoordinator } from '../../../src/coordinator/index.js';
import { runCli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/tmp.js';
import { migratedTemplate, withPostgres } from '../../helpers/with-postgres.js';
import { harness } from '../helpers.js';

withPostgres('database pool size (real PostgreSQL)', (pg) => {
  /** The most connections of the coordinator's pool seen while `queries` sleep at once. */
  const peakWhileBusy = async (databasePoolSize: number | undefined, queries: number) => {
    const db = await pg.database({ template: await migratedTemplate() });
    const h = await harness({ databaseUrl: db.url, ...(databasePoolSize === undefined ? {} : { databasePoolSize }) });
    pg.defer(() => h.close());
    let finished = 0;
    const sleeps = Array.from({ length: queries }, () => h.c.store.sql.get('SELECT pg_sleep(1) AS slept').then(() => finished++));
    let peak = 0;
    // Counted until the last one is done, so a slow connection start on a busy machine cannot hide one.
    while (finished < queries) {
      const [row] = await pg.server.admin<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'faultline'`,
        [db.name],
      );
      peak = Math.max(peak, row!.n);
      await new Promise((r) => setTimeout(r, 50));
    }
    await Promise.all(sleeps);
    return peak;
  };

  test('a coordinator opens at most databasePoolSize connections; more queries wait for one', async () => {
    assert.equal(await peakWhileBusy(2, 4), 2);
    const unlimited = await peakWhileBusy(undefined, 4);
    assert.ok(unlimited >= 4, `without it (default 10) all four at once, and what the start left open: ${unlimited}`);
  });
});

test('database_pool_size in coordinator.yml: read; a count that is not a whole number from 1 is a problem at its line', () => {
  const ok = parseCoordinatorConfig('database_url: postgres://fl@db/x\ndatabase_pool_size: 4\n', 'c.yml');
  assert.ok(ok.ok);
  assert.equal(ok.options.databasePoolSize, 4);
  for (const bad of ['0', '2.5', 'ten']) {
    const r = parseCoordinatorConfig(`port: 8080\ndatabase_pool_size: ${bad}\n`, 'c.yml');
    assert.equal(r.ok, false, bad);
    const [p] = (r as { problems: Array<{ line: number; path: string }> }).problems;
    assert.deepEqual([p!.line, p!.path], [2, 'database_pool_size'], bad);
  }
});

test('--database-pool-size: refused naming the flag unless a whole number from 1 to 1000', async () => {
  const tmp = tempDir();
  try {
    const r = await runCli(['coordinator', '--port', '0', '--data', tmp.path, '--database-pool-size', '0']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--database-pool-size <n>.*'0' is invalid\. expected a whole number from 1 to 1000/);
  } finally {
    tmp.dispose();
  }
});

test('databasePoolSize on the SQLite store changes nothing: warned about, and a bad one is refused naming it', async () => {
  const tmp = tempDir();
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) });
  try {
    await assert.rejects(createCoordinator({ dataDir: tmp.path, databasePoolSize: 0 }), /databasePoolSize: expected a whole number/);
    const c = await createCoordinator({ dataDir: tmp.path, port: 0, databasePoolSize: 4, logger: pino({ level: 'warn' }, sink) });
    await c.close();
    assert.ok(
      lines.some((l) => l.includes('database pool size applies to PostgreSQL only')),
      lines.join(''),
    );
  } finally {
    tmp.dispose();
  }
});
