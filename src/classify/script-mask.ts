/**
 * What in a job log is NOT evidence, and where the failing command's output is.
 *
 * - Lines the runner echoes as commands (`$ cmd` of gitlab-runner / Buildkite, `+ cmd` of
 *   `set -x` / Jenkins sh, `[command]…` and `##[group]Run …` of GitHub Actions, Jenkins'
 *   `[job] $ cmd` and ` > git …`, the Dockerfile instruction a docker build echoes:
 *   BuildKit's `#5 [stage 2/7] RUN …`, the classic builder's `Step 2/7 : RUN …`) and the step's script text GitHub Actions prints inside
 *   its `##[group]Run` block are the job's own words: a `grep 'Could not resolve host'`
 *   there says nothing about DNS.
 * - The failing segment: the output after the last echoed command before the job's end
 *   markers — the output of the command that failed (with `set -e`, the last one run).
 *   Evidence there explains the failure; evidence earlier is from a command that went on.
 *
 * Everything here is computed lazily, with native Buffer searches, only for the lines a
 * rule pattern already hit (the cost model of classifier.ts stays one RE2.Set pass).
 */
import RE2 from 're2';

const ECHO = new RE2(
  '^(?:\\$ |\\+{1,3} |\\[command\\]|##\\[group\\]Run |\\[[^\\]\\s]+\\] \\$ | > git |#\\d+ \\[[^\\]]*\\] |Step \\d+/\\d+ : )',
);
/** Needles whose last occurrence locates the last echo line (verified with ECHO). */
const ECHO_NEEDLES = ['\n$ ', '\n+ ', '\n++ ', '\n[command]', '\n##[group]Run ', '] $ ', '\n > git ', '\n#', '\nStep '].map((s) =>
  Buffer.from(s),
);
/** Where the failed command's output ends: after_script, GitHub's step error, the job's end. */
const END_MARKERS = [
  'Running after_script',
  '##[error]Process completed with exit code',
  'Cleaning up project directory',
  'ERROR: Job failed',
].map((s) => Buffer.from(s));
const GROUP_RUN = Buffer.from('##[group]Run ');
const END_GROUP = Buffer.from('##[endgroup]');
const NL = 0x0a;

export function isEchoLine(buf: Buffer, start: number, end: number): boolean {
  return ECHO.test(buf.subarray(start, Math.min(end, start + 256)));
}

const lineStart = (buf: Buffer, pos: number) => (pos <= 0 ? 0 : buf.lastIndexOf(NL, pos - 1) + 1);

export class ScriptMask {
  private blocks: Array<[number, number]> | null = null;
  private seg: { start: number; end: number } | null = null;
  private cmd: string | null | undefined = undefined;

  constructor(private readonly buf: Buffer) {}

  /** GitHub Actions `##[group]Run …` … `##[endgroup]` blocks: the step's own script text. */
  private scriptBlocks(): Array<[number, number]> {
    if (this.blocks) return this.blocks;
    const out: Array<[number, number]> = [];
    let p = this.buf.indexOf(GROUP_RUN);
    while (p !== -1) {
      const e = this.buf.indexOf(END_GROUP, p);
      const end = e === -1 ? this.buf.length : e + END_GROUP.length;
      out.push([lineStart(this.buf, p), end]);
      p = this.buf.indexOf(GROUP_RUN, end);
    }
    return (this.blocks = out);
  }

  /** True when the line [start, end) is the job's own command or script text. */
  skip = (start: number, end: number): boolean => {
    if (isEchoLine(this.buf, start, end)) return true;
    for (const [s, e] of this.scriptBlocks()) if (start >= s && start < e) return true;
    return false;
  };

  /** Byte range of the failing command's output. */
  failingSegment(): { start: number; end: number } {
    if (this.seg) return this.seg;
    const buf = this.buf;
    let end = buf.length;
    for (const m of END_MARKERS) {
      const p = buf.indexOf(m);
      if (p !== -1 && p < end) end = lineStart(buf, p);
    }
    let start = isEchoLine(buf, 0, end) ? 0 : -1;
    for (const n of ECHO_NEEDLES) {
      // search only after the best echo found so far: a needle absent from the tail costs the tail
      const from = Math.max(0, start);
      const region = buf.subarray(from, end);
      for (let q = region.lastIndexOf(n); q !== -1; q = q > 0 ? region.lastIndexOf(n, q - 1) : -1) {
        const ls = lineStart(buf, from + (n[0] === NL ? q + 1 : q));
        if (ls <= start) break;
        if (isEchoLine(buf, ls, end)) {
          start = ls;
          break;
        }
      }
    }
    this.cmd = start >= 0 ? buf.subarray(start, Math.min(end, start + 4096, lineEndOf(buf, start))).toString('utf8') : null;
    if (start >= 0) {
      // the segment begins after the echo line (or after the Run block's script text)
      const block = this.scriptBlocks().find(([s, e]) => start >= s && start < e);
      const nl = buf.indexOf(NL, start);
      start = block ? block[1] : nl === -1 ? end : nl + 1;
    } else start = 0;
    return (this.seg = { start: Math.min(start, end), end });
  }

  /** The echo line that opens the failing segment (`$ npm ci`, `#10 [5/5] RUN npm ci`), or null. */
  failingCommand(): string | null {
    if (this.cmd === undefined) this.failingSegment();
    return this.cmd ?? null;
  }
}

function lineEndOf(buf: Buffer, pos: number): number {
  const nl = buf.indexOf(NL, pos);
  return nl === -1 ? buf.length : nl;
}
