/** Predefined CI_* variables and the variable list of a job payload. */
import type { JobPayloadVariable } from '../../protocol/runner-api.js';

export interface PipelineVariable {
  key: string;
  value: string;
  masked: boolean;
}

/** Variables visible to `rules:` at compile time (no job yet). */
export function pipelinePredefined(p: {
  id: number;
  project: string;
  ref: string;
  sha: string | null;
  source: string;
  serverUrl: string;
  repositoryUrl: string | null;
}): Record<string, string> {
  const v: Record<string, string> = {
    CI: 'true',
    FAULTLINE: 'true',
    CI_SERVER_URL: p.serverUrl,
    CI_PIPELINE_ID: String(p.id),
    CI_PIPELINE_SOURCE: p.source,
    CI_PROJECT_NAME: p.project,
    CI_COMMIT_REF_NAME: p.ref,
    CI_COMMIT_BRANCH: p.ref,
    CI_COMMIT_REF_SLUG: slug(p.ref),
  };
  if (p.sha) {
    v.CI_COMMIT_SHA = p.sha;
    v.CI_COMMIT_SHORT_SHA = p.sha.slice(0, 8);
  }
  if (p.repositoryUrl) v.CI_REPOSITORY_URL = p.repositoryUrl;
  return v;
}

/** GitLab's CI_COMMIT_REF_SLUG: lower-case, [a-z0-9-], ≤ 63 chars, no leading/trailing dash. */
export const slug = (ref: string): string =>
  ref.toLowerCase().replace(/[^a-z0-9]/g, '-').slice(0, 63).replace(/^-+|-+$/g, '');

/** Later layers win; order of first appearance is kept. */
export function mergeVariables(...layers: JobPayloadVariable[][]): JobPayloadVariable[] {
  const out = new Map<string, JobPayloadVariable>();
  for (const layer of layers) for (const v of layer) out.set(v.key, v);
  return [...out.values()];
}

export const plain = (r: Record<string, string>, masked = false): JobPayloadVariable[] =>
  Object.entries(r).map(([key, value]) => ({ key, value, masked }));

/** Keys declared `masked: true` in the YAML stay masked whatever layer set their value. */
export const maskDeclared = (vars: JobPayloadVariable[], maskedKeys: readonly string[] = []): JobPayloadVariable[] => {
  const keys = new Set(maskedKeys);
  return vars.map((v) => (!v.masked && keys.has(v.key) ? { ...v, masked: true } : v));
};
