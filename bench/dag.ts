/**
 * Time to process an N-job DAG pipeline through the pure engine, for N = 1,000, 2,000
 * and 4,000: linear processing means time/N stays flat (ratio 4k/1k ≈ 4, not 16).
 */
import { PipelineEngine } from '../src/pipeline/index.js';
import type { JobSpec, PipelineModel } from '../src/pipeline/model.js';

export function dagModel(n: number, seed = 42): PipelineModel {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const jobs: JobSpec[] = [];
  for (let i = 0; i < n; i++) {
    const needs = new Set<string>();
    for (let k = 0; k < 3 && i > 0; k++) needs.add(`job-${Math.floor(rnd() * i)}`);
    jobs.push({
      name: `job-${i}`,
      stage: 'test',
      stage_index: 0,
      image: null,
      before_script: [],
      script: ['true'],
      after_script: [],
      needs: [...needs],
      when: 'on_success',
      manual: null,
      on_status: { success: 'continue', failure: 'fail_pipeline', exit_codes: {} },
      interruptible: false,
      timeout_seconds: 3600,
      after_script_timeout_seconds: 300,
      retry: { max: 0, when: ['always'] },
      tags: [],
      variables: {},
      line: i + 1,
    });
  }
  return { stages: ['test'], jobs, variables: {}, warnings: [] };
}

/** Drives every job to success in the order they become pending; returns ms. */
export function runDag(model: PipelineModel): number {
  const t0 = performance.now();
  const engine = PipelineEngine.create(model);
  const queue: string[] = [];
  const take = (r: { transitions: Array<{ name: string; to: string }> }) => {
    for (const t of r.transitions) if (t.to === 'pending') queue.push(t.name);
  };
  take(engine.apply({ type: 'start' }));
  while (queue.length) {
    const name = queue.shift()!;
    engine.apply({ type: 'job_started', name });
    take(engine.apply({ type: 'job_finished', name, result: 'success', exit_code: 0 }));
  }
  const ms = performance.now() - t0;
  if (engine.summary().status !== 'success') throw new Error(`DAG bench ended ${engine.summary().status}`);
  return ms;
}

export function benchDag(): Record<string, number> {
  runDag(dagModel(500)); // warm-up
  const best = (n: number) => Math.min(...[0, 1, 2].map(() => runDag(dagModel(n))));
  const t1 = best(1000);
  const t2 = best(2000);
  const t4 = best(4000);
  return {
    dag_1000_jobs_ms: +t1.toFixed(2),
    dag_2000_jobs_ms: +t2.toFixed(2),
    dag_4000_jobs_ms: +t4.toFixed(2),
    dag_scaling_4k_over_1k: +(t4 / t1).toFixed(2),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(benchDag());
