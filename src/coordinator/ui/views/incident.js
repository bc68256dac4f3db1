// #/incidents/:id — one infra incident: header (with Acknowledge / Resolve for a person),
// a vertical timeline from the first failure to what resolved it, and the affected jobs.
import { getJson, postJson, Unauthorized } from '../api.js';
import { classBadge, incidentStateBadge, statusBadge } from '../badges.js';
import { h, time, toast } from '../dom.js';
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
        ctx.root.replaceChildren(view(inc, ctx));
      }
      // While unresolved, its duration grows and jobs or the resolution may arrive.
      return inc.state !== 'resolved';
    },
    5000,
    ctx.signal,
    ctx.onError,
  ).first;
}

function view(inc, ctx) {
  return h(
    'section',
    { class: 'incident-page', dataset: { incidentId: inc.id, state: inc.state } },
    header(inc),
    actions(inc, ctx),
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
      h(
        'span',
        null,
        'dependency ',
        h('span', { class: 'chip scope' }, DEP_LABEL[inc.dependency.kind] ?? inc.dependency.kind),
        ' ',
        h('code', { class: 'target' }, inc.target),
      ),
      inc.opened_at
        ? h('span', null, 'opened ', time(inc.opened_at), h('span', { class: 'small' }, ` (${absolute(inc.opened_at)})`))
        : h('span', { class: 'muted' }, `pending: ${inc.failure_count} failure(s), not an incident yet`),
      inc.acknowledged_at ? h('span', null, 'acknowledged ', time(inc.acknowledged_at)) : null,
      inc.resolved_at
        ? h('span', null, 'resolved ', time(inc.resolved_at), h('span', { class: 'small' }, ` (${absolute(inc.resolved_at)})`))
        : h('span', { class: 'warn-text' }, 'not resolved yet'),
      h(
        'span',
        { id: 'incident-duration' },
        inc.state === 'resolved' ? 'lasted ' : 'open for ',
        h('strong', null, humanSeconds(inc.duration_seconds)),
      ),
      h('span', null, `${inc.job_count} affected ${inc.job_count === 1 ? 'job' : 'jobs'}`),
      inc.note ? h('span', { class: 'note' }, 'note: ', h('q', null, inc.note)) : null,
    ),
  );
}

const DEP_LABEL = {
  registry: 'registry',
  git_host: 'git host',
  dns: 'DNS name',
  package_registry: 'package registry',
  runner: 'runner',
  executor_host: 'executor host',
  unknown: 'unknown',
};

/** Acknowledge (optional note) and Resolve (note required) — POST /incidents/:id/ack|resolve. */
function actions(inc, ctx) {
  if (inc.state !== 'open' && inc.state !== 'acknowledged') return null;
  const note = h('input', {
    type: 'text',
    id: 'incident-note',
    class: 'note-input',
    placeholder: 'note (required to resolve)',
    'aria-label': 'note',
  });
  const act = (verb, label) =>
    h(
      'button',
      {
        type: 'button',
        class: `btn ${verb}`,
        dataset: { action: verb },
        onclick: async (e) => {
          const text = note.value.trim();
          if (verb === 'resolve' && !text) {
            toast('Resolve: say why in the note');
            note.focus();
            return;
          }
          e.currentTarget.disabled = true;
          try {
            await postJson(`/api/v1/incidents/${inc.id}/${verb}`, text ? { note: text } : {});
            await renderIncident(ctx);
          } catch (err) {
            if (err instanceof Unauthorized) ctx.onError(err);
            else toast(`${label}: ${err.message}`);
          } finally {
            e.currentTarget.disabled = false;
          }
        },
      },
      label,
    );
  return h(
    'div',
    { class: 'incident-actions actions', id: 'incident-actions' },
    note,
    inc.state === 'open' ? act('ack', 'Acknowledge') : null,
    act('resolve', 'Resolve'),
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
  // The failure that crossed the threshold: the last one at or before opened_at.
  const opener = inc.opened_at ? [...inc.jobs].reverse().find((j) => j.failed_at <= inc.opened_at) : undefined;
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
    } else if (e.event === 'acknowledged') {
      items.push(entry(inc, e, 'Acknowledged', e.detail));
    } else if (e.event === 'resolved') {
      items.push(entry(inc, e, 'Resolved', resolvedBy(inc.resolving_event, e)));
    }
  }
  if (inc.state === 'open' || inc.state === 'acknowledged')
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

/** What will close it, per dependency (services/incidents.ts), besides a person. */
function resolvesAt(inc) {
  const t = inc.target;
  switch (inc.dependency.kind) {
    case 'registry':
      return `the next successful image pull from ${t}`;
    case 'git_host':
      return `the next job that fetches its sources from ${t}`;
    case 'runner':
      return `the next successful job on runner ${t} (or its removal)`;
    case 'executor_host':
      return `the next successful job on a ${t} runner`;
    default:
      return 'the next success of an affected job';
  }
}

function entry(inc, e, title, ...what) {
  return h(
    'li',
    { dataset: { event: e.event, jobId: e.job_id ?? null } },
    h(
      'div',
      { class: 'when' },
      h('time', { datetime: e.at, title: absolute(e.at) }, new Date(e.at).toLocaleTimeString()),
      e.event !== 'opened' ? h('span', { class: 'small muted' }, offset(inc.first_failure_at ?? inc.opened_at, e.at)) : null,
    ),
    h('div', { class: 'what' }, h('strong', null, title), ' ', what),
  );
}

function resolvedBy(by, e) {
  if (!by) return e.detail;
  if (by.kind === 'person') return ['by a person: ', h('q', null, by.note)];
  if (by.kind === 'runner_removed') return `by removing runner #${by.runner_id}`;
  if (by.kind === 'expired') return e.detail;
  if (by.kind === 'sources_fetched')
    return [
      'by ',
      jobLink(by.job_id, by.job_name),
      ' fetching its sources from ',
      h('code', null, by.host),
      ' (',
      pipelineLink(by.pipeline_id),
      ')',
    ];
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
