/**
 * Compiles validated rule definitions into a RuleSet: structured conditions become
 * closures, and every distinct log pattern goes into ONE RE2.Set so a log window is
 * scanned once for all rules, however many there are.
 */
import RE2 from 're2';
import type { FailureClass, FailureReport, Owner } from '../protocol/failure.js';
import { ruleSchema, type RuleDef, type RuleInput, type Signal } from './schema.js';

/** Where a rule came from (1-based line/column of its `id`). */
export interface RuleOrigin {
  file: string;
  line: number;
  column: number;
}

export interface CompiledPattern {
  source: string;
  /** Global + multiline: used to locate matching lines inside the window. */
  scan: RE2;
  /** Multiline, non-global: re-checks one line alone (a window-wide hit may span lines). */
  line: RE2;
}

export interface CompiledRule {
  id: string;
  version: string;
  description: string;
  class: FailureClass;
  cause: string;
  owner: Owner;
  summary: string;
  origin: RuleOrigin | null;
  /** Structured conditions (reason/stage/exit_codes/executor/kind/image/registry). */
  structured: (r: FailureReport) => boolean;
  /** RE2 over report.message, or null. */
  message: RE2 | null;
  /** RE2 over the failing command's echo line (script-mask.ts), or null. */
  command: RE2 | null;
  /** Indexes into RuleSet.patterns: all must hit. */
  logAll: number[];
  /** Indexes into RuleSet.patterns: one must hit (empty = no such condition). */
  logAny: number[];
  /** What its log patterns are evidence of (null: the rule reads no log). */
  signal: Signal | null;
  def: RuleDef;
}

export interface RuleSet {
  readonly rules: readonly CompiledRule[];
  readonly patterns: readonly CompiledPattern[];
  /** All patterns in one automaton (index i ↔ patterns[i]); null when no rule reads the log. */
  readonly set: InstanceType<typeof RE2.Set> | null;
  /** The files the rules were loaded from, in load order (empty for programmatic sets). */
  readonly files: readonly string[];
}

export function defaultOwner(c: FailureClass): Owner {
  return c === 'infra' ? 'operators' : c === 'build' ? 'developers' : 'unknown';
}

/** Compile a pattern the way every rule pattern is compiled; throws SyntaxError when RE2 rejects it. */
export function compilePattern(source: string, flags = 'm'): RE2 {
  return new RE2(source, flags);
}

function anyOf<T>(list: readonly T[] | undefined, get: (r: FailureReport) => T | null | undefined) {
  if (!list) return null;
  const s = new Set<T>(list);
  return (r: FailureReport) => {
    const v = get(r);
    return v !== null && v !== undefined && s.has(v);
  };
}

function regexOn(source: string | undefined, get: (r: FailureReport) => string | null | undefined) {
  if (source === undefined) return null;
  const re = compilePattern(source, '');
  return (r: FailureReport) => {
    const v = get(r);
    return typeof v === 'string' && re.test(v);
  };
}

function compileStructured(def: RuleDef): (r: FailureReport) => boolean {
  const m = def.match;
  const checks = [
    anyOf(m.reason, (r) => r.reason),
    anyOf(m.stage, (r) => r.stage),
    anyOf(m.exit_codes, (r) => r.exit_code),
    anyOf(m.executor, (r) => r.executor),
    anyOf(m.kind, (r) => r.kind),
    regexOn(m.image, (r) => r.image),
    regexOn(m.registry, (r) => r.registry),
  ].filter((c): c is (r: FailureReport) => boolean => c !== null);
  switch (checks.length) {
    case 0:
      return () => true;
    case 1:
      return checks[0]!;
    case 2: {
      const [a, b] = checks as [(r: FailureReport) => boolean, (r: FailureReport) => boolean];
      return (r) => a(r) && b(r);
    }
    default:
      return (r) => {
        for (const c of checks) if (!c(r)) return false;
        return true;
      };
  }
}

/**
 * Build a RuleSet from validated definitions (in priority order).
 * Throws on an invalid regex or a duplicate id — the loader reports those with positions first.
 */
export function compileRuleSet(defs: ReadonlyArray<{ def: RuleDef; origin?: RuleOrigin | null }>, files: readonly string[] = []): RuleSet {
  const patterns: CompiledPattern[] = [];
  const bySource = new Map<string, number>();
  const intern = (source: string): number => {
    let i = bySource.get(source);
    if (i === undefined) {
      i = patterns.length;
      patterns.push({ source, scan: compilePattern(source, 'gm'), line: compilePattern(source, 'm') });
      bySource.set(source, i);
    }
    return i;
  };
  const seen = new Set<string>();
  const rules = defs.map(({ def, origin }): CompiledRule => {
    if (seen.has(def.id)) throw new Error(`duplicate rule id ${def.id}`);
    seen.add(def.id);
    return {
      id: def.id,
      version: def.version,
      description: def.description,
      class: def.class,
      cause: def.cause,
      owner: def.owner ?? defaultOwner(def.class),
      summary: def.summary,
      origin: origin ?? null,
      structured: compileStructured(def),
      message: def.match.message !== undefined ? compilePattern(def.match.message, '') : null,
      command: def.match.command !== undefined ? compilePattern(def.match.command, '') : null,
      logAll: (def.match.log ?? []).map(intern),
      logAny: (def.match.log_any ?? []).map(intern),
      signal: def.match.log || def.match.log_any ? (def.signal ?? 'tool_error') : null,
      def,
    };
  });
  // 'm': ^ and $ are line anchors, as a rule author reading a log expects.
  const set =
    patterns.length > 0
      ? new RE2.Set(
          patterns.map((p) => prefilter(p.source)),
          'm',
        )
      : null;
  return { rules, patterns, set, files };
}

/**
 * The form of a pattern the one-pass RE2.Set scans for. "Unindented line" prefixes
 * (`^\S.*X`, `^(\S.*)?X`) keep a DFA thread alive along every line and halve the Set's
 * throughput; the Set gets the looser `X` (a superset of the hits), and the exact pattern
 * confirms each candidate line (findLines), so the verdict is unchanged.
 */
export function prefilter(source: string): string {
  const m = /^\^(?:\\S\.\*|\(\\S\.\*\)\?)(?=.)/.exec(source);
  return m ? source.slice(m[0].length) : source;
}

/** Validate + compile rules given as plain objects (tests, benchmarks). Throws on invalid input. */
export function ruleSetFrom(inputs: readonly RuleInput[]): RuleSet {
  return compileRuleSet(inputs.map((i) => ({ def: ruleSchema.parse(i) })));
}

/** An empty rule set: every failure goes to the fallback by reason. */
export const EMPTY_RULESET: RuleSet = compileRuleSet([]);
