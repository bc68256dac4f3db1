import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bindParams, rewriteParams } from '../../../src/coordinator/store/pg-params.js';

// [portable SQL, PostgreSQL text, names]
const CASES: [string, string, string[]][] = [
  ['SELECT * FROM jobs WHERE id = ?', 'SELECT * FROM jobs WHERE id = $1', []],
  ['UPDATE jobs SET status = ?, note = ? WHERE id = ?', 'UPDATE jobs SET status = $1, note = $2 WHERE id = $3', []],
  ['SELECT ?,?', 'SELECT $1,$2', []],
  // placeholders inside literals, identifiers and comments are text
  ["SELECT 'who?' AS q, ? AS p", "SELECT 'who?' AS q, $1 AS p", []],
  ["SELECT 'it''s ? here', ?", "SELECT 'it''s ? here', $1", []],
  ['SELECT "a?b" FROM t WHERE x = ?', 'SELECT "a?b" FROM t WHERE x = $1', []],
  ['SELECT "we""ird?" FROM t WHERE x = ?', 'SELECT "we""ird?" FROM t WHERE x = $1', []],
  ['SELECT ? -- why? @no\nFROM t', 'SELECT $1 -- why? @no\nFROM t', []],
  ['SELECT /* a ? /* nested @x */ still ? */ ?', 'SELECT /* a ? /* nested @x */ still ? */ $1', []],
  ["SELECT E'\\'?' , ?", "SELECT E'\\'?' , $1", []],
  ['SELECT $$ ? @x $$, ?', 'SELECT $$ ? @x $$, $1', []],
  ['SELECT $body$ ? $body$, ?', 'SELECT $body$ ? $body$, $1', []],
  // named
  ['INSERT INTO t (a, b) VALUES (@a, @b)', 'INSERT INTO t (a, b) VALUES ($1, $2)', ['a', 'b']],
  ['SELECT * FROM t WHERE a = @x OR b = @x AND c = @y', 'SELECT * FROM t WHERE a = $1 OR b = $1 AND c = $2', ['x', 'y']],
  ["SELECT '@x' AS lit, @x_1", "SELECT '@x' AS lit, $1", ['x_1']],
  ['SELECT @id::bigint, a::text FROM t', 'SELECT $1::bigint, a::text FROM t', ['id']],
  // operators and casts are not parameters
  ['SELECT tags @> ? FROM t', 'SELECT tags @> $1 FROM t', []],
  ['SELECT 1::int', 'SELECT 1::int', []],
  ["SELECT 'user@host' FROM t WHERE a = ?", "SELECT 'user@host' FROM t WHERE a = $1", []],
];

describe('pg-params: ? and @name → $n outside literals', () => {
  for (const [sql, text, names] of CASES) {
    test(JSON.stringify(sql), () => {
      const r = rewriteParams(sql);
      assert.equal(r.text, text);
      assert.deepEqual([...r.names], names);
    });
  }

  test('mixing ? and @name in one statement is refused', () => {
    assert.throws(() => rewriteParams('SELECT ? , @a'), /mixes \? and @name/);
  });

  test('an unterminated literal is refused, not guessed at', () => {
    assert.throws(() => rewriteParams("SELECT 'oops, ?"), /unterminated string literal/);
    assert.throws(() => rewriteParams('SELECT "oops'), /unterminated quoted identifier/);
    assert.throws(() => rewriteParams('SELECT /* ?'), /unterminated comment/);
  });

  test('binding: named values in $n order, a missing name is an error (never NULL)', () => {
    const r = rewriteParams('SELECT @b, @a, @b');
    assert.deepEqual(bindParams(r, { a: 1, b: 'two', extra: 3 }, 'q'), ['two', 1]);
    assert.deepEqual(bindParams(r, { a: null, b: 0 }, 'q'), [0, null]);
    assert.throws(() => bindParams(r, { b: 1 }, 'q'), /missing named parameter @a/);
    assert.throws(() => bindParams(r, [1, 2], 'q'), /@name parameters but got an array/);
  });

  test('binding: positional count must match', () => {
    const r = rewriteParams('SELECT ?, ?');
    assert.deepEqual(bindParams(r, [1, 2], 'q'), [1, 2]);
    assert.throws(() => bindParams(r, [1], 'q'), /2 \? parameter\(s\) but got 1/);
    assert.throws(() => bindParams(r, { a: 1 }, 'q'), /got an object/);
    assert.deepEqual(bindParams(rewriteParams('SELECT 1'), undefined, 'q'), []);
    assert.deepEqual(bindParams(rewriteParams('SELECT 1'), {}, 'q'), []);
  });
});
