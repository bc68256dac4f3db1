// #/failures — the failures API as a form (reflected in the hash), a table, and a summary.
import { ApiError, getJson, query, Unauthorized } from '../api.js';
import { classBadge } from '../badges.js';
import { h, time } from '../dom.js';
import { CLASS_INFO, FAILURE_CLASSES, FAILURE_REASONS } from '../taxonomy.js';

/** A proportional bar; its width goes through CSSOM (a style attribute would break the CSP's style-src 'self'). */
function barOf(percent) {
  const bar = h('span', { class: 'bar', 'aria-hidden': 'true' });
  bar.style.setProperty('--w', `${percent}%`);
  return bar;
}

// executor, registry and runner_name are the dashboards' variables: a Grafana data link lands
// here with them (a csv list for several values); `until` bounds the time range of the panel.
export const FILTERS = [
  'class',
  'reason',
  'cause',
  'ref',
  'job',
  'runner',
  'runner_name',
  'executor',
  'registry',
  'image',
  'since',
  'until',
];

/** Grafana's "All" of a dashboard variable (allValue `.*`, or `$__all`) is no filter. */
const ALL = new Set(['.*', '$__all']);

export async function renderFailures(ctx) {
  const f = Object.fromEntries(
    FILTERS.map((k) => {
      const v = ctx.query.get(k) ?? '';
      return [k, ALL.has(v) ? '' : v];
    }),
  );
  const cursor = ctx.query.get('cursor') ?? '';
  const body = h('div', { class: 'failures-body' }, h('p', { class: 'muted' }, 'Loading…'));
  // The form shows at once and stays, so a rejected filter can be corrected in place.
  ctx.root.replaceChildren(
    h('section', { class: 'failures' }, h('header', { class: 'page-head' }, h('h1', null, 'Failures')), form(f), body),
  );
  let list, summary;
  try {
    [list, summary] = await Promise.all([
      getJson(`/api/v1/failures${query({ ...f, cursor, limit: 50 })}`),
      getJson(`/api/v1/failures/summary${query({ since: f.since, until: f.until })}`).catch((err) => ({ error: err })),
    ]);
  } catch (err) {
    if (!(err instanceof ApiError) || err instanceof Unauthorized || err.status !== 400) throw err;
    if (ctx.signal.aborted) return;
    body.replaceChildren(filterError(err));
    for (const d of err.details ?? []) ctx.root.querySelector(`#f-${CSS.escape(d.path)}`)?.setAttribute('aria-invalid', 'true');
    return;
  }
  if (ctx.signal.aborted) return;
  body.replaceChildren(table(list, f), summaryBox(summary, f));
}

function filterError(err) {
  return h(
    'div',
    { class: 'error card', role: 'alert', id: 'filter-error' },
    h('strong', null, 'The filter was rejected: '),
    err.message,
    err.details?.length
      ? h(
          'ul',
          null,
          err.details.map((d) => h('li', null, h('code', null, d.path), ': ', d.message)),
        )
      : null,
  );
}

const hashFor = (f) => `#/failures${query(f)}`;

function form(f) {
  const sel = (name, options, anyLabel) =>
    h(
      'select',
      { name, id: `f-${name}` },
      h('option', { value: '' }, anyLabel),
      options.map(([v, label]) => h('option', { value: v, selected: f[name] === v }, label)),
    );
  const text = (name, placeholder, extra = {}) =>
    h('input', { type: 'text', name, id: `f-${name}`, value: f[name], placeholder, ...extra });
  const field = (name, label, control) => h('div', { class: 'field' }, h('label', { for: `f-${name}` }, label), control);
  return h(
    'form',
    {
      class: 'filters card',
      id: 'failure-filters',
      onsubmit: (e) => {
        e.preventDefault();
        const data = new FormData(e.currentTarget);
        location.hash = hashFor(Object.fromEntries(FILTERS.map((k) => [k, String(data.get(k) ?? '').trim()])));
      },
      onchange: (e) => {
        if (e.target.tagName === 'SELECT') e.currentTarget.requestSubmit();
      },
    },
    field(
      'class',
      'Class',
      sel(
        'class',
        FAILURE_CLASSES.map((c) => [c, `${CLASS_INFO[c].icon} ${CLASS_INFO[c].label}`]),
        'any class',
      ),
    ),
    field(
      'reason',
      'Reason',
      sel(
        'reason',
        FAILURE_REASONS.map((r) => [r, r]),
        'any reason',
      ),
    ),
    field('cause', 'Cause', text('cause', 'e.g. registry_unreachable')),
    field('ref', 'Ref', text('ref', 'branch or tag')),
    field('job', 'Job', text('job', 'job name')),
    field('runner', 'Runner', text('runner', 'runner id', { inputmode: 'numeric' })),
    field('runner_name', 'Runner name', text('runner_name', 'name(s), comma-separated')),
    field('executor', 'Executor', text('executor', 'e.g. docker')),
    field('registry', 'Registry', text('registry', 'registry host')),
    field('image', 'Image', text('image', 'image')),
    field('since', 'Since', text('since', '24h, 7d or ISO time')),
    field('until', 'Until', text('until', 'ISO time (default: now)')),
    h(
      'div',
      { class: 'field buttons' },
      h('button', { type: 'submit', class: 'primary' }, 'Filter'),
      h('a', { href: '#/failures', class: 'btn' }, 'Clear'),
    ),
  );
}

function table({ failures, next_cursor }, f) {
  if (!failures.length) return h('div', { class: 'list-col' }, h('p', { class: 'empty card' }, 'No failures match.'));
  return h(
    'div',
    { class: 'list-col' },
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'list', id: 'failures-table' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Class', 'Job', 'Cause', 'Summary'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          null,
          failures.map((j) =>
            h(
              'tr',
              { dataset: { jobId: j.id, class: j.failure.class } },
              h('td', null, classBadge(j.failure.class)),
              h(
                'td',
                { class: 'job-col' },
                h('a', { href: `#/jobs/${j.id}`, class: 'job-name' }, j.name),
                h(
                  'div',
                  { class: 'small muted' },
                  h('a', { href: `#/pipelines/${j.pipeline_id}` }, `pipeline #${j.pipeline_id}`),
                  ' · ',
                  h('code', null, j.ref),
                  j.runner_id != null ? ` · runner #${j.runner_id}` : '',
                ),
                h('div', { class: 'small muted' }, time(j.finished_at ?? j.created_at)),
              ),
              h(
                'td',
                null,
                h('a', { href: hashFor({ ...f, cause: j.failure.cause }), class: 'cause' }, j.failure.cause),
                h('div', null, h('code', { class: 'small muted' }, j.failure.reason)),
                decidedBy(j.failure),
              ),
              h(
                'td',
                { class: 'summary' },
                j.failure.summary,
                j.failure.image ? h('div', { class: 'small muted' }, 'image ', h('code', null, j.failure.image)) : null,
              ),
            ),
          ),
        ),
      ),
    ),
    next_cursor ? h('nav', { class: 'pager' }, h('a', { href: hashFor({ ...f, cursor: next_cursor }) }, 'Older →')) : null,
  );
}

function summaryBox(summary, f) {
  if (summary.error)
    return h('aside', { class: 'summary-box card' }, h('p', { class: 'error' }, `Summary unavailable: ${summary.error.message}`));
  const max = Math.max(1, ...summary.by_class.map((c) => c.count));
  return h(
    'aside',
    { class: 'summary-box card', id: 'failure-summary', 'aria-label': 'failure summary' },
    h('h2', null, 'Summary'),
    h('p', { class: 'small muted' }, `${summary.total} failures · since `, time(summary.since)),
    h(
      'ul',
      { class: 'by-class' },
      summary.by_class.map((c) =>
        h(
          'li',
          { dataset: { class: c.class } },
          h('a', { href: hashFor({ ...f, class: c.class }) }, classBadge(c.class, { short: true })),
          barOf((100 * c.count) / max),
          h('span', { class: 'count' }, String(c.count)),
        ),
      ),
    ),
    summary.by_cause.length
      ? h(
          'table',
          { class: 'list compact' },
          h('thead', null, h('tr', null, h('th', null, 'Cause'), h('th', { class: 'num' }, 'Count'))),
          h(
            'tbody',
            null,
            summary.by_cause.map((c) =>
              h(
                'tr',
                { dataset: { class: c.class } },
                h(
                  'td',
                  null,
                  h('span', { class: 'dot', dataset: { class: c.class }, title: CLASS_INFO[c.class]?.label ?? c.class }),
                  h('span', { class: 'sr-only' }, `${CLASS_INFO[c.class]?.label ?? c.class}: `),
                  ' ',
                  h('a', { href: hashFor({ ...f, class: c.class, cause: c.cause }) }, c.cause),
                ),
                h('td', { class: 'num' }, String(c.count)),
              ),
            ),
          ),
        )
      : null,
  );
}

/** What decided the verdict (issue 9, item 6): the rule, or the fallback — never left unsaid. */
function decidedBy(f) {
  return f.rule
    ? h('div', { class: 'small muted decided', dataset: { decided: 'rule' } }, 'rule ', h('code', null, f.rule.id))
    : h('div', { class: 'small decided fallback', dataset: { decided: 'fallback' } }, 'no rule matched (fallback)');
}
