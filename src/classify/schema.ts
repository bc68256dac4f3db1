/**
 * The shape of a classification rule file (rules/classification/*.yml), as zod schemas.
 * Regex validity is checked separately (RE2 compile) by the loader, which knows positions.
 */
import { z } from 'zod';
import { FAILURE_CLASSES, FAILURE_REASONS, FAILURE_STAGES, OWNERS } from '../protocol/failure.js';

/** Placeholders a rule's summary may use. */
export const SUMMARY_PLACEHOLDERS = ['image', 'registry', 'exit_code', 'match', 'executor', 'reason', 'stage'] as const;
export type SummaryPlaceholder = (typeof SUMMARY_PLACEHOLDERS)[number];

/** `x` or `[x, …]`, always an array afterwards. */
function oneOrMany<T extends z.ZodTypeAny>(item: T) {
  return z.union([item, z.array(item).nonempty()]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);
}

const pattern = z.string().min(1, 'pattern must not be empty');

export const ruleMatchSchema = z
  .object({
    reason: oneOrMany(z.enum(FAILURE_REASONS)).optional(),
    stage: oneOrMany(z.enum(FAILURE_STAGES)).optional(),
    exit_codes: oneOrMany(z.number().int()).optional(),
    executor: oneOrMany(z.string().min(1)).optional(),
    kind: oneOrMany(z.string().min(1)).optional(),
    image: pattern.optional(),
    registry: pattern.optional(),
    /** RE2 over the executor's own error text (FailureReport.message). */
    message: pattern.optional(),
    /**
     * RE2 over the echoed command whose output is the failing segment (the `$ npm ci` line,
     * BuildKit's `RUN …`): which command failed, never evidence itself. No echo line: no match.
     */
    command: pattern.optional(),
    /** All of these must match some line of the log window. */
    log: oneOrMany(pattern).optional(),
    /** At least one of these must match some line of the log window. */
    log_any: oneOrMany(pattern).optional(),
  })
  .strict()
  .refine((m) => Object.values(m).some((v) => v !== undefined), {
    message: 'match needs at least one condition (an empty match would catch every failure)',
  });

/**
 * What kind of evidence a rule's log patterns are (how the verdict weighs them, see README):
 * - tool_error: a tool's own error line, anchored to its format (the default);
 * - summary: a test runner's / compiler's / linter's failure summary;
 * - phrase: words that may also be quoted by a test name or assertion — never decides a
 *   failure inside the script.
 */
export const SIGNALS = ['tool_error', 'summary', 'phrase'] as const;
export type Signal = (typeof SIGNALS)[number];

const placeholderRe = /\{([^{}]*)\}/g;

export const ruleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'id must be lower-case letters, digits, _ . -'),
    version: z.union([z.string().min(1), z.number().int()]).transform(String),
    description: z.string().min(1),
    match: ruleMatchSchema,
    class: z.enum(FAILURE_CLASSES),
    cause: z.string().regex(/^[a-z][a-z0-9_]*$/, 'cause must be snake_case'),
    summary: z
      .string()
      .min(1)
      .refine((s) => !/[\r\n]/.test(s), 'summary must be one line')
      .superRefine((s, ctx) => {
        for (const m of s.matchAll(placeholderRe)) {
          if (!(SUMMARY_PLACEHOLDERS as readonly string[]).includes(m[1]!)) {
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              message: `unknown placeholder {${m[1]}} (allowed: ${SUMMARY_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')})`,
            });
          }
        }
      }),
    owner: z.enum(OWNERS).optional(),
    signal: z.enum(SIGNALS).optional(),
    /** Corpus case ids (test/corpus/failures) that motivated the rule. */
    cases: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a corpus case id: lower-case letters, digits, -'))
      .nonempty()
      .optional(),
  })
  .strict()
  .refine((r) => r.signal === undefined || r.match.log !== undefined || r.match.log_any !== undefined, {
    message: 'signal describes log patterns; this rule has no log or log_any',
    path: ['signal'],
  });

export const ruleFileSchema = z
  .object({
    rules: z.array(ruleSchema),
  })
  .strict();

export type RuleMatch = z.output<typeof ruleMatchSchema>;
/** A rule as written in a file, after validation and normalisation (lists are arrays, version a string). */
export type RuleDef = z.output<typeof ruleSchema>;
/** A rule as an author (or a test) writes it: single values or lists, version string or number. */
export type RuleInput = z.input<typeof ruleSchema>;
