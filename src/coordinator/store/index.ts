/** The coordinator's persistent state behind one `Sql` engine (engine.ts): one object per table. */
import { join } from 'node:path';
import { ArtifactStore } from './artifacts.js';
import { openDb, type Db } from './db.js';
import type { Sql } from './engine.js';
import { StoreHealth, type StorageProblem } from './health.js';
import { ImagePullStore } from './image-pulls.js';
import { JobStore } from './jobs.js';
import { PipelineStore } from './pipelines.js';
import { RunnerStore } from './runners.js';
import { SqliteSql } from './sqlite-engine.js';
import { describeTarget, openPostgres } from './pg-engine.js';
import { ApiTokenStore } from './tokens.js';
import { TraceStore } from './traces.js';

export interface StoreOptions {
  /** What storage errors and /healthz name (the SQLite file, or the database URL without password). */
  dbPath: string;
  /** The directory whose free space /healthz reports. */
  dataDir: string;
  /** The engine's non-blocking write probe for /healthz (null = writable). */
  probeWrite?: () => StorageProblem | null;
}

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

  constructor(
    readonly sql: Sql,
    opts: StoreOptions,
  ) {
    this.health = new StoreHealth(opts.dbPath, opts.dataDir, opts.probeWrite);
    this.pipelines = new PipelineStore(sql);
    this.jobs = new JobStore(sql);
    this.traces = new TraceStore(sql);
    this.runners = new RunnerStore(sql);
    this.apiTokens = new ApiTokenStore(sql);
    this.imagePulls = new ImagePullStore(sql);
    this.artifacts = new ArtifactStore(sql);
  }

  /** The embedded engine: `<dataDir>/faultline.db`, migrated (synchronously) before first use. */
  static async openSqlite(dataDir: string): Promise<Store> {
    const db = openDb(dataDir);
    const sql = new SqliteSql(db);
    return new Store(sql, { dbPath: db.name, dataDir: join(db.name, '..'), probeWrite: () => sql.probeWrite(db.name) });
  }

  /**
   * A PostgreSQL database shared by several coordinators (migrated under an advisory lock at
   * open). `dataDir` is this coordinator's own directory (artifacts, tokens, include cache).
   */
  static async openPostgres(url: string, dataDir: string, opts: { poolSize?: number } = {}): Promise<Store> {
    const sql = await openPostgres(url, opts.poolSize === undefined ? {} : { max: opts.poolSize });
    return new Store(sql, { dbPath: describeTarget(url), dataDir });
  }

  /** The better-sqlite3 handle under a SQLite store: for SQLite-only tests (throws on PostgreSQL). */
  get db(): Db {
    if (!(this.sql instanceof SqliteSql)) throw new Error('this store is not on SQLite');
    return this.sql.db;
  }

  /** Run `fn` in one transaction; queries it issues join it (nested calls become savepoints). */
  tx<T>(fn: () => Promise<T>): Promise<T> {
    return this.sql.tx(fn);
  }

  /** Is the caller inside a transaction of this store? */
  inTx(): boolean {
    return this.sql.inTx();
  }

  async close(): Promise<void> {
    await this.sql.close();
  }
}

export type { JobRow } from './jobs.js';
export type { PipelineRow } from './pipelines.js';
export type { RunnerRow } from './runners.js';
