/**
 * Keyword tables and zod schemas for the shape of each keyword. Each keyword is
 * validated on its own (so one bad key never hides the problems of another) and
 * zod issues are turned into "expected X, got Y" messages with positions.
 */
import { z } from 'zod';
import { RETRY_WHEN_VALUES, type RetryWhen } from '../protocol/failure.js';
import { PULL_POLICIES, type ImageSpec, type RetrySpec } from '../pipeline/model.js';
import { argvSchema, imageDockerSchema } from './services-cache.js';
import { describe, didYouMean, joinPath, type Diagnostics } from './diagnostics.js';
import { parseDuration } from './duration.js';
import { keyPos, posAt, Reference, type Pos } from './yaml-source.js';

// ---- keyword tables -------------------------------------------------------

export const GLOBAL_KEYWORDS = ['stages', 'default', 'variables', 'workflow'] as const;
/** Old top-level spellings of `default:` keys (GitLab still accepts them). */
export const LEGACY_DEFAULT_KEYWORDS = ['image', 'before_script', 'after_script', 'services', 'cache'] as const;
/** Names a job may not have (GitLab's reserved list). */
export const RESERVED_JOB_NAMES = [
  'image',
  'services',
  'stages',
  'types',
  'before_script',
  'after_script',
  'variables',
  'cache',
  'include',
  'default',
  'workflow',
  'spec',
  'true',
  'false',
  'nil',
] as const;

export const JOB_KEYWORDS = [
  'stage',
  'image',
  'before_script',
  'script',
  'after_script',
  'needs',
  'when',
  'manual',
  'allow_failure',
  'on_status',
  'interruptible',
  'timeout',
  'after_script_timeout',
  'retry',
  'tags',
  'rules',
  'variables',
  'extends',
  'only',
  'except',
  'inherit',
  'trigger',
  'start_in',
  'parallel',
  'environment',
  'dependencies',
  'resource_group',
  'services',
  'cache',
  'artifacts',
  'hooks',
] as const;

export const DEFAULT_KEYWORDS = [
  'image',
  'before_script',
  'after_script',
  'timeout',
  'after_script_timeout',
  'retry',
  'interruptible',
  'tags',
  'services',
  'cache',
  'hooks',
] as const;

export const RULE_KEYWORDS = ['if', 'changes', 'exists', 'when', 'allow_failure', 'variables', 'needs', 'interruptible'] as const;
export const WORKFLOW_KEYWORDS = ['rules', 'auto_cancel'] as const;
export const WORKFLOW_RULE_KEYWORDS = ['if', 'changes', 'exists', 'when', 'variables', 'auto_cancel'] as const;

export const WHEN_VALUES = ['on_success', 'on_failure', 'always', 'manual', 'never', 'delayed'] as const;
export const MANUAL_VALUES = ['required', 'optional', 'ignored'] as const;

/** Keys of the small nested maps, for "did you mean" on their typos. */
const NESTED_KEYS = [
  'name',
  'pull_policy',
  'entrypoint',
  'docker',
  'kubernetes',
  'job',
  'optional',
  'artifacts',
  'exit_codes',
  'success',
  'failure',
  'max',
  'when',
  'alias',
  'command',
  'variables',
  'key',
  'paths',
  'untracked',
  'policy',
  'fallback_keys',
  'files',
  'prefix',
  'user',
  'platform',
];

// ---- schemas --------------------------------------------------------------

/** A union whose own failure reads "expected <what>". */
function oneOf<T extends [z.ZodTypeAny, z.ZodTypeAny, ...z.ZodTypeAny[]]>(what: string, options: T) {
  return z.union(options, { errorMap: () => ({ message: `expected ${what}` }) });
}

const MAX_SCRIPT_NESTING = 10;

/**
 * The most common YAML mistake in scripts: `- echo "a: b"` is a map, because an
 * unquoted ': ' starts a key. Show the line back, quoted.
 */
function colonHint(it: unknown): string {
  if (typeof it !== 'object' || it === null || Array.isArray(it)) return '';
  const keys = Object.keys(it);
  const v = (it as Record<string, unknown>)[keys[0]!];
  if (keys.length !== 1 || (v !== null && typeof v === 'object')) return '';
  const line = `${keys[0]}: ${v ?? ''}`.trimEnd();
  const quoted = line.includes("'") ? JSON.stringify(line) : `'${line}'`;
  return ` — YAML read this line as a map because of the ': ' in it; quote the whole command: - ${quoted}`;
}

/** Scripts: a string or (nested, up to 10 levels) lists of strings, flattened. */
/** `hooks: {pre_get_sources_script}` — the only hook GitLab's YAML has (docs.gitlab.com/ee/ci/yaml/#hooks). */
export const hooksSchema = z.lazy(() =>
  z
    .object({ pre_get_sources_script: scriptSchema })
    .strict()
    .transform((h) => ({ pre_get_sources_script: h.pre_get_sources_script })),
);

export const scriptSchema = z.unknown().transform((v, ctx) => {
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v)) {
    ctx.addIssue({ code: 'custom', message: `expected a string or a list of strings, got ${describe(v)}` });
    return z.NEVER;
  }
  const out: string[] = [];
  const visit = (items: unknown[], path: number[]) => {
    items.forEach((it, i) => {
      if (typeof it === 'string') out.push(it);
      else if (Array.isArray(it) && path.length < MAX_SCRIPT_NESTING) visit(it, [...path, i]);
      else
        ctx.addIssue({
          code: 'custom',
          path: [...path, i],
          message: `expected a string (a shell command), got ${describe(it)}${colonHint(it)}`,
        });
    });
  };
  visit(v, []);
  return out;
});

const pullPolicy = z.enum(PULL_POLICIES);
export const imageSchema = oneOf('an image name or a map with name:', [
  z.string().min(1, 'the image name is empty'),
  z
    .object({
      name: z.string().min(1, 'the image name is empty'),
      pull_policy: oneOf('a pull policy or a list of pull policies', [pullPolicy, z.array(pullPolicy).min(1)]).optional(),
      entrypoint: argvSchema.optional(),
      docker: imageDockerSchema.optional(),
      kubernetes: z.unknown().optional(),
    })
    .strict(),
]).transform((v): ImageSpec => {
  if (typeof v === 'string') return { name: v, pull_policy: [] };
  const out: ImageSpec = {
    name: v.name,
    pull_policy: v.pull_policy === undefined ? [] : Array.isArray(v.pull_policy) ? v.pull_policy : [v.pull_policy],
  };
  if (v.entrypoint) out.entrypoint = v.entrypoint;
  if (v.docker && (v.docker.user !== undefined || v.docker.platform !== undefined)) out.docker = v.docker;
  return out;
});

/** `needs: [{project: …}]` / `{pipeline: …}`: accepted here, dropped with a warning by the caller (→ null). */
const crossPipelineNeed = z
  .custom<object>((v) => typeof v === 'object' && v !== null && ('project' in v || 'pipeline' in v))
  .transform(() => null);

export const needsSchema = z.array(
  oneOf('a job name or a map with job:', [
    z.string().min(1),
    crossPipelineNeed,
    z
      .object({
        job: z.string().min(1),
        optional: z.boolean().optional(),
        artifacts: z.boolean().optional(),
        parallel: z
          .object({
            matrix: z
              .array(z.record(z.string(), z.union([z.string(), z.number(), z.array(z.union([z.string(), z.number()])).min(1)])))
              .min(1),
          })
          .strict()
          .optional(),
      })
      .strict(),
  ]),
);

export const whenSchema = z.enum(WHEN_VALUES);
export const manualSchema = z.enum(MANUAL_VALUES);

const exitCode = z
  .number()
  .int('an exit code is a whole number')
  .min(0, 'an exit code is between 0 and 255')
  .max(255, 'an exit code is between 0 and 255');
export const allowFailureSchema = oneOf('true, false or a map with exit_codes:', [
  z.boolean(),
  z
    .object({
      exit_codes: oneOf('an exit code or a list of exit codes', [exitCode, z.array(exitCode).min(1, 'list at least one exit code')]),
    })
    .strict(),
]);

const failureOutcome = z.enum(['fail_pipeline', 'warn', 'pass_pipeline']);
export const onStatusSchema = z
  .object({
    success: z.enum(['continue', 'pass_pipeline']).optional(),
    failure: failureOutcome.optional(),
    exit_codes: z
      .record(z.string(), failureOutcome)
      .superRefine((rec, ctx) => {
        for (const k of Object.keys(rec)) {
          const n = Number(k);
          if (!/^\d+$/.test(k) || n > 255) ctx.addIssue({ code: 'custom', path: [k], message: `'${k}' is not an exit code (0..255)` });
        }
      })
      .optional(),
  })
  .strict();

export const interruptibleSchema = oneOf('true, false or graceful', [z.boolean(), z.literal('graceful')]);

export const durationSchema = oneOf('a duration like "1h 30m" or a number of seconds', [z.string(), z.number()]).transform((v, ctx) => {
  const r = parseDuration(v);
  if (r.ok) return r.seconds;
  ctx.addIssue({ code: 'custom', message: r.message });
  return z.NEVER;
});

const retryWhen = z.enum(RETRY_WHEN_VALUES as [string, ...string[]]);
const retryMax = z
  .number()
  .int('retry must be a whole number')
  .min(0, 'retry must be between 0 and 10')
  .max(10, 'retry must be between 0 and 10');
export const retrySchema = oneOf('a number 0..10 or a map with max:, when: and exit_codes:', [
  retryMax,
  z
    .object({
      max: retryMax.optional(),
      when: oneOf('a failure reason or a list of failure reasons', [retryWhen, z.array(retryWhen)]).optional(),
      exit_codes: oneOf('an exit code or a list of exit codes', [
        exitCode,
        z.array(exitCode).min(1, 'list at least one exit code'),
      ]).optional(),
    })
    .strict(),
]).transform((v): { max: number; when: string[]; exit_codes?: number[] } => {
  if (typeof v === 'number') return { max: v, when: ['always'] };
  // GitLab (Gitlab::Ci::Build::AutoRetry): `when` defaults to [always] only without
  // `exit_codes`; with them, a failure is retried when its reason is in `when` OR its
  // exit code is listed — `exit_codes` alone retries those codes and nothing else.
  const exitCodes = v.exit_codes === undefined ? undefined : Array.isArray(v.exit_codes) ? v.exit_codes : [v.exit_codes];
  const when = v.when === undefined ? (exitCodes ? [] : ['always']) : Array.isArray(v.when) ? v.when : [v.when];
  return { max: v.max ?? 0, when, ...(exitCodes ? { exit_codes: exitCodes } : {}) };
});

/** The parsed `retry:` as the model's RetrySpec (its `when` values were checked by the schema). */
export function retrySpec(r: z.output<typeof retrySchema>): RetrySpec {
  return { max: r.max, when: r.when as RetryWhen[], ...(r.exit_codes ? { exit_codes: r.exit_codes } : {}) };
}

export const tagsSchema = z.array(z.string({ invalid_type_error: 'a tag is a string' }));

export const ruleIfSchema = z.string();
export const stageSchema = z.string().min(1, 'the stage name is empty');
export const stagesSchema = z.array(z.string().min(1, 'a stage name is empty'));

export interface VariablesOut {
  values: Record<string, string>;
  masked: string[];
  /** Keys declared `expand: false`: passed literally, never expanded. */
  raw: string[];
}

/** `KEY: value` or `KEY: {value, description, options, expand, masked}`. */
export const variablesSchema = z.record(z.string(), z.unknown()).transform((rec, ctx): VariablesOut => {
  const values: Record<string, string> = {};
  const masked: string[] = [];
  const raw: string[] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      ctx.addIssue({ code: 'custom', path: [k], message: `'${k}' is not a valid variable name (letters, digits and _)` });
      continue;
    }
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      values[k] = String(v);
      continue;
    }
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      let good = true;
      for (const key of Object.keys(o)) {
        if (!['value', 'description', 'options', 'expand', 'masked'].includes(key)) {
          ctx.addIssue({
            code: 'custom',
            path: [k, key],
            message: `unknown key '${key}'${didYouMean(key, ['value', 'description', 'options', 'expand', 'masked'])} (allowed: value, description, options, expand, masked)`,
          });
          good = false;
        }
      }
      const val = o.value;
      if (val !== undefined && typeof val !== 'string' && typeof val !== 'number' && typeof val !== 'boolean') {
        ctx.addIssue({ code: 'custom', path: [k, 'value'], message: `expected a string, got ${describe(val)}` });
        good = false;
      }
      if (o.masked !== undefined && typeof o.masked !== 'boolean') {
        ctx.addIssue({ code: 'custom', path: [k, 'masked'], message: `expected true or false, got ${describe(o.masked)}` });
        good = false;
      }
      if (o.expand !== undefined && typeof o.expand !== 'boolean') {
        ctx.addIssue({ code: 'custom', path: [k, 'expand'], message: `expected true or false, got ${describe(o.expand)}` });
        good = false;
      }
      if (o.description !== undefined && typeof o.description !== 'string') {
        ctx.addIssue({ code: 'custom', path: [k, 'description'], message: `expected a string, got ${describe(o.description)}` });
        good = false;
      }
      const options = o.options;
      if (options !== undefined && (!Array.isArray(options) || options.some((x) => typeof x !== 'string' && typeof x !== 'number'))) {
        ctx.addIssue({ code: 'custom', path: [k, 'options'], message: `expected a list of strings, got ${describe(options)}` });
        good = false;
      } else if (Array.isArray(options) && !options.map(String).includes(val === undefined ? '' : String(val))) {
        // GitLab: "variables config value must be present in options".
        ctx.addIssue({ code: 'custom', path: [k, 'value'], message: `the value must be one of its options (${options.join(', ')})` });
        good = false;
      }
      if (!good) continue;
      values[k] = val === undefined ? '' : String(val);
      if (o.masked === true) masked.push(k);
      if (o.expand === false) raw.push(k);
      continue;
    }
    ctx.addIssue({ code: 'custom', path: [k], message: `expected a string or a map with value:, got ${describe(v)}` });
  }
  return { values, masked, raw };
});

// ---- zod issue → message --------------------------------------------------

function article(t: string): string {
  switch (t) {
    case 'string':
      return 'a string';
    case 'number':
    case 'integer':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
      return 'a map';
    default:
      return t;
  }
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let cur = root;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

function samePath(a: readonly (string | number)[], b: readonly (string | number)[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Replace union failures by the issues of the branch that fits the value's type. */
function flatten(issues: z.ZodIssue[]): z.ZodIssue[] {
  const out: z.ZodIssue[] = [];
  for (const i of issues) {
    if (i.code !== 'invalid_union') {
      out.push(i);
      continue;
    }
    const fitting = i.unionErrors
      .map((e) => e.issues)
      .filter(
        (list) =>
          !list.some((j) => (j.code === 'invalid_type' || j.code === 'invalid_literal' || j.code === 'custom') && samePath(j.path, i.path)),
      )
      .sort((a, b) => a.length - b.length);
    if (fitting.length > 0) out.push(...flatten(fitting[0]!));
    else out.push(i);
  }
  return out;
}

function issueText(i: z.ZodIssue, actual: unknown): string {
  switch (i.code) {
    case 'invalid_type':
      if (i.received === 'undefined') return `${String(i.path[i.path.length - 1] ?? 'value')} is required`;
      return `expected ${article(i.expected)}, got ${describe(actual)}`;
    case 'invalid_union':
      return `${i.message}, got ${describe(actual)}`;
    case 'invalid_literal':
      return `expected ${JSON.stringify(i.expected)}, got ${describe(actual)}`;
    case 'invalid_enum_value': {
      const hint = didYouMean(String(actual), i.options.map(String));
      if (hint && i.options.length > 8) return `${describe(actual)} is not an accepted value${hint}`;
      return `expected one of ${i.options.join(', ')}, got ${describe(actual)}${hint}`;
    }
    case 'unrecognized_keys':
      return `unknown key(s) ${i.keys.join(', ')}`;
    default:
      return i.message;
  }
}

/**
 * Validate `value` (found at `path`, inside `container` under `key`) against `schema`.
 * Problems become errors at the offending node; returns undefined on failure.
 */
export function check<T extends z.ZodTypeAny>(
  schema: T,
  value: unknown,
  path: string,
  pos: Pos,
  diag: Diagnostics,
): z.output<T> | undefined {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const i of flatten(r.error.issues)) {
    if (i.code === 'unrecognized_keys') {
      const container = valueAt(value, i.path);
      const at = posAt(value, i.path, pos);
      for (const k of i.keys) {
        diag.error(joinPath(path, ...i.path, k), keyPos(container, k, at), `unknown key '${k}'${didYouMean(k, NESTED_KEYS)}`);
      }
      continue;
    }
    const actual = valueAt(value, i.path);
    if (actual instanceof Reference || value instanceof Reference) continue; // reported where it was written
    const missing = i.code === 'invalid_type' && i.received === 'undefined';
    // For a missing key, point at the map that lacks it.
    const where = missing ? i.path.slice(0, -1) : i.path;
    diag.error(joinPath(path, ...(missing ? where : i.path)), posAt(value, where, pos), issueText(i, actual));
  }
  return undefined;
}
