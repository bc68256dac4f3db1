/**
 * In-memory engines of active pipelines. Each remembers the pipeline version it reflects; an
 * engine step (under the pipeline's row lock, PipelineStore.beginStep) finds it current, or behind
 * when another coordinator sharing the database stepped the pipeline since. Behind, it takes only
 * the job rows written after its version (jobs.step_version, PostgreSQL); missing (a restart) or
 * where no such rows can be read, it is rebuilt from all of them.
 */
import { PipelineEngine } from '../../pipeline/index.js';
import type { JobState } from '../../pipeline/events.js';
import type { PipelineModel } from '../../pipeline/model.js';
import type { JobStatus } from '../../pipeline/status.js';
import type { Store } from '../store/index.js';
import type { EngineStateRow } from '../store/jobs.js';
import type { PipelineSummaryRow } from '../store/pipelines.js';
import { remember } from '../store/remember.js';

const MAX_ENGINES = 2000;
const MAX_MODELS = 500;

/** What a restore needs of the pipeline row besides its jobs. */
export type EngineRow = Pick<PipelineSummaryRow, 'halted_by_job_id' | 'canceled'>;

/** The latest attempts written after `since` (PipelineStore.beginStep's `changed`). */
export interface Changed {
  since: number;
  rows: readonly EngineStateRow[];
}

interface Cached {
  engine: PipelineEngine;
  version: number;
}

export class EngineCache {
  private readonly engines = new Map<number, Cached>();
  /** Models never change after creation: safe to share across coordinators without a version. */
  private readonly models = new Map<number, PipelineModel>();
  /** How engines that were not current came up to date (faultline_engine_catchups_total). */
  readonly stats = { rebuilds: 0, refreshes: 0 };

  constructor(private readonly store: Store) {}

  /** The model when it is in memory (no I/O), else undefined. */
  cachedModel(pipelineId: number): PipelineModel | undefined {
    return this.models.get(pipelineId);
  }

  async model(pipelineId: number): Promise<PipelineModel> {
    const m = this.models.get(pipelineId);
    if (m) {
      remember(this.models, pipelineId, m, MAX_MODELS);
      return m;
    }
    const row = await this.store.pipelines.get(pipelineId);
    if (!row) throw new Error(`pipeline ${pipelineId} not found`);
    const parsed = JSON.parse(row.model_json) as PipelineModel;
    // Two concurrent misses: keep the first parsed model, so callers share one object.
    const raced = this.models.get(pipelineId);
    if (raced) return raced;
    remember(this.models, pipelineId, parsed, MAX_MODELS);
    return parsed;
  }

  set(pipelineId: number, engine: PipelineEngine, model: PipelineModel, version: number): void {
    remember(this.engines, pipelineId, { engine, version }, MAX_ENGINES);
    remember(this.models, pipelineId, model, MAX_MODELS);
  }

  /**
   * The engine at `version` (the row's, read under its lock): cached if current, brought up to
   * date if behind and `changed` holds the rows written since its version, else rebuilt. `row` is
   * the pipeline row's halted_by_job_id and canceled, as that read returned them.
   */
  async get(pipelineId: number, version: number, row: EngineRow, changed?: Changed): Promise<PipelineEngine> {
    const cached = this.engines.get(pipelineId);
    if (cached && cached.version === version) return cached.engine;
    if (cached && changed && changed.since === cached.version && (await this.refresh(cached, changed.rows, row))) {
      cached.version = version;
      this.stats.refreshes++;
      return cached.engine;
    }
    this.engines.delete(pipelineId);
    const engine = await this.restore(pipelineId, row);
    this.stats.rebuilds++;
    remember(this.engines, pipelineId, { engine, version }, MAX_ENGINES);
    return engine;
  }

  /** The cached engine and the version it reflects, as they are (no I/O, no refresh; for tests). */
  peek(pipelineId: number): { engine: PipelineEngine; version: number } | undefined {
    const c = this.engines.get(pipelineId);
    return c && { engine: c.engine, version: c.version };
  }

  /** The engine now stands at `version` (its step's rows are written in the same transaction). */
  advanced(pipelineId: number, version: number): void {
    const cached = this.engines.get(pipelineId);
    if (cached) cached.version = version;
  }

  evict(pipelineId: number): void {
    this.engines.delete(pipelineId);
  }

  /** Takes the rows written since the cached engine's version into it; false when they do not fit it (then it is rebuilt). */
  private async refresh(cached: Cached, rows: readonly EngineStateRow[], row: EngineRow): Promise<boolean> {
    try {
      cached.engine.overwrite(rows.map(stateOf), { halted_by: await this.haltedBy(row), canceled: row.canceled === 1 });
    } catch {
      return false;
    }
    return true;
  }

  /** Rebuild from the latest attempt of each job (only the columns a state needs). */
  private async restore(pipelineId: number, p: EngineRow): Promise<PipelineEngine> {
    const states = (await this.store.jobs.engineStates(pipelineId)).map(stateOf);
    return PipelineEngine.restore(await this.model(pipelineId), states, { halted_by: await this.haltedBy(p), canceled: p.canceled === 1 });
  }

  /** The name of the job the row's halted_by_job_id points at (rare: pass_pipeline). */
  private async haltedBy(p: EngineRow): Promise<string | null> {
    if (p.halted_by_job_id === null) return null;
    return (await this.store.jobs.get(p.halted_by_job_id))?.name ?? null;
  }
}

/**
 * A stored row as the engine state it stands for. A job whose final update is stored but not yet
 * fed to the engine (finish_pending) is given back as still running, so the finisher's
 * job_finished applies to it as it would have before the restart.
 */
function stateOf(j: EngineStateRow): JobState {
  const pendingFinish = j.finish_pending === 1;
  return {
    name: j.name,
    status: (pendingFinish ? (j.started_at === null ? 'pending' : j.cancel_requested ? 'canceling' : 'running') : j.status) as JobStatus,
    exit_code: pendingFinish ? null : j.exit_code,
    outcome: pendingFinish ? null : (j.outcome as JobState['outcome']),
    attempt: j.attempt,
    note: j.note,
  };
}
