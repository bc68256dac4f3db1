/**
 * A job's `rules:` — read once, then the first rule whose clauses all hold decides
 * (when, allow_failure, variables, needs, interruptible). No rule matching leaves
 * the job out of the pipeline.
 */
import type { When } from '../pipeline/model.js';
import { describe, joinPath, type Diagnostics } from './diagnostics.js';
import { RULE_UNSUPPORTED } from './keywords.js';
import { readNeeds, type NeedRef } from './needs.js';
import { clausesHold, flattenRules, readClauses, type Clauses, type EvalContext } from './rule-clauses.js';
import { allowFailureSchema, check, interruptibleSchema, RULE_KEYWORDS, variablesSchema, whenSchema, type VariablesOut } from './schema.js';
import { isPlainMap, valuePos, type Pos } from './yaml-source.js';
import { checkKeys } from './check-keys.js';
import type { z } from 'zod';

export type AllowFailure = z.output<typeof allowFailureSchema>;

export interface Rule {
  clauses: Clauses;
  when?: When | 'delayed';
  allowFailure?: AllowFailure;
  variables?: VariablesOut;
  needs?: NeedRef[];
  interruptible?: boolean | 'graceful';
  index: number;
  pos: Pos;
}

export function readRules(raw: unknown, path: string, pos: Pos, diag: Diagnostics): Rule[] | null {
  if (!Array.isArray(raw)) {
    diag.error(path, pos, `expected a list of rules, got ${describe(raw)}`);
    return null;
  }
  const out: Rule[] = [];
  flattenRules(raw, pos).forEach(({ rule: r, pos: rpos }, i) => {
    const rp = joinPath(path, i);
    if (!isPlainMap(r)) {
      diag.error(rp, rpos, `expected a rule (a map with if:, changes:, exists:, when: …), got ${describe(r)}`);
      return;
    }
    checkKeys(r, rp, rpos, diag, RULE_KEYWORDS, RULE_UNSUPPORTED);
    const rule: Rule = { clauses: readClauses(r, rp, rpos, diag), index: i, pos: rpos };
    const at = (k: string) => valuePos(r, k, rpos);
    if (r.when !== undefined) rule.when = check(whenSchema, r.when, joinPath(rp, 'when'), at('when'), diag);
    if (rule.when === 'delayed') {
      diag.error(
        joinPath(rp, 'when'),
        at('when'),
        'not supported by faultline, so the pipeline is refused: when: delayed is not implemented; the job would start at once (use when: manual)',
      );
    }
    if (r.allow_failure !== undefined)
      rule.allowFailure = check(allowFailureSchema, r.allow_failure, joinPath(rp, 'allow_failure'), at('allow_failure'), diag);
    if (r.variables !== undefined) rule.variables = check(variablesSchema, r.variables, joinPath(rp, 'variables'), at('variables'), diag);
    if (r.needs !== undefined) rule.needs = readNeeds(r.needs, joinPath(rp, 'needs'), at('needs'), diag) ?? undefined;
    if (r.interruptible !== undefined)
      rule.interruptible = check(interruptibleSchema, r.interruptible, joinPath(rp, 'interruptible'), at('interruptible'), diag);
    out.push(rule);
  });
  return out;
}

export function firstMatch(rules: readonly Rule[], ctx: EvalContext): Rule | null {
  for (const r of rules) {
    if (clausesHold(r.clauses, ctx)) return r;
    if (ctx.blocked) return null; // this rule's error stands; no later rule may decide instead
  }
  return null;
}
