/**
 * Debian's headless Chromium for the UI tests (recipe: /work/shared/notes/real-infrastructure-here.md):
 * the launch flags, a page opened on the coordinator with the API token already adopted, and the
 * page's JS errors and Content-Security-Policy violations collected so a test can assert there
 * were none. Screenshots go to test-artifacts/ui/ (kept by CI as artifacts).
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const SHOTS = new URL('../../test-artifacts/ui/', import.meta.url).pathname;

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches /usr/bin/chromium and makes sure the screenshot folder exists. */
export async function launchChromium(): Promise<Browser> {
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

const ERRORS = new WeakMap<Page, string[]>();

/** The uncaught JS errors and CSP violations a page opened by `openUi` has seen so far. */
export const jsErrors = (page: Page): string[] => ERRORS.get(page) ?? [];

/**
 * Opens `hash` (e.g. `#/runners`) of the coordinator's UI with `?token=` (the UI moves it to
 * localStorage), collecting errors: the UI runs under a strict CSP, anything it blocks is a bug.
 */
export async function openUi(
  browser: Browser,
  coord: { url: string; apiToken: string },
  hash: string,
  viewport = { width: 1280, height: 800 },
): Promise<Page> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  ERRORS.set(page, errors);
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) errors.push(m.text());
  });
  await page.goto(`${coord.url}/?token=${encodeURIComponent(coord.apiToken)}${hash}`);
  return page;
}
