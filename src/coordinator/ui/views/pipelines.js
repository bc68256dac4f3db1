// #/ — the pipelines list; refetched on pipeline events, polled only while the event stream
// is down and a pipeline is still moving.
import { getJson, query } from '../api.js';
import { classBadge, statusBadge } from '../badges.js';
import { duration, h, time } from '../dom.js';
import { isLive, refreshOn } from '../live.js';
import { pollEvery, refresher } from '../poll.js';
import { ACTIVE_STATUSES } from '../taxonomy.js';

const PAGE = 50;

export async function renderPipelines(ctx) {
  const offset = Math.max(0, Number(ctx.query.get('offset')) || 0);
  const status = ctx.query.get('status') ?? '';
  const ref = ctx.query.get('ref') ?? '';
  const r = refresher(
    async () => {
      const data = await getJson(`/api/v1/pipelines${query({ limit: PAGE, offset, status, ref })}`);
      if (ctx.signal.aborted) return false;
      ctx.root.replaceChildren(view(data, offset, { status, ref }));
      return data.pipelines.some((p) => ACTIVE_STATUSES.has(p.status));
    },
    pollEvery(isLive, 2000),
    ctx.signal,
    ctx.onError,
  );
  refreshOn(['pipeline'], r.refresh, ctx.signal);
  await r.first;
}

/** "3 infra · 1 build": every class among the failed jobs, not just the pipeline's verdict. */
export function failureCountsText(counts) {
  return ['infra', 'build', 'unknown']
    .filter((c) => counts?.[c])
    .map((c) => `${counts[c]} ${c === 'unknown' ? 'unclassified' : c}`)
    .join(' · ');
}

function view({ pipelines, total }, offset, filters) {
  const filtered = filters.status || filters.ref;
  return h(
    'section',
    { class: 'pipelines' },
    h(
      'header',
      { class: 'page-head' },
      h('h1', null, 'Pipelines'),
      h('span', { class: 'muted' }, `${total} total`),
      filtered ? h('a', { href: '#/', class: 'chip' }, `filtered: ${[filters.ref, filters.status].filter(Boolean).join(', ')} ✕`) : null,
    ),
    pipelines.length === 0
      ? h('p', { class: 'empty card' }, 'No pipelines yet. Create one with `faultline run` or POST /api/v1/pipelines.')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'list', id: 'pipelines-table' },
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ['#', 'Ref', 'Status', 'Failure', 'Created', 'Duration'].map((c) => h('th', { scope: 'col' }, c)),
              ),
            ),
            h('tbody', null, pipelines.map(row)),
          ),
        ),
    pager(total, offset, filters),
  );
}

function row(p) {
  return h(
    'tr',
    { dataset: { pipelineId: p.id, status: p.display_status ?? p.status } },
    h('td', { class: 'c-id' }, h('a', { href: `#/pipelines/${p.id}`, class: 'id' }, `#${p.id}`)),
    h(
      'td',
      { class: 'ref c-ref' },
      h('a', { href: `#/?ref=${encodeURIComponent(p.ref)}`, class: 'mono', title: 'only this ref' }, p.ref),
      p.sha ? h('span', { class: 'mono muted sha' }, ' ', p.sha.slice(0, 8)) : null,
      p.name && p.name !== p.ref ? h('div', { class: 'muted small' }, p.name) : null,
    ),
    h(
      'td',
      { class: 'c-status' },
      statusBadge(p.display_status ?? p.status),
      p.halted_by ? h('div', { class: 'small warn-text' }, `passed early by ${p.halted_by.name}`) : null,
    ),
    h(
      'td',
      { class: p.failure_class ? 'c-fail' : 'c-fail none' },
      p.failure_class ? classBadge(p.failure_class) : h('span', { class: 'muted' }, '—'),
      failureCountsText(p.failure_counts) ? h('div', { class: 'small fcounts' }, failureCountsText(p.failure_counts)) : null,
    ),
    h('td', { class: 'c-created' }, time(p.created_at)),
    h('td', { class: 'num c-dur' }, duration(p.started_at, p.finished_at)),
  );
}

function pager(total, offset, filters) {
  if (total <= PAGE) return null;
  const link = (o, label) => h('a', { href: `#/${query({ ...filters, offset: o || '' })}` }, label);
  return h(
    'nav',
    { class: 'pager' },
    offset > 0 ? link(Math.max(0, offset - PAGE), '← Newer') : null,
    h('span', { class: 'muted' }, `${offset + 1}–${Math.min(total, offset + PAGE)} of ${total}`),
    offset + PAGE < total ? link(offset + PAGE, 'Older →') : null,
  );
}
