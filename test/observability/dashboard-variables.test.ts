/**
 * Dashboards that follow their variables (issue 12): a stat tile that ignores $runner while the
 * graphs beside it follow it reads as the selected runner's number and is not. Every query of a
 * panel follows every query variable of its dashboard, or the panel says why not. And the data
 * links to the UI's failures list use only filters the UI has and labels the panel's series carry.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { allPanels, loadDashboards, REPO_ROOT } from './dashboard-queries.js';
import { seriesNamesIn } from './metric-catalog.js';

type Json = Record<string, any>;
const dashboards = loadDashboards();
const queryVars = (d: Json): string[] => d.templating.list.filter((v: Json) => v.type === 'query').map((v: Json) => v.name);
const uses = (expr: string, v: string) => new RegExp(`\\$\\{${v}(?::[a-z]+)?\\}|\\$${v}\\b`).test(expr);
/** "Not filtered by $a, $b: why" at the end of a description → the variables it names. */
function declaredIgnores(description: string): { vars: string[]; why: string } | null {
  const m = /Not filtered by ((?:\$\w+)(?:, \$\w+)*): (.{10,})$/.exec(description);
  return m ? { vars: m[1]!.split(', ').map((x) => x.slice(1)), why: m[2]! } : null;
}

/** What a panel's queries ignore, for every panel with a query variable in its dashboard. */
function ignoredVars(d: Json, p: Json): string[] {
  const exprs = (p.targets as Json[]).map((t) => t.expr as string).filter((e) => seriesNamesIn(e).length > 0); // not vector(0.5)
  return queryVars(d).filter((v) => exprs.some((e) => !uses(e, v)));
}

test('every panel follows every variable of its dashboard, or says why not', () => {
  const problems: string[] = [];
  let checked = 0;
  for (const { file, json: d } of dashboards) {
    for (const p of allPanels(d).filter((x) => x.targets)) {
      if (queryVars(d).length) checked++;
      const ignored = ignoredVars(d, p);
      const said = declaredIgnores(p.description);
      const where = `${file} / ${p.title}`;
      if (ignored.length && !said) problems.push(`${where}: ignores $${ignored.join(', $')} without saying why`);
      if (said && said.vars.join() !== ignored.join())
        problems.push(
          `${where}: says it ignores $${said.vars.join(', $')}, but its queries ignore ${ignored.length ? '$' + ignored.join(', $') : 'none'}`,
        );
      for (const v of said?.vars ?? []) if (!queryVars(d).includes(v)) problems.push(`${where}: names $${v}, not a variable here`);
    }
  }
  assert.ok(checked >= 20, `panels on dashboards with variables: ${checked}`);
  assert.deepEqual(problems, []);
});

test('stat tiles of the failures dashboard follow $executor and $runner (no fleet-wide recording rule behind them)', () => {
  const d = dashboards.find((x) => x.json.uid === 'faultline-failures')!.json;
  const tiles = allPanels(d).filter((p) => p.type === 'stat' && !declaredIgnores(p.description));
  assert.ok(tiles.length >= 3, tiles.map((p) => p.title).join());
  for (const p of tiles) for (const t of p.targets) assert.ok(uses(t.expr, 'executor') && uses(t.expr, 'runner'), `${p.title}: ${t.expr}`);
});

test('the check can fail: a tile that drops $runner, or claims an ignore it does not have, is caught', () => {
  const d = { templating: { list: [{ type: 'query', name: 'runner' }] } };
  const tile = { targets: [{ expr: 'sum(faultline_runners)' }], description: 'Runners.' };
  assert.deepEqual(ignoredVars(d, tile), ['runner']);
  assert.equal(declaredIgnores(tile.description), null);
  const follows = { targets: [{ expr: 'sum(faultline_runners{runner=~"$runner"})' }, { expr: 'vector(1)' }] };
  assert.deepEqual(ignoredVars(d, follows), []);
  assert.deepEqual(declaredIgnores('Runners. Not filtered by $runner: the gauge has no runner label.')?.vars, ['runner']);
});

// ------------------------------------------------------------------------------ data links

/** The filters of the UI's failures view (src/coordinator/ui/views/failures.js). */
const uiFilters = async (): Promise<string[]> =>
  (await import(new URL('../../src/coordinator/ui/views/failures.js', import.meta.url).href)).FILTERS;
const links = () =>
  dashboards.flatMap(({ file, json: d }) =>
    allPanels(d).flatMap((p) => ((p.fieldConfig?.defaults?.links ?? []) as Json[]).map((l) => ({ file, d, p, url: l.url as string }))),
  );

test('data links open the UI failures list with filters the UI has, from labels the panel carries', async () => {
  const filters = await uiFilters();
  const all = links();
  assert.ok(all.length >= 12, `data links: ${all.length}`);
  for (const { file, d, p, url } of all) {
    const where = `${file} / ${p.title}: ${url}`;
    const m = /^\$\{faultline_url\}\/#\/failures\?(.+)$/.exec(url);
    assert.ok(m, where);
    // Where the series' labels show: grouping clauses, and legends that print them.
    const exprs = p.targets.map((t: Json) => `${t.expr}\n${t.legendFormat ?? ''}`).join('\n');
    for (const pair of m[1]!.split('&')) {
      const [k, v] = pair.split('=') as [string, string];
      assert.ok(filters.includes(k), `${where}: the UI has no filter ${k}`);
      const label = /^\$\{__(?:field\.labels|data\.fields)\.(\w+)\}$/.exec(v)?.[1];
      const variable = /^\$\{(\w+):csv\}$/.exec(v)?.[1];
      if (label)
        assert.match(exprs, new RegExp(`by \\([^)]*\\b${label}\\b|\\{\\{${label}\\}\\}`), `${where}: the series have no ${label} label`);
      else if (variable) assert.ok(queryVars(d).includes(variable), `${where}: no variable ${variable}`);
      else if (k === 'since' || k === 'until') assert.match(v, /^(\$\{__(from|to):date:iso\}|\d+[mhd])$/, `${where}: ${k}`);
      else assert.match(v, /^[a-z_]+$/, `${where}: ${k}=${v} is neither a label, a variable nor a plain value`);
    }
  }
});

test('faultline_url defaults to the address the alerts link runbooks at (deploy/prometheus.yml)', () => {
  const prom = parse(readFileSync(join(REPO_ROOT, 'deploy/prometheus.yml'), 'utf8'));
  for (const { file, json } of dashboards) {
    const v = json.templating.list.find((x: Json) => x.name === 'faultline_url');
    assert.ok(v, `${file}: no faultline_url variable`);
    assert.equal(v.type, 'textbox');
    assert.equal(v.query, prom.global.external_labels.faultline_url, file);
  }
});
