/**
 * Rows the table tests need around the table under test (a job for a trace, a pipeline for a
 * job), written with plain portable SQL on any `Sql` engine: the table classes are tested on
 * their own, without the job and pipeline stores.
 */
import type { Sql } from '../../src/coordinator/store/engine.js';
import type { NewJob } from '../../src/coordinator/store/jobs.js';

/** INSERT of `row`'s columns (named parameters), returning the new id. */
export async function insertRow(sql: Sql, table: string, row: Record<string, unknown>): Promise<number> {
  const cols = Object.keys(row);
  const r = await sql.get<{ id: number }>(
    `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')}) RETURNING id`,
    row,
  );
  return r!.id;
}

export function addPipeline(sql: Sql, over: Record<string, unknown> = {}): Promise<number> {
  return insertRow(sql, 'pipelines', {
    project: 'p',
    ref: 'main',
    name: 'pipeline',
    yaml: '',
    model_json: '{}',
    variables_json: '{}',
    status: 'running',
    created_at: 1,
    ...over,
  });
}

/** A job (of a new pipeline unless `pipeline_id` is given; project and ref follow it). */
export async function addJob(sql: Sql, over: Record<string, unknown> = {}): Promise<number> {
  const project = (over.project as string | undefined) ?? 'p';
  const ref = (over.ref as string | undefined) ?? 'main';
  const pipeline_id = (over.pipeline_id as number | undefined) ?? (await addPipeline(sql, { project, ref }));
  return insertRow(sql, 'jobs', { project, ref, name: 'build', stage: 'test', status: 'pending', created_at: 1, ...over, pipeline_id });
}

export function addRunner(sql: Sql, over: Record<string, unknown> = {}): Promise<number> {
  return insertRow(sql, 'runners', {
    name: 'r',
    token_hash: `hash-${Math.random()}`,
    executor: 'shell',
    created_at: 1,
    ...over,
  });
}

/** A job row for JobStore.insert of pipeline `pipeline_id` (a pending first attempt unless `over` says otherwise). */
export const newJob = (pipeline_id: number, over: Partial<NewJob> = {}): NewJob => ({
  pipeline_id,
  project: 'p',
  ref: 'main',
  name: 'build',
  stage: 'test',
  stage_index: 0,
  attempt: 1,
  retry_of: null,
  status: 'pending',
  tags_json: '[]',
  needs_json: null,
  when_: 'on_success',
  manual: null,
  interruptible: 'false',
  allow_failure: 0,
  created_at: 1_764_000_000_000,
  queued_at: 1_764_000_000_000,
  ...over,
});
