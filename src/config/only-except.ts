/**
 * `only:` / `except:` as GitLab evaluates them (Gitlab::Ci::Build::Policy):
 *   - a list is `refs:`; a map has `refs`, `variables`, `changes`, `kubernetes`;
 *   - only:   the job is added when EVERY key has a condition that holds;
 *   - except: the job is left out when ANY key has a condition that holds;
 *   - without rules:/only:, `only: [branches, tags]` applies (so a job without
 *     rules is not added to a merge request pipeline).
 * A ref pattern is `branches`, `tags`, a pipeline source (`merge_requests`,
 * `schedules`, `pushes`, `web`, `api`, `triggers`, `pipelines`, `chat`, `external`…),
 * a `/regex/` or an exact ref name, optionally `@group/project`. Names and regexes
 * only ever match branch and tag pipelines.
 */
import RE2 from 're2';
import { describe, joinPath, type Diagnostics } from './diagnostics.js';
import { compileExpression, ExpressionError, type Expression, type Vars } from './expression.js';
import { changesHold, type EvalContext } from './rule-clauses.js';
import { isPlainMap, keyPos, valuePos, type Pos } from './yaml-source.js';

interface Policy {
  refs: string[] | null;
  variables: Expression[] | null;
  changes: string[] | null;
  kubernetes: boolean;
}

const POLICY_KEYS = ['refs', 'variables', 'changes', 'kubernetes'];

/** Reads `only` or `except`; null when absent or broken (errors reported). */
export function readPolicy(raw: unknown, path: string, at: Pos, diag: Diagnostics): Policy | null {
  if (raw === undefined || raw === null) return null;
  const strings = (v: unknown, p: string, pos: Pos): string[] | null => {
    if (typeof v === 'string') return [v];
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    diag.error(p, pos, `expected a list of strings, got ${describe(v)}`);
    return null;
  };
  // `except: [schedules, {variables: [...]}]` (GNOME gjs): a map among the refs is read as that
  // policy's other keys next to `refs:` — the reading its authors meant; said in a warning.
  if (Array.isArray(raw) && raw.some(isPlainMap) && raw.every((x) => typeof x === 'string' || isPlainMap(x))) {
    const refs = raw.filter((x) => typeof x === 'string');
    const merged: Record<string, unknown> = refs.length > 0 ? { refs } : {};
    for (const m of raw.filter(isPlainMap)) Object.assign(merged, m);
    diag.warn(path, at, `a map inside the list is read as keys next to refs: (${Object.keys(merged).join(', ')})`);
    return readPolicy(merged, path, at, diag);
  }
  if (typeof raw === 'string' || Array.isArray(raw)) {
    const refs = strings(raw, path, at);
    return refs ? { refs, variables: null, changes: null, kubernetes: false } : null;
  }
  if (!isPlainMap(raw)) {
    diag.error(path, at, `expected a list of refs or a map with refs:, variables:, changes:, kubernetes:, got ${describe(raw)}`);
    return null;
  }
  const out: Policy = { refs: null, variables: null, changes: null, kubernetes: false };
  for (const k of Object.keys(raw)) {
    const kp = joinPath(path, k);
    const vat = valuePos(raw, k, at);
    switch (k) {
      case 'refs':
        out.refs = strings(raw.refs, kp, vat) ?? [];
        break;
      case 'variables': {
        const list = strings(raw.variables, kp, vat) ?? [];
        out.variables = list.map((src, i) => {
          try {
            return compileExpression(src);
          } catch (e) {
            if (!(e instanceof ExpressionError)) throw e;
            diag.error(
              joinPath(kp, i),
              valuePos(raw.variables, i, vat),
              `${e.message} (at character ${e.offset + 1} of ${JSON.stringify(src)})`,
            );
            return { source: src, evaluate: () => false };
          }
        });
        break;
      }
      case 'changes': {
        const c = raw.changes;
        const list = isPlainMap(c) ? c.paths : c;
        if (isPlainMap(c) && c.compare_to !== undefined) {
          diag.error(
            joinPath(kp, 'compare_to'),
            keyPos(c, 'compare_to', vat),
            'not supported by faultline, so the pipeline is refused: changes would be compared with another ref',
          );
        }
        out.changes = strings(list, kp, vat) ?? [];
        break;
      }
      case 'kubernetes':
        if (raw.kubernetes !== 'active') diag.error(kp, vat, `expected active, got ${describe(raw.kubernetes)}`);
        else {
          out.kubernetes = true;
          diag.warn(kp, vat, 'faultline has no Kubernetes integration, so kubernetes: active never holds');
        }
        break;
      default:
        diag.error(kp, keyPos(raw, k, at), `unknown key '${k}' (allowed: ${POLICY_KEYS.join(', ')})`);
    }
  }
  return out;
}

const SOURCE_ALIASES: Record<string, string> = { merge_request_event: 'merge_request' };

/** One ref pattern against the pipeline (see the file comment). */
export function refMatches(pattern: string, vars: Vars): boolean {
  const at = pattern.lastIndexOf('@');
  if (at > 0 && !pattern.startsWith('/')) {
    const project = pattern.slice(at + 1);
    if ((vars.CI_PROJECT_PATH ?? '') !== project) return false;
    pattern = pattern.slice(0, at);
  }
  const tag = vars.CI_COMMIT_TAG;
  const branch = vars.CI_COMMIT_BRANCH;
  if (pattern === 'tags' && tag) return true;
  if (pattern === 'branches' && branch && !tag) return true;
  const rawSource = vars.CI_PIPELINE_SOURCE ?? 'push';
  const source = SOURCE_ALIASES[rawSource] ?? rawSource;
  if (pattern === source || pattern === `${source}s` || (source.endsWith('h') && pattern === `${source}es`)) return true;
  if (!tag && !branch) return false;
  const ref = tag ?? branch!;
  const re = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
  if (re) {
    try {
      return new RE2(re[1]!, re[2]!.replace(/[^ims]/g, '')).test(ref);
    } catch {
      return pattern === ref;
    }
  }
  return pattern === ref;
}

function holds(p: Policy, ctx: EvalContext): boolean[] {
  const out: boolean[] = [];
  if (p.refs) out.push(p.refs.some((r) => refMatches(r, ctx.vars)));
  if (p.variables) out.push(p.variables.some((e) => e.evaluate(ctx.vars)));
  if (p.changes) out.push(changesHold(p.changes, ctx));
  if (p.kubernetes) out.push(false);
  return out;
}

/** Is the job added to this pipeline? `only` null means the default (branches, tags). */
export function policyIncludes(only: Policy | null, except: Policy | null, ctx: EvalContext): boolean {
  const o = only ?? { refs: ['branches', 'tags'], variables: null, changes: null, kubernetes: false };
  if (!holds(o, ctx).every(Boolean)) return false;
  return !(except && holds(except, ctx).some(Boolean));
}
