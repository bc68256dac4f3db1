/**
 * The GitLab CI compatibility corpus (test/corpus/gitlab-ci): loading the cases and linting them
 * through faultline's real `lint` command of a given source tree.
 *
 * A case is `<id>.meta.yml` plus its config: `<id>.yml`, or `<id>/.gitlab-ci.yml` when the case has
 * local includes (the folder is then the repository root). Each config is written for this corpus,
 * modelled on the keyword structure of the public `.gitlab-ci.yml` its meta file cites.
 *
 * The lint runs in-process (the CLI's own `lintCommand`, its printed lines parsed) so that 100+ cases
 * cost one process; compat-corpus.test.ts also runs a few through `bin/faultline.js` to tie the two.
 * Usable against another worktree: `node --import tsx test/config/compat-corpus-report.ts <tree>`.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'yaml';

export const CORPUS_DIR = resolve(dirname(new URL(import.meta.url).pathname), '../corpus/gitlab-ci');

export interface CaseMeta {
  id: string;
  /** Public file the case is modelled on: URL, and repo/path/commit. */
  source: string;
  repo: string;
  path: string;
  commit?: string;
  /** Keyword structure reproduced, in words. */
  reproduces: string[];
  expected: 'valid' | 'broken';
  /** Broken cases: the line (1-based) an error must name; `lines` when GitLab's own report may pick one of several. */
  line?: number;
  lines?: number[];
  /** Broken cases: the included file the error is in, when not the main file. */
  in_file?: string;
  why?: string;
  /** Substrings each of which some warning must contain (e.g. an include lint could not reach). */
  warns?: string[];
  /** Absolute path of the config to lint. */
  file: string;
}

export interface Diagnostic {
  kind: 'error' | 'warning';
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface LintOutcome {
  exitCode: number;
  diagnostics: Diagnostic[];
  /** Every printed line, ANSI colours stripped. */
  output: string[];
}

export function loadCorpus(dir = CORPUS_DIR): CaseMeta[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.meta.yml'))
    .sort()
    .map((f) => {
      const id = f.slice(0, -'.meta.yml'.length);
      let raw: Omit<CaseMeta, 'id' | 'file'>;
      try {
        raw = parse(readFileSync(join(dir, f), 'utf8')) as Omit<CaseMeta, 'id' | 'file'>;
      } catch (e) {
        throw new Error(`corpus meta ${f}: ${(e as Error).message}`, { cause: e });
      }
      const flat = join(dir, `${id}.yml`);
      const rooted = join(dir, id, '.gitlab-ci.yml');
      const file = existsSync(flat) ? flat : rooted;
      if (!existsSync(file)) throw new Error(`corpus case ${id}: neither ${id}.yml nor ${id}/.gitlab-ci.yml exists`);
      return { ...raw, id, file };
    });
}

const ANSI = /\x1b\[[0-9;]*m/g;
const DIAG = /^(.*?):(\d+):(\d+): (error|warning): (.*)$/;

/** Parses `FILE:LINE:COL: error|warning: MESSAGE` lines, the format `faultline lint` prints. */
export function parseLintOutput(lines: string[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const l of lines) {
    const m = DIAG.exec(l);
    if (m) out.push({ file: m[1], line: Number(m[2]), column: Number(m[3]), kind: m[4] as Diagnostic['kind'], message: m[5] });
  }
  return out;
}

type LintFn = (file: string) => number | Promise<number>;
const loaded = new Map<string, LintFn>();

async function lintFnOf(tree: string): Promise<LintFn> {
  let fn = loaded.get(tree);
  if (!fn) {
    const mod = (await import(pathToFileURL(join(tree, 'src/cli/commands/lint.ts')).href)) as { lintCommand: LintFn };
    fn = mod.lintCommand;
    loaded.set(tree, fn);
  }
  return fn;
}

/**
 * Lints one file with `tree`'s lint command, in this process. The case's folder stands for the root of
 * the repository it came from: the working directory is that folder while the lint runs, and
 * GIT_CEILING_DIRECTORIES stops git from finding this repository above it (a lint asking git for the
 * top level then gets no answer and uses the folder, as GitLab uses the root of the pipeline's project).
 */
export function ceilingFor(file: string): string {
  return dirname(dirname(resolve(file)));
}

export async function lintInProcess(tree: string, file: string): Promise<LintOutcome> {
  const lint = await lintFnOf(tree);
  const output: string[] = [];
  const orig = { log: console.log, error: console.error, warn: console.warn };
  const capture = (...args: unknown[]): void => {
    for (const l of args.map(String).join(' ').split('\n')) output.push(l.replace(ANSI, ''));
  };
  const cwd = process.cwd();
  const savedExit = process.exitCode;
  const savedCeiling = process.env.GIT_CEILING_DIRECTORIES;
  process.env.GIT_CEILING_DIRECTORIES = ceilingFor(file);
  console.log = console.error = console.warn = capture;
  let exitCode: number;
  try {
    process.chdir(dirname(file));
    exitCode = await lint(file);
  } catch (e) {
    // A crash is a finding too: recorded as a refusal with no line.
    output.push(`crash: ${(e as Error).stack ?? String(e)}`);
    exitCode = 99;
  } finally {
    process.chdir(cwd);
    if (savedCeiling === undefined) delete process.env.GIT_CEILING_DIRECTORIES;
    else process.env.GIT_CEILING_DIRECTORIES = savedCeiling;
    Object.assign(console, orig);
    process.exitCode = savedExit;
  }
  return { exitCode, diagnostics: parseLintOutput(output), output };
}

export interface CaseResult {
  meta: CaseMeta;
  outcome: LintOutcome;
  refused: boolean;
  /** Valid cases: accepted, and every expected warning present. Broken ones: refused naming the line. */
  pass: boolean;
  /** Why the case did not pass, in one line. */
  reason?: string;
}

export function judge(meta: CaseMeta, outcome: LintOutcome): CaseResult {
  const refused = outcome.exitCode !== 0;
  const errors = outcome.diagnostics.filter((d) => d.kind === 'error');
  const warnings = outcome.diagnostics.filter((d) => d.kind === 'warning');
  if (meta.expected === 'valid') {
    if (refused) {
      const first = errors[0];
      const text = first ? `${first.line}:${first.column} ${first.message}` : (outcome.output.find((l) => l.trim()) ?? '(no output)');
      return { meta, outcome, refused, pass: false, reason: `refused: ${text}` };
    }
    const missing = (meta.warns ?? []).filter((w) => !warnings.some((d) => d.message.includes(w)));
    if (missing.length > 0)
      return { meta, outcome, refused, pass: false, reason: `accepted without a warning naming ${missing.join(', ')}` };
    return { meta, outcome, refused, pass: true };
  }
  if (!refused) return { meta, outcome, refused, pass: false, reason: 'accepted, but the case is broken' };
  const want = meta.lines ?? (meta.line !== undefined ? [meta.line] : []);
  const named = errors.some((e) => want.includes(e.line) && (!meta.in_file || e.file.endsWith(meta.in_file)) && e.line > 0);
  if (!named) {
    const got = errors.map((e) => `${e.line}:${e.column} ${e.message}`).join(' | ') || outcome.output.join(' ').slice(0, 200);
    return { meta, outcome, refused, pass: false, reason: `refused without naming line ${want.join(' or ')}: ${got}` };
  }
  return { meta, outcome, refused, pass: true };
}

export async function runCorpus(tree: string, cases = loadCorpus()): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) results.push(judge(c, await lintInProcess(tree, c.file)));
  return results;
}

export interface Summary {
  valid: number;
  accepted: number;
  broken: number;
  brokenNamed: number;
  acceptance: number; // 0..1
  refusedValid: CaseResult[];
  failedBroken: CaseResult[];
}

export function summarize(results: CaseResult[]): Summary {
  const valid = results.filter((r) => r.meta.expected === 'valid');
  const broken = results.filter((r) => r.meta.expected === 'broken');
  const accepted = valid.filter((r) => r.pass).length;
  return {
    valid: valid.length,
    accepted,
    broken: broken.length,
    brokenNamed: broken.filter((r) => r.pass).length,
    acceptance: valid.length === 0 ? 0 : accepted / valid.length,
    refusedValid: valid.filter((r) => !r.pass),
    failedBroken: broken.filter((r) => !r.pass),
  };
}

export function formatSummary(s: Summary, label: string): string {
  const lines = [
    `${label}: valid accepted ${s.accepted}/${s.valid} (${(s.acceptance * 100).toFixed(1)} %), broken refused with their line ${s.brokenNamed}/${s.broken}`,
  ];
  for (const r of s.refusedValid) lines.push(`  valid not accepted  ${r.meta.id}: ${r.reason}`);
  for (const r of s.failedBroken) lines.push(`  broken not refused  ${r.meta.id}: ${r.reason}`);
  return lines.join('\n');
}
