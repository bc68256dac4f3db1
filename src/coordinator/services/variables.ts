/** Predefined CI_* variables and the variable list of a job payload. */
import type { JobPayloadVariable } from '../../protocol/runner-api.js';
import { slugify } from '../../pipeline/variables.js';

export interface PipelineVariable {
  key: string;
  value: string;
  masked: boolean;
}

/** What the pipeline's predefined variables are made of. */
export interface PipelineContext {
  id: number;
  project: string;
  /** A branch name, `refs/heads/<branch>` or `refs/tags/<tag>`. */
  ref: string;
  sha: string | null;
  source: string;
  serverUrl: string;
  repositoryUrl: string | null;
  defaultBranch?: string;
  commitMessage?: string | null;
  beforeSha?: string | null;
  createdAt?: number;
}

/** A pipeline ref as GitLab reads it: tag pipelines set CI_COMMIT_TAG, branch pipelines CI_COMMIT_BRANCH. */
export function parseRef(ref: string): { name: string; tag: boolean } {
  if (ref.startsWith('refs/tags/')) return { name: ref.slice('refs/tags/'.length), tag: true };
  if (ref.startsWith('refs/heads/')) return { name: ref.slice('refs/heads/'.length), tag: false };
  return { name: ref, tag: false };
}

const MR_SOURCES = new Set(['merge_request_event']);

/**
 * The predefined variables of a pipeline (visible to `rules:` and to every job);
 * src/config/README.md lists them. Job-level ones (CI_JOB_*) are added with the payload,
 * runner-level ones (CI_PROJECT_DIR, CI_RUNNER_*, CI_JOB_STATUS) by the runner.
 */
export function pipelinePredefined(p: PipelineContext): Record<string, string> {
  const { name, tag } = parseRef(p.ref);
  const server = serverParts(p.serverUrl);
  const projectPath = p.project;
  const namespace = projectPath.includes('/') ? projectPath.slice(0, projectPath.lastIndexOf('/')) : '';
  const projectName = projectPath.split('/').pop() ?? projectPath;
  const v: Record<string, string> = {
    CI: 'true',
    GITLAB_CI: 'true',
    FAULTLINE: 'true',
    CI_SERVER: 'yes',
    CI_SERVER_NAME: 'faultline',
    CI_SERVER_URL: p.serverUrl,
    CI_SERVER_HOST: server.host,
    CI_SERVER_PORT: server.port,
    CI_SERVER_PROTOCOL: server.protocol,
    CI_SERVER_FQDN: server.fqdn,
    CI_API_V4_URL: p.serverUrl ? `${p.serverUrl.replace(/\/+$/, '')}/api/v4` : '',
    CI_CONFIG_PATH: '.gitlab-ci.yml',
    CI_PIPELINE_ID: String(p.id),
    CI_PIPELINE_IID: String(p.id),
    CI_PIPELINE_SOURCE: p.source,
    CI_PIPELINE_URL: `${p.serverUrl.replace(/\/+$/, '')}/#/pipelines/${p.id}`,
    CI_PROJECT_NAME: projectName,
    CI_PROJECT_TITLE: projectName,
    CI_PROJECT_PATH: projectPath,
    CI_PROJECT_PATH_SLUG: slug(projectPath),
    CI_PROJECT_NAMESPACE: namespace,
    CI_PROJECT_ROOT_NAMESPACE: namespace.split('/')[0] ?? '',
    CI_PROJECT_URL: p.repositoryUrl ?? '',
    CI_DEFAULT_BRANCH: p.defaultBranch ?? 'main',
    CI_COMMIT_REF_NAME: name,
    CI_COMMIT_REF_SLUG: slug(name),
    CI_COMMIT_REF_PROTECTED: 'false',
    CI_COMMIT_BEFORE_SHA: p.beforeSha ?? '0000000000000000000000000000000000000000',
  };
  if (tag) v.CI_COMMIT_TAG = name;
  else if (MR_SOURCES.has(p.source)) v.CI_MERGE_REQUEST_SOURCE_BRANCH_NAME = name;
  else v.CI_COMMIT_BRANCH = name;
  if (p.sha) {
    v.CI_COMMIT_SHA = p.sha;
    v.CI_COMMIT_SHORT_SHA = p.sha.slice(0, 8);
  }
  if (p.commitMessage !== undefined && p.commitMessage !== null) {
    v.CI_COMMIT_MESSAGE = p.commitMessage;
    const [title = '', ...rest] = p.commitMessage.split('\n');
    v.CI_COMMIT_TITLE = title;
    v.CI_COMMIT_DESCRIPTION = rest.join('\n').replace(/^\n+/, '');
  }
  if (p.createdAt !== undefined) v.CI_PIPELINE_CREATED_AT = new Date(p.createdAt).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (p.repositoryUrl) v.CI_REPOSITORY_URL = p.repositoryUrl;
  return v;
}

function serverParts(url: string): { host: string; port: string; protocol: string; fqdn: string } {
  try {
    const u = new URL(url);
    const protocol = u.protocol.replace(/:$/, '');
    return { host: u.hostname, port: u.port || (protocol === 'https' ? '443' : '80'), protocol, fqdn: u.host };
  } catch {
    return { host: '', port: '', protocol: '', fqdn: '' };
  }
}

/** GitLab's CI_COMMIT_REF_SLUG: lower-case, [a-z0-9-], ≤ 63 chars, no leading/trailing dash. */
export const slug = slugify;

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
