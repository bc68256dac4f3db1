// Hash parsing, kept apart from app.js so it can be tested without a browser.

/**
 * `#/jobs/7?x=1#L12` → {path: '/jobs/7', query: URLSearchParams('x=1'), anchor: 'L12'}.
 * The second `#` carries an in-page anchor so log line links survive hash routing.
 */
export function parseHash(hash) {
  let rest = hash.replace(/^#/, '');
  let anchor = null;
  const i = rest.indexOf('#');
  if (i >= 0) {
    anchor = rest.slice(i + 1) || null;
    rest = rest.slice(0, i);
  }
  const q = rest.indexOf('?');
  const path = q >= 0 ? rest.slice(0, q) : rest;
  const query = new URLSearchParams(q >= 0 ? rest.slice(q + 1) : '');
  return { path: path || '/', query, anchor };
}
