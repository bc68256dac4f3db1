import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { requireTools } from '../helpers/tools.js';
import { tempDir } from '../helpers/tmp.js';
import { allPanels, dashboardQueries, loadDashboards, REPO_ROOT, substitute } from './dashboard-queries.js';
import { knownSeriesNames, seriesNamesIn } from './metric-catalog.js';
import { buildDashboards, serialize } from '../../scripts/gen-dashboards.js';

const DS = { type: 'prometheus', uid: '${datasource}' };

describe('dashboards', () => {
  const dashboards = loadDashboards();

  test('the required dashboards exist with uid, title, tags and schemaVersion', () => {
    const titles = dashboards.map((d) => d.json.title).join(' | ');
    for (const want of ['Failures: infra vs build', 'Registry & image pulls', 'MTTR & incidents', 'Runners fleet', 'Pipelines']) {
      assert.ok(titles.includes(want), `missing dashboard "${want}" in ${titles}`);
    }
    const uids = dashboards.map((d) => d.json.uid);
    assert.equal(new Set(uids).size, uids.length, `duplicate uids: ${uids}`);
    for (const { file, json } of dashboards) {
      assert.match(json.uid, /^[a-zA-Z0-9_-]{1,40}$/, `${file}: uid`);
      assert.ok(json.schemaVersion >= 36, `${file}: schemaVersion`);
      assert.ok(Array.isArray(json.tags) && json.tags.includes('faultline'), `${file}: tags`);
    }
  });

  test('each has a datasource variable (type datasource, query prometheus) used by every panel and target', () => {
    for (const { file, json } of dashboards) {
      const v = json.templating.list.find((x: any) => x.name === 'datasource');
      assert.ok(v, `${file}: no datasource variable`);
      assert.equal(v.type, 'datasource');
      assert.equal(v.query, 'prometheus');
      const panels = allPanels(json).filter((p) => p.type !== 'row');
      assert.ok(panels.length >= 5, `${file}: too few panels`);
      const ids = panels.map((p) => p.id);
      assert.equal(new Set(ids).size, ids.length, `${file}: duplicate panel ids`);
      for (const p of panels) {
        assert.deepEqual(p.datasource, DS, `${file} / ${p.title}: panel datasource`);
        assert.ok(typeof p.description === 'string' && p.description.length > 10, `${file} / ${p.title}: description`);
        assert.ok(p.fieldConfig?.defaults?.unit, `${file} / ${p.title}: unit`);
        assert.ok(p.targets?.length > 0, `${file} / ${p.title}: no targets`);
        const refIds = p.targets.map((t: any) => t.refId);
        assert.equal(new Set(refIds).size, refIds.length, `${file} / ${p.title}: duplicate refIds`);
        for (const t of p.targets) {
          assert.deepEqual(t.datasource, DS, `${file} / ${p.title}: target datasource`);
          assert.ok(typeof t.expr === 'string' && t.expr.trim(), `${file} / ${p.title}: empty expr`);
        }
      }
      for (const v2 of json.templating.list.filter((x: any) => x.type === 'query')) {
        assert.deepEqual(v2.datasource, DS, `${file}: variable ${v2.name} datasource`);
      }
      for (const a of json.annotations.list) assert.deepEqual(a.datasource, DS, `${file}: annotation ${a.name}`);
    }
  });

  test('the registry dashboard overlays RegistryOutage alerts as annotations', () => {
    const reg = dashboards.find((d) => d.json.uid === 'faultline-registry');
    assert.ok(reg);
    const a = reg.json.annotations.list.find((x: any) => /ALERTS\{alertname="RegistryOutage"/.test(x.expr));
    assert.ok(a, 'no RegistryOutage annotation');
    const exprs = allPanels(reg.json)
      .flatMap((p) => p.targets.map((t: any) => t.expr))
      .join('\n');
    assert.match(exprs, /outcome="local"/, 'fallback (outcome=local) panel');
  });

  test('every series name a query references is exported by metrics.ts or recorded', async () => {
    const known = await knownSeriesNames();
    const queries = dashboardQueries();
    assert.ok(queries.length >= 40, `only ${queries.length} queries`);
    for (const q of queries) {
      for (const n of seriesNamesIn(q.expr)) assert.ok(known.has(n), `${q.dashboard} / ${q.panel}: unknown series ${n} in ${q.expr}`);
    }
    // Variable queries (label_values(metric, label)) too.
    for (const { file, json } of dashboards) {
      for (const v of json.templating.list.filter((x: any) => x.type === 'query')) {
        const m = /^label_values\(([a-zA-Z_:][\w:]*),\s*(\w+)\)$/.exec(v.definition);
        assert.ok(m, `${file}: variable ${v.name} definition`);
        assert.ok(known.has(m[1]), `${file}: variable ${v.name} uses unknown ${m[1]}`);
      }
    }
  });

  test('dashboardQueries substitutes macros and variables', () => {
    const d = {
      templating: {
        list: [
          { type: 'datasource', name: 'datasource' },
          { type: 'query', name: 'runner', allValue: '.*' },
        ],
      },
    };
    assert.equal(
      substitute('rate(x{runner=~"$runner",r2=~"${runner}"}[$__rate_interval]) + y[${__interval}]', d),
      'rate(x{runner=~".*",r2=~".*"}[1m]) + y[1m]',
    );
    for (const q of dashboardQueries()) assert.doesNotMatch(q.expr, /\$/, `${q.dashboard} / ${q.panel}: unsubstituted ${q.expr}`);
  });

  test('the committed dashboards are what scripts/gen-dashboards.ts generates', () => {
    const built = buildDashboards();
    assert.deepEqual(
      [...built.keys()].sort(),
      dashboards.map((d) => d.file),
    );
    for (const [file, json] of built) {
      assert.equal(
        readFileSync(join(REPO_ROOT, 'dashboards', file), 'utf8'),
        serialize(json),
        `dashboards/${file} is stale: run node --import tsx scripts/gen-dashboards.ts`,
      );
    }
  });

  test('every query is valid PromQL (promtool check rules on a generated rule file)', (t) => {
    if (!requireTools(t, 'promtool')) return;
    const tmp = tempDir();
    t.after(tmp.dispose);
    const queries = dashboardQueries();
    const rules = queries.map((q, i) => ({ record: `dashboard_query_${i}`, expr: q.expr }));
    const file = join(tmp.path, 'dash.rules.yml');
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboards', rules }] }));
    const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`${queries.length} rules found`));
    // And the check can fail: a broken query is rejected.
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'd', rules: [{ record: 'x', expr: 'sum by (le (rate(a[1m]))' }] }] }));
    assert.notEqual(spawnSync('promtool', ['check', 'rules', file]).status, 0);
  });

  test('Grafana provisioning points at the dashboards folder mounted by compose', () => {
    const prov = parse(readFileSync(join(REPO_ROOT, 'deploy/grafana/provisioning/dashboards/faultline.yml'), 'utf8'));
    const path = prov.providers[0].options.path;
    const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'));
    const vols: string[] = compose.services.grafana.volumes;
    assert.ok(
      vols.some((v) => v.split(':')[0] === './dashboards' && v.split(':')[1] === path),
      `grafana must mount ./dashboards at ${path}: ${vols}`,
    );
  });
});
