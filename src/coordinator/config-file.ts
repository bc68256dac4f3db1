/**
 * `faultline coordinator --config coordinator.yml`: the coordinator's options as YAML,
 * validated with zod. Every problem names the file, line, column and field. Keys mirror
 * CoordinatorOptions in snake_case; durations are written with units ("60s", "5m", "1h30m").
 *
 *   port: 8080
 *   data_dir: /var/lib/faultline          # relative paths are relative to this file
 *   database_url: postgres://faultline@db:5432/faultline   # default: SQLite in data_dir (database-url.ts)
 *   database_pool_size: 10                # PostgreSQL connections per coordinator, at most
 *   heartbeat_timeout: 60s
 *   runner_stale_after: 7d                # runners not heard of this long are removed
 *   incidents: {open_after_failures: 3, open_after: 2m, widespread_jobs: 5, widespread_window: 30m}
 *   gitlab: {url: https://gitlab.example.com, token_env: GITLAB_TOKEN}   # include:project/template/component
 *   notifications:
 *     - {name: operators, url: https://ops.example/hook, classes: [infra]}
 *     - {name: developers, url: https://dev.example/hook, classes: [build], events: [job_failed, pipeline_failed], secret_env: DEV_HOOK_SECRET}
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { z, type ZodIssue } from 'zod';
import { FAILURE_CLASSES } from '../protocol/failure.js';
import { issueOffset, issuePath, unknownFieldsMessage } from '../util/yaml-zod.js';
import type { CoordinatorOptions } from './config.js';
import { databaseUrlProblem } from './database-url.js';
import { NOTIFY_EVENTS, type NotificationTarget } from './services/notifier.js';

/** What a config file can set: everything but the injected objects. */
export type CoordinatorFileOptions = Partial<Omit<CoordinatorOptions, 'logger' | 'classifier'>>;

export interface ConfigFileProblem {
  file: string;
  line: number;
  column: number;
  /** The field, e.g. `notifications[1].url`. */
  path: string;
  message: string;
}

export class CoordinatorConfigError extends Error {
  override readonly name = 'CoordinatorConfigError';
  constructor(readonly problems: ConfigFileProblem[]) {
    super(`invalid coordinator config:\n${problems.map((p) => `  ${p.file}:${p.line}:${p.column}: ${p.path}: ${p.message}`).join('\n')}`);
  }
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "60s", "5m", "1h30m", "500ms" → milliseconds; null when not a duration. */
export function parseDurationMs(text: string): number | null {
  const s = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(s)) return null;
  let ms = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Math.round(ms);
}

const duration = z.unknown().transform((v, ctx) => {
  const ms = typeof v === 'string' ? parseDurationMs(v) : null;
  if (ms === null || ms <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `must be a positive duration with a unit, like "60s", "5m" or "1h30m" (got ${JSON.stringify(v)})`,
    });
    return z.NEVER;
  }
  return ms;
});

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };
const size = z.unknown().transform((v, ctx) => {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  const m = typeof v === 'string' ? /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)$/i.exec(v.trim()) : null;
  if (!m) {
    ctx.addIssue({ code: 'custom', message: `must be a byte count or a size like "64MiB" (got ${JSON.stringify(v)})` });
    return z.NEVER;
  }
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
});

const httpUrl = z
  .string()
  .url('must be a URL')
  .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'must be an http:// or https:// URL');

const targetSchema = z
  .object({
    name: z.string().min(1).max(100),
    url: httpUrl,
    classes: z.array(z.enum(FAILURE_CLASSES)).min(1, 'name at least one failure class (infra, build, unknown)'),
    events: z.array(z.enum(NOTIFY_EVENTS)).min(1).optional(),
    secret: z.string().min(1).optional(),
    /** Name of an environment variable holding the secret (keeps it out of the file). */
    secret_env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    timeout: duration.optional(),
    max_attempts: z.number().int().min(1).max(100).optional(),
    retry_base: duration.optional(),
    retry_max: duration.optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.secret !== undefined && t.secret_env !== undefined)
      ctx.addIssue({ code: 'custom', path: ['secret_env'], message: 'give secret or secret_env, not both' });
    if (t.secret_env !== undefined && !process.env[t.secret_env])
      ctx.addIssue({ code: 'custom', path: ['secret_env'], message: `environment variable ${t.secret_env} is not set` });
  });

const fileSchema = z
  .object({
    port: z.number().int().min(0).max(65_535).optional(),
    host: z.string().min(1).optional(),
    data_dir: z.string().min(1).optional(),
    database_url: z
      .string()
      .min(1)
      .superRefine((u, ctx) => {
        const problem = databaseUrlProblem(u);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    database_pool_size: z.number().int().min(1).max(1000).optional(),
    registration_token: z.string().min(1).optional(),
    heartbeat_timeout: duration.optional(),
    stuck_timeout: duration.optional(),
    long_poll: duration.optional(),
    runner_stale_after: duration.optional(),
    max_trace_bytes: size.optional(),
    auto_cancel: z.boolean().optional(),
    cancel_grace: duration.optional(),
    rules_dir: z.string().min(1).optional(),
    /** When repeated infra failures of one dependency open an incident; when an unknown line is widespread. */
    incidents: z
      .object({
        open_after_failures: z.number().int().min(1).max(1000).optional(),
        open_after: duration.optional(),
        pending_expiry: duration.optional(),
        widespread_jobs: z.number().int().min(2).max(100_000).optional(),
        widespread_window: duration.optional(),
      })
      .strict()
      .optional(),
    public_url: httpUrl.optional(),
    /** GitLab instance for include:project/template/component. */
    gitlab: z
      .object({
        url: httpUrl,
        token: z.string().min(1).optional(),
        /** Name of an environment variable holding the token (keeps it out of the file). */
        token_env: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
          .optional(),
      })
      .strict()
      .superRefine((g, ctx) => {
        if (g.token !== undefined && g.token_env !== undefined)
          ctx.addIssue({ code: 'custom', path: ['token_env'], message: 'give token or token_env, not both' });
        if (g.token_env !== undefined && !process.env[g.token_env])
          ctx.addIssue({ code: 'custom', path: ['token_env'], message: `environment variable ${g.token_env} is not set` });
      })
      .optional(),
    notifications: z
      .array(targetSchema)
      .superRefine((ts, ctx) => {
        const seen = new Set<string>();
        ts.forEach((t, i) => {
          if (seen.has(t.name))
            ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate target name ${JSON.stringify(t.name)}` });
          seen.add(t.name);
        });
      })
      .optional(),
  })
  .strict();

type FileShape = z.infer<typeof fileSchema>;

export type ParseResult = { ok: true; options: CoordinatorFileOptions } | { ok: false; problems: ConfigFileProblem[] };

/** Parse a config file's text; `file` names it in problems and anchors relative paths. */
export function parseCoordinatorConfig(text: string, file: string): ParseResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number, path: string, message: string): ConfigFileProblem => {
    const { line, col } = lc.linePos(offset);
    return { file, line, column: col, path, message };
  };
  if (doc.errors.length > 0) return { ok: false, problems: doc.errors.map((e) => at(e.pos[0], '(yaml)', e.message.split('\n')[0]!)) };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (e) {
    // e.g. an alias to an undefined anchor, or an alias bomb
    return { ok: false, problems: [at(0, '(yaml)', (e as Error).message)] };
  }
  const res = fileSchema.safeParse(data);
  if (!res.success) return { ok: false, problems: res.error.issues.map((i) => problemAt(doc, i, at)) };
  return { ok: true, options: toOptions(res.data, dirname(resolve(file))) };
}

/** Read and parse a config file; throws CoordinatorConfigError naming every problem. */
export function loadCoordinatorConfig(file: string): CoordinatorFileOptions {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CoordinatorConfigError([{ file, line: 0, column: 0, path: '(file)', message: `cannot read: ${(e as Error).message}` }]);
  }
  const r = parseCoordinatorConfig(text, file);
  if (!r.ok) throw new CoordinatorConfigError(r.problems);
  return r.options;
}

function toOptions(f: FileShape, base: string): CoordinatorFileOptions {
  const o: CoordinatorFileOptions = {
    port: f.port,
    host: f.host,
    dataDir: f.data_dir === undefined ? undefined : resolve(base, f.data_dir),
    databaseUrl: f.database_url,
    databasePoolSize: f.database_pool_size,
    registrationToken: f.registration_token,
    heartbeatTimeoutMs: f.heartbeat_timeout,
    stuckTimeoutMs: f.stuck_timeout,
    longPollMs: f.long_poll,
    runnerStaleMs: f.runner_stale_after,
    maxTraceBytes: f.max_trace_bytes,
    autoCancel: f.auto_cancel,
    cancelGraceSeconds: f.cancel_grace === undefined ? undefined : Math.max(1, Math.round(f.cancel_grace / 1000)),
    rulesDir: f.rules_dir === undefined ? undefined : resolve(base, f.rules_dir),
    incidents: f.incidents && {
      failures: f.incidents.open_after_failures,
      windowMs: f.incidents.open_after,
      pendingExpireMs: f.incidents.pending_expiry,
    },
    widespread: f.incidents && { minJobs: f.incidents.widespread_jobs, windowMs: f.incidents.widespread_window },
    publicUrl: f.public_url,
    gitlab: f.gitlab && {
      url: f.gitlab.url,
      ...(f.gitlab.token !== undefined
        ? { token: f.gitlab.token }
        : f.gitlab.token_env !== undefined
          ? { token: process.env[f.gitlab.token_env]! }
          : {}),
    },
    notifications: f.notifications?.map((t): NotificationTarget => ({
      name: t.name,
      url: t.url,
      classes: t.classes,
      ...(t.events ? { events: t.events } : {}),
      ...(t.secret !== undefined ? { secret: t.secret } : t.secret_env !== undefined ? { secret: process.env[t.secret_env]! } : {}),
      ...(t.timeout !== undefined ? { timeoutMs: t.timeout } : {}),
      ...(t.max_attempts !== undefined ? { maxAttempts: t.max_attempts } : {}),
      ...(t.retry_base !== undefined ? { retryBaseMs: t.retry_base } : {}),
      ...(t.retry_max !== undefined ? { retryMaxMs: t.retry_max } : {}),
    })),
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as CoordinatorFileOptions;
}

/** The file's values under the ones given explicitly (undefined = not given). */
export function overlayOptions(file: CoordinatorFileOptions, explicit: CoordinatorFileOptions): CoordinatorFileOptions {
  return { ...file, ...Object.fromEntries(Object.entries(explicit).filter(([, v]) => v !== undefined)) };
}

/** A zod issue → the YAML node it concerns (the offending key for unknown fields; the parent for missing ones). */
function problemAt(
  doc: Document,
  issue: ZodIssue,
  at: (offset: number, path: string, message: string) => ConfigFileProblem,
): ConfigFileProblem {
  const path = issue.path;
  const offset = issueOffset(doc, issue);
  const where = issuePath(path);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = unknownFieldsMessage(issue.keys);
  else if (issue.code === 'invalid_union')
    message = issue.unionErrors.flatMap((e) => e.issues).find((i) => i.code === 'custom')?.message ?? message;
  else if (issue.code === 'invalid_type' && issue.received === 'undefined') message = 'required';
  return at(offset, where, message);
}
