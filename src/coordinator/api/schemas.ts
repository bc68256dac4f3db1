/** zod schemas of request bodies and queries (the wire types live in src/protocol). */
import { z } from 'zod';
import { FAILURE_CLASSES, FAILURE_REASONS, FAILURE_STAGES } from '../../protocol/failure.js';
import { PIPELINE_STATUSES } from '../../pipeline/status.js';

const name = z.string().min(1).max(255);
const tag = z.string().min(1).max(255);

export const registerSchema = z.object({
  registration_token: z.string().min(1),
  name,
  tags: z.array(tag).max(100).default([]),
  run_untagged: z.boolean().optional(),
  executor: z.string().min(1).max(64),
  concurrency: z.number().int().min(1).max(10_000),
  host: z.string().min(1).max(255).optional(),
  version: z.string().min(1).max(64).optional(),
});

export const heartbeatSchema = z.object({
  running_job_ids: z.array(z.number().int().nonnegative()).max(10_000).default([]),
});

export const jobRequestSchema = z.object({ capacity: z.number().int().min(1).max(10_000).optional() }).default({});

const isoTime = z.string().refine((s) => Number.isFinite(Date.parse(s)), 'must be an ISO 8601 time');

export const jobUpdateSchema = z.object({
  state: z.enum(['running', 'success', 'failed', 'canceled']),
  exit_code: z.number().int().min(-1024).max(1024).nullable().optional(),
  failure: z
    .object({
      reason: z.enum(FAILURE_REASONS),
      stage: z.enum(FAILURE_STAGES),
      message: z.string().max(65_536).nullable().default(null),
      executor: z.string().max(255).nullable().default(null),
      image: z.string().max(1024).nullable().default(null),
      registry: z.string().max(1024).nullable().default(null),
      kind: z.string().max(255).nullable().optional(),
    })
    .nullable()
    .optional(),
  after_script: z.object({ ran: z.boolean(), exit_code: z.number().int().nullable(), timed_out: z.boolean() }).nullable().optional(),
  stopped_by: z.enum(['cancel', 'timeout']).nullable().optional(),
  image_pulls: z
    .array(
      z.object({
        image: z.string().max(1024),
        registry: z.string().max(1024),
        policy: z.string().max(64),
        outcome: z.enum(['success', 'failure', 'local']),
        kind: z.string().max(255).nullable(),
        duration_ms: z.number().nonnegative(),
        at: isoTime,
      }),
    )
    .max(100)
    .optional(),
  stages: z
    .array(
      z.object({
        stage: z.string().max(64),
        start: isoTime,
        end: isoTime,
        attributes: z.record(z.union([z.string(), z.number(), z.boolean()])).optional(),
      }),
    )
    .max(100)
    .optional(),
  trace_bytes: z.number().int().nonnegative().optional(),
});

const variableKey = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a variable name ([A-Za-z_][A-Za-z0-9_]*)')
  .max(255);
const variableValue = z.string().max(1_000_000);

/** `variables` as {KEY: value} or [{key, value, masked?}]. */
const variables = z
  .union([
    z.record(variableKey, variableValue),
    z.array(z.object({ key: variableKey, value: variableValue, masked: z.boolean().default(false) })).max(1000),
  ])
  .default({})
  .transform((v) =>
    Array.isArray(v)
      ? v.map((x) => ({ key: x.key, value: x.value, masked: x.masked }))
      : Object.entries(v).map(([key, value]) => ({ key, value, masked: false })),
  );

export const createPipelineSchema = z.object({
  yaml: z.string().max(1_000_000),
  // A ref reaches `git fetch` on runners: nothing that git could read as an option or a revision range.
  ref: z
    .string()
    .min(1)
    .max(255)
    .regex(/^(?!-)(?!.*\.\.)[^\s~^:?*[\\\x00-\x1f\x7f]+$/, 'must be a git ref name (no leading "-", spaces, "..", or ~^:?*[\\)')
    .default('main'),
  project: z.string().min(1).max(255).default('default'),
  name: z.string().min(1).max(255).optional(),
  variables,
  /** CI_PIPELINE_SOURCE (GitLab's values); 'api' when not given. */
  source: z
    .enum([
      'push',
      'web',
      'api',
      'schedule',
      'trigger',
      'pipeline',
      'parent_pipeline',
      'merge_request_event',
      'external_pull_request_event',
      'chat',
      'webide',
      'external',
      'ondemand_dast_scan',
      'security_orchestration_policy',
    ])
    .optional(),
  /** CI_DEFAULT_BRANCH; 'main' when not given. */
  default_branch: z.string().min(1).max(255).optional(),
  repository: z
    .object({
      url: z.string().min(1).max(2048),
      sha: z
        .string()
        .regex(/^[0-9a-fA-F]{7,64}$/, 'must be a hex commit id')
        .nullable()
        .optional(),
    })
    .nullable()
    .optional(),
});

const intParam = (min: number, max: number, d: number) =>
  z
    .string()
    .regex(/^[0-9]+$/, 'must be a non-negative integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .default(String(d));

export const listPipelinesQuery = z.object({
  limit: intParam(1, 500, 20),
  offset: intParam(0, 1e12, 0),
  ref: z.string().min(1).max(255).optional(),
  project: z.string().min(1).max(255).optional(),
  status: z.enum(PIPELINE_STATUSES).optional(),
});

export const traceQuery = z.object({ offset: intParam(0, 1e15, 0) });

/** `a` or `a,b,c` (a Grafana multi-value variable in csv format): matches any of them. */
const anyOf = (max: number) =>
  z
    .string()
    .transform((v) => v.split(','))
    .pipe(z.array(z.string().min(1, 'empty value in the list').max(max)).max(20, 'at most 20 values'))
    .optional();

export const failuresQuery = z.object({
  class: z.enum(FAILURE_CLASSES).optional(),
  reason: z.enum(FAILURE_REASONS).optional(),
  cause: z.string().min(1).max(255).optional(),
  ref: z.string().min(1).max(255).optional(),
  job: z.string().min(1).max(255).optional(),
  runner: z
    .string()
    .regex(/^[0-9]+$/, 'must be a runner id')
    .transform(Number)
    .optional(),
  image: z.string().min(1).max(1024).optional(),
  // The dimensions of the dashboards' variables, so a panel can link to its failures.
  executor: anyOf(64),
  registry: anyOf(255),
  runner_name: anyOf(255),
  since: z.string().optional(),
  until: z.string().optional(),
  limit: intParam(1, 500, 50),
  cursor: z.string().max(200).optional(),
});

export const summaryQuery = z.object({ since: z.string().optional(), until: z.string().optional() });
