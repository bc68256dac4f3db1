/**
 * `.gitlab-ci.yml` text → PipelineModel. The stages, in order:
 *   parse (positions kept) → !reference → split keywords / jobs / templates →
 *   stages, default, variables, workflow → extends → each job (rules decide
 *   inclusion) → needs checks → model.
 * Every problem is collected; nothing here throws on bad input.
 */
import type { JobSpec, PipelineModel } from '../pipeline/model.js';
import { Diagnostics, describe, didYouMean } from './diagnostics.js';
import { resolveExtends } from './extends.js';
import { resolveNeeds } from './dag.js';
import { resolveArtifactDependencies } from './artifacts.js';
import { evaluateWorkflow, readDefaults, readGlobalVariables, readStages } from './globals.js';
import type { CompileOptions, CompileResult } from './index.js';
import { compileJob, type CompiledJob, type JobContext } from './job.js';
import { resolveReferences } from './references.js';
import { GLOBAL_KEYWORDS, LEGACY_DEFAULT_KEYWORDS, RESERVED_JOB_NAMES } from './schema.js';
import { applyMainSpec } from './include/main-spec.js';
import { GLOBAL_UNSUPPORTED } from './keywords.js';
import { reportUnsupported } from './check-keys.js';
import { checkDependencies } from './dependencies.js';
import { lintContext } from './context.js';
import { isPlainMap, keyPos, parseYaml, START, type PlainMap } from './yaml-source.js';
import type { VariablesOut } from './schema.js';

const TOP_LEVEL_KEYWORDS: readonly string[] = [...GLOBAL_KEYWORDS, ...LEGACY_DEFAULT_KEYWORDS, ...Object.keys(GLOBAL_UNSUPPORTED), 'types'];

export function compilePipeline(yamlText: string, opts: CompileOptions = {}): CompileResult {
  return guarded((diag) => {
    const top = parseTop(yamlText, diag);
    return top ? compileTop(top, opts, diag) : null;
  });
}

/** Run one compilation; a bug in it is reported like any other problem, never thrown. */
export function guarded(run: (diag: Diagnostics) => PipelineModel | null, diag = new Diagnostics()): CompileResult {
  try {
    const model = run(diag);
    const { errors, warnings } = diag.sorted();
    if (errors.length > 0 || !model) return { ok: false, errors, warnings };
    model.warnings = warnings;
    return { ok: true, model, warnings };
  } catch (e) {
    diag.error('', START, `internal error while compiling the configuration: ${(e as Error)?.message ?? String(e)}`);
    const { errors, warnings } = diag.sorted();
    return { ok: false, errors, warnings };
  }
}

/** Text → the top-level map (with a `spec:` header's inputs applied); null when unusable. */
export function parseTop(text: string, diag: Diagnostics): PlainMap | null {
  if (typeof text !== 'string') {
    diag.error('', START, `expected the configuration as text, got ${describe(text)}`);
    return null;
  }
  const parsed = parseYaml(text);
  for (const w of parsed.warnings) diag.warn('', w.pos, `YAML: ${w.message}`);
  for (const e of parsed.errors) diag.error('', e.pos, e.syntax ? `YAML syntax error: ${e.message}` : e.message);
  if (parsed.errors.some((e) => e.fatal)) return null;

  let top = parsed.value;
  if (parsed.header) top = applyMainSpec(parsed.header, top, diag);
  if (top === null || top === undefined) {
    diag.error('', START, 'the configuration is empty; define at least one job with a script:');
    return null;
  }
  if (!isPlainMap(top)) {
    diag.error('', START, `the top level must be a map of keywords and jobs, got ${describe(top)}`);
    return null;
  }
  return top;
}

/** The parsed top-level map → model. `include:` must have been resolved already. */
export function compileTop(top: PlainMap, opts: CompileOptions, diag: Diagnostics): PipelineModel | null {
  if ('include' in top) {
    diag.error(
      'include',
      keyPos(top, 'include', START),
      'include: is resolved when a pipeline is created or linted (compilePipelineWithIncludes); this entry point cannot fetch files',
    );
    return null;
  }
  if ('spec' in top) {
    diag.error(
      'spec',
      keyPos(top, 'spec', START),
      'spec: belongs in a header document of its own: put it first and separate it from the configuration with ---',
    );
    return null;
  }
  resolveReferences(top, diag);

  // Split the top level into keywords, jobs and hidden templates.
  const jobNames: string[] = [];
  const templateNames: string[] = [];
  for (const name of Object.keys(top)) {
    const v = top[name];
    const at = keyPos(top, name, START);
    // (`variables:` may well hold a variable called "script".)
    if ((RESERVED_JOB_NAMES as readonly string[]).includes(name) && name !== 'variables' && isPlainMap(v) && 'script' in v) {
      diag.error(name, at, `'${name}' is a reserved keyword and cannot be used as a job name`);
      continue;
    }
    if (name === 'true' || name === 'false' || name === 'nil') {
      diag.error(name, at, `'${name}' is a reserved word and cannot be used as a job name`);
      continue;
    }
    if (TOP_LEVEL_KEYWORDS.includes(name)) {
      const s = GLOBAL_UNSUPPORTED[name];
      if (s) reportUnsupported(diag, name, at, s);
      continue;
    }
    if (name.startsWith('.')) {
      if (isPlainMap(v)) templateNames.push(name);
      continue;
    }
    const looksLikeJob = isPlainMap(v) && ('script' in v || 'extends' in v);
    const hint = looksLikeJob ? '' : didYouMean(name, TOP_LEVEL_KEYWORDS);
    if (!isPlainMap(v)) {
      diag.error(
        name,
        at,
        hint
          ? `unknown keyword '${name}'${hint}`
          : `'${name}' is neither a keyword nor a job (a job is a map with at least script:; got ${describe(v)})`,
      );
      continue;
    }
    if (hint) {
      diag.error(name, at, `unknown keyword '${name}'${hint}`);
      continue;
    }
    jobNames.push(name);
  }

  const stages = readStages(top, diag);
  const defaults = readDefaults(top, diag);
  const globals = readGlobalVariables(top, diag);
  // No context given (lint): a push to the default branch, as GitLab's CI Lint simulates.
  const given = opts.predefined ?? {};
  const hasContext = ['CI_PIPELINE_SOURCE', 'CI_COMMIT_BRANCH', 'CI_COMMIT_TAG', 'CI_COMMIT_REF_NAME'].some((k) => k in given);
  const predefined = hasContext ? given : { ...lintContext(), ...given };
  const pipelineVars = opts.variables ?? {};
  const workflow = evaluateWorkflow(top, { ...predefined, ...globals.values, ...pipelineVars }, opts.commit, diag, opts.lookups);
  const globalVars = workflow.created ? mergeVars(globals, workflow.variables) : globals;

  const resolved = resolveExtends(top, [...templateNames, ...jobNames], (n) => keyPos(top, n, START), diag);

  const ctx: JobContext = { diag, stages, defaults, globalVars, predefined, pipelineVars, commit: opts.commit, lookups: opts.lookups };
  const included: CompiledJob[] = [];
  const masked = new Set(globalVars.masked);
  for (const name of jobNames) {
    const cfg = resolved.get(name) as PlainMap;
    const out = compileJob(name, cfg, keyPos(top, name, START), ctx);
    if (!out.included) continue;
    for (const j of out.jobs) {
      included.push(j);
      for (const m of j.masked) masked.add(m);
    }
  }

  if (!workflow.created) {
    diag.error(workflow.path, workflow.pos, workflow.reason, 'no_pipeline');
    return null;
  }
  resolveNeeds(included, new Set(jobNames), new Set(templateNames), diag);
  checkDependencies(included, new Set(jobNames), diag);
  resolveArtifactDependencies(included);
  // An empty pipeline is only worth reporting when nothing else explains it.
  if (included.length === 0 && diag.errors.length === 0) {
    diag.error(
      '',
      START,
      jobNames.length === 0
        ? 'the configuration defines no jobs (names starting with a dot are hidden templates); add a job with a script:'
        : 'no jobs are left after evaluating rules: and when: never, so the pipeline would be empty',
      jobNames.length === 0 ? undefined : 'no_jobs',
    );
    return null;
  }

  // Keep only stages that have jobs; stage_index points into that list.
  const used = new Set(included.map((j) => j.spec.stage));
  const modelStages = stages.filter((s) => used.has(s));
  const jobs: JobSpec[] = included.map((j) => ({ ...j.spec, stage_index: modelStages.indexOf(j.spec.stage) }));
  const model: PipelineModel = { stages: modelStages, jobs, variables: globalVars.values, warnings: [] };
  if (masked.size > 0) model.masked_variables = [...masked].sort();
  if (workflow.autoCancel) model.auto_cancel = workflow.autoCancel;
  return model;
}

function mergeVars(a: VariablesOut, b: VariablesOut): VariablesOut {
  const raw = new Set(a.raw);
  for (const k of Object.keys(b.values))
    if (b.raw.includes(k)) raw.add(k);
    else raw.delete(k);
  return { values: { ...a.values, ...b.values }, masked: [...new Set([...a.masked, ...b.masked])], raw: [...raw] };
}
