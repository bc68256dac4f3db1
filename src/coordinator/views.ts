/** Stored rows → the JSON shapes of src/protocol/user-api.ts. */
import type { EvidenceLine, FailureClassification } from '../protocol/failure.js';
import type { FailureJson, JobJson, PipelineJson } from '../protocol/user-api.js';
import type { DisplayStatus, JobStatus, PipelineStatus } from '../pipeline/status.js';
import { iso } from './store/db.js';
import type { JobRow } from './store/jobs.js';
import type { PipelineRow } from './store/pipelines.js';

export function failureOf(j: JobRow): FailureClassification | null {
  if (j.failure_class === null) return null;
  return {
    reason: j.failure_reason as FailureClassification['reason'],
    stage: j.failure_stage as FailureClassification['stage'],
    exit_code: j.exit_code,
    executor: j.failure_executor,
    message: j.failure_message,
    image: j.failure_image,
    registry: j.failure_registry,
    kind: j.failure_kind,
    class: j.failure_class as FailureClassification['class'],
    cause: j.failure_cause ?? 'unknown',
    summary: j.failure_summary ?? '',
    owner: (j.failure_owner ?? 'unknown') as FailureClassification['owner'],
    rule: j.failure_rule_id ? { id: j.failure_rule_id, version: j.failure_rule_version ?? '' } : null,
    fallback: j.failure_fallback === 1,
    evidence: j.failure_evidence_json ? (JSON.parse(j.failure_evidence_json) as EvidenceLine[]) : [],
    baseline_job_id: j.failure_baseline_job_id ?? null,
    new_lines: j.failure_new_lines_json ? (JSON.parse(j.failure_new_lines_json) as EvidenceLine[]) : null,
  };
}

export const interruptibleOf = (s: string): boolean | 'graceful' => (s === 'graceful' ? 'graceful' : s === 'true');

export function jobJson(j: JobRow): JobJson {
  const status = j.status as JobStatus;
  return {
    id: j.id,
    pipeline_id: j.pipeline_id,
    name: j.name,
    stage: j.stage,
    status,
    // As GitLab: an allowed failure is a failed job (allow_failure: true, "allowed to fail");
    // only its pipeline reads "passed with warnings".
    display_status: status,
    exit_code: j.exit_code,
    allow_failure: j.allow_failure === 1,
    failure: failureOf(j),
    attempt: j.attempt,
    retry_of: j.retry_of,
    needs: j.needs_json === null ? null : (JSON.parse(j.needs_json) as string[]),
    when: j.when_,
    manual: j.manual,
    interruptible: interruptibleOf(j.interruptible),
    runner_id: j.runner_id,
    note: j.note,
    after_script: j.after_script_json ? JSON.parse(j.after_script_json) : null,
    created_at: iso(j.created_at)!,
    started_at: iso(j.started_at),
    finished_at: iso(j.finished_at),
  };
}

export function failureJson(j: JobRow): FailureJson {
  return { ...jobJson(j), failure: failureOf(j)!, project: j.project, ref: j.ref };
}

/**
 * `stages` of a stored model without parsing the rest: the model of a 30,000-job pipeline is
 * megabytes of JSON, and every pipeline answer and event would parse it all for a few names.
 * The model is written by JSON.stringify with `stages` first; anything else is parsed whole.
 */
export function stagesOf(modelJson: string): string[] {
  const head = '{"stages":[';
  if (modelJson.startsWith(head)) {
    let inString = false;
    for (let i = head.length; i < modelJson.length; i++) {
      const ch = modelJson[i];
      if (inString) {
        if (ch === '\\') i++;
        else if (ch === '"') inString = false;
      } else if (ch === '"') inString = true;
      else if (ch === ']') return JSON.parse(modelJson.slice(head.length - 1, i + 1)) as string[];
    }
  }
  return (JSON.parse(modelJson) as { stages: string[] }).stages;
}

export function pipelineJson(p: PipelineRow, jobs?: JobRow[], haltedByName?: string | null): PipelineJson {
  const status = p.status as PipelineStatus;
  const display: DisplayStatus = status === 'success' && p.has_warnings === 1 ? 'success_with_warnings' : status;
  let halted: PipelineJson['halted_by'] = null;
  if (p.halted_by_job_id !== null) {
    const name = haltedByName ?? jobs?.find((j) => j.id === p.halted_by_job_id)?.name ?? '';
    halted = { id: p.halted_by_job_id, name };
  }
  const out: PipelineJson = {
    id: p.id,
    project: p.project,
    ref: p.ref,
    sha: p.sha,
    name: p.name,
    status,
    display_status: display,
    halted_by: halted,
    failure_class: p.failure_class as PipelineJson['failure_class'],
    stages: stagesOf(p.model_json),
    warnings: JSON.parse(p.warnings_json),
    created_at: iso(p.created_at)!,
    started_at: iso(p.started_at),
    finished_at: iso(p.finished_at),
  };
  if (jobs) out.jobs = jobs.map(jobJson);
  return out;
}
