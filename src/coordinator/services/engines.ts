/** In-memory engines of active pipelines, rebuilt from the store when missing (after a restart). */
import { PipelineEngine } from '../../pipeline/index.js';
import type { JobState } from '../../pipeline/events.js';
import type { PipelineModel } from '../../pipeline/model.js';
import type { JobStatus } from '../../pipeline/status.js';
import type { Store } from '../store/index.js';

const MAX_ENGINES = 2000;
const MAX_MODELS = 500;

export class EngineCache {
  private readonly engines = new Map<number, PipelineEngine>();
  private readonly models = new Map<number, PipelineModel>();

  constructor(private readonly store: Store) {}

  model(pipelineId: number): PipelineModel {
    let m = this.models.get(pipelineId);
    if (m) {
      this.models.delete(pipelineId);
      this.models.set(pipelineId, m);
      return m;
    }
    const row = this.store.pipelines.get(pipelineId);
    if (!row) throw new Error(`pipeline ${pipelineId} not found`);
    m = JSON.parse(row.model_json) as PipelineModel;
    this.remember(this.models, pipelineId, m, MAX_MODELS);
    return m;
  }

  set(pipelineId: number, engine: PipelineEngine, model: PipelineModel): void {
    this.remember(this.engines, pipelineId, engine, MAX_ENGINES);
    this.remember(this.models, pipelineId, model, MAX_MODELS);
  }

  get(pipelineId: number): PipelineEngine {
    const cached = this.engines.get(pipelineId);
    if (cached) return cached;
    const engine = this.restore(pipelineId);
    this.remember(this.engines, pipelineId, engine, MAX_ENGINES);
    return engine;
  }

  evict(pipelineId: number): void {
    this.engines.delete(pipelineId);
  }

  /**
   * Rebuild from the latest attempt of each job. A job whose final update is stored but
   * not yet fed to the engine (finish_pending) is given back as still running, so the
   * finisher's job_finished applies to it as it would have before the restart.
   */
  private restore(pipelineId: number): PipelineEngine {
    const p = this.store.pipelines.get(pipelineId);
    if (!p) throw new Error(`pipeline ${pipelineId} not found`);
    const states: JobState[] = this.store.jobs.latestPerName(pipelineId).map((j) => {
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
    const haltedBy = p.halted_by_job_id === null ? null : (this.store.jobs.get(p.halted_by_job_id)?.name ?? null);
    return PipelineEngine.restore(this.model(pipelineId), states, { halted_by: haltedBy, canceled: p.canceled === 1 });
  }

  private remember<V>(map: Map<number, V>, key: number, value: V, max: number): void {
    map.delete(key);
    map.set(key, value);
    if (map.size > max) map.delete(map.keys().next().value as number);
  }
}
