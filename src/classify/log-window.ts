/**
 * The part of a job log the classifier reads: the last N bytes, starting at a line
 * boundary, with ANSI colour/erase sequences removed (they carry no meaning and break
 * anchors). Newlines are kept, so line numbers in the window map to the whole log.
 */
import RE2 from 're2';

export const DEFAULT_WINDOW_BYTES = 1024 * 1024;

export interface LogWindow {
  /** Window bytes (UTF-8), ANSI stripped. */
  buf: Buffer;
  /** 1-based line number (in the whole log) of the window's first line. */
  firstLine: number;
}

const NL = 0x0a;
// CSI sequences (colours, `\e[0K` erase used by GitLab sections) and OSC (…BEL).
const ANSI_SRC = '\\x1b(?:\\[[0-9;?]*[ -/]*[@-~]|\\][^\\x07\\x1b]*(?:\\x07|\\x1b\\\\)|[@-Z\\\\-_])';
const ANSI = new RE2(ANSI_SRC, 'g');

// Per-line timestamps: GitHub Actions' raw logs, gitlab-runner's FF_TIMESTAMPS ("… 00O+ "),
// Removed (newlines kept) so that patterns anchored at ^ see the tool's line as it printed it.
// Buildkite's "[2021-07-15T15:51:45Z] ", Jenkins' timestamper "17:36:05 " (one or more spaces;
// "00:16:45.103 " in its elapsed-time format, milliseconds included),
// "[15:50:52.950] " and Netlify's "11:18:04 AM: " clock stamps, and BuildKit's "#12 79.31 " step
// prefix as well.
const TIME =
  '(?:\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d+)?Z(?: \\d\\d[OE]\\+?)? ?|\\[\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d+)?Z\\] |\\d\\d:\\d\\d:\\d\\d(?:\\.\\d{3})? +|\\[\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d+)?\\] |\\d\\d?:\\d\\d:\\d\\d [AP]M: )';
const STEP = '#\\d+ \\d+\\.\\d+ ';
const STAMP = `^(?:${TIME}(?:${STEP})?|${STEP})`;
/** ANSI sequences and line stamps in ONE replace pass (the window is read once). */
const ANSI_AND_STAMPS = new RE2(`${ANSI_SRC}|${STAMP}`, 'gm');
/** BuildKit's plain progress output ("#12 79.31 npm ERR! …") prefixes every line of a step. */
const BUILDKIT = Buffer.from('\n#');
const STAMPED = new RE2(STAMP, 'm');
const STAMP_COUNT = new RE2(STAMP, 'gm');
const BUILDKIT_STEP = new RE2(`^${STEP}`);

/** At least a quarter of the sample's lines carry a stamp (an app's own timestamped lines do not make a stamped log). */
function mostlyStamped(sample: Buffer): boolean {
  if (!STAMPED.test(sample)) return false;
  let hits = 0;
  STAMP_COUNT.lastIndex = 0;
  while (STAMP_COUNT.exec(sample)) hits++;
  STAMP_COUNT.lastIndex = 0;
  return hits * 4 >= countNewlines(sample) + 1;
}

/** A BuildKit step line ("\n#12 3.4 …") somewhere: checks the first few "\n#" only. */
function hasBuildkitSteps(win: Buffer): boolean {
  for (let p = win.indexOf(BUILDKIT), n = 0; p !== -1 && n < 32; p = win.indexOf(BUILDKIT, p + 1), n++) {
    if (BUILDKIT_STEP.test(win.subarray(p + 1, p + 40))) return true;
  }
  return false;
}

/** Count `\n` bytes in buf[start, end) with native scans. */
export function countNewlines(buf: Buffer, start = 0, end = buf.length): number {
  let n = 0;
  let p = buf.indexOf(NL, start);
  while (p !== -1 && p < end) {
    n++;
    p = buf.indexOf(NL, p + 1);
  }
  return n;
}

function countNewlinesStr(s: string, end: number): number {
  let n = 0;
  let p = s.indexOf('\n');
  while (p !== -1 && p < end) {
    n++;
    p = s.indexOf('\n', p + 1);
  }
  return n;
}

/**
 * Take the window. `lineOffset` = number of lines that precede `log` (when the caller
 * passes only a tail it already cut); it is added to every line number.
 */
export function takeWindow(log: Buffer | string, windowBytes = DEFAULT_WINDOW_BYTES, lineOffset = 0): LogWindow {
  let buf: Buffer;
  let skippedLines = 0;
  if (typeof log === 'string') {
    // A char is ≥ 1 byte, so the last `windowBytes` chars hold at least the byte window.
    const cut = Math.max(0, log.length - windowBytes);
    if (cut > 0) skippedLines = countNewlinesStr(log, cut);
    buf = Buffer.from(cut > 0 ? log.slice(cut) : log, 'utf8');
  } else buf = log;

  let start = Math.max(0, buf.length - windowBytes);
  if (start > 0 && buf[start - 1] !== NL) {
    // Start at the next full line; a log that is one giant line is read from `start`.
    const nl = buf.indexOf(NL, start);
    if (nl !== -1 && nl + 1 < buf.length) start = nl + 1;
  }
  skippedLines += countNewlines(buf, 0, start);
  let win = start > 0 ? buf.subarray(start) : buf;
  // Stamps only when the log is stamped — its first lines, or its last ones (Jenkins'
  // timestamper and Buildkite stamp only the commands' output) — or holds BuildKit steps.
  const stamped =
    mostlyStamped(win.subarray(0, 2048)) || mostlyStamped(win.subarray(Math.max(0, win.length - 4096))) || hasBuildkitSteps(win);
  if (stamped) win = ANSI_AND_STAMPS.replace(win, Buffer.alloc(0));
  else if (win.indexOf(0x1b) !== -1) win = ANSI.replace(win, Buffer.alloc(0));
  return { buf: win, firstLine: 1 + lineOffset + skippedLines };
}

/** A line of the window: byte range [start, end) (end excludes the newline). */
export interface LineSpan {
  start: number;
  end: number;
  /** Byte offset in the window where the pattern matched (for centring long lines). */
  at: number;
}

/** Bounds of the line containing byte `pos`. */
export function lineAt(buf: Buffer, pos: number): { start: number; end: number } {
  const start = pos === 0 ? 0 : buf.lastIndexOf(NL, pos - 1) + 1;
  const nl = buf.indexOf(NL, pos);
  return { start, end: nl === -1 ? buf.length : nl };
}

/**
 * Lines where `scan` (global, multiline) matches, confirmed line by line with `line`
 * (the same pattern, non-global): a window-wide match may span lines (e.g. `a\s+b`),
 * and rules are about lines. At most `max` lines, in window order, from byte `from` on;
 * lines for which `skip(start, end)` is true (echoed commands) are not counted.
 */
export function findLines(
  buf: Buffer,
  scan: RE2,
  line: RE2,
  max: number,
  from = 0,
  skip?: (start: number, end: number) => boolean,
): LineSpan[] {
  const out: LineSpan[] = [];
  scan.lastIndex = from;
  while (out.length < max) {
    const m = scan.exec(buf);
    if (!m) break;
    const { start, end } = lineAt(buf, m.index);
    if (skip?.(start, end)) {
      // not evidence: go on with the next line
    } else if (m.index + m[0].length <= end) out.push({ start, end, at: m.index });
    else {
      const lm = line.exec(buf.subarray(start, end));
      if (lm) out.push({ start, end, at: start + lm.index });
    }
    if (end >= buf.length) break;
    scan.lastIndex = end + 1; // next line: one hit per line is enough
  }
  scan.lastIndex = 0;
  return out;
}

const EVIDENCE_CHARS = 300;

/** Printable one-line text of a window line, at most ~300 chars, centred on the match when long. */
export function evidenceText(buf: Buffer, span: LineSpan): string {
  let text = buf.subarray(span.start, span.end).toString('utf8');

  text = text
    .replace(/[\x00-\x08\x0b-\x1f\x7f]+/g, ' ')
    .replace(/\s+$/, '')
    .replace(/^\s+/, '');
  if (text.length <= EVIDENCE_CHARS) return text;
  const atChar = buf.subarray(span.start, span.at).toString('utf8').length;
  const from = Math.max(0, Math.min(atChar - 80, text.length - EVIDENCE_CHARS));
  return (from > 0 ? '…' : '') + text.slice(from, from + EVIDENCE_CHARS) + (from + EVIDENCE_CHARS < text.length ? '…' : '');
}
