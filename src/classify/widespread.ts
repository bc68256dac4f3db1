/**
 * Widespread errors without a rule (issue 12): the same error line failing many jobs of
 * different projects or refs is a suspected incident even when no rule knows it. Lines are
 * compared after stripping what differs between jobs anyway — times, paths, URLs' paths,
 * hashes, hex ids, UUIDs, numbers — so "connect to 10.0.0.7:443 after 30012 ms" in one job
 * and "… 10.0.0.9:443 after 29871 ms" in another are one line. Pure.
 */
import { normalizeLine } from './log-diff.js';

/** faultline's own trailer and section lines: in every failed log, so never "the" error. */
const OWN_LINES = /^(ERROR: Job failed|ERROR: Job canceled|Cleaning up|Uploading artifacts|section_(start|end):)/;

export function normalizeErrorLine(line: string): string {
  const s = line
    // ISO / syslog-ish timestamps and clock times
    .replace(/\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?\b/g, '<time>')
    .replace(/\b\d{1,2}:\d{2}:\d{2}(\.\d+)?\b/g, '<time>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
    .replace(/\b(sha256:)?[0-9a-f]{12,64}\b/gi, '<hash>')
    .replace(/\b0x[0-9a-f]+\b/gi, '<hex>')
    // absolute and relative paths with at least two segments
    .replace(/(^|[\s'"(=:])(~|\.{1,2})?\/?[\w.@+-]+(\/[\w.@+-]+)+\/?/g, '$1<path>')
    .replace(/(^|[\s'"(=:])\/[\w.@+-]+/g, '$1<path>');
  return normalizeLine(s);
}

/**
 * Error words, case-insensitive; errno-style codes (ECONNREFUSED) case-sensitive apart — a
 * case-insensitive `E[A-Z]{3,}` would take every word starting with "e" ("Executing").
 */
const ERROR_WORDS =
  /\b(error|fatal|fail(ed|ure|s)?|exception|denied|refused|timed? ?out|cannot|can't|could not|unable to|not found|panic|killed|abort(ed)?|expired|invalid|unreachable)\b/i;
const ERRNO = /\bE[A-Z]{3,}\b/;

/** A line worth grouping: error-like, not faultline's own, not trivially short once stripped. */
export function isGroupableLine(text: string): boolean {
  const t = text.trim();
  if (OWN_LINES.test(t) || !(ERROR_WORDS.test(t) || ERRNO.test(t))) return false;
  return normalizeErrorLine(t).replace(/<\w+>|[0\s]/g, '').length >= 8;
}

const TOKEN_PATTERN: Record<string, string> = {
  '<time>': '\\S+',
  '<path>': '\\S+',
  '<hash>': '[0-9a-fA-F:]+',
  '<id>': '[0-9a-fA-F-]+',
  '<hex>': '0x[0-9a-fA-F]+',
};

/** A regex (RE2-safe: no lookarounds) matching every line that normalises to `normalized`. */
export function patternOf(normalized: string): string {
  return normalized
    .split(/(<time>|<path>|<hash>|<id>|<hex>|\bH\b|\d+|\s+)/)
    .map((part) => {
      if (!part) return '';
      if (TOKEN_PATTERN[part]) return TOKEN_PATTERN[part];
      if (part === 'H') return '[0-9a-fA-F]+';
      if (/^\d+$/.test(part)) return '\\d+';
      if (/^\s+$/.test(part)) return '\\s+';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
}
