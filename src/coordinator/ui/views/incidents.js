// #/incidents — shows /api/v1/incidents when the coordinator has it, else says so.
import { ApiError, getJson } from '../api.js';
import { h, time } from '../dom.js';

export async function renderIncidents(ctx) {
  let data;
  try {
    data = await getJson('/api/v1/incidents');
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 501)) {
      ctx.root.replaceChildren(page(h('p', { class: 'empty card', id: 'incidents-unavailable' }, 'Incidents are not available on this coordinator.')));
      return;
    }
    throw err;
  }
  if (ctx.signal.aborted) return;
  const rows = Array.isArray(data) ? data : (data?.incidents ?? []);
  ctx.root.replaceChildren(page(rows.length ? generic(rows) : h('p', { class: 'empty card' }, 'No incidents.')));
}

const page = (body) => h('section', { class: 'incidents' }, h('header', { class: 'page-head' }, h('h1', null, 'Incidents')), body);

/** The incident shape is not fixed yet: show every scalar field as a column. */
function generic(rows) {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r ?? {})))].filter((k) => rows.some((r) => isScalar(r?.[k])));
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'list', id: 'incidents-table' },
      h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, rows.map((r) => h('tr', null, cols.map((c) => h('td', null, cell(c, r?.[c])))))),
    ),
  );
}

const isScalar = (v) => v == null || ['string', 'number', 'boolean'].includes(typeof v);
const cell = (k, v) => (v == null ? '—' : /_at$/.test(k) && typeof v === 'string' ? time(v) : String(v));
