/** Hand-written OpenAPI 3.1 description of every route (served at /api/v1/openapi.json). */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const err = (description: string) => json(ref('ApiError'), description);
const idParam = (name = 'id') => ({ name, in: 'path', required: true, schema: { type: 'integer', minimum: 1 } });
const q = (name: string, schema: object, description?: string) => ({
  name,
  in: 'query',
  required: false,
  schema,
  ...(description ? { description } : {}),
});
const nullable = (type: string | object) => (typeof type === 'string' ? { type: [type, 'null'] } : { oneOf: [type, { type: 'null' }] });
const bearer = [{ bearer: [] }];
const runnerAuth = [{ runnerToken: [] }];
const jobAuth = [{ jobToken: [] }];
const userErrors = { '400': err('Bad input (the field is named)'), '401': err('Missing or invalid API token'), '404': err('Not found') };

const INCIDENT = {
  type: 'object',
  required: ['id', 'cause', 'dependency', 'state', 'failure_count', 'first_failure_at', 'last_failure_at', 'opened_at', 'resolved_by'],
  properties: {
    id: { type: 'integer' },
    cause: { type: 'string' },
    dependency: {
      type: 'object',
      properties: {
        kind: { enum: ['registry', 'git_host', 'dns', 'package_registry', 'runner', 'executor_host', 'unknown'] },
        name: { type: 'string', description: 'registry host, git host, DNS name, runner name, executor …' },
      },
    },
    state: { enum: ['pending', 'open', 'acknowledged', 'resolved'] },
    failure_count: { type: 'integer' },
    first_failure_at: { type: 'string' },
    last_failure_at: { type: 'string' },
    opened_at: { ...nullable('string'), description: 'when the threshold was crossed; null while pending' },
    acknowledged_at: nullable('string'),
    resolved_at: nullable('string'),
    resolved_by: { enum: ['evidence', 'person', 'runner_removed', null] },
    note: nullable('string'),
    target: { type: 'string', description: 'dependency.name (older clients)' },
    duration_seconds: { type: 'number' },
    job_count: { type: 'integer' },
  },
} as const;
const WIDESPREAD_LINE = {
  type: 'object',
  properties: {
    normalized: { type: 'string' },
    example_line: { type: 'string' },
    job_count: { type: 'integer' },
    project_count: { type: 'integer' },
    ref_count: { type: 'integer' },
    first_at: { type: 'string' },
    last_at: { type: 'string' },
    job_ids: { type: 'array', items: { type: 'integer' } },
  },
} as const;
const MTTR_STATS = {
  type: 'object',
  properties: {
    count: { type: 'integer' },
    mean_seconds: nullable('number'),
    p50_seconds: nullable('number'),
    max_seconds: nullable('number'),
  },
} as const;

export const openapi = {
  openapi: '3.1.0',
  info: {
    title: 'faultline coordinator',
    version: '1',
    description: 'CI coordinator that classifies job failures as infrastructure or build.',
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer' },
      runnerToken: { type: 'apiKey', in: 'header', name: 'Runner-Token' },
      jobToken: { type: 'apiKey', in: 'header', name: 'Job-Token' },
    },
    schemas: {
      ApiError: {
        type: 'object',
        required: ['error'],
        properties: {
          error: { type: 'string' },
          details: {
            type: 'array',
            items: {
              type: 'object',
              required: ['path', 'message'],
              properties: { path: { type: 'string' }, line: { type: 'integer' }, column: { type: 'integer' }, message: { type: 'string' } },
            },
          },
        },
      },
      Failure: {
        type: 'object',
        required: ['reason', 'stage', 'class', 'cause', 'summary', 'owner', 'fallback', 'evidence'],
        properties: {
          reason: { type: 'string' },
          stage: { type: 'string' },
          exit_code: nullable('integer'),
          executor: nullable('string'),
          message: nullable('string'),
          image: nullable('string'),
          registry: nullable('string'),
          kind: nullable('string'),
          class: { enum: ['infra', 'build', 'unknown'] },
          cause: { type: 'string' },
          summary: { type: 'string' },
          owner: { enum: ['operators', 'developers', 'unknown'] },
          rule: nullable({ type: 'object', properties: { id: { type: 'string' }, version: { type: 'string' } } }),
          fallback: {
            type: 'boolean',
            description: 'true when no rule matched and the reported reason (and stage) decided; `rule` is then null',
          },
          evidence: {
            type: 'array',
            description: 'The log lines that made the deciding rule match (empty for the fallback)',
            items: { type: 'object', properties: { line: { type: 'integer' }, text: { type: 'string' } } },
          },
          baseline_job_id: {
            ...nullable('integer'),
            description:
              'Fallback verdicts: the last successful job of the same project and job name the log was compared with; null when there is none (or a rule decided)',
          },
          new_lines: {
            ...nullable({ type: 'array', items: { type: 'object', properties: { line: { type: 'integer' }, text: { type: 'string' } } } }),
            description:
              'Fallback verdicts: the first error-like lines of this log that the baseline job did not print (not rule evidence); null when nothing was compared',
          },
        },
      },
      Job: {
        type: 'object',
        required: ['id', 'pipeline_id', 'name', 'stage', 'status', 'display_status', 'attempt', 'created_at'],
        properties: {
          id: { type: 'integer' },
          pipeline_id: { type: 'integer' },
          name: { type: 'string' },
          stage: { type: 'string' },
          status: { type: 'string' },
          display_status: { type: 'string' },
          exit_code: nullable('integer'),
          allow_failure: { type: 'boolean' },
          failure: nullable(ref('Failure')),
          attempt: { type: 'integer' },
          retry_of: nullable('integer'),
          needs: nullable({ type: 'array', items: { type: 'string' } }),
          when: { type: 'string' },
          manual: nullable('string'),
          interruptible: { oneOf: [{ type: 'boolean' }, { const: 'graceful' }] },
          runner_id: nullable('integer'),
          note: nullable('string'),
          after_script: nullable({
            type: 'object',
            properties: { ran: { type: 'boolean' }, exit_code: nullable('integer'), timed_out: { type: 'boolean' } },
          }),
          created_at: { type: 'string', format: 'date-time' },
          started_at: nullable('string'),
          finished_at: nullable('string'),
        },
      },
      FailureItem: { allOf: [ref('Job'), { type: 'object', properties: { project: { type: 'string' }, ref: { type: 'string' } } }] },
      Pipeline: {
        type: 'object',
        required: ['id', 'project', 'ref', 'name', 'status', 'display_status', 'stages', 'created_at'],
        properties: {
          id: { type: 'integer' },
          project: { type: 'string' },
          ref: { type: 'string' },
          sha: nullable('string'),
          name: { type: 'string' },
          status: { type: 'string' },
          display_status: { type: 'string' },
          halted_by: nullable({ type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } }),
          failure_class: nullable({ enum: ['infra', 'build', 'unknown'] }),
          stages: { type: 'array', items: { type: 'string' } },
          warnings: { type: 'array', items: { type: 'object' } },
          created_at: { type: 'string', format: 'date-time' },
          started_at: nullable('string'),
          finished_at: nullable('string'),
          jobs: { type: 'array', items: ref('Job') },
        },
      },
      JobPayload: { type: 'object', description: 'See src/protocol/runner-api.ts JobPayload' },
      JobUpdate: {
        type: 'object',
        required: ['state'],
        properties: {
          state: { enum: ['running', 'success', 'failed', 'canceled'] },
          exit_code: nullable('integer'),
          failure: nullable({ type: 'object', required: ['reason', 'stage'] }),
          after_script: nullable({ type: 'object' }),
          stopped_by: nullable({ enum: ['cancel', 'timeout'] }),
          image_pulls: { type: 'array', items: { type: 'object' } },
          stages: { type: 'array', items: { type: 'object' } },
          trace_bytes: { type: 'integer' },
        },
      },
    },
  },
  paths: {
    '/healthz': {
      get: {
        summary:
          'Liveness and store health: 503 with store.cause (storage_full, storage_busy, storage_readonly, storage_io, storage_corrupt) while the store cannot take writes; cluster.database (sqlite | postgres) and cluster.leader (this coordinator runs the reaper, recovery and cluster gauges)',
        responses: { '200': json({ type: 'object' }), '503': json({ type: 'object' }) },
      },
    },
    '/api/v1/openapi.json': { get: { summary: 'This document', responses: { '200': json({ type: 'object' }) } } },
    '/api/v1/runners/register': {
      post: {
        summary: 'Register a runner with the registration token',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['registration_token', 'name', 'executor', 'concurrency'],
                properties: {
                  registration_token: { type: 'string' },
                  name: { type: 'string' },
                  tags: { type: 'array', items: { type: 'string' } },
                  run_untagged: { type: 'boolean' },
                  executor: { type: 'string' },
                  concurrency: { type: 'integer', minimum: 1 },
                  host: { type: 'string', description: 'With name: a runner registering again from the same host replaces its record' },
                  version: { type: 'string' },
                },
              },
            },
          },
        },
        responses: {
          '201': json({ type: 'object', properties: { id: { type: 'integer' }, token: { type: 'string' } } }, 'Registered'),
          '400': err('Bad input'),
          '403': err('Wrong registration token'),
        },
      },
    },
    '/api/v1/runners/heartbeat': {
      post: {
        summary: 'Runner liveness; answers the jobs to stop',
        security: runnerAuth,
        requestBody: {
          content: {
            'application/json': {
              schema: { type: 'object', properties: { running_job_ids: { type: 'array', items: { type: 'integer' } } } },
            },
          },
        },
        responses: {
          '200': json({ type: 'object', properties: { cancel_job_ids: { type: 'array', items: { type: 'integer' } } } }),
          '401': err('No token'),
          '403': err('Unknown runner'),
        },
      },
    },
    '/api/v1/jobs/request': {
      post: {
        summary: 'Long-poll for a job (answers at once when one is pending)',
        security: runnerAuth,
        requestBody: {
          content: { 'application/json': { schema: { type: 'object', properties: { capacity: { type: 'integer', minimum: 1 } } } } },
        },
        responses: {
          '201': json(ref('JobPayload'), 'A job for this runner'),
          '204': { description: 'No job within the long-poll window' },
          '401': err('No token'),
          '403': err('Unknown runner'),
        },
      },
    },
    '/api/v1/jobs/{id}': {
      put: {
        summary: 'Runner update of its job',
        security: jobAuth,
        parameters: [idParam()],
        requestBody: { required: true, content: { 'application/json': { schema: ref('JobUpdate') } } },
        responses: {
          '200': json({ type: 'object', properties: { status: { type: 'string' }, cancel_requested: { type: 'boolean' } } }),
          '400': err('Bad input'),
          '403': err('Token of another job'),
          '404': err('No such job'),
        },
      },
      get: { summary: 'One job', security: bearer, parameters: [idParam()], responses: { '200': json(ref('Job')), ...userErrors } },
    },
    '/api/v1/jobs/{id}/trace': {
      patch: {
        summary: 'Append log bytes at Content-Range start-end (inclusive); retries are idempotent',
        security: jobAuth,
        parameters: [idParam(), { name: 'Content-Range', in: 'header', required: true, schema: { type: 'string', example: '0-99' } }],
        requestBody: { content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        responses: {
          '202': json({ type: 'object', properties: { offset: { type: 'integer' } } }, 'Appended'),
          '400': err('Bad Content-Range'),
          '403': err('Token of another job'),
          '413': err('Trace would exceed the maximum size'),
          '416': json(
            { type: 'object', properties: { error: { type: 'string' }, offset: { type: 'integer' } } },
            'Chunk does not fit; resend from offset',
          ),
        },
      },
      get: {
        summary: 'Job log from offset (text/plain; X-Trace-Complete, X-Trace-Size headers)',
        security: bearer,
        parameters: [idParam(), q('offset', { type: 'integer', minimum: 0 })],
        responses: { '200': { description: 'Log bytes', content: { 'text/plain': { schema: { type: 'string' } } } }, ...userErrors },
      },
    },
    '/api/v1/jobs/{id}/artifacts/{kind}': {
      put: {
        summary:
          'Upload a zip (streamed, chunked) of kind archive or a report kind (junit, dotenv, …); a retried PUT replaces the earlier upload',
        security: jobAuth,
        parameters: [idParam(), { name: 'kind', in: 'path', required: true, schema: { type: 'string', example: 'archive' } }],
        requestBody: { required: true, content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } } },
        responses: {
          '201': json(
            { type: 'object', properties: { kind: { type: 'string' }, size: { type: 'integer' }, files: { type: 'integer' } } },
            'Stored',
          ),
          '403': err('Token of another job'),
          '409': err('The job is not running'),
          '413': json(
            { type: 'object', properties: { error: { type: 'string' }, limit: { type: 'integer' } } },
            "Larger than the coordinator's artifact limit",
          ),
          '422': err('Not a zip, an unknown kind, or a bad dotenv report'),
        },
      },
    },
    '/api/v1/jobs/{id}/artifacts': {
      get: {
        summary:
          "The job's artifacts archive (application/zip); ?list=true lists its files as JSON. Runners use the Job-Token of a running job of the same pipeline instead of Bearer",
        security: [...bearer, ...jobAuth],
        parameters: [idParam(), q('list', { type: 'string', enum: ['true'] })],
        responses: {
          '200': {
            description: 'The archive, or {files: [{path, size}]} with list=true',
            content: {
              'application/zip': { schema: { type: 'string', format: 'binary' } },
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    files: {
                      type: 'array',
                      items: { type: 'object', properties: { path: { type: 'string' }, size: { type: 'integer' } } },
                    },
                  },
                },
              },
            },
          },
          ...userErrors,
        },
      },
    },
    '/api/v1/jobs/{id}/artifacts/{path}': {
      get: {
        summary: "One file of the job's artifacts archive (path may contain slashes)",
        security: bearer,
        parameters: [idParam(), { name: 'path', in: 'path', required: true, schema: { type: 'string', example: 'dist/app.js' } }],
        responses: {
          '200': { description: 'The file', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
          ...userErrors,
        },
      },
    },
    '/api/v1/pipelines': {
      post: {
        summary: 'Create a pipeline from YAML',
        security: bearer,
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['yaml'],
                properties: {
                  yaml: { type: 'string' },
                  ref: { type: 'string' },
                  project: { type: 'string' },
                  name: { type: 'string' },
                  variables: {
                    oneOf: [
                      { type: 'object', additionalProperties: { type: 'string' } },
                      {
                        type: 'array',
                        items: {
                          type: 'object',
                          properties: { key: { type: 'string' }, value: { type: 'string' }, masked: { type: 'boolean' } },
                        },
                      },
                    ],
                  },
                  repository: { type: 'object', properties: { url: { type: 'string' }, sha: { type: 'string' } } },
                  source: {
                    type: 'string',
                    description: 'CI_PIPELINE_SOURCE (push, web, api, schedule, merge_request_event, …); default api',
                  },
                  default_branch: { type: 'string', description: 'CI_DEFAULT_BRANCH; default main' },
                },
              },
            },
          },
        },
        responses: {
          '201': json(ref('Pipeline'), 'Created'),
          '422': err('Invalid configuration: every problem with line and column'),
          ...userErrors,
        },
      },
      get: {
        summary: 'List pipelines (newest first, jobs omitted)',
        security: bearer,
        parameters: [
          q('limit', { type: 'integer', minimum: 1, maximum: 500 }),
          q('offset', { type: 'integer', minimum: 0 }),
          q('ref', { type: 'string' }),
          q('project', { type: 'string' }),
          q('status', { type: 'string' }),
        ],
        responses: {
          '200': json({ type: 'object', properties: { pipelines: { type: 'array', items: ref('Pipeline') }, total: { type: 'integer' } } }),
          ...userErrors,
        },
      },
    },
    '/api/v1/pipelines/{id}': {
      get: {
        summary: 'A pipeline with all job attempts',
        security: bearer,
        parameters: [idParam()],
        responses: { '200': json(ref('Pipeline')), ...userErrors },
      },
    },
    '/api/v1/pipelines/{id}/cancel': {
      post: {
        summary: 'Cancel every unfinished job',
        security: bearer,
        parameters: [idParam()],
        responses: { '200': json(ref('Pipeline')), ...userErrors },
      },
    },
    '/api/v1/jobs/{id}/play': {
      post: {
        summary: 'Play a manual job',
        security: bearer,
        parameters: [idParam()],
        responses: { '200': json(ref('Job')), '409': err('Not playable now'), ...userErrors },
      },
    },
    '/api/v1/jobs/{id}/cancel': {
      post: {
        summary: 'Cancel a job (running → canceling)',
        security: bearer,
        parameters: [idParam()],
        responses: { '200': json(ref('Job')), '409': err('Not cancelable now'), ...userErrors },
      },
    },
    '/api/v1/jobs/{id}/retry': {
      post: {
        summary: 'Retry a finished job; answers the new attempt',
        security: bearer,
        parameters: [idParam()],
        responses: { '200': json(ref('Job')), '409': err('Not retryable now'), ...userErrors },
      },
    },
    '/api/v1/failures': {
      get: {
        summary: 'Classified failures, newest first (keyset paging)',
        security: bearer,
        parameters: [
          q('class', { enum: ['infra', 'build', 'unknown'] }),
          q('reason', { type: 'string' }),
          q('cause', { type: 'string' }),
          q('ref', { type: 'string' }),
          q('job', { type: 'string' }, 'job name'),
          q('runner', { type: 'integer' }, 'runner id'),
          q('image', { type: 'string' }),
          q('executor', { type: 'string' }, 'executor, or a comma-separated list of them'),
          q('registry', { type: 'string' }, 'image registry host, or a comma-separated list'),
          q('runner_name', { type: 'string' }, "runner name (the metrics' runner label), or a comma-separated list"),
          q('since', { type: 'string' }, 'ISO 8601 or relative (30m, 24h, 7d, 2w)'),
          q('until', { type: 'string' }, 'ISO 8601 or relative'),
          q('limit', { type: 'integer', minimum: 1, maximum: 500 }),
          q('cursor', { type: 'string' }, 'next_cursor of the previous page'),
        ],
        responses: {
          '200': json({
            type: 'object',
            properties: { failures: { type: 'array', items: ref('FailureItem') }, next_cursor: nullable('string') },
          }),
          ...userErrors,
        },
      },
    },
    '/api/v1/failures/summary': {
      get: {
        summary: 'Failure counts by class and cause over a window (default: last 24h)',
        security: bearer,
        parameters: [q('since', { type: 'string' }), q('until', { type: 'string' })],
        responses: {
          '200': json({
            type: 'object',
            properties: {
              since: { type: 'string' },
              until: { type: 'string' },
              total: { type: 'integer' },
              by_class: { type: 'array' },
              by_cause: { type: 'array' },
            },
          }),
          ...userErrors,
        },
      },
    },
    '/api/v1/rules/reload': {
      post: {
        summary: 'Reload classification rules (all-or-nothing)',
        security: bearer,
        responses: {
          '200': json({ type: 'object', properties: { ok: { const: true } } }),
          '422': err('Rules invalid; previous rules stay'),
          ...userErrors,
        },
      },
    },
    // Backtest and notifications (api/rules-api.ts, api/notifications-api.ts).
    '/api/v1/rules/backtest': {
      post: {
        summary: 'Backtest candidate rules on the stored failures: how verdicts would move (writes nothing)',
        security: bearer,
        requestBody: {
          content: {
            'application/json': {
              schema: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  rules_dir: { type: 'string', description: 'absolute path on the coordinator host (default: the rules in force)' },
                  since: { type: 'string', description: 'window start: ISO 8601 or relative (24h, 7d); default 7d' },
                  samples: { type: 'integer', minimum: 0, maximum: 100, description: 'sample job ids per transition (default 5)' },
                },
              },
            },
          },
        },
        responses: {
          '200': json({
            type: 'object',
            required: ['rules_dir', 'since', 'total', 'changed', 'transitions'],
            properties: {
              rules_dir: { type: 'string' },
              since: { type: 'string', format: 'date-time' },
              total: { type: 'integer' },
              changed: { type: 'integer' },
              transitions: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    from: { type: 'object', properties: { class: { enum: ['infra', 'build', 'unknown'] }, cause: { type: 'string' } } },
                    to: { type: 'object', properties: { class: { enum: ['infra', 'build', 'unknown'] }, cause: { type: 'string' } } },
                    count: { type: 'integer' },
                    sample_job_ids: { type: 'array', items: { type: 'integer' } },
                  },
                },
              },
            },
          }),
          '422': err('Candidate rules invalid: details name file (path), line and column'),
          ...userErrors,
        },
      },
    },
    '/api/v1/notifications': {
      get: {
        summary: 'Webhook deliveries (newest first): target, event, payload, status, attempts',
        security: bearer,
        parameters: [
          q('pipeline_id', { type: 'integer', minimum: 1 }),
          q('status', { enum: ['pending', 'delivered', 'failed'] }),
          q('limit', { type: 'integer', minimum: 1, maximum: 500 }),
        ],
        responses: {
          '200': json({
            type: 'object',
            properties: {
              notifications: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['id', 'target', 'event', 'pipeline_id', 'status', 'attempts', 'created_at', 'payload'],
                  properties: {
                    id: { type: 'integer', description: 'also sent as X-Faultline-Delivery' },
                    target: { type: 'string' },
                    event: { enum: ['job_failed', 'pipeline_failed'] },
                    pipeline_id: { type: 'integer' },
                    job_id: nullable('integer'),
                    status: { enum: ['pending', 'delivered', 'failed'] },
                    attempts: { type: 'integer' },
                    last_error: nullable('string'),
                    last_status_code: nullable('integer'),
                    next_attempt_at: nullable('string'),
                    created_at: { type: 'string', format: 'date-time' },
                    delivered_at: nullable('string'),
                    payload: { type: 'object', description: 'the JSON body posted: {event, pipeline, job?, failed_jobs}' },
                  },
                },
              },
            },
          }),
          ...userErrors,
        },
      },
    },
    '/api/v1/runners': {
      get: {
        summary:
          'Registered runners: state online|offline|stale, last contact, version, executor, tags, jobs running, infra failures of the last 24 h',
        security: bearer,
        responses: {
          '200': json({ type: 'object', properties: { runners: { type: 'array', items: { type: 'object' } } } }),
          ...userErrors,
        },
      },
    },
    '/api/v1/runners/{id}': {
      delete: {
        summary: 'Remove a runner: its token stops working and the jobs it runs fail as runner_system_failure',
        security: bearer,
        parameters: [idParam()],
        responses: { '204': { description: 'Removed' }, ...userErrors },
      },
    },
    // Infra incidents and MTTR (api/incidents-api.ts).
    '/api/v1/incidents': {
      get: {
        summary: 'Infra incidents (failures grouped by cause and dependency), newest first; no state: every incident that opened',
        security: bearer,
        parameters: [
          q('state', { enum: ['open', 'acknowledged', 'resolved', 'pending', 'all'] }),
          q('since', { type: 'string' }, 'keep incidents open at or after this time: ISO 8601 or relative (24h, 7d)'),
          q('limit', { type: 'integer', minimum: 1, maximum: 1000 }),
        ],
        responses: { '200': json({ type: 'object', properties: { incidents: { type: 'array', items: INCIDENT } } }), ...userErrors },
      },
    },
    '/api/v1/incidents/widespread': {
      get: {
        summary: 'Unclassified, widespread: error lines no rule knows failing many jobs of different projects or refs',
        security: bearer,
        responses: { '200': json({ type: 'object', properties: { lines: { type: 'array', items: WIDESPREAD_LINE } } }), ...userErrors },
      },
    },
    '/api/v1/incidents/{id}/ack': {
      post: {
        summary: 'Acknowledge an open incident (optional note)',
        security: bearer,
        parameters: [idParam()],
        requestBody: json({ type: 'object', properties: { note: { type: 'string' } } }),
        responses: { '200': json(INCIDENT), '409': err('Not open'), ...userErrors },
      },
    },
    '/api/v1/incidents/{id}/resolve': {
      post: {
        summary: 'Resolve an open or acknowledged incident by a person (a note is required)',
        security: bearer,
        parameters: [idParam()],
        requestBody: json({ type: 'object', required: ['note'], properties: { note: { type: 'string' } } }),
        responses: { '200': json(INCIDENT), '409': err('Already resolved, or still pending'), ...userErrors },
      },
    },
    '/api/v1/incidents/{id}': {
      get: {
        summary: 'One incident: affected jobs, resolving event and timeline',
        security: bearer,
        parameters: [idParam()],
        responses: {
          '200': json({
            ...INCIDENT,
            properties: {
              ...INCIDENT.properties,
              jobs: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    id: { type: 'integer' },
                    name: nullable('string'),
                    pipeline_id: nullable('integer'),
                    project: nullable('string'),
                    ref: nullable('string'),
                    status: nullable('string'),
                    failure_reason: nullable('string'),
                    summary: nullable('string'),
                    failed_at: { type: 'string' },
                  },
                },
              },
              resolving_event: nullable({
                type: 'object',
                required: ['kind', 'at'],
                properties: {
                  kind: { enum: ['image_pull', 'job_success', 'sources_fetched', 'person', 'runner_removed', 'expired'] },
                  at: { type: 'string' },
                  job_id: { type: 'integer' },
                },
              }),
              timeline: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    at: { type: 'string' },
                    event: { enum: ['opened', 'job_failed', 'acknowledged', 'resolved'] },
                    job_id: { type: 'integer' },
                    detail: { type: 'string' },
                  },
                },
              },
            },
          }),
          ...userErrors,
        },
      },
    },
    '/api/v1/mttr': {
      get: {
        summary: 'Mean time to recovery: pipelines per ref (infra vs build) and infra incidents (default: last 7 days)',
        security: bearer,
        parameters: [q('since', { type: 'string' }, 'ISO 8601 or relative (24h, 7d)'), q('until', { type: 'string' })],
        responses: {
          '200': json({
            type: 'object',
            properties: {
              since: { type: 'string' },
              until: { type: 'string' },
              pipelines: {
                type: 'object',
                properties: { infra: MTTR_STATS, build: MTTR_STATS, refs: { type: 'array', items: { type: 'object' } } },
              },
              incidents: { ...MTTR_STATS, properties: { ...MTTR_STATS.properties, open: { type: 'integer' } } },
            },
          }),
          ...userErrors,
        },
      },
    },
    // The UI's live stream, the operators' overview and the rules in force (api/events-api.ts, overview-api.ts, rules-api.ts).
    '/api/v1/events': {
      get: {
        summary:
          'Server-sent events (text/event-stream) named pipeline | job | incident | runner, data {id, status|state, …}; token by Bearer or ?token=',
        parameters: [q('token', { type: 'string' }, 'the API token (EventSource cannot send headers)')],
        responses: { '200': { description: 'an event stream; heartbeats as comment lines' }, ...userErrors },
      },
    },
    '/api/v1/overview': {
      get: {
        summary:
          'Operators overview: infra failure ratio (last hour, hourly over 24 h), open incidents, runners by state, fallback-decided failures',
        security: bearer,
        responses: {
          '200': json({
            type: 'object',
            properties: {
              infra_ratio: {
                type: 'object',
                properties: {
                  now: { type: ['number', 'null'] },
                  last_24h: {
                    type: 'array',
                    items: {
                      type: 'object',
                      properties: {
                        t: { type: 'string' },
                        infra: { type: 'integer' },
                        build: { type: 'integer' },
                        total: { type: 'integer' },
                      },
                    },
                  },
                },
              },
              incidents_open: { type: 'array', items: { type: 'object' } },
              runners_by_state: {
                type: 'object',
                properties: { online: { type: 'integer' }, offline: { type: 'integer' }, stale: { type: 'integer' } },
              },
              fallback_decided: {
                type: 'object',
                properties: { count: { type: 'integer' }, recent: { type: 'array', items: { type: 'object' } } },
              },
            },
          }),
          ...userErrors,
        },
      },
    },
    '/api/v1/rules': {
      get: {
        summary: 'The classification rules in force: hit counts (7 days), the last reload, coverage by rule vs fallback',
        security: bearer,
        responses: {
          '200': json({
            type: 'object',
            properties: { rules: { type: 'array', items: { type: 'object' } }, coverage: { type: 'object' } },
          }),
          ...userErrors,
        },
      },
    },
  },
} as const;
