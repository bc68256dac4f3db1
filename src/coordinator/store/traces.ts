/**
 * Job logs as ordered chunks keyed by byte offset. The running length lives in
 * jobs.trace_bytes so an append needs no scan.
 */
import type { Db } from './db.js';

export type AppendResult =
  | { ok: true; offset: number }
  | { ok: false; kind: 'range'; offset: number; message: string }
  | { ok: false; kind: 'too_large'; offset: number; message: string }
  | { ok: false; kind: 'no_job'; offset: 0; message: string };

export class TraceStore {
  private readonly s;
  constructor(private readonly db: Db) {
    this.s = {
      length: db.prepare('SELECT trace_bytes FROM jobs WHERE id = ?'),
      insert: db.prepare('INSERT INTO trace_chunks (job_id, offset, data) VALUES (?, ?, ?)'),
      grow: db.prepare('UPDATE jobs SET trace_bytes = ? WHERE id = ?'),
      range: db.prepare(
        'SELECT offset, data FROM trace_chunks WHERE job_id = ? AND offset < ? AND offset + length(data) > ? ORDER BY offset',
      ),
      lastBefore: db.prepare('SELECT offset FROM trace_chunks WHERE job_id = ? AND offset <= ? ORDER BY offset DESC LIMIT 1'),
    };
  }

  length(jobId: number): number | undefined {
    return (this.s.length.get(jobId) as { trace_bytes: number } | undefined)?.trace_bytes;
  }

  /**
   * Append `data` written at byte `start`. A retried chunk (start < length) is accepted
   * when the bytes it overlaps are identical; only its new tail is stored.
   */
  append(jobId: number, start: number, data: Buffer, maxBytes: number): AppendResult {
    return this.db.transaction((): AppendResult => {
      const len = this.length(jobId);
      if (len === undefined) return { ok: false, kind: 'no_job', offset: 0, message: 'job not found' };
      if (start > len) return { ok: false, kind: 'range', offset: len, message: `chunk starts at ${start} but the trace has ${len} bytes` };
      const overlap = Math.min(len - start, data.length);
      if (overlap > 0 && !this.read(jobId, start, overlap).equals(data.subarray(0, overlap)))
        return { ok: false, kind: 'range', offset: len, message: `chunk at ${start} differs from the stored trace; resend from ${len}` };
      const rest = data.subarray(overlap);
      if (rest.length === 0) return { ok: true, offset: len };
      if (len + rest.length > maxBytes)
        return {
          ok: false,
          kind: 'too_large',
          offset: len,
          message: `trace would exceed the maximum size of ${maxBytes} bytes (has ${len}, chunk adds ${rest.length})`,
        };
      this.s.insert.run(jobId, len, rest);
      this.s.grow.run(len + rest.length, jobId);
      return { ok: true, offset: len + rest.length };
    })();
  }

  /** Bytes [offset, offset+limit) of the trace (clamped). */
  read(jobId: number, offset: number, limit = Number.MAX_SAFE_INTEGER): Buffer {
    const len = this.length(jobId) ?? 0;
    const end = Math.min(len, offset + limit);
    if (offset >= end) return Buffer.alloc(0);
    // The chunk containing `offset` may start before it.
    const first = (this.s.lastBefore.get(jobId, offset) as { offset: number } | undefined)?.offset ?? 0;
    const rows = this.s.range.all(jobId, end, Math.min(first, offset)) as { offset: number; data: Buffer }[];
    const parts: Buffer[] = [];
    for (const r of rows) {
      const from = Math.max(offset, r.offset) - r.offset;
      const to = Math.min(end, r.offset + r.data.length) - r.offset;
      if (to > from) parts.push(r.data.subarray(from, to));
    }
    return Buffer.concat(parts);
  }

  /** The last `bytes` of the trace, and where they start. */
  tail(jobId: number, bytes: number): { start: number; data: Buffer } {
    const len = this.length(jobId) ?? 0;
    const start = Math.max(0, len - bytes);
    return { start, data: this.read(jobId, start) };
  }

  /** Number of newline bytes in [0, upTo): turns tail-relative line numbers into whole-log ones. */
  countLines(jobId: number, upTo: number): number {
    let n = 0;
    const step = 4 << 20;
    for (let off = 0; off < upTo; off += step) {
      const buf = this.read(jobId, off, Math.min(step, upTo - off));
      for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
    }
    return n;
  }
}
