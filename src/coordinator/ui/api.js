// API token handling and authenticated fetches.
const KEY = 'faultline.apiToken';

/** Takes `?token=` from the URL once (stores it, removes it from the address bar). */
export function adoptTokenFromUrl() {
  const url = new URL(location.href);
  const t = url.searchParams.get('token');
  if (t) {
    localStorage.setItem(KEY, t);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
}
export const getToken = () => localStorage.getItem(KEY);
export const setToken = (t) => localStorage.setItem(KEY, t);
export const clearToken = () => localStorage.removeItem(KEY);

export class ApiError extends Error {
  constructor(status, message, details) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.details = details;
  }
}

/** Raised on 401 so the app can ask for a token again. */
export class Unauthorized extends ApiError {}

async function call(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: { ...(init.headers ?? {}), Authorization: `Bearer ${getToken() ?? ''}` },
  });
  if (res.status === 401) throw new Unauthorized(401, 'the API token was refused');
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    let details;
    try {
      const body = await res.json();
      if (body?.error) msg = `${res.status}: ${body.error}`;
      details = body?.details;
    } catch {
      /* not JSON: keep the status line */
    }
    throw new ApiError(res.status, msg, details);
  }
  return res;
}

export async function getJson(path) {
  return (await call(path)).json();
}
export async function postJson(path, body) {
  const init = { method: 'POST' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'Content-Type': 'application/json' };
  }
  return (await call(path, init)).json();
}

/** DELETE `path` (e.g. a runner); the API answers 204 with no body. */
export async function del(path) {
  await call(path, { method: 'DELETE' });
}

/** Fetches `path` with the token and saves it as `filename` (links cannot carry the Bearer header). */
export async function download(path, filename) {
  const blob = await (await call(path)).blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** One incremental read of a job log: the bytes after `offset` and whether the log is complete. */
export async function getTrace(jobId, offset) {
  const res = await call(`/api/v1/jobs/${encodeURIComponent(jobId)}/trace?offset=${offset}`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { bytes, complete: res.headers.get('X-Trace-Complete') === 'true' };
}

/** Builds `?a=1&b=2` from the non-empty entries of an object. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
