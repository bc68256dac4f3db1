// #/incidents — infra incidents (open first) under a small MTTR summary, then the error
// lines no rule knows that fail many jobs ("unclassified, widespread"); the state filter
// lives in the hash (?state=open|acknowledged|resolved, none = every incident that opened).
import { getJson, query } from '../api.js';
import { incidentStateBadge } from '../badges.js';
import { h, time } from '../dom.js';
import { absolute, humanSeconds } from '../format.js';
import { isLive, refreshOn } from '../live.js';
import { pollEvery, refresher } from '../poll.js';

export const STATES = [
  ['', 'All'],
  ['open', 'Open'],
  ['acknowledged', 'Acknowledged'],
  ['resolved', 'Resolved'],
];

export async function renderIncidents(ctx) {
  const raw = ctx.query.get('state') ?? '';
  const state = STATES.some(([v]) => v === raw) ? raw : '';
  const r = refresher(
    async () => {
      const [data, mttr, wide] = await Promise.all([
        getJson(`/api/v1/incidents${query({ state, limit: 200 })}`),
        // The summary and the widespread lines are a bonus: the list must still show when they fail.
        getJson('/api/v1/mttr').catch((err) => ({ error: err })),
        getJson('/api/v1/incidents/widespread').catch(() => ({ lines: [] })),
      ]);
      if (ctx.signal.aborted) return false;
      const rows = sortOpenFirst(data.incidents ?? []);
      ctx.root.replaceChildren(view(rows, mttr, state, wide.lines ?? []));
      // Open incidents' "so far" durations grow: refresh while any is open.
      return rows.some((i) => i.state === 'open' || i.state === 'acknowledged');
    },
    pollEvery(isLive, 5000, 30_000),
    ctx.signal,
    ctx.onError,
  );
  refreshOn(['incident'], r.refresh, ctx.signal);
  await r.first;
}

/** Open incidents first (newest first within each group), as the API sorts by opened_at only. */
export function sortOpenFirst(rows) {
  const rank = (i) => (i.state === 'open' ? 0 : i.state === 'acknowledged' ? 1 : 2);
  return [...rows].sort((a, b) => rank(a) - rank(b) || Date.parse(b.opened_at) - Date.parse(a.opened_at) || b.id - a.id);
}

function view(rows, mttr, state, wide) {
  const open = rows.filter((i) => i.state === 'open').length;
  return h(
    'section',
    { class: 'incidents' },
    h(
      'header',
      { class: 'page-head' },
      h('h1', null, 'Incidents'),
      h('span', { class: 'muted' }, `${rows.length} shown${open ? ` · ${open} open` : ''}`),
      h('span', { class: 'spacer' }),
      stateFilter(state),
    ),
    mttrBox(mttr),
    rows.length === 0
      ? h(
          'p',
          { class: 'empty card', id: 'incidents-empty' },
          state ? `No ${state} incidents.` : 'No incidents: no infrastructure failure has been recorded.',
        )
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'list', id: 'incidents-table' },
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ['State', 'Cause', 'Target', 'Opened', 'Duration', 'Jobs'].map((c) =>
                  h('th', { scope: 'col', class: c === 'Jobs' || c === 'Duration' ? 'num' : null }, c),
                ),
              ),
            ),
            h('tbody', null, rows.map(row)),
          ),
        ),
    widespreadBox(wide),
  );
}

/** Error lines no rule knows, failing many jobs of different projects/refs: suspected incidents. */
function widespreadBox(lines) {
  if (!lines.length) return null;
  return h(
    'section',
    { class: 'card widespread', id: 'widespread', 'aria-label': 'unclassified, widespread' },
    h('h2', null, 'Unclassified, widespread ', h('span', { class: 'muted small' }, '· no rule knows these lines; write one from them')),
    h(
      'ol',
      { class: 'widespread-lines' },
      lines.map((l, n) =>
        h(
          'li',
          { dataset: { jobs: l.job_count } },
          h('code', { class: 'line' }, l.example_line),
          h(
            'div',
            { class: 'small muted' },
            `${l.job_count} jobs · ${l.project_count} projects · ${l.ref_count} refs · `,
            time(l.first_at),
            ' … ',
            time(l.last_at),
            ' · ',
            h('code', null, `faultline rules test --from-widespread ${n + 1}`),
          ),
        ),
      ),
    ),
  );
}

function stateFilter(state) {
  return h(
    'nav',
    { class: 'seg', id: 'incident-state-filter', 'aria-label': 'incident state' },
    STATES.map(([v, label]) =>
      h(
        'a',
        { href: `#/incidents${query({ state: v })}`, dataset: { state: v || 'all' }, 'aria-current': v === state ? 'page' : null },
        label,
      ),
    ),
  );
}

function row(i) {
  const href = `#/incidents/${i.id}`;
  return h(
    'tr',
    { dataset: { incidentId: i.id, state: i.state } },
    h('td', { class: 'c-state' }, h('a', { href, class: 'plain' }, incidentStateBadge(i.state))),
    h('td', { class: 'c-cause' }, h('a', { href, class: 'cause' }, i.cause), h('div', { class: 'small muted' }, `incident #${i.id}`)),
    h(
      'td',
      { class: 'c-target' },
      h('code', { class: 'target' }, i.target),
      ' ',
      h('span', { class: 'chip scope', title: 'the dependency that failed' }, i.dependency?.kind ?? i.scope),
    ),
    h(
      'td',
      { class: 'c-opened' },
      time(i.opened_at ?? i.first_failure_at),
      h('div', { class: 'small muted' }, absolute(i.opened_at ?? i.first_failure_at)),
    ),
    h(
      'td',
      {
        class: 'num c-dur',
        title: i.state !== 'resolved' ? 'open so far' : `resolved ${absolute(i.resolved_at)}${i.resolved_by ? ` (${i.resolved_by})` : ''}`,
      },
      humanSeconds(i.duration_seconds),
      h('div', { class: 'small muted' }, i.state !== 'resolved' ? 'so far' : 'total'),
    ),
    h('td', { class: 'num c-jobs' }, String(i.job_count), h('div', { class: 'small muted' }, i.job_count === 1 ? 'job' : 'jobs')),
  );
}

/** Time to recovery: pipelines back to green (infra vs build failures) and incidents. */
function mttrBox(m) {
  if (m?.error) return h('p', { class: 'card small error', id: 'mttr-summary' }, `MTTR unavailable: ${m.error.message}`);
  const days = Math.round((Date.parse(m.until) - Date.parse(m.since)) / 86_400_000);
  const stat = (kind, title, s, note) =>
    h(
      'div',
      { class: 'mttr-stat', dataset: { kind } },
      h(
        'h3',
        null,
        h('span', { class: 'dot', dataset: { class: kind === 'build' ? 'build' : 'infra' }, 'aria-hidden': 'true' }),
        ' ',
        title,
      ),
      h(
        'p',
        { class: 'mttr-mean' },
        h('span', { class: 'big', dataset: { field: 'mean' } }, humanSeconds(s.mean_seconds)),
        h('span', { class: 'muted small' }, ' mean'),
      ),
      h(
        'p',
        { class: 'small muted' },
        h('span', { dataset: { field: 'count' } }, `${s.count} recovered`),
        ' · p50 ',
        h('span', { dataset: { field: 'p50' } }, humanSeconds(s.p50_seconds)),
        note ? ` · ${note}` : '',
      ),
    );
  return h(
    'section',
    { class: 'mttr card', id: 'mttr-summary', 'aria-label': 'time to recovery' },
    h(
      'h2',
      null,
      'Time to recovery ',
      h(
        'span',
        { class: 'muted small', title: `${absolute(m.since)} – ${absolute(m.until)}` },
        `· last ${days === 1 ? 'day' : `${days} days`}`,
      ),
    ),
    h(
      'div',
      { class: 'mttr-grid' },
      stat('infra', 'Pipelines after infra failures', m.pipelines.infra),
      stat('build', 'Pipelines after build failures', m.pipelines.build),
      stat('incident', 'Infra incidents', m.incidents, `${m.incidents.open} open now`),
    ),
  );
}
