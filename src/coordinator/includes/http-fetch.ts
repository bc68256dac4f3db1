/**
 * HTTP(S) GET for include:remote and the GitLab API: a timeout per request, a size
 * limit on the body (GitLab's default max YAML size is 2 MB), http/https only. A 404
 * (or other 4xx) is `missing` — the configuration names something that is not there;
 * a network error, a timeout or a 5xx is `unreachable` — lint warns and goes on.
 */
import { missing, unreachable, type FetchOutcome } from '../../config/index.js';

export interface HttpLimits {
  timeoutMs: number;
  maxBytes: number;
}
export const DEFAULT_HTTP_LIMITS: HttpLimits = { timeoutMs: 10_000, maxBytes: 2 * 1024 * 1024 };

export interface HttpText {
  ok: true;
  status: number;
  text: string;
}

/** GET `url`; non-2xx answers come back as failures with `describe(status, body)` as the reason. */
export async function httpGet(
  url: string,
  headers: Record<string, string>,
  limits: HttpLimits,
  describe: (status: number, body: string) => string = (s) => `could not be fetched because of HTTP code \`${s}\` error!`,
): Promise<HttpText | Exclude<FetchOutcome, { ok: true }>> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return missing(`\`${url}\` is not a valid URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return missing(`only http:// and https:// addresses can be fetched (got ${u.protocol})`);
  let res: Response;
  let body: string | null;
  // The timeout covers the whole exchange: headers and body (a server may stall mid-body).
  try {
    res = await fetch(u, { headers, redirect: 'follow', signal: AbortSignal.timeout(limits.timeoutMs) });
    body = await readLimited(res, limits.maxBytes);
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    if (err.name === 'TimeoutError' || err.name === 'AbortError')
      return unreachable(`could not be fetched because of a timeout error! (no answer within ${limits.timeoutMs / 1000} s)`);
    return unreachable(`could not be fetched because of a socket error! (${err.cause?.code ?? err.message})`);
  }
  if (body === null) return missing(`is larger than ${limits.maxBytes} bytes, the limit for an included file`);
  if (res.status >= 500) return unreachable(describe(res.status, body));
  if (res.status < 200 || res.status >= 300) return missing(describe(res.status, body));
  return { ok: true, status: res.status, text: body };
}

/** The body as text, or null when it exceeds `max` bytes (reading stops there). */
async function readLimited(res: Response, max: number): Promise<string | null> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel();
    return null;
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** include:remote: a public URL, no credentials sent. */
export function remoteFetcher(limits: HttpLimits = DEFAULT_HTTP_LIMITS): (url: string) => Promise<FetchOutcome> {
  return async (url) => {
    const r = await httpGet(
      url,
      { accept: 'text/plain, application/x-yaml, */*' },
      limits,
      (s) => `Remote file could not be fetched because of HTTP code \`${s}\` error!`,
    );
    return r.ok ? { ok: true, text: r.text } : r;
  };
}
