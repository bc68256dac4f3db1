/**
 * What the include resolver may ask the outside world for. src/config does no I/O:
 * the caller injects these (git or the working tree for local files, HTTP for remote
 * files, a GitLab API client for project/template/component) — see
 * src/coordinator/includes/.
 */

/**
 * A failed fetch. `missing`: the source answered and the file is not there (a mistake
 * in the configuration). `unreachable`: the source could not be asked (network, no
 * GitLab configured, timeout) — lint warns instead of refusing.
 */
export interface FetchFailure {
  ok: false;
  kind: 'missing' | 'unreachable';
  reason: string;
}
export type FetchOutcome = { ok: true; text: string } | FetchFailure;

/** The files of one project at one commit. */
export interface ProjectFiles {
  read(path: string): Promise<FetchOutcome>;
  /** Every file path ('/'-separated, no leading '/'), for wildcard local includes. */
  list(): Promise<readonly string[] | FetchFailure>;
}

export interface GitLabSource {
  /** host[:port] of the instance: a component's address must start with it (CI_SERVER_FQDN). */
  readonly fqdn: string;
  /** A file of another project; `ref` undefined means its default branch. */
  file(project: string, path: string, ref: string | undefined): Promise<FetchOutcome>;
  /** A CI template by its name, e.g. `Jobs/Build.gitlab-ci.yml`. */
  template(name: string): Promise<FetchOutcome>;
  /** Release tags of a project, newest first (for component versions `~latest`, `1`, `1.2`). */
  releases(project: string): Promise<{ ok: true; tags: string[] } | FetchFailure>;
  /** Every file path of a project at a ref (undefined: its default branch), for `rules: exists: project`. */
  tree?(project: string, ref: string | undefined): Promise<{ ok: true; paths: string[] } | FetchFailure>;
}

export interface IncludeSources {
  /** The pipeline's own project at its commit (or the working tree of `faultline run` / lint). */
  local?: ProjectFiles;
  /** GET a URL (http/https), with a timeout and a size limit. */
  remote?: (url: string) => Promise<FetchOutcome>;
  /** The configured GitLab instance. */
  gitlab?: GitLabSource;
}

export const unreachable = (reason: string): FetchFailure => ({ ok: false, kind: 'unreachable', reason });
export const missing = (reason: string): FetchFailure => ({ ok: false, kind: 'missing', reason });
