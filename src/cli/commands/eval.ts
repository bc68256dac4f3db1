/**
 * `faultline rules eval`: a labelled corpus through the real classifier, scored per part
 * (train / held-out). `faultline classify`: one log's verdict, as the coordinator stores it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Classifier, formatRuleError, newErrorLines, SHIPPED_RULES_DIR } from '../../classify/index.js';
import { loadRules } from '../../coordinator/rules/index.js';
import { evaluateCorpus, type CaseVerdict, type ClassMetrics, type EvalResult, type PartMetrics } from '../../classify/corpus.js';
import { FAILURE_REASONS, FAILURE_STAGES, type FailureReason, type FailureReport, type FailureStage } from '../../protocol/failure.js';
import { readCorpus } from '../corpus.js';
import { bold, describeFailure, dim, red, yellow } from '../format.js';

export const DEFAULT_CORPUS_DIR = 'test/corpus/failures';
const PARTS = ['train', 'heldout', 'all'] as const;
type Part = (typeof PARTS)[number];

function loadClassifier(dir: string | undefined): Classifier | null {
  const res = loadRules(dir ? resolve(dir) : SHIPPED_RULES_DIR);
  if (!res.ok) {
    for (const e of res.errors) console.error(red(formatRuleError(e)));
    console.error(red('rules refused'));
    return null;
  }
  return new Classifier(res.rules);
}

const pct = (x: number | null) => (x === null ? '    –' : `${(x * 100).toFixed(1).padStart(5)}%`);
const cm = (m: ClassMetrics) => `${pct(m.precision)}  ${pct(m.recall)}`;

function partRow(name: string, p: PartMetrics): string {
  return `${name.padEnd(9)} ${String(p.cases).padStart(5)}  ${pct(p.accuracy)}   ${cm(p.infra)}   ${cm(p.build)}  ${pct(p.coverage)}`;
}

function verdictText(v: CaseVerdict): string {
  const got = `${v.class}/${v.cause}`;
  const by = v.rule ? `rule ${v.rule}` : 'fallback';
  return `  ${v.id}${v.hard ? dim(' (hard)') : ''}: labelled ${v.label}${v.expected_cause ? `/${v.expected_cause}` : ''} → ${red(got)} ${dim(`(${by})`)}`;
}

function printText(dir: string, out: EvalResult, parts: readonly Part[]): void {
  const n = out.parts.all.cases;
  console.log(bold(`corpus ${dir}: ${n} case(s) — ${out.parts.train.cases} train, ${out.parts.heldout.cases} held out`));
  console.log(dim('part      cases  accuracy   infra P  infra R   build P  build R  coverage'));
  for (const p of parts) console.log(partRow(p === 'heldout' ? 'held-out' : p, out.parts[p]));
  if (parts.includes('train') || parts.includes('all')) {
    const wrong = out.parts.train.wrong;
    console.log(bold(`\nwrong verdicts, train (${wrong.length}):`));
    for (const v of wrong) {
      console.log(verdictText(v));
      if (v.evidence) console.log(dim(`      ${v.evidence}`));
    }
  }
  if (parts.includes('heldout') || parts.includes('all')) {
    const wrong = out.parts.heldout.wrong;
    console.log(bold(`\nwrong verdicts, held-out (${wrong.length}; logs not shown):`));
    for (const v of wrong) console.log(verdictText(v));
  }
}

export function rulesEvalCommand(o: { corpus?: string; rules?: string; json?: boolean; part?: string }): number {
  const part = (o.part ?? 'all') as Part;
  if (!PARTS.includes(part)) {
    console.error(red(`--part must be one of ${PARTS.join(', ')} (got ${JSON.stringify(o.part)})`));
    return 2;
  }
  const dir = o.corpus ?? DEFAULT_CORPUS_DIR;
  const classifier = loadClassifier(o.rules);
  if (!classifier) return 1;
  const load = readCorpus(resolve(dir));
  for (const w of load.warnings) console.error(yellow(`warning: ${w}`));
  for (const e of load.errors) console.error(red(e));
  if (load.errors.length > 0) {
    console.error(red(`corpus refused: ${load.errors.length} problem(s)`));
    return 1;
  }
  if (load.cases.length === 0) {
    console.error(red(`corpus ${dir} holds no cases`));
    return 1;
  }
  const out = evaluateCorpus(classifier, load.cases);
  const parts: readonly Part[] = part === 'all' ? PARTS : [part];
  if (o.json) {
    const json = Object.fromEntries(parts.map((p) => [p, out.parts[p]]));
    console.log(JSON.stringify({ corpus: dir, rules: o.rules ?? SHIPPED_RULES_DIR, parts: json }, null, 2));
  } else printText(dir, out, parts);
  return 0;
}

export function classifyCommand(
  file: string,
  o: {
    reason?: string;
    stage?: string;
    exitCode?: string;
    executor?: string;
    message?: string;
    rules?: string;
    json?: boolean;
    baseline?: string;
  },
): number {
  const reason = (o.reason ?? 'script_failure') as FailureReason;
  const stage = (o.stage ?? 'step_script') as FailureStage;
  if (!FAILURE_REASONS.includes(reason)) {
    console.error(red(`--reason: unknown reason ${JSON.stringify(o.reason)} (one of ${FAILURE_REASONS.join(', ')})`));
    return 2;
  }
  if (!FAILURE_STAGES.includes(stage)) {
    console.error(red(`--stage: unknown stage ${JSON.stringify(o.stage)} (one of ${FAILURE_STAGES.join(', ')})`));
    return 2;
  }
  let exit: number | null = null;
  if (o.exitCode !== undefined) {
    if (!/^-?\d+$/.test(o.exitCode)) {
      console.error(red(`--exit-code must be an integer (got ${JSON.stringify(o.exitCode)})`));
      return 2;
    }
    exit = Number(o.exitCode);
  }
  let log: Buffer;
  try {
    log = readFileSync(file === '-' ? 0 : file);
  } catch (e) {
    console.error(red(`cannot read ${file}: ${(e as Error).message}`));
    return 2;
  }
  const classifier = loadClassifier(o.rules);
  if (!classifier) return 1;
  const report: FailureReport = {
    reason,
    stage,
    exit_code: exit,
    executor: o.executor ?? null,
    message: o.message ?? null,
    image: null,
    registry: null,
  };
  let green: Buffer | null = null;
  if (o.baseline !== undefined) {
    try {
      green = readFileSync(o.baseline);
    } catch (e) {
      console.error(red(`cannot read --baseline ${o.baseline}: ${(e as Error).message}`));
      return 2;
    }
  }
  const out = classifier.classify(report, log);
  // No rule matched: what did this run print that the last green one did not?
  const fresh = green && out.fallback ? newErrorLines(log, green) : null;
  if (o.json) console.log(JSON.stringify(fresh ? { ...out, new_error_lines: fresh } : out, null, 2));
  else {
    for (const l of describeFailure({ id: 0, name: file === '-' ? '(stdin)' : file, failure: out })) console.log(l);
    if (fresh) {
      console.log(yellow(`  no rule matched — error-like lines the green run (${o.baseline}) did not have:`));
      for (const e of fresh) console.log(dim(`  L${e.line} (new): `) + e.text);
      if (fresh.length === 0) console.log(dim('  (none)'));
    }
  }
  return 0;
}
