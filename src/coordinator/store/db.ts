/** Opens the one SQLite file of a coordinator with the pragmas we rely on. */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from './migrations.js';
import { makePrivate } from './private-files.js';

export type Db = Database.Database;

export function openDb(dataDir: string): Db {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'faultline.db');
  makePrivate(dataDir, file);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  // NORMAL under WAL: durable against process crashes; an OS crash may lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

/** Milliseconds since epoch → ISO 8601 UTC (null stays null). */
export const iso = (ms: number | null | undefined): string | null => (ms == null ? null : new Date(ms).toISOString());
