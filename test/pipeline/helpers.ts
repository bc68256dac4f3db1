/** Small-model builders and an event shorthand for pipeline engine tests. */
import type { JobSpec, PipelineModel } from '../../src/pipeline/model.js';
import type { PipelineEvent } from '../../src/pipeline/events.js';

export const STAGES = ['build', 'test', 'deploy'];

/** A JobSpec with defaults (stage mode, on_success, exit 0 = success, no retry). */
export function job(name: string, o: Partial<JobSpec> = {}): JobSpec {
  return {
    name,
    stage: 'test',
    stage_index: -1, // filled by model()
    image: null,
    before_script: [],
    script: ['true'],
    after_script: [],
    needs: null,
    when: o.manual ? 'manual' : 'on_success',
    manual: null,
    on_status: { success: 'continue', failure: 'fail_pipeline', exit_codes: {} },
    interruptible: false,
    timeout_seconds: 3600,
    after_script_timeout_seconds: 300,
    retry: { max: 0, when: ['always'] },
    tags: [],
    variables: {},
    line: 1,
    ...o,
  };
}

export function model(jobs: JobSpec[], stages: string[] = STAGES): PipelineModel {
  return {
    stages,
    jobs: jobs.map((j) => {
      const stage_index = stages.indexOf(j.stage);
      if (stage_index < 0) throw new Error(`test model: job ${j.name} has unknown stage ${j.stage}`);
      return { ...j, stage_index };
    }),
    variables: {},
    warnings: [],
  };
}

/**
 * Event shorthand: "start", "started a", "ok a" (finish success), "fail a" (exit 1),
 * "exit a 3", "infra a" (runner_system_failure, class infra), "canceled a", "play a",
 * "cancel a", "retry a", "pcancel", "autocancel"; "run a" = started + ok.
 */
export function events(...specs: string[]): PipelineEvent[] {
  return specs.flatMap((s): PipelineEvent[] => {
    const [op, name = '', arg] = s.split(' ');
    switch (op) {
      case 'start':
        return [{ type: 'start' }];
      case 'started':
        return [{ type: 'job_started', name }];
      case 'ok':
        return [{ type: 'job_finished', name, result: 'success', exit_code: 0 }];
      case 'run':
        return [
          { type: 'job_started', name },
          { type: 'job_finished', name, result: 'success', exit_code: 0 },
        ];
      case 'fail':
        return [{ type: 'job_finished', name, result: 'failed', exit_code: 1, failure_reason: 'script_failure', failure_class: 'build' }];
      case 'exit':
        return [
          {
            type: 'job_finished',
            name,
            result: 'failed',
            exit_code: Number(arg),
            failure_reason: 'script_failure',
            failure_class: 'build',
          },
        ];
      case 'infra':
        return [
          {
            type: 'job_finished',
            name,
            result: 'failed',
            exit_code: null,
            failure_reason: 'runner_system_failure',
            failure_class: 'infra',
          },
        ];
      case 'canceled':
        return [{ type: 'job_finished', name, result: 'canceled', exit_code: null }];
      case 'play':
        return [{ type: 'job_play', name }];
      case 'cancel':
        return [{ type: 'job_cancel', name }];
      case 'retry':
        return [{ type: 'job_retry', name }];
      case 'pcancel':
        return [{ type: 'pipeline_cancel' }];
      case 'autocancel':
        return [{ type: 'pipeline_cancel', only_interruptible: true }];
      default:
        throw new Error(`test events: unknown shorthand "${s}"`);
    }
  });
}

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
