/**
 * Portable parameters (`?` positional, `@name` named; see engine.ts) → PostgreSQL's `$n`.
 * A scanner, not a regex: placeholders inside string literals, quoted identifiers, comments and
 * dollar-quoted bodies are text, not parameters (`'who?'`, `"a?b"`, `-- why?`), and `::` casts
 * and `@>`-style operators are left alone.
 */
import type { Params } from './engine.js';

export interface Rewritten {
  text: string;
  /** Positional: how many `?`. Named: the names in `$n` order (a repeated name reuses its `$n`). */
  positional: number;
  names: readonly string[];
}

const identStart = (c: string) => /[A-Za-z_]/.test(c);
const identPart = (c: string) => /[A-Za-z0-9_$]/.test(c);

/** Index just past a quoted run starting at `i` (the opening quote); `q` doubled inside is itself. */
function skipQuoted(sql: string, i: number, q: string, backslash: boolean): number {
  for (let j = i + 1; j < sql.length; j++) {
    if (backslash && sql[j] === '\\') j++;
    else if (sql[j] === q) {
      if (sql[j + 1] === q) j++;
      else return j + 1;
    }
  }
  throw new Error(`unterminated ${q === "'" ? 'string literal' : 'quoted identifier'} in SQL: ${sql}`);
}

export function rewriteParams(sql: string): Rewritten {
  let out = '';
  let positional = 0;
  const names: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    const prev = i > 0 ? sql[i - 1] : '';
    let end = i + 1;
    if (c === "'") {
      // E'…' takes backslash escapes; a standard literal does not (standard_conforming_strings).
      end = skipQuoted(sql, i, "'", /[eE]/.test(prev) && !identPart(sql[i - 2] ?? ''));
    } else if (c === '"') {
      end = skipQuoted(sql, i, '"', false);
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      end = nl < 0 ? sql.length : nl;
    } else if (c === '/' && sql[i + 1] === '*') {
      // PostgreSQL block comments nest
      let depth = 0;
      end = i;
      do {
        if (end >= sql.length) throw new Error(`unterminated comment in SQL: ${sql}`);
        if (sql.startsWith('/*', end)) depth++;
        else if (sql.startsWith('*/', end)) depth--;
        end += sql.startsWith('/*', end) || sql.startsWith('*/', end) ? 2 : 1;
      } while (depth > 0);
    } else if (c === '$' && !identPart(prev)) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        if (close < 0) throw new Error(`unterminated dollar-quoted string in SQL: ${sql}`);
        end = close + tag[0].length;
      }
    } else if (c === '?') {
      out += `$${++positional}`;
      i++;
      continue;
    } else if (c === '@' && identStart(sql[i + 1] ?? '') && !identPart(prev)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j])) j++;
      const name = sql.slice(i + 1, j);
      let n = names.indexOf(name);
      if (n < 0) n = names.push(name) - 1;
      out += `$${n + 1}`;
      i = j;
      continue;
    }
    out += sql.slice(i, end);
    i = end;
  }
  if (positional > 0 && names.length > 0) throw new Error(`SQL mixes ? and @name parameters: ${sql}`);
  return { text: out, positional, names };
}

/** The `$n` values for `params`, checked: a missing name or a wrong count is an error, not a NULL. */
export function bindParams(r: Rewritten, params: Params | undefined, sql: string): unknown[] {
  if (r.names.length > 0) {
    if (params === undefined || Array.isArray(params))
      throw new Error(`SQL uses @name parameters but got ${params ? 'an array' : 'none'}: ${sql}`);
    const obj = params as Readonly<Record<string, unknown>>;
    return r.names.map((n) => {
      if (obj[n] === undefined) throw new Error(`missing named parameter @${n}: ${sql}`);
      return obj[n];
    });
  }
  const arr = params === undefined ? [] : params;
  if (!Array.isArray(arr)) {
    if (r.positional === 0 && Object.keys(arr).length === 0) return [];
    throw new Error(`SQL uses ? parameters but got an object: ${sql}`);
  }
  if (arr.length !== r.positional) throw new Error(`SQL has ${r.positional} ? parameter(s) but got ${arr.length} value(s): ${sql}`);
  return arr as unknown[];
}
