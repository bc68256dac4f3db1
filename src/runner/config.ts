/**
 * Runner configuration file (gitlab-runner's config.toml shape):
 *
 *   concurrent = 4            # jobs at once, per runner section at most
 *   check_interval = 3        # seconds between job requests when the coordinator answers at once
 *   shutdown_timeout = 30     # seconds running jobs get on stop before runner_interrupted
 *   [[runners]]
 *     name = "shell-1"
 *     url = "http://127.0.0.1:8080"   # or several coordinators of one database, tried in order:
 *                                   # url = ["http://a:8080", "http://b:8080"] (or "http://a:8080,http://b:8080")
 *     token = "flrt_…"        # or registration_token = "…"
 *     executor = "shell"      # shell | docker | kubernetes | custom
 *     tags = ["linux"]
 *     run_untagged = true
 *     limit = 2
 *     builds_dir = "/var/lib/faultline/builds"
 *     [runners.docker] / [runners.kubernetes] / [runners.custom] / [runners.shell] (user = "…": run jobs as that user)
 *
 * The global and [[runners]] keys are checked strictly (a typo is an error); an
 * executor's own section has its known keys type-checked and is handed to the
 * executor factory as-is. Errors name the file, the runner, the key path and —
 * found by a textual search, since TOML parsers give no key positions — the line.
 */
import { readFileSync } from 'node:fs';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { PULL_POLICIES } from '../pipeline/model.js';
import { EXECUTOR_NAMES } from './executors/index.js';
import { parseCoordinatorUrls } from './coordinators.js';
import type { StartRunnerOptions } from './daemon.js';

export class RunnerConfigError extends Error {
  override readonly name = 'RunnerConfigError';
  constructor(
    message: string,
    readonly file: string,
    readonly issues: Array<{ path: string; message: string; line: number | null }>,
  ) {
    super(message);
  }
}

const policy = z.enum(PULL_POLICIES);
const pullPolicy = z.union([policy, z.array(policy)]);
const seconds = z.number().int().positive();
const strList = z.array(z.string());

const shellSection = z.object({ shell: z.string().optional(), user: z.string().min(1).optional() }).passthrough();

const dockerSection = z
  .object({
    host: z.string().optional(),
    image: z.string().optional(),
    pull_policy: pullPolicy.optional(),
    allowed_pull_policies: z.array(policy).optional(),
    pull_retry: z.object({ attempts: z.number().int().min(1).optional(), backoffMs: z.number().int().min(0).optional() }).optional(),
    privileged: z.boolean().optional(),
    volumes: strList.optional(),
    network_mode: z.string().optional(),
    wait_for_services_timeout: z.number().int().min(-1).optional(),
  })
  .passthrough();

const kubernetesSection = z
  .object({
    host: z.string().optional(),
    kubeconfig: z.string().optional(),
    bearer_token: z.string().optional(),
    ca_data: z.string().optional(),
    tls_insecure: z.boolean().optional(),
    namespace: z.string().optional(),
    image: z.string().optional(),
    service_account: z.string().optional(),
    image_pull_secrets: strList.optional(),
    node_selector: z.record(z.string()).optional(),
    cpu_request: z.string().optional(),
    cpu_limit: z.string().optional(),
    memory_request: z.string().optional(),
    memory_limit: z.string().optional(),
    poll_timeout: seconds.optional(),
    pull_policy: pullPolicy.optional(),
    allowed_pull_policies: z.array(policy).optional(),
    mount_build_dir: z.boolean().optional(),
  })
  .passthrough();

const customSection = z
  .object({
    config_exec: z.string().optional(),
    config_args: strList.optional(),
    config_exec_timeout: seconds.optional(),
    prepare_exec: z.string().optional(),
    prepare_args: strList.optional(),
    prepare_exec_timeout: seconds.optional(),
    run_exec: z.string().min(1).optional(),
    run_args: strList.optional(),
    cleanup_exec: z.string().optional(),
    cleanup_args: strList.optional(),
    cleanup_exec_timeout: seconds.optional(),
    graceful_kill_timeout: seconds.optional(),
  })
  .passthrough();

const runnerSection = z
  .object({
    name: z.string().min(1).optional(),
    url: z.union([z.string(), z.array(z.string()).min(1)]).transform((v, ctx) => {
      try {
        return parseCoordinatorUrls(v, 'url');
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
    token: z.string().min(1).optional(),
    registration_token: z.string().min(1).optional(),
    id: z.number().int().positive().optional(),
    executor: z.string().refine(
      (e) => EXECUTOR_NAMES.includes(e),
      (e) => ({ message: `unknown executor "${e}" (known: ${EXECUTOR_NAMES.join(', ')})` }),
    ),
    tags: strList.default([]),
    run_untagged: z.boolean().optional(),
    limit: z.number().int().min(0).optional(),
    builds_dir: z.string().min(1).optional(),
    cache_dir: z.string().min(1).optional(),
    shell: shellSection.optional(),
    docker: dockerSection.optional(),
    kubernetes: kubernetesSection.optional(),
    custom: customSection.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (!r.token && !r.registration_token)
      ctx.addIssue({ code: 'custom', path: ['token'], message: 'token or registration_token is required' });
    if (r.executor === 'custom' && !r.custom?.run_exec)
      ctx.addIssue({ code: 'custom', path: ['custom', 'run_exec'], message: 'the custom executor needs [runners.custom] run_exec' });
  });

const fileSchema = z
  .object({
    concurrent: z.number().int().min(1).default(1),
    check_interval: z.number().min(0).optional(),
    shutdown_timeout: z.number().min(0).optional(),
    log_level: z.string().optional(),
    runners: z.array(runnerSection).min(1, 'at least one [[runners]] section is required'),
  })
  .strict();

export type RunnerConfigFile = z.infer<typeof fileSchema>;
export type RunnerSpec = StartRunnerOptions & { name: string; url: string[] };

/** Best-effort line of a key path: finds the n-th [[runners]], then the [runners.x] table, then the key. */
export function locateKey(text: string, path: Array<string | number>): number | null {
  const lines = text.split(/\r?\n/);
  const isHeader = (l: string) => /^\s*\[/.test(l);
  const keyRe = (k: string) => new RegExp(`^\\s*("?)${k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\1\\s*=`);
  let from = 0;
  let to = lines.length;
  let rest = path;
  if (path[0] === 'runners' && typeof path[1] === 'number') {
    let seen = -1;
    from = -1;
    for (let i = 0; i < lines.length; i++) {
      if (/^\s*\[\[\s*runners\s*\]\]/.test(lines[i]!)) {
        seen++;
        if (seen === path[1]) from = i;
        else if (seen === path[1] + 1) {
          to = i;
          break;
        }
      }
    }
    if (from === -1) return null;
    rest = path.slice(2);
    if (rest.length === 0) return from + 1;
    const section = rest[0];
    if (typeof section === 'string' && rest.length > 1) {
      const head = lines.slice(from, to).findIndex((l) => new RegExp(`^\\s*\\[\\s*runners\\.${section}\\s*\\]`).test(l));
      if (head !== -1) {
        from += head;
        rest = rest.slice(1);
      }
    }
  }
  const key = rest.find((p): p is string => typeof p === 'string');
  if (!key) return from + 1;
  for (let i = from + (isHeader(lines[from] ?? '') ? 1 : 0); i < to; i++) {
    if (i > from && isHeader(lines[i]!) && path[0] === 'runners') break; // stay in the table
    if (keyRe(key).test(lines[i]!)) return i + 1;
  }
  return null;
}

/** Parses and validates config.toml text; `file` is used in messages. */
export function parseRunnerConfig(text: string, file = 'config.toml'): RunnerSpec[] {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0];
      throw new RunnerConfigError(`${file}:${err.line}:${err.column}: ${first}`, file, [{ path: '', message: first!, line: err.line }]);
    }
    throw err;
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const runners = (raw as { runners?: Array<{ name?: unknown }> }).runners;
    const issues = parsed.error.issues.map((iss) => {
      const path = [...iss.path];
      // Unknown keys: point at the first offending key.
      if (iss.code === 'unrecognized_keys' && iss.keys.length) path.push(iss.keys[0]!);
      let where = path.length ? path.join('.') : '(top level)';
      if (path[0] === 'runners' && typeof path[1] === 'number') {
        const n = runners?.[path[1]]?.name;
        where = `[[runners]] #${path[1] + 1}${typeof n === 'string' ? ` ("${n}")` : ''}${path.length > 2 ? ` ${path.slice(2).join('.')}` : ''}`;
      }
      const line = locateKey(text, path);
      return { path: path.join('.'), message: `${where}: ${iss.message}`, line };
    });
    const msg = issues.map((i) => `${file}${i.line ? `:${i.line}` : ''}: ${i.message}`).join('\n');
    throw new RunnerConfigError(msg, file, issues);
  }
  const cfg = parsed.data;
  return cfg.runners.map((r, i) => {
    const limit = r.limit && r.limit > 0 ? r.limit : cfg.concurrent;
    const section = (r as Record<string, unknown>)[r.executor];
    return {
      url: r.url,
      token: r.token,
      registrationToken: r.token ? undefined : r.registration_token,
      id: r.id,
      name: r.name ?? `runner-${i + 1}`,
      executor: r.executor,
      concurrency: Math.min(limit, cfg.concurrent),
      tags: r.tags,
      runUntagged: r.run_untagged,
      buildsDir: r.builds_dir,
      ...(r.cache_dir ? { cacheDir: r.cache_dir } : {}),
      executorConfig: section ?? {},
      ...(cfg.check_interval !== undefined ? { pollIntervalMs: cfg.check_interval * 1000 } : {}),
      ...(cfg.shutdown_timeout !== undefined ? { shutdownTimeoutMs: cfg.shutdown_timeout * 1000 } : {}),
    };
  });
}

export function loadRunnerConfig(path: string): RunnerSpec[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RunnerConfigError(`${path}: cannot read the runner configuration: ${(err as Error).message}`, path, []);
  }
  return parseRunnerConfig(text, path);
}
