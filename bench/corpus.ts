/**
 * The failure-log corpus through the shipped rules: the same figures as `faultline rules
 * eval`, per part, and how long the evaluation took. Targets = the CI floors (held-out part).
 */
import { join } from 'node:path';
import { Classifier, SHIPPED_RULES_DIR } from '../src/classify/index.js';
import { loadRules } from '../src/coordinator/rules/index.js';
import { evaluateCorpus } from '../src/classify/corpus.js';
import { readCorpus } from '../src/cli/corpus.js';

const CORPUS = join(new URL('../', import.meta.url).pathname, 'test/corpus/failures');
const pct = (x: number | null) => (x === null ? 'n/a' : Math.round(x * 1000) / 10);

export function benchCorpus(): Record<string, number | string> {
  const load = readCorpus(CORPUS);
  if (load.errors.length > 0 || load.cases.length === 0) return { corpus_cases: 0, corpus_error: load.errors[0] ?? 'empty corpus' };
  const rules = loadRules(SHIPPED_RULES_DIR);
  if (!rules.ok) throw new Error('shipped rules invalid');
  const t = performance.now();
  const { parts } = evaluateCorpus(new Classifier(rules.rules), load.cases);
  const ms = performance.now() - t;
  const out: Record<string, number | string> = { corpus_cases: parts.all.cases, corpus_eval_ms: Math.round(ms * 10) / 10 };
  for (const [name, p] of [
    ['train', parts.train],
    ['heldout', parts.heldout],
  ] as const) {
    out[`corpus_${name}_cases`] = p.cases;
    out[`corpus_${name}_accuracy_pct`] = pct(p.accuracy);
    out[`corpus_${name}_infra_precision_pct`] = pct(p.infra.precision);
    out[`corpus_${name}_infra_recall_pct`] = pct(p.infra.recall);
    out[`corpus_${name}_build_precision_pct`] = pct(p.build.precision);
    out[`corpus_${name}_build_recall_pct`] = pct(p.build.recall);
    out[`corpus_${name}_coverage_pct`] = pct(p.coverage);
  }
  return out;
}
