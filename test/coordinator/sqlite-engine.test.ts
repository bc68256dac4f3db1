import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SqliteSql } from '../../src/coordinator/store/sqlite-engine.js';
import { tempDir } from '../helpers/tmp.js';

/** A real SQLite file (WAL, like the store's) with one table. */
function open(): { sql: SqliteSql; dispose: () => void } {
  const dir = tempDir();
  const db = new Database(join(dir.path, 't.db'));
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
  const sql = new SqliteSql(db);
  return {
    sql,
    dispose: () => {
      if (db.open) db.close();
      dir.dispose();
    },
  };
}

const values = async (sql: SqliteSql) => (await sql.all<{ v: string }>('SELECT v FROM t ORDER BY id')).map((r) => r.v);

describe('SqliteSql (better-sqlite3 behind the Sql seam)', () => {
  test('positional and named parameters; RETURNING gives the new id; changes counted', async () => {
    const { sql, dispose } = open();
    try {
      const a = await sql.get<{ id: number }>('INSERT INTO t (v) VALUES (?) RETURNING id', ['a']);
      const b = await sql.get<{ id: number }>('INSERT INTO t (v) VALUES (@v) RETURNING id', { v: 'b' });
      assert.deepEqual([a?.id, b?.id], [1, 2]);
      assert.deepEqual(await sql.run('UPDATE t SET v = v || ?', ['!']), { changes: 2 });
      assert.deepEqual(await values(sql), ['a!', 'b!']);
      assert.equal(await sql.get('SELECT * FROM t WHERE id = ?', [99]), undefined);
      assert.equal(sql.dialect.noIndex('pipeline_id'), '+pipeline_id');
    } finally {
      dispose();
    }
  });

  test('a transaction spanning awaits sees none of a concurrent caller’s writes, and they wait for it', async () => {
    const { sql, dispose } = open();
    try {
      const order: string[] = [];
      let go!: () => void;
      const gate = new Promise<void>((r) => (go = r));
      // Another caller, started outside the transaction's async context, acts while it is open.
      const outside = (async () => {
        await gate;
        await sql.run('INSERT INTO t (v) VALUES (?)', ['out']);
        order.push('outside wrote');
        return values(sql);
      })();
      await sql.tx(async () => {
        await sql.run('INSERT INTO t (v) VALUES (?)', ['in-1']);
        go();
        await nextTurn();
        await nextTurn();
        order.push('tx still open');
        // Only our own row: the outside write is queued, not part of this transaction.
        assert.deepEqual(await values(sql), ['in-1']);
        await sql.run('INSERT INTO t (v) VALUES (?)', ['in-2']);
      });
      assert.deepEqual(await outside, ['in-1', 'in-2', 'out']);
      assert.deepEqual(order, ['tx still open', 'outside wrote']);
    } finally {
      dispose();
    }
  });

  test('two concurrent transactions run one after the other, in arrival order', async () => {
    const { sql, dispose } = open();
    try {
      const one = sql.tx(async () => {
        await sql.run('INSERT INTO t (v) VALUES (?)', ['1a']);
        await nextTurn();
        await sql.run('INSERT INTO t (v) VALUES (?)', ['1b']);
      });
      const two = sql.tx(async () => {
        await sql.run('INSERT INTO t (v) VALUES (?)', ['2a']);
        await nextTurn();
        await sql.run('INSERT INTO t (v) VALUES (?)', ['2b']);
      });
      await Promise.all([one, two]);
      assert.deepEqual(await values(sql), ['1a', '1b', '2a', '2b']);
    } finally {
      dispose();
    }
  });

  test('a throw rolls the transaction back and rethrows; the connection is free afterwards', async () => {
    const { sql, dispose } = open();
    try {
      await sql.run('INSERT INTO t (v) VALUES (?)', ['kept']);
      await assert.rejects(
        sql.tx(async () => {
          await sql.run('INSERT INTO t (v) VALUES (?)', ['lost']);
          await nextTurn();
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual(await values(sql), ['kept']);
      assert.equal(sql.db.inTransaction, false);
    } finally {
      dispose();
    }
  });

  test('a nested transaction is a savepoint: its rollback keeps the outer work', async () => {
    const { sql, dispose } = open();
    try {
      await sql.tx(async () => {
        await sql.run('INSERT INTO t (v) VALUES (?)', ['outer']);
        await assert.rejects(
          sql.tx(async () => {
            await sql.run('INSERT INTO t (v) VALUES (?)', ['inner']);
            throw new Error('inner fails');
          }),
          /inner fails/,
        );
        await sql.tx(async () => {
          await sql.run('INSERT INTO t (v) VALUES (?)', ['inner-ok']);
        });
      });
      assert.deepEqual(await values(sql), ['outer', 'inner-ok']);
    } finally {
      dispose();
    }
  });

  test('a query from the context of a transaction that already ended does not deadlock', async () => {
    const { sql, dispose } = open();
    try {
      let late: (() => Promise<unknown>) | undefined;
      await sql.tx(async () => {
        await sql.run('INSERT INTO t (v) VALUES (?)', ['a']);
        // A callback made inside the tx's async context, called after it ended.
        late = () => sql.all('SELECT v FROM t');
      });
      const blocker = sql.tx(async () => {
        await nextTurn();
        await sql.run('INSERT INTO t (v) VALUES (?)', ['b']);
      });
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('deadlock')), 2000).unref());
      const rows = await Promise.race([late!(), timeout]);
      await blocker;
      // It waited for the open transaction like any outside caller.
      assert.deepEqual(rows, [{ v: 'a' }, { v: 'b' }]);
    } finally {
      dispose();
    }
  });

  test('probeWrite: writable while our own transaction holds the lock; busy while another connection does', async () => {
    const { sql, dispose } = open();
    try {
      await sql.tx(async () => {
        assert.equal(sql.probeWrite('t.db'), null);
      });
      const other = new Database(sql.db.name);
      other.exec('BEGIN IMMEDIATE');
      try {
        assert.equal(sql.probeWrite('t.db')?.kind, 'busy');
      } finally {
        other.exec('ROLLBACK');
        other.close();
      }
      assert.equal(sql.probeWrite('t.db'), null);
    } finally {
      dispose();
    }
  });
});
