/**
 * One job's configuration (extends already applied) → JobSpec(s), or "excluded"
 * when its rules, only/except or `when: never` leave it out of this pipeline. Every
 * keyword is validated on its own so that all problems are reported together; a job
 * with errors still yields a best-effort spec so that `needs` checks can run.
 * `parallel:` makes several specs (one per instance).
 */
import type { CacheSpec, ImageSpec, JobSpec, ManualMode, OnStatus, RetrySpec, ServiceSpec, When } from '../pipeline/model.js';
import { expandString, expandVariables } from '../pipeline/variables.js';
import { reportUnsupported, checkKeys } from './check-keys.js';
import { didYouMean, describe, joinPath, type Diagnostics } from './diagnostics.js';
import { readEnvironment } from './environment.js';
import type { Vars } from './expression.js';
import type { CommitFacts, Lookups } from './index.js';
import { firstMatch, readRules, type AllowFailure, type Rule } from './job-rules.js';
import { JOB_UNSUPPORTED, NESTED_UNSUPPORTED } from './keywords.js';
import { readNeeds, type NeedRef } from './needs.js';
import { policyIncludes, readPolicy } from './only-except.js';
import { readParallel, type Instance } from './parallel.js';
import type { EvalContext } from './rule-clauses.js';
import {
  allowFailureSchema,
  check,
  DEFAULT_KEYWORDS,
  durationSchema,
  hooksSchema,
  imageSchema,
  interruptibleSchema,
  JOB_KEYWORDS,
  manualSchema,
  onStatusSchema,
  retrySchema,
  retrySpec,
  scriptSchema,
  stageSchema,
  tagsSchema,
  variablesSchema,
  whenSchema,
  type VariablesOut,
} from './schema.js';
import { cacheSchema, servicesSchema } from './services-cache.js';
import { isPlainMap, keyPos, valuePos, type PlainMap, type Pos } from './yaml-source.js';
import { readArtifacts } from './artifacts.js';
import { NOT_FOR_TRIGGER_JOBS, readTrigger } from './trigger.js';
import type { z } from 'zod';

export { checkKeys } from './check-keys.js';
export { readIf } from './rule-clauses.js';
export type { NeedRef } from './needs.js';

export interface Defaults {
  image?: ImageSpec;
  before_script?: string[];
  after_script?: string[];
  timeout?: number;
  after_script_timeout?: number;
  retry?: RetrySpec;
  interruptible?: boolean | 'graceful';
  tags?: string[];
  services?: ServiceSpec[];
  cache?: CacheSpec[];
  hooks?: { pre_get_sources_script: string[] };
}

export interface JobContext {
  diag: Diagnostics;
  stages: readonly string[];
  defaults: Defaults;
  /** Global variables (after workflow rules). */
  globalVars: VariablesOut;
  predefined: Record<string, string>;
  pipelineVars: Record<string, string>;
  commit: CommitFacts | undefined;
  lookups?: Lookups;
}

export interface CompiledJob {
  spec: JobSpec;
  needs: NeedRef[] | null;
  masked: string[];
  /** The job's name as written (instances of a parallel job share it). */
  base: string;
  /** This instance's matrix assignment ({} for none). */
  matrix: Record<string, string>;
  dependencies: { names: string[]; pos: Pos; path: string } | null;
}

export type JobOutcome = { included: true; jobs: CompiledJob[] } | { included: false };

type OnStatusIn = z.output<typeof onStatusSchema>;

const DEFAULT_TIMEOUT = 3600;
const DEFAULT_AFTER_SCRIPT_TIMEOUT = 300;
const EMPTY_VARS: VariablesOut = { values: {}, masked: [], raw: [] };

type Layered = { values: Record<string, string>; raw: Set<string> };
type Layer = { values: Record<string, string>; raw: readonly string[] | Set<string> } | Record<string, string> | undefined;

/** Layers of variables (lowest first) → values, and which keys stay raw (`expand: false`). */
function layer(...layers: Layer[]): Layered {
  const values: Record<string, string> = {};
  const raw = new Set<string>();
  for (const l of layers) {
    if (!l) continue;
    const structured = 'values' in l && typeof l.values === 'object' && 'raw' in l;
    const vals = (structured ? l.values : l) as Record<string, string>;
    const rawOf = structured ? new Set(l.raw as Iterable<string>) : new Set<string>();
    for (const [k, val] of Object.entries(vals)) {
      values[k] = val;
      if (rawOf.has(k)) raw.add(k);
      else raw.delete(k);
    }
  }
  return { values, raw };
}

/** `inherit: {default: bool | [keys], variables: bool | [names]}`. */
function readInherit(cfg: PlainMap, name: string, jobPos: Pos, ctx: JobContext): { defaults: Defaults; globals: VariablesOut } {
  const raw = cfg.inherit;
  if (raw === undefined) return { defaults: ctx.defaults, globals: ctx.globalVars };
  const at = valuePos(cfg, 'inherit', jobPos);
  const path = joinPath(name, 'inherit');
  if (!isPlainMap(raw)) {
    ctx.diag.error(path, at, `expected a map with default: and/or variables:, got ${describe(raw)}`);
    return { defaults: ctx.defaults, globals: ctx.globalVars };
  }
  const pick = (k: 'default' | 'variables', names: readonly string[] = []): ((n: string) => boolean) => {
    const v = raw[k];
    if (v === undefined || v === true) return () => true;
    if (v === false) return () => false;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) {
      const kp = joinPath(path, k);
      (v as string[]).forEach((x, i) => {
        if (k === 'default' && !(names as readonly string[]).includes(x))
          ctx.diag.error(joinPath(kp, i), valuePos(v, i, at), `'${x}' is not a default: keyword${didYouMean(x, names)}`);
      });
      return (n) => (v as string[]).includes(n);
    }
    ctx.diag.error(joinPath(path, k), valuePos(raw, k, at), `expected true, false or a list of names, got ${describe(v)}`);
    return () => true;
  };
  for (const k of Object.keys(raw)) {
    if (k !== 'default' && k !== 'variables')
      ctx.diag.error(joinPath(path, k), keyPos(raw, k, at), `unknown key '${k}' (allowed: default, variables)`);
  }
  const d = pick('default', [...DEFAULT_KEYWORDS, 'services', 'cache', 'artifacts', 'hooks', 'id_tokens', 'identity']);
  const g = pick('variables', []);
  const defaults = Object.fromEntries(Object.entries(ctx.defaults).filter(([k]) => d(k))) as Defaults;
  const values = Object.fromEntries(Object.entries(ctx.globalVars.values).filter(([k]) => g(k)));
  return {
    defaults,
    globals: { values, masked: ctx.globalVars.masked.filter(g), raw: ctx.globalVars.raw.filter(g) },
  };
}

export function compileJob(name: string, cfg: PlainMap, jobPos: Pos, ctx: JobContext): JobOutcome {
  const { diag } = ctx;
  const at = (k: string) => valuePos(cfg, k, jobPos);
  const p = (k: string) => joinPath(name, k);
  const has = (k: string) => cfg[k] !== undefined;
  const field = <S extends z.ZodTypeAny>(k: string, schema: S): z.output<S> | undefined =>
    has(k) ? check(schema, cfg[k], p(k), at(k), diag) : undefined;

  checkKeys(cfg, name, jobPos, diag, JOB_KEYWORDS, JOB_UNSUPPORTED, true);
  // GitLab publishes a job named `pages` as the Pages site: the job runs here, nothing is published.
  if (name === 'pages' && !has('pages')) reportUnsupported(diag, name, jobPos, JOB_UNSUPPORTED.pages!);
  const inherited = readInherit(cfg, name, jobPos, ctx);
  const { globals } = inherited;
  // A trigger job runs nothing itself: no script, and default: (image, before_script …) does not apply.
  const trigger = has('trigger') ? readTrigger(cfg.trigger, name, at('trigger'), diag) : undefined;
  if (has('trigger'))
    for (const k of NOT_FOR_TRIGGER_JOBS)
      if (has(k))
        diag.error(p(k), keyPos(cfg, k, jobPos), `a trigger: job starts a child pipeline and runs nothing itself, so it cannot have ${k}:`);
  const defaults: Defaults = has('trigger')
    ? { retry: inherited.defaults.retry, interruptible: inherited.defaults.interruptible }
    : inherited.defaults;

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
  const image = field('image', imageSchema) ?? (has('image') ? null : (defaults.image ?? null));
  if (isPlainMap(cfg.image)) {
    for (const k of ['kubernetes']) {
      if (k in cfg.image)
        reportUnsupported(diag, joinPath(name, 'image', k), keyPos(cfg.image, k, at('image')), NESTED_UNSUPPORTED[`image.${k}`]!);
    }
  }

  // scripts (a trigger: job has none; it is refused above)
  const before_script = has('before_script') ? (field('before_script', scriptSchema) ?? []) : (defaults.before_script ?? []);
  const after_script = has('after_script') ? (field('after_script', scriptSchema) ?? []) : (defaults.after_script ?? []);
  // hooks: the job's replaces default:'s (GitLab merges no keyword of default: key by key).
  const hooks = has('hooks') ? field('hooks', hooksSchema) : defaults.hooks;
  let script: string[] = [];
  if (!has('script')) {
    if (!has('trigger')) diag.error(p('script'), jobPos, 'script is required: every job needs a script: with at least one command');
  } else {
    const parsed = field('script', scriptSchema);
    if (parsed?.length === 0) diag.error(p('script'), at('script'), 'script is empty; give at least one command');
    script = parsed ?? [];
  }

  const needs = has('needs') ? readNeeds(cfg.needs, p('needs'), at('needs'), diag) : null;
  const dependencies = readDependencies(cfg, name, jobPos, diag);

  // when / manual
  const when = field('when', whenSchema);
  if (has('start_in') && when !== 'delayed') diag.error(p('start_in'), at('start_in'), 'start_in: belongs to when: delayed');
  // when: delayed is not implemented: refused when the job is in the pipeline (below); a job its
  // rules or only/except leave out runs nothing, so it is only warned about.
  const excluded = (): JobOutcome => {
    if (when === 'delayed')
      diag.warn(
        p('when'),
        at('when'),
        'when: delayed is not implemented; this job is not in this pipeline, but a pipeline that includes it is refused',
      );
    return { included: false };
  };
  const manual = field('manual', manualSchema);
  if (manual !== undefined && when !== undefined && when !== 'manual') {
    diag.error(p('manual'), at('manual'), `manual: makes the job manual, but it also says when: ${when}; keep one of them`);
  }
  const allowFailure = field('allow_failure', allowFailureSchema);
  const onStatus = field('on_status', onStatusSchema);
  const interruptible = field('interruptible', interruptibleSchema);
  const timeout = field('timeout', durationSchema);
  const afterTimeout = field('after_script_timeout', durationSchema);
  const retryIn = field('retry', retrySchema);
  const tags = field('tags', tagsSchema);
  const artifacts = has('artifacts') ? readArtifacts(cfg.artifacts, p('artifacts'), at('artifacts'), diag) : null;
  const jobVars = field('variables', variablesSchema) ?? EMPTY_VARS;
  const services = has('services') ? (field('services', servicesSchema) ?? []) : (defaults.services ?? []);
  const cache = has('cache') ? (field('cache', cacheSchema) ?? []) : (defaults.cache ?? []);

  const instances: Instance[] = readParallel(cfg.parallel, name, at('parallel'), diag) ?? [{ name, variables: {}, matrix: {} }];

  // Which jobs get into the pipeline: rules, or only/except (never both).
  const rules = has('rules') ? readRules(cfg.rules, p('rules'), at('rules'), diag) : null;
  const only = readPolicy(cfg.only, p('only'), at('only'), diag);
  const except = readPolicy(cfg.except, p('except'), at('except'), diag);
  if (has('rules') && (has('only') || has('except'))) {
    diag.error(
      p(has('only') ? 'only' : 'except'),
      at(has('only') ? 'only' : 'except'),
      'only:/except: cannot be used together with rules: in one job (GitLab refuses it too); keep rules:',
    );
  }
  if (!ctx.commit && rules?.some((r) => r.clauses.exists && !r.clauses.existsIn)) {
    diag.warn(p('rules'), at('rules'), "the commit's files are not known here, so rules: exists: matches nothing");
  }
  const visible = layer(globals, jobVars, ctx.pipelineVars);
  const evalCtx: EvalContext = { vars: expanded({ ...ctx.predefined }, visible), commit: ctx.commit, lookups: ctx.lookups, diag };
  let matched: Rule | null = null;
  if (rules) {
    matched = firstMatch(rules, evalCtx);
    if (!matched) return excluded();
  } else if (!policyIncludes(only, except, evalCtx)) {
    return excluded();
  }

  const effWhen: When | 'delayed' = matched?.when ?? when ?? (manual !== undefined ? 'manual' : 'on_success');
  if (effWhen === 'never') return excluded();
  // In the pipeline: a keyword faultline has no provider for refuses it (lint: a warning).
  for (const k of Object.keys(cfg))
    if (JOB_UNSUPPORTED[k]?.kind === 'no_provider') reportUnsupported(diag, p(k), keyPos(cfg, k, jobPos), JOB_UNSUPPORTED[k]);
  if (effWhen === 'delayed' && when === 'delayed' && !matched?.when)
    reportUnsupported(diag, p('when'), at('when'), NESTED_UNSUPPORTED['when: delayed']!);
  const jobWhen: Exclude<When, 'never'> = effWhen === 'delayed' ? 'on_success' : effWhen;

  const effAllowFailure = matched?.allowFailure ?? allowFailure;
  // GitLab: `when: manual` in rules defaults allow_failure to false (the job blocks);
  // a job-level `when: manual` defaults it to true.
  const manualFromRules = matched?.when === 'manual';
  const manualMode: ManualMode | null =
    jobWhen !== 'manual'
      ? null
      : (manual ?? (effAllowFailure === true ? 'ignored' : effAllowFailure !== undefined || manualFromRules ? 'required' : 'ignored'));
  const on_status = buildOnStatus(effAllowFailure, onStatus, manualMode, cfg, name, jobPos, diag);

  const masked = [...jobVars.masked, ...(matched?.variables?.masked ?? [])];
  const jobs = instances.map((inst): CompiledJob => {
    const ownVars = layer(globals, jobVars, matched?.variables, inst.variables);
    const envVars = readEnvironment(
      cfg.environment,
      name,
      at('environment'),
      expanded({ ...ctx.predefined, CI_JOB_NAME: inst.name, CI_JOB_STAGE: stage }, layer(ownVars, ctx.pipelineVars)),
      diag,
    );
    const variables = { ...envVars, ...ownVars.values };
    const spec: JobSpec = {
      name: inst.name,
      stage,
      stage_index: stageIndex,
      image,
      before_script,
      script,
      after_script,
      needs: null, // filled by the DAG pass from `needs` below
      when: jobWhen,
      manual: manualMode,
      on_status,
      interruptible: matched?.interruptible ?? interruptible ?? defaults.interruptible ?? false,
      timeout_seconds: timeout ?? defaults.timeout ?? DEFAULT_TIMEOUT,
      after_script_timeout_seconds: afterTimeout ?? defaults.after_script_timeout ?? DEFAULT_AFTER_SCRIPT_TIMEOUT,
      retry: retryIn ? retrySpec(retryIn) : (defaults.retry ?? { max: 0, when: ['always'] }),
      // GitLab expands variables in tags at pipeline creation (`tags: [$RUNNER_TAG]`).
      tags: (tags ?? defaults.tags ?? []).map((t) =>
        t.includes('$') ? expandString(t, expanded(ctx.predefined, layer(ownVars, ctx.pipelineVars))) : t,
      ),
      variables,
      ...(services.length ? { services } : {}),
      ...(cache.length ? { cache } : {}),
      ...(hooks?.pre_get_sources_script.length ? { hooks } : {}),
      ...(artifacts ? { artifacts } : {}),
      line: jobPos.line,
      ...(trigger ? { trigger } : {}),
    };
    if (ownVars.raw.size > 0) spec.raw_variables = [...ownVars.raw].sort();
    const group = readResourceGroup(cfg, name, jobPos, diag, () =>
      expanded({ ...ctx.predefined, CI_JOB_NAME: inst.name }, layer(ownVars, ctx.pipelineVars)),
    );
    if (group) spec.resource_group = group;
    return { spec, needs: matched?.needs ?? needs, masked, base: name, matrix: inst.matrix, dependencies };
  });
  return { included: true, jobs };
}

/** Predefined values with the given layers on top, `$VAR` references expanded. */
function expanded(predefined: Record<string, string>, l: { values: Record<string, string>; raw: Set<string> }): Vars {
  const list = [
    ...Object.entries(predefined).map(([key, value]) => ({ key, value })),
    ...Object.entries(l.values).map(([key, value]) => ({ key, value, raw: l.raw.has(key) })),
  ];
  return Object.fromEntries(expandVariables(list).map((v) => [v.key, v.value]));
}

/** GitLab: letters, digits, `-`, `_`, `/`, `$`, `{`, `}`, `.` and spaces; variables expanded. */
function readResourceGroup(cfg: PlainMap, name: string, jobPos: Pos, diag: Diagnostics, vars: () => Vars): string | null {
  const raw = cfg.resource_group;
  if (raw === undefined || raw === null) return null;
  const at = valuePos(cfg, 'resource_group', jobPos);
  if (typeof raw !== 'string' || !/^[A-Za-z0-9_\-/${}. ]+$/.test(raw) || raw.trim() === '') {
    diag.error(joinPath(name, 'resource_group'), at, `expected a name of letters, digits, - _ / . and spaces, got ${describe(raw)}`);
    return null;
  }
  return expandString(raw, vars());
}

function readDependencies(cfg: PlainMap, name: string, jobPos: Pos, diag: Diagnostics): CompiledJob['dependencies'] {
  const raw = cfg.dependencies;
  if (raw === undefined || raw === null) return null;
  const pos = valuePos(cfg, 'dependencies', jobPos);
  const path = joinPath(name, 'dependencies');
  if (!Array.isArray(raw) || !raw.every((x) => typeof x === 'string')) {
    diag.error(path, pos, `expected a list of job names, got ${describe(raw)}`);
    return null;
  }
  return { names: raw as string[], pos, path };
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
