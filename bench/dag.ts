/**
 * Time to process an N-job DAG pipeline through the pure engine, for N = 1,000, 2,000
 * and 4,000: linear processing means time/N stays flat (ratio 4k/1k ≈ 4, not 16).
 */
import { PipelineEngine } from '../src/pipeline/index.js';
import type { PipelineModel } from '../src/pipeline/model.js';
import { job, model, rng } from '../test/pipeline/helpers.js'; // the engine tests' JobSpec defaults and PRNG

export function dagModel(n: number, seed = 42): PipelineModel {
  const rnd = rng(seed);
  const jobs = Array.from({ length: n }, (_, i) => {
    const needs = new Set<string>();
    for (let k = 0; k < 3 && i > 0; k++) needs.add(`job-${Math.floor(rnd() * i)}`);
    return job(`job-${i}`, { needs: [...needs], line: i + 1 });
  });
  return model(jobs, ['test']);
}

/** Drives every job to success in the order they become pending; returns ms and the engine's work count. */
export function runDag(model: PipelineModel): number {
  return runDagCounted(model).ms;
}

export function runDagCounted(model: PipelineModel): { ms: number; work: number } {
  const t0 = performance.now();
  const engine = PipelineEngine.create(model);
  const queue: string[] = [];
  const take = (r: { transitions: Array<{ name: string; to: string }> }) => {
    for (const t of r.transitions) if (t.to === 'pending') queue.push(t.name);
  };
  take(engine.apply({ type: 'start' }));
  for (let next = 0; next < queue.length; next++) {
    const name = queue[next]!; // an index, not shift(): the driver itself must stay linear
    engine.apply({ type: 'job_started', name });
    take(engine.apply({ type: 'job_finished', name, result: 'success', exit_code: 0 }));
  }
  const ms = performance.now() - t0;
  if (engine.summary().status !== 'success') throw new Error(`DAG bench ended ${engine.summary().status}`);
  return { ms, work: engine.stats.examinations + engine.stats.counter_updates };
}

export function benchDag(): Record<string, number> {
  for (let k = 0; k < 3; k++) runDag(dagModel(4000)); // warm-up: let the JIT settle before timing
  const best = (n: number) => Math.min(...[0, 1, 2, 3, 4].map(() => runDag(dagModel(n))));
  const t1 = best(1000);
  const t2 = best(2000);
  const t4 = best(4000);
  // Wall time on a shared machine also carries GC and cache effects; the engine's own work
  // count (job examinations + counter updates) per job is the exact linearity measure.
  const workPerJob = (n: number) => runDagCounted(dagModel(n)).work / n;
  const w1 = workPerJob(1000);
  const w4 = workPerJob(4000);
  return {
    dag_work_per_job_1000: +w1.toFixed(2),
    dag_work_per_job_4000: +w4.toFixed(2),
    dag_work_growth_4k_over_1k: +(w4 / w1).toFixed(3),
    dag_1000_jobs_ms: +t1.toFixed(2),
    dag_2000_jobs_ms: +t2.toFixed(2),
    dag_4000_jobs_ms: +t4.toFixed(2),
    dag_scaling_4k_over_1k: +(t4 / t1).toFixed(2),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(benchDag());
