// #/pipelines/:id — stages as columns of job cards, with failure classes up front.
import { getJson, postJson, Unauthorized } from '../api.js';
import { classBadge, statusBadge } from '../badges.js';
import { duration, h, time, toast } from '../dom.js';
import { isLive, refreshOn } from '../live.js';
import { pollEvery, refresher } from '../poll.js';
import { ACTIVE_STATUSES } from '../taxonomy.js';
import { jobActions } from './job-actions.js';
import { testBadgeText } from './job-artifacts.js';

const TERMINAL = new Set(['success', 'failed', 'canceled', 'skipped']);

export async function renderPipeline(ctx) {
  const id = ctx.params[0];
  const r = refresher(
    async () => {
      const p = await getJson(`/api/v1/pipelines/${id}`);
      if (ctx.signal.aborted) return false;
      const warningsOpen = ctx.root.querySelector('details.warnings')?.open ?? false;
      ctx.root.replaceChildren(view(p, r.refresh, ctx.onError));
      drawNeeds(ctx.root.querySelector('.stages'));
      // Re-rendering must not fold what the reader unfolded.
      const details = ctx.root.querySelector('details.warnings');
      if (details) details.open = warningsOpen;
      return ACTIVE_STATUSES.has(p.status) || (p.jobs ?? []).some((j) => ACTIVE_STATUSES.has(j.status));
    },
    pollEvery(isLive, 2000),
    ctx.signal,
    ctx.onError,
  );
  const onResize = () => drawNeeds(ctx.root.querySelector('.stages'));
  window.addEventListener('resize', onResize);
  ctx.signal.addEventListener('abort', () => window.removeEventListener('resize', onResize), { once: true });
  refreshOn(['pipeline', 'job'], r.refresh, ctx.signal, (d, n) => (n === 'pipeline' ? d.id : d.pipeline_id) === Number(id));
  await r.first;
}

function view(p, refresh, onError) {
  const jobs = latestAttempts(p.jobs ?? []);
  const failed = jobs.filter((j) => j.status === 'failed' && j.failure);
  return h(
    'section',
    { class: 'pipeline', dataset: { pipelineId: p.id } },
    h(
      'header',
      { class: 'page-head' },
      h('h1', null, `Pipeline #${p.id}`),
      statusBadge(p.display_status ?? p.status),
      p.failure_class ? classBadge(p.failure_class) : null,
      h('span', { class: 'spacer' }),
      TERMINAL.has(p.status) || p.status === 'canceling'
        ? null
        : h(
            'button',
            {
              type: 'button',
              class: 'btn cancel',
              id: 'cancel-pipeline',
              onclick: async (e) => {
                const btn = e.currentTarget;
                btn.disabled = true;
                try {
                  await postJson(`/api/v1/pipelines/${p.id}/cancel`);
                  await refresh();
                } catch (err) {
                  if (err instanceof Unauthorized) onError(err);
                  else toast(`Cancel pipeline: ${err.message}`);
                  btn.disabled = false;
                }
              },
            },
            '■ Cancel pipeline',
          ),
    ),
    h(
      'p',
      { class: 'meta' },
      h('span', null, 'ref ', h('code', null, p.ref)),
      p.sha ? h('span', null, 'sha ', h('code', null, p.sha.slice(0, 12))) : null,
      p.project ? h('span', null, 'project ', h('code', null, p.project)) : null,
      h('span', null, 'created ', time(p.created_at)),
      h('span', null, 'duration ', duration(p.started_at, p.finished_at)),
    ),
    p.halted_by
      ? h(
          'div',
          { class: 'banner warn', role: 'status', id: 'halted-banner' },
          h('strong', null, '! Passed early'),
          ' by job ',
          h('a', { href: `#/jobs/${p.halted_by.id}` }, p.halted_by.name),
          ' — it ended the pipeline on purpose; the jobs after it did not run. This is not a failure.',
        )
      : null,
    failed.length ? failureSummary(failed) : null,
    p.warnings?.length
      ? h(
          'details',
          { class: 'banner note warnings' },
          h('summary', null, `${p.warnings.length} configuration warning${p.warnings.length > 1 ? 's' : ''}`),
          h(
            'ul',
            null,
            p.warnings.map((w) => h('li', null, h('code', null, `${w.path}:${w.line}:${w.column}`), ' ', w.message)),
          ),
        )
      : null,
    stages(p, jobs, refresh, onError),
  );
}

/** One line per failed job: who has to act, and why. */
function failureSummary(failed) {
  return h(
    'div',
    { class: 'banner fail-summary', role: 'status' },
    h('strong', null, failedTitle(failed)),
    h(
      'ul',
      null,
      failed.map((j) =>
        h(
          'li',
          { dataset: { class: j.failure.class } },
          classBadge(j.failure.class),
          ' ',
          h('a', { href: `#/jobs/${j.id}` }, j.name),
          j.allow_failure ? h('span', { class: 'muted' }, ' (allowed to fail)') : null,
          ': ',
          h('span', { class: 'cause' }, j.failure.cause),
          ' — ',
          j.failure.summary,
        ),
      ),
    ),
  );
}

function failedTitle(failed) {
  const allowed = failed.filter((j) => j.allow_failure).length;
  const hard = failed.length - allowed;
  const parts = [];
  if (hard) parts.push(`${hard} job${hard > 1 ? 's' : ''} failed`);
  if (allowed) parts.push(`${allowed} allowed failure${allowed > 1 ? 's' : ''}`);
  return parts.join(', ');
}

/** Each job name shows its newest attempt; earlier ones are linked from its card. */
function latestAttempts(all) {
  const byName = new Map();
  for (const j of all) {
    const key = `${j.stage}\u0000${j.name}`;
    const list = byName.get(key) ?? [];
    list.push(j);
    byName.set(key, list);
  }
  return [...byName.values()].map((list) => {
    list.sort((a, b) => b.attempt - a.attempt || b.id - a.id);
    return { ...list[0], earlier: list.slice(1) };
  });
}

function stages(p, jobs, refresh, onError) {
  const names = p.stages?.length ? [...p.stages] : [];
  for (const j of jobs) if (!names.includes(j.stage)) names.push(j.stage);
  const grid = h(
    'div',
    { class: 'stages' },
    names.map((stage) =>
      h(
        'section',
        { class: 'stage', dataset: { stage }, 'aria-label': `stage ${stage}` },
        h('h2', null, stage),
        jobs.filter((j) => j.stage === stage).map((j) => card(j, refresh, onError)),
      ),
    ),
  );
  // Hovering a job lights up what it needs and what needs it (the DAG edges).
  grid.addEventListener('mouseover', (e) => highlight(grid, e.target.closest?.('.job'), jobs));
  grid.addEventListener('mouseleave', () => highlight(grid, null, jobs));
  return grid;
}

function highlight(grid, cardEl, jobs) {
  const name = cardEl?.dataset.name;
  const job = jobs.find((j) => j.name === name);
  for (const c of grid.querySelectorAll('.job')) {
    const n = c.dataset.name;
    c.classList.toggle('is-need', Boolean(job?.needs?.includes(n)));
    c.classList.toggle('is-dependent', Boolean(name && jobs.find((j) => j.name === n)?.needs?.includes(name)));
  }
}

function card(j, refresh, onError) {
  const status = j.display_status ?? j.status;
  return h(
    'article',
    { class: 'job', dataset: { jobId: j.id, name: j.name, status, needs: (j.needs ?? []).join('\n') } },
    h(
      'div',
      { class: 'job-head' },
      h('a', { href: `#/jobs/${j.id}`, class: 'job-name' }, j.name),
      jobActions(j, { after: () => refresh(), onError, compact: true }),
    ),
    h('div', { class: 'job-status' }, statusBadge(status), h('span', { class: 'muted small' }, duration(j.started_at, j.finished_at))),
    j.status === 'canceling' ? h('div', { class: 'small canceling-note' }, 'running after_script teardown') : null,
    j.failure
      ? h(
          'div',
          { class: 'job-failure', dataset: { class: j.failure.class } },
          classBadge(j.failure.class),
          h('div', { class: 'cause' }, j.failure.cause),
          h('div', { class: 'summary' }, j.failure.summary),
          j.failure.fallback ? h('div', { class: 'small decided fallback' }, 'no rule matched (fallback)') : null,
        )
      : null,
    testBadgeText(j)
      ? h('div', { class: 'small tests', dataset: { failed: String(j.test_report.failures + j.test_report.errors > 0) } }, testBadgeText(j))
      : null,
    j.artifacts?.some((a) => a.kind === 'archive' && !a.expired) ? h('div', { class: 'small muted' }, '📦 artifacts') : null,
    j.needs?.length ? h('div', { class: 'needs small muted' }, 'needs: ', j.needs.join(', ')) : null,
    j.manual ? h('div', { class: 'small muted' }, `manual: ${j.manual}`) : null,
    j.note ? h('div', { class: 'small muted note' }, j.note) : null,
    j.attempt > 1 || j.earlier.length
      ? h(
          'div',
          { class: 'small muted attempts' },
          `attempt ${j.attempt}`,
          j.earlier.length ? ' · earlier: ' : null,
          j.earlier.map((e, i) => [i ? ', ' : null, h('a', { href: `#/jobs/${e.id}`, title: e.status }, `#${e.id}`)]),
        )
      : null,
  );
}

const SVG = 'http://www.w3.org/2000/svg';

/**
 * The `needs` edges drawn as curves from each needed job's card to the card that needs it,
 * in an SVG under the cards. Stacked stages (narrow screens) get none: the "needs:" line says it.
 */
export function drawNeeds(grid) {
  if (!grid) return;
  grid.querySelector('svg.needs-edges')?.remove();
  if (getComputedStyle(grid).flexDirection === 'column') return;
  const cards = new Map([...grid.querySelectorAll('.job')].map((c) => [c.dataset.name, c]));
  const box = grid.getBoundingClientRect();
  const at = (el) => {
    const r = el.getBoundingClientRect();
    return { l: r.left - box.left + grid.scrollLeft, r: r.right - box.left + grid.scrollLeft, y: r.top - box.top + grid.scrollTop + 18 };
  };
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'needs-edges');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('width', String(grid.scrollWidth));
  svg.setAttribute('height', String(grid.scrollHeight));
  let n = 0;
  for (const [name, card] of cards) {
    for (const need of (card.dataset.needs ?? '').split('\n').filter(Boolean)) {
      const from = cards.get(need);
      if (!from) continue;
      const a = at(from);
      const b = at(card);
      const x1 = a.r;
      const x2 = b.l;
      const dx = Math.max(20, (x2 - x1) / 2);
      const path = document.createElementNS(SVG, 'path');
      path.setAttribute('d', `M${x1},${a.y} C${x1 + dx},${a.y} ${x2 - dx},${b.y} ${x2},${b.y}`);
      path.setAttribute('class', 'edge');
      path.dataset.from = need;
      path.dataset.to = name;
      svg.appendChild(path);
      n++;
    }
  }
  if (n) grid.prepend(svg);
}
