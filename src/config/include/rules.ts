/**
 * `include: rules:` — GitLab allows `if`, `exists`, `changes` and `when` (always or
 * never) there. `if:` goes through the same expression evaluator as job rules; the
 * globs of exists/changes match like Ruby's File.fnmatch with FNM_PATHNAME|FNM_DOTMATCH
 * (`*` stays within a directory, `**` crosses them, dot files match). Without a diff
 * (CommitFacts.changed null: a new branch, a web or scheduled pipeline) `changes:` is
 * true, as in GitLab.
 */
import { minimatch } from 'minimatch';
import { describe, didYouMean, joinPath, type Diagnostics } from '../diagnostics.js';
import type { Vars } from '../expression.js';
import type { CommitFacts } from '../index.js';
import { readIf } from '../job.js';
import { isPlainMap, keyPos, valuePos, type PlainMap, type Pos } from '../yaml-source.js';

const INCLUDE_RULE_KEYS = ['if', 'exists', 'changes', 'when'];

export const globMatch = (pattern: string, path: string): boolean =>
  minimatch(path, pattern.replace(/^\/+/, ''), { dot: true, nobrace: false, noext: false });

/** True when the include applies; errors are reported (and the include then does not apply). */
export function includeRulesMatch(
  rules: unknown,
  path: string,
  pos: Pos,
  vars: Vars,
  commit: CommitFacts | undefined,
  diag: Diagnostics,
): boolean {
  if (!Array.isArray(rules)) {
    diag.error(path, pos, `expected a list of rules, got ${describe(rules)}`);
    return false;
  }
  let decided: boolean | null = null;
  let bad = false;
  rules.forEach((r, i) => {
    const rp = joinPath(path, i);
    const rpos = valuePos(rules, i, pos);
    if (!isPlainMap(r)) {
      diag.error(rp, rpos, `expected a rule (a map with if:, exists:, changes:, when:), got ${describe(r)}`);
      bad = true;
      return;
    }
    for (const k of Object.keys(r)) {
      if (!INCLUDE_RULE_KEYS.includes(k)) {
        diag.error(
          joinPath(rp, k),
          keyPos(r, k, rpos),
          `unknown key '${k}'${didYouMean(k, INCLUDE_RULE_KEYS)} (include: rules accept if, exists, changes and when)`,
        );
        bad = true;
      }
    }
    if (r.when !== undefined && r.when !== 'always' && r.when !== 'never') {
      diag.error(joinPath(rp, 'when'), valuePos(r, 'when', rpos), `expected always or never, got ${describe(r.when)}`);
      bad = true;
    }
    const expr = readIf(r, rp, rpos, diag);
    if (r.if !== undefined && !expr) bad = true;
    const exists =
      r.exists === undefined
        ? true
        : globs(r, 'exists', rp, rpos, diag, (g) => commitFiles(commit, rp, rpos, diag).some((f) => g.some((p) => globMatch(p, f))));
    const changes =
      r.changes === undefined
        ? true
        : globs(
            r,
            'changes',
            rp,
            rpos,
            diag,
            (g) => (commit?.changed ?? null) === null || commit!.changed!.some((f) => g.some((p) => globMatch(p, f))),
          );
    if (exists === null || changes === null) bad = true;
    if (decided !== null || bad) return;
    const ifOk = expr ? expr.evaluate(vars) : true;
    if (ifOk && exists && changes) decided = r.when !== 'never';
  });
  return !bad && decided === true;
}

function commitFiles(commit: CommitFacts | undefined, rp: string, pos: Pos, diag: Diagnostics): readonly string[] {
  if (!commit) {
    diag.error(joinPath(rp, 'exists'), pos, "rules:exists needs the commit's file list, which is not known here");
    return [];
  }
  return commit.files;
}

/** Read `exists:`/`changes:` (a list, or a map with paths:); null on error. */
function globs(
  r: PlainMap,
  key: 'exists' | 'changes',
  rp: string,
  rpos: Pos,
  diag: Diagnostics,
  test: (g: string[]) => boolean,
): boolean | null {
  const v = r[key];
  const at = valuePos(r, key, rpos);
  const p = joinPath(rp, key);
  let list: unknown = v;
  if (isPlainMap(v)) {
    for (const k of Object.keys(v)) {
      if (k !== 'paths') {
        // compare_to (changes) and project/ref (exists) change what is compared: refuse, never guess.
        diag.error(joinPath(p, k), keyPos(v, k, at), `include: rules:${key}:${k} is not supported by faultline; write the rule without it`);
        return null;
      }
    }
    list = v.paths;
  }
  if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
    diag.error(p, at, `expected a list of file paths or globs, got ${describe(list)}`);
    return null;
  }
  return test(list as string[]);
}
