// #/health — the operators' overview: infra failure ratio (now and hourly over 24 h, drawn
// with uPlot), open incidents with their dependency, runners by state, and the failures the
// fallback decided (where rules are missing). Refetched on live events.
import { getJson } from '../api.js';
import { classBadge } from '../badges.js';
import { h, time } from '../dom.js';
import { isLive, refreshOn } from '../live.js';
import { pollEvery, refresher } from '../poll.js';

let uPlotModule = null;
/** uPlot from node_modules (GET /vendor/uplot/…); null when it cannot load — the table still shows. */
async function loadUPlot() {
  uPlotModule ??= import('/vendor/uplot/uPlot.esm.js').then(
    (m) => m.default,
    () => null,
  );
  return uPlotModule;
}

const pct = (r) => (r == null ? '—' : `${(r * 100).toFixed(r > 0 && r < 0.1 ? 1 : 0)}%`);

export async function renderOverview(ctx) {
  const UPlot = await loadUPlot();
  let chart = null;
  const r = refresher(
    async () => {
      const o = await getJson('/api/v1/overview');
      if (ctx.signal.aborted) return false;
      chart?.destroy();
      const el = view(o);
      ctx.root.replaceChildren(el);
      chart = drawChart(UPlot, el.querySelector('#infra-chart'), o.infra_ratio.last_24h);
      // Nothing ticks here on its own: without the stream, look again now and then.
      return true;
    },
    pollEvery(isLive, 10_000, 120_000),
    ctx.signal,
    ctx.onError,
  );
  refreshOn(['job', 'pipeline', 'incident', 'runner'], r.refresh, ctx.signal, () => true, 300);
  ctx.signal.addEventListener('abort', () => chart?.destroy(), { once: true });
  await r.first;
}

function view(o) {
  const ratio = o.infra_ratio;
  const day = ratio.last_24h.reduce((a, b) => ({ infra: a.infra + b.infra, total: a.total + b.total }), { infra: 0, total: 0 });
  return h(
    'section',
    { class: 'overview' },
    h('header', { class: 'page-head' }, h('h1', null, 'Health')),
    h(
      'div',
      { class: 'ov-grid' },
      h(
        'section',
        { class: 'card ov-ratio', 'aria-label': 'infra failure ratio' },
        h('h2', null, 'Infra failure ratio'),
        h(
          'p',
          { class: 'ov-stats' },
          h('span', { class: 'big', id: 'infra-ratio-now' }, pct(ratio.now)),
          h('span', { class: 'muted small' }, ' of finished jobs, last hour · '),
          h('span', { id: 'infra-ratio-day' }, pct(day.total ? day.infra / day.total : null)),
          h('span', { class: 'muted small' }, ` over 24 h (${day.infra} of ${day.total})`),
        ),
        h('div', { id: 'infra-chart', class: 'chart', role: 'img', 'aria-label': 'infra and build failure ratio per hour, last 24 hours' }),
      ),
      incidentsBox(o.incidents_open ?? []),
      runnersBox(o.runners_by_state ?? {}),
      fallbackBox(o.fallback_decided ?? { count: 0, recent: [] }),
    ),
  );
}

function drawChart(UPlot, el, buckets) {
  if (!UPlot || !el) {
    el?.replaceChildren(h('p', { class: 'muted small' }, 'Chart unavailable (uPlot did not load).'));
    return null;
  }
  const xs = buckets.map((b) => Date.parse(b.t) / 1000);
  const share = (k) => buckets.map((b) => (b.total ? (100 * b[k]) / b.total : null));
  const css = getComputedStyle(document.documentElement);
  const color = (v, dflt) => css.getPropertyValue(v).trim() || dflt;
  const infra = color('--infra', '#0b6e68');
  const build = color('--build', '#a3155a');
  const axis = { stroke: color('--muted', '#59636e'), grid: { stroke: color('--line', '#d1d9e0'), width: 1 } };
  const width = Math.max(280, Math.min(el.clientWidth || 640, 900));
  return new UPlot(
    {
      width,
      height: 220,
      scales: { x: { time: true }, y: { range: [0, 100] } },
      axes: [axis, { ...axis, values: (_u, ticks) => ticks.map((t) => `${t}%`) }],
      series: [
        {},
        { label: 'infra', stroke: infra, width: 2, fill: `${infra}22`, points: { show: true, size: 7, fill: infra } },
        { label: 'build', stroke: build, width: 1.5, dash: [5, 4], points: { show: true, size: 5, fill: build } },
      ],
      legend: { show: true },
    },
    [xs, share('infra'), share('build')],
    el,
  );
}

function incidentsBox(list) {
  return h(
    'section',
    { class: 'card ov-incidents', id: 'ov-incidents', 'aria-label': 'open incidents' },
    h('h2', null, `Open incidents (${list.length})`),
    list.length === 0
      ? h('p', { class: 'muted' }, 'None open.')
      : h(
          'ul',
          { class: 'plain-list' },
          list.map((i) =>
            h(
              'li',
              { dataset: { incidentId: i.id } },
              h('a', { href: `#/incidents/${i.id}`, class: 'cause' }, i.cause),
              ' on ',
              h('code', null, i.dependency?.name ?? i.target ?? '?'),
              ' ',
              h('span', { class: 'chip' }, i.dependency?.kind ?? i.scope ?? 'unknown'),
              h('span', { class: 'muted small' }, ` · ${i.failure_count ?? i.job_count ?? 0} failures · opened `, time(i.opened_at)),
            ),
          ),
        ),
  );
}

function runnersBox(s) {
  const states = ['online', 'offline', 'stale'];
  return h(
    'section',
    { class: 'card ov-runners', id: 'ov-runners', 'aria-label': 'runners by state' },
    h('h2', null, h('a', { href: '#/runners' }, 'Runners')),
    h(
      'ul',
      { class: 'runner-states' },
      states.map((k) =>
        h('li', { dataset: { state: k } }, h('span', { class: 'big' }, String(s[k] ?? 0)), h('span', { class: 'muted small' }, ` ${k}`)),
      ),
    ),
  );
}

function fallbackBox(fb) {
  return h(
    'section',
    { class: 'card ov-fallback', id: 'ov-fallback', 'aria-label': 'failures no rule decided' },
    h('h2', null, `Decided by the fallback (${fb.count}, last 24 h)`),
    h('p', { class: 'muted small' }, 'No rule matched these failures: each is a rule to write. '),
    fb.recent.length === 0
      ? h('p', { class: 'muted' }, 'Every failure was decided by a rule.')
      : h(
          'ul',
          { class: 'plain-list' },
          fb.recent.map((f) =>
            h(
              'li',
              { dataset: { jobId: f.job_id } },
              classBadge(f.class, { short: true }),
              ' ',
              h('a', { href: `#/jobs/${f.job_id}` }, f.name),
              ' ',
              h('code', null, f.reason),
              h('span', { class: 'muted small' }, ' · ', time(f.finished_at)),
            ),
          ),
        ),
  );
}
