/**
 * Is the store usable? Storage failures (disk full, a lock held by another process, a
 * read-only or failing disk) become 503 answers that name the cause, and /healthz
 * reports them instead of a blind 200.
 */
import { statfsSync } from 'node:fs';

export interface StorageProblem {
  /** full | busy | readonly | io | corrupt */
  kind: string;
  code: string;
  message: string;
  at: number;
}

const KINDS: Array<[RegExp, string, (path: string) => string]> = [
  [/^SQLITE_FULL/, 'full', (p) => `storage full: the disk holding ${p} is full`],
  [/^SQLITE_(BUSY|LOCKED)/, 'busy', (p) => `storage busy: ${p} is locked by another process or connection; retry shortly`],
  [/^SQLITE_READONLY/, 'readonly', (p) => `storage read-only: ${p} cannot be written`],
  [/^SQLITE_(IOERR|CANTOPEN)/, 'io', (p) => `storage I/O error on ${p}`],
  [/^SQLITE_(CORRUPT|NOTADB)/, 'corrupt', (p) => `storage corrupt: ${p} is damaged`],
];
const ERRNO: Record<string, string> = { ENOSPC: 'full', EDQUOT: 'full', EROFS: 'readonly', EIO: 'io' };

/** A storage failure described for a user, or null when `err` is not one. */
export function storageProblem(err: unknown, dbPath: string): StorageProblem | null {
  const code = String((err as { code?: unknown })?.code ?? '');
  for (const [re, kind, msg] of KINDS)
    if (re.test(code)) return { kind, code, message: `${msg(dbPath)} (${code}: ${(err as Error).message})`, at: Date.now() };
  const k = ERRNO[code];
  if (k)
    return {
      kind: k,
      code,
      message: `storage ${k === 'full' ? 'full' : k === 'readonly' ? 'read-only' : 'I/O error'}: ${(err as Error).message}`,
      at: Date.now(),
    };
  return null;
}

/** Below this much free space /healthz says the store is full before SQLite does. */
const MIN_FREE_BYTES = 16 * 1024 * 1024;

export class StoreHealth {
  private last: StorageProblem | null = null;

  /** `probeWrite`: the engine's own non-blocking "can a write start now?" (null when it can). */
  constructor(
    readonly dbPath: string,
    private readonly dataDir: string,
    private readonly probeWrite: () => StorageProblem | null = () => null,
  ) {}

  /** Records `err` if it is a storage failure; returns its description. */
  record(err: unknown): StorageProblem | null {
    const p = storageProblem(err, this.dbPath);
    if (p) this.last = p;
    return p;
  }

  /** A write went through: an earlier failure is over. */
  writeSucceeded(): void {
    this.last = null;
  }

  /** Current state, probed without blocking: a write lock is tried with no wait, free space read. */
  check(): { ok: boolean; problem?: StorageProblem; free_bytes?: number } {
    let free: number | undefined;
    try {
      const s = statfsSync(this.dataDir);
      free = s.bavail * s.bsize;
    } catch {
      free = undefined;
    }
    const probe = this.probeWrite();
    if (probe) return { ok: false, problem: probe, free_bytes: free };
    if (this.last?.kind === 'busy') this.last = null; // the probe just took the write lock: no longer busy
    if (free !== undefined && free < MIN_FREE_BYTES)
      return {
        ok: false,
        problem: {
          kind: 'full',
          code: 'ENOSPC',
          message: `storage full: ${free} bytes free on the disk holding ${this.dataDir}`,
          at: Date.now(),
        },
        free_bytes: free,
      };
    if (this.last) return { ok: false, problem: this.last, free_bytes: free };
    return { ok: true, free_bytes: free };
  }
}
