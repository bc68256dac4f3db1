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
import { GLOBAL_KEYWORDS, LEGACY_DEFAULT_KEYWORDS, RESERVED_JOB_NAMES, UNSUPPORTED_GLOBAL_KEYWORDS } from './schema.js';
import { isPlainMap, keyPos, parseYaml, START, type PlainMap } from './yaml-source.js';

const TOP_LEVEL_KEYWORDS: readonly string[] = [
  ...GLOBAL_KEYWORDS,
  ...LEGACY_DEFAULT_KEYWORDS,
  ...UNSUPPORTED_GLOBAL_KEYWORDS,
  'types',
];

export function compilePipeline(yamlText: string, opts: CompileOptions = {}): CompileResult {
  const diag = new Diagnostics();
  try {
    const model = compile(yamlText, opts, diag);
    const { errors, warnings } = diag.sorted();
    if (errors.length > 0 || !model) return { ok: false, errors, warnings };
    model.warnings = warnings;
    return { ok: true, model, warnings };
  } catch (e) {
    // A bug here must not take the caller down; report it like any other problem.
    diag.error('', START, `internal error while compiling the configuration: ${(e as Error)?.message ?? String(e)}`);
    const { errors, warnings } = diag.sorted();
    return { ok: false, errors, warnings };
  }
}

function compile(text: string, opts: CompileOptions, diag: Diagnostics): PipelineModel | null {
  if (typeof text !== 'string') {
    diag.error('', START, `expected the configuration as text, got ${describe(text)}`);
    return null;
  }
  const parsed = parseYaml(text);
  for (const w of parsed.warnings) diag.warn('', w.pos, `YAML: ${w.message}`);
  for (const e of parsed.errors) diag.error('', e.pos, e.fatal ? `YAML syntax error: ${e.message}` : e.message);
  if (parsed.errors.some((e) => e.fatal)) return null;

  const top = parsed.value;
  if (top === null || top === undefined) {
    diag.error('', START, 'the configuration is empty; define at least one job with a script:');
    return null;
  }
  if (!isPlainMap(top)) {
    diag.error('', START, `the top level must be a map of keywords and jobs, got ${describe(top)}`);
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
      if ((UNSUPPORTED_GLOBAL_KEYWORDS as readonly string[]).includes(name)) {
        diag.warn(name, at, 'not supported by faultline yet; ignored');
      }
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
  const predefined = opts.predefined ?? {};
  const pipelineVars = opts.variables ?? {};
  const workflow = evaluateWorkflow(top, { ...predefined, ...globals.values, ...pipelineVars }, diag);
  const globalVars = { ...globals.values, ...(workflow.created ? workflow.variables : {}) };

  const resolved = resolveExtends(top, [...templateNames, ...jobNames], (n) => keyPos(top, n, START), diag);

  const ctx: JobContext = { diag, stages, defaults, globalVars, predefined, pipelineVars };
  const included: CompiledJob[] = [];
  const masked = new Set(globals.masked);
  for (const name of jobNames) {
    const cfg = resolved.get(name) as PlainMap;
    const out = compileJob(name, cfg, keyPos(top, name, START), ctx);
    if (!out.included) continue;
    included.push(out.job);
    for (const m of out.job.masked) masked.add(m);
  }

  if (!workflow.created) {
    diag.error(workflow.path, workflow.pos, workflow.reason);
    return null;
  }
  resolveNeeds(included, new Set(jobNames), new Set(templateNames), diag);
  resolveArtifactDependencies(included, diag);
  // An empty pipeline is only worth reporting when nothing else explains it.
  if (included.length === 0 && diag.errors.length === 0) {
    diag.error(
      '',
      START,
      jobNames.length === 0
        ? 'the configuration defines no jobs (names starting with a dot are hidden templates); add a job with a script:'
        : 'no jobs are left after evaluating rules: and when: never, so the pipeline would be empty',
    );
    return null;
  }

  // Keep only stages that have jobs; stage_index points into that list.
  const used = new Set(included.map((j) => j.spec.stage));
  const modelStages = stages.filter((s) => used.has(s));
  const jobs: JobSpec[] = included.map((j) => ({ ...j.spec, stage_index: modelStages.indexOf(j.spec.stage) }));
  const model: PipelineModel = { stages: modelStages, jobs, variables: globalVars, warnings: [] };
  if (masked.size > 0) model.masked_variables = [...masked].sort();
  return model;
}
