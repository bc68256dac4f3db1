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
import { chooseDatabase, DatabaseUrlError, redactUrl } from '../../src/coordinator/database-url.js';
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

  test('a postgres:// URL is refused while the PostgreSQL engine is not wired, naming the option, why, and without its password', () => {
    for (const url of ['postgres://fl:s3cret@db:5432/faultline', 'postgresql://fl@db/faultline']) {
      const err = (() => {
        try {
          chooseDatabase(url, 'database_url in /etc/faultline/coordinator.yml');
        } catch (e) {
          return e as Error;
        }
        assert.fail(`accepted ${url}`);
      })();
      assert.ok(err instanceof DatabaseUrlError);
      assert.match(
        err.message,
        /^database_url in \/etc\/faultline\/coordinator\.yml: postgres(ql)?:\/\/fl.*@db.*: this faultline cannot use PostgreSQL yet/,
      );
      assert.match(err.message, /remove database_url in \/etc\/faultline\/coordinator\.yml to run on the embedded SQLite store/);
      assert.equal(err.message.includes('s3cret'), false);
    }
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

  test('createCoordinator refuses a postgres:// URL before it creates anything', async () => {
    const tmp = tempDir();
    try {
      const dataDir = join(tmp.path, 'data');
      await assert.rejects(
        createCoordinator({ dataDir, databaseUrl: 'postgres://fl@127.0.0.1/x' }),
        /databaseUrl: .*cannot use PostgreSQL yet/,
      );
      assert.equal(existsSync(dataDir), false);
    } finally {
      tmp.dispose();
    }
  });

  test('jobs never see FAULTLINE_DATABASE_URL (it may hold the password)', () => {
    assert.deepEqual(hostEnv({ FAULTLINE_DATABASE_URL: 'postgres://fl:pw@db/x', PATH: '/bin' }), { PATH: '/bin' });
  });

  test('CLI: --database-url, FAULTLINE_DATABASE_URL and database_url each refuse to start, naming themselves', async () => {
    const tmp = tempDir();
    try {
      const cfg = join(tmp.path, 'coordinator.yml');
      writeFileSync(cfg, 'database_url: postgres://fl@127.0.0.1:5432/faultline\n');
      const data = (n: string) => join(tmp.path, n);
      const [flag, env, file, scheme] = await Promise.all([
        runCli(['coordinator', '--port', '0', '--data', data('a'), '--database-url', 'postgres://fl:pw-in-argv@127.0.0.1/faultline']),
        runCli(['coordinator', '--port', '0', '--data', data('b')], undefined, {
          FAULTLINE_DATABASE_URL: 'postgresql://fl@127.0.0.1/faultline',
        }),
        runCli(['coordinator', '--port', '0', '--data', data('c'), '--config', cfg]),
        runCli(['coordinator', '--port', '0', '--data', data('d'), '--database-url', 'sqlite:///tmp/x.db']),
      ]);
      assert.equal(flag.status, 1, flag.stderr);
      assert.match(
        flag.stderr,
        /error: --database-url: postgres:\/\/fl:\*\*\*@127\.0\.0\.1\/faultline: this faultline cannot use PostgreSQL yet/,
      );
      assert.match(flag.stderr, /warning: --database-url holds a password/);
      assert.equal(flag.stderr.includes('pw-in-argv'), false);
      assert.equal(env.status, 1, env.stderr);
      assert.match(
        env.stderr,
        /error: FAULTLINE_DATABASE_URL: postgresql:\/\/fl@127\.0\.0\.1\/faultline: this faultline cannot use PostgreSQL yet/,
      );
      assert.equal(file.status, 1, file.stderr);
      assert.match(file.stderr, new RegExp(`error: database_url in ${cfg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: postgres://`));
      assert.equal(scheme.status, 1, scheme.stderr);
      assert.match(scheme.stderr, /error: --database-url: "sqlite:" URLs are not supported: only postgres:\/\/ or postgresql:\/\//);
      for (const d of ['a', 'b', 'c', 'd']) assert.equal(existsSync(data(d)), false, `nothing created in ${d}`);
    } finally {
      tmp.dispose();
    }
  });
});
