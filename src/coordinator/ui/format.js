// Pure formatting helpers (no DOM), so node tests can import them.

/** Seconds as a short human duration: "40ms", "0.4s", "42s", "4m 12s", "2h 5m", "3d 4h"; null → "—". */
export function humanSeconds(seconds) {
  if (seconds == null || seconds === '' || !Number.isFinite(Number(seconds))) return '—';
  const n = Math.max(0, Number(seconds));
  // Sub-second spans happen (a pull retried at once): "0s" would read as "no time".
  if (n > 0 && n < 1) return subSecond(n, '');
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

/** 0 < n < 1 seconds: "40ms" under a tenth, else "0.4s" (`sep` goes before the unit). */
export function subSecond(n, sep) {
  return n < 0.1 ? `${Math.max(1, Math.round(n * 1000))}${sep}ms` : `${Math.min(0.9, Math.round(n * 10) / 10)}${sep}s`;
}

/** Time between two ISO times (end defaults to now while running): "12 ms", "0.4 s", "5 s", "2 min 5 s", "1 h 3 min". */
export function spanText(startIso, endIso, now = Date.now()) {
  if (!startIso) return '—';
  const end = endIso ? Date.parse(endIso) : now;
  const exact = Math.max(0, (end - Date.parse(startIso)) / 1000);
  if (!Number.isFinite(exact)) return '—';
  if (endIso && exact > 0 && exact < 1) return subSecond(exact, ' ');
  let s = Math.floor(exact);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  s %= 60;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s} s`;
  return `${s} s`;
}
