// #/rules — the classification rules in force: hit counts, the last reload, and coverage
// (how many failures a rule decided rather than the fallback) from GET /api/v1/rules.
// "Reload rules" is POST /api/v1/rules/reload: refused rules leave the previous ones in force,
// and the refusal's errors (file, line) are listed here.
import { ApiError, getJson, postJson, Unauthorized } from '../api.js';
import { classBadge } from '../badges.js';
import { h, time, toast } from '../dom.js';

export async function renderRules(ctx, refused = null) {
  const d = await getJson('/api/v1/rules');
  if (ctx.signal.aborted) return;
  ctx.root.replaceChildren(view(d, reloadButton(ctx), refused));
}

function reloadButton(ctx) {
  return h(
    'button',
    {
      type: 'button',
      class: 'btn',
      id: 'rules-reload',
      onclick: async (e) => {
        e.currentTarget.disabled = true;
        let refused = null;
        try {
          await postJson('/api/v1/rules/reload');
          toast('Rules reloaded', 'info');
        } catch (err) {
          if (err instanceof Unauthorized) return ctx.onError(err);
          if (err instanceof ApiError && err.status === 422) refused = err;
          else toast(`Reload rules: ${err.message}`);
        }
        await renderRules(ctx, refused).catch(ctx.onError);
      },
    },
    '↻ Reload rules',
  );
}

/** Why the last reload was refused, as the API said it (file and line per error). */
function refusal(err) {
  return h(
    'div',
    { class: 'error', role: 'alert', id: 'rules-reload-error' },
    h('strong', null, err.message),
    h(
      'ul',
      { class: 'rules-errors' },
      (err.details ?? []).map((x) => h('li', null, h('code', null, x.line ? `${x.path}:${x.line}` : x.path), ' ', x.message)),
    ),
  );
}

function view(d, reload, refused) {
  const c = d.coverage;
  const rules = [...d.rules].sort((a, b) => b.hits - a.hits || a.id.localeCompare(b.id));
  return h(
    'section',
    { class: 'rules' },
    h('header', { class: 'page-head' }, h('h1', null, 'Rules'), h('span', { class: 'muted' }, `${rules.length} in force`), reload),
    h(
      'div',
      { class: 'card rules-meta', id: 'rules-meta' },
      h(
        'p',
        null,
        h('strong', { id: 'rules-coverage' }, c.ratio == null ? '—' : `${Math.round(c.ratio * 100)}%`),
        ` of ${c.failures} failures in the last ${d.window_days} days were decided by a rule; `,
        h('a', { href: '#/health' }, `${c.by_fallback} by the fallback`),
        '.',
      ),
      h(
        'p',
        { class: 'small muted' },
        'Loaded ',
        d.loaded_at ? time(d.loaded_at) : '—',
        ' from ',
        h('code', null, d.dir),
        ' · last reload: ',
        d.last_reload
          ? [
              time(d.last_reload.at),
              d.last_reload.ok
                ? ' (ok)'
                : h('span', { class: 'error' }, ` (refused: ${d.last_reload.errors.length} error(s), the previous rules stay)`),
            ]
          : 'none since start',
      ),
      refused ? refusal(refused) : null,
    ),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'list', id: 'rules-table' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Rule', 'Class', 'Cause', 'Hits', 'Last hit', 'File'].map((x) => h('th', { scope: 'col' }, x)),
          ),
        ),
        h(
          'tbody',
          null,
          rules.map((r) =>
            h(
              'tr',
              { dataset: { ruleId: r.id, hits: r.hits } },
              h(
                'td',
                null,
                h('code', null, `${r.id}@${r.version}`),
                r.description ? h('div', { class: 'small muted' }, r.description) : null,
              ),
              h('td', null, classBadge(r.class, { short: true })),
              h('td', null, h('code', null, r.cause)),
              h('td', { class: 'num c-hits' }, String(r.hits)),
              h('td', null, r.last_hit_at ? time(r.last_hit_at) : h('span', { class: 'muted' }, 'never')),
              h('td', { class: 'small mono muted' }, r.file ? `${r.file.split('/').slice(-2).join('/')}:${r.line}` : '—'),
            ),
          ),
        ),
      ),
    ),
  );
}
