/**
 * Test reports as evidence. A job whose script failed while its JUnit report names failed
 * test cases failed because of its tests: that is the strongest evidence there is, so the
 * verdict is build with the failed cases as first evidence — unless a rule has matched an
 * infrastructure cause in the log (a test that failed because the registry or the network
 * broke stays infra; the cases are then added after the log evidence).
 */
import type { EvidenceLine, FailureClassification } from '../protocol/failure.js';

export interface ReportedTestCase {
  suite: string;
  classname: string;
  name: string;
  kind: 'failure' | 'error';
  message: string;
  file: string;
}

/** Optional inputs of classify() besides the log. */
export interface ClassifyReports {
  /** The job's parsed `artifacts: reports: junit`, if it kept one. */
  junit?: { tests: number; failures: number; errors: number; failed: ReportedTestCase[] } | null;
}

const MAX_TEXT = 300;

export function testCaseEvidence(c: ReportedTestCase): EvidenceLine {
  const who = [c.classname || c.suite, c.name].filter(Boolean).join(' › ');
  const text = `${c.kind === 'error' ? 'Test error' : 'Test failed'}: ${who}${c.message ? `: ${c.message.split('\n')[0]}` : ''}`;
  return { line: 0, text: text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) + '…' : text, source: `junit:${c.file}` };
}

export function withTestReports(
  v: FailureClassification,
  reports: ClassifyReports | undefined,
  maxEvidence: number,
): FailureClassification {
  const junit = reports?.junit;
  if (!junit || junit.failed.length === 0 || v.reason !== 'script_failure') return v;
  const cases = junit.failed.slice(0, Math.max(1, maxEvidence - 1)).map(testCaseEvidence);
  if (v.class === 'infra' && !v.fallback) return { ...v, evidence: [...v.evidence, ...cases].slice(0, maxEvidence + cases.length) };
  const bad = junit.failures + junit.errors;
  return {
    ...v,
    class: 'build',
    cause: v.class === 'build' && !v.fallback ? v.cause : 'tests_failed',
    summary: `${bad} of ${junit.tests} test${junit.tests === 1 ? '' : 's'} failed — ${cases[0]!.text}`,
    owner: 'developers',
    fallback: false,
    rule: v.class === 'build' ? v.rule : null,
    evidence: [...cases, ...v.evidence].slice(0, Math.max(maxEvidence, cases.length)),
  };
}
