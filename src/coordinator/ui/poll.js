// Polling that stops when the view goes away (the route's AbortSignal).

/**
 * Calls `tick` now and then every `ms` (a number or a function giving it) while it resolves
 * true and `signal` is live.
 * `refresh()` runs a tick at once (after a user action) and re-arms the timer.
 * Errors go to `onError` and stop the loop (a refused token must not spin).
 */
export function refresher(tick, ms, signal, onError) {
  let timer = null;
  let running = null;
  const run = async () => {
    clearTimeout(timer);
    if (signal.aborted) return;
    let again = false;
    try {
      again = await tick();
    } catch (err) {
      if (!signal.aborted) onError(err);
      return;
    }
    if (again && !signal.aborted) timer = setTimeout(refresh, typeof ms === 'function' ? ms() : ms);
  };
  // Ticks never overlap: a refresh during a tick waits for it, then runs once more.
  const refresh = () => {
    running = (running ?? Promise.resolve()).then(run);
    return running;
  };
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  return { refresh, first: refresh() };
}

/** Sleeps unless aborted first. */
export const sleep = (ms, signal) =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** While the event stream is up, busy views poll slowly (a safety net); without it, every `ms`. */
export const pollEvery =
  (isLive, ms, liveMs = 15_000) =>
  () =>
    isLive() ? liveMs : ms;
