/**
 * `database_url:` / `--database-url` / `FAULTLINE_DATABASE_URL`: SQLite stays the default; a
 * URL that is not postgres:// is refused naming the field; a postgres:// URL is refused at
 * start-up (naming the option and why) while this build has no PostgreSQL engine — never
 * ignored. The CLI cases run the real `faultline coordinator` process.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCoordinatorConfig } from '../../src/coordinator/config-file.js';
import { chooseDatabase, redactUrl } from '../../src/coordinator/database-url.js';
import { createCoordinator } from '../../src/coordinator/index.js';
import { hostEnv } from '../../src/runner/host-env.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

describe('database URL', () => {
  test('no URL is the embedded SQLite store; other schemes are refused naming where the URL came from', () => {
    assert.deepEqual(chooseDatabase(undefined), { kind: 'sqlite' });
    assert.throws(
      () => chooseDatabase('sqlite:///var/lib/x.db', '--database-url'),
      /^DatabaseUrlError: --database-url: "sqlite:" URLs are not supported: only postgres:\/\/ or postgresql:\/\//,
    );
    assert.throws(
      () => chooseDatabase('mysql://u@db/x', 'FAULTLINE_DATABASE_URL'),
      /FAULTLINE_DATABASE_URL: "mysql:" URLs are not supported/,
    );
    assert.throws(() => chooseDatabase('db.example:5432', 'x'), /x: ("db.example:" URLs are not supported|.*is not a URL)/);
    assert.throws(() => chooseDatabase('  ', '--database-url'), /--database-url: is empty/);
    assert.throws(() => chooseDatabase('postgres://', '--database-url'), /names no host/);
  });

  test('a postgres:// or postgresql:// URL chooses PostgreSQL; redactUrl hides the password', () => {
    for (const url of ['postgres://fl:s3cret@db:5432/faultline', 'postgresql://fl@db/faultline'])
      assert.deepEqual(chooseDatabase(url, 'database_url'), { kind: 'postgres', url });
    assert.deepEqual(chooseDatabase(undefined), { kind: 'sqlite' });
    assert.equal(redactUrl('postgres://fl:s3cret@db/x'), 'postgres://fl:***@db/x');
  });

  test('coordinator.yml: database_url is read, and a bad one is a problem at its line naming the field', () => {
    const ok = parseCoordinatorConfig('port: 8080\ndatabase_url: postgresql://fl@db:5432/faultline\n', 'c.yml');
    assert.ok(ok.ok);
    assert.equal(ok.options.databaseUrl, 'postgresql://fl@db:5432/faultline');
    const bad = parseCoordinatorConfig('port: 8080\ndatabase_url: mysql://fl@db/faultline\n', 'c.yml');
    assert.equal(bad.ok, false);
    const [p] = (bad as { problems: Array<{ line: number; path: string; message: string }> }).problems;
    assert.equal(p!.line, 2);
    assert.equal(p!.path, 'database_url');
    assert.match(p!.message, /"mysql:" URLs are not supported/);
  });

  test('createCoordinator on an unreachable PostgreSQL fails naming the server, before it creates anything', async () => {
    const tmp = tempDir();
    try {
      const dataDir = join(tmp.path, 'data');
      // Port 1: nothing listens there, the connection is refused at once.
      await assert.rejects(
        createCoordinator({ dataDir, databaseUrl: 'postgres://fl@127.0.0.1:1/x' }),
        /database unreachable: PostgreSQL at fl@127\.0\.0\.1:1\/x: connect ECONNREFUSED/,
      );
      assert.equal(existsSync(dataDir), false);
    } finally {
      tmp.dispose();
    }
  });

  test('jobs never see FAULTLINE_DATABASE_URL (it may hold the password)', () => {
    assert.deepEqual(hostEnv({ FAULTLINE_DATABASE_URL: 'postgres://fl:pw@db/x', PATH: '/bin' }), { PATH: '/bin' });
  });

  test('CLI: --database-url, FAULTLINE_DATABASE_URL and database_url each reach the database they name (unreachable here: exit 1 naming it)', async () => {
    const tmp = tempDir();
    try {
      const cfg = join(tmp.path, 'coordinator.yml');
      writeFileSync(cfg, 'database_url: postgres://fl@127.0.0.1:1/from-file\n');
      const data = (n: string) => join(tmp.path, n);
      const [flag, env, file, scheme] = await Promise.all([
        runCli(['coordinator', '--port', '0', '--data', data('a'), '--database-url', 'postgres://fl:pw-in-argv@127.0.0.1:1/faultline']),
        runCli(['coordinator', '--port', '0', '--data', data('b')], undefined, {
          FAULTLINE_DATABASE_URL: 'postgresql://fl@127.0.0.1:1/from-env',
        }),
        runCli(['coordinator', '--port', '0', '--data', data('c'), '--config', cfg]),
        runCli(['coordinator', '--port', '0', '--data', data('d'), '--database-url', 'sqlite:///tmp/x.db']),
      ]);
      assert.equal(flag.status, 1, flag.stderr);
      assert.match(flag.stderr, /error: database unreachable: PostgreSQL at fl@127\.0\.0\.1:1\/faultline/);
      assert.match(flag.stderr, /warning: --database-url holds a password/);
      assert.equal(flag.stderr.includes('pw-in-argv'), false);
      assert.equal(env.status, 1, env.stderr);
      assert.match(env.stderr, /error: database unreachable: PostgreSQL at fl@127\.0\.0\.1:1\/from-env/);
      assert.equal(file.status, 1, file.stderr);
      assert.match(file.stderr, /error: database unreachable: PostgreSQL at fl@127\.0\.0\.1:1\/from-file/);
      assert.equal(scheme.status, 1, scheme.stderr);
      assert.match(scheme.stderr, /error: --database-url: "sqlite:" URLs are not supported: only postgres:\/\/ or postgresql:\/\//);
      for (const d of ['a', 'b', 'c', 'd']) assert.equal(existsSync(data(d)), false, `nothing created in ${d}`);
    } finally {
      tmp.dispose();
    }
  });
});
