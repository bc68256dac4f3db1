/**
 * The parts of a job's specification that travel to runners (image, services, cache,
 * artifacts): wire types, re-exported by src/pipeline/model.ts for the compiled model.
 */

export const PULL_POLICIES = ['always', 'if-not-present', 'never'] as const;

export type PullPolicy = (typeof PULL_POLICIES)[number];

export interface ImageSpec {
  name: string;
  /** Ordered list of policies to try; empty = runner default. */
  pull_policy: PullPolicy[];
  /** `image: entrypoint:` — overrides the image's ENTRYPOINT (docker executor); absent = the image's. */
  entrypoint?: string[];
  /** `image: docker: user:` / `platform:` (docker executor). */
  docker?: { user?: string; platform?: string };
}

/** One `services:` entry (a sidecar container on the job's network, docker executor). */
export interface ServiceSpec {
  /** Image of the service (variables expanded by the runner). */
  name: string;
  /** Host names the job reaches it by; empty = derived from the image name (as gitlab-runner). */
  alias: string[];
  entrypoint: string[] | null;
  command: string[] | null;
  /** Service-only variables, on top of the job's. */
  variables: Record<string, string>;
  pull_policy: PullPolicy[];
}

export const CACHE_POLICIES = ['pull', 'push', 'pull-push'] as const;

export type CachePolicy = (typeof CACHE_POLICIES)[number];

/** One `cache:` entry. Keys are expanded and hashed by the runner (it has the files). */
export interface CacheSpec {
  /** `key:` string (default "default"); unused when `files` is set. */
  key: string;
  /** `key: files:` — the key is the hash of these files' contents. */
  files: string[] | null;
  /** `key: prefix:` — prepended to the files hash. */
  prefix: string | null;
  paths: string[];
  untracked: boolean;
  policy: CachePolicy;
  when: 'on_success' | 'on_failure' | 'always';
  fallback_keys: string[];
}

export type Interruptible = boolean | 'graceful';

/** `artifacts:` after compilation (paths relative to the project dir, globs allowed). */
export interface ArtifactsSpec {
  name: string | null;
  paths: string[];
  exclude: string[];
  untracked: boolean;
  when: 'on_success' | 'on_failure' | 'always';
  /** null = never expires. */
  expire_in_seconds: number | null;
  expose_as: string | null;
  /** Report kind (junit, dotenv, …) → paths; each kind is uploaded as its own archive. */
  reports: Record<string, string[]>;
}
