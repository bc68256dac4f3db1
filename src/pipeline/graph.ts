/**
 * The dependency structure of a pipeline model, as indexes the engine can walk
 * in O(jobs + edges): needs as job indices, reverse DAG edges, jobs per stage.
 *
 * Stage order is never expanded into edges (that would be O(jobs²)): a
 * stage-mode job depends on the *stage barrier* before its stage, and the
 * barrier before stage k depends on every job of stage k-1 and on the barrier
 * before it. Cycle checks and downstream walks use that same shape.
 */
import { EngineError } from './errors.js';
import type { PipelineModel } from './model.js';

export interface PipelineGraph {
  readonly model: PipelineModel;
  readonly index: ReadonlyMap<string, number>;
  /** Needs as job indices (deduplicated); null = stage mode. */
  readonly needs: readonly (readonly number[] | null)[];
  /** dependents[i]: DAG jobs whose needs include job i. */
  readonly dependents: readonly (readonly number[])[];
  /** Jobs per stage index. */
  readonly stageJobs: readonly (readonly number[])[];
  /** Stage-mode jobs (needs === null) per stage index. */
  readonly stageModeJobs: readonly (readonly number[])[];
}

export function buildGraph(model: PipelineModel): PipelineGraph {
  const nStages = model.stages.length;
  const index = new Map<string, number>();
  model.jobs.forEach((j, i) => {
    if (index.has(j.name)) throw new EngineError('invalid_model', `jobs.${j.name}: duplicate job name`, j.name);
    index.set(j.name, i);
  });
  const stageJobs: number[][] = model.stages.map(() => []);
  const stageModeJobs: number[][] = model.stages.map(() => []);
  const dependents: number[][] = model.jobs.map(() => []);
  const needs = model.jobs.map((j, i) => {
    if (!Number.isInteger(j.stage_index) || j.stage_index < 0 || j.stage_index >= nStages) {
      throw new EngineError('invalid_model', `jobs.${j.name}.stage_index: ${j.stage_index} is not a stage of this pipeline`, j.name);
    }
    stageJobs[j.stage_index].push(i);
    if (j.needs === null) {
      stageModeJobs[j.stage_index].push(i);
      return null;
    }
    const seen = new Set<number>();
    for (const n of j.needs) {
      const k = index.get(n);
      if (k === undefined) throw new EngineError('invalid_model', `jobs.${j.name}.needs: unknown job "${n}"`, j.name);
      if (k === i) throw new EngineError('invalid_model', `jobs.${j.name}.needs: a job cannot need itself`, j.name);
      if (seen.has(k)) continue;
      seen.add(k);
      dependents[k].push(i);
    }
    return [...seen];
  });
  const g: PipelineGraph = { model, index, needs, dependents, stageJobs, stageModeJobs };
  checkAcyclic(g);
  return g;
}

/** Kahn's algorithm over jobs plus stage barriers; names a job on a cycle. */
function checkAcyclic(g: PipelineGraph): void {
  const nJobs = g.model.jobs.length;
  const nStages = g.stageJobs.length;
  // node ids: jobs 0..nJobs-1, barrier before stage s = nJobs + s (s >= 1).
  const indeg = new Array<number>(nJobs + nStages).fill(0);
  g.needs.forEach((n, i) => {
    indeg[i] = n === null ? (g.model.jobs[i].stage_index > 0 ? 1 : 0) : n.length;
  });
  for (let s = 1; s < nStages; s++) indeg[nJobs + s] = g.stageJobs[s - 1].length + (s > 1 ? 1 : 0);
  const queue: number[] = [];
  indeg.forEach((d, v) => {
    if (d === 0 && !(v >= nJobs && v - nJobs === 0)) queue.push(v);
  });
  let done = 0;
  const release = (v: number): void => {
    if (--indeg[v] === 0) queue.push(v);
  };
  for (let h = 0; h < queue.length; h++) {
    const v = queue[h];
    done++;
    if (v < nJobs) {
      for (const d of g.dependents[v]) release(d);
      const s = g.model.jobs[v].stage_index;
      if (s + 1 < nStages) release(nJobs + s + 1);
    } else {
      const s = v - nJobs;
      for (const j of g.stageModeJobs[s]) release(j);
      if (s + 1 < nStages) release(nJobs + s + 1);
    }
  }
  const expected = nJobs + Math.max(0, nStages - 1);
  if (done < expected) {
    const stuck = g.model.jobs.find((_, i) => indeg[i] > 0);
    throw new EngineError(
      'invalid_model',
      `jobs.${stuck?.name}.needs: dependency cycle (through needs and stage order)`,
      stuck?.name ?? null,
    );
  }
}

/**
 * Every job that (transitively) waits for job `from`, through needs and through
 * stage order, in O(jobs + edges). `follow(i)` can stop the walk at a job.
 */
export function downstream(g: PipelineGraph, from: number, follow: (i: number) => boolean = () => true): number[] {
  const nStages = g.stageJobs.length;
  const seen = new Uint8Array(g.model.jobs.length);
  const out: number[] = [];
  const stack: number[] = [];
  let expandedFrom = nStages; // stage-mode jobs of stages >= expandedFrom are already reached
  const reach = (i: number): void => {
    if (seen[i]) return;
    seen[i] = 1;
    out.push(i);
    if (follow(i)) stack.push(i);
  };
  const walk = (i: number): void => {
    for (const d of g.dependents[i]) reach(d);
    const s = g.model.jobs[i].stage_index;
    for (let t = s + 1; t < expandedFrom; t++) for (const j of g.stageModeJobs[t]) reach(j);
    expandedFrom = Math.min(expandedFrom, s + 1);
  };
  seen[from] = 1;
  walk(from);
  while (stack.length > 0) walk(stack.pop()!);
  return out;
}
