/** The coordinator's persistent state: one SQLite file, one object per table. */
import { join } from 'node:path';
import { ArtifactStore } from './artifacts.js';
import { openDb, type Db } from './db.js';
import { StoreHealth } from './health.js';
import { ImagePullStore } from './image-pulls.js';
import { JobStore } from './jobs.js';
import { PipelineStore } from './pipelines.js';
import { RunnerStore } from './runners.js';
import { ApiTokenStore } from './tokens.js';
import { TraceStore } from './traces.js';

export class Store {
  readonly pipelines: PipelineStore;
  readonly jobs: JobStore;
  readonly traces: TraceStore;
  readonly runners: RunnerStore;
  readonly apiTokens: ApiTokenStore;
  readonly imagePulls: ImagePullStore;
  /** Storage failures as users should read them, and /healthz (store/health.ts). */
  readonly health: StoreHealth;
  readonly artifacts: ArtifactStore;

  constructor(readonly db: Db) {
    this.health = new StoreHealth(db, db.name, join(db.name, '..'));
    this.pipelines = new PipelineStore(db);
    this.jobs = new JobStore(db);
    this.traces = new TraceStore(db);
    this.runners = new RunnerStore(db);
    this.apiTokens = new ApiTokenStore(db);
    this.imagePulls = new ImagePullStore(db);
    this.artifacts = new ArtifactStore(db);
  }

  static open(dataDir: string): Store {
    return new Store(openDb(dataDir));
  }

  /** Run `fn` in one transaction (nested calls become savepoints). */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

export type { JobRow } from './jobs.js';
export type { PipelineRow } from './pipelines.js';
export type { RunnerRow } from './runners.js';
