/** Tiny client of the user API for the CLI commands. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Connection {
  url: string;
  token: string;
}

export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  constructor(
    readonly status: number,
    readonly body: { error?: string; details?: Array<{ path: string; line?: number; column?: number; message: string; file?: string }> },
  ) {
    super(body.error ?? `HTTP ${status}`);
  }
}

/** --url/--token flags, else FAULTLINE_URL/FAULTLINE_API_TOKEN, else the local data dir's token. */
export function resolveConnection(opts: { url?: string; token?: string; data?: string }): Connection {
  const url = (opts.url ?? process.env.FAULTLINE_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  let token = opts.token ?? process.env.FAULTLINE_API_TOKEN;
  const tokenFile = join(opts.data ?? '.faultline', 'api-token');
  if (!token && existsSync(tokenFile)) token = readFileSync(tokenFile, 'utf8').trim();
  if (!token) throw new Error(`no API token: pass --token, set FAULTLINE_API_TOKEN, or run where ${tokenFile} exists`);
  return { url, token };
}

export async function api<T>(conn: Connection, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(conn.url + path, {
    method,
    headers: {
      authorization: `Bearer ${conn.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const parsed = text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
  if (!res.ok) throw new ApiRequestError(res.status, typeof parsed === 'object' ? parsed : { error: String(parsed) });
  return parsed as T;
}
