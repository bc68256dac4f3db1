// #/jobs/:id — status, the failure classification, and the live log.
import { getJson, getTrace, query } from '../api.js';
import { classBadge, incidentStateBadge, statusBadge } from '../badges.js';
import { duration, h, time } from '../dom.js';
import { LogView } from '../log-view.js';
import { isLive, refreshOn } from '../live.js';
import { refresher } from '../poll.js';
import { ACTIVE_STATUSES } from '../taxonomy.js';
import { jobActions } from './job-actions.js';
import { artifactsSection, testReportSection } from './job-artifacts.js';

export async function renderJob(ctx) {
  const id = ctx.params[0];
  const log = new LogView((n) => `#/jobs/${id}#L${n}`);
  const head = h('div', { class: 'job-page-head' });
  const logBox = h('section', { class: 'log-box' }, h('h2', null, 'Log'), log.el, h('p', { class: 'muted small', id: 'log-state' }));
  ctx.root.replaceChildren(h('section', { class: 'job-page', dataset: { jobId: id } }, head, logBox));

  let lastJobJson = '';
  let complete = false;
  let anchor = ctx.anchor;
  let unclassifiedPolls = 0;
  // The infra incident this job's failure joined: looked up once, kept across re-renders.
  let incident = null;
  let incidentLookup = null;

  const r = refresher(
    async () => {
      const job = await getJson(`/api/v1/jobs/${id}`);
      if (ctx.signal.aborted) return false;
      const json = JSON.stringify(job);
      if (json !== lastJobJson) {
        lastJobJson = json;
        head.replaceChildren(header(job, r.refresh, ctx.onError, incident));
        if (job.failure?.class === 'infra' && !incidentLookup)
          incidentLookup = incidentOf(job).then((inc) => {
            if (!inc || ctx.signal.aborted) return;
            incident = inc;
            head.querySelector('#job-incident')?.replaceWith(incidentLink(inc));
          });
        log.setEvidence((job.failure?.evidence ?? []).filter((e) => !e.source).map((e) => e.line));
      }
      if (!complete) {
        const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
        const t = await getTrace(id, log.offset);
        if (ctx.signal.aborted) return false;
        complete = t.complete && !ACTIVE_STATUSES.has(job.status);
        if (t.bytes.length || complete) log.append(t.bytes, complete);
        if (anchor && log.reveal(anchor)) anchor = null;
        else if (!anchor && atBottom && t.bytes.length && ACTIVE_STATUSES.has(job.status)) window.scrollTo(0, document.body.scrollHeight);
      }
      const stateEl = logBox.querySelector('#log-state');
      stateEl.textContent = complete
        ? `${log.count} lines · end of log`
        : job.status === 'canceling'
          ? 'streaming teardown output…'
          : 'streaming…';
      // A failed job is classified right after it finishes: keep asking a little while.
      const awaitingClass = job.status === 'failed' && !job.failure && unclassifiedPolls++ < 15;
      // A manual job waits for a person: its Run button refreshes, no need to poll.
      if (job.status === 'manual') return false;
      return !complete || ACTIVE_STATUSES.has(job.status) || awaitingClass;
    },
    // The log itself streams by polling; the status comes on the event stream too.
    () => (isLive() && complete ? 15_000 : 1000),
    ctx.signal,
    ctx.onError,
  );
  refreshOn(['job'], r.refresh, ctx.signal, (d) => d.id === Number(id));
  await r.first;
  return { onAnchor: (a) => (anchor = log.reveal(a) ? null : a) };
}

function header(job, refresh, onError, incident) {
  const status = job.display_status ?? job.status;
  return h(
    'div',
    null,
    h(
      'header',
      { class: 'page-head' },
      h('h1', null, job.name, h('span', { class: 'muted' }, ` #${job.id}`)),
      statusBadge(status),
      job.failure ? classBadge(job.failure.class) : null,
      h('span', { class: 'spacer' }),
      jobActions(job, {
        onError,
        after: (res, verb) => (verb === 'retry' && res?.id ? (location.hash = `#/jobs/${res.id}`) : refresh()),
      }),
    ),
    h(
      'p',
      { class: 'meta' },
      h('span', null, 'pipeline ', h('a', { href: `#/pipelines/${job.pipeline_id}` }, `#${job.pipeline_id}`)),
      h('span', null, 'stage ', h('code', null, job.stage)),
      h('span', null, `attempt ${job.attempt}`),
      job.retry_of ? h('span', null, 'retry of ', h('a', { href: `#/jobs/${job.retry_of}` }, `#${job.retry_of}`)) : null,
      job.runner_id != null ? h('span', null, `runner #${job.runner_id}`) : null,
      h('span', null, 'created ', time(job.created_at)),
      h('span', null, 'duration ', duration(job.started_at, job.finished_at)),
      job.exit_code != null ? h('span', null, `exit code ${job.exit_code}`) : null,
      job.allow_failure ? h('span', { class: 'chip' }, 'allowed to fail') : null,
      job.needs?.length ? h('span', null, `needs: ${job.needs.join(', ')}`) : null,
    ),
    job.status === 'canceling'
      ? h(
          'div',
          { class: 'banner canceling', role: 'status', id: 'canceling-banner' },
          h('strong', null, '⊘ canceling'),
          ' — running after_script teardown; its log keeps streaming below.',
        )
      : null,
    job.after_script
      ? h(
          'p',
          { class: 'small muted' },
          `after_script: ${job.after_script.ran ? 'ran' : 'did not run'}`,
          job.after_script.exit_code != null ? `, exit code ${job.after_script.exit_code}` : '',
          job.after_script.timed_out ? ', timed out' : '',
        )
      : null,
    job.note ? h('p', { class: 'small muted' }, job.note) : null,
    job.failure
      ? classification(job, incident)
      : job.status === 'failed'
        ? h('div', { class: 'banner note' }, 'Failed — classification pending…')
        : null,
    testReportSection(job),
    artifactsSection(job, onError),
  );
}

function classification(job, incident) {
  const f = job.failure;
  const row = (k, v, wide = false) =>
    v == null || v === '' ? null : h('div', { class: wide ? 'kv wide' : 'kv' }, h('dt', null, k), h('dd', null, v));
  const image = [f.image, f.registry && `(registry ${f.registry})`].filter(Boolean).join(' ');
  return h(
    'section',
    { class: 'classification', id: 'classification', dataset: { class: f.class }, 'aria-label': 'failure classification' },
    h('div', { class: 'cls-head' }, classBadge(f.class), h('strong', { class: 'cause' }, f.cause)),
    h('p', { class: 'summary' }, f.summary),
    f.class === 'infra' ? incidentLink(incident) : null,
    h(
      'dl',
      null,
      row('owner', f.owner),
      row('reason', h('code', null, f.reason)),
      row('stage', h('code', null, f.stage)),
      row(
        'decided by',
        f.rule
          ? h('span', null, 'rule ', h('code', null, `${f.rule.id}@${f.rule.version}`))
          : `fallback by reason (no rule matched ${f.reason} at ${f.stage})`,
      ),
      row('exit code', f.exit_code ?? job.exit_code),
      row('executor', f.executor),
      row('error kind', f.kind),
      row('image', image ? h('code', null, image) : null, true),
      row('runner message', f.message ? h('code', null, f.message) : null, true),
    ),
    f.rule ? null : newLines(job),
    f.evidence?.length
      ? h(
          'div',
          { class: 'evidence-list' },
          h('h3', null, 'Evidence'),
          h(
            'ol',
            null,
            f.evidence.map((e) =>
              e.source
                ? h('li', null, h('span', { class: 'ln-link' }, e.source), h('code', null, e.text))
                : h(
                    'li',
                    null,
                    h('a', { href: `#/jobs/${job.id}#L${e.line}`, class: 'ln-link' }, `line ${e.line}`),
                    h('code', null, e.text),
                  ),
            ),
          ),
        )
      : f.rule
        ? h('p', { class: 'small muted' }, 'No log evidence (the rule matched the reported failure).')
        : null,
  );
}

/** A fallback verdict: the lines the job's last green run did not print — a hint, not rule evidence. */
function newLines(job) {
  const f = job.failure;
  const box = (...kids) => h('div', { class: 'new-lines', id: 'new-lines' }, ...kids);
  if (f.baseline_job_id == null)
    return box(h('p', { class: 'small muted' }, 'No rule matched, and there is no earlier green run of this job to compare the log with.'));
  const green = h('a', { href: `#/jobs/${f.baseline_job_id}` }, `#${f.baseline_job_id}`);
  const lines = f.new_lines ?? [];
  if (!lines.length)
    return box(
      h('p', { class: 'small muted' }, 'No rule matched; the last green run (', green, ') printed every error-like line this one did.'),
    );
  return box(
    h('h3', null, 'No rule matched — lines new since the last green run'),
    h(
      'ol',
      null,
      lines.map((e) =>
        h(
          'li',
          null,
          h('a', { href: `#/jobs/${job.id}#L${e.line}`, class: 'ln-link' }, `line ${e.line}`),
          h('code', null, e.text),
          h(
            'span',
            { class: 'small muted not-in' },
            'not in the last green run ',
            h('a', { href: `#/jobs/${f.baseline_job_id}` }, `#${f.baseline_job_id}`),
          ),
        ),
      ),
    ),
  );
}

/**
 * The incident a failed infra job belongs to, without a new API: the incidents still
 * active when it failed with its cause (usually one), confirmed by their job lists.
 * A miss (or an error) just leaves the link out.
 */
async function incidentOf(job) {
  try {
    const at = job.finished_at ?? job.created_at;
    const cause = job.failure.cause || job.failure.reason;
    const { incidents } = await getJson(`/api/v1/incidents${query({ since: at, limit: 100 })}`);
    const candidates = incidents.filter((i) => i.cause === cause && Date.parse(i.opened_at) <= Date.parse(at)).slice(0, 3);
    for (const c of candidates) {
      const d = await getJson(`/api/v1/incidents/${c.id}`);
      if (d.jobs.some((j) => j.id === job.id)) return d;
    }
  } catch {
    /* optional context: the classification stands without it */
  }
  return null;
}

function incidentLink(inc) {
  if (!inc) return h('p', { id: 'job-incident', hidden: true });
  const others = inc.job_count - 1;
  return h(
    'p',
    { id: 'job-incident', class: 'incident-link', dataset: { incidentId: inc.id } },
    incidentStateBadge(inc.state),
    ' Part of ',
    h('a', { href: `#/incidents/${inc.id}` }, `incident #${inc.id}`),
    ': ',
    h('code', null, inc.cause),
    ' on ',
    h('code', null, inc.target),
    others > 0 ? ` · ${others} other ${others === 1 ? 'job' : 'jobs'} affected` : ' · the first job affected',
  );
}
