/**
 * Issue 9, item 5 on the job page (real coordinator, Debian's headless Chromium): a job
 * that succeeded, then the same job failing with an error no rule knows. The page says the
 * fallback decided, and lists the lines the green run did not print, marked "not in the last
 * green run #N" — apart from rule evidence (no line of the log is highlighted as evidence).
 * Jobs are driven through the runner API by hand.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createCoordinator, type Coordinator } from '../../src/coordinator/index.js';
import type { JobPayload, JobUpdateRequest } from '../../src/protocol/runner-api.js';
import type { JobJson } from '../../src/protocol/user-api.js';
import { hasTool, requireTools } from '../helpers/tools.js';
import { tempDir } from '../helpers/tmp.js';
import { launchChromium } from '../helpers/browser.js';

const GREEN_LOG = ['$ ./build.sh', 'fetch attempt 1 failed, retrying in 2s', 'build ok', ''].join('\n');
const RED_LOG = ['$ ./build.sh', 'fetch attempt 2 failed, retrying in 4s', 'zorp: cannot frobnicate the widget cache', ''].join('\n');

describe('job page: lines new since the last green run (headless Chromium)', () => {
  let coord: Coordinator;
  let dir: ReturnType<typeof tempDir>;
  let browser: Browser | undefined;
  let greenId = 0;
  let red: JobJson;

  const post = async (path: string, body: unknown, headers: Record<string, string>) =>
    fetch(`${coord.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  /** One pipeline of one job `build`, run to the end with `log` by a hand-driven runner. */
  async function run(runnerToken: string, log: string, final: JobUpdateRequest): Promise<number> {
    const p = await post(
      '/api/v1/pipelines',
      { yaml: 'build:\n  script: [./build.sh]\n', ref: 'main' },
      { authorization: `Bearer ${coord.apiToken}` },
    );
    assert.equal(p.status, 201, await p.clone().text());
    const r = await post('/api/v1/jobs/request', { capacity: 1 }, { 'runner-token': runnerToken });
    assert.equal(r.status, 201);
    const job = (await r.json()) as JobPayload;
    const put = (body: JobUpdateRequest) =>
      fetch(`${coord.url}/api/v1/jobs/${job.id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'job-token': job.token },
        body: JSON.stringify(body),
      });
    assert.equal((await put({ state: 'running' })).status, 200);
    const bytes = Buffer.from(log);
    const t = await fetch(`${coord.url}/api/v1/jobs/${job.id}/trace`, {
      method: 'PATCH',
      headers: { 'job-token': job.token, 'content-range': `0-${bytes.length - 1}` },
      body: new Uint8Array(bytes),
    });
    assert.equal(t.status, 202);
    assert.equal((await put({ ...final, trace_bytes: bytes.length })).status, 200);
    await coord.idle();
    return job.id;
  }

  before(async () => {
    dir = tempDir('faultline-ui-newlines-');
    coord = await createCoordinator({ dataDir: dir.path, port: 0 });
    const reg = await post(
      '/api/v1/runners/register',
      { registration_token: coord.registrationToken, name: 'ui-newlines', tags: [], run_untagged: true, executor: 'shell', concurrency: 1 },
      {},
    );
    assert.equal(reg.status, 201);
    const token = ((await reg.json()) as { token: string }).token;
    greenId = await run(token, GREEN_LOG, { state: 'success', exit_code: 0, trace_bytes: 0 });
    const redId = await run(token, RED_LOG, {
      state: 'failed',
      exit_code: 3,
      trace_bytes: 0,
      failure: { reason: 'script_failure', stage: 'step_script', message: null, executor: 'shell', image: null, registry: null },
    });
    const r = await fetch(`${coord.url}/api/v1/jobs/${redId}`, { headers: { authorization: `Bearer ${coord.apiToken}` } });
    red = (await r.json()) as JobJson;
    // The premise: no rule matched, and the comparison found the one new line.
    assert.equal(red.failure?.fallback, true, JSON.stringify(red.failure));
    assert.equal(red.failure.baseline_job_id, greenId);
    assert.deepEqual(red.failure.new_lines, [{ line: 3, text: 'zorp: cannot frobnicate the widget cache' }]);
    if (hasTool('chromium')) browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await coord?.close();
    dir?.dispose();
  });

  test('the fallback is named and the new line is marked "not in the last green run #N", not as evidence', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${coord.url}/?token=${encodeURIComponent(coord.apiToken)}#/jobs/${red.id}`);
    const box = page.locator('#classification');
    await box.waitFor();
    const text = await box.innerText();
    assert.match(text, /fallback by reason \(no rule matched script_failure at step_script\)/);
    const item = page.locator('#new-lines li');
    assert.equal(await item.count(), 1);
    const itemText = await item.innerText();
    assert.match(itemText, /line 3/);
    assert.match(itemText, /zorp: cannot frobnicate the widget cache/);
    assert.match(itemText, new RegExp(`not in the last green run #${greenId}`));
    assert.equal(await page.locator(`#new-lines a[href="#/jobs/${greenId}"]`).count(), 1, 'links the green run');
    // Not rule evidence: no evidence list, no evidence-highlighted log line.
    assert.equal(await page.locator('.evidence-list').count(), 0);
    await page.locator('#L3').waitFor();
    assert.equal(await page.locator('.log .line.evidence').count(), 0);
    // The failures list and the pipeline page say the fallback decided too (item 6).
    await page.goto(`${coord.url}/#/failures`);
    const decided = page.locator(`tr[data-job-id="${red.id}"] .decided`);
    await decided.waitFor();
    assert.equal(await decided.getAttribute('data-decided'), 'fallback');
    assert.match(await decided.innerText(), /no rule matched \(fallback\)/);
    await page.goto(`${coord.url}/#/pipelines/${red.pipeline_id}`);
    const card = page.locator(`.job[data-job-id="${red.id}"] .job-failure .decided`);
    await card.waitFor();
    assert.match(await card.innerText(), /no rule matched/);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
