/**
 * The data dir holds the tokens and every pipeline's variables: it is the coordinator's
 * alone (0700), and so are the SQLite files (0600). SQLite creates its -wal and -shm
 * files with the main file's mode, so creating that one 0600 first covers them; files
 * of an older install are tightened on start.
 */
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';

function chmod(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (err) {
    throw new Error(`cannot make ${path} private (chmod ${mode.toString(8)}): ${(err as Error).message}`, { cause: err });
  }
}

/** Before opening the database: the dir 0700, the database file created 0600. */
export function makePrivate(dataDir: string, dbFile: string): void {
  chmod(dataDir, 0o700);
  if (!existsSync(dbFile)) closeSync(openSync(dbFile, 'a', 0o600));
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`, `${dbFile}-journal`]) if (existsSync(f)) chmod(f, 0o600);
}
