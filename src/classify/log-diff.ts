/**
 * Evidence without a rule (issue 9, item 5): the first error-like lines of a failed log
 * that the last green run of the same job did not print. Lines are compared after the
 * window's normalisation (ANSI, timestamps) with volatile tokens (numbers, hashes)
 * blanked, and echoed commands are never candidates. Pure; the caller finds the green log.
 */
import RE2 from 're2';
import type { EvidenceLine } from '../protocol/failure.js';
import { DEFAULT_WINDOW_BYTES, evidenceText, takeWindow } from './log-window.js';
import { ScriptMask } from './script-mask.js';

const ERRORISH = new RE2(
  "(?i)\\b(error|fatal|fail(ed|ure)?|exception|denied|refused|timed? ?out|cannot|can't|could not|unable to|not found|panic|killed|abort(ed)?|(?-i:E[A-Z]{3,}))\\b",
);

/** Numbers, hex ids, durations: what differs between two runs of the same job anyway. */
export function normalizeLine(s: string): string {
  return s
    .replace(/\b[0-9a-f]{7,64}\b/gi, 'H')
    .replace(/\d+/g, '0')
    .replace(/\s+/g, ' ')
    .trim();
}

function lines(buf: Buffer): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end === -1) end = buf.length;
    out.push({ start, end });
    start = end + 1;
  }
  return out;
}

/** `lineOffset`: lines that precede `failed` when the caller passes a tail it already cut (as for the classifier). */
export function newErrorLines(
  failed: Buffer | string,
  green: Buffer | string,
  max = 5,
  windowBytes = DEFAULT_WINDOW_BYTES,
  lineOffset = 0,
): EvidenceLine[] {
  const g = takeWindow(green, windowBytes).buf;
  const seen = new Set<string>();
  for (const l of lines(g)) seen.add(normalizeLine(g.subarray(l.start, l.end).toString('utf8')));
  const { buf, firstLine } = takeWindow(failed, windowBytes, lineOffset);
  const mask = new ScriptMask(buf);
  const out: EvidenceLine[] = [];
  let n = firstLine - 1;
  for (const l of lines(buf)) {
    n++;
    if (out.length >= max) break;
    const raw = buf.subarray(l.start, l.end);
    if (!ERRORISH.test(raw) || mask.skip(l.start, l.end)) continue;
    if (seen.has(normalizeLine(raw.toString('utf8')))) continue;
    out.push({ line: n, text: evidenceText(buf, { ...l, at: l.start }) });
  }
  return out;
}
