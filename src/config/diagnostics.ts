/**
 * Collects every error and warning of one compilation, each with a path and a
 * 1-based position. Identical problems at the same position are reported once:
 * a template inherited by ten jobs should not produce ten copies of its mistake.
 */
import type { ConfigWarning } from '../pipeline/model.js';
import type { ConfigError } from './index.js';
import { Reference, type Pos } from './yaml-source.js';

export class Diagnostics {
  readonly errors: ConfigError[] = [];
  readonly warnings: ConfigWarning[] = [];
  private readonly seen = new Set<string>();

  /** `code` marks the errors that only say "nothing to run in this context" (lint warns on them). */
  error(path: string, pos: Pos, text: string, code?: ConfigError['code'], want?: ConfigError['want']): void {
    const item = this.add(this.errors, 'E', path, pos, text, code);
    if (item && want) item.want = want;
  }

  warn(path: string, pos: Pos, text: string): void {
    this.add(this.warnings, 'W', path, pos, text);
  }

  private add(list: ConfigError[], kind: string, path: string, pos: Pos, text: string, code?: ConfigError['code']): ConfigError | null {
    const key = `${kind}${pos.file ?? ''}:${pos.line}:${pos.column}:${text}`;
    if (this.seen.has(key)) return null;
    this.seen.add(key);
    const item: ConfigError = { path, line: pos.line, column: pos.column, message: path ? `${path}: ${text}` : text };
    if (pos.file !== undefined) item.file = pos.file;
    if (code !== undefined) item.code = code;
    list.push(item);
    return item;
  }

  sorted(): { errors: ConfigError[]; warnings: ConfigWarning[] } {
    // The compiled file first, then each included file; by position within a file.
    const by = (a: ConfigError, b: ConfigError) => (a.file ?? '').localeCompare(b.file ?? '') || a.line - b.line || a.column - b.column;
    return { errors: [...this.errors].sort(by), warnings: [...this.warnings].sort(by) };
  }
}

/** Join path segments GitLab-style: `build.needs[0].job`. */
export function joinPath(base: string, ...segs: (string | number)[]): string {
  let out = base;
  for (const s of segs) out += typeof s === 'number' ? `[${s}]` : out ? `.${s}` : s;
  return out;
}

/** "a number", "a list", "null" … for "expected X, got Y" messages. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing (null)';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Reference) return 'an unresolved !reference';
  switch (typeof v) {
    case 'string':
      return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
    case 'number':
      return `a number (${v})`;
    case 'boolean':
      return `a boolean (${v})`;
    case 'object':
      return 'a map';
    default:
      return typeof v;
  }
}

/** Edit distance where swapping two neighbours counts as one edit (optimal string alignment). */
export function levenshtein(a: string, b: string): number {
  if (a === b) return 0;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      cur[j] = d;
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

/** Closest candidate within a small edit distance, as " — did you mean 'x'?" or "". */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  let best: string | null = null;
  let bestD = Infinity;
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  for (const c of candidates) {
    if (Math.abs(c.length - word.length) > limit) continue;
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== null && bestD <= limit ? `; did you mean '${best}'?` : '';
}
