/**
 * Backtest: re-classify stored failures with a candidate rule set and count how verdicts
 * would move, before the candidate is put in force. Pure: the caller supplies the data.
 */
import type { FailureClass, FailureClassification, FailureReport } from '../protocol/failure.js';
import { Classifier, type ClassifierOptions } from './classifier.js';
import type { RuleSet } from './ruleset.js';

export interface BacktestInput {
  job_id: number;
  report: FailureReport;
  log: Buffer | string;
  current: FailureClassification;
}

export interface Verdict {
  class: FailureClass;
  cause: string;
}

export interface Transition {
  from: Verdict;
  to: Verdict;
  count: number;
  sample_job_ids: number[];
}

export interface BacktestResult {
  total: number;
  changed: number;
  /** Only changed verdicts, most frequent first. */
  transitions: Transition[];
}

export function backtest(
  failures: Iterable<BacktestInput>,
  candidate: RuleSet,
  opts: ClassifierOptions & { samples?: number } = {},
): BacktestResult {
  const classifier = new Classifier(candidate, opts);
  const samples = opts.samples ?? 5;
  const byKey = new Map<string, Transition>();
  let total = 0;
  let changed = 0;
  for (const f of failures) {
    total++;
    const next = classifier.classify(f.report, f.log);
    if (next.class === f.current.class && next.cause === f.current.cause) continue;
    changed++;
    const key = JSON.stringify([f.current.class, f.current.cause, next.class, next.cause]);
    let t = byKey.get(key);
    if (!t) {
      t = {
        from: { class: f.current.class, cause: f.current.cause },
        to: { class: next.class, cause: next.cause },
        count: 0,
        sample_job_ids: [],
      };
      byKey.set(key, t);
    }
    t.count++;
    if (t.sample_job_ids.length < samples) t.sample_job_ids.push(f.job_id);
  }
  const transitions = [...byKey.values()].sort(
    (a, b) => b.count - a.count || `${a.from.cause}>${a.to.cause}`.localeCompare(`${b.from.cause}>${b.to.cause}`),
  );
  return { total, changed, transitions };
}
