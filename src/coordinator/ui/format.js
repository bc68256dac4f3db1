// Pure formatting helpers (no DOM), so node tests can import them.

/** Seconds as a short human duration: "<1s", "42s", "4m 12s", "2h 5m", "3d 4h"; null → "—". */
export function humanSeconds(seconds) {
  if (seconds == null || seconds === '' || !Number.isFinite(Number(seconds))) return '—';
  const n = Math.max(0, Number(seconds));
  // Sub-second spans happen (a pull retried at once): "0s" would read as "no time".
  if (n > 0 && n < 1) return '<1s';
  let s = Math.round(n);
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  s %= 60;
  if (d) return h ? `${d}d ${h}h` : `${d}d`;
  if (h) return m ? `${h}h ${m}m` : `${h}h`;
  return s ? `${m}m ${s}s` : `${m}m`;
}

/** Local date and time with seconds, for titles and timelines. */
export function absolute(iso) {
  if (!iso) return '';
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? String(iso) : t.toLocaleString();
}

/** "+1m 5s" from `fromIso` to `iso`, for timeline entries after the first. */
export function offset(fromIso, iso) {
  const d = (Date.parse(iso) - Date.parse(fromIso)) / 1000;
  return Number.isFinite(d) ? `+${humanSeconds(d)}` : '';
}
