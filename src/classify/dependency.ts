/**
 * Which dependency an infra failure is about (issue 12): the registry host, git host, DNS
 * name, package registry, runner or executor host — so an incident tracks the thing that
 * is down, not the job that noticed. Decided by the verdict's cause and stage, the name read
 * from the verdict's own facts (registry, the pipeline's repository URL) or else from its
 * evidence lines (URLs and the host a tool names). Pure.
 */
import type { FailureClassification } from '../protocol/failure.js';

export const DEPENDENCY_KINDS = ['registry', 'git_host', 'dns', 'package_registry', 'runner', 'executor_host', 'unknown'] as const;
export type DependencyKind = (typeof DEPENDENCY_KINDS)[number];
export interface Dependency {
  kind: DependencyKind;
  name: string;
}

/** Causes whose blast radius is one runner host. */
export const RUNNER_CAUSES: readonly string[] = ['runner_lost', 'disk_full', 'docker_daemon_unreachable', 'host_clock_skew'];
const GIT_CAUSES: readonly string[] = ['source_fetch_failed', 'git_remote_error'];
const EXECUTOR_CAUSES: readonly string[] = ['machine_creation_failed', 'pod_not_ready', 'pod_evicted', 'cluster_unreachable', 'job_stuck'];
const isPackageCause = (c: string) => /^(package_|dependency_download)/.test(c);

/** A host name or IP (with an optional port) as tools print it. */
const HOST = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9-]+)*(?::\\d{1,5})?';
/** The host a tool says it could not resolve / reach, most specific first. */
const NAMED_HOST: RegExp[] = [
  new RegExp(`Could not resolve host(?:name)?:? '?(${HOST})`),
  new RegExp(`dial tcp: lookup (${HOST})`),
  new RegExp(`getaddrinfo (?:ENOTFOUND|EAI_AGAIN) (${HOST})`),
  new RegExp(`Temporary failure resolving '(${HOST})'`),
  new RegExp(`UnknownHostException: (${HOST})`),
  new RegExp(`ssh: connect to host (${HOST}) port`),
  new RegExp(`unable to connect to (${HOST}):`),
];
const URL_HOST = /\b(?:https?|git|ssh|git\+ssh):\/\/(?:[^@/\s'"]+@)?([A-Za-z0-9.-]+(?::\d{1,5})?)/;
const SCP_HOST = /\b[\w.-]+@([A-Za-z0-9.-]+):[\w./~-]/;

/** Host (with port when given) of a URL or scp-like git address; null for local paths. */
export function hostOf(url: string | null | undefined): string | null {
  if (!url) return null;
  const m = URL_HOST.exec(url) ?? SCP_HOST.exec(url);
  return m ? m[1]!.toLowerCase() : null;
}

/** The first host the evidence names: a host a tool names, else the first URL's host. */
export function hostInEvidence(lines: readonly string[]): string | null {
  for (const t of lines)
    for (const re of NAMED_HOST) {
      const m = re.exec(t);
      if (m) return m[1]!.toLowerCase();
    }
  for (const t of lines) {
    const h = hostOf(t);
    if (h) return h;
  }
  return null;
}

export interface DependencyContext {
  /** The pipeline's repository URL (what get_sources fetched). */
  repositoryUrl?: string | null;
  runnerName?: string | null;
  /** The runner's executor when the verdict names none. */
  executor?: string | null;
}

export function dependencyOf(f: FailureClassification, ctx: DependencyContext = {}): Dependency {
  const cause = f.cause || f.reason;
  const evidence = [...f.evidence.map((e) => e.text), ...(f.message ? [f.message] : [])];
  const named = () => hostInEvidence(evidence);
  const dep = (kind: DependencyKind, name: string | null | undefined): Dependency =>
    name ? { kind, name } : { kind: 'unknown', name: cause };
  if (f.registry && (cause.startsWith('registry_') || f.kind === 'registry_unreachable' || f.stage === 'pull_image'))
    return dep('registry', f.registry);
  if (cause === 'dns_failure') return dep('dns', named());
  if (f.stage === 'get_sources' || GIT_CAUSES.includes(cause)) {
    // get_sources fetched the pipeline's repository: its host is the dependency for sure.
    const h = f.stage === 'get_sources' ? (hostOf(ctx.repositoryUrl) ?? named()) : named();
    return dep('git_host', h ?? (ctx.repositoryUrl ? 'local' : null));
  }
  if (isPackageCause(cause)) return dep('package_registry', named());
  if (cause.startsWith('registry_')) return dep('registry', named());
  if (RUNNER_CAUSES.includes(cause)) return dep('runner', ctx.runnerName);
  const executor = f.executor ?? ctx.executor;
  // The executor itself broke (machine, pod, container engine): a success on it is evidence.
  if (EXECUTOR_CAUSES.includes(cause) || f.stage === 'prepare_executor' || f.reason === 'runner_system_failure')
    return dep('executor_host', executor);
  return dep('unknown', executor ? `${cause}@${executor}` : cause);
}
