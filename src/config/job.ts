/**
 * One job's configuration (extends already applied) → JobSpec, or "excluded"
 * when its rules or `when: never` leave it out of this pipeline. Every keyword
 * is validated on its own so that all problems are reported together; a job
 * with errors still yields a best-effort spec so that `needs` checks can run.
 */
import type { ImageSpec, JobSpec, OnStatus, RetrySpec, When } from '../pipeline/model.js';
import type { RetryWhen } from '../protocol/failure.js';
import { didYouMean, describe, joinPath, type Diagnostics } from './diagnostics.js';
import { compileExpression, ExpressionError, type Expression, type Vars } from './expression.js';
import {
  allowFailureSchema,
  check,
  durationSchema,
  imageSchema,
  interruptibleSchema,
  JOB_IGNORED_KEYWORDS,
  JOB_KEYWORDS,
  JOB_UNSUPPORTED_KEYWORDS,
  manualSchema,
  needsSchema,
  onStatusSchema,
  retrySchema,
  RULE_KEYWORDS,
  RULE_UNSUPPORTED_KEYWORDS,
  scriptSchema,
  stageSchema,
  tagsSchema,
  variablesSchema,
  whenSchema,
} from './schema.js';
import { isPlainMap, keyPos, valuePos, type PlainMap, type Pos } from './yaml-source.js';
import { dependenciesSchema, readArtifacts } from './artifacts.js';
import type { z } from 'zod';

export interface Defaults {
  image?: ImageSpec;
  before_script?: string[];
  after_script?: string[];
  timeout?: number;
  after_script_timeout?: number;
  retry?: RetrySpec;
  interruptible?: boolean | 'graceful';
  tags?: string[];
}

export interface JobContext {
  diag: Diagnostics;
  stages: readonly string[];
  defaults: Defaults;
  /** Global variables (after workflow rules). */
  globalVars: Record<string, string>;
  predefined: Record<string, string>;
  pipelineVars: Record<string, string>;
}

export interface NeedRef {
  name: string;
  optional: boolean;
  /** `needs: [{job, artifacts: false}]` → false. */
  artifacts?: boolean;
  pos: Pos;
  path: string;
}

export interface CompiledJob {
  spec: JobSpec;
  needs: NeedRef[] | null;
  masked: string[];
  /** `dependencies:` as written (resolved by config/artifacts.ts); null = not given. */
  dependencies?: { name: string; pos: Pos; path: string }[] | null;
}

export type JobOutcome = { included: true; job: CompiledJob } | { included: false };

type AllowFailure = z.output<typeof allowFailureSchema>;
type OnStatusIn = z.output<typeof onStatusSchema>;

const DEFAULT_TIMEOUT = 3600;
const DEFAULT_AFTER_SCRIPT_TIMEOUT = 300;

/** Check a map's keys against the known, warn-only and unsupported tables. */
export function checkKeys(
  map: PlainMap,
  path: string,
  fallback: Pos,
  diag: Diagnostics,
  known: readonly string[],
  unsupported: readonly string[],
  unsupportedText: (key: string) => string = () => 'not supported by faultline yet; ignored',
): void {
  for (const k of Object.keys(map)) {
    if (known.includes(k)) continue;
    const at = keyPos(map, k, fallback);
    if (unsupported.includes(k)) diag.warn(joinPath(path, k), at, unsupportedText(k));
    else diag.error(joinPath(path, k), at, `unknown key '${k}'${didYouMean(k, [...known, ...unsupported])}`);
  }
}

interface Rule {
  expr: Expression | null;
  when?: When | 'delayed';
  allowFailure?: AllowFailure;
  variables?: Record<string, string>;
  needs?: NeedRef[];
  interruptible?: boolean | 'graceful';
  index: number;
}

export function compileJob(name: string, cfg: PlainMap, jobPos: Pos, ctx: JobContext): JobOutcome {
  const { diag } = ctx;
  const at = (k: string) => valuePos(cfg, k, jobPos);
  const p = (k: string) => joinPath(name, k);
  const has = (k: string) => cfg[k] !== undefined;
  const field = <S extends z.ZodTypeAny>(k: string, schema: S): z.output<S> | undefined =>
    has(k) ? check(schema, cfg[k], p(k), at(k), diag) : undefined;

  checkKeys(cfg, name, jobPos, diag, JOB_KEYWORDS, [...JOB_IGNORED_KEYWORDS, ...JOB_UNSUPPORTED_KEYWORDS], (k) =>
    (JOB_IGNORED_KEYWORDS as readonly string[]).includes(k)
      ? `${k}: is not supported by faultline (use rules:); ignored`
      : 'not supported by faultline yet; ignored',
  );

  // stage
  let stage = field('stage', stageSchema) ?? 'test';
  let stageIndex = ctx.stages.indexOf(stage);
  if (stageIndex < 0) {
    const list = ctx.stages.join(', ');
    if (has('stage') && typeof cfg.stage === 'string') {
      diag.error(p('stage'), at('stage'), `stage '${stage}' is not defined in stages (${list})${didYouMean(stage, ctx.stages)}`);
    } else if (!has('stage')) {
      diag.error(p('stage'), jobPos, `no stage: given and the default stage 'test' is not defined in stages (${list})`);
    }
    stage = ctx.stages[0] ?? stage;
    stageIndex = 0;
  }

  // image
  const image = field('image', imageSchema) ?? (has('image') ? null : (ctx.defaults.image ?? null));
  if (isPlainMap(cfg.image)) {
    for (const k of ['entrypoint', 'docker', 'kubernetes']) {
      if (k in cfg.image) diag.warn(joinPath(name, 'image', k), keyPos(cfg.image, k, at('image')), 'not supported by faultline yet; ignored');
    }
  }

  // scripts
  const before_script = has('before_script') ? (field('before_script', scriptSchema) ?? []) : (ctx.defaults.before_script ?? []);
  const after_script = has('after_script') ? (field('after_script', scriptSchema) ?? []) : (ctx.defaults.after_script ?? []);
  let script: string[] = [];
  if (!has('script')) {
    diag.error(p('script'), jobPos, 'script is required: every job needs a script: with at least one command');
  } else {
    const parsed = field('script', scriptSchema);
    if (parsed?.length === 0) diag.error(p('script'), at('script'), 'script is empty; give at least one command');
    script = parsed ?? [];
  }

  // needs
  const needs = has('needs') ? readNeeds(cfg.needs, p('needs'), at('needs'), diag) : null;

  // when / manual
  let when = field('when', whenSchema);
  if (when === 'delayed') {
    diag.warn(p('when'), at('when'), 'when: delayed is not supported by faultline; the job runs as on_success');
  }
  const manual = field('manual', manualSchema);
  const allowFailure = field('allow_failure', allowFailureSchema);
  const onStatus = field('on_status', onStatusSchema);
  const interruptible = field('interruptible', interruptibleSchema);
  const timeout = field('timeout', durationSchema);
  const afterTimeout = field('after_script_timeout', durationSchema);
  const retryIn = field('retry', retrySchema);
  if (isPlainMap(cfg.retry) && 'exit_codes' in cfg.retry) {
    diag.warn(joinPath(name, 'retry', 'exit_codes'), keyPos(cfg.retry, 'exit_codes', at('retry')), 'not supported by faultline yet; ignored');
  }
  const tags = field('tags', tagsSchema);
  const artifacts = has('artifacts') ? readArtifacts(cfg.artifacts, p('artifacts'), at('artifacts'), diag) : null;
  const depsIn = field('dependencies', dependenciesSchema);
  const dependencies = depsIn
    ? depsIn.map((n, i) => ({ name: n, pos: valuePos(cfg.dependencies as unknown[], i, at('dependencies')), path: joinPath(p('dependencies'), i) }))
    : null;
  const jobVars = field('variables', variablesSchema);

  // rules
  const rules = has('rules') ? readRules(cfg.rules, p('rules'), at('rules'), ctx) : null;
  const ruleVars: Vars = { ...ctx.predefined, ...ctx.globalVars, ...(jobVars?.values ?? {}), ...ctx.pipelineVars };
  let matched: Rule | null = null;
  if (rules) {
    matched = rules.find((r) => r.expr === null || r.expr.evaluate(ruleVars)) ?? null;
    if (!matched) return { included: false };
  }

  const whenIsManualSomewhere = when === 'manual' || (rules?.some((r) => r.when === 'manual') ?? false);
  if (manual !== undefined && !whenIsManualSomewhere) {
    diag.error(p('manual'), at('manual'), 'manual: is only valid together with when: manual');
  }

  let effWhen: When | 'delayed' = matched?.when ?? when ?? 'on_success';
  if (matched?.when === 'delayed') {
    diag.warn(joinPath(name, 'rules', matched.index, 'when'), at('rules'), 'when: delayed is not supported by faultline; the job runs as on_success');
  }
  if (effWhen === 'delayed') effWhen = 'on_success';
  if (effWhen === 'never') return { included: false };
  when = effWhen;

  const effAllowFailure = matched?.allowFailure ?? allowFailure;
  const manualMode = effWhen === 'manual' ? (manual ?? (effAllowFailure === false ? 'required' : 'ignored')) : null;
  const on_status = buildOnStatus(effAllowFailure, onStatus, manualMode, cfg, name, jobPos, diag);

  const variables: Record<string, string> = { ...ctx.globalVars, ...(jobVars?.values ?? {}), ...(matched?.variables ?? {}) };

  const spec: JobSpec = {
    name,
    stage,
    stage_index: stageIndex,
    image,
    before_script,
    script,
    after_script,
    needs: null, // filled by the DAG pass from `needs` below
    when: effWhen,
    manual: manualMode,
    on_status,
    interruptible: matched?.interruptible ?? interruptible ?? ctx.defaults.interruptible ?? false,
    timeout_seconds: timeout ?? ctx.defaults.timeout ?? DEFAULT_TIMEOUT,
    after_script_timeout_seconds: afterTimeout ?? ctx.defaults.after_script_timeout ?? DEFAULT_AFTER_SCRIPT_TIMEOUT,
    retry: retryIn ? { max: retryIn.max, when: retryIn.when as RetryWhen[] } : (ctx.defaults.retry ?? { max: 0, when: ['always'] }),
    tags: tags ?? ctx.defaults.tags ?? [],
    variables,
    line: jobPos.line,
    artifacts,
  };
  return { included: true, job: { spec, needs: matched?.needs ?? needs, masked: jobVars?.masked ?? [], dependencies } };
}

const isCrossPipelineNeed = (it: unknown): boolean => isPlainMap(it) && ('project' in it || 'pipeline' in it);

function readNeeds(raw: unknown, path: string, pos: Pos, diag: Diagnostics): NeedRef[] | null {
  const parsed = check(needsSchema, raw, path, pos, diag);
  if (!parsed) return null;
  const src = raw as unknown[];
  const out: NeedRef[] = [];
  parsed.forEach((n, i) => {
    const orig = src[i];
    const itemPos = valuePos(src, i, pos);
    if (isCrossPipelineNeed(orig)) {
      diag.warn(joinPath(path, i), itemPos, 'needs from another project or pipeline are not supported by faultline; ignored');
      return;
    }
    if (n === null) return;
    const namePos = isPlainMap(orig) ? valuePos(orig, 'job', itemPos) : itemPos;
    out.push(
      typeof n === 'string'
        ? { name: n, optional: false, pos: namePos, path: joinPath(path, i) }
        : { name: n.job, optional: n.optional ?? false, artifacts: n.artifacts ?? true, pos: namePos, path: joinPath(path, i) },
    );
  });
  return out;
}

function readRules(raw: unknown, path: string, pos: Pos, ctx: JobContext): Rule[] | null {
  const { diag } = ctx;
  if (!Array.isArray(raw)) {
    diag.error(path, pos, `expected a list of rules, got ${describe(raw)}`);
    return null;
  }
  const out: Rule[] = [];
  raw.forEach((r, i) => {
    const rp = joinPath(path, i);
    const rpos = valuePos(raw, i, pos);
    if (!isPlainMap(r)) {
      diag.error(rp, rpos, `expected a rule (a map with if:, when: …), got ${describe(r)}`);
      return;
    }
    checkKeys(r, rp, rpos, diag, RULE_KEYWORDS, RULE_UNSUPPORTED_KEYWORDS, (k) =>
      k === 'start_in' ? 'not supported by faultline; ignored' : `rules:${k} is not supported by faultline; the condition is treated as true`,
    );
    const rule: Rule = { expr: readIf(r, rp, rpos, diag), index: i };
    const at = (k: string) => valuePos(r, k, rpos);
    if (r.if !== undefined && rule.expr === null) rule.expr = NEVER_MATCHES;
    if (r.when !== undefined) rule.when = check(whenSchema, r.when, joinPath(rp, 'when'), at('when'), diag);
    if (r.allow_failure !== undefined) rule.allowFailure = check(allowFailureSchema, r.allow_failure, joinPath(rp, 'allow_failure'), at('allow_failure'), diag);
    if (r.variables !== undefined) rule.variables = check(variablesSchema, r.variables, joinPath(rp, 'variables'), at('variables'), diag)?.values;
    if (r.needs !== undefined) rule.needs = readNeeds(r.needs, joinPath(rp, 'needs'), at('needs'), diag) ?? undefined;
    if (r.interruptible !== undefined) rule.interruptible = check(interruptibleSchema, r.interruptible, joinPath(rp, 'interruptible'), at('interruptible'), diag);
    out.push(rule);
  });
  return out;
}

const NEVER_MATCHES: Expression = { source: '', evaluate: () => false };

/** Compile a rule's `if:`; null when absent (always matches). Errors are reported. */
export function readIf(r: PlainMap, rp: string, rpos: Pos, diag: Diagnostics): Expression | null {
  if (r.if === undefined) return null;
  const at = valuePos(r, 'if', rpos);
  if (typeof r.if !== 'string') {
    diag.error(joinPath(rp, 'if'), at, `expected an expression string, got ${describe(r.if)}`);
    return null;
  }
  try {
    return compileExpression(r.if);
  } catch (e) {
    if (!(e instanceof ExpressionError)) throw e;
    diag.error(joinPath(rp, 'if'), at, `${e.message} (at character ${e.offset + 1} of ${JSON.stringify(r.if)})`);
    return null;
  }
}

/** allow_failure and on_status → one OnStatus; contradictions are errors. */
function buildOnStatus(
  af: AllowFailure | undefined,
  os: OnStatusIn | undefined,
  manualMode: string | null,
  cfg: PlainMap,
  name: string,
  jobPos: Pos,
  diag: Diagnostics,
): OnStatus {
  const out: OnStatus = { success: 'continue', failure: 'fail_pipeline', exit_codes: {} };
  const osMap = isPlainMap(cfg.on_status) ? cfg.on_status : null;
  const osPos = (k: string) => (osMap ? valuePos(osMap, k, valuePos(cfg, 'on_status', jobPos)) : jobPos);
  const conflict = (k: string, text: string) => diag.error(joinPath(name, 'on_status', k), osPos(k), text);

  if (af === true) out.failure = 'warn';
  // GitLab: a plain `when: manual` job may fail without failing the pipeline.
  if (af === undefined && manualMode === 'ignored') out.failure = 'warn';
  const afCodes = typeof af === 'object' ? (Array.isArray(af.exit_codes) ? af.exit_codes : [af.exit_codes]) : [];
  for (const c of afCodes) out.exit_codes[String(c)] = 'warn';

  if (!os) return out;
  if (os.success) out.success = os.success;
  if (os.failure) {
    if (af === true && os.failure !== 'warn') {
      conflict('failure', `allow_failure: true means failure: warn, but on_status says failure: ${os.failure}; keep one of them`);
    } else if (af === false && os.failure !== 'fail_pipeline') {
      conflict('failure', `allow_failure: false means failure: fail_pipeline, but on_status says failure: ${os.failure}; keep one of them`);
    }
    out.failure = os.failure;
  }
  for (const [code, outcome] of Object.entries(os.exit_codes ?? {})) {
    const key = String(Number(code));
    if (out.exit_codes[key] !== undefined && out.exit_codes[key] !== outcome) {
      const codesMap = osMap && isPlainMap(osMap.exit_codes) ? osMap.exit_codes : null;
      diag.error(
        joinPath(name, 'on_status', 'exit_codes', code),
        codesMap ? valuePos(codesMap, code, osPos('exit_codes')) : osPos('exit_codes'),
        `allow_failure: exit_codes makes exit code ${key} a warning, but on_status says ${outcome}; keep one of them`,
      );
    }
    out.exit_codes[key] = outcome;
  }
  return out;
}
