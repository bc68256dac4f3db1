/**
 * Classifier: FailureReport + job log → FailureClassification.
 *
 * Cost model: the log window is scanned ONCE by the rule set's RE2.Set (one automaton for
 * every log pattern of every rule). Only patterns that hit are then located line by line
 * (skipping echoed commands), and only for rules that could still outrank the best so far
 * — so the work is one pass over the window plus a few targeted searches, whatever the
 * number of rules. Memory: the window.
 *
 * Verdict: not first-match-wins. Every matching rule is ranked by the kind of evidence it
 * has and where (RANK below; src/classify/README.md has the decision table).
 */
import type { EvidenceLine, FailureClassification, FailureReport } from '../protocol/failure.js';
import { fallbackFor } from './fallback.js';
import { countNewlines, DEFAULT_WINDOW_BYTES, evidenceText, findLines, takeWindow, type LineSpan, type LogWindow } from './log-window.js';
import type { CompiledRule, RuleSet } from './ruleset.js';
import { ScriptMask } from './script-mask.js';
import { withTestReports, type ClassifyReports } from './reports.js';

export interface ClassifierOptions {
  /** Only the last N bytes of a log are read (default 1 MiB). */
  windowBytes?: number;
  /** Evidence lines kept per classification (default 5). */
  maxEvidence?: number;
}

export interface ClassifyOptions {
  /** Lines that precede `log` when the caller passes only a tail of the job log. */
  lineOffset?: number;
  /** Test reports of the job (see reports.ts): failed test cases become the first evidence. */
  reports?: ClassifyReports;
}

const MAX_TEXT = 300;

export class Classifier {
  readonly windowBytes: number;
  readonly maxEvidence: number;

  constructor(
    readonly rules: RuleSet,
    opts: ClassifierOptions = {},
  ) {
    this.windowBytes = opts.windowBytes ?? DEFAULT_WINDOW_BYTES;
    this.maxEvidence = opts.maxEvidence ?? 5;
    if (!(this.windowBytes > 0)) throw new RangeError('windowBytes must be > 0');
  }

  classify(report: FailureReport, log: Buffer | string, opts: ClassifyOptions = {}): FailureClassification {
    return withTestReports(this.classifyLog(report, log, opts), opts.reports, this.maxEvidence);
  }

  private classifyLog(report: FailureReport, log: Buffer | string, opts: ClassifyOptions): FailureClassification {
    const scan = new WindowScan(this.rules, () => takeWindow(log, this.windowBytes, opts.lineOffset ?? 0), this.maxEvidence);
    const ctx = contextOf(report);
    // Every rule is weighed (see README): the highest rank wins, file order breaks ties.
    let best: { rank: number; rule: CompiledRule; used: number[]; messageText: string | null } | null = null;
    for (const rule of this.rules.rules) {
      if (best && maxRank(rule, ctx) <= best.rank) continue;
      if (!rule.structured(report)) continue;
      let messageText: string | null = null;
      if (rule.message) {
        if (report.message == null || !rule.message.test(report.message)) continue;
        messageText = oneLine(report.message);
      }
      if (rule.command) {
        const cmd = scan.failingCommand();
        if (cmd === null || !rule.command.test(cmd)) continue;
      }
      let used: number[] = [];
      if (rule.signal !== null) {
        if (ctx === 'script' && rule.signal === 'phrase') continue;
        const u = scan.ruleHits(rule);
        if (!u) continue;
        used = u;
      }
      const rank = rankOf(rule, ctx, () => scan.inFailingSegment(used));
      if (!best || rank > best.rank) best = { rank, rule, used, messageText };
    }
    if (best) {
      const { rule, used, messageText } = best;
      const evidence = used.length > 0 ? scan.evidence(used) : [];
      return {
        ...report,
        class: rule.class,
        cause: rule.cause,
        summary: interpolate(rule.summary, report, evidence[0]?.text ?? messageText ?? ''),
        owner: rule.owner,
        rule: { id: rule.id, version: rule.version },
        fallback: false,
        evidence,
      };
    }
    const fb = fallbackFor(report.reason, report.stage, report.kind);
    return {
      ...report,
      class: fb.class,
      cause: fb.cause,
      summary: fb.summary,
      owner: fb.class === 'infra' ? 'operators' : fb.class === 'build' ? 'developers' : 'unknown',
      rule: null,
      fallback: true,
      evidence: [],
    };
  }
}

/**
 * Where the job failed, as the runner reported it: inside the job's script (its output
 * holds the developers' words as well as the tools'), or in the runner's own steps.
 */
export type FailureContext = 'script' | 'runner';

export function contextOf(r: FailureReport): FailureContext {
  return (r.reason === 'script_failure' || r.reason === 'job_execution_timeout') &&
    (r.stage === 'step_script' || r.stage === 'after_script')
    ? 'script'
    : 'runner';
}

/** Ranks (higher wins) — the decision table of src/classify/README.md. */
export const RANK = {
  /** the runner's own text (message) or, outside the script, its structured report */
  report: 5,
  /** a tool's own error line in the failing command's output (script), or anywhere (runner) */
  toolErrorExplains: 4,
  /** a test runner's / compiler's / linter's failure summary */
  summary: 3,
  /** a tool's error line from an earlier command that went on (script); a phrase (runner) */
  weak: 2,
  /** inside the script, a rule on the report's structure alone (e.g. the reason) */
  structuredOnly: 1,
} as const;

function rankOf(rule: CompiledRule, ctx: FailureContext, inSegment: () => boolean): number {
  if (rule.message) return RANK.report;
  switch (rule.signal) {
    case null:
      return ctx === 'runner' ? RANK.report : RANK.structuredOnly;
    case 'summary':
      return ctx === 'script' ? RANK.summary : RANK.weak;
    case 'phrase':
      return RANK.weak; // runner context only (never reached inside the script)
    case 'tool_error':
      return ctx === 'runner' || inSegment() ? RANK.toolErrorExplains : RANK.weak;
  }
}

/** The best rank a rule could reach (lets the loop skip rules that cannot win). */
function maxRank(rule: CompiledRule, ctx: FailureContext): number {
  if (rule.message) return RANK.report;
  if (rule.signal === null) return ctx === 'runner' ? RANK.report : RANK.structuredOnly;
  if (rule.signal === 'summary') return ctx === 'script' ? RANK.summary : RANK.weak;
  if (rule.signal === 'phrase') return RANK.weak;
  return RANK.toolErrorExplains;
}

/** Lazily scanned state of one log window for one classification. */
class WindowScan {
  private win: LogWindow | null = null;
  private hits: Uint8Array | null = null;
  private readonly lines = new Map<number, LineSpan[]>();

  constructor(
    private readonly rs: RuleSet,
    private readonly take: () => LogWindow,
    private readonly maxEvidence: number,
  ) {}

  private mask: ScriptMask | null = null;

  private window(): LogWindow {
    return (this.win ??= this.take());
  }

  private script(): ScriptMask {
    return (this.mask ??= new ScriptMask(this.window().buf));
  }

  /** Candidate hits of every pattern over the whole window, in one pass. */
  private candidates(): Uint8Array {
    if (this.hits) return this.hits;
    const hits = new Uint8Array(this.rs.patterns.length);
    const { buf } = this.window();
    if (this.rs.set) {
      try {
        for (const i of this.rs.set.match(buf)) hits[i] = 1;
      } catch {
        // RE2.Set gave up (DFA memory budget): test pattern by pattern — slower, same answer.
        this.rs.patterns.forEach((p, i) => {
          hits[i] = p.line.test(buf) ? 1 : 0;
        });
      }
    }
    return (this.hits = hits);
  }

  /** Confirmed matching lines of a pattern (window-wide hits may span lines). */
  private linesOf(pid: number): LineSpan[] {
    let l = this.lines.get(pid);
    if (!l) {
      const p = this.rs.patterns[pid]!;
      l = this.candidates()[pid] ? findLines(this.window().buf, p.scan, p.line, this.maxEvidence, 0, this.script().skip) : [];
      this.lines.set(pid, l);
    }
    return l;
  }

  /** The patterns that make `rule`'s log conditions true, or null when they are not. */
  ruleHits(rule: CompiledRule): number[] | null {
    const c = this.candidates();
    for (const p of rule.logAll) if (!c[p]) return null;
    if (rule.logAny.length > 0 && !rule.logAny.some((p) => c[p])) return null;
    for (const p of rule.logAll) if (this.linesOf(p).length === 0) return null;
    const any = rule.logAny.filter((p) => c[p] && this.linesOf(p).length > 0);
    if (rule.logAny.length > 0 && any.length === 0) return null;
    return [...rule.logAll, ...any];
  }

  /** The echoed command whose output is the failing segment, or null. */
  failingCommand(): string | null {
    return this.script().failingCommand();
  }

  /** Does one of these patterns hit a (non-echo) line of the failing command's output? */
  inFailingSegment(pids: number[]): boolean {
    const { start, end } = this.script().failingSegment();
    const { buf } = this.window();
    for (const pid of pids) {
      const p = this.rs.patterns[pid]!;
      const known = this.linesOf(pid);
      if (known.some((l) => l.start >= start && l.start < end)) return true;
      if (known.length < this.maxEvidence) continue; // all its lines are known
      if (findLines(buf, p.scan, p.line, 1, start, this.script().skip).some((l) => l.start < end)) return true;
    }
    return false;
  }

  /** Up to maxEvidence lines: the first hit of each pattern, then more, in log order. */
  evidence(pids: number[]): EvidenceLine[] {
    const per = pids.map((p) => this.linesOf(p));
    const chosen = new Map<number, LineSpan>();
    for (let round = 0; chosen.size < this.maxEvidence; round++) {
      let more = false;
      for (const l of per) {
        const s = l[round];
        if (!s) continue;
        more = true;
        if (!chosen.has(s.start) && chosen.size < this.maxEvidence) chosen.set(s.start, s);
      }
      if (!more) break;
    }
    const spans = [...chosen.values()].sort((a, b) => a.start - b.start);
    const { buf, firstLine } = this.window();
    let line = firstLine;
    let pos = 0;
    return spans.map((s) => {
      line += countNewlines(buf, pos, s.start);
      pos = s.start;
      return { line, text: evidenceText(buf, s) };
    });
  }
}

function oneLine(s: string): string {
  const first = s.trim().split('\n')[0] ?? '';
  return first.length > MAX_TEXT ? first.slice(0, MAX_TEXT) + '…' : first;
}

function interpolate(summary: string, r: FailureReport, match: string): string {
  const v: Record<string, string> = {
    image: r.image ?? '?',
    registry: r.registry ?? '?',
    exit_code: r.exit_code === null ? '?' : String(r.exit_code),
    executor: r.executor ?? '?',
    reason: r.reason,
    stage: r.stage,
    match: match.length > 200 ? match.slice(0, 200) + '…' : match,
  };
  return summary.replace(/\{([a-z_]+)\}/g, (all, k: string) => v[k] ?? all);
}
