/** `since`/`until` query values: ISO 8601 times or relative ages like 30m, 24h, 7d, 2w. */
import { HttpError } from './errors.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Dates can only hold ±8.64e15 ms; anything past that is refused rather than thrown on later. */
const MAX_DATE_MS = 8.64e15;

export function parseTime(raw: string | undefined, field: string, now = Date.now()): number | undefined {
  if (raw === undefined) return undefined;
  const rel = /^(\d{1,9})([smhdw])$/.exec(raw.trim());
  const t = rel ? now - Number(rel[1]) * UNIT_MS[rel[2]!]! : /^\d{4}-\d{2}-\d{2}/.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isFinite(t) && Math.abs(t) <= MAX_DATE_MS) return t;
  throw new HttpError(400, `${field} must be an ISO 8601 time or a relative age like 24h or 7d, got ${JSON.stringify(raw)}`, [
    { path: field, message: 'must be an ISO 8601 time or a relative age (e.g. 30m, 24h, 7d)' },
  ]);
}

export function encodeCursor(c: { finished_at: number; id: number }): string {
  return Buffer.from(`${c.finished_at}:${c.id}`).toString('base64url');
}

export function decodeCursor(raw: string | undefined): { finished_at: number; id: number } | undefined {
  if (raw === undefined) return undefined;
  const m = /^(\d{1,16}):(\d{1,16})$/.exec(Buffer.from(raw, 'base64url').toString('utf8'));
  if (!m)
    throw new HttpError(400, 'cursor is not valid (pass back next_cursor unchanged)', [
      { path: 'cursor', message: 'not a cursor from this API' },
    ]);
  return { finished_at: Number(m[1]), id: Number(m[2]) };
}
