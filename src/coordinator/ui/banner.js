// The open-incident banner on every page: refreshed on incident events (and now and then
// while the event stream is down). A failed lookup hides it; it never breaks the page.
import { getJson } from './api.js';
import { h } from './dom.js';
import { isLive, onEvents, onLiveChange } from './live.js';

let timer = null;

export function startIncidentBanner(el) {
  const update = async () => {
    clearTimeout(timer);
    try {
      const { incidents } = await getJson('/api/v1/incidents?state=open');
      render(
        el,
        (incidents ?? []).filter((i) => i.state === 'open'),
      );
    } catch {
      /* the page still works without the banner */
    }
    timer = setTimeout(update, isLive() ? 120_000 : 15_000);
  };
  onEvents(['incident'], () => update());
  onLiveChange((live) => live && update());
  update();
}

function render(el, open) {
  if (!open.length) {
    el.hidden = true;
    el.replaceChildren();
    return;
  }
  const first = open[0];
  const what = (i) => `${i.cause} on ${i.dependency?.name ?? i.target ?? '?'}`;
  el.hidden = false;
  el.dataset.count = String(open.length);
  el.replaceChildren(
    h('span', { class: 'icon', 'aria-hidden': 'true' }, '⚠'),
    ' ',
    h('strong', null, open.length === 1 ? 'Infra incident open: ' : `${open.length} infra incidents open: `),
    h('a', { href: `#/incidents/${first.id}` }, what(first)),
    open.length > 1 ? [' and ', h('a', { href: '#/incidents?state=open' }, `${open.length - 1} more`)] : null,
    h('span', { class: 'small' }, " — operators' to fix; failures of this kind are not the developers'."),
  );
}
