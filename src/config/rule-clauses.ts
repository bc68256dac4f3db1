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
import type { CommitFacts, Lookups, Want } from './index.js';
import { isPlainMap, keyPos, valuePos, type PlainMap, type Pos } from './yaml-source.js';

/** Sources whose pipelines have a push diff for `changes:` (GitLab). */
const DIFF_SOURCES = new Set(['push', 'merge_request_event', 'external_pull_request_event']);

export interface EvalContext {
  vars: Vars;
  commit: CommitFacts | undefined;
  /** Answers to `compare_to` / `exists: project` questions (absent: none looked up yet). */
  lookups?: Lookups;
  /** Where a rule that cannot be evaluated says so; without it such a rule does not match. */
  diag?: Diagnostics;
  /** Set when a rule could not be evaluated (its error is reported): the later rules do not decide. */
  blocked?: boolean;
}

export interface Clauses {
  expr: Expression | null;
  /** Unexpanded glob patterns; null when the rule has no such clause. */
  changes: string[] | null;
  exists: string[] | null;
  /** `changes: compare_to` (unexpanded): compare with the merge base of this ref, not the push. */
  compareTo?: string;
  /** `exists: project/ref` (unexpanded): look in that project's files at that ref (null: its default branch). */
  existsIn?: { project: string; ref: string | null };
  /** The rule's path and position, for errors found while it is evaluated. */
  path: string;
  pos: Pos;
}

/** The key of a Want in `Lookups`. */
export const wantKey = (w: Want): string =>
  w.kind === 'changed_since' ? `changed_since\0${w.ref}` : `project_files\0${w.project}\0${w.ref ?? ''}`;

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

interface Patterns {
  list: string[];
  /** compare_to, or project/ref, when the clause is a map that has them. */
  extra: Record<string, string>;
}

/** `changes: [globs]` / `{paths: [globs], compare_to}`, `exists: [globs]` / `{paths, project, ref}`. */
function readPatterns(r: PlainMap, key: 'changes' | 'exists', rp: string, rpos: Pos, diag: Diagnostics): Patterns | null {
  const raw = r[key];
  if (raw === undefined) return null;
  const path = joinPath(rp, key);
  const at = valuePos(r, key, rpos);
  let list: unknown = raw;
  const extra: Record<string, string> = {};
  if (isPlainMap(raw)) {
    const allowed = key === 'changes' ? ['paths', 'compare_to'] : ['paths', 'project', 'ref'];
    for (const k of Object.keys(raw)) {
      const kat = keyPos(raw, k, at);
      if (!allowed.includes(k)) diag.error(joinPath(path, k), kat, `unknown key '${k}' (allowed: ${allowed.join(', ')})`);
      else if (k !== 'paths') {
        if (typeof raw[k] === 'string' && raw[k] !== '') extra[k] = raw[k];
        else diag.error(joinPath(path, k), valuePos(raw, k, at), `expected a string, got ${describe(raw[k])}`);
      }
    }
    // GitLab: "exists:ref can only be specified if exists:project is specified".
    if (key === 'exists' && raw.ref !== undefined && raw.project === undefined)
      diag.error(joinPath(path, 'ref'), keyPos(raw, 'ref', at), 'ref can only be given together with project');
    list = raw.paths;
    if (list === undefined) {
      diag.error(joinPath(path, 'paths'), at, `paths is required`);
      return { list: [], extra };
    }
  }
  if (typeof list === 'string') list = [list];
  if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) {
    diag.error(path, at, `expected a list of file patterns, got ${describe(list)}`);
    return { list: [], extra };
  }
  return { list: list as string[], extra };
}

export function readClauses(r: PlainMap, rp: string, rpos: Pos, diag: Diagnostics): Clauses {
  const changes = readPatterns(r, 'changes', rp, rpos, diag);
  const exists = readPatterns(r, 'exists', rp, rpos, diag);
  const c: Clauses = { expr: readIf(r, rp, rpos, diag), changes: changes?.list ?? null, exists: exists?.list ?? null, path: rp, pos: rpos };
  if (changes?.extra.compare_to !== undefined) c.compareTo = changes.extra.compare_to;
  if (exists?.extra.project !== undefined) c.existsIn = { project: exists.extra.project, ref: exists.extra.ref ?? null };
  return c;
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

/**
 * The answer to a repository question, or null after reporting why there is none: not looked
 * up yet (a `needs_lookup` error carrying the Want, so the caller can look it up and compile
 * again), or looked up and failed (GitLab's error for the rule; the pipeline is not created).
 */
function lookup(c: Clauses, want: Want, keyword: string, ctx: EvalContext): readonly string[] | null {
  const answer = ctx.lookups?.[wantKey(want)];
  ctx.blocked = ctx.blocked || !answer?.ok;
  const what = want.kind === 'changed_since' ? `\`${want.ref}\`` : `\`${want.project}\`${want.ref ? ` at \`${want.ref}\`` : ''}`;
  if (answer?.ok) return answer.paths;
  if (!answer) {
    ctx.diag?.error(
      c.path,
      c.pos,
      `${keyword} ${what} cannot be evaluated here (the caller did not look it up), so the pipeline is refused`,
      'needs_lookup',
      want,
    );
  } else ctx.diag?.error(c.path, c.pos, `Failed to parse rule: ${answer.reason}`, answer.unreachable ? 'needs_lookup' : undefined);
  return null;
}

/**
 * `changes: {paths, compare_to}` as GitLab's Clause::Changes: the paths changed between the
 * merge base of the ref and the pipeline's commit — whatever the pipeline's source.
 */
function changesSinceHold(c: Clauses, ctx: EvalContext): boolean {
  const ref = expandString(c.compareTo!, ctx.vars);
  const paths = lookup(c, { kind: 'changed_since', ref }, 'rules:changes:compare_to', ctx);
  return paths !== null && anyMatch(c.changes!, paths, ctx.vars);
}

/** `exists: {paths, project, ref}`: that project's files at that ref (GitLab 17.0). */
function existsInHold(c: Clauses, ctx: EvalContext): boolean {
  const project = expandString(c.existsIn!.project, ctx.vars);
  const ref = c.existsIn!.ref === null ? null : expandString(c.existsIn!.ref, ctx.vars);
  const paths = lookup(c, { kind: 'project_files', project, ref }, 'rules:exists:project', ctx);
  return paths !== null && anyMatch(c.exists!, paths, ctx.vars);
}

export function clausesHold(c: Clauses, ctx: EvalContext): boolean {
  if (c.expr && !c.expr.evaluate(ctx.vars)) return false;
  if (c.changes && !(c.compareTo !== undefined ? changesSinceHold(c, ctx) : changesHold(c.changes, ctx))) return false;
  if (c.exists && !(c.existsIn ? existsInHold(c, ctx) : anyMatch(c.exists, ctx.commit?.files ?? [], ctx.vars))) return false;
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
