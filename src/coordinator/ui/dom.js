import { spanText } from './format.js';

// Tiny DOM helpers. Every piece of API data goes through textContent or
// setAttribute — never innerHTML — so log lines and job names cannot inject markup.

/**
 * h('div', {class: 'x', dataset: {status: 'failed'}, onclick: fn}, 'text', child, [more])
 * Children: strings/numbers become text nodes; null/false are skipped; arrays are flattened.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v == null || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'disabled' || k === 'selected') el[k] = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Relative time like "3 min ago", for lists; the absolute time goes in the title. */
export function ago(iso, now = Date.now()) {
  if (!iso) return '—';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return String(iso);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/**
 * Duration between two ISO times. While running (no end) the element carries
 * data-tick-from and the page's one ticker (startTicker) keeps it counting.
 */
export function duration(startIso, endIso) {
  const el = h('span', { class: 'dur', dataset: startIso && !endIso ? { tickFrom: startIso } : null }, spanText(startIso, endIso));
  return el;
}

/** Every second, running durations on the page advance (no refetch needed). */
export function startTicker() {
  return setInterval(() => {
    for (const el of document.querySelectorAll('[data-tick-from]')) el.textContent = spanText(el.dataset.tickFrom, null);
  }, 1000);
}

export function time(iso) {
  return h('time', { datetime: iso ?? '', title: iso ? new Date(iso).toLocaleString() : '' }, ago(iso));
}

/** A short message that does not replace the page (e.g. a refused job action). */
export function toast(message, kind = 'error') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', 'aria-live': 'assertive' });
    document.body.appendChild(box);
  }
  const el = h('div', { class: `toast ${kind}`, role: 'alert' }, message);
  box.appendChild(el);
  setTimeout(() => el.remove(), 6000);
}
