// Server-sent events (GET /api/v1/events): one EventSource per page, shared by the views.
// Views refetch what an event names; polling is only the fallback while the stream is down.
import { getToken } from './api.js';

const NAMES = ['pipeline', 'job', 'incident', 'runner'];
const subs = new Map(NAMES.map((n) => [n, new Set()]));
const statusSubs = new Set();
let es = null;
let open = false;

function setOpen(v) {
  if (open === v) return;
  open = v;
  document.documentElement.dataset.live = v ? 'on' : 'off';
  for (const f of statusSubs) f(v);
}

/** Opens the stream (idempotent); the browser reconnects by itself after a drop. */
export function connect() {
  if (es || typeof EventSource === 'undefined' || !getToken()) return;
  es = new EventSource(`/api/v1/events?token=${encodeURIComponent(getToken())}`);
  es.onopen = () => setOpen(true);
  es.onerror = () => {
    setOpen(false);
    // A refused token closes the stream for good: stay on polling until the next token.
    if (es?.readyState === EventSource.CLOSED) es = null;
  };
  for (const n of NAMES)
    es.addEventListener(n, (e) => {
      let data;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      for (const f of subs.get(n)) f(data, n);
    });
}

export function disconnect() {
  es?.close();
  es = null;
  setOpen(false);
}

/** True while events arrive: views may stop polling. */
export const isLive = () => open;

/** Calls `fn(data, name)` for events named in `names` until `signal` aborts. */
export function onEvents(names, fn, signal) {
  connect();
  for (const n of names) subs.get(n)?.add(fn);
  signal?.addEventListener('abort', () => names.forEach((n) => subs.get(n)?.delete(fn)), { once: true });
}

/** Calls `fn(isLive)` when the stream opens or drops. */
export function onLiveChange(fn, signal) {
  statusSubs.add(fn);
  signal?.addEventListener('abort', () => statusSubs.delete(fn), { once: true });
}

/**
 * Runs `refresh` (debounced: a burst of events is one refetch) on matching events;
 * `want(data, name)` filters. Also refreshes when the stream comes back (events may have
 * been missed while it was down).
 */
export function refreshOn(names, refresh, signal, want = () => true, waitMs = 100) {
  let timer = null;
  const kick = () => {
    if (timer || signal.aborted) return;
    timer = setTimeout(() => {
      timer = null;
      if (!signal.aborted) refresh();
    }, waitMs);
  };
  onEvents(names, (d, n) => want(d, n) && kick(), signal);
  onLiveChange((live) => live && kick(), signal);
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
}
