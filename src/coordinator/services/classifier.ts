/**
 * The classifier as the coordinator sees it: a small interface so any implementation
 * (src/classify's ClassifierService, a test double) can be injected.
 */
import { existsSync } from 'node:fs';
import type { FailureClassification, FailureReport } from '../../protocol/failure.js';
import { SHIPPED_RULES_DIR, defaultOwner, fallbackFor, withTestReports, type ClassifyReports } from '../../classify/index.js';
import { ClassifierService } from '../rules/index.js';

export interface FailureClassifier {
  classify(
    report: FailureReport,
    log: Buffer,
    opts?: { lineOffset?: number; reports?: ClassifyReports },
  ): FailureClassification | Promise<FailureClassification>;
  /** Re-read the rules; `ok: false` with errors leaves the previous rules in force. */
  reload?(): ReloadOutcome | Promise<ReloadOutcome>;
}
export interface ReloadOutcome {
  ok: boolean;
  errors: Array<{ file?: string; line?: number; column?: number; message: string }>;
}

/** Classification by the reason alone (used when no rules are available or a classifier throws). */
export function fallbackClassification(report: FailureReport): FailureClassification {
  const v = fallbackFor(report.reason, report.stage, report.kind);
  return {
    ...report,
    class: v.class,
    cause: v.cause,
    summary: v.summary,
    owner: defaultOwner(v.class),
    rule: null,
    fallback: true,
    evidence: [],
  };
}

export const fallbackClassifier: FailureClassifier = {
  classify: (report, _log, opts) => withTestReports(fallbackClassification(report), opts?.reports, 5),
  reload: () => ({ ok: true, errors: [] }),
};

/** The rules of `rulesDir` (default: the shipped ones), or the fallback when there are none. */
export function defaultClassifier(rulesDir?: string): FailureClassifier {
  const dir = rulesDir ?? SHIPPED_RULES_DIR;
  if (!existsSync(dir)) {
    if (rulesDir) throw new Error(`rules directory not found: ${rulesDir}`);
    return fallbackClassifier;
  }
  // Edited rule files are picked up without a restart (bad edits are refused, old rules stay).
  return new ClassifierService({ dir }).watch();
}
