// #/incidents/:id — one infra incident: header, a vertical timeline from the first
// failure to what resolved it, and the affected jobs.
import { getJson } from '../api.js';
import { classBadge, incidentStateBadge, statusBadge } from '../badges.js';
import { h, time } from '../dom.js';
import { absolute, humanSeconds, offset } from '../format.js';
import { refresher } from '../poll.js';

export async function renderIncident(ctx) {
  const id = ctx.params[0];
  let last = '';
  await refresher(
    async () => {
      const inc = await getJson(`/api/v1/incidents/${id}`);
      if (ctx.signal.aborted) return false;
      const json = JSON.stringify(inc);
      if (json !== last) {
        last = json;
        document.title = `Incident #${inc.id} · faultline`;
        ctx.root.replaceChildren(view(inc));
      }
      // While open, its duration grows and jobs or the resolution may arrive.
      return inc.state === 'open';
    },
    5000,
    ctx.signal,
    ctx.onError,
  ).first;
}

function view(inc) {
  return h(
    'section',
    { class: 'incident-page', dataset: { incidentId: inc.id, state: inc.state } },
    header(inc),
    h(
      'div',
      { class: 'incident-body' },
      h('section', { class: 'card timeline-box', 'aria-label': 'timeline' }, h('h2', null, 'Timeline'), timeline(inc)),
      h(
        'section',
        { class: 'jobs-box', 'aria-label': 'affected jobs' },
        h('h2', null, `Affected jobs (${inc.jobs.length})`),
        jobsTable(inc),
      ),
    ),
  );
}

function header(inc) {
  return h(
    'div',
    { class: 'incident-head', dataset: { state: inc.state } },
    h(
      'header',
      { class: 'page-head' },
      h('h1', null, h('span', { class: 'cause' }, inc.cause), h('span', { class: 'muted' }, ` #${inc.id}`)),
      incidentStateBadge(inc.state),
      classBadge('infra'),
    ),
    h(
      'p',
      { class: 'meta' },
      h('span', null, 'target ', h('code', { class: 'target' }, inc.target)),
      h('span', null, 'scope ', h('span', { class: 'chip scope' }, inc.scope)),
      h('span', null, 'opened ', time(inc.opened_at), h('span', { class: 'small' }, ` (${absolute(inc.opened_at)})`)),
      inc.resolved_at
        ? h('span', null, 'resolved ', time(inc.resolved_at), h('span', { class: 'small' }, ` (${absolute(inc.resolved_at)})`))
        : h('span', { class: 'warn-text' }, 'not resolved yet'),
      h(
        'span',
        { id: 'incident-duration' },
        inc.state === 'open' ? 'open for ' : 'lasted ',
        h('strong', null, humanSeconds(inc.duration_seconds)),
      ),
      h('span', null, `${inc.job_count} affected ${inc.job_count === 1 ? 'job' : 'jobs'}`),
    ),
  );
}

const jobLink = (id, name) => h('a', { href: `#/jobs/${id}`, class: 'job-name', dataset: { jobId: id } }, name ?? `job #${id}`);
const pipelineLink = (id) => (id == null ? '?' : h('a', { href: `#/pipelines/${id}` }, `pipeline #${id}`));

/**
 * Built from the structured fields rather than the API's detail strings, so names link.
 * The first affected job is the one that opened the incident: shown once, on "opened".
 */
function timeline(inc) {
  const jobs = new Map(inc.jobs.map((j) => [j.id, j]));
  const opener = inc.jobs[0];
  const items = [];
  for (const e of inc.timeline) {
    if (e.event === 'opened') {
      items.push(
        entry(
          inc,
          e,
          'Opened',
          opener ? ['by ', jobLink(opener.id, opener.name), ' (', pipelineLink(opener.pipeline_id), ') failing: '] : null,
          h('code', null, inc.cause),
          ' on ',
          h('code', null, inc.target),
        ),
      );
    } else if (e.event === 'job_failed') {
      if (opener && e.job_id === opener.id) continue;
      const j = jobs.get(e.job_id);
      items.push(
        entry(
          inc,
          e,
          'Job failed',
          jobLink(e.job_id, j?.name),
          ' (',
          pipelineLink(j?.pipeline_id),
          ') ',
          h('code', { class: 'small' }, j?.failure_reason ?? inc.cause),
          j?.summary ? h('div', { class: 'small muted' }, j.summary) : null,
        ),
      );
    } else if (e.event === 'resolved') {
      items.push(entry(inc, e, 'Resolved', resolvedBy(inc.resolved_by, e)));
    }
  }
  if (inc.state === 'open')
    items.push(
      h(
        'li',
        { dataset: { event: 'open' }, class: 'now' },
        h('div', { class: 'when' }, h('span', null, 'now')),
        h(
          'div',
          { class: 'what' },
          h('strong', null, 'Still open'),
          ` — for ${humanSeconds(inc.duration_seconds)}; resolves at ${resolvesAt(inc)}.`,
        ),
      ),
    );
  return h('ol', { class: 'timeline', id: 'incident-timeline' }, items);
}

/** What will close it, per scope (services/incidents.ts). */
function resolvesAt(inc) {
  if (inc.scope === 'registry') return `the next successful image pull from ${inc.target}`;
  if (inc.scope === 'runner') return `the next successful job on runner ${inc.target}`;
  if (inc.scope === 'executor') return `the next successful job on a ${inc.target} runner`;
  return 'the next successful job';
}

function entry(inc, e, title, ...what) {
  return h(
    'li',
    { dataset: { event: e.event, jobId: e.job_id ?? null } },
    h(
      'div',
      { class: 'when' },
      h('time', { datetime: e.at, title: absolute(e.at) }, new Date(e.at).toLocaleTimeString()),
      e.event !== 'opened' ? h('span', { class: 'small muted' }, offset(inc.opened_at, e.at)) : null,
    ),
    h('div', { class: 'what' }, h('strong', null, title), ' ', what),
  );
}

function resolvedBy(by, e) {
  if (!by) return e.detail;
  if (by.kind === 'image_pull')
    return [
      'by a successful pull of ',
      h('code', null, by.image),
      ' from ',
      h('code', null, by.registry),
      ' (',
      jobLink(by.job_id, `job #${by.job_id}`),
      ')',
    ];
  return [
    'by ',
    jobLink(by.job_id, by.job_name),
    ' succeeding (',
    pipelineLink(by.pipeline_id),
    by.runner_id != null ? `, runner #${by.runner_id}` : '',
    ')',
  ];
}

function jobsTable(inc) {
  if (!inc.jobs.length) return h('p', { class: 'empty card' }, 'No affected jobs recorded.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'list', id: 'incident-jobs' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['Job', 'Pipeline', 'Status', 'Failure', 'Failed'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h(
        'tbody',
        null,
        inc.jobs.map((j) =>
          h(
            'tr',
            { dataset: { jobId: j.id } },
            h('td', { class: 'c-job' }, jobLink(j.id, j.name), h('span', { class: 'muted' }, ` #${j.id}`)),
            h(
              'td',
              { class: 'c-pipe' },
              pipelineLink(j.pipeline_id),
              j.ref ? h('div', { class: 'small muted' }, h('code', null, j.ref), j.project ? ` · ${j.project}` : '') : null,
            ),
            h('td', { class: 'c-status' }, j.status ? statusBadge(j.status) : '—'),
            // Only infra failures join an incident.
            h(
              'td',
              { class: 'summary' },
              classBadge('infra', { short: true }),
              ' ',
              h('code', { class: 'small' }, j.failure_reason ?? '—'),
              j.summary ? h('div', { class: 'small muted' }, j.summary) : null,
            ),
            h('td', { class: 'c-when' }, time(j.failed_at)),
          ),
        ),
      ),
    ),
  );
}
