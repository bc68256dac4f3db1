/**
 * The conditions of a rule (`if:`, `changes:`, `exists:`), shared by job rules and
 * workflow rules. A rule matches when every clause it has holds. `changes:` and
 * `exists:` are evaluated against the pipeline's CommitFacts, the way GitLab does:
 *   - changes: true when the pipeline has no push diff (schedules, web, API, tags,
 *     a new branch…), else true when a changed path matches a pattern;
 *   - exists:  true when a file of the commit matches a pattern.
 * Patterns are globs with GitLab's fnmatch flags (PATHNAME, DOTMATCH, EXTGLOB).
 */
import picomatch from 'picomatch';
import { expandString } from '../pipeline/variables.js';
import { describe, joinPath, type Diagnostics } from './diagnostics.js';
import { compileExpression, ExpressionError, type Expression, type Vars } from './expression.js';
import type { CommitFacts } from './index.js';
import { isPlainMap, keyPos, valuePos, type PlainMap, type Pos } from './yaml-source.js';

/** Sources whose pipelines have a push diff for `changes:` (GitLab). */
const DIFF_SOURCES = new Set(['push', 'merge_request_event', 'external_pull_request_event']);

export interface EvalContext {
  vars: Vars;
  commit: CommitFacts | undefined;
}

export interface Clauses {
  expr: Expression | null;
  /** Unexpanded glob patterns; null when the rule has no such clause. */
  changes: string[] | null;
  exists: string[] | null;
}

const NEVER_MATCHES: Expression = { source: '', evaluate: () => false };

/** Compile a rule's `if:`; null when absent (always matches). Errors are reported. */
export function readIf(r: PlainMap, rp: string, rpos: Pos, diag: Diagnostics): Expression | null {
  if (r.if === undefined) return null;
  const at = valuePos(r, 'if', rpos);
  if (typeof r.if !== 'string') {
    diag.error(joinPath(rp, 'if'), at, `expected an expression string, got ${describe(r.if)}`);
    return NEVER_MATCHES;
  }
  try {
    return compileExpression(r.if);
  } catch (e) {
    if (!(e instanceof ExpressionError)) throw e;
    diag.error(joinPath(rp, 'if'), at, `${e.message} (at character ${e.offset + 1} of ${JSON.stringify(r.if)})`);
    return NEVER_MATCHES;
  }
}

/** `changes: [globs]` / `{paths: [globs], compare_to}`, `exists: [globs]` / `{paths, project, ref}`. */
function readPatterns(r: PlainMap, key: 'changes' | 'exists', rp: string, rpos: Pos, diag: Diagnostics): string[] | null {
  const raw = r[key];
  if (raw === undefined) return null;
  const path = joinPath(rp, key);
  const at = valuePos(r, key, rpos);
  let list: unknown = raw;
  if (isPlainMap(raw)) {
    const allowed = key === 'changes' ? ['paths', 'compare_to'] : ['paths', 'project', 'ref'];
    for (const k of Object.keys(raw)) {
      const kat = keyPos(raw, k, at);
      if (!allowed.includes(k)) diag.error(joinPath(path, k), kat, `unknown key '${k}' (allowed: ${allowed.join(', ')})`);
      else if (k !== 'paths') {
        diag.error(
          joinPath(path, k),
          kat,
          `not supported by faultline, so the pipeline is refused: ${key}: ${k} would evaluate against another ${k === 'compare_to' ? 'ref' : 'project or ref'}`,
        );
      }
    }
    list = raw.paths;
    if (list === undefined) {
      diag.error(joinPath(path, 'paths'), at, `paths is required`);
      return [];
    }
  }
  if (typeof list === 'string') list = [list];
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) {
    diag.error(path, at, `expected a list of file patterns, got ${describe(list)}`);
    return [];
  }
  return list as string[];
}

export function readClauses(r: PlainMap, rp: string, rpos: Pos, diag: Diagnostics): Clauses {
  return {
    expr: readIf(r, rp, rpos, diag),
    changes: readPatterns(r, 'changes', rp, rpos, diag),
    exists: readPatterns(r, 'exists', rp, rpos, diag),
  };
}

const matcherCache = new Map<string, (p: string) => boolean>();
function matcher(glob: string): (p: string) => boolean {
  let m = matcherCache.get(glob);
  if (!m) {
    m = picomatch(glob.replace(/^\.\//, ''), { dot: true });
    if (matcherCache.size > 10_000) matcherCache.clear();
    matcherCache.set(glob, m);
  }
  return m;
}

/** Does any path match any of the (variable-expanded) patterns? */
export function anyMatch(patterns: readonly string[], paths: readonly string[], vars: Vars): boolean {
  const ms = patterns.map((p) => matcher(expandString(p, vars)));
  return paths.some((f) => ms.some((m) => m(f)));
}

/** GitLab: changes is true when there is no push diff to look at. */
export function changesHold(patterns: readonly string[], ctx: EvalContext): boolean {
  const source = ctx.vars.CI_PIPELINE_SOURCE ?? 'push';
  const changed = ctx.commit?.changed ?? null;
  if (!DIFF_SOURCES.has(source) || changed === null) return true;
  return anyMatch(patterns, changed, ctx.vars);
}

export function clausesHold(c: Clauses, ctx: EvalContext): boolean {
  if (c.expr && !c.expr.evaluate(ctx.vars)) return false;
  if (c.changes && !changesHold(c.changes, ctx)) return false;
  if (c.exists && !anyMatch(c.exists, ctx.commit?.files ?? [], ctx.vars)) return false;
  return true;
}

/**
 * `rules:` entries may be nested lists (a `!reference [.x, rules]` among plain rules):
 * flattened like GitLab, up to 10 levels.
 */
export function flattenRules(raw: unknown[], pos: Pos): { rule: unknown; pos: Pos }[] {
  const out: { rule: unknown; pos: Pos }[] = [];
  const visit = (list: unknown[], at: Pos, depth: number) => {
    list.forEach((r, i) => {
      const rpos = valuePos(list, i, at);
      if (Array.isArray(r) && depth < 10) visit(r, rpos, depth + 1);
      else out.push({ rule: r, pos: rpos });
    });
  };
  visit(raw, pos, 0);
  return out;
}
