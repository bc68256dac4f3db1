/**
 * PATCH /jobs/:id/trace: the job token and the Content-Range are checked from the headers
 * alone, before a byte of the body is read, and the body is streamed into the store in
 * bounded pieces. An unauthenticated or oversized upload costs the coordinator nothing
 * but its headers (the connection is closed on refusal so the body is never read).
 */
import type { Request, RequestHandler, Response } from 'express';
import type { TraceAppendResponse } from '../../protocol/runner-api.js';
import type { Store } from '../store/index.js';
import type { AppendResult } from '../store/traces.js';
import { jobFrom } from './auth.js';
import { HttpError } from './errors.js';

/** Largest piece held in memory before it is written to the store. */
export const TRACE_PIECE_BYTES = 1 << 20;

const rangeError = (range: string | undefined) =>
  new HttpError(400, 'Content-Range header must be "<start>-<end>"', [
    { path: 'Content-Range', message: `got ${JSON.stringify(range ?? null)}` },
  ]);

const mismatch = (start: number, end: number, length: number) =>
  new HttpError(400, `Content-Range ${start}-${end} does not match the body length ${length} (expected ${start}-${start + length - 1})`, [
    { path: 'Content-Range', message: 'end must be start + body length - 1' },
  ]);

/** The checks that need no body: token, range, encoding, room left. Throws HttpError. */
async function preflight(store: Store, req: Request, maxBytes: number, tokenGraceMs: number) {
  const job = await jobFrom(store, req, tokenGraceMs);
  const range = req.get('content-range');
  const m = range ? /^(?:bytes\s+)?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(range.trim()) : null;
  if (!m) throw rangeError(range);
  const start = Number(m[1]);
  const end = Number(m[2]);
  const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity')
    throw new HttpError(
      415,
      `Content-Encoding ${JSON.stringify(encoding)} is not supported on trace uploads (send the bytes as they are)`,
      [{ path: 'Content-Encoding', message: 'only identity' }],
    );
  const header = req.get('content-length');
  const chunked = header === undefined;
  // Inclusive end (GitLab's convention); an empty body is a no-op probe of the offset.
  const declared = chunked ? end - start + 1 : Number(header);
  if (!chunked && declared > 0 && end !== start + declared - 1) throw mismatch(start, end, declared);
  if (declared < 0) throw mismatch(start, end, 0);
  const len = (await store.traces.length(job.id)) ?? 0;
  if (start > len) throw new HttpError(416, `chunk starts at ${start} but the trace has ${len} bytes`, undefined, { offset: len });
  if (start + declared > maxBytes)
    throw new HttpError(
      413,
      `trace would exceed the maximum size of ${maxBytes} bytes (has ${len}, chunk adds ${start + declared - len})`,
      undefined,
      { offset: len },
    );
  return { job, start, end, declared, chunked };
}

function answer(res: Response, out: AppendResult): boolean {
  if (out.ok) return true;
  res.set('Connection', 'close');
  if (out.kind === 'range') res.status(416).json({ error: out.message, offset: out.offset });
  else if (out.kind === 'too_large') res.status(413).json({ error: out.message, offset: out.offset });
  else res.status(404).json({ error: out.message });
  return false;
}

export function traceUpload(d: {
  store: Store;
  maxBytes: number;
  tokenGraceMs: number;
  /** Told which runner spoke, once its job token checked out (the reaper's hearing). */
  heard?: (runnerId: number | null) => void;
}): RequestHandler {
  return async (req, res) => {
    let p: Awaited<ReturnType<typeof preflight>>;
    try {
      p = await preflight(d.store, req, d.maxBytes, d.tokenGraceMs);
    } catch (err) {
      res.set('Connection', 'close'); // refuse without reading the body
      throw err;
    }
    const { job, start, end, declared } = p;
    d.heard?.(job.runner_id);
    let offset = start; // where the next piece goes
    let received = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let result: AppendResult = { ok: true, offset: (await d.store.traces.length(job.id)) ?? 0 };
    const flush = async (): Promise<boolean> => {
      if (pendingBytes === 0) return true;
      const piece = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      result = await d.store.traces.append(job.id, offset, piece, d.maxBytes);
      offset += piece.length;
      return answer(res, result);
    };
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        received += chunk.length;
        if (received > declared) {
          res.set('Connection', 'close');
          throw mismatch(start, end, received);
        }
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= TRACE_PIECE_BYTES && !(await flush())) return; // answered; Connection: close drops the rest
      }
    } catch (err) {
      if (err instanceof HttpError) throw err;
      // The runner went away mid-body: keep what arrived (its retry overlaps it byte for byte).
      await flush();
      return;
    }
    if (!(await flush())) return;
    if (p.chunked && received > 0 && received !== declared) throw mismatch(start, end, received);
    res.status(202).json({ offset: result.ok ? result.offset : offset } satisfies TraceAppendResponse);
  };
}
