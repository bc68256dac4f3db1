/**
 * In-memory engines of active pipelines, rebuilt from the store when missing (after a restart)
 * or stale: each engine remembers the pipeline version it reflects, and an engine step (under
 * the pipeline's row lock, see PipelineStore.lockForStep) rebuilds it when another coordinator
 * sharing the database moved the pipeline on since.
 */
import { PipelineEngine } from '../../pipeline/index.js';
import type { JobState } from '../../pipeline/events.js';
import type { PipelineModel } from '../../pipeline/model.js';
import type { JobStatus } from '../../pipeline/status.js';
import type { Store } from '../store/index.js';
import type { PipelineSummaryRow } from '../store/pipelines.js';

const MAX_ENGINES = 2000;
const MAX_MODELS = 500;

/** What a restore needs of the pipeline row besides its jobs. */
export type EngineRow = Pick<PipelineSummaryRow, 'halted_by_job_id' | 'canceled'>;

interface Cached {
  engine: PipelineEngine;
  version: number;
}

export class EngineCache {
  private readonly engines = new Map<number, Cached>();
  /** Models never change after creation: safe to share across coordinators without a version. */
  private readonly models = new Map<number, PipelineModel>();

  constructor(private readonly store: Store) {}

  /** The model when it is in memory (no I/O), else undefined. */
  cachedModel(pipelineId: number): PipelineModel | undefined {
    return this.models.get(pipelineId);
  }

  async model(pipelineId: number): Promise<PipelineModel> {
    const m = this.models.get(pipelineId);
    if (m) {
      this.remember(this.models, pipelineId, m, MAX_MODELS);
      return m;
    }
    const row = await this.store.pipelines.get(pipelineId);
    if (!row) throw new Error(`pipeline ${pipelineId} not found`);
    const parsed = JSON.parse(row.model_json) as PipelineModel;
    // Two concurrent misses: keep the first parsed model, so callers share one object.
    const raced = this.models.get(pipelineId);
    if (raced) return raced;
    this.remember(this.models, pipelineId, parsed, MAX_MODELS);
    return parsed;
  }

  set(pipelineId: number, engine: PipelineEngine, model: PipelineModel, version: number): void {
    this.remember(this.engines, pipelineId, { engine, version }, MAX_ENGINES);
    this.remember(this.models, pipelineId, model, MAX_MODELS);
  }

  /**
   * The engine at `version` (the row's, read under its lock): cached if current, else rebuilt.
   * `row` is the pipeline row's halted_by_job_id and canceled, as that read returned them.
   */
  async get(pipelineId: number, version: number, row: EngineRow): Promise<PipelineEngine> {
    const cached = this.engines.get(pipelineId);
    if (cached && cached.version === version) return cached.engine;
    const engine = await this.restore(pipelineId, row);
    this.remember(this.engines, pipelineId, { engine, version }, MAX_ENGINES);
    return engine;
  }

  /** The engine now stands at `version` (its step's rows are written in the same transaction). */
  advanced(pipelineId: number, version: number): void {
    const cached = this.engines.get(pipelineId);
    if (cached) cached.version = version;
  }

  evict(pipelineId: number): void {
    this.engines.delete(pipelineId);
  }

  /**
   * Rebuild from the latest attempt of each job. A job whose final update is stored but
   * not yet fed to the engine (finish_pending) is given back as still running, so the
   * finisher's job_finished applies to it as it would have before the restart.
   */
  private async restore(pipelineId: number, p: EngineRow): Promise<PipelineEngine> {
    // Only the columns a state needs: another coordinator's step makes this one rebuild often.
    const states: JobState[] = (await this.store.jobs.engineStates(pipelineId)).map((j) => {
      const pendingFinish = j.finish_pending === 1;
      return {
        name: j.name,
        status: (pendingFinish
          ? j.started_at === null
            ? 'pending'
            : j.cancel_requested
              ? 'canceling'
              : 'running'
          : j.status) as JobStatus,
        exit_code: pendingFinish ? null : j.exit_code,
        outcome: pendingFinish ? null : (j.outcome as JobState['outcome']),
        attempt: j.attempt,
        note: j.note,
      };
    });
    const haltedBy = p.halted_by_job_id === null ? null : ((await this.store.jobs.get(p.halted_by_job_id))?.name ?? null);
    return PipelineEngine.restore(await this.model(pipelineId), states, { halted_by: haltedBy, canceled: p.canceled === 1 });
  }

  private remember<V>(map: Map<number, V>, key: number, value: V, max: number): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > max) map.delete(map.keys().next().value as number);
  }
}
