// The job page's artifacts and test report: kept archives (download, browse files) and the
// parsed JUnit summary with its failed cases.
import { download, getJson } from '../api.js';
import { h, time } from '../dom.js';

const size = (n) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);

export function artifactsSection(job, onError) {
  const rows = job.artifacts ?? [];
  if (rows.length === 0) return null;
  const archive = rows.find((a) => a.kind === 'archive');
  const files = h('ul', { class: 'artifact-files', id: 'artifact-files' });
  const base = `/api/v1/jobs/${job.id}/artifacts`;
  const browse = async () => {
    try {
      const { files: list } = await getJson(`${base}?list=true`);
      files.replaceChildren(
        ...list.map((f) =>
          h(
            'li',
            null,
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                onclick: () =>
                  download(`${base}/${f.path.split('/').map(encodeURIComponent).join('/')}`, f.path.split('/').pop()).catch(onError),
              },
              f.path,
            ),
            h('span', { class: 'muted small' }, ` ${size(f.size)}`),
          ),
        ),
      );
    } catch (err) {
      onError(err);
    }
  };
  return h(
    'section',
    { class: 'artifacts', id: 'artifacts', 'aria-label': 'artifacts' },
    h('h2', null, 'Artifacts'),
    h(
      'ul',
      null,
      rows.map((a) =>
        h(
          'li',
          { dataset: { kind: a.kind } },
          h('strong', null, a.kind === 'archive' ? (a.expose_as ?? a.name ?? 'archive') : `${a.kind} report`),
          ` · ${a.files} file${a.files === 1 ? '' : 's'} · ${size(a.size)} · `,
          a.expired
            ? h('span', { class: 'muted' }, 'expired')
            : a.expire_at
              ? h('span', { class: 'muted' }, 'expires ', time(a.expire_at))
              : 'kept forever',
        ),
      ),
    ),
    archive && !archive.expired
      ? h(
          'p',
          null,
          h(
            'button',
            {
              type: 'button',
              id: 'artifacts-download',
              onclick: () => download(base, `${archive.name ?? `job-${job.id}-artifacts`}.zip`).catch(onError),
            },
            'Download archive',
          ),
          ' ',
          h('button', { type: 'button', id: 'artifacts-browse', onclick: browse }, 'Browse files'),
        )
      : null,
    files,
  );
}

export function testReportSection(job) {
  const t = job.test_report;
  if (!t) return null;
  return h(
    'section',
    { class: 'test-report', id: 'test-report', 'aria-label': 'test report' },
    h('h2', null, 'Tests'),
    h('p', null, `${t.tests} tests · ${t.failures} failed · ${t.errors} errors · ${t.skipped} skipped · ${t.time.toFixed(2)} s`),
    t.parse_error ? h('p', { class: 'small muted' }, `Not read: ${t.parse_error}`) : null,
    t.failed.length
      ? h(
          'ol',
          null,
          t.failed.map((c) =>
            h(
              'li',
              null,
              h('strong', null, [c.classname || c.suite, c.name].filter(Boolean).join(' › ')),
              c.message ? h('code', null, ` ${c.message}`) : null,
            ),
          ),
        )
      : null,
  );
}

/** "3/4 passed" for the pipeline page, or null. */
export function testBadgeText(job) {
  const t = job.test_report;
  if (!t) return null;
  return `tests ${t.tests - t.failures - t.errors - t.skipped}/${t.tests} passed`;
}
