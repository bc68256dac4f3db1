/**
 * `artifacts:` and `dependencies:` of a job → ArtifactsSpec and the list of jobs whose
 * artifacts it downloads (GitLab's rules: `dependencies:` wins, else `needs:` without
 * `artifacts: false`, else every job of an earlier stage).
 */
import { z } from 'zod';
import type { ArtifactsSpec } from '../pipeline/model.js';
import { didYouMean, joinPath, type Diagnostics } from './diagnostics.js';
import { parseDuration } from './duration.js';
import type { CompiledJob } from './job.js';
import { check } from './schema.js';
import { isPlainMap, keyPos, valuePos, type Pos } from './yaml-source.js';

/** GitLab's default `expire_in` (instance setting, 30 days out of the box). */
export const DEFAULT_EXPIRE_SECONDS = 30 * 86400;

/** Report kinds GitLab knows; faultline parses junit and dotenv and keeps the rest as files. */
export const REPORT_KINDS = [
  'accessibility',
  'annotations',
  'api_fuzzing',
  'browser_performance',
  'codequality',
  'container_scanning',
  'coverage_fuzzing',
  'coverage_report',
  'cyclonedx',
  'dast',
  'dependency_scanning',
  'dotenv',
  'junit',
  'load_performance',
  'metrics',
  'requirements',
  'repository_xray',
  'sast',
  'secret_detection',
  'terraform',
] as const;
export const PARSED_REPORT_KINDS = ['junit', 'dotenv'] as const;

const paths = z.union([z.string().min(1), z.array(z.string().min(1, 'a path is empty'))], {
  errorMap: () => ({ message: 'expected a path or a list of paths' }),
});
const coverageReport = z.object({ coverage_format: z.enum(['cobertura', 'jacoco']), path: z.string().min(1) }).strict();

export const artifactsSchema = z
  .object({
    name: z.string().optional(),
    paths: z.array(z.string().min(1, 'a path is empty')).optional(),
    exclude: z.array(z.string().min(1, 'a pattern is empty')).optional(),
    untracked: z.boolean().optional(),
    when: z.enum(['on_success', 'on_failure', 'always']).optional(),
    expire_in: z.union([z.string(), z.number()]).optional(),
    expose_as: z.string().max(100).optional(),
    public: z.boolean().optional(),
    access: z.enum(['all', 'developer', 'none']).optional(),
    reports: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const dependenciesSchema = z.array(z.string().min(1, 'a job name is empty'));

export function readArtifacts(raw: unknown, path: string, pos: Pos, diag: Diagnostics): ArtifactsSpec | null {
  const v = check(artifactsSchema, raw, path, pos, diag);
  if (!v) return null;
  const map = raw as Record<string, unknown>;
  const at = (k: string) => valuePos(map, k, pos);
  let expire: number | null = DEFAULT_EXPIRE_SECONDS;
  if (v.expire_in !== undefined) {
    if (typeof v.expire_in === 'string' && v.expire_in.trim().toLowerCase() === 'never') expire = null;
    else {
      const d = parseDuration(v.expire_in);
      if (d.ok) expire = d.seconds;
      else diag.error(joinPath(path, 'expire_in'), at('expire_in'), d.message);
    }
  }
  for (const k of ['public', 'access'] as const)
    if (v[k] !== undefined)
      diag.warn(joinPath(path, k), keyPos(map, k, pos), 'faultline has no per-user access control on artifacts; ignored');
  const reports: Record<string, string[]> = {};
  const rmap = isPlainMap(map.reports) ? map.reports : null;
  for (const [kind, val] of Object.entries(v.reports ?? {})) {
    const rp = joinPath(path, 'reports', kind);
    const kpos = rmap ? keyPos(rmap, kind, at('reports')) : at('reports');
    if (!(REPORT_KINDS as readonly string[]).includes(kind)) {
      diag.error(rp, kpos, `unknown report kind '${kind}'${didYouMean(kind, REPORT_KINDS)}`);
      continue;
    }
    const vpos = rmap ? valuePos(rmap, kind, kpos) : kpos;
    if (kind === 'coverage_report') {
      const c = check(coverageReport, val, rp, vpos, diag);
      if (c) reports[kind] = [c.path];
    } else {
      const p = check(paths, val, rp, vpos, diag);
      if (p) reports[kind] = typeof p === 'string' ? [p] : p;
    }
    if (reports[kind] && !(PARSED_REPORT_KINDS as readonly string[]).includes(kind))
      diag.warn(rp, kpos, `faultline keeps ${kind} reports as files but does not read them`);
  }
  if (v.expose_as !== undefined && (v.paths ?? []).length === 0)
    diag.error(joinPath(path, 'expose_as'), at('expose_as'), 'expose_as needs artifacts: paths: to expose');
  return {
    name: v.name ?? null,
    paths: v.paths ?? [],
    exclude: v.exclude ?? [],
    untracked: v.untracked ?? false,
    when: v.when ?? 'on_success',
    expire_in_seconds: expire,
    expose_as: v.expose_as ?? null,
    reports,
  };
}

/** Fill `artifact_dependencies` once `needs` are resolved (job.spec.needs holds resolved names). */
export function resolveArtifactDependencies(included: readonly CompiledJob[]): void {
  // A name in dependencies:/needs: stands for every instance of a parallel job (checked in dependencies.ts).
  const byBase = new Map<string, string[]>();
  for (const j of included) for (const key of new Set([j.base, j.spec.name])) byBase.set(key, [...(byBase.get(key) ?? []), j.spec.name]);
  for (const job of included) {
    const s = job.spec;
    if (job.dependencies) {
      s.artifact_dependencies = [...new Set(job.dependencies.names.flatMap((n) => byBase.get(n) ?? []))];
    } else if (s.needs !== null) {
      const noArtifacts = new Set((job.needs ?? []).filter((n) => n.artifacts === false).flatMap((n) => byBase.get(n.name) ?? [n.name]));
      s.artifact_dependencies = s.needs.filter((n) => !noArtifacts.has(n));
    } else {
      s.artifact_dependencies = included.filter((o) => o.spec.stage_index < s.stage_index).map((o) => o.spec.name);
    }
  }
}
