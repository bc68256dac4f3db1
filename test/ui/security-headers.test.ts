/**
 * Issue 14, defects 9 and 10: the UI's security headers, checked over real HTTP and in
 * Debian's headless Chromium — a strict CSP that the UI runs under without a violation,
 * framing refused, and no Referer carrying the `?token=` link to another site.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { createCoordinator, type Coordinator } from '../../src/coordinator/index.js';
import { hasTool, requireTools } from '../helpers/tools.js';
import { tempDir } from '../helpers/tmp.js';
import { launchChromium } from '../helpers/browser.js';

describe('UI security headers (issue 14 #9, #10)', () => {
  let coord: Coordinator;
  let dir: ReturnType<typeof tempDir>;
  let browser: Browser | undefined;
  // Another origin: a page that frames the UI, and a sink that records Referer headers.
  let other: Server;
  let otherUrl = '';
  const seen: Array<{ url: string; headers: IncomingHttpHeaders }> = [];

  before(async () => {
    dir = tempDir('faultline-headers-');
    coord = await createCoordinator({ dataDir: dir.path, port: 0 });
    other = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.setHeader('content-type', 'text/html');
      res.end(req.url === '/frame' ? `<!doctype html><iframe id="f" src="${coord.url}/"></iframe>` : 'ok');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    if (hasTool('chromium')) browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    other?.close();
    await coord?.close();
    dir?.dispose();
  });

  test('every UI response carries CSP, nosniff, frame denial and no-referrer', async () => {
    for (const path of ['/', '/app.js', '/style.css', '/api/v1/openapi.json']) {
      const res = await fetch(coord.url + path);
      await res.arrayBuffer();
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.match(csp, /script-src 'self'(;|$)/, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
    }
  });

  test('in Chromium: the UI works under its CSP, refuses to be framed, and sends no Referer', async (t) => {
    if (!requireTools(t, 'chromium')) return;
    const page = await browser!.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    page.on('pageerror', (e) => violations.push(e.message));
    await page.goto(`${coord.url}/?token=${encodeURIComponent(coord.apiToken)}#/`);
    await page.locator('main#main').waitFor();
    await page.waitForFunction(() => !document.querySelector('noscript') || document.querySelector('main')!.children.length > 0);
    assert.ok(!page.url().includes('token='), 'the token left the address bar');
    assert.deepEqual(violations, []);
    // A link off-site from a page opened with ?token=: the other site gets no Referer.
    await page.goto(`${coord.url}/?token=${encodeURIComponent(coord.apiToken)}#/`);
    await page.evaluate((u) => {
      const a = document.createElement('a');
      a.href = `${u}/sink`;
      a.id = 'out';
      a.textContent = 'out';
      document.body.append(a);
    }, otherUrl);
    await Promise.all([page.waitForURL(`${otherUrl}/sink`), page.click('#out')]);
    const sink = seen.find((r) => r.url === '/sink');
    assert.ok(sink, 'the link was followed');
    assert.equal(sink.headers.referer, undefined, `the other site got a Referer: ${sink.headers.referer}`);

    // Framed by another origin: the frame stays empty (blocked by frame-ancestors).
    const framer = await browser!.newPage();
    await framer.goto(`${otherUrl}/frame`);
    await framer.waitForTimeout(500);
    const frame = framer.frames().find((f) => f !== framer.mainFrame());
    const framedText = frame ? await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '') : '';
    assert.doesNotMatch(framedText, /Pipelines|faultline/, 'the UI rendered inside a foreign frame');
    await page.close();
    await framer.close();
  });
});
