// Entry point: token, hash router, view lifecycle.
import { adoptTokenFromUrl, clearToken, getToken, setToken, Unauthorized } from './api.js';
import { startIncidentBanner } from './banner.js';
import { h, startTicker } from './dom.js';
import { connect, disconnect } from './live.js';
import { parseHash } from './route.js';
import { renderPipelines } from './views/pipelines.js';
import { renderPipeline } from './views/pipeline.js';
import { renderJob } from './views/job.js';
import { renderFailures } from './views/failures.js';
import { renderIncidents } from './views/incidents.js';
import { renderIncident } from './views/incident.js';
import { renderOverview } from './views/overview.js';
import { renderRunners } from './views/runners.js';
import { renderRules } from './views/rules.js';

const ROUTES = [
  { re: /^\/?$/, nav: 'pipelines', view: renderPipelines, title: 'Pipelines' },
  { re: /^\/pipelines\/(\d+)$/, nav: 'pipelines', view: renderPipeline, title: 'Pipeline' },
  { re: /^\/jobs\/(\d+)$/, nav: 'pipelines', view: renderJob, title: 'Job' },
  { re: /^\/failures$/, nav: 'failures', view: renderFailures, title: 'Failures' },
  { re: /^\/incidents$/, nav: 'incidents', view: renderIncidents, title: 'Incidents' },
  { re: /^\/incidents\/(\d+)$/, nav: 'incidents', view: renderIncident, title: 'Incident' },
  { re: /^\/health$/, nav: 'health', view: renderOverview, title: 'Health' },
  { re: /^\/runners$/, nav: 'runners', view: renderRunners, title: 'Runners' },
  { re: /^\/rules$/, nav: 'rules', view: renderRules, title: 'Rules' },
];

const main = document.getElementById('main');
let current = null; // {key, controller, handle}

function setNav(name) {
  for (const a of document.querySelectorAll('nav.top a[data-nav]')) {
    if (a.dataset.nav === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function showTokenForm(message) {
  stopCurrent();
  setNav(null);
  const input = h('input', { type: 'password', id: 'token', name: 'token', autocomplete: 'off', required: true });
  main.replaceChildren(
    h(
      'form',
      {
        class: 'token-form card',
        onsubmit: (e) => {
          e.preventDefault();
          setToken(input.value.trim());
          window.dispatchEvent(new Event('faultline:token'));
          route(true);
        },
      },
      h('h1', null, 'API token'),
      message ? h('p', { class: 'error', role: 'alert' }, message) : null,
      h(
        'p',
        { class: 'muted' },
        "It is in the api-token file of the coordinator's data dir (the coordinator prints it when it creates it, or with --show-tokens).",
      ),
      h('label', { for: 'token' }, 'Token'),
      input,
      h('button', { type: 'submit', class: 'primary' }, 'Continue'),
    ),
  );
  input.focus();
}

function stopCurrent() {
  current?.controller.abort();
  current?.handle?.dispose?.();
  current = null;
}

/** Shows an error from a view; a refused token sends the user back to the token form. */
export function reportError(err, into = main) {
  if (err instanceof Unauthorized) {
    clearToken();
    disconnect();
    showTokenForm('The API token was refused — enter a valid one.');
    return;
  }
  if (err?.name === 'AbortError') return;
  into.replaceChildren(h('div', { class: 'error card', role: 'alert' }, h('strong', null, 'Error: '), String(err?.message ?? err)));
}

async function route(force = false) {
  if (!getToken()) return showTokenForm();
  const { path, query, anchor } = parseHash(location.hash);
  const key = path + '?' + query.toString();
  // Only the in-page anchor changed: let the view scroll, don't reload it.
  if (!force && current && current.key === key) {
    current.handle?.onAnchor?.(anchor);
    return;
  }
  stopCurrent();
  const r = ROUTES.find((x) => x.re.test(path));
  if (!r) {
    setNav(null);
    main.replaceChildren(h('div', { class: 'card' }, h('h1', null, 'Not found'), h('a', { href: '#/' }, 'Back to pipelines')));
    return;
  }
  setNav(r.nav);
  document.title = `${r.title} · faultline`;
  const controller = new AbortController();
  current = { key, controller, handle: null };
  const params = path.match(r.re).slice(1);
  const ctx = { root: main, params, query, anchor, signal: controller.signal, onError: reportError };
  main.replaceChildren(h('p', { class: 'muted loading' }, 'Loading…'));
  try {
    const handle = await r.view(ctx);
    if (current?.controller === controller) current.handle = handle ?? null;
  } catch (err) {
    if (!controller.signal.aborted) reportError(err);
  }
}

adoptTokenFromUrl();
document.getElementById('forget-token')?.addEventListener('click', () => {
  clearToken();
  disconnect();
  showTokenForm('Token forgotten.');
});
window.addEventListener('hashchange', () => route());
startTicker();
let started = false;
/** The stream and the banner start once a token is known (the token form may come first). */
function startLive() {
  if (!getToken()) return;
  connect();
  if (!started) startIncidentBanner(document.getElementById('incident-banner'));
  started = true;
}
window.addEventListener('faultline:token', startLive);
startLive();
route();
