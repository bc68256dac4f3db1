/**
 * Job logs as ordered chunks keyed by byte offset. The running length lives in
 * jobs.trace_bytes so an append needs no scan.
 */
import type { Sql } from './engine.js';

export type AppendResult =
  | { ok: true; offset: number }
  | { ok: false; kind: 'range'; offset: number; message: string }
  | { ok: false; kind: 'too_large'; offset: number; message: string }
  | { ok: false; kind: 'no_job'; offset: 0; message: string };

export class TraceStore {
  constructor(private readonly sql: Sql) {}

  async length(jobId: number): Promise<number | undefined> {
    return (await this.sql.get<{ trace_bytes: number }>('SELECT trace_bytes FROM jobs WHERE id = ?', [jobId]))?.trace_bytes;
  }

  /**
   * Append `data` written at byte `start`. A retried chunk (start < length) is accepted
   * when the bytes it overlaps are identical; only its new tail is stored. One transaction:
   * two appends to one job never both write at the same offset.
   */
  append(jobId: number, start: number, data: Buffer, maxBytes: number): Promise<AppendResult> {
    return this.sql.tx(async (): Promise<AppendResult> => {
      // Locks the job row on PostgreSQL (SQLite's transaction holds the whole database).
      const row = await this.sql.get<{ trace_bytes: number }>(`SELECT trace_bytes FROM jobs WHERE id = ?${this.sql.dialect.forUpdate}`, [
        jobId,
      ]);
      const len = row?.trace_bytes;
      if (len === undefined) return { ok: false, kind: 'no_job', offset: 0, message: 'job not found' };
      if (start > len) return { ok: false, kind: 'range', offset: len, message: `chunk starts at ${start} but the trace has ${len} bytes` };
      const overlap = Math.min(len - start, data.length);
      if (overlap > 0 && !(await this.read(jobId, start, overlap)).equals(data.subarray(0, overlap)))
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
      await this.sql.run('INSERT INTO trace_chunks (job_id, "offset", data) VALUES (?, ?, ?)', [jobId, len, rest]);
      await this.sql.run('UPDATE jobs SET trace_bytes = ? WHERE id = ?', [len + rest.length, jobId]);
      return { ok: true, offset: len + rest.length };
    });
  }

  /** Bytes [offset, offset+limit) of the trace (clamped). */
  async read(jobId: number, offset: number, limit = Number.MAX_SAFE_INTEGER): Promise<Buffer> {
    const len = (await this.length(jobId)) ?? 0;
    const end = Math.min(len, offset + limit);
    if (offset >= end) return Buffer.alloc(0);
    // The chunk containing `offset` may start before it.
    const first =
      (
        await this.sql.get<{ offset: number }>(
          'SELECT "offset" FROM trace_chunks WHERE job_id = ? AND "offset" <= ? ORDER BY "offset" DESC LIMIT 1',
          [jobId, offset],
        )
      )?.offset ?? 0;
    const rows = await this.sql.all<{ offset: number; data: Buffer }>(
      'SELECT "offset", data FROM trace_chunks WHERE job_id = ? AND "offset" < ? AND "offset" + length(data) > ? ORDER BY "offset"',
      [jobId, end, Math.min(first, offset)],
    );
    const parts: Buffer[] = [];
    for (const r of rows) {
      const from = Math.max(offset, r.offset) - r.offset;
      const to = Math.min(end, r.offset + r.data.length) - r.offset;
      if (to > from) parts.push(r.data.subarray(from, to));
    }
    return Buffer.concat(parts);
  }

  /** The last `bytes` of the trace, and where they start. */
  async tail(jobId: number, bytes: number): Promise<{ start: number; data: Buffer }> {
    const len = (await this.length(jobId)) ?? 0;
    const start = Math.max(0, len - bytes);
    return { start, data: await this.read(jobId, start) };
  }

  /** Number of newline bytes in [0, upTo): turns tail-relative line numbers into whole-log ones. */
  async countLines(jobId: number, upTo: number): Promise<number> {
    let n = 0;
    const step = 4 << 20;
    for (let off = 0; off < upTo; off += step) {
      const buf = await this.read(jobId, off, Math.min(step, upTo - off));
      for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
    }
    return n;
  }
}
