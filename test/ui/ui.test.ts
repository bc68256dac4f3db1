/**
 * The web UI against the REAL coordinator, in Debian's headless Chromium.
 * A pipeline gets two failing jobs, finished through the runner API by hand: one
 * image pull failure (infra) and one jest failure (build). The pages must tell
 * them apart by label, icon and data-class, highlight the log evidence, and
 * filter the failures list by class. Screenshots land in test-artifacts/ui/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { createCoordinator, type Coordinator } from '../../src/coordinator/index.js';
import type { JobJson, PipelineJson } from '../../src/protocol/user-api.js';
import type { JobPayload, JobUpdateRequest } from '../../src/protocol/runner-api.js';
import { hasTool, requireTools } from '../helpers/tools.js';
import { tempDir } from '../helpers/tmp.js';
import { jsErrors, launchChromium, openUi, SHOTS } from '../helpers/browser.js';

const PIPELINE_YAML = `
stages: [build, test]
compile:
  stage: build
  image: registry.invalid:5000/team/node:20
  script: [npm run build]
unit-tests:
  stage: build
  script: [npm test]
report:
  stage: test
  needs: [unit-tests]
  script: [echo report]
`;

// Line 3 carries markup: it must show as text, never become an element.
const JEST_LOG = [
  '$ npm test',
  '> jest --ci',
  'console.log <b id="injected">not html</b>',
  ' FAIL  src/sum.test.js',
  '  ● sum › adds 1 + 2 to equal 3',
  '    Expected: 3',
  '    Received: 4',
  'Tests:       1 failed, 3 passed, 4 total',
  'ERROR: Job failed: exit code 1',
  '',
].join('\n');
const PULL_LOG = [
  'Preparing the "docker" executor',
  'Pulling docker image registry.invalid:5000/team/node:20 ...',
  'ERROR: Get "http://registry.invalid:5000/v2/": dial tcp: connection refused',
  '',
].join('\n');

/** The runner side, by hand: just enough of the wire protocol to drive jobs. */
async function registerRunner(coord: Coordinator, name: string): Promise<string> {
  const reg = await fetch(`${coord.url}/api/v1/runners/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      registration_token: coord.registrationToken,
      name,
      tags: [],
      run_untagged: true,
      executor: 'docker',
      concurrency: 2,
    }),
  });
  assert.equal(reg.status, 201, await reg.clone().text());
  return ((await reg.json()) as { token: string }).token;
}

async function takeJob(coord: Coordinator, runnerToken: string): Promise<JobPayload> {
  const r = await fetch(`${coord.url}/api/v1/jobs/request`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'runner-token': runnerToken },
    body: JSON.stringify({ capacity: 1 }),
  });
  assert.equal(r.status, 201, `job request answered ${r.status}`);
  return (await r.json()) as JobPayload;
}

async function updateJob(coord: Coordinator, job: JobPayload, body: JobUpdateRequest): Promise<void> {
  const r = await fetch(`${coord.url}/api/v1/jobs/${job.id}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'job-token': job.token },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, await r.clone().text());
}

/** Appends bytes at `offset`; returns the new offset. */
async function appendTrace(coord: Coordinator, job: JobPayload, offset: number, bytes: Buffer): Promise<number> {
  const t = await fetch(`${coord.url}/api/v1/jobs/${job.id}/trace`, {
    method: 'PATCH',
    headers: { 'job-token': job.token, 'content-range': `${offset}-${offset + bytes.length - 1}` },
    body: new Uint8Array(bytes),
  });
  assert.equal(t.status, 202, await t.clone().text());
  return offset + bytes.length;
}

async function runnerFinishes(coord: Coordinator): Promise<void> {
  const token = await registerRunner(coord, 'ui-test');
  const jobs = [await takeJob(coord, token), await takeJob(coord, token)];
  for (const job of jobs) {
    await updateJob(coord, job, { state: 'running' });
    const log = Buffer.from(job.name === 'compile' ? PULL_LOG : JEST_LOG);
    await appendTrace(coord, job, 0, log);
    if (job.name === 'compile')
      await updateJob(coord, job, {
        state: 'failed',
        exit_code: null,
        trace_bytes: log.length,
        failure: {
          reason: 'image_pull_failure',
          stage: 'pull_image',
          message: 'Get "http://registry.invalid:5000/v2/": dial tcp: connection refused',
          executor: 'docker',
          image: 'registry.invalid:5000/team/node:20',
          registry: 'registry.invalid:5000',
          kind: 'registry_unreachable',
        },
      });
    else
      await updateJob(coord, job, {
        state: 'failed',
        exit_code: 1,
        trace_bytes: log.length,
        failure: { reason: 'script_failure', stage: 'step_script', message: null, executor: 'docker', image: null, registry: null },
      });
  }
}

/**
 * More incidents, after the tests that count failures: on a docker runner,
 *  - `boot` fails with a runner system failure (executor scope), then `smoke` succeeds
 *    on the same ref: resolved by a job success;
 *  - `fetch` cannot reach mirror.invalid:5000, then a later `fetch` pulls from it:
 *    resolved by an image pull;
 *  - `lint` hits the same unreachable registry.invalid:5000 as `compile`: it joins the
 *    open incident instead of opening another.
 */
async function moreIncidents(coord: Coordinator) {
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${coord.apiToken}` };
  const token = await registerRunner(coord, 'ui-incidents');
  const run = async (ref: string, yaml: string, body: JobUpdateRequest): Promise<JobPayload> => {
    const r = await fetch(`${coord.url}/api/v1/pipelines`, { method: 'POST', headers, body: JSON.stringify({ yaml, ref }) });
    assert.equal(r.status, 201, await r.clone().text());
    const job = await takeJob(coord, token);
    await updateJob(coord, job, { state: 'running' });
    await updateJob(coord, job, body);
    await coord.idle();
    return job;
  };
  const pullFailure = (registry: string, image: string): JobUpdateRequest => ({
    state: 'failed',
    exit_code: null,
    trace_bytes: 0,
    failure: {
      reason: 'image_pull_failure',
      stage: 'pull_image',
      message: `dial tcp ${registry}: connection refused`,
      executor: 'docker',
      image,
      registry,
      kind: 'registry_unreachable',
    },
  });
  const mirrorImage = 'mirror.invalid:5000/tools/fetch:1';
  await run('release', 'boot:\n  script: [boot]\n', {
    state: 'failed',
    exit_code: null,
    trace_bytes: 0,
    failure: {
      reason: 'runner_system_failure',
      stage: 'prepare_executor',
      message: 'container create failed',
      executor: 'docker',
      image: null,
      registry: null,
    },
  });
  const smoke = await run('release', 'smoke:\n  script: [smoke]\n', { state: 'success', exit_code: 0, trace_bytes: 0 });
  await run('mirror', `fetch:\n  image: ${mirrorImage}\n  script: [fetch]\n`, pullFailure('mirror.invalid:5000', mirrorImage));
  const lint = await run(
    'feature/login',
    'lint:\n  image: registry.invalid:5000/team/node:20\n  script: [lint]\n',
    pullFailure('registry.invalid:5000', 'registry.invalid:5000/team/node:20'),
  );
  const fetched = await run('mirror', `fetch:\n  image: ${mirrorImage}\n  script: [fetch]\n`, {
    state: 'success',
    exit_code: 0,
    trace_bytes: 0,
    image_pulls: [
      {
        image: mirrorImage,
        registry: 'mirror.invalid:5000',
        policy: 'always',
        outcome: 'success',
        kind: null,
        duration_ms: 40,
        at: new Date().toISOString(),
      },
    ],
  });
  await coord.idle();
  const r = await fetch(`${coord.url}/api/v1/incidents?state=resolved`, { headers });
  const { incidents } = (await r.json()) as { incidents: Array<{ id: number; target: string }> };
  const id = (target: string) => incidents.find((i) => i.target === target)?.id;
  assert.ok(id('docker') && id('mirror.invalid:5000'), JSON.stringify(incidents));
  return {
    executorIncident: id('docker')!,
    smokeJobId: smoke.id,
    mirrorIncident: id('mirror.invalid:5000')!,
    mirrorImage,
    fetchJobId: fetched.id,
    lintJobId: lint.id,
  };
}

describe('web UI on the real coordinator (headless Chromium)', () => {
  let coord: Coordinator | undefined;
  let browser: Browser | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  let pipeline: PipelineJson;
  let infraJob: JobJson;
  let buildJob: JobJson;
  const api = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${coord!.url}${path}`, { headers: { authorization: `Bearer ${coord!.apiToken}` } });
    assert.equal(r.status, 200, `${path}: ${r.status}`);
    return (await r.json()) as T;
  };

  before(async () => {
    if (!hasTool('chromium')) return; // each test skips (or fails under CI) via requireTools
    dir = tempDir('faultline-ui-');
    coord = await createCoordinator({ dataDir: dir.path, port: 0, incidents: { failures: 1 } });
    const created = await fetch(`${coord.url}/api/v1/pipelines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${coord.apiToken}` },
      body: JSON.stringify({ yaml: PIPELINE_YAML, ref: 'feature/login' }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    pipeline = (await created.json()) as PipelineJson;
    await runnerFinishes(coord);
    await coord.idle();
    pipeline = await api<PipelineJson>(`/api/v1/pipelines/${pipeline.id}`);
    infraJob = pipeline.jobs!.find((j) => j.name === 'compile')!;
    buildJob = pipeline.jobs!.find((j) => j.name === 'unit-tests')!;
    // The premise of every test below: the coordinator classified them apart.
    assert.equal(infraJob.failure?.class, 'infra', JSON.stringify(infraJob.failure));
    assert.equal(buildJob.failure?.class, 'build', JSON.stringify(buildJob.failure));
    assert.ok(buildJob.failure.evidence.length > 0, 'the jest failure has log evidence');
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await coord?.close();
    dir?.dispose();
  });

  /** A page that already holds the token, with JS errors collected (test/helpers/browser.ts). */
  const open = (hash: string, viewport?: { width: number; height: number }): Promise<Page> => openUi(browser!, coord!, hash, viewport);

  test('pipeline page labels the infra and the build failure differently', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const page = await open(`#/pipelines/${pipeline.id}`);
    // The token moved from the URL to localStorage. The page's own location: page.url() learns of
    // history.replaceState from an event that can arrive after goto resolves (seen under load).
    const href = await page.evaluate(() => location.href);
    assert.ok(!href.includes('token='), href);
    assert.equal(await page.evaluate(() => localStorage.getItem('faultline.apiToken')), coord!.apiToken);

    const infraBadge = page.locator(`.job[data-job-id="${infraJob.id}"] .job-failure .fclass`);
    const buildBadge = page.locator(`.job[data-job-id="${buildJob.id}"] .job-failure .fclass`);
    await infraBadge.waitFor();
    assert.equal(await infraBadge.getAttribute('data-class'), 'infra');
    assert.equal(await buildBadge.getAttribute('data-class'), 'build');
    const infraText = (await infraBadge.innerText()).trim();
    const buildText = (await buildBadge.innerText()).trim();
    assert.match(infraText, /⚙\s*Infrastructure — operators' to fix/);
    assert.match(buildText, /✎\s*Build — yours to fix/);
    // Colour differs too (not only the words).
    const bg = (l: typeof infraBadge) => l.evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.notEqual(await bg(infraBadge), await bg(buildBadge));
    // Cause and summary come with the badge.
    assert.equal(await page.locator(`.job[data-job-id="${infraJob.id}"] .job-failure .cause`).textContent(), infraJob.failure!.cause);
    assert.equal(await page.locator(`.job[data-job-id="${buildJob.id}"] .job-failure .summary`).textContent(), buildJob.failure!.summary);
    // Both statuses are failed; the skipped downstream job lists its needs.
    assert.equal(await page.locator(`.job[data-job-id="${infraJob.id}"] .status`).getAttribute('data-status'), 'failed');
    const report = page.locator('.job[data-name="report"]');
    assert.match(await report.innerText(), /needs: unit-tests/);
    assert.equal(await page.locator('#pipeline-status, .page-head .status').first().getAttribute('data-status'), 'failed');
    await page.screenshot({ path: `${SHOTS}pipeline.png`, fullPage: true });

    // Narrow screens: stages stack, nothing overflows sideways.
    await page.setViewportSize({ width: 420, height: 900 });
    await page.waitForTimeout(100);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `page overflows horizontally by ${overflow}px at 420px`);
    await page.screenshot({ path: `${SHOTS}pipeline-narrow.png`, fullPage: true });
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });

  test('job page shows the classification and highlights the evidence lines', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const page = await open(`#/jobs/${buildJob.id}`);
    const box = page.locator('#classification');
    await box.waitFor();
    assert.equal(await box.getAttribute('data-class'), 'build');
    const boxText = await box.innerText();
    assert.ok(boxText.includes(buildJob.failure!.cause), boxText);
    assert.ok(boxText.includes('script_failure'), boxText);
    const rule = buildJob.failure!.rule;
    assert.ok(boxText.includes(rule ? `${rule.id}@${rule.version}` : 'fallback by reason'), boxText);

    await page.locator('.log .line.evidence').first().waitFor();
    const highlighted = await page
      .locator('.log .line.evidence')
      .evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.line)));
    const expected = buildJob.failure!.evidence.map((e) => e.line);
    assert.deepEqual(
      highlighted.sort((a, b) => a - b),
      [...expected].sort((a, b) => a - b),
    );
    const first = buildJob.failure!.evidence[0]!;
    assert.equal((await page.locator(`#L${first.line} .txt`).innerText()).trim(), first.text.trim());
    // Markup in the log is text.
    assert.equal(await page.locator('#injected').count(), 0);
    assert.match(await page.locator('#L3 .txt').innerText(), /<b id="injected">not html<\/b>/);

    // Evidence links jump to their line and mark it.
    await page.locator('.evidence-list a').first().click();
    await page.waitForFunction((n) => document.getElementById(`L${n}`)?.classList.contains('target'), first.line);
    assert.ok(page.url().endsWith(`#/jobs/${buildJob.id}#L${first.line}`), page.url());
    assert.match(await page.locator('#log-state').innerText(), /end of log/);
    await page.screenshot({ path: `${SHOTS}job-build.png`, fullPage: true });

    // The infra job's box names the image and registry and the owner.
    await page.goto(`${coord!.url}/#/jobs/${infraJob.id}`);
    await page.locator('#classification[data-class="infra"]').waitFor();
    const infraText = await page.locator('#classification').innerText();
    assert.ok(infraText.includes('registry.invalid:5000/team/node:20'), infraText);
    assert.ok(infraText.includes('operators'), infraText);
    assert.ok(infraText.includes('pull_image'), infraText);
    await page.screenshot({ path: `${SHOTS}job-infra.png`, fullPage: true });
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });

  test('failures page filters by class and shows the summary', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const page = await open('#/failures');
    await page.locator('#failures-table').waitFor();
    const rowIds = () =>
      page.locator('#failures-table tbody tr').evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.jobId)));
    assert.deepEqual((await rowIds()).sort(), [infraJob.id, buildJob.id].sort());
    // Summary by class from /failures/summary.
    const summary = page.locator('#failure-summary');
    assert.equal(await summary.locator('li[data-class="infra"] .count').innerText(), '1');
    assert.equal(await summary.locator('li[data-class="build"] .count').innerText(), '1');
    await page.screenshot({ path: `${SHOTS}failures.png`, fullPage: true });

    await page.selectOption('#f-class', 'infra');
    await page.waitForFunction(
      () => location.hash.includes('class=infra') && document.querySelectorAll('#failures-table tbody tr').length === 1,
    );
    assert.deepEqual(await rowIds(), [infraJob.id]);
    assert.equal(await page.locator('#failures-table tbody tr').getAttribute('data-class'), 'infra');
    assert.equal(await page.locator('#f-class').inputValue(), 'infra');
    await page.screenshot({ path: `${SHOTS}failures-infra.png`, fullPage: true });

    // The filter lives in the hash: reloading keeps it, and a text filter narrows further.
    await page.reload();
    await page.locator('#failures-table').waitFor();
    assert.equal(await page.locator('#f-class').inputValue(), 'infra');
    await page.fill('#f-job', 'unit-tests');
    await page.click('#failure-filters button[type="submit"]');
    await page.waitForFunction(() => location.hash.includes('job=unit-tests'));
    await page.locator('.list-col .empty').waitFor();

    // A filter the API rejects is explained next to the form, which stays usable.
    await page.fill('#f-job', '');
    await page.fill('#f-since', 'yesterday');
    await page.click('#failure-filters button[type="submit"]');
    await page.locator('#filter-error').waitFor();
    assert.match(await page.locator('#filter-error').innerText(), /since/);
    assert.equal(await page.locator('#f-since').getAttribute('aria-invalid'), 'true');
    await page.fill('#f-since', '24h');
    await page.click('#failure-filters button[type="submit"]');
    await page.waitForFunction(() => document.querySelectorAll('#failures-table tbody tr').length === 1);
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });

  test('pipelines list and the token form', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const page = await open('#/');
    const row = page.locator(`#pipelines-table tr[data-pipeline-id="${pipeline.id}"]`);
    await row.waitFor();
    assert.equal(await row.locator('.status').getAttribute('data-status'), 'failed');
    // Any build failure makes the pipeline the developers' to fix.
    assert.equal(await row.locator('.fclass').getAttribute('data-class'), pipeline.failure_class);
    assert.match(await row.innerText(), /feature\/login/);
    await page.screenshot({ path: `${SHOTS}pipelines.png` });

    // A refused token brings the form back; the right one gets through.
    await page.evaluate(() => localStorage.setItem('faultline.apiToken', 'wrong'));
    await page.reload();
    await page.locator('.token-form .error').waitFor();
    await page.screenshot({ path: `${SHOTS}token-form.png` });
    await page.fill('#token', coord!.apiToken);
    await page.click('.token-form button[type="submit"]');
    await page.locator('#pipelines-table').waitFor();
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });

  test('incidents: open first with MTTR, a state filter in the hash, and a detail timeline', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const more = await moreIncidents(coord!);

    const page = await open('#/incidents');
    await page.locator('#incidents-table').waitFor();
    const rows = page.locator('#incidents-table tbody tr');
    const rowIds = () => rows.evaluateAll((rs) => rs.map((r) => Number((r as HTMLElement).dataset.incidentId)));
    const states = await rows.evaluateAll((rs) => rs.map((r) => (r as HTMLElement).dataset.state));
    assert.deepEqual(states, ['open', 'resolved', 'resolved'], 'open incidents come first');
    // Both pull failures from registry.invalid:5000 are ONE open incident.
    const openRow = page.locator('#incidents-table tr[data-state="open"]');
    assert.equal(await openRow.count(), 1);
    assert.equal(await openRow.locator('.target').innerText(), 'registry.invalid:5000');
    assert.equal(await openRow.locator('.cause').innerText(), 'registry_unreachable');
    assert.match(await openRow.locator('.istate').innerText(), /OPEN/);
    assert.match(await openRow.locator('.c-jobs').innerText(), /^2\b/);
    assert.match(await openRow.locator('.c-dur').innerText(), /\d+[smhd]\b[\s\S]*so far/);
    assert.ok((await openRow.locator('time').getAttribute('title'))!.length > 0, 'the absolute time is in the title');
    // OPEN wears the infra colour; resolved does not.
    const infraRgb = await page.evaluate(() => {
      const d = document.createElement('div');
      d.style.color = getComputedStyle(document.documentElement).getPropertyValue('--infra');
      document.body.appendChild(d);
      const rgb = getComputedStyle(d).color;
      d.remove();
      return rgb;
    });
    const bg = (l: typeof openRow) => l.locator('.istate').evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(await bg(openRow), infraRgb);
    const resolvedRow = page.locator(`#incidents-table tr[data-incident-id="${more.executorIncident}"]`);
    assert.equal(await resolvedRow.getAttribute('data-state'), 'resolved');
    assert.notEqual(await bg(resolvedRow), infraRgb);
    assert.match(await resolvedRow.locator('.c-dur').innerText(), /total/);

    // MTTR summary from /api/v1/mttr: two refs back to green after infra failures, two
    // resolved incidents, one still open.
    const mttr = page.locator('#mttr-summary');
    assert.equal(await mttr.locator('[data-kind="infra"] [data-field="count"]').innerText(), '2 recovered');
    assert.equal(await mttr.locator('[data-kind="build"] [data-field="count"]').innerText(), '0 recovered');
    assert.equal(await mttr.locator('[data-kind="build"] [data-field="mean"]').innerText(), '—');
    assert.equal(await mttr.locator('[data-kind="incident"] [data-field="count"]').innerText(), '2 recovered');
    assert.match(await mttr.locator('[data-kind="incident"] [data-field="mean"]').innerText(), /^(\d+ms|0\.\d+s|\d+s|\d+m( \d+s)?)$/);
    assert.match(await mttr.locator('[data-kind="incident"]').innerText(), /1 open now/);
    await page.screenshot({ path: `${SHOTS}incidents.png`, fullPage: true });

    // The state filter lives in the hash and survives a reload.
    await page.click('#incident-state-filter a[data-state="open"]');
    await page.waitForFunction(
      () => location.hash === '#/incidents?state=open' && document.querySelectorAll('#incidents-table tbody tr').length === 1,
    );
    await page.reload();
    await page.locator('#incidents-table').waitFor();
    assert.equal(await rows.count(), 1);
    assert.equal(await page.locator('#incident-state-filter a[aria-current="page"]').getAttribute('data-state'), 'open');
    await page.click('#incident-state-filter a[data-state="resolved"]');
    // The resolved list drawn (rows, none open), not the page between two views (no table at all).
    await page.waitForFunction(
      () =>
        location.hash === '#/incidents?state=resolved' &&
        document.querySelectorAll('#incidents-table tr[data-incident-id]').length > 0 &&
        !document.querySelector('#incidents-table tr[data-state="open"]'),
    );
    assert.deepEqual((await rowIds()).sort(), [more.executorIncident, more.mirrorIncident].sort());

    // Detail of the open incident: the timeline names the jobs, the table links to them.
    await page.click('#incident-state-filter a[data-state="all"]');
    await page.waitForFunction(() => document.querySelectorAll('#incidents-table tbody tr').length === 3);
    await openRow.locator('a.cause').click();
    await page.locator('#incident-timeline').waitFor();
    assert.match(page.url(), /#\/incidents\/\d+$/);
    assert.match(await page.locator('.incident-head').innerText(), /registry_unreachable[\s\S]*OPEN[\s\S]*registry\.invalid:5000/);
    const events = await page.locator('#incident-timeline > li').evaluateAll((ls) => ls.map((l) => (l as HTMLElement).dataset.event));
    assert.deepEqual(events, ['opened', 'job_failed', 'open']);
    const opened = page.locator('#incident-timeline li[data-event="opened"]');
    assert.match(await opened.innerText(), /Opened by compile \(pipeline #\d+\) failing: registry_unreachable on registry\.invalid:5000/);
    assert.equal(await opened.locator(`a[href="#/jobs/${infraJob.id}"]`).count(), 1);
    const joined = page.locator('#incident-timeline li[data-event="job_failed"]');
    assert.equal(await joined.getAttribute('data-job-id'), String(more.lintJobId));
    assert.match(await joined.innerText(), /Job failed lint/);
    assert.match(
      await page.locator('#incident-timeline li[data-event="open"]').innerText(),
      /next successful image pull from registry\.invalid:5000/,
    );
    assert.deepEqual(
      await page.locator('#incident-jobs tbody tr').evaluateAll((rs) => rs.map((r) => Number((r as HTMLElement).dataset.jobId))),
      [infraJob.id, more.lintJobId],
    );
    const jobRow = page.locator(`#incident-jobs tr[data-job-id="${infraJob.id}"]`);
    assert.equal(await jobRow.locator(`a[href="#/jobs/${infraJob.id}"]`).innerText(), 'compile');
    assert.equal(await jobRow.locator(`a[href="#/pipelines/${pipeline.id}"]`).count(), 1);
    assert.equal(await jobRow.locator('.fclass').getAttribute('data-class'), 'infra');
    assert.equal(await jobRow.locator('.status').getAttribute('data-status'), 'failed');
    await page.screenshot({ path: `${SHOTS}incident.png`, fullPage: true });

    // Resolved ones say what resolved them: a job success, or a pull from the registry.
    await page.goto(`${coord!.url}/#/incidents/${more.executorIncident}`);
    const res = page.locator('#incident-timeline li[data-event="resolved"]');
    await res.waitFor();
    assert.match(await res.innerText(), /Resolved by smoke succeeding/);
    assert.equal(await res.locator(`a[href="#/jobs/${more.smokeJobId}"]`).count(), 1);
    assert.equal(await page.locator('#incident-timeline li[data-event="open"]').count(), 0);
    assert.match(await page.locator('#incident-duration').innerText(), /lasted (\d+ms|0\.\d+s|\d+s)/);
    await page.screenshot({ path: `${SHOTS}incident-resolved.png`, fullPage: true });
    await page.goto(`${coord!.url}/#/incidents/${more.mirrorIncident}`);
    await page.locator('#incident-timeline li[data-event="resolved"]').waitFor();
    assert.match(await res.innerText(), new RegExp(`Resolved by a successful pull of ${more.mirrorImage} from mirror\\.invalid:5000`));
    assert.equal(await res.locator(`a[href="#/jobs/${more.fetchJobId}"]`).count(), 1);

    // The job page links to the incident its failure belongs to.
    await page.goto(`${coord!.url}/#/jobs/${infraJob.id}`);
    const link = page.locator('#classification #job-incident a');
    await link.waitFor();
    assert.match(
      await page.locator('#job-incident').innerText(),
      /OPEN[\s\S]*Part of incident #\d+: registry_unreachable on registry\.invalid:5000 · 1 other job affected/,
    );
    await page.screenshot({ path: `${SHOTS}job-infra-incident.png` });
    await link.click();
    await page.locator('#incident-timeline').waitFor();
    assert.match(await page.locator('.incident-head').innerText(), /registry\.invalid:5000/);

    // Narrow screens: rows stack, nothing overflows sideways.
    await page.setViewportSize({ width: 420, height: 900 });
    for (const hash of ['#/incidents', `#/incidents/${more.mirrorIncident}`]) {
      await page.goto(`${coord!.url}/${hash}`);
      await page.locator('#incidents-table, #incident-timeline').first().waitFor();
      // Neither the page nor a table inside its scroll box: rows stack into cards.
      const overflow = await page.evaluate(() =>
        Math.max(
          document.documentElement.scrollWidth - window.innerWidth,
          ...[...document.querySelectorAll('.table-wrap')].map((w) => w.scrollWidth - w.clientWidth),
        ),
      );
      assert.ok(overflow <= 1, `${hash} overflows horizontally by ${overflow}px at 420px`);
    }
    await page.screenshot({ path: `${SHOTS}incident-narrow.png`, fullPage: true });
    await page.goto(`${coord!.url}/#/incidents`);
    await page.locator('#incidents-table').waitFor();
    await page.screenshot({ path: `${SHOTS}incidents-narrow.png`, fullPage: true });
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });

  test('job page streams the log, and keeps streaming teardown while canceling', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const created = await fetch(`${coord!.url}/api/v1/pipelines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${coord!.apiToken}` },
      body: JSON.stringify({ yaml: 'e2e:\n  interruptible: graceful\n  script: [run e2e]\n  after_script: [teardown]\n', ref: 'main' }),
    });
    assert.equal(created.status, 201, await created.clone().text());
    const runnerToken = await registerRunner(coord!, 'ui-stream');
    const job = await takeJob(coord!, runnerToken);
    await updateJob(coord!, job, { state: 'running' });
    // "ü" is two bytes; the first chunk ends in the middle of it.
    const text = Buffer.from('starting e2e\nbrowser: Müller\n');
    const cut = text.indexOf(Buffer.from('ü')) + 1;
    let offset = await appendTrace(coord!, job, 0, text.subarray(0, cut));

    const list = await open('#/');
    const row = list.locator(`#pipelines-table tr[data-pipeline-id="${job.pipeline_id}"]`);
    await row.waitFor();
    assert.equal(await row.locator('.status').getAttribute('data-status'), 'running');

    const page = await open(`#/jobs/${job.id}`);
    await page.locator('#L1').waitFor();
    assert.match(await page.locator('#log-state').innerText(), /streaming/);
    assert.equal(await page.locator('.job-page-head .status').first().getAttribute('data-status'), 'running');
    offset = await appendTrace(coord!, job, offset, text.subarray(cut));
    await page.waitForFunction(() => document.querySelector('#L2 .txt')?.textContent === 'browser: Müller');

    // Cancel from the UI: the job is canceling, the teardown log keeps coming.
    await page.click(`button[data-action="cancel"][data-job-id="${job.id}"]`);
    await page.locator('#canceling-banner').waitFor();
    assert.match(await page.locator('#canceling-banner').innerText(), /canceling — running after_script teardown/);
    assert.equal(await page.locator('.job-page-head .status').first().getAttribute('data-status'), 'canceling');
    await page.screenshot({ path: `${SHOTS}job-canceling.png`, fullPage: true });
    offset = await appendTrace(coord!, job, offset, Buffer.from('$ teardown\nremoved test database\n'));
    await page.waitForFunction(() => document.querySelector('#L4 .txt')?.textContent === 'removed test database');
    assert.match(await page.locator('#log-state').innerText(), /teardown/);

    await updateJob(coord!, job, {
      state: 'canceled',
      stopped_by: 'cancel',
      trace_bytes: offset,
      after_script: { ran: true, exit_code: 0, timed_out: false },
    });
    await page.waitForFunction(() => /end of log/.test(document.querySelector('#log-state')?.textContent ?? ''));
    assert.equal(await page.locator('.job-page-head .status').first().getAttribute('data-status'), 'canceled');
    assert.equal(await page.locator('#canceling-banner').count(), 0);
    assert.equal(await page.locator('.log .line').count(), 4);
    assert.deepEqual(jsErrors(page), []);
    await page.close();
    // The list refreshes itself (every 2 s while something runs) and settles on canceled.
    await list.waitForFunction(
      (id) => document.querySelector(`#pipelines-table tr[data-pipeline-id="${id}"] .status`)?.getAttribute('data-status') === 'canceled',
      job.pipeline_id,
      { timeout: 8000 },
    );
    assert.deepEqual(jsErrors(list), []);
    await list.close();
  });
});
