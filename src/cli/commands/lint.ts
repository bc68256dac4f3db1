/**
 * `faultline lint FILE`: validate as GitLab's CI Lint does — includes resolved (local
 * ones from the working tree), then a pipeline simulated for one context (a push to the
 * default branch unless --ref/--source say otherwise). Exit 0 when valid (warnings
 * allowed), 1 when refused, 2 on usage errors. An include that cannot be fetched is a
 * warning naming the checks that could not be made; so is "no jobs for this context".
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { compilePipelineWithIncludes, type ConfigError } from '../../config/index.js';
import { gitlabFromEnv, includeSources } from '../../coordinator/includes/index.js';
import { compileWithLookups } from '../../coordinator/includes/repo-lookups.js';
import { green, printJson, red, safe, yellow } from '../format.js';
import { lintContext, PIPELINE_SOURCES } from './lint-context.js';
import { parseVars } from '../vars.js';

export interface LintOptions {
  ref?: string;
  source?: string;
  var?: string[];
  /** Also check what this executor would do with the jobs. */
  executor?: string;
  /** Print one JSON object ({ valid, context, errors, warnings, not_checked, jobs, stages }) instead of lines. */
  json?: boolean;
}

interface Finding {
  file: string;
  line: number;
  column: number;
  message: string;
}

/** Errors that a skipped include may explain: what they point at could be defined there. */
const MAY_BE_IN_SKIPPED = [
  /there is no job or template named/,
  /but there is no job with that name/,
  /!reference \[.*\]: (there is no top-level key|'.*' has no key)/,
  /is not defined in stages/,
  /script is required/, // the template it extends may bring it
  /the configuration defines no jobs/, // a file of includes only: its jobs are in them
  /dependencies: can only name jobs of earlier stages/, // the stages may come from the include
];

export async function lintCommand(file: string, opts: LintOptions = {}): Promise<number> {
  const json = {
    valid: false,
    context: '',
    errors: [] as Finding[],
    warnings: [] as Finding[],
    not_checked: [] as string[],
    jobs: [] as string[],
    stages: [] as string[],
  };
  const code = await lint(file, opts, json);
  if (opts.json && code !== 2) printJson(json);
  return code;
}

async function lint(
  file: string,
  opts: LintOptions,
  json: {
    valid: boolean;
    context: string;
    errors: Finding[];
    warnings: Finding[];
    not_checked: string[];
    jobs: string[];
    stages: string[];
  },
): Promise<number> {
  const log = opts.json ? () => {} : (l: string) => console.log(l);
  const finding = (e: { file?: string; line: number; column: number }, message: string): Finding => ({
    file: e.file ?? file,
    line: e.line,
    column: e.column,
    message,
  });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    console.error(red(`cannot read ${file}: ${(e as Error).message}`));
    return 2;
  }
  if (opts.source !== undefined && !(PIPELINE_SOURCES as readonly string[]).includes(opts.source)) {
    console.error(red(`--source ${opts.source}: expected one of ${PIPELINE_SOURCES.join(', ')}`));
    return 2;
  }
  const vars = parseVars(opts.var);
  if ('error' in vars) {
    console.error(red(vars.error));
    return 2;
  }
  const { variables } = vars;
  const dir = dirname(resolve(file));
  let root: string | null = null;
  try {
    root = execFileSync('git', ['-C', dir, 'rev-parse', '--show-toplevel'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    root = null;
  }
  const ctx = lintContext(root, { ref: opts.ref, source: opts.source, projectName: basename(root ?? dir) });
  const gitlab = gitlabFromEnv(undefined);
  const { sources, facts } = includeSources({ worktree: root ?? dir, ...(gitlab ? { gitlab } : {}), cacheDir: dir });
  const commit = await facts();
  // compare_to against HEAD of this repository; exists: project through FAULTLINE_GITLAB_URL.
  const result = await compileWithLookups(
    (lookups) =>
      compilePipelineWithIncludes(
        text,
        { predefined: ctx.predefined, variables, lookups, ...(commit ? { commit } : {}) },
        { sources, onUnreachable: 'warn' },
      ),
    { repository: root ? { url: root, sha: 'HEAD' } : null, ...(sources.gitlab ? { gitlab: sources.gitlab } : {}) },
  );

  const where = (e: ConfigError) => `${e.file ?? file}:${e.line}:${e.column}`;
  json.context = ctx.described;
  log(`simulating ${ctx.described}${Object.keys(variables).length ? ` with ${Object.keys(variables).join(', ')}` : ''}`);
  let errors = result.ok ? [] : result.errors;
  const warnings = [...result.warnings];
  if (result.skipped.length > 0) {
    const [soft, hard] = partition(errors, (e) => MAY_BE_IN_SKIPPED.some((re) => re.test(e.message)));
    warnings.push(...soft.map((e) => ({ ...e, message: `${e.message} (it may be defined in an include that could not be fetched)` })));
    errors = hard;
  }
  // A keyword faultline has no provider for (secrets, id_tokens): the file is valid; creating
  // a pipeline with it is refused, so lint says so as a warning.
  const [unprovided, rest] = partition(errors, (e) => e.code === 'no_provider' || e.code === 'needs_lookup');
  warnings.push(
    ...unprovided.map((e) => ({
      ...e,
      message: `${e.message} (${e.code === 'needs_lookup' ? 'lint could not check it here' : 'valid configuration; lint warns only'})`,
    })),
  );
  errors = rest;
  // "Nothing runs in this context" is a fact about the context, not a broken file.
  const [empty, real] = partition(errors, (e) => e.code === 'no_jobs' || e.code === 'no_pipeline');
  for (const w of warnings) {
    json.warnings.push(finding(w, w.message));
    log(yellow(safe(`${where(w)}: warning: ${w.message}`)));
  }
  if (real.length > 0) {
    for (const e of real) {
      json.errors.push(finding(e, e.message));
      log(red(safe(`${where(e)}: error: ${e.message}`)));
    }
    log(red(`${real.length} error(s): pipeline refused`));
    return 1;
  }
  json.valid = true;
  for (const e of empty) {
    const m = `no jobs for ${ctx.described}: ${e.message}`;
    json.warnings.push(finding(e, m));
    log(yellow(safe(`${where(e)}: warning: ${m}`)));
  }
  for (const s of result.skipped) {
    json.not_checked.push(`include ${s.label} (${s.reason})`);
    log(yellow(safe(`not checked: include ${s.label} (${s.reason})`)));
  }
  const suffix = result.skipped.length ? `; ${result.skipped.length} include(s) could not be fetched and were not checked` : '';
  if (!result.ok && empty.length === 0 && result.skipped.length === 0 && unprovided.length > 0) {
    const what = [...new Set(unprovided.map((e) => e.path))].join(', ');
    log(yellow(`${file}: valid — but creating a pipeline from it is refused: faultline has no provider for ${what}`));
    return 0;
  }
  if (!result.ok && empty.length === 0) {
    // Every error left was one a skipped include may explain.
    log(yellow(`${file}: valid as far as it could be checked: ${result.skipped.length} include(s) could not be fetched`));
    return 0;
  }
  if (!result.ok || empty.length > 0) {
    log(green(`${file}: valid — but no jobs would run for ${ctx.described}${suffix}`));
    return 0;
  }
  const m = result.model;
  json.jobs = m.jobs.map((j) => j.name);
  json.stages = [...m.stages];
  const ex = opts.executor;
  if (ex) {
    const withImage = m.jobs.filter((j) => j.image);
    if (ex === 'shell' && withImage.length) {
      const msg = `image: is ignored by the shell executor (jobs: ${withImage.map((j) => j.name).join(', ')})`;
      json.warnings.push({ file, line: withImage[0]!.line, column: 1, message: msg });
      log(yellow(safe(`${file}:${withImage[0]!.line}:1: warning: ${msg}`)));
    }
    const withServices = m.jobs.filter((j) => j.services?.length);
    if (ex !== 'docker' && withServices.length) {
      const msg = `services: needs the docker executor; the ${ex} executor refuses these jobs (${withServices.map((j) => j.name).join(', ')})`;
      json.warnings.push({ file, line: withServices[0]!.line, column: 1, message: msg });
      log(yellow(safe(`${file}:${withServices[0]!.line}:1: warning: ${msg}`)));
    }
  }
  log(green(`${file}: valid — ${m.jobs.length} job(s) in ${m.stages.length} stage(s) for ${ctx.described}${suffix}`));
  return 0;
}

function partition<T>(xs: T[], f: (x: T) => boolean): [T[], T[]] {
  const a: T[] = [];
  const b: T[] = [];
  for (const x of xs) (f(x) ? a : b).push(x);
  return [a, b];
}
