/**
 * The global keywords: `stages`, `default` (plus the legacy top-level image /
 * before_script / after_script), `variables` and `workflow: rules:`.
 */
import type { Diagnostics } from './diagnostics.js';
import { describe, joinPath } from './diagnostics.js';
import { checkKeys } from './check-keys.js';
import type { Defaults } from './job.js';
import type { CommitFacts, Lookups } from './index.js';
import type { AutoCancel } from '../pipeline/model.js';
import { DEFAULT_UNSUPPORTED, WORKFLOW_RULE_UNSUPPORTED, WORKFLOW_UNSUPPORTED } from './keywords.js';
import { clausesHold, flattenRules, readClauses } from './rule-clauses.js';
import {
  check,
  DEFAULT_KEYWORDS,
  durationSchema,
  hooksSchema,
  imageSchema,
  interruptibleSchema,
  retrySchema,
  retrySpec,
  scriptSchema,
  stagesSchema,
  tagsSchema,
  variablesSchema,
  WORKFLOW_KEYWORDS,
  WORKFLOW_RULE_KEYWORDS,
  type VariablesOut,
} from './schema.js';
import { cacheSchema, servicesSchema } from './services-cache.js';
import { isPlainMap, keyPos, START, valuePos, type PlainMap, type Pos } from './yaml-source.js';
import type { Vars } from './expression.js';

export const DEFAULT_STAGES = ['build', 'test', 'deploy'] as const;

/** `.pre` first and `.post` last, always, whatever the user listed. */
export function readStages(top: PlainMap, diag: Diagnostics): string[] {
  let key: 'stages' | 'types' | null = 'stages' in top ? 'stages' : 'types' in top ? 'types' : null;
  if ('types' in top) diag.warn('types', keyPos(top, 'types', START), 'types: is deprecated; use stages:');
  if ('stages' in top && 'types' in top) key = 'stages';
  let user: string[] = [...DEFAULT_STAGES];
  if (key) {
    const parsed = check(stagesSchema, top[key], key, valuePos(top, key, START), diag);
    if (parsed) user = parsed;
  }
  const seen = new Set<string>();
  const middle: string[] = [];
  user.forEach((s, i) => {
    if (s === '.pre' || s === '.post') return;
    if (seen.has(s)) {
      diag.warn(
        joinPath(key ?? 'stages', i),
        valuePos(top[key ?? 'stages'], i, START),
        `stage '${s}' is listed twice; the first one counts`,
      );
      return;
    }
    seen.add(s);
    middle.push(s);
  });
  return ['.pre', ...middle, '.post'];
}

export function readDefaults(top: PlainMap, diag: Diagnostics): Defaults {
  const d: Defaults = {};
  const legacy: PlainMap = {};
  for (const k of ['image', 'before_script', 'after_script', 'services', 'cache']) {
    // `cache: {script: …}` is a job under a reserved name, already reported as such.
    if ((k === 'services' || k === 'cache') && isPlainMap(top[k]) && 'script' in top[k]) continue;
    if (k in top) {
      diag.warn(k, keyPos(top, k, START), `a top-level ${k}: is deprecated; move it under default:`);
      legacy[k] = top[k];
    }
  }
  const def = top.default;
  const defPos = valuePos(top, 'default', START);
  let src: PlainMap = {};
  if (def !== undefined && def !== null) {
    if (!isPlainMap(def)) diag.error('default', defPos, `expected a map of job keywords, got ${describe(def)}`);
    else {
      checkKeys(def, 'default', defPos, diag, DEFAULT_KEYWORDS, DEFAULT_UNSUPPORTED);
      src = def;
    }
  }
  const pick = (k: string): { v: unknown; path: string; pos: Pos } | null => {
    if (src[k] !== undefined) return { v: src[k], path: joinPath('default', k), pos: valuePos(src, k, defPos) };
    if (legacy[k] !== undefined) return { v: legacy[k], path: k, pos: valuePos(top, k, START) };
    return null;
  };
  const get = <T>(k: string, f: (v: unknown, path: string, pos: Pos) => T | undefined): T | undefined => {
    const x = pick(k);
    return x ? f(x.v, x.path, x.pos) : undefined;
  };
  d.image = get('image', (v, p, pos) => check(imageSchema, v, p, pos, diag));
  d.before_script = get('before_script', (v, p, pos) => check(scriptSchema, v, p, pos, diag));
  d.after_script = get('after_script', (v, p, pos) => check(scriptSchema, v, p, pos, diag));
  d.timeout = get('timeout', (v, p, pos) => check(durationSchema, v, p, pos, diag));
  d.after_script_timeout = get('after_script_timeout', (v, p, pos) => check(durationSchema, v, p, pos, diag));
  const retry = get('retry', (v, p, pos) => check(retrySchema, v, p, pos, diag));
  if (retry) d.retry = retrySpec(retry);
  d.interruptible = get('interruptible', (v, p, pos) => check(interruptibleSchema, v, p, pos, diag));
  d.tags = get('tags', (v, p, pos) => check(tagsSchema, v, p, pos, diag));
  d.services = get('services', (v, p, pos) => check(servicesSchema, v, p, pos, diag));
  d.cache = get('cache', (v, p, pos) => check(cacheSchema, v, p, pos, diag));
  d.hooks = get('hooks', (v, p, pos) => check(hooksSchema, v, p, pos, diag));
  for (const k of Object.keys(d) as (keyof Defaults)[]) if (d[k] === undefined) delete d[k];
  return d;
}

export function readGlobalVariables(top: PlainMap, diag: Diagnostics): VariablesOut {
  const none = { values: {}, masked: [], raw: [] };
  if (top.variables === undefined || top.variables === null) return none;
  return check(variablesSchema, top.variables, 'variables', valuePos(top, 'variables', START), diag) ?? none;
}

export type WorkflowResult =
  { created: true; variables: VariablesOut; autoCancel?: AutoCancel } | { created: false; path: string; pos: Pos; reason: string };

const ON_NEW_COMMIT = ['conservative', 'interruptible', 'none'] as const;
const ON_JOB_FAILURE = ['none', 'all'] as const;

/** `workflow: auto_cancel:` / a workflow rule's: `on_new_commit`, `on_job_failure` (GitLab's values). */
function readAutoCancel(raw: unknown, path: string, at: Pos, diag: Diagnostics): AutoCancel | undefined {
  if (!isPlainMap(raw)) {
    diag.error(path, at, `expected a map with on_new_commit: and/or on_job_failure:, got ${describe(raw)}`);
    return undefined;
  }
  const out: AutoCancel = {};
  for (const k of Object.keys(raw)) {
    const v = raw[k];
    const vp = valuePos(raw, k, at);
    if (k === 'on_new_commit') {
      if ((ON_NEW_COMMIT as readonly unknown[]).includes(v)) out.on_new_commit = v as AutoCancel['on_new_commit'];
      else diag.error(joinPath(path, k), vp, `expected ${ON_NEW_COMMIT.join(', ')}, got ${describe(v)}`);
    } else if (k === 'on_job_failure') {
      if ((ON_JOB_FAILURE as readonly unknown[]).includes(v)) out.on_job_failure = v as AutoCancel['on_job_failure'];
      else diag.error(joinPath(path, k), vp, `expected ${ON_JOB_FAILURE.join(', ')}, got ${describe(v)}`);
    } else diag.error(joinPath(path, k), keyPos(raw, k, at), `unknown key '${k}' (allowed: on_new_commit, on_job_failure)`);
  }
  return out;
}

/** Evaluate `workflow: rules:`; the first matching rule decides (no match → no pipeline). */
export function evaluateWorkflow(
  top: PlainMap,
  vars: Vars,
  commit: CommitFacts | undefined,
  diag: Diagnostics,
  lookups?: Lookups,
): WorkflowResult {
  const none = { created: true as const, variables: { values: {}, masked: [], raw: [] } };
  const wf = top.workflow;
  if (wf === undefined || wf === null) return none;
  const wfPos = valuePos(top, 'workflow', START);
  if (!isPlainMap(wf)) {
    diag.error('workflow', wfPos, `expected a map with rules:, got ${describe(wf)}`);
    return none;
  }
  checkKeys(wf, 'workflow', wfPos, diag, WORKFLOW_KEYWORDS, WORKFLOW_UNSUPPORTED);
  const base =
    wf.auto_cancel === undefined
      ? undefined
      : readAutoCancel(wf.auto_cancel, 'workflow.auto_cancel', valuePos(wf, 'auto_cancel', wfPos), diag);
  const withBase = (r: WorkflowResult, rule?: AutoCancel): WorkflowResult => {
    const ac = base || rule ? { ...base, ...rule } : undefined;
    return r.created && ac ? { ...r, autoCancel: ac } : r;
  };
  if (wf.rules === undefined) return withBase(none);
  const rulesPos = valuePos(wf, 'rules', wfPos);
  if (!Array.isArray(wf.rules)) {
    diag.error('workflow.rules', rulesPos, `expected a list of rules, got ${describe(wf.rules)}`);
    return none;
  }
  let decided: WorkflowResult | null = null;
  flattenRules(wf.rules, rulesPos).forEach(({ rule: r, pos: rpos }, i) => {
    const rp = joinPath('workflow.rules', i);
    if (!isPlainMap(r)) {
      diag.error(rp, rpos, `expected a rule (a map with if:, when: …), got ${describe(r)}`);
      return;
    }
    checkKeys(r, rp, rpos, diag, WORKFLOW_RULE_KEYWORDS, WORKFLOW_RULE_UNSUPPORTED);
    const clauses = readClauses(r, rp, rpos, diag);
    let when: 'always' | 'never' = 'always';
    if (r.when !== undefined) {
      if (r.when === 'always' || r.when === 'never') when = r.when;
      else diag.error(joinPath(rp, 'when'), valuePos(r, 'when', rpos), `expected always or never, got ${describe(r.when)}`);
    }
    const ruleVars =
      r.variables === undefined
        ? undefined
        : check(variablesSchema, r.variables, joinPath(rp, 'variables'), valuePos(r, 'variables', rpos), diag);
    const ruleAc =
      r.auto_cancel === undefined
        ? undefined
        : readAutoCancel(r.auto_cancel, joinPath(rp, 'auto_cancel'), valuePos(r, 'auto_cancel', rpos), diag);
    if (decided) return; // keep validating the remaining rules
    const ctx = { vars, commit, lookups, diag, blocked: false };
    const matches = clausesHold(clauses, ctx);
    // A rule that could not be evaluated reported why; the jobs are still compiled (their own
    // lookups are asked for in the same round) but no later rule decides instead of it.
    if (ctx.blocked) decided = withBase(none);
    if (!matches) return;
    decided =
      when === 'never'
        ? { created: false, path: rp, pos: rpos, reason: 'this rule matched and says when: never, so no pipeline is created' }
        : withBase({ created: true, variables: ruleVars ?? none.variables }, ruleAc);
  });
  return (
    decided ?? {
      created: false,
      path: 'workflow.rules',
      pos: rulesPos,
      reason: 'no workflow: rules: entry matched, so no pipeline is created',
    }
  );
}
