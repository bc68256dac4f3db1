// #/runners — the fleet: state, last contact, version, executor, tags, jobs running, recent
// infra failures (GET /api/v1/runners). Fields an older coordinator lacks show as "—".
// "Remove" (DELETE /api/v1/runners/:id, after a confirm) forgets a runner: its token stops
// working and an incident about it resolves with that reason.
import { del, getJson, Unauthorized } from '../api.js';
import { h, time, toast } from '../dom.js';
import { isLive, refreshOn } from '../live.js';
import { pollEvery, refresher } from '../poll.js';

export async function renderRunners(ctx) {
  const r = refresher(
    async () => {
      const { runners } = await getJson('/api/v1/runners');
      if (ctx.signal.aborted) return false;
      ctx.root.replaceChildren(view(runners, (x) => remove(x, ctx, r)));
      return true; // "last contact" ages: look again now and then
    },
    pollEvery(isLive, 10_000, 60_000),
    ctx.signal,
    ctx.onError,
  );
  refreshOn(['runner', 'job'], r.refresh, ctx.signal, (d, n) => n === 'runner' || d.status === 'running' || d.classified, 300);
  await r.first;
}

async function remove(x, ctx, r) {
  const what = `runner ${x.name} (#${x.id})`;
  if (!window.confirm(`Remove ${what}? Its token stops working; to come back it must register again.`)) return;
  try {
    await del(`/api/v1/runners/${encodeURIComponent(x.id)}`);
    toast(`Removed ${what}`, 'info');
  } catch (err) {
    if (err instanceof Unauthorized) return ctx.onError(err);
    toast(`Remove ${what}: ${err.message}`);
  }
  await r.refresh();
}

const dash = (v) => (v == null || v === '' ? '—' : String(v));

function view(runners, onRemove) {
  const counts = {};
  for (const x of runners) counts[x.state] = (counts[x.state] ?? 0) + 1;
  return h(
    'section',
    { class: 'runners' },
    h(
      'header',
      { class: 'page-head' },
      h('h1', null, 'Runners'),
      h(
        'span',
        { class: 'muted', id: 'runner-counts' },
        Object.entries(counts)
          .map(([k, n]) => `${n} ${k}`)
          .join(' · ') || 'none',
      ),
    ),
    runners.length === 0
      ? h('p', { class: 'empty card' }, 'No runner has registered yet.')
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'list', id: 'runners-table' },
            h(
              'thead',
              null,
              h(
                'tr',
                null,
                ['Runner', 'State', 'Last contact', 'Version', 'Executor', 'Tags', 'Jobs running', 'Infra failures', ''].map((c) =>
                  h('th', { scope: 'col' }, c),
                ),
              ),
            ),
            h(
              'tbody',
              null,
              runners.map((x) => row(x, onRemove)),
            ),
          ),
        ),
  );
}

function row(x, onRemove) {
  const contact = x.last_contact_at ?? x.last_heartbeat_at ?? null;
  return h(
    'tr',
    { dataset: { runnerId: x.id, state: x.state } },
    h('td', { class: 'c-name' }, h('strong', null, x.name), x.host ? h('div', { class: 'small muted mono' }, x.host) : null),
    h('td', { class: 'c-state' }, h('span', { class: 'badge rstate', dataset: { state: x.state } }, x.state)),
    h('td', { class: 'c-contact' }, contact ? time(contact) : '—'),
    h('td', { class: 'c-version mono' }, dash(x.version)),
    h('td', { class: 'c-executor' }, dash(x.executor)),
    h(
      'td',
      { class: 'c-tags' },
      (x.tags ?? []).length ? x.tags.map((t) => h('span', { class: 'chip' }, t)) : h('span', { class: 'muted' }, 'untagged'),
    ),
    h('td', { class: 'num c-jobs' }, dash(x.jobs_running)),
    h('td', { class: 'num c-infra' }, dash(x.recent_infra_failures)),
    h(
      'td',
      { class: 'c-actions' },
      h(
        'button',
        {
          type: 'button',
          class: 'btn cancel remove',
          dataset: { action: 'remove', runnerId: x.id },
          'aria-label': `Remove runner ${x.name}`,
          onclick: async (e) => {
            const btn = e.currentTarget;
            btn.disabled = true;
            await onRemove(x);
            btn.disabled = false;
          },
        },
        'Remove',
      ),
    ),
  );
}
