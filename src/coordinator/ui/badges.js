import { h } from './dom.js';
import { CLASS_INFO, statusIcon, statusLabel } from './taxonomy.js';

export function statusBadge(status) {
  return h(
    'span',
    { class: 'badge status', dataset: { status }, title: `status: ${status}` },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, statusIcon(status)),
    ' ',
    statusLabel(status),
  );
}

/** The failure class badge: e.g. "⚙ Infrastructure — operators' to fix". */
export function classBadge(cls, { short = false } = {}) {
  if (!cls) return null;
  const info = CLASS_INFO[cls] ?? CLASS_INFO.unknown;
  const text = short || !info.owner ? info.label : `${info.label} — ${info.owner}`;
  return h(
    'span',
    { class: 'badge fclass', dataset: { class: cls }, title: `failure class: ${cls}` },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, info.icon),
    ' ',
    text,
  );
}

/** An incident's state: OPEN in the infra colour (operators' outage), resolved muted. */
export function incidentStateBadge(state) {
  const open = state === 'open';
  const label = { open: 'OPEN', acknowledged: 'acknowledged', pending: 'pending', resolved: 'resolved' }[state] ?? state;
  const icon = { open: '●', acknowledged: '◐', pending: '○' }[state] ?? '✓';
  return h(
    'span',
    { class: 'badge istate', dataset: { state }, title: `incident ${state}` },
    h('span', { class: 'icon', 'aria-hidden': 'true' }, open ? '●' : icon),
    ' ',
    label,
  );
}
