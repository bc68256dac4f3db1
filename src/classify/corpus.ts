/**
 * A labelled failure-log corpus (test/corpus/failures, format in CORPUS-FORMAT.md) and its
 * evaluation through the real classifier. Pure: the caller reads the files.
 *
 * The held-out split is fixed by the id alone (sha256), so nobody can choose it after
 * reading the cases: held out ⇔ parseInt(sha256(id)[0..8], 16) % 100 < 33 — except the cases
 * someone read while writing rules (SEEN_WHILE_WRITING_RULES): those count as training.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { FAILURE_REASONS, FAILURE_STAGES, type FailureClassification, type FailureReport } from '../protocol/failure.js';
import type { Classifier } from './classifier.js';

export const CASE_ID_RE = /^[a-z0-9][a-z0-9-]*$/;

export const caseMetaSchema = z.object({
  id: z.string().regex(CASE_ID_RE, 'id must be lower-case letters, digits and -'),
  source: z.string().url(),
  label: z.enum(['infra', 'build']),
  reason: z.enum(FAILURE_REASONS),
  stage: z.enum(FAILURE_STAGES),
  exit_code: z.number().int().nullable(),
  executor: z.string().min(1).nullable().optional(),
  message: z.string().nullable().optional(),
  ecosystem: z.string().min(1),
  cause: z.string().nullable().optional(),
  hard: z.boolean().optional(),
  why: z.string().min(1),
  // facts a runner may also report for pull failures
  image: z.string().nullable().optional(),
  registry: z.string().nullable().optional(),
  kind: z.string().nullable().optional(),
});
export type CaseMeta = z.output<typeof caseMetaSchema>;
/** Fields a case file may carry beyond the format (warned about by loaders, never used). */
export const CASE_FIELDS: readonly string[] = Object.keys(caseMetaSchema.shape);

export type CorpusPart = 'train' | 'heldout';

/**
 * Held-out cases that were opened while rules were written (a helper checking log formats,
 * issue 9's third landing): no longer unseen, so they are training cases now. Only ever grows.
 */
export const SEEN_WHILE_WRITING_RULES: ReadonlySet<string> = new Set([
  'apk-apkindex-temporary-error-bridge-network',
  'buildkite-agent-lost-autoscaler',
  'composer-curl-28-security-advisories-timeout',
]);

/**
 * Cases written by the same hand that wrote rules for them (issue 9's fourth landing): training
 * material by construction, whatever their hash says — listing them here leaves the held-out
 * part exactly the cases nobody writing rules has read. Only ever grows.
 */
export const WRITTEN_WITH_RULES: ReadonlySet<string> = new Set([
  'buildkit-from-hub-head-500-server-error',
  'buildkit-ghcr-429-cache-blob-merge-queue',
  'cargo-index-crates-io-timeout-28-windows',
  'gha-cache-save-429-upload-chunk-ebadf',
  'gha-setup-job-failed-to-download-action-503',
  'go-mod-download-proxy-stream-internal-error',
  'gradle-plugin-portal-no-route-to-host',
  'npm-publish-401-unauthorized-put-action-registry-url',
  'nuget-restore-502-bad-gateway-gitlab-docker-build',
  'oras-push-ghcr-too-many-requests',
  'wget-maven-central-501-https-required-generator',
  'yarn-esockettimedout-rxjs-tarball-gha',
]);

export function corpusPart(id: string): CorpusPart {
  if (SEEN_WHILE_WRITING_RULES.has(id) || WRITTEN_WITH_RULES.has(id)) return 'train';
  const h = createHash('sha256').update(id).digest('hex');
  return parseInt(h.slice(0, 8), 16) % 100 < 33 ? 'heldout' : 'train';
}

export interface CorpusCase {
  meta: CaseMeta;
  log: Buffer | string;
}

/** The FailureReport a runner would have sent for this case. */
export function reportOf(m: CaseMeta): FailureReport {
  return {
    reason: m.reason,
    stage: m.stage,
    exit_code: m.exit_code,
    executor: m.executor ?? null,
    message: m.message ?? null,
    image: m.image ?? null,
    registry: m.registry ?? null,
    kind: m.kind ?? null,
  };
}

export interface CaseVerdict {
  id: string;
  part: CorpusPart;
  label: 'infra' | 'build';
  expected_cause: string | null;
  hard: boolean;
  class: FailureClassification['class'];
  cause: string;
  rule: string | null;
  fallback: boolean;
  correct: boolean;
  /** First evidence line (training cases only: held-out logs are never shown). */
  evidence: string | null;
}

export interface ClassMetrics {
  /** null when nothing was predicted (precision) / nothing is labelled (recall) as this class. */
  precision: number | null;
  recall: number | null;
  tp: number;
  fp: number;
  fn: number;
}

export interface PartMetrics {
  cases: number;
  correct: number;
  accuracy: number | null;
  infra: ClassMetrics;
  build: ClassMetrics;
  /** Share of cases decided by a rule rather than the fallback. */
  coverage: number | null;
  by_rule: number;
  wrong: CaseVerdict[];
}

export interface EvalResult {
  parts: { train: PartMetrics; heldout: PartMetrics; all: PartMetrics };
  verdicts: CaseVerdict[];
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

function classMetrics(vs: readonly CaseVerdict[], c: 'infra' | 'build'): ClassMetrics {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const v of vs) {
    if (v.class === c && v.label === c) tp++;
    else if (v.class === c) fp++;
    else if (v.label === c) fn++;
  }
  return { precision: ratio(tp, tp + fp), recall: ratio(tp, tp + fn), tp, fp, fn };
}

export function partMetrics(vs: readonly CaseVerdict[]): PartMetrics {
  const correct = vs.filter((v) => v.correct).length;
  const byRule = vs.filter((v) => !v.fallback).length;
  return {
    cases: vs.length,
    correct,
    accuracy: ratio(correct, vs.length),
    infra: classMetrics(vs, 'infra'),
    build: classMetrics(vs, 'build'),
    coverage: ratio(byRule, vs.length),
    by_rule: byRule,
    wrong: vs.filter((v) => !v.correct),
  };
}

/** Classify every case as the coordinator would and score the verdicts per part. */
export function evaluateCorpus(classifier: Classifier, cases: Iterable<CorpusCase>): EvalResult {
  const verdicts: CaseVerdict[] = [];
  for (const c of cases) {
    const m = c.meta;
    const out = classifier.classify(reportOf(m), c.log);
    const part = corpusPart(m.id);
    verdicts.push({
      id: m.id,
      part,
      label: m.label,
      expected_cause: m.cause ?? null,
      hard: m.hard ?? false,
      class: out.class,
      cause: out.cause,
      rule: out.rule?.id ?? null,
      fallback: out.fallback,
      correct: out.class === m.label,
      evidence: part === 'train' && out.evidence[0] ? `L${out.evidence[0].line}: ${out.evidence[0].text}` : null,
    });
  }
  verdicts.sort((a, b) => a.id.localeCompare(b.id));
  return {
    parts: {
      train: partMetrics(verdicts.filter((v) => v.part === 'train')),
      heldout: partMetrics(verdicts.filter((v) => v.part === 'heldout')),
      all: partMetrics(verdicts),
    },
    verdicts,
  };
}
