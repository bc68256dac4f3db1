// The PostgreSQL schema (pg-migrations.ts) against SQLite's (migrations.ts), on a real server:
// a SQLite migration without its PostgreSQL port fails here instead of drifting silently.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import type { Sql } from '../../../src/coordinator/store/engine.js';
import { migrate, SCHEMA_VERSIONS } from '../../../src/coordinator/store/migrations.js';
import { migratePostgres, PG_SCHEMA_VERSIONS } from '../../../src/coordinator/store/pg-migrations.js';
import { tempDir } from '../../helpers/tmp.js';
import { withPostgres } from '../../helpers/with-postgres.js';

interface Shape {
  /** table → "col type notnull default" lines */
  columns: Record<string, string[]>;
  /** table → primary key columns */
  pks: Record<string, string>;
  /** "table(cols) unique? partial?" for every non-PK index; explicit ones carry their name */
  indexes: string[];
  /** "table.col → table.col on delete X" */
  fks: string[];
}

const normDefault = (d: string | null) => (d == null ? '' : d.replace(/::[a-z ]+$/, ''));

function sqliteShape(db: Database.Database): Shape {
  const tables = (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]
  ).map((r) => r.name);
  const shape: Shape = { columns: {}, pks: {}, indexes: [], fks: [] };
  for (const t of tables) {
    const cols = db.pragma(`table_info(${t})`) as { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }[];
    // a PRIMARY KEY column cannot hold NULL in practice (rowid alias), whatever notnull says
    shape.columns[t] = cols
      .map((c) => `${c.name} ${c.type.toUpperCase()} ${c.notnull || c.pk ? 'NOT NULL' : 'NULL'} ${normDefault(c.dflt_value)}`.trim())
      .sort();
    shape.pks[t] = cols
      .filter((c) => c.pk > 0)
      .sort((a, b) => a.pk - b.pk)
      .map((c) => c.name)
      .join(',');
    for (const ix of db.pragma(`index_list(${t})`) as { name: string; unique: number; origin: string; partial: number }[]) {
      if (ix.origin === 'pk') continue;
      const cols = (db.pragma(`index_info(${ix.name})`) as { name: string }[]).map((c) => c.name).join(',');
      shape.indexes.push(
        `${ix.origin === 'c' ? ix.name : '(constraint)'} ${t}(${cols})${ix.unique ? ' unique' : ''}${ix.partial ? ' partial' : ''}`,
      );
    }
    for (const fk of db.pragma(`foreign_key_list(${t})`) as { table: string; from: string; to: string; on_delete: string }[]) {
      shape.fks.push(`${t}.${fk.from} → ${fk.table}.${fk.to} on delete ${fk.on_delete}`);
    }
  }
  shape.indexes.sort();
  shape.fks.sort();
  return shape;
}

const PG_TYPE: Record<string, string> = { bigint: 'INTEGER', integer: 'INTEGER', text: 'TEXT', bytea: 'BLOB', 'double precision': 'REAL' };
const PG_ON_DELETE: Record<string, string> = { a: 'NO ACTION', c: 'CASCADE', r: 'RESTRICT', n: 'SET NULL', d: 'SET DEFAULT' };

async function pgShape(sql: Sql): Promise<Shape> {
  const shape: Shape = { columns: {}, pks: {}, indexes: [], fks: [] };
  const cols = await sql.all<{
    table_name: string;
    column_name: string;
    data_type: string;
    is_nullable: string;
    column_default: string | null;
  }>(
    "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public'",
  );
  for (const c of cols) {
    const type = PG_TYPE[c.data_type] ?? `unmapped:${c.data_type}`;
    (shape.columns[c.table_name] ??= []).push(
      `${c.column_name} ${type} ${c.is_nullable === 'NO' ? 'NOT NULL' : 'NULL'} ${normDefault(c.column_default)}`.trim(),
    );
  }
  for (const t of Object.keys(shape.columns)) shape.columns[t].sort();
  const ixs = await sql.all<{
    tbl: string;
    name: string;
    cols: string;
    uniq: number;
    prim: number;
    partial: number;
    constraint_backed: number;
  }>(`
    SELECT t.relname AS tbl, i.relname AS name,
      (SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) AS cols,
      CASE WHEN x.indisunique THEN 1 ELSE 0 END AS uniq, CASE WHEN x.indisprimary THEN 1 ELSE 0 END AS prim,
      CASE WHEN x.indpred IS NULL THEN 0 ELSE 1 END AS partial,
      CASE WHEN EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) THEN 1 ELSE 0 END AS constraint_backed
    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_namespace ns ON ns.oid = t.relnamespace WHERE ns.nspname = 'public'`);
  for (const ix of ixs) {
    if (ix.prim) shape.pks[ix.tbl] = ix.cols;
    else
      shape.indexes.push(
        `${ix.constraint_backed ? '(constraint)' : ix.name} ${ix.tbl}(${ix.cols})${ix.uniq ? ' unique' : ''}${ix.partial ? ' partial' : ''}`,
      );
  }
  const fks = await sql.all<{ tbl: string; col: string; ref: string; refcol: string; del: string }>(`
    SELECT t.relname AS tbl, a.attname AS col, r.relname AS ref, ra.attname AS refcol, c.confdeltype AS del
    FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = c.conkey[1]
    JOIN pg_attribute ra ON ra.attrelid = r.oid AND ra.attnum = c.confkey[1]
    WHERE c.contype = 'f'`);
  shape.fks = fks.map((f) => `${f.tbl}.${f.col} → ${f.ref}.${f.refcol} on delete ${PG_ON_DELETE[f.del]}`);
  shape.indexes.sort();
  shape.fks.sort();
  return shape;
}

withPostgres('pg-migrations (real PostgreSQL)', (pg) => {
  test('the same version numbers as the SQLite migrations', () => {
    assert.deepEqual([...PG_SCHEMA_VERSIONS], [...SCHEMA_VERSIONS]);
  });

  test('two coordinators starting together on a fresh database: both succeed, schema applied once', async () => {
    const db = await pg.database();
    const [a, b] = await Promise.all([pg.open(db.url), pg.open(db.url)]);
    const [appliedA, appliedB] = await Promise.all([migratePostgres(a), migratePostgres(b)]);
    // one of them did all the work while the other waited on the advisory lock
    assert.deepEqual([appliedA, appliedB].map((x) => x.length).sort(), [0, PG_SCHEMA_VERSIONS.length]);
    const rows = await a.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      rows.map((r) => r.version),
      [...PG_SCHEMA_VERSIONS],
    );
    // and openPostgres (which migrates) twice more at once: nothing left to do, no error
    const [c] = await Promise.all([pg.open(db.url, { migrate: true }), pg.open(db.url, { migrate: true })]);
    assert.deepEqual(await migratePostgres(c), []);
  });

  test('every table, column (type, NOT NULL, default), primary key, index and foreign key equals SQLite after all migrations', async () => {
    const dir = tempDir();
    const lite = new Database(join(dir.path, 'schema.db'));
    try {
      migrate(lite);
      const expected = sqliteShape(lite);
      const db = await pg.database();
      const actual = await pgShape(await pg.open(db.url, { migrate: true }));
      assert.deepEqual(Object.keys(actual.columns).sort(), Object.keys(expected.columns).sort(), 'tables');
      for (const t of Object.keys(expected.columns)) assert.deepEqual(actual.columns[t], expected.columns[t], `columns of ${t}`);
      assert.deepEqual(actual.pks, expected.pks, 'primary keys');
      assert.deepEqual(actual.indexes, expected.indexes, 'indexes');
      assert.deepEqual(actual.fks, expected.fks, 'foreign keys');
    } finally {
      lite.close();
      dir.dispose();
    }
  });

  test('the ported data migration (10) runs on PostgreSQL too: incidents rows are carried over', async () => {
    const sql = await pg.open((await pg.database()).url);
    // stop at 9, write an old-style incident, then apply the rest
    const { PG_MIGRATIONS } = await import('../../../src/coordinator/store/pg-migrations.js');
    await sql.tx(async () => {
      await sql.run('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      for (const m of PG_MIGRATIONS.filter((x) => x.version <= 9)) {
        await sql.run(m.sql);
        await sql.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [m.version, 1]);
      }
    });
    await sql.run(
      "INSERT INTO incidents (cause, target, scope, opened_at, last_failure_at, resolved_at) VALUES ('registry_unreachable', 'r:5000', 'registry', 10, 20, 30)",
    );
    assert.deepEqual(
      await migratePostgres(sql),
      PG_SCHEMA_VERSIONS.filter((v) => v >= 10),
    );
    const row = await sql.get('SELECT first_failure_at, opened_at, dependency_kind, state, resolved_reason FROM incidents');
    assert.deepEqual(row, {
      first_failure_at: 10,
      opened_at: 10,
      dependency_kind: 'registry',
      state: 'resolved',
      resolved_reason: 'evidence',
    });
  });
});
