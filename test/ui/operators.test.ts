/**
 * The operators' pages against the REAL coordinator in Debian's headless Chromium: the Health
 * overview (uPlot chart drawn from /api/v1/overview), the open-incident banner on every page,
 * the runners and rules pages, live updates over server-sent events (no reload, no polling
 * while idle), and the polish (mixed classes, needs edges, skipped contrast, dark theme,
 * failures summary first on narrow screens). Screenshots land in test-artifacts/ui/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createCoordinator, type Coordinator } from '../../src/coordinator/index.js';
import type { PipelineJson } from '../../src/protocol/user-api.js';
import type { JobPayload, JobUpdateRequest } from '../../src/protocol/runner-api.js';
import { hasTool, requireTools } from '../helpers/tools.js';
import { tempDir } from '../helpers/tmp.js';
import { jsErrors, launchChromium, openUi, SHOTS } from '../helpers/browser.js';
import { allPanels, loadDashboards, renderLink } from '../observability/dashboard-queries.js';

const REGISTRY = 'registry.invalid:5000';
const IMAGE = `${REGISTRY}/team/node:20`;
const pullFailure: JobUpdateRequest = {
  state: 'failed',
  exit_code: null,
  trace_bytes: 0,
  failure: {
    reason: 'image_pull_failure',
    stage: 'pull_image',
    message: `Get "http://${REGISTRY}/v2/": dial tcp: connection refused`,
    executor: 'docker',
    image: IMAGE,
    registry: REGISTRY,
    kind: 'registry_unreachable',
  },
};
const scriptFailure: JobUpdateRequest = {
  state: 'failed',
  exit_code: 1,
  trace_bytes: 0,
  failure: { reason: 'script_failure', stage: 'step_script', message: null, executor: 'docker', image: null, registry: null },
};

describe('operators\u2019 UI on the real coordinator (headless Chromium)', () => {
  let coord: Coordinator;
  let dir: ReturnType<typeof tempDir>;
  let browser: Browser;
  let runnerToken: string;
  let rulesDir: string;
  let mixed: PipelineJson;
  const headers = () => ({ 'content-type': 'application/json', authorization: `Bearer ${coord.apiToken}` });
  const api = async <T>(path: string): Promise<T> => {
    const r = await fetch(`${coord.url}${path}`, { headers: headers() });
    assert.equal(r.status, 200, `${path}: ${r.status}`);
    return (await r.json()) as T;
  };
  const createPipeline = async (yaml: string, ref = 'main'): Promise<PipelineJson> => {
    const r = await fetch(`${coord.url}/api/v1/pipelines`, { method: 'POST', headers: headers(), body: JSON.stringify({ yaml, ref }) });
    assert.equal(r.status, 201, await r.clone().text());
    return (await r.json()) as PipelineJson;
  };
  const takeJob = async (): Promise<JobPayload> => {
    const r = await fetch(`${coord.url}/api/v1/jobs/request`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'runner-token': runnerToken },
      body: JSON.stringify({ capacity: 1 }),
    });
    assert.equal(r.status, 201, `job request answered ${r.status}`);
    return (await r.json()) as JobPayload;
  };
  const update = async (job: JobPayload, body: JobUpdateRequest) => {
    const r = await fetch(`${coord.url}/api/v1/jobs/${job.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'job-token': job.token },
      body: JSON.stringify(body),
    });
    assert.equal(r.status, 200, await r.clone().text());
  };
  const finish = async (body: JobUpdateRequest) => {
    const job = await takeJob();
    await update(job, { state: 'running' });
    await update(job, body);
    await coord.idle();
    return job;
  };

  before(async () => {
    if (!hasTool('chromium')) return;
    dir = tempDir('faultline-ops-ui-');
    // A copy of the shipped rules, so the reload test can change them.
    rulesDir = join(dir.path, 'rules');
    cpSync(new URL('../../rules/classification/', import.meta.url).pathname, rulesDir, { recursive: true });
    coord = await createCoordinator({ dataDir: dir.path, port: 0, rulesDir });
    const reg = await fetch(`${coord.url}/api/v1/runners/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        registration_token: coord.registrationToken,
        name: 'op-runner',
        tags: [],
        run_untagged: true,
        executor: 'docker',
        concurrency: 4,
      }),
    });
    runnerToken = ((await reg.json()) as { token: string }).token;
    // One pipeline with an infra AND a build failure (and a skipped job that needs the build one).
    mixed = await createPipeline(
      `stages: [build, test]\npull:\n  stage: build\n  image: ${IMAGE}\n  script: [make]\nunit:\n  stage: build\n  script: [npm test]\nreport:\n  stage: test\n  needs: [unit]\n  script: [echo]\n`,
      'feature/mixed',
    );
    for (let i = 0; i < 2; i++) {
      const job = await takeJob();
      await update(job, { state: 'running' });
      await update(job, job.name === 'pull' ? pullFailure : scriptFailure);
    }
    await coord.idle();
    // Two more pulls from the same registry fail: three failures of one dependency.
    for (const ref of ['a', 'b']) {
      await createPipeline(`pull:\n  image: ${IMAGE}\n  script: [make]\n`, ref);
      await finish(pullFailure);
    }
    await createPipeline('ok:\n  script: [echo ok]\n', 'green');
    await finish({ state: 'success', exit_code: 0, trace_bytes: 0 });
    mixed = await api<PipelineJson>(`/api/v1/pipelines/${mixed.id}`);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await coord?.close();
    dir?.dispose();
  });

  /** A page that already holds the token, with JS errors collected (test/helpers/browser.ts). */
  const open = (hash: string, viewport?: { width: number; height: number }): Promise<Page> => openUi(browser, coord, hash, viewport);

  test('Health: the infra ratio chart is drawn from the data, open incidents name their dependency, runners by state', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const o = await api<{ infra_ratio: { now: number | null }; fallback_decided: { count: number } }>('/api/v1/overview');
    assert.equal(o.infra_ratio.now, 3 / 5, 'three infra failures among five finished jobs');
    const page = await open('#/health');
    await page.locator('#infra-chart canvas').waitFor();
    assert.equal(await page.locator('#infra-ratio-now').innerText(), '60%');
    // The canvas carries the infra series: pixels in the infra colour (the hour's point).
    const infraPixels = await page.evaluate(() => {
      const c = document.querySelector('#infra-chart canvas') as HTMLCanvasElement;
      const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < px.length; i += 4)
        if (Math.abs(px[i]! - 11) < 24 && Math.abs(px[i + 1]! - 110) < 24 && Math.abs(px[i + 2]! - 104) < 24 && px[i + 3]! > 200) n++;
      return n;
    });
    assert.ok(infraPixels > 15, `infra-coloured pixels on the chart: ${infraPixels}`);
    const inc = page.locator('#ov-incidents li').first();
    assert.match(await inc.innerText(), new RegExp(`registry_unreachable on ${REGISTRY.replace('.', '\\.')}\\s+registry`));
    assert.equal(await page.locator('#ov-runners li[data-state="online"] .big').innerText(), '1');
    assert.match(await page.locator('#ov-fallback h2').innerText(), new RegExp(`\\(${o.fallback_decided.count}, last 24 h\\)`));
    await page.screenshot({ path: `${SHOTS}health.png`, fullPage: true });
    // Dark theme follows the system setting.
    await page.emulateMedia({ colorScheme: 'dark' });
    const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g)!.map(Number);
    assert.ok(r! + g! + b! < 120, `dark background, got ${bg}`);
    await page.screenshot({ path: `${SHOTS}health-dark.png`, fullPage: true });
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });

  test('runners page lists the fleet with state, executor and tags', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const page = await open('#/runners');
    const row = page.locator('#runners-table tbody tr').first();
    await row.waitFor();
    assert.equal(await page.locator('#runners-table tbody tr').count(), 1);
    assert.match(await row.locator('.c-name').innerText(), /op-runner/);
    assert.equal(await row.getAttribute('data-state'), 'online');
    assert.equal(await row.locator('.c-executor').innerText(), 'docker');
    assert.match(await row.locator('.c-tags').innerText(), /untagged/);
    assert.equal(await page.locator('nav.top a[aria-current="page"]').getAttribute('data-nav'), 'runners');
    await page.screenshot({ path: `${SHOTS}runners.png`, fullPage: true });
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });

  test('runners page: Remove asks first, then DELETEs the runner (gone from the API and the page)', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const reg = await fetch(`${coord.url}/api/v1/runners/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        registration_token: coord.registrationToken,
        name: 'spare-runner',
        executor: 'shell',
        tags: ['spare'],
        run_untagged: false,
        concurrency: 1,
      }),
    });
    assert.equal(reg.status, 201, await reg.clone().text());
    const listed = async () => (await api<{ runners: { id: number; name: string }[] }>('/api/v1/runners')).runners.map((r) => r.name);
    assert.deepEqual((await listed()).sort(), ['op-runner', 'spare-runner']);
    const page = await open('#/runners');
    const spare = page.locator('#runners-table tbody tr', { hasText: 'spare-runner' });
    await spare.waitFor();
    const dialogs: string[] = [];
    // First answer "Cancel": nothing may be removed.
    page.once('dialog', (d) => (dialogs.push(d.message()), void d.dismiss()));
    await spare.locator('button[data-action="remove"]').click();
    await page.waitForTimeout(300);
    assert.match(dialogs[0] ?? '', /^Remove runner spare-runner \(#\d+\)\?/);
    assert.deepEqual((await listed()).sort(), ['op-runner', 'spare-runner'], 'a dismissed confirm removes nothing');
    page.once('dialog', (d) => (dialogs.push(d.message()), void d.accept()));
    await spare.locator('button[data-action="remove"]').click();
    await spare.waitFor({ state: 'detached', timeout: 3000 });
    assert.equal(dialogs.length, 2);
    assert.deepEqual(await listed(), ['op-runner']);
    assert.equal(await page.locator('#runners-table tbody tr').count(), 1);
    await page.screenshot({ path: `${SHOTS}runners-removed.png`, fullPage: true });
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });

  test('rules page: rules in force with hit counts and coverage', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const rules = await api<{ rules: { id: string; hits: number }[]; coverage: { failures: number } }>('/api/v1/rules');
    assert.ok(rules.rules.length > 0);
    assert.equal(rules.coverage.failures, 4);
    const page = await open('#/rules');
    await page.locator('#rules-table').waitFor();
    assert.equal(await page.locator('#rules-table tbody tr').count(), rules.rules.length);
    const hit = rules.rules.find((r) => r.hits > 0);
    if (hit) assert.equal(await page.locator(`#rules-table tr[data-rule-id="${hit.id}"] .c-hits`).innerText(), String(hit.hits));
    assert.match(await page.locator('#rules-meta').innerText(), /of 4 failures in the last 7 days/);
    await page.screenshot({ path: `${SHOTS}rules.png`, fullPage: true });
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });

  test('rules page: Reload rules picks up a new rule file; a broken one is refused with file and line, the old rules stay', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    type Rules = { rules: { id: string }[]; last_reload: { ok: boolean; errors: unknown[] } | null };
    const before = await api<Rules>('/api/v1/rules');
    assert.ok(!before.rules.some((r) => r.id === 'ui-reload-test'));
    const file = join(rulesDir, '99-ui-reload.yml');
    const rule = (pattern: string) =>
      `rules:\n  - id: ui-reload-test\n    version: 1\n    description: A rule the UI test adds and reloads.\n    match:\n      reason: script_failure\n      log: ['${pattern}']\n    class: build\n    cause: ui_reload\n    summary: reloaded\n`;
    writeFileSync(file, rule('^zorp-ui-reload'));
    const page = await open('#/rules');
    await page.locator('#rules-table').waitFor();
    await page.locator('#rules-reload').click();
    await page.locator('#rules-table tr[data-rule-id="ui-reload-test"]').waitFor({ timeout: 3000 });
    const after1 = await api<Rules>('/api/v1/rules');
    assert.ok(
      after1.rules.some((r) => r.id === 'ui-reload-test'),
      'the API has the new rule',
    );
    assert.equal(after1.last_reload?.ok, true);
    // A broken regex: refused, named, and the rules in force do not change.
    writeFileSync(file, rule('(unclosed'));
    await page.locator('#rules-reload').click();
    const err = page.locator('#rules-reload-error');
    await err.waitFor({ timeout: 3000 });
    assert.match(await err.innerText(), /rules not reloaded[\s\S]*99-ui-reload\.yml/);
    const after2 = await api<Rules>('/api/v1/rules');
    assert.equal(after2.last_reload?.ok, false);
    assert.ok(
      after2.rules.some((r) => r.id === 'ui-reload-test'),
      'the previous rules stay in force',
    );
    assert.equal(await page.locator('#rules-table tbody tr').count(), after2.rules.length);
    await page.screenshot({ path: `${SHOTS}rules-reload-refused.png`, fullPage: true });
    rmSync(file);
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });

  test('pipelines list shows mixed classes; the graph draws needs edges; skipped text keeps 4.5:1; summary first on narrow screens', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const page = await open('#/');
    const row = page.locator(`#pipelines-table tr[data-pipeline-id="${mixed.id}"]`);
    await row.waitFor();
    assert.equal(await row.locator('.fcounts').innerText(), '1 infra · 1 build');

    await page.goto(`${coord.url}/#/pipelines/${mixed.id}`);
    await page.locator('svg.needs-edges path').first().waitFor();
    assert.deepEqual(
      await page
        .locator('svg.needs-edges path')
        .evaluateAll((ps) => ps.map((p) => `${(p as SVGElement).dataset.from}->${(p as SVGElement).dataset.to}`)),
      ['unit->report'],
    );
    // WCAG contrast of the skipped badge (a string: tsx would wrap named inner functions).
    const ratio = (await page.evaluate(`(() => {
      const el = document.querySelector('.job[data-name="report"] .status');
      const lum = (c) => {
        const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map((v) => Number(v) / 255);
        const f = (x) => (x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4);
        return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
      };
      const s = getComputedStyle(el);
      const [a, b] = [lum(s.color), lum(s.backgroundColor)].sort((x, y) => y - x);
      return (a + 0.05) / (b + 0.05);
    })()`)) as number;
    assert.equal(await page.locator('.job[data-name="report"]').getAttribute('data-status'), 'skipped');
    assert.ok(ratio >= 4.5, `skipped badge contrast ${ratio.toFixed(2)}:1`);
    await page.screenshot({ path: `${SHOTS}pipeline-needs.png`, fullPage: true });

    await page.setViewportSize({ width: 420, height: 900 });
    await page.goto(`${coord.url}/#/failures`);
    await page.locator('#failure-summary').waitFor();
    const [summaryY, tableY] = await page.evaluate(() => [
      document.querySelector('#failure-summary')!.getBoundingClientRect().top,
      document.querySelector('#failures-table')!.getBoundingClientRect().top,
    ]);
    assert.ok(summaryY < tableY, `summary at ${summaryY}px, list at ${tableY}px`);
    await page.screenshot({ path: `${SHOTS}failures-narrow.png`, fullPage: true });
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });

  test('live: a new pipeline and its job transitions show without a reload; running durations tick', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const page = await open('#/');
    await page.locator('#pipelines-table').waitFor();
    await page.waitForFunction(() => document.documentElement.dataset.live === 'on');
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 42));
    // Nothing is running: the old list stopped polling here and never saw what came next.
    const p = await createPipeline(`live:\n  script: [sleep 5]\n`, 'live/branch');
    const row = page.locator(`#pipelines-table tr[data-pipeline-id="${p.id}"]`);
    await row.waitFor({ timeout: 3000 });
    const job = await takeJob();
    await update(job, { state: 'running' });
    await page.waitForFunction(
      (id) => document.querySelector(`#pipelines-table tr[data-pipeline-id="${id}"] .status`)?.getAttribute('data-status') === 'running',
      p.id,
      { timeout: 3000 },
    );
    // The running pipeline's duration counts up by itself.
    const dur = row.locator('.c-dur .dur');
    const first = await dur.innerText();
    await page.waitForFunction(
      ([id, was]) => document.querySelector(`#pipelines-table tr[data-pipeline-id="${id}"] .c-dur .dur`)?.textContent !== was,
      [p.id, first] as const,
      { timeout: 3000 },
    );
    await page.screenshot({ path: `${SHOTS}live-running.png` });
    await update(job, { state: 'success', exit_code: 0, trace_bytes: 0 });
    await page.waitForFunction(
      (id) => document.querySelector(`#pipelines-table tr[data-pipeline-id="${id}"] .status`)?.getAttribute('data-status') === 'success',
      p.id,
      { timeout: 3000 },
    );
    assert.equal(await page.evaluate(() => (window as unknown as { marker?: number }).marker), 42, 'no reload happened');
    assert.doesNotMatch(await row.locator('.c-dur').innerText(), /tick/);
    await page.screenshot({ path: `${SHOTS}live-done.png` });
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });

  test('a dashboard data link, rendered as Grafana would, opens the failures list filtered like the panel', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const linkOf = (uid: string, title: string): string => {
      const d = loadDashboards().find((x) => x.json.uid === uid)!.json;
      const p = allPanels(d).find((x) => x.title === title);
      assert.ok(p, `${uid}: no panel ${title}`);
      return p.fieldConfig.defaults.links[0].url;
    };
    type Failures = { failures: { id: number; failure: { class: string } }[] };
    const all = (await api<Failures>('/api/v1/failures?since=1h')).failures;
    const infra = all.filter((f) => f.failure.class === 'infra').map((f) => f.id);
    assert.equal(infra.length, 3, 'three pull failures');
    assert.ok(all.length > infra.length, 'and a build failure the links must leave out');
    // The operator already holds the token in this browser (the UI keeps it in localStorage).
    const page = await open('#/');
    await page.locator('#pipelines-table').waitFor();
    /** Goes to `url` (a hash change in the open UI) and waits for the list it filters by `field` = `value`. */
    const shownIds = async (url: string, field: string, value: string) => {
      await page.goto(url);
      await page.waitForFunction(([f, v]) => (document.getElementById(f) as HTMLInputElement | null)?.value === v, [field, value] as const);
      await page.locator('#failures-table, .failures-body .empty').first().waitFor();
      return (
        await page.locator('#failures-table tbody tr').evaluateAll((rs) => rs.map((r) => Number((r as HTMLElement).dataset.jobId)))
      ).sort();
    };
    const at = { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) };
    // "Registries in outage now": a click on the registry's name.
    const outage = renderLink(linkOf('faultline-registry', 'Registries in outage now'), {
      ...at,
      vars: { faultline_url: coord.url },
      labels: { registry: REGISTRY },
    });
    assert.deepEqual(await shownIds(outage, 'f-registry', REGISTRY), [...infra].sort());
    assert.equal(await page.locator('#f-registry').inputValue(), REGISTRY);
    assert.equal(await page.locator('#f-class').inputValue(), 'infra');
    await page.screenshot({ path: `${SHOTS}dashboard-link-registry.png`, fullPage: true });
    // "Infra failure ratio by runner": the runner's series, $executor at "All" (.*), the dashboard's time range.
    const byRunner = linkOf('faultline-failures', 'Infra failure ratio by runner (1h)');
    const runnerLink = (runner: string) =>
      renderLink(byRunner, { ...at, vars: { faultline_url: coord.url, executor: '.*' }, labels: { runner } });
    assert.deepEqual(await shownIds(runnerLink('op-runner'), 'f-runner_name', 'op-runner'), [...infra].sort());
    assert.equal(await page.locator('#f-executor').inputValue(), '', "Grafana's All is no filter");
    assert.equal(await page.locator('#f-until').inputValue(), at.to.toISOString());
    assert.deepEqual(await shownIds(runnerLink('another-runner'), 'f-runner_name', 'another-runner'), [], 'another runner has none');
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });

  // Last: it resolves the incident the tests above rely on.
  test('a banner on every page while an incident is open; it goes when evidence resolves it', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const page = await open('#/');
    const banner = page.locator('#incident-banner');
    for (const hash of ['#/', '#/failures', '#/runners', `#/pipelines/${mixed.id}`, '#/health']) {
      await page.goto(`${coord.url}/${hash}`);
      await banner.waitFor({ state: 'visible' });
      assert.match(await banner.innerText(), new RegExp(`Infra incident open: registry_unreachable on ${REGISTRY.replace('.', '\\.')}`));
    }
    await page.screenshot({ path: `${SHOTS}banner.png` });
    // A successful pull from that registry is the evidence that the outage is over.
    await createPipeline(`pull:\n  image: ${IMAGE}\n  script: [make]\n`, 'recovered');
    await finish({
      state: 'success',
      exit_code: 0,
      trace_bytes: 0,
      image_pulls: [
        {
          image: IMAGE,
          registry: REGISTRY,
          policy: 'always',
          outcome: 'success',
          kind: null,
          duration_ms: 30,
          at: new Date().toISOString(),
        },
      ],
    });
    await banner.waitFor({ state: 'hidden', timeout: 3000 });
    await page.screenshot({ path: `${SHOTS}banner-gone.png` });
    assert.deepEqual(jsErrors(page), []);
    await page.close();
  });
});
