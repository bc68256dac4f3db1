// The engine matrix itself (test/helpers/store-engines.ts), and the portable-SQL rules of
// engine.ts holding on both engines: SQLite and a real PostgreSQL server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCHEMA_VERSIONS } from '../../src/coordinator/store/migrations.js';
import { forEachEngine } from '../helpers/store-engines.js';

forEachEngine('store engine matrix', (open, engine) => {
  test('open() gives a fresh, fully migrated database of that engine per call', async () => {
    const a = await open();
    const b = await open();
    assert.equal(a.kind, engine);
    const versions = await a.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      versions.map((v) => v.version),
      [...SCHEMA_VERSIONS],
    );
    await a.run('INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?, ?, ?)', ['ci', 'h1', 1]);
    assert.equal((await b.get<{ n: number }>('SELECT COUNT(*) AS n FROM api_tokens'))?.n, 0);
  });

  test('portable SQL answers the same: upsert with excluded, RETURNING, COALESCE, ||, byte-order text, "offset"', async () => {
    const sql = await open();
    const ins =
      'INSERT INTO api_tokens (name, token_hash, created_at) VALUES (@name, @hash, @at) ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash RETURNING id';
    const first = await sql.get<{ id: number }>(ins, { name: 'b', hash: 'h1', at: 1_764_000_000_000 });
    const again = await sql.get<{ id: number }>(ins, { name: 'b', hash: 'h2', at: 2 });
    assert.equal(again?.id, first?.id);
    await sql.run('INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING', ['B', 'h3', 3]);
    await sql.run('INSERT INTO api_tokens (name, token_hash, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING', [
      'b',
      'ignored',
      4,
    ]);
    const rows = await sql.all("SELECT name, token_hash || '!' AS h, COALESCE(NULL, created_at) AS at FROM api_tokens ORDER BY name");
    assert.deepEqual(rows, [
      { name: 'B', h: 'h3!', at: 3 },
      { name: 'b', h: 'h2!', at: 1_764_000_000_000 },
    ]);
    // "offset" is reserved in PostgreSQL: portable SQL double-quotes it
    const p = await sql.get<{ id: number }>(
      "INSERT INTO pipelines (project, ref, name, yaml, model_json, variables_json, status, created_at) VALUES ('p', 'main', 'n', '', '{}', '{}', 'running', 1) RETURNING id",
    );
    const j = await sql.get<{ id: number }>(
      "INSERT INTO jobs (pipeline_id, project, ref, name, stage, status, created_at) VALUES (?, 'p', 'main', 'build', 'test', 'pending', 1) RETURNING id",
      [p?.id],
    );
    await sql.run('INSERT INTO trace_chunks (job_id, "offset", data) VALUES (?, ?, ?)', [j?.id, 0, Buffer.from('hello')]);
    const chunk = await sql.get<{ offset: number; data: Buffer }>('SELECT "offset", data FROM trace_chunks WHERE job_id = ?', [j?.id]);
    assert.equal(chunk?.offset, 0);
    assert.equal(Buffer.from(chunk!.data).toString(), 'hello');
    // a failed transaction leaves nothing behind on either engine
    await assert.rejects(
      sql.tx(async () => {
        await sql.run('DELETE FROM api_tokens');
        throw new Error('abort');
      }),
    );
    assert.equal((await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM api_tokens'))?.n, 2);
  });
});
