/**
 * The data directory before SQLite opens it: created if missing, checked writable, and
 * locked so that a second coordinator on the same directory is refused (two writers on
 * one SQLite file would stall each other on its lock and reap each other's runners).
 * Every failure names the path and what is wrong with it.
 */
import { closeSync, constants, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync, accessSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';

export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

const WHY: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ENOTDIR: 'a part of the path is not a directory',
  EEXIST: 'exists and is not a directory',
  ENOENT: 'a part of the path does not exist',
  ELOOP: 'too many symbolic links',
  EDQUOT: 'disk quota exceeded',
};

const who = () => (typeof process.getuid === 'function' ? ` (running as uid ${process.getuid()})` : '');
const why = (err: unknown): string => {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return `${WHY[code] ?? (err as Error).message}${code ? ` [${code}]` : ''}`;
};

function mkdirOrExplain(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    // Name the deepest existing ancestor: that is the directory the user has to fix.
    let parent = dirname(dir);
    while (parent !== dirname(parent)) {
      try {
        statSync(parent);
        break;
      } catch {
        parent = dirname(parent);
      }
    }
    throw new DataDirError(`cannot create the data directory ${dir}: ${why(err)}; check ${parent}${who()}`);
  }
  if (!statSync(dir).isDirectory()) throw new DataDirError(`the data directory ${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new DataDirError(`the data directory ${dir} is not writable: ${why(err)}${who()}`);
  }
}

interface LockInfo {
  pid: number;
  host: string;
  started_at: string;
}

/** Lock files this process holds: a lock with our own PID we do not hold is a former incarnation's (a container restart reuses PID 1). */
const heldHere = new Set<string>();

function alive(pid: number, path: string): boolean {
  if (pid === process.pid) return heldHere.has(path);
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, someone else's
  }
}

/** Held for the life of a coordinator; `release` removes the lock file if it is still ours. */
export interface DataDirLock {
  path: string;
  release(): void;
}

/** Creates/checks `dir` and takes its lock (a stale lock of a dead process is taken over). */
export function prepareDataDir(dir: string): DataDirLock {
  mkdirOrExplain(dir);
  const path = join(dir, 'coordinator.lock');
  const mine: LockInfo = { pid: process.pid, host: hostname(), started_at: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, JSON.stringify(mine) + '\n');
      closeSync(fd);
      heldHere.add(path);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new DataDirError(`cannot write the lock file ${path}: ${why(err)}${who()}`);
      let held: LockInfo | null = null;
      try {
        held = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
      } catch {
        held = null; // torn or foreign: treat as stale
      }
      if (held && attempt === 0 && (held.host !== mine.host || alive(held.pid, path)))
        throw new DataDirError(
          `the data directory ${dir} is in use by another coordinator (pid ${held.pid} on ${held.host}, since ${held.started_at}); ` +
            `stop it, or remove ${path} if that process is gone`,
        );
      if (attempt > 0) throw new DataDirError(`cannot take the lock file ${path}: it keeps reappearing`);
      unlinkSync(path); // stale: its coordinator died without releasing it
    }
  }
  return {
    path,
    release: () => {
      heldHere.delete(path);
      try {
        const held = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
        if (held.pid === mine.pid && held.started_at === mine.started_at) unlinkSync(path);
      } catch {
        /* already gone */
      }
    },
  };
}
